"""Test-only scalar reference of the exact NESS kernels (seed [D] App. A): the closed forms one
point at a time, and their quadrature. The package evaluates them batched in `qgeom.dc.psi_tables`.

Closed forms (A-6, A-8 – A-12), written with divided differences of the bath-broadened
occupations f_± (`qgeom.occupation.bath_occupation_pm`):

    ρ̃⁰_n        = ½[f_+(ε_n) + f_−(ε_n)]                                                (A-6)
    ρ̃¹_mn(ω)    = [ρ̃⁰_n − ρ̃⁰_m + iΓ(f_+[ε_n, ε_m − ω] + f_−[ε_n + ω, ε_m])] / (ω + ε_nm + 2iΓ)   (A-8, A-9)
    ρ̃²_mln(ω1,ω2) = [ρ̃¹_ln(ω2) − ρ̃¹_ml(ω1)
                   + iΓ(f_+[ε_n, ε_l − ω2, ε_m − ω1 − ω2] + f_−[ε_n + ω1 + ω2, ε_l + ω1, ε_m])]
                   / (ω1 + ω2 + ε_nm + 2iΓ)                                               (A-10 – A-12)

with g[x0, x1] = (g(x0) − g(x1))/(x0 − x1) and g[x0, x1, x2] = (g[x0, x1] − g[x1, x2])/(x0 − x2):
the seed's r^(1)_± (A-9) are iΓ times first divided differences and its r^(2)_± (A-11, A-12) are
iΓ times second divided differences. Divided differences are evaluated in the polygamma variable
z (f_s[x0..xk] = s(i/π) κ_s^k ψ[z0..zk], κ_s = s iβ/2π) by the direct formula when the points are
separated by more than τ|z̄| (τ = 0.05; |z̄| is the distance to the nearest pole of ψ), otherwise by
the Taylor series about the centroid, Σ_j ψ^(k+j)(z̄)/(k+j)! h_j(z − z̄) (h_j: complete homogeneous
symmetric polynomials), so ε_nm → 0 (degenerate bands, n = m) is exact, never 0/0.

Frequencies may be complex (the DC limit is taken on a contour) as long as |Im ω| stays below
Γ (where the ω_b-integral representation A-4, A-5 holds) — the closed forms continue it
analytically. `rho*_quad` evaluate A-3 – A-5 by direct quadrature (slow reference for tests).
Conventions: ε_nm = ε_n − ε_m; kernels broadcast over all array arguments; μ, kT, Γ scalars.
"""

from __future__ import annotations

import math
import warnings

import numpy as np
from scipy import integrate as _integrate
from scipy.special import digamma

from qgeom._validation import QgeomInputError
from qgeom.dc.psi_tables import SEPARATION, TAYLOR_TERMS, _check  # noqa: F401  (the package's constants)
from qgeom.occupation import bath_z, fermi_dirac, polygamma_complex


# ----------------------------------------------------------------------------- divided differences
_FACT = np.array([float(math.factorial(n)) for n in range(40)])


def _polygamma_unique(orders, centers):
    """polygamma_complex at `centers`, evaluated once per distinct value (Taylor centres repeat:
    they are the real-energy points z(ε_n), shared by every frequency node and band pair)."""
    uniq, inv = np.unique(centers, return_inverse=True)
    return polygamma_complex(orders, uniq)[:, inv.reshape(-1)]


def _pick_center(points, anchor):
    """Index (per element) of the point used as Taylor centre: the one whose Re z is closest to
    `anchor` (real-energy points have Re z = anchor exactly), else the first point."""
    if anchor is None:
        return np.zeros(points[0].shape, int)
    return np.argmin(np.stack([np.abs(p.real - anchor) for p in points]), axis=0)


def psi_dd1(a, b, anchor=None) -> np.ndarray:
    """ψ[a, b] = (ψ(a) − ψ(b))/(a − b), exact limit ψ'(a) at a = b; complex a, b with Re > 0.

    Close points (|a − b| < τ|a|) use the Taylor series about one of them (the one with Re z closest
    to `anchor`, if given): ψ[a, b] = Σ_j ψ^(1+j)(a) (b − a)^j/(1+j)!."""
    a, b = np.broadcast_arrays(np.asarray(a, complex), np.asarray(b, complex))
    h = a - b
    close = np.abs(h) < SEPARATION * np.abs(0.5 * (a + b))
    out = np.empty(a.shape, complex)
    far = ~close
    if far.any():
        out[far] = (digamma(a[far]) - digamma(b[far])) / h[far]
    if close.any():
        ac, bc = a[close], b[close]
        first = _pick_center([ac, bc], anchor) == 0
        c0 = np.where(first, ac, bc)
        d = np.where(first, bc - ac, ac - bc)
        orders = list(range(1, TAYLOR_TERMS + 1))
        P = _polygamma_unique(orders, c0)
        acc = np.zeros(c0.shape, complex)
        dp = np.ones_like(d)
        for i, n in enumerate(orders):
            acc += P[i] * dp / _FACT[n]
            dp = dp * d
        out[close] = acc
    return out


