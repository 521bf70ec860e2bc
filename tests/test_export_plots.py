"""CLI end-to-end on the shipped GaAs example; text export and standard figures of results."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import xarray as xr
from click.testing import CliRunner

from qgeom.cli import main
from qgeom.export import to_text
from qgeom.plots import figure_kind, plot_result
from qgeom.results import metadata
from qgeom.results import load, save

GAAS = Path(__file__).resolve().parents[1] / "examples" / "GaAs"


def _attrs():
    return {"title": "test result", "qgeom_version": "0", "conventions": "c", "model": {"name": "m"},
            "parameters": {"temperature": 0.01}}


def sigma_dataset():
    mu = np.linspace(-1, 1, 11)
    data = np.random.default_rng(0).normal(size=(2, 3, 2, 11))
    ds = xr.Dataset({"sigma": (("mechanism", "term", "component", "mu"), data)},
                    coords={"mechanism": ["fermionic bath", "constant gamma"], "term": ["geo", "kin", "total"],
                            "component": ["xyy", "yxx"], "mu": mu}, attrs=_attrs())
    ds["sigma"].attrs["units"] = "sigma_2"
    ds["mu"].attrs["units"] = "v"
    return ds


def chi_dataset():
    om = np.linspace(0.1, 2, 9)
    chi = np.zeros((2, 2, 2, 9), complex)
    chi[0, 0, 1] = 1j * om
    chi[1, 0, 1] = om - 0.5j
    return xr.Dataset({"chi": (("kind", "alpha", "beta", "omega"), chi)},
                      coords={"kind": ["KI", "KFS"], "alpha": ["x", "y"], "beta": ["x", "y"], "omega": om},
                      attrs=_attrs())


def map_dataset():
    return xr.Dataset({"ratio": (("t", "mu"), np.exp(np.random.default_rng(1).normal(size=(4, 5)) * 3))},
                      coords={"t": np.linspace(0, 1, 4), "mu": np.linspace(-1, 1, 5)}, attrs=_attrs())


def test_cli_bands_gaas_end_to_end(tmp_path):
    runner = CliRunner()
    out = tmp_path / "bands.nc"
    fig = tmp_path / "bands.png"
    res = runner.invoke(main, ["bands", "--wannier90", str(GAAS / "GaAs_tb.dat"), "--path", "L-G-X",
                               "--npoints", "41", "--out", str(out), "--plot", str(fig)])
    assert res.exit_code == 0, res.output
    assert "gap along the path" in res.output and "Γ" in res.output
    ds = load(out)
    assert ds["energy"].dims == ("k", "band") and ds.sizes["band"] == 16 and ds.sizes["k"] == 41
    assert ds["energy"].attrs["units"] == "eV" and ds["distance"].attrs["units"] == "1/Å"
    assert metadata(ds, "model")["name"] == "GaAs" and metadata(ds, "model")["parameters"]["convention"] == "II"
    assert ds.attrs["path_labels"] == ["L", "Γ", "X"] and "qgeom_version" in ds.attrs
    g = int(np.argmin(np.abs(ds["distance"].values - ds.attrs["path_ticks"][1])))
    e = ds["energy"].values[g]
    assert ds["distance"].values[g] == pytest.approx(ds.attrs["path_ticks"][1])
    assert e[8] - e[7] == pytest.approx(0.4028, abs=1e-3)
    assert fig.stat().st_size > 1000

    res = runner.invoke(main, ["plot", str(out), "--out", str(tmp_path / "p.png"), "--text", str(tmp_path / "b.txt")])
    assert res.exit_code == 0 and "bands figure" in res.output, res.output
    res = runner.invoke(main, ["export", str(out)])
    assert res.exit_code == 0, res.output
    text = (tmp_path / "bands.txt").read_text()
    assert "# band structure" in text and "energy(k, band) [eV]" in text and '"convention": "II"' in text
    rows = [line.split() for line in text.splitlines() if line and not line.startswith("#")]
    assert len(rows) == 41 * 16
    assert float(rows[0][3]) == pytest.approx(ds["energy"].values[0, 0], rel=1e-9)


def test_cli_errors_are_clean(tmp_path):
    runner = CliRunner()
    bad = tmp_path / "bad_hr.dat"
    bad.write_text("hdr\n1\n1\n 1\n 0 0 0 1 1 x 0\n")
    res = runner.invoke(main, ["bands", "--wannier90", str(bad)])
    assert res.exit_code == 2 and "line 5" in res.output
    res = runner.invoke(main, ["bands", "--wannier90", str(GAAS / "GaAs_tb.dat"), "--path", "G-Q"])
    assert res.exit_code == 2 and "unknown k-point" in res.output


@pytest.mark.parametrize("make, kind", [(sigma_dataset, "sigma"), (chi_dataset, "chi"), (map_dataset, "map")])
def test_plot_and_export_standard_results(tmp_path, make, kind):
    path = save(make(), tmp_path / "r.nc")
    ds = load(path)
    assert figure_kind(ds) == kind
    fig = plot_result(ds, tmp_path / "r.png")
    assert (tmp_path / "r.png").stat().st_size > 1000 and len(fig.axes) >= 1
    text = to_text(ds, tmp_path / "r.txt")
    body = [line for line in text.splitlines() if line and not line.startswith("#")]
    assert len(body) == int(np.prod([ds[v].size for v in ds.data_vars][:1]))
    if kind == "chi":
        assert "chi.re  chi.im" in text
        assert np.iscomplexobj(ds["chi"]) and ds["chi"].values[0, 0, 1, 3] == pytest.approx(1j * ds.omega.values[3])
    if kind == "sigma":
        assert len(fig.axes) == 4 and "fermionic_bath" in text and "[sigma_2]" in text


def test_generic_plot_fallback(tmp_path):
    ds = xr.Dataset({"a": (("x",), np.arange(5.0)), "b": (("band", "x"), np.ones((2, 5)))},
                    coords={"x": np.linspace(0, 1, 5)}, attrs=_attrs())
    assert figure_kind(ds) == "generic"
    fig = plot_result(ds, tmp_path / "g.pdf")
    assert len(fig.axes) == 2 and (tmp_path / "g.pdf").is_file()
