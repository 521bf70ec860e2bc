"""Inputs that ended in a Python traceback: --dpi out of range, a malformed --scheduler, result files with
nothing to plot. Each is an `Error: ...` line with exit code 2, and nothing is written."""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr
from click.testing import CliRunner

from qgeom import QgeomInputError
from qgeom.cli import main
from qgeom.dc.exact import exact_frequency
from qgeom.executors import check_scheduler
from qgeom.models.library import pt_tilted_4band
from qgeom.options import Execution
from qgeom.results import save


def run(*args):
    return CliRunner().invoke(main, [str(a) for a in args])


def flat(res) -> str:
    return " ".join(res.output.split())


@pytest.fixture(scope="module")
def result_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("plot") / "geometry.nc"
    res = run("geometry", "--model", "qi_wu_zhang", "--grid", 3, "--out", path)
    assert res.exit_code == 0, res.output
    return path


@pytest.mark.parametrize("dpi", [0, -5, 100000])
def test_plot_dpi_out_of_range(dpi, result_file, tmp_path):
    """dpi 0 was matplotlib's ValueError, 100000 a MemoryError (std::bad_alloc)."""
    out = tmp_path / "f.png"
    res = run("plot", result_file, "--dpi", dpi, "--out", out)
    assert res.exit_code == 2, res.output
    assert f"Invalid value for '--dpi': {dpi} is not in the range 10<=x<=2000." in flat(res)
    assert not out.exists()


@pytest.mark.parametrize("address, problem", [
    ("foo bar", "it contains spaces"),
    ("tcp://127.0.0.1", "it has no port (host:port)"),
    ("localhost:abc", "the port 'abc' is not a number from 1 to 65535"),
    ("http://host:8786", "unknown protocol 'http://'"),
])
def test_a_malformed_scheduler_address_is_refused_before_computing(address, problem, tmp_path):
    """distributed raised a bare ValueError when it connected (a traceback)."""
    out = tmp_path / "x.nc"
    res = run("dc", "--model", "pt_tilted_4band", "--grid", 4, "--mu", 0, "--scheduler", address, "--out", out)
    assert res.exit_code == 2, res.output
    assert f"Invalid value for '--scheduler': scheduler {address!r} is not a Dask scheduler address: {problem}" \
        in flat(res)
    assert not out.exists()
    with pytest.raises(QgeomInputError, match="is not a Dask scheduler address"):  # the API's edge: the same check
        Execution(scheduler=address)


@pytest.mark.parametrize("address", ["tcp://10.0.0.1:8786", "10.0.0.1:8786", "tls://[::1]:8786", "local",
                                     "local-threads", None])
def test_scheduler_addresses_that_dask_reads_pass(address):
    check_scheduler(address)


def test_plot_of_a_file_without_data_variables(tmp_path):
    for name, ds in (("empty.nc", xr.Dataset(attrs={"title": "t"})), ("scalar.nc", xr.Dataset({"x": 1.0}))):
        path = tmp_path / name
        ds.to_netcdf(path)
        res = run("plot", path)
        assert res.exit_code == 2, res.output
        assert "Error: the result holds no array variable to plot" in flat(res)
        assert not path.with_suffix(".png").exists()


def test_plot_of_a_result_with_an_empty_axis(tmp_path):
    """A frequency file with no ω (exact_frequency refuses an empty omega now; a file cut down by hand) failed in a
    zero-size reduction."""
    ds = exact_frequency(pt_tilted_4band(), mu=[0.0], temperature=0.1, gamma=[0.01], omega=[0.1], grid=4,
                         progress=False).isel(omega=slice(0, 0))
    path = save(ds, tmp_path / "e_frequency.nc")
    res = run("plot", path)
    assert res.exit_code == 2, res.output
    assert "Error: the result has no values along omega (0 points): nothing to plot" in flat(res)
    assert not path.with_suffix(".png").exists()