def psi_dd2(a, b, c, anchor=None) -> np.ndarray:
    """ψ[a, b, c] (symmetric), stable for any coincidences among a, b, c.

    Separated points: ψ[p, r, q] = (ψ[p, r] − ψ[r, q])/(p − q) with (p, q) the most distant pair.
    Clustered points (max distance < τ|centroid|): Taylor series about one point z0 (Re z closest to
    `anchor`): Σ_j ψ^(2+j)(z0)/(2+j)! h_j(a − z0, b − z0, c − z0)."""
    a, b, c = np.broadcast_arrays(*(np.asarray(x, complex) for x in (a, b, c)))
    dab, dbc, dca = np.abs(a - b), np.abs(b - c), np.abs(c - a)
    D = np.maximum(np.maximum(dab, dbc), dca)
    close = D < SEPARATION * np.abs((a + b + c) / 3.0)
    out = np.empty(a.shape, complex)
    far = ~close
    if far.any():
        A, B, C = a[far], b[far], c[far]
        use_ab = (dab[far] >= dbc[far]) & (dab[far] >= dca[far])
        use_bc = ~use_ab & (dbc[far] >= dca[far])
        p = np.where(use_ab, A, np.where(use_bc, B, C))
        q = np.where(use_ab, B, np.where(use_bc, C, A))
        r = np.where(use_ab, C, np.where(use_bc, A, B))
        out[far] = (psi_dd1(p, r, anchor) - psi_dd1(r, q, anchor)) / (p - q)
    if close.any():
        pts = [a[close], b[close], c[close]]
        which = _pick_center(pts, anchor)
        z0 = np.choose(which, pts)
        da, db, dc = (x - z0 for x in pts)
        e1 = da + db + dc
        e2 = da * db + db * dc + dc * da
        e3 = da * db * dc
        orders = list(range(2, 2 + TAYLOR_TERMS))
        P = _polygamma_unique(orders, z0)
        h = [np.ones_like(z0), e1]
        acc = P[0] / _FACT[2] + P[1] * e1 / _FACT[3]
        for j in range(2, TAYLOR_TERMS):
            hj = e1 * h[j - 1] - e2 * h[j - 2] + (e3 * h[j - 3] if j >= 3 else 0.0)
            h.append(hj)
            acc = acc + P[j] * hj / _FACT[j + 2]
        out[close] = acc
    return out


def occupation_dd(points, mu, temperature, gamma, sign) -> np.ndarray:
    """Divided difference f_s[x0, …, xk] (k = 1 or 2) of the broadened occupation f_s of Eq. (A-6)
    at (complex) energies `points` = (x0, x1) or (x0, x1, x2)."""
    kT, G = _check(temperature, gamma)
    z = [bath_z(x, mu, kT, G, sign) for x in points]
    kappa = sign * 1j / (2 * np.pi * kT)
    pref = sign * 1j / np.pi
    anchor = 0.5 + G / (2 * np.pi * kT)  # Re z of every real energy
    if len(points) == 2:
        return pref * kappa * psi_dd1(*z, anchor=anchor)
    if len(points) == 3:
        return pref * kappa**2 * psi_dd2(*z, anchor=anchor)
    raise QgeomInputError("occupation_dd takes two or three points.")


# --------------------------------------------------------------------------------------- kernels
def rho0(eps, mu, temperature, gamma) -> np.ndarray:
    """ρ̃⁰(ε) of Eq. (A-6) (= A-3), real for real ε."""
    kT, G = _check(temperature, gamma)
    z = bath_z(eps, mu, kT, G, 1)
    e = np.asarray(eps)
    if np.iscomplexobj(e):
        zm = bath_z(eps, mu, kT, G, -1)
        return 0.5 + (1j / (2 * np.pi)) * (digamma(z) - digamma(zm))
    return 0.5 - digamma(z).imag / np.pi


def rho1(omega, eps_m, eps_n, mu, temperature, gamma, *, rho0_m=None, rho0_n=None) -> np.ndarray:
    """ρ̃¹_mn(ω) of Eqs. (A-8, A-9); broadcasts over ω, ε_m, ε_n."""
    kT, G = _check(temperature, gamma)
    omega = np.asarray(omega, complex)
    r0m = rho0(eps_m, mu, kT, G) if rho0_m is None else rho0_m
    r0n = rho0(eps_n, mu, kT, G) if rho0_n is None else rho0_n
    rp = occupation_dd((eps_n, eps_m - omega), mu, kT, G, 1)
    rm = occupation_dd((eps_n + omega, eps_m), mu, kT, G, -1)
    return (r0n - r0m + 1j * G * (rp + rm)) / (omega + eps_n - eps_m + 2j * G)


