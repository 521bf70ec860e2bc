"""Results: self-describing Datasets and their NetCDF round trip."""

from __future__ import annotations

import json

import numpy as np
import pytest
import xarray as xr

import qgeom
from qgeom.kspace import make_grid
from qgeom.models import library
from qgeom.results import CONVENTIONS, load, make_result, metadata, save
from qgeom.summary import band_geometry


@pytest.fixture
def dataset(rng):
    model = library.mnbi2te4_bilayer(neel=-1)
    grid = make_grid(model, (4, 6))
    real = rng.standard_normal((3, 2))
    cplx = rng.standard_normal((3, 2)) + 1j * rng.standard_normal((3, 2))
    ds = make_result(
        {"sigma": (("mu", "component"), real), "chi": (("mu", "component"), cplx)},
        {"mu": np.array([-0.1, 0.0, 0.1]), "component": ["xyy", "yxx"]},
        model=model,
        grid=grid,
        parameters={"temperature": 0.001, "degen_tol": 1e-6, "flag": True, "nothing": None, "list": [1, 2.5]},
        units={"sigma": "e^3 Å / (hbar eV)", "chi": "arb", "mu": "eV"},
        title="test result",
        extra_attrs={"note": "plain string", "count": 3},
    )
    return ds, model, grid


def test_make_result_provenance(dataset):
    ds, model, grid = dataset
    assert ds.attrs["qgeom_version"] == qgeom.__version__
    assert metadata(ds, "model") == model.describe()
    assert metadata(ds, "grid") == grid.describe()
    assert ds.attrs["conventions"] == CONVENTIONS
    assert ds["sigma"].attrs["units"] == "e^3 Å / (hbar eV)"
    assert ds["mu"].attrs["units"] == "eV"
    assert metadata(ds, "model")["parameters"]["neel"] == -1


def test_save_load_round_trip(dataset, tmp_path):
    ds, model, grid = dataset
    path = save(ds, tmp_path / "sub" / "r.nc")
    assert path.is_file()
    back = load(path)
    assert set(back.data_vars) == {"sigma", "chi"}
    assert back["chi"].dtype.kind == "c"
    np.testing.assert_array_equal(back["chi"].values, ds["chi"].values)
    np.testing.assert_array_equal(back["sigma"].values, ds["sigma"].values)
    assert back["chi"].dims == ("mu", "component") and back["sigma"].dims == ("mu", "component")
    np.testing.assert_array_equal(back["mu"].values, ds["mu"].values)
    assert list(back["component"].values) == ["xyy", "yxx"]
    assert back["sigma"].attrs["units"] == "e^3 Å / (hbar eV)"
    assert back["chi"].attrs == {"units": "arb"}
    # structured attributes come back as structures, not strings
    assert metadata(back, "model") == model.describe()
    assert isinstance(metadata(back, "model")["parameters"], dict)
    assert metadata(back, "grid") == grid.describe()
    assert metadata(back, "parameters") == {"temperature": 0.001, "degen_tol": 1e-6, "flag": True, "nothing": None,
                                        "list": [1, 2.5]}
    assert back.attrs["qgeom_version"] == qgeom.__version__
    assert back.attrs["title"] == "test result"
    assert back.attrs["note"] == "plain string" and int(back.attrs["count"]) == 3
    # the in-memory Dataset is not modified by saving
    assert ds["chi"].dtype.kind == "c" and isinstance(metadata(ds, "model"), dict)


