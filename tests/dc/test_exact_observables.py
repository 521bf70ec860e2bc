"""Exact DC second-order response of any observable, Tr[O ρ⁽²⁾] of the fermionic-bath NESS (issue 11)."""

from __future__ import annotations

import numpy as np
import pytest

from qgeom._validation import QgeomInputError
from qgeom.bands import Bands
from qgeom.dc.exact import contour_nodes, exact
from qgeom.dc.exact_sums import FamilySums
from qgeom.dc.gamma_fit import fit_gamma_series
from qgeom.dc.observable_terms import field_indices
from qgeom.kspace import integrate
from qgeom.models.library import asymmetric_chain, mnbi2te4_bilayer_lattice, pt_tilted_4band, tilted_dirac_2band
from qgeom.observables import from_model, operator, spin_current
from qgeom.occupation import fermi_dirac

GAMMAS_CHAIN = np.array([0.004, 0.006, 0.008, 0.012, 0.016, 0.024, 0.032])  # kT = 0.1
DIRAC = dict(mu=0.5, temperature=0.3, grid=30, nodes=16)


def test_current_observable_reproduces_sigma():
    """observable="current" is today's σ_abc; current_x with field labels "bc" is σ_xbc (to 1e-12)."""
    m, kw = tilted_dirac_2band(), dict(DIRAC, gamma=[0.01, 0.03])
    ref = exact(m, components=["xyy", "xxx", "xxy"], **kw).sigma.values
    same = exact(m, components=["xyy", "xxx", "xxy"], observable="current", **kw).sigma.values
    cx = exact(m, components=["yy", "xx", "xy"], observable="current_x", **kw).sigma.values
    assert np.array_equal(same, ref)
    assert np.abs(cx - ref).max() <= 1e-12 * np.abs(ref).max()


def _one_band_kinetic(b_, c_, mu, kT, grid):
    """Σ_k v^b v^c f0''''(ε): the one-band closed form of the identity's Γ⁰ coefficient (× 1/12)."""
    def func(b, w):
        vb, vc = (np.diagonal(b.v[:, i], axis1=-2, axis2=-1).real for i in (b_, c_))
        return np.sum(w[:, None] * vb * vc * fermi_dirac(b.energies, mu, kT, 4))
    return integrate(asymmetric_chain(), grid, func, order=1)


def test_identity_conserves_charge_at_orders_gamma_m2_and_m1_only():
    """Tr ρ⁽²⁾: the Γ⁻² and Γ⁻¹ coefficients vanish (charge conservation of the Drude and Fermi-surface
    orders), but the fermionic bath is a particle reservoir at fixed μ: at Γ⁰ the field changes the
    particle number by (1/12) Σ_k v^b v^c f0''''(ε) (one band; seed convention), to the fit's 1e-3."""
    ds = exact(asymmetric_chain(), components="xx", observable=np.eye(1), mu=0.3, temperature=0.1,
               gamma=GAMMAS_CHAIN, grid=1200)
    fit = fit_gamma_series(GAMMAS_CHAIN, ds.sigma.values[:, 0, 0])
    A, B, C = fit["value"]
    kin = _one_band_kinetic(0, 0, 0.3, 0.1, 1200) / 12
    g0 = GAMMAS_CHAIN.min()
    assert abs(A) / g0**2 < 1e-3 * abs(C) and abs(B) / g0 < 1e-3 * abs(C)  # A/Γ², B/Γ: noise of the fit
    assert C == pytest.approx(kin, rel=2e-3)
    assert abs(kin) > 0.25  # not zero: the number of electrons changes at Γ⁰


def test_identity_has_no_gamma_m2_m1_terms_with_two_bands():
    g = np.array([0.006, 0.008, 0.011, 0.015, 0.02, 0.027, 0.036])
    ds = exact(tilted_dirac_2band(), components=["xx", "yy", "xy"], observable=np.eye(2), gamma=g, **DIRAC)
    cur = exact(tilted_dirac_2band(), components=["xxx"], gamma=g[:1], **DIRAC).sigma.values[0, 0, 0]
    for i in range(3):
        A, B, C = fit_gamma_series(g, ds.sigma.values[:, i, 0], degrees=(4, 5))["value"]
        assert abs(A) < 1e-9 * abs(cur) * g[0] ** 2 and abs(B) < 1e-7 * abs(cur) * g[0]


