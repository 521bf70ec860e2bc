"""`qgeom dc` end to end: table, NetCDF with provenance, figure, config validation."""

import numpy as np
from click.testing import CliRunner

from qgeom.cli import main
from qgeom.results import load, metadata


def test_dc_command_writes_table_dataset_and_figure(tmp_path):
    out = tmp_path / "dc.nc"
    res = CliRunner().invoke(main, [
        "dc", "--model", "tilted_dirac_2band", "--components", "yxx,xyy", "--mu=-1:1:5",
        "--temperature", "0.1", "--grid", "40", "--rta", "1,0.5", "--out", str(out), "--workers", "2",
        "--checkpoint", str(tmp_path / "ckpt"),
    ])
    assert res.exit_code == 0, res.output
    assert "component yxx" in res.output and "bath:kin" in res.output
    ds = load(out)
    assert ds.sigma.dims == ("mechanism", "term", "component", "mu")
    assert list(ds.mechanism.values) == ["fermionic_bath", "constant_gamma", "rta"]
    assert list(ds.term.values) == ["drude", "bcd", "geometric", "kinetic", "intrinsic"]
    np.testing.assert_allclose(ds.mu.values, np.linspace(-1, 1, 5))
    assert metadata(ds, "model")["name"] == "tilted_dirac_2band"
    assert metadata(ds, "parameters")["temperature"] == 0.1
    assert metadata(ds, "grid")["shape"] == [40, 40]
    assert "qgeom_version" in ds.attrs and "e^3" in ds.sigma.attrs["units"]
    assert (tmp_path / "dc.png").stat().st_size > 10_000
    assert any((tmp_path / "ckpt").iterdir())
    serial = tmp_path / "serial.nc"
    res = CliRunner().invoke(main, [
        "dc", "--model", "tilted_dirac_2band", "--components", "yxx,xyy", "--mu=-1:1:5",
        "--temperature", "0.1", "--grid", "40", "--rta", "1,0.5", "--out", str(serial), "--convention", "physical",
    ])
    assert res.exit_code == 0, res.output
    np.testing.assert_allclose(load(serial).sigma, 0.5 * ds.sigma, rtol=1e-12, atol=0)


def test_dc_config_file_and_validation_messages(tmp_path):
    cfg = tmp_path / "run.toml"
    cfg.write_text('[model]\nname = "pt_tilted_4band"\nparameters = {t = 0.5}\n'
                   '[dc]\ncomponents = ["xyy"]\nmu = "-4:-3.5:3"\ntemperature = 0.1\ngrid = 30\n')
    res = CliRunner().invoke(main, ["dc", "--config", str(cfg), "--out", str(tmp_path / "a.nc")])
    assert res.exit_code == 0, res.output
    assert metadata(load(tmp_path / "a.nc"), "model")["parameters"]["t"] == 0.5

    bad = tmp_path / "bad.toml"
    bad.write_text('[model]\nname = "pt_tilted_4band"\n[dc]\nmechanisms = ["boltzmann"]\ntemprature = 1\n')
    res = CliRunner().invoke(main, ["dc", "--config", str(bad)])
    assert res.exit_code != 0
    assert "mechanisms" in res.output and "fermionic_bath" in res.output
    assert "temprature" in res.output

    res = CliRunner().invoke(main, ["dc", "--model", "tilted_dirac_2band", "--temperature", "-1", "--grid", "10"])
    assert res.exit_code != 0 and "temperature" in res.output
    res = CliRunner().invoke(main, ["dc", "--model", "tilted_dirac_2band", "--mu", "a:b:c"])
    assert res.exit_code != 0 and "mu" in res.output


def test_dc_command_blocks_flag(tmp_path):
    base = ["dc", "--model", "pt_tilted_4band", "--components", "xxx,yxy", "--mu=-4.4:-3.6:3",
            "--temperature", "0.1", "--grid", "30"]
    runs = {}
    for flag in ("--blocks", "--no-blocks"):
        out = tmp_path / f"{flag}.nc"
        res = CliRunner().invoke(main, base + [flag, "--out", str(out)])
        assert res.exit_code == 0, res.output
        runs[flag] = load(out)
    assert metadata(runs["--blocks"], "parameters")["orbital_blocks"] == [[0, 3], [1, 2]]
    assert metadata(runs["--no-blocks"], "parameters")["orbital_blocks"] == "not split"
    dense = runs["--no-blocks"].sigma.values
    assert np.abs(runs["--blocks"].sigma.values - dense).max() < 1e-10 * np.abs(dense).max()


def test_components_all_on_the_command_line_and_in_lists(tmp_path):
    """--components all (the CLI hands ["all"] on) gives every component, as components="all" does; an
    'all' entry of a list expands in place; the observable's field labels alike."""
    from qgeom.dc.components import parse_components
    from qgeom.dc.observable_terms import parse_field_components

    every = parse_components("all", 2)
    assert len(every) == 8 and parse_components(["all"], 2) == every
    assert parse_components(["yyy", "ALL"], 2) == ["yyy"] + [c for c in every if c != "yyy"]
    assert parse_field_components(["all"], 3) == parse_field_components("all", 3) and len(parse_field_components("all", 3)) == 9
    out = tmp_path / "all.nc"
    res = CliRunner().invoke(main, ["dc", "--model", "tilted_dirac_2band", "--components", "all", "--mu=-1:1:3",
                                    "--temperature", "0.1", "--grid", "20", "--out", str(out)])
    assert res.exit_code == 0, res.output
    assert list(load(out).component.values) == every
    res = CliRunner().invoke(main, ["dc", "--model", "tilted_dirac_2band", "--components", "xyz", "--grid", "10"])
    assert res.exit_code != 0 and "'xyz' is not valid for a 2D model" in res.output
