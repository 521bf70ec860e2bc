"""qgeom.optical against an independent NumPy reference (kramers_reference.py) for non-current observables:
the three-state injection (Eq. 4/S7), KI (S13), KFS (S14), the unsplit Kramers term (S11), the shift-like
term with its circular part (S15, bracket by differences of a gauge-invariant operator, not S16), the S10
symmetrization and the normalization, the last pinned by the exact velocity-gauge Liouville dynamics."""

from __future__ import annotations

import numpy as np
import pytest
from kramers_reference import (
    Bands, Lattice, MnBi2Te4, disk, injection, kramers, mp_grid, random_model, s9_nondegenerate, velocity_gauge,
)

from qgeom.models.library import mnbi2te4_bilayer
from qgeom.models.tight_binding import TightBindingModel
from qgeom.observables import spin_current
from qgeom.optical import response

KINDS = ["injection", "kramers_injection", "kramers_fermi_sea", "kramers_unsplit", "shift_like",
         "kramers_injection_geometric", "kramers_fermi_sea_geometric"]
OMEGA = np.array([1.0, 2.5, 4.0, 5.5])
KT, TAU, GAMMA, N = 0.02, 5.0, 0.1, 20
HBAR_EV_S = 6.582119569509066e-16


def _qgeom(hops, observable, mu, omega, *, tau, gamma, n, kinds):
    ds = response(TightBindingModel.from_hoppings(hops), observable, kinds=kinds, omega=omega, mu=mu,
                  temperature=KT, tau=tau, broadening=gamma, grid=n, units="model", principal_part=True)
    chi = ds.chi.transpose("kind", "omega", "alpha", "beta").values
    return dict(zip(ds.kind.values, chi))


def _mid_gap(model, n):
    e = np.linalg.eigvalsh(model.deriv(mp_grid(n)))
    assert e[:, 2].min() > e[:, 1].max()  # an insulator: S8/S9 hold there
    return 0.5 * (e[:, 1].max() + e[:, 2].min())


def _reference(model, k, O, mu, omega, *, tau, gamma, w=None, kT=KT):
    b = Bands(model, k, O, mu, kT, w=w)
    ki = kramers(b, omega, lambda x: gamma / np.pi / (x * x + gamma**2), np.pi * tau / 4)
    kfs = kramers(b, omega, lambda x: (x * x - gamma**2) / (x * x + gamma**2) ** 2, 1 / 8)
    return {"injection": injection(b, omega, tau, gamma), "kramers_injection": ki, "kramers_fermi_sea": kfs,
            "kramers_injection_geometric": ki, "kramers_fermi_sea_geometric": kfs,
            "kramers_unsplit": kramers(b, omega, lambda x: 1 / (x * x + gamma**2), 1 / 8),
            "shift_like": s9_nondegenerate(model, k, O, mu, kT, omega, gamma, 0.0, w=w)}


def _assert_close(got, want, rtol):
    for kind, ref in want.items():
        scale = np.abs(ref).max()
        assert scale > 1e-6, kind
        np.testing.assert_allclose(got[kind], ref, rtol=0, atol=rtol * scale, err_msg=kind)


@pytest.mark.parametrize("kind, spin_current_x", [("pt", False), ("pt", True), ("generic", False)])
def test_every_kind_equals_the_independent_reference(kind, spin_current_x):
    """Random PT Kramers model (PT-odd O; or the spin current ½{s_z, v_x}, k-dependent) and a random model
    without symmetry: all kinds, all (α, β), ±ω through S10, to 1e-9 of max|χ|."""
    hops, O = random_model(3, kind)
    model = Lattice(hops)
    if spin_current_x:
        s_z = np.kron(np.diag([1.0, -1.0]), np.eye(2))  # PT-odd: (iσ_y) σ_z (iσ_y)† = −σ_z
        O_ref = lambda k: 0.5 * (s_z @ model.deriv(k, (0,)) + model.deriv(k, (0,)) @ s_z)  # noqa: E731
        observable = spin_current("x", s_z)
    else:
        O_ref = observable = O
    mu = _mid_gap(model, N)
    got = _qgeom(hops, observable, mu, OMEGA, tau=TAU, gamma=GAMMA, n=N, kinds=KINDS)
    _assert_close(got, _reference(model, mp_grid(N), O_ref, mu, OMEGA, tau=TAU, gamma=GAMMA), 1e-9)
    if kind == "pt":  # only circular light drives KI, KFS: purely imaginary, antisymmetric in α ↔ β
        for k in ("injection", "kramers_injection", "kramers_fermi_sea"):
            assert np.abs(got[k].real).max() < 1e-12 * np.abs(got[k]).max()
            assert np.abs(got[k] + np.swapaxes(got[k], 1, 2)).max() < 1e-12 * np.abs(got[k]).max()
        circular = 0.5 * (got["shift_like"] - np.swapaxes(got["shift_like"], 1, 2))
        assert np.abs(circular).max() > 0.1 * np.abs(got["shift_like"]).max()  # S15's circular part is tested


