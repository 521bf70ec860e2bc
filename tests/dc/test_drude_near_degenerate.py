"""The Drude term of a pair closer than Γ, against the exact fermionic-bath NESS (docs/near_degeneracy.md).

A 1D crossing of two bands with different slopes, coupled by δ: the Drude of the adiabatic bands comes
entirely from the avoided crossing (each diabatic band alone, ε(k) = g(k + const), has none). For Γ ≪ δ
the exact σΓ² is the resolved expansion's Drude; for δ ≪ Γ ≪ kT the pair is one broadened crossing and
σΓ² falls as δ/Γ. With the pair grouped at resolution = Γ, the integrated-by-parts Drude (Re Tr_D[v³] of
the grouped pair: the diabatic velocities) follows the exact NESS; the seed form's grouped Drude (the
averaged inverse mass times the averaged velocity) does not."""

import numpy as np
import pytest

from qgeom.dc import expansion
from qgeom.dc.exact import exact
from qgeom.models import TightBindingModel

KW = dict(components=["xxx"], mu=[-1.0, 0.0], temperature=0.5, grid=64000, progress=False, units="model")


def crossing(delta: float) -> TightBindingModel:
    """ε1 = −2 cos k and ε2 = −1.2 cos(2k + 1) + 0.3 coupled by δ."""
    hop = {(0,): np.array([[0, delta], [delta, 0.3]], complex), (1,): np.array([[-1.0, 0], [0, 0]], complex),
           (2,): np.array([[0, 0], [0, -0.6 * np.exp(1j)]], complex)}
    return TightBindingModel.from_hoppings(hop, add_conjugates=True, lattice=[[1.0]], name="crossing")


def _drude(model, form, resolution):
    ds = expansion(model, mechanisms=["fermionic_bath"], drude_form=form, resolution=resolution, **KW)
    return ds.sigma.sel(mechanism="fermionic_bath", term="drude").values.ravel()


def test_drude_of_a_pair_closer_than_gamma_follows_the_exact_ness_by_parts():
    model = crossing(2e-3)
    gammas = np.array([1e-4, 0.01, 0.02])
    s = exact(model, gamma=gammas, **KW).sigma.sel(component="xxx").transpose("gamma", "mu").values
    exact_a = s * gammas[:, None] ** 2  # σΓ²
    resolved = _drude(model, "velocity_derivative", 0)
    np.testing.assert_allclose(_drude(model, "velocity_cubed", 0), resolved, rtol=1e-3)  # the same integral
    np.testing.assert_allclose(exact_a[0], resolved, rtol=2e-3)  # Γ ≪ δ: the expansion as it is
    for g, a in zip(gammas[1:], exact_a[1:]):
        assert np.abs(a).max() < 0.3 * np.abs(resolved).max()  # δ ≪ Γ: the crossing's Drude is gone …
        np.testing.assert_allclose(_drude(model, "velocity_cubed", g), a, rtol=0.06)  # … as grouped by parts
        seed = _drude(model, "velocity_derivative", g)
        assert np.abs(seed - a).max() > np.abs(a).max()  # the grouped seed form is off by more than itself
