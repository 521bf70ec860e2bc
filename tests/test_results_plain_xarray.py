"""Every kind of result opens in plain xarray: `ds.to_netcdf()` on the API result, then
`xr.open_dataset` (default engine) returns the same Dataset, complex variables included."""

from __future__ import annotations

import json

import numpy as np
import pytest
import xarray as xr

from qgeom.bandstructure import band_structure
from qgeom.dc import converge, exact, exact_frequency, expansion
from qgeom.dc.gamma_fit import gamma_scan
from qgeom.models.library import mnbi2te4_bilayer, qi_wu_zhang, tilted_dirac_2band
from qgeom.optical import response
from qgeom.results import load, metadata, save
from qgeom.summary import band_geometry

DC = dict(components="xyy", mu=[0.3], temperature=0.1, progress=False)
RESULTS = {
    "dc": lambda: expansion(tilted_dirac_2band(), grid=10, **DC),
    "dc-converge": lambda: converge(expansion, [8, 10], model=tilted_dirac_2band(), **DC),
    "dc-exact": lambda: exact(tilted_dirac_2band(), gamma=[0.02, 0.03], grid=8, nodes=8, **DC),
    "dc-exact-frequency": lambda: exact_frequency(tilted_dirac_2band(), gamma=0.02, omega=[0.0, 0.01], grid=8,
                                                  nodes=8, **DC),
    "gamma-scan": lambda: gamma_scan(tilted_dirac_2band(), gammas=np.linspace(0.01, 0.03, 6), grid=8, nodes=8, **DC),
    "optical": lambda: response(mnbi2te4_bilayer(neel=1), "layer_polarization", kinds=["kramers_injection", "shift_like"],
                                omega=np.linspace(0.02, 0.1, 3), mu=0.01, tau=0.25, grid=8, progress=False),
    "geometry": lambda: band_geometry(qi_wu_zhang(u=1.0), grid=8, progress=False),
    "bands": lambda: band_structure(qi_wu_zhang(u=1.0), "G-X-M-G", npoints=12),
}


@pytest.mark.parametrize("kind", list(RESULTS))
def test_result_round_trips_through_plain_xarray(kind, tmp_path):
    ds = RESULTS[kind]()
    ds.to_netcdf(tmp_path / "plain.nc")  # no qgeom involved in writing
    with xr.open_dataset(tmp_path / "plain.nc") as back:
        xr.testing.assert_identical(back.load(), ds)
        assert json.loads(back.attrs["model"])["name"] == metadata(ds, "model")["name"]
        assert isinstance(json.loads(back.attrs["parameters"]), dict)
    xr.testing.assert_identical(load(save(ds, tmp_path / "qgeom.nc")), ds)


def test_optical_chi_stays_complex_in_the_file(tmp_path):
    ds = RESULTS["optical"]()
    with xr.open_dataset(save(ds, tmp_path / "o.nc")) as back:
        assert back["chi"].dtype == np.complex128
        assert np.abs(back["chi"].values.imag).max() > 0
        np.testing.assert_array_equal(back["chi"].values, ds["chi"].values)
