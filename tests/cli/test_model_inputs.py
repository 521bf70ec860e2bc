"""The model options on the command line: one model source, parameters of their own kind, Wannier90 seednames."""

from __future__ import annotations

from pathlib import Path

import numpy as np
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



# --electrons N: the Fermi energy from N electrons per cell (qgeom.filling), for every command's defaults
GAAS_EF_LINE = ("Fermi energy 7.92578 eV from 8 electrons per cell (kT 0.01 eV, grid 16×16×16); gap 0.4028 eV "
                "between 7.7209 and 8.12366; replaces the files' Fermi energy 7.9366 eV")
FAST = {"dc": ["--temperature", 0.01, "--components", "xyz", "--grid", 2, "--quiet"],
        "dc-exact": ["--temperature", 0.01, "--components", "xyz", "--grid", 2, "--quiet"],
        "geometry": ["--grid", 2], "optical": ["--observable", "current_x", "--kind", "shift_like", "--grid", 2, "--quiet"],
        "bands": ["--npoints", 20]}


@pytest.mark.parametrize("name", COMMANDS)
def test_electrons_set_the_fermi_energy_every_command_reads(name, tmp_path):
    """GaAs with --electrons 8: one line names E_F (at kT 0.01 eV: the command's --temperature, else the default),
    the gap and the files' value it replaces; the result records both, and the μ defaults centre on it."""
    from qgeom.filling import fermi_level
    from qgeom.models import from_wannier90

    out = tmp_path / "x.nc"
    res = run(name, "--wannier90", GAAS, "--electrons", 8, *FAST[name], "--out", out)
    assert res.exit_code == 0, res.output
    assert GAAS_EF_LINE in res.output
    ef = fermi_level(from_wannier90(GAAS), 8, temperature=0.01)
    ds = load(out)
    params = metadata(ds, "model")["parameters"]
    assert params["fermi_energy"] == pytest.approx(ef, abs=1e-12) and abs(ef - 7.9366) > 0.01
    assert params["fermi_energy_from"] == ("8 electrons per cell (kT 0.01 eV, grid 16×16×16); replaces the files' "
                                           "Fermi energy 7.9366 eV")
    if name == "dc":  # --mu auto: E_F ± 0.5 eV
        np.testing.assert_allclose(ds.mu.values, np.linspace(ef - 0.5, ef + 0.5, 21), rtol=1e-13)
        assert "mu: auto, 21 values 7.42578 ... 8.42578 eV (the model's Fermi energy 7.92578 ± 0.5 eV)" in res.output
    elif name == "dc-exact":  # the default μ: E_F
        np.testing.assert_allclose(ds.mu.values, [ef], rtol=1e-13)
    elif name == "optical":
        assert metadata(ds, "parameters")["mu"] == pytest.approx(ef, abs=1e-12)
        assert "mu = 7.92578 eV (the model's Fermi energy)" in res.output


def test_mos2_electrons_centre_dc_auto_mu_in_its_gap(tmp_path):
    """1T'-MoS2's files give no Fermi energy (--mu auto spanned all bands, -8.8 ... 5.7 eV); 28 electrons put it in
    the 0.047 eV gap, and --mu auto is E_F ± 0.5 eV."""
    out = tmp_path / "m.nc"
    res = run("dc", "--wannier90", ROOT / "examples" / "MoS2-1Tp", "--electrons", 28, "--temperature", 0.01,
              "--components", "xxx", "--grid", 4, "--symmetry", "none", "--out", out, "--quiet")
    assert res.exit_code == 0, res.output
    assert ("Fermi energy -3.58654 eV from 28 electrons per cell (kT 0.01 eV, grid 64×64); gap 0.04658 eV between "
            "-3.60871 and -3.56213\n") in res.output
    ef = metadata(load(out), "model")["parameters"]["fermi_energy"]
    assert -3.60871 < ef < -3.56213
    np.testing.assert_allclose(load(out).mu.values, np.linspace(ef - 0.5, ef + 0.5, 21), rtol=1e-13)
    assert "mu: auto, 21 values -4.08654 ... -3.08654 eV (the model's Fermi energy -3.58654 ± 0.5 eV)" in res.output


def test_electrons_of_a_model_in_its_own_units_centre_dc_auto_mu(tmp_path):
    """A library model has no eV: --mu auto is E_F ± 0.1 of its band width (not across the bands, centred on 0),
    with the count from the config's [model] electrons or the flag (which wins)."""
    from qgeom.filling import fermi_level
    from qgeom.models import library

    ef = fermi_level(library.qi_wu_zhang(), 0.4, temperature=0.05)
    assert ef < -1  # in the lower band, far from the across-bands default centred on 0
    cfg, out = tmp_path / "run.toml", tmp_path / "q.nc"
    cfg.write_text('[model]\nname = "qi_wu_zhang"\nelectrons = 1.5\n')
    res = run("dc", "--config", cfg, "--electrons", 0.4, "--grid", 4, "--out", out, "--quiet")
    assert res.exit_code == 0, res.output
    assert f"Fermi energy {ef:.6g} model from 0.4 electrons per cell (kT 0.05 model, grid 64×64)\n" in res.output
    mu = load(out).mu.values
    # the band width as the commands' coarse look (12×12 Monkhorst-Pack, Γ missed) sees it: 2 × 2.9546 of ±3 at Γ
    assert mu.mean() == pytest.approx(ef, abs=1e-12) and np.ptp(mu) == pytest.approx(0.2 * 2 * 2.9546, abs=1e-3)
    assert f"(the model's Fermi energy {ef:g} ± " in res.output and "0.1 of its band width)" in res.output
    res = run("geometry", "--config", cfg, "--grid", 2, "--out", tmp_path / "g.nc")
    assert res.exit_code == 0, res.output
    assert "1.5 electrons per cell" in res.output and metadata(load(tmp_path / "g.nc"), "model")["parameters"][
        "fermi_energy"] == pytest.approx(fermi_level(library.qi_wu_zhang(), 1.5, temperature=0.01), abs=1e-12)


@pytest.mark.parametrize("args, message", [
    (["--wannier90", GAAS, "--electrons", 16], "electrons (command line: --electrons) must be a number of electrons "
                                                "per unit cell strictly between 0 and 16 (the model's 16 bands"),
    (["--wannier90", GAAS, "--electrons", "eight"], "Invalid value for '--electrons': 'eight' is not a valid float"),
    (["--wannier90", GAAS, "--electrons", 0], "electrons (--electrons): Input should be greater than 0"),
    (["--model", "mnbi2te4_bilayer", "--electrons", 2], "'mnbi2te4_bilayer' is a continuum (k·p) model: it has no "
                                                         "unit cell to count electrons in"),
])
def test_electrons_outside_the_bands_or_not_a_number_are_refused(args, message, tmp_path):
    out = tmp_path / "x.nc"
    res = run("geometry", *args, "--grid", 2, "--out", out)
    assert res.exit_code == 2, res.output
    assert message in flat(res) and "Traceback" not in res.output and not out.exists()
