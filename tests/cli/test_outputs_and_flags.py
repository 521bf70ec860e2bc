"""--out names a NetCDF file; flags that would be ignored (optical --cutoff on a lattice model, bands --path '')
are refused."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from qgeom.cli import main
from qgeom.results import load

COMMANDS = {
    "dc": ["--model", "pt_tilted_4band", "--grid", "4", "--mu", "0"],
    "dc-exact": ["--model", "pt_tilted_4band", "--grid", "4", "--mu", "0", "--no-fit"],
    "geometry": ["--model", "qi_wu_zhang", "--grid", "3"],
    "optical": ["--model", "pt_tilted_4band", "--observable", "current_x", "--grid", "4"],
    "bands": ["--model", "qi_wu_zhang", "--npoints", "20"],
}


def run(*args):
    return CliRunner().invoke(main, [str(a) for a in args])


def flat(res) -> str:
    return " ".join(res.output.split())


def test_a_dot_inside_the_name_is_kept_in_the_suggestion(tmp_path):
    """run_0.1eV has the 'suffix' .1eV: the suggestion appends .nc rather than making it run_0.nc."""
    out = tmp_path / "run_0.1eV"
    res = run("dc", *COMMANDS["dc"], "--out", out)
    assert res.exit_code == 2 and f"(e.g. --out {tmp_path / 'run_0.1eV.nc'})" in flat(res), res.output


@pytest.mark.parametrize("name", COMMANDS)
@pytest.mark.parametrize("suffix", [".txt", ".csv"])
def test_out_must_be_a_netcdf_file(name, suffix, tmp_path):
    """--out x.txt wrote NetCDF into a .txt file."""
    out = tmp_path / f"x{suffix}"
    res = run(name, *COMMANDS[name], "--out", out)
    assert res.exit_code == 2, res.output
    nc = tmp_path / "x.nc"
    assert (f"--out {out}: results are written as NetCDF, so the name must end in .nc (e.g. --out {nc}); for a "
            f"plain-text table, convert the result afterwards: qgeom export {nc} --out {tmp_path / 'x.txt'}.") \
        in flat(res)
    assert list(tmp_path.iterdir()) == []


def test_out_without_a_suffix_gets_nc(tmp_path):
    """examples/GaAs/README.md writes `--out results/dc_GaAs`: still accepted, as results/dc_GaAs.nc."""
    res = run("geometry", *COMMANDS["geometry"], "--out", tmp_path / "g")
    assert res.exit_code == 0, res.output
    assert f"wrote {tmp_path / 'g.nc'}" in res.output and "geometry_" not in res.output
    assert load(tmp_path / "g.nc").sizes["band"] == 2


def test_optical_cutoff_on_a_lattice_model_is_refused(tmp_path):
    out = tmp_path / "o.nc"
    res = run("optical", *COMMANDS["optical"], "--cutoff", 1, "--out", out)
    assert res.exit_code == 2, res.output
    assert ("cutoff (--cutoff) is the k cutoff of continuum (k·p) models; 'pt_tilted_4band' is a lattice model, "
            "summed over its Brillouin zone: drop --cutoff.") in flat(res)
    assert not out.exists()


@pytest.mark.parametrize("path", ["", "  "])
def test_bands_empty_path_is_refused(path, tmp_path):
    """--path '' fell back to the default path silently."""
    out = tmp_path / "b.nc"
    res = run("bands", *COMMANDS["bands"], "--path", path, "--out", out)
    assert res.exit_code == 2, res.output
    assert ("- path (--path): is empty: name the path's points (e.g. --path G-X-M-G), or leave it out for the "
            "lattice's default path") in flat(res)
    assert not out.exists()