def test_sigterm_while_saving_waits_for_the_file(dataset, tmp_path, monkeypatch):
    """A SIGTERM of the CLI (`signals_as_exceptions`) that lands while a finished result is serialized: the file
    is written whole, then the run exits with 143 (raised inside h5netcdf it could lose the result)."""
    import os
    import signal
    import time

    from qgeom.outputs import signals_as_exceptions

    real = xr.Dataset.to_netcdf

    def to_netcdf_killed(self, *args, **kwargs):
        os.kill(os.getpid(), signal.SIGTERM)
        time.sleep(0.05)
        return real(self, *args, **kwargs)

    ds = dataset[0]
    monkeypatch.setattr(xr.Dataset, "to_netcdf", to_netcdf_killed)
    path = tmp_path / "r.nc"
    with pytest.raises(SystemExit) as exit_info, signals_as_exceptions():
        save(ds, path)
    assert exit_info.value.code == 128 + signal.SIGTERM
    monkeypatch.setattr(xr.Dataset, "to_netcdf", real)
    back = load(path)
    assert set(back.data_vars) == {"sigma", "chi"} and not list(tmp_path.glob(".qgeom-tmp*"))
    np.testing.assert_array_equal(back["chi"].values, ds["chi"].values)


def test_file_is_plain_netcdf(dataset, tmp_path):
    """Plain xarray (default engine, no qgeom) reads the complex variable and JSON attributes
    (the files of qgeom <= 0.1 held chi__real/chi__imag pairs, issue 14 item 2)."""
    ds, model, _ = dataset
    path = save(ds, tmp_path / "r.nc")
    with xr.open_dataset(path) as raw:
        assert set(raw.data_vars) == {"chi", "sigma"}
        assert raw["chi"].dtype == np.complex128
        np.testing.assert_array_equal(raw["chi"].values, ds["chi"].values)
        assert isinstance(raw.attrs["model"], str)
        assert json.loads(raw.attrs["model"]) == model.describe()
        assert json.loads(raw.attrs["parameters"])["nothing"] is None


def test_api_result_writes_with_plain_to_netcdf(dataset, tmp_path):
    ds, _, _ = dataset
    ds.to_netcdf(tmp_path / "plain.nc")
    back = xr.open_dataset(tmp_path / "plain.nc")
    xr.testing.assert_identical(back.load(), ds)


def test_legacy_file_is_converted(dataset, tmp_path):
    """A file in the earlier layout (complex pairs, "json:" attributes) still loads."""
    ds, model, _ = dataset
    old = ds.drop_vars("chi").assign(chi__real=ds["chi"].real.assign_attrs(complex_part="real"),
                                     chi__imag=ds["chi"].imag.assign_attrs(complex_part="imag"))
    old.attrs = {**ds.attrs, "model": "json:" + ds.attrs["model"], "flag": "json:true"}
    old.to_netcdf(tmp_path / "old.nc")
    back = load(tmp_path / "old.nc")
    np.testing.assert_array_equal(back["chi"].values, ds["chi"].values)
    assert metadata(back, "model") == model.describe() and metadata(back, "flag") is True


def test_band_geometry_round_trip(tmp_path):
    ds = band_geometry(library.qi_wu_zhang(u=1.0), grid=12, progress=False)
    back = load(save(ds, tmp_path / "g.nc"))
    xr.testing.assert_allclose(back[["chern_number", "quantum_metric_integral"]],
                               ds[["chern_number", "quantum_metric_integral"]], rtol=0, atol=0)
    assert metadata(back, "model")["parameters"] == {"u": 1.0}
    assert metadata(back, "grid")["shape"] == [12, 12]
    assert back["chern_number"].attrs["units"] == "1"


def test_unserializable_metadata_is_rejected(tmp_path, dataset):
    ds, _, _ = dataset
    ds.attrs["parameters"] = {"bad": object()}
    with pytest.raises(TypeError, match="cannot store"):
        save(ds, tmp_path / "bad.nc")


def test_a_netcdf3_copy_of_a_result_is_read(dataset, tmp_path):
    """A real result re-saved in the classic format (NetCDF-3: no complex type, so only the real variable) is read
    with the scipy engine; h5netcdf refused it with "file signature not found"."""
    ds, _, _ = dataset
    classic = tmp_path / "classic.nc"
    ds[["sigma"]].to_netcdf(classic, engine="scipy")
    assert classic.read_bytes()[:3] == b"CDF"
    back = load(classic)
    np.testing.assert_array_equal(back["sigma"].values, ds["sigma"].values)
    assert metadata(back, "parameters")["temperature"] == 0.001