@pytest.mark.parametrize("kind", ["pt", "generic"])
def test_exact_liouville_dynamics_fix_the_normalization(kind):
    """Exact identity at finite η (adiabatic switching): the velocity-gauge solution equals qgeom's
    kramers_unsplit(η) (1/8, S11) plus S9's remaining part (S15 before η → 0 in its 1/(ε + 2iη)); and
    KI (πτ/4) at τ = ħ/2η with a Lorentzian of width η is the same kernel as S11. A factor 2 in S13's
    π/4η (the seed's S12) or the 4× of S11–S15's ∫dω/2π convention would fail here."""
    hops, O = random_model(3, kind)
    model, eta, n = Lattice(hops), 0.3, 44
    mu = _mid_gap(model, n)
    k, omega = mp_grid(n), OMEGA[:3]
    got = _qgeom(hops, O, mu, omega, tau=1 / (2 * eta), gamma=eta, n=n, kinds=["kramers_unsplit", "kramers_injection"])
    exact = velocity_gauge(model, k, O, mu, KT, omega, eta)
    rest = s9_nondegenerate(model, k, O, mu, KT, omega, eta, eta)
    scale = np.abs(exact).max()
    np.testing.assert_allclose(got["kramers_unsplit"] + rest, exact, rtol=0, atol=1e-6 * scale)
    np.testing.assert_allclose(got["kramers_injection"], got["kramers_unsplit"], rtol=0, atol=1e-12 * scale)
    assert np.abs(got["kramers_unsplit"]).max() > 0.1 * scale


def test_spinless_real_model_has_no_kramers_terms():
    """PT without degeneracy (H(k) real, O imaginary): injection, KI, KFS vanish; the shift-like term does not."""
    hops, O = random_model(5, "spinless")
    mu = _mid_gap(Lattice(hops), N)
    got = _qgeom(hops, O, mu, OMEGA, tau=TAU, gamma=GAMMA, n=N, kinds=KINDS[:5])
    shift = np.abs(got["shift_like"]).max()
    assert shift > 1e-4
    for kind in KINDS[:4]:
        assert np.abs(got[kind]).max() < 1e-12 * shift, kind


def test_mnbi2te4_matches_reference_and_neel_signs():
    """Bilayer MnBi2Te4 (S21 written independently), p_z and s_z, both Néel orders: KI, KFS, shift-like equal
    the reference (same disk quadrature); Im χ^{xy} flips with the Néel order for p_z, not for s_z."""
    omega, tau_ps, gamma, grid = np.array([0.05, 0.07, 0.15, 0.28]), 0.25, 0.004, (24, 6)
    k, w = disk(*grid, 0.16)
    kinds = ["kramers_injection", "kramers_fermi_sea", "shift_like"]
    im_xy = {}
    for neel in (+1, -1):
        for name, O in (("layer_polarization", MnBi2Te4.LP), ("spin_z", MnBi2Te4.SZ)):
            ds = response(mnbi2te4_bilayer(neel=neel), name, kinds=kinds, omega=omega, mu=0.01, temperature=0.001,
                          tau=tau_ps, broadening=gamma, grid=grid)
            got = dict(zip(ds.kind.values, ds.chi.transpose("kind", "omega", "alpha", "beta").values))
            ref = _reference(MnBi2Te4(neel), k, O, 0.01, omega, tau=tau_ps * 1e-12 / HBAR_EV_S, gamma=gamma, w=w,
                             kT=0.001)
            _assert_close(got, {kd: ref[kd] for kd in kinds}, 1e-7)
            im_xy[neel, name] = np.array([got[kd][:, 0, 1].imag for kd in kinds])
    for name, sign in (("layer_polarization", -1), ("spin_z", +1)):
        np.testing.assert_allclose(im_xy[-1, name], sign * im_xy[+1, name], rtol=0,
                                   atol=1e-10 * np.abs(im_xy[+1, name]).max())