def rho2(omega1, omega2, eps_m, eps_l, eps_n, mu, temperature, gamma, *, rho1_ln=None, rho1_ml=None) -> np.ndarray:
    """ρ̃²_mln(ω1, ω2) of Eqs. (A-10 – A-12); broadcasts over all arguments. `rho1_ln` = ρ̃¹_ln(ω2)
    and `rho1_ml` = ρ̃¹_ml(ω1) may be passed in when already known."""
    kT, G = _check(temperature, gamma)
    w1, w2 = np.asarray(omega1, complex), np.asarray(omega2, complex)
    if rho1_ln is None:
        rho1_ln = rho1(w2, eps_l, eps_n, mu, kT, G)
    if rho1_ml is None:
        rho1_ml = rho1(w1, eps_m, eps_l, mu, kT, G)
    rp = occupation_dd((eps_n, eps_l - w2, eps_m - w1 - w2), mu, kT, G, 1)
    rm = occupation_dd((eps_n + w1 + w2, eps_l + w1, eps_m), mu, kT, G, -1)
    return (rho1_ln - rho1_ml + 1j * G * (rp + rm)) / (w1 + w2 + eps_n - eps_m + 2j * G)


# -------------------------------------------------------------------- quadrature (reference, slow)
def _lorentz_quad(func, gamma, features, *, epsabs=1e-13, epsrel=1e-12) -> complex:
    """∫ dω_b/2π 2Γ/(ω_b² + Γ²) func(ω_b) via ω_b = Γ tan θ (weight dθ/π), θ ∈ (−π/2, π/2)."""
    pts = sorted({float(np.arctan(x / gamma)) for x in features if np.isfinite(x)})
    pts = [p for p in pts if -np.pi / 2 < p < np.pi / 2]

    def part(fn):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", _integrate.IntegrationWarning)
            val, _ = _integrate.quad(
                lambda th: fn(func(gamma * np.tan(th))), -np.pi / 2, np.pi / 2,
                points=pts or None, limit=2000, epsabs=epsabs, epsrel=epsrel,
            )
        return val / np.pi

    return part(np.real) + 1j * part(np.imag)


def rho0_quad(eps, mu, temperature, gamma) -> float:
    """ρ̃⁰ by direct quadrature of Eq. (A-3) (scalar ε)."""
    f = lambda wb: fermi_dirac(eps + wb, mu, temperature)  # noqa: E731
    return _lorentz_quad(f, gamma, [mu - eps]).real


def rho1_quad(omega, eps_m, eps_n, mu, temperature, gamma) -> complex:
    """ρ̃¹_mn(ω) by direct quadrature of Eq. (A-4) (scalars; |Im ω| < Γ)."""
    def f(wb):
        num = fermi_dirac(eps_n + wb, mu, temperature) - fermi_dirac(eps_m - wb, mu, temperature)
        return num / (omega + wb + eps_n - eps_m + 1j * gamma)

    feats = [mu - eps_n, eps_m - mu, -(omega + eps_n - eps_m).real]
    return _lorentz_quad(f, gamma, feats)


def rho2_quad(omega1, omega2, eps_m, eps_l, eps_n, mu, temperature, gamma) -> complex:
    """ρ̃²_mln(ω1, ω2) by direct quadrature of Eq. (A-5) (scalars; |Im ω1|, |Im ω2|, |Im(ω1+ω2)| < Γ)."""
    w1, w2, iG = omega1, omega2, 1j * gamma
    fd = lambda e: fermi_dirac(e, mu, temperature)  # noqa: E731

    def f(wb):
        d12 = w1 + w2 + wb + eps_n - eps_m + iG
        d1 = w1 + wb + eps_l - eps_m + iG
        d2 = w2 + wb + eps_n - eps_l + iG
        d2m = w2 - wb + eps_n - eps_l + iG
        return fd(eps_m - wb) / (d12 * d1) + fd(eps_n + wb) / (d12 * d2) - fd(eps_l + wb) / (d1 * d2m)

    feats = [eps_m - mu, mu - eps_n, mu - eps_l, -(w1 + w2 + eps_n - eps_m).real,
             -(w1 + eps_l - eps_m).real, -(w2 + eps_n - eps_l).real, (w2 + eps_n - eps_l).real]
    return _lorentz_quad(f, gamma, feats)
