"""CLI: `qgeom --help`, `qgeom geometry`, TOML configs and their error messages."""

from __future__ import annotations

import re

import numpy as np
import pytest
from click.testing import CliRunner

from qgeom.cli import main
from qgeom.results import load, metadata


@pytest.fixture
def runner():
    return CliRunner()


def test_help(runner):
    res = runner.invoke(main, ["--help"])
    assert res.exit_code == 0, res.output
    assert "geometry" in res.output
    res = runner.invoke(main, ["geometry", "--help"])
    assert res.exit_code == 0
    for opt in ("--model", "--param", "--grid", "--config", "--out"):
        assert opt in res.output
    assert runner.invoke(main, ["--version"]).exit_code == 0


def test_geometry_prints_chern_table_and_writes_netcdf(runner, tmp_path):
    out = tmp_path / "x.nc"
    res = runner.invoke(main, ["geometry", "--model", "qi_wu_zhang", "--param", "u=1", "--grid", "60",
                               "--out", str(out)])
    assert res.exit_code == 0, res.output
    assert "Chern" in res.output
    lines = res.output.splitlines()
    header = next(i for i, line in enumerate(lines) if "Chern" in line)
    col = lines[header].split().index("Chern")
    rows = [lines[header + 2].split(), lines[header + 3].split()]
    chern = [float(r[col]) for r in rows]
    np.testing.assert_allclose(chern, [-1.0, 1.0], atol=1e-6)
    assert str(out) in res.output
    ds = load(out)
    np.testing.assert_allclose(ds["chern_number"].values, [-1.0, 1.0], atol=1e-6)
    assert metadata(ds, "model")["name"] == "qi_wu_zhang" and metadata(ds, "model")["parameters"]["u"] == 1.0
    assert metadata(ds, "grid")["shape"] == [60, 60]


def test_geometry_from_toml_config(runner, tmp_path):
    cfg = tmp_path / "run.toml"
    cfg.write_text('[model]\nname = "qi_wu_zhang"\nparameters = { u = -1.0 }\n\n[geometry]\ngrid = 24\n')
    out = tmp_path / "y.nc"
    res = runner.invoke(main, ["geometry", "--config", str(cfg), "--out", str(out)])
    assert res.exit_code == 0, res.output
    ds = load(out)
    np.testing.assert_allclose(ds["chern_number"].values, [1.0, -1.0], atol=1e-6)
    assert metadata(ds, "grid")["shape"] == [24, 24]
    # command-line flags override the config
    res = runner.invoke(main, ["geometry", "--config", str(cfg), "--param", "u=3", "--out", str(out), "--overwrite"])
    assert res.exit_code == 0, res.output
    np.testing.assert_allclose(load(out)["chern_number"].values, [0.0, 0.0], atol=1e-6)


@pytest.mark.parametrize("toml, fields", [
    ('[model]\nname = "no_such_model"\n', ["name", "no_such_model"]),
    ('[model]\nname = "qi_wu_zhang"\nparameters = { u = "abc" }\n', ["parameters.u"]),
    ('[model]\nname = "qi_wu_zhang"\nparameters = { u = [1, 2] }\n', ["parameters.u"]),
    ('[model]\nname = "qi_wu_zhang"\ncolour = "red"\n', ["colour"]),
    ('[model]\nname = "qi_wu_zhang"\nparameters = { w = 1.0 }\n', ["w"]),
    ('[model]\nparameters = { u = 1.0 }\n', ["model"]),
    ('[model\nname = "qi_wu_zhang"\n', ["TOML"]),
])
def test_bad_config_gives_clear_error(runner, tmp_path, toml, fields):
    cfg = tmp_path / "bad.toml"
    cfg.write_text(toml)
    out = tmp_path / "never.nc"
    res = runner.invoke(main, ["geometry", "--config", str(cfg), "--grid", "4", "--out", str(out)])
    assert res.exit_code != 0
    assert res.exception is None or isinstance(res.exception, SystemExit), repr(res.exception)  # no traceback
    for f in fields:
        assert f in res.output, res.output
    assert not out.exists()


def test_bad_command_line_inputs(runner, tmp_path):
    out = tmp_path / "never.nc"
    cases = [
        (["--model", "qi_wu_zhang", "--param", "u=abc"], "u"),
        (["--model", "qi_wu_zhang", "--param", "u"], "key=value"),
        (["--model", "bogus"], "bogus"),
        ([], "model"),
        (["--config", str(tmp_path / "missing.toml")], "missing.toml"),
    ]
    for args, needle in cases:
        res = runner.invoke(main, ["geometry", *args, "--grid", "4", "--out", str(out)])
        assert res.exit_code != 0, args
        assert re.search(re.escape(needle), res.output), (args, res.output)
        assert res.exception is None or isinstance(res.exception, SystemExit), repr(res.exception)
    assert not out.exists()
