"""The model options on the command line: one model source, parameters of their own kind, Wannier90 seednames."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from qgeom.cli import main
from qgeom.results import load, metadata

ROOT = Path(__file__).resolve().parents[2]
GAAS = ROOT / "examples" / "GaAs"
COMMANDS = ["dc", "dc-exact", "geometry", "optical", "bands"]


def run(*args):
    return CliRunner().invoke(main, [str(a) for a in args])


def flat(res) -> str:
    return " ".join(res.output.split())


@pytest.mark.parametrize("name", COMMANDS)
def test_a_library_model_and_a_wannier90_model_are_refused_together(name, tmp_path):
    """`--model` with `--wannier90` ran the Wannier model silently; now refused like the same pair in [model]."""
    out = tmp_path / "x.nc"
    res = run(name, "--model", "pt_tilted_4band", "--wannier90", GAAS, "--out", out)
    assert res.exit_code == 2, res.output
    assert "give exactly one model: a library name (--model NAME" in flat(res)
    assert not out.exists() and "Traceback" not in res.output
    cfg = tmp_path / "both.toml"
    cfg.write_text(f'[model]\nname = "pt_tilted_4band"\nwannier90 = "{GAAS.as_posix()}"\n')
    assert "give exactly one model" in flat(run(name, "--config", cfg, "--out", out))  # the file's message


@pytest.mark.parametrize("param, message", [
    ("t=true", "t = True: expected a number, not true/false (the default is 0.9)"),
    ("conjugate=2", "conjugate = 2.0: expected true or false (the default is False)"),
    ("conjugate=1.5", "conjugate = 1.5: expected true or false (the default is False)"),
])
def test_a_model_parameter_takes_its_own_kind_on_the_command_line(param, message, tmp_path):
    out = tmp_path / "x.nc"
    res = run("geometry", "--model", "pt_tilted_2band", "--param", param, "--grid", 2, "--out", out)
    assert res.exit_code == 2, res.output
    assert f"- parameters (--param): {message}" in flat(res)
    assert not out.exists()
    res = run("geometry", "--model", "pt_tilted_2band", "--param", "conjugate=true", "--grid", 2, "--out", out)
    assert res.exit_code == 0, res.output
    assert metadata(load(out), "model")["parameters"]["conjugate"] is True


def test_a_model_parameter_takes_its_own_kind_in_a_config(tmp_path):
    cfg, out = tmp_path / "run.toml", tmp_path / "x.nc"
    cfg.write_text('[model]\nname = "pt_tilted_4band"\nparameters = { m = true }\n')
    res = run("geometry", "--config", cfg, "--grid", 2, "--out", out)
    assert res.exit_code == 2, res.output
    assert "- parameters (--param): m = True: expected a number, not true/false (the default is -3.9)" in flat(res)
    assert not out.exists()


def test_wannier90_accepts_a_seedname(tmp_path):
    """`--wannier90 examples/GaAs/GaAs` names SEED_tb.dat and SEED.win, no file itself: click's exists=True refused it."""
    out = tmp_path / "g.nc"
    res = run("geometry", "--wannier90", GAAS / "GaAs", "--grid", 2, "--out", out)
    assert res.exit_code == 0, res.output
    assert metadata(load(out), "model")["name"] == "GaAs"
    res = run("geometry", "--wannier90", GAAS / "GaA", "--grid", 2, "--out", tmp_path / "h.nc")
    assert res.exit_code == 2, res.output
    assert f"no Wannier90 model at '{GAAS / 'GaA'}': expected a file SEED_tb.dat or SEED_hr.dat" in flat(res)
    assert "does not exist" not in res.output and not (tmp_path / "h.nc").exists()