def _random_gauge(b: Bands, rng) -> Bands:
    """The same chunk with eigenvectors rotated by a random U(N) inside every degenerate subspace."""
    nk, N = b.energies.shape
    U = np.zeros((nk, N, N), complex)
    for k in range(nk):
        for lab in np.unique(b.labels[k]):
            idx = np.flatnonzero(b.labels[k] == lab)
            q, _ = np.linalg.qr(rng.normal(size=(len(idx),) * 2) + 1j * rng.normal(size=(len(idx),) * 2))
            U[k][np.ix_(idx, idx)] = q
    rot = lambda X: U.conj().swapaxes(-1, -2)[(slice(None),) + (None,) * (X.ndim - 3)] @ X @ U[  # noqa: E731
        (slice(None),) + (None,) * (X.ndim - 3)]
    return Bands(b.k, b.energies, b.vectors @ U, rot(b.v), rot(b.w), rot(b.u), degen_tol=b.degen_tol)


@pytest.mark.parametrize("name", ["layer_polarization", "spin_z"])
def test_u_n_gauge_invariance_inside_kramers_pairs(name):
    """The chunk sums of Tr[O ρ⁽²⁾] do not change when the Kramers partners are mixed by random U(2)."""
    m = mnbi2te4_bilayer_lattice()
    rng = np.random.default_rng(3)
    k = rng.uniform(-0.3, 0.3, (12, 2))
    b = Bands.from_model(m, k, order=3)
    assert np.all(b.same.sum(-1) == 2)  # every band is a Kramers pair
    obs = from_model(m, name).validate_for(m)
    z = contour_nodes(0.002, 8)
    func = FamilySums(field_indices(["xx", "xy", "yy"]), [z], -1, np.array([0.03, 0.06]), 0.01, [0.008], obs)
    w = np.full(len(k), 0.1)
    ref, rotated = func(b, w), func(_random_gauge(b, rng), w)
    assert np.abs(ref).max() > 0
    assert np.abs(rotated - ref).max() <= 1e-12 * np.abs(ref).max()


def test_spin_current_and_blocks():
    """A k-dependent observable carries its velocity-gauge terms: spin_current with S = identity is the
    current; a matrix observable summed block by block (H = h ⊕ h*) equals the dense sum."""
    m, kw = pt_tilted_4band(), dict(mu=[-4.0, -3.6], temperature=0.2, gamma=[0.05], grid=16)
    ref = exact(m, components=["xyy", "xxx"], **kw).sigma.values
    sc = exact(m, components=["yy", "xx"], observable=spin_current("x", np.eye(4)), **kw).sigma.values
    assert np.abs(sc - ref).max() <= 1e-12 * np.abs(ref).max()
    S = np.kron(np.diag([1.0, 2.0]), np.diag([0.5, -0.5]))  # block diagonal in the split {0, 3}, {1, 2}
    dense = exact(m, components=["yy", "xy"], observable=S, blocks=False, **kw).sigma.values
    split = exact(m, components=["yy", "xy"], observable=S, blocks=True, **kw).sigma.values
    assert np.abs(dense).max() > 1e-5
    assert np.abs(split - dense).max() <= 1e-8 * np.abs(dense).max()  # dense: rounding at the Kramers pairs


def test_bad_observable_input_is_rejected():
    m = tilted_dirac_2band()
    kw = dict(mu=0.5, temperature=0.3, gamma=0.01, grid=8)
    with pytest.raises(QgeomInputError, match="two field"):
        exact(m, components="xyy", observable=np.eye(2), **kw)
    with pytest.raises(QgeomInputError, match="callable"):
        exact(m, components="xx", observable=operator(lambda k: np.zeros((len(k), 2, 2))), **kw)
    with pytest.raises(QgeomInputError, match="no observable"):
        exact(m, components="xx", observable="layer_polarization", **kw)
    with pytest.raises(QgeomInputError, match="units='si'"):
        exact(m, components="xx", observable=np.eye(2), units="si", **kw)
