"""The optical CLI reports both physical parts of χ with their peak frequencies, and σ for currents
(issue 14 item 1)."""

from __future__ import annotations

import numpy as np
import pytest
from click.testing import CliRunner

from qgeom.cli import main
from qgeom.models.library import mnbi2te4_bilayer, qi_wu_zhang
from qgeom.optical import current, response
from qgeom.optical.report import SIGMA_FACTOR, peak_rows, plot_parts, shift_sigma
from qgeom.results import metadata


@pytest.fixture(scope="module")
def kramers():
    return response(mnbi2te4_bilayer(neel=-1), "layer_polarization", kinds=["kramers_injection", "shift_like"],
                    omega=np.linspace(0.02, 0.3, 15), mu=0.01, tau=0.25, grid=(40, 8), progress=False)


def test_peak_rows_name_the_part_and_its_frequency(kramers):
    rows = {(r[0], r[1].split()[0]): r for r in peak_rows(kramers, "x", "y")}
    im = kramers.chi.sel(kind="kramers_injection", alpha="x", beta="y").values.imag
    i = int(np.argmax(np.abs(im)))
    ki = rows[("kramers_injection", "Im")]
    assert ki[1] == "Im (circular polarization)" and ki[2] == pytest.approx(im[i], rel=1e-12)
    assert float(ki[3]) == pytest.approx(kramers.omega.values[i], abs=5e-5)
    # PT symmetry: the linear-polarization part of the Kramers response is rounding noise, and labelled so
    assert rows[("kramers_injection", "Re")][2] == "~0" and rows[("kramers_injection", "Re")][3] == "-"
    # diagonal components are Hermitian-real: only Re is reported
    assert {r[1] for r in peak_rows(kramers, "x", "x")} == {"Re (linear polarization)"}


def test_current_reports_sigma_in_the_wannierberri_convention(tmp_path):
    ds = response(qi_wu_zhang(u=-1.0), current("x"), kinds=["shift_like"], omega=np.linspace(1.0, 5.0, 9),
                  mu=0.0, broadening=0.2, grid=16, progress=False)
    sig = shift_sigma(ds, "x", "x")
    np.testing.assert_allclose(sig.values, 4 * ds.chi.sel(alpha="x", beta="x").values.real, rtol=0, atol=0)
    assert SIGMA_FACTOR == 4 and sig.attrs["long_name"] == "sigma^xxx"
    assert plot_parts(ds, tmp_path / "f.png", "x", "x").stat().st_size > 5000


def test_cli_prints_both_parts_and_peak_frequencies(tmp_path):
    r = CliRunner().invoke(main, ["optical", "--model", "mnbi2te4_bilayer", "--param", "neel=-1", "--observable",
                                  "layer_polarization", "--mu", "0.01", "--tau", "0.25", "--grid", "40,8",
                                  "--omega", "0.02", "0.3", "15", "--out", str(tmp_path / "o.nc")])
    assert r.exit_code == 0, r.output
    assert "Im (circular polarization)" in r.output and "Re (linear polarization)" in r.output
    assert "at hbar*w (eV)" in r.output
    line = next(x for x in r.output.splitlines() if x.strip().startswith("kramers_injection  Im"))
    assert float(line.split()[-3]) == pytest.approx(0.08, abs=0.021)  # KI peak just above the 0.066 eV edge


def test_cli_current_prints_sigma(tmp_path):
    r = CliRunner().invoke(main, ["optical", "--model", "qi_wu_zhang", "--param", "u=-1", "--observable", "current_x",
                                  "--kind", "shift_like", "--component", "xx", "--omega", "1", "5", "9",
                                  "--broadening", "0.2", "--grid", "16", "--out", str(tmp_path / "c.nc")])
    assert r.exit_code == 0, r.output
    assert "sigma^{abc} = 4 Re chi^{bc}[j_a]" in r.output and "sigma^xxx" in r.output


def test_peak_rows_say_forbidden_for_neumann_zeros(kramers):
    """A part the group forbids reads "forbidden", and only that part: here the circular part of xy."""
    ds = kramers.copy()
    mask = np.zeros((2, 2, 2), bool)
    mask[1, 0, 1] = mask[1, 1, 0] = True  # [part (real, imag), alpha, beta]
    ds["forbidden_part"] = (("part", "alpha", "beta"), mask)
    ds.coords["part"] = ["real", "imag"]
    rows = peak_rows(ds, "x", "y")
    assert [r[2] == "forbidden" for r in rows] == [r[1].startswith("Im") for r in rows] and len(rows) == 4
    assert all(r[2] != "forbidden" for r in peak_rows(ds, "x", "x"))


def test_units_keyword_as_in_dc(tmp_path):
    """units= takes the DC expansion's choices: "auto" (SI for an eV/Å model, the default), "model", and "si",
    refused for a model without physical units; si=True/False is the older spelling of auto/model. The CLI's
    --units passes it on."""
    from qgeom import QgeomInputError

    kw = dict(kinds=["shift_like"], omega=np.linspace(0.05, 0.2, 4), mu=0.01, grid=(40, 4), progress=False)
    m = mnbi2te4_bilayer(neel=-1)
    auto, model, old = (response(m, "layer_polarization", **kw, **extra)
                        for extra in ({}, {"units": "model"}, {"si": False}))
    np.testing.assert_array_equal(model.chi.values, old.chi.values)
    assert "model units" in model.chi.attrs["units"] and "V^-2" in auto.chi.attrs["units"]
    factor = metadata(auto, "parameters")["si_factor"]
    np.testing.assert_allclose(auto.chi.values, factor * model.chi.values, rtol=1e-13, atol=0)
    with pytest.raises(QgeomInputError, match="no SI value; use units='model'"):
        response(qi_wu_zhang(u=-1.0), current("x"), units="si", **{**kw, "grid": 8, "mu": 0.0})
    r = CliRunner().invoke(main, ["optical", "--model", "mnbi2te4_bilayer", "--observable", "layer_polarization",
                                  "--kind", "shift_like", "--mu", "0.01", "--grid", "40,4", "--omega", "0.05", "0.2",
                                  "4", "--units", "model", "--out", str(tmp_path / "u.nc")])
    assert r.exit_code == 0, r.output
    assert "in model units (e = hbar = 1)" in r.output


@pytest.mark.parametrize("si, units", [(True, "model"), (False, "si"), (True, "si"), (False, "model")])
def test_si_with_explicit_units_is_refused(si, units):
    # si=True, units="model" labelled a model-unit result as SI (and vice versa): refused before computing
    from qgeom import QgeomInputError

    with pytest.raises(QgeomInputError, match=rf"si={si} together with units='{units}'.*older spelling of `units`"):
        response(mnbi2te4_bilayer(neel=-1), "layer_polarization", kinds=["shift_like"], omega=[0.1], mu=0.01,
                 grid=(8, 4), progress=False, si=si, units=units)
