"""Exact NESS results use the same unit rule as the expansion (SI for eV/Å models), and the Γ-scan
compares like with like."""

import numpy as np

from qgeom.dc import exact, expansion
from qgeom.models import KPModel
from qgeom.units import second_order_conductivity_si


def _dirac_kp():
    return KPModel(
        [["m + kx**2 + 0.3*kx", "v*(kx - I*ky)"], ["v*(kx + I*ky)", "-m - ky**2 + 0.3*kx"]],
        dim=2, parameters={"m": 0.1, "v": 1.0}, energy_unit="eV", length_unit="Å", k_cutoff=0.6,
    )


def test_exact_is_si_for_ev_angstrom_models_and_matches_model_units():
    model = _dirac_kp()
    kw = dict(components=["xxx"], mu=[0.2], temperature=0.05, gamma=[0.02], grid=(24, 16))
    si = exact(model, **kw)
    mu = exact(model, units="model", **kw)
    factor = second_order_conductivity_si(energy_unit_ev=1.0, length_unit_m=1e-10, dim=2)
    assert float(np.abs(mu.sigma).max()) > 0
    np.testing.assert_allclose(si.sigma, factor * mu.sigma, rtol=1e-12, atol=0)
    assert si.sigma.attrs["units"] == "A m V^-2"
    # the expansion under the same rule: the Drude coefficients carry the same unit factor
    ex_si = expansion(model, components="xxx", mu=[0.2], temperature=0.05, grid=(24, 16))
    ex_mu = expansion(model, components="xxx", mu=[0.2], temperature=0.05, grid=(24, 16), units="model")
    np.testing.assert_allclose(ex_si.sigma, factor * ex_mu.sigma, rtol=1e-12, atol=0)


def test_exact_deep_in_the_gap_returns_a_vanishing_sigma_with_a_warning():
    """μ in the gap (2|m| = 0.6 ≫ kT): σ is rounding noise; the imaginary-part check warns instead of failing."""
    import pytest

    from qgeom.models import tilted_dirac_2band

    kw = dict(components=["xyy"], temperature=0.1, gamma=[0.02], grid=8)
    with pytest.warns(RuntimeWarning, match="imaginary part"):
        gap = exact(tilted_dirac_2band(), mu=[0.0], **kw)
    band = exact(tilted_dirac_2band(), mu=[0.5], **kw)
    assert float(np.abs(gap.sigma).max()) < 1e-9 * float(np.abs(band.sigma).max())
