"""Closed-form fermionic-bath kernels (seed [D] A-6, A-8 – A-12) against quadrature of A-3 – A-5."""

from __future__ import annotations

import mpmath
import numpy as np
import pytest

import kernel_refs as K
from qgeom.occupation import bath_occupation, bath_occupation_pm, fermi_dirac, polygamma_complex

# (kT, Γ): Γ ≫ kT, Γ ~ kT, Γ ≪ kT
REGIMES = [(0.02, 0.5), (0.1, 0.1), (0.5, 0.005), (0.1, 0.002)]


def _cases(seed, n):
    rng = np.random.default_rng(seed)
    for i in range(n):
        kT, G = REGIMES[i % len(REGIMES)]
        mu = rng.uniform(-0.5, 0.5)
        em, el, en = rng.uniform(-1, 1, 3)
        if i % 3 == 0:
            en = em  # intraband / degenerate: 0/0 limits of
        if i % 4 == 1:
            el = en
        w1 = rng.normal() * 0.3 + 1j * rng.uniform(-0.45, 0.45) * G  # complex ω, |Im ω| < Γ/2
        w2 = rng.normal() * 0.3 + 1j * rng.uniform(-0.45, 0.45) * G
        yield kT, G, mu, em, el, en, w1, w2


def _close(a, b, tol=1e-8):
    assert abs(a - b) <= tol * max(1.0, abs(b)), (a, b, abs(a - b))


@pytest.mark.parametrize("case", list(_cases(0, 8)))
def test_rho0_rho1_equal_quadrature(case):
    kT, G, mu, em, el, en, w1, w2 = case
    _close(K.rho0(en, mu, kT, G), K.rho0_quad(en, mu, kT, G))
    _close(K.rho1(w1, em, en, mu, kT, G), K.rho1_quad(w1, em, en, mu, kT, G))
    _close(K.rho1(w1.real, em, en, mu, kT, G), K.rho1_quad(w1.real, em, en, mu, kT, G))


@pytest.mark.parametrize("case", list(_cases(1, 8)))
def test_rho2_equals_quadrature(case):
    kT, G, mu, em, el, en, w1, w2 = case
    _close(K.rho2(w1, w2, em, el, en, mu, kT, G), K.rho2_quad(w1, w2, em, el, en, mu, kT, G))
    # the DC line ω2 = −ω1 used by the contour
    _close(K.rho2(w1, -w1, em, el, en, mu, kT, G), K.rho2_quad(w1, -w1, em, el, en, mu, kT, G))


def test_rho0_tends_to_fermi_dirac():
    e = np.linspace(-1, 1, 41)
    for G in (1e-3, 1e-5, 1e-7):
        err = np.abs(bath_occupation(e, 0.1, 0.1, G) - fermi_dirac(e, 0.1, 0.1)).max()
        assert err < 10 * G / 0.1  # deviation O(Γβ)
    assert np.abs(K.rho0(e, 0.1, 0.1, 1e-9) - fermi_dirac(e, 0.1, 0.1)).max() < 1e-8


def test_f_pm_conjugate_pair_and_far_tails():
    e = np.array([-1e3, -3.0, 0.0, 0.05, 2.0, 1e4])
    fp = bath_occupation_pm(e, 0.0, 1e-4, 0.01, 1)  # β|ε − μ| up to 1e8
    fm = bath_occupation_pm(e, 0.0, 1e-4, 0.01, -1)
    assert np.allclose(fm, np.conj(fp), atol=1e-15)
    r0 = 0.5 * (fp + fm).real
    assert np.all(np.isfinite(r0)) and np.all((r0 >= 0) & (r0 <= 1))
    # Lorentzian tail of A-3 far from μ: ρ̃⁰ ≈ Γ/(π|ε − μ|) (empty side)
    assert r0[-1] == pytest.approx(0.01 / (np.pi * 1e4), rel=1e-6)
    assert 1 - r0[0] == pytest.approx(0.01 / (np.pi * 1e3), rel=1e-5)


def test_polygamma_complex_matches_mpmath():
    rng = np.random.default_rng(3)
    z = np.concatenate([0.5 + rng.uniform(0, 4, 6) + 1j * rng.normal(0, 8, 6), [0.5 + 1e4j, 0.7 - 3e5j, 0.5 + 0j]])
    orders = [0, 1, 2, 3, 5, 8, 14]
    P = polygamma_complex(orders, z)
    for i, n in enumerate(orders):
        for j, zz in enumerate(z):
            ref = complex(mpmath.polygamma(n, mpmath.mpc(zz.real, zz.imag)))
            assert abs(P[i, j] - ref) <= 1e-13 * abs(ref)


def test_divided_differences_continuous_across_taylor_switch():
    """Direct and Taylor branches agree where they meet (|Δz| = τ|z|), to ~1e-12 relative."""
    z0 = 0.9 + 2.3j
    for sep in (K.SEPARATION * 0.999, K.SEPARATION * 1.001):
        h = sep * abs(z0) * np.exp(0.7j)
        d1 = K.psi_dd1(z0 + h / 2, z0 - h / 2)
        ref1 = complex((mpmath.digamma(z0 + h / 2) - mpmath.digamma(z0 - h / 2)) / h)
        assert abs(d1 - ref1) < 1e-12 * abs(ref1)
        a, b, c = z0 + h / 2, z0 - h / 2, z0 + 0.3 * h
        d2 = K.psi_dd2(a, b, c)
        with mpmath.workdps(40):
            A, B, C = (mpmath.mpc(x.real, x.imag) for x in (a, b, c))
            dab = (mpmath.digamma(A) - mpmath.digamma(B)) / (A - B)
            dbc = (mpmath.digamma(B) - mpmath.digamma(C)) / (B - C)
            ref2 = complex((dab - dbc) / (A - C))
        assert abs(d2 - ref2) < 1e-11 * abs(ref2)
    # exact coincidences: ψ[a, a] = ψ'(a), ψ[a, a, a] = ψ''(a)/2
    assert K.psi_dd1(z0, z0) == pytest.approx(complex(mpmath.polygamma(1, z0)), rel=1e-14)
    assert K.psi_dd2(z0, z0, z0) == pytest.approx(complex(mpmath.polygamma(2, z0)) / 2, rel=1e-14)


def test_kernels_vectorize_over_bands_and_frequencies():
    eps = np.array([-0.3, 0.1, 0.1, 0.4])
    w = 0.02 * np.exp(2j * np.pi * np.arange(6) / 6)
    r2 = K.rho2(w[:, None, None, None], -w[:, None, None, None], eps[:, None, None], eps[None, :, None],
                eps[None, None, :], 0.05, 0.1, 0.05)
    assert r2.shape == (6, 4, 4, 4)
    i = (2, 1, 3, 2)
    assert r2[i] == pytest.approx(K.rho2_quad(w[2], -w[2], eps[1], eps[3], eps[2], 0.05, 0.1, 0.05), rel=1e-9, abs=1e-12)
