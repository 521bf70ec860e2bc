"""Exact response kernels of the fermionic-bath NESS, batched: the hot path of `qgeom.dc.exact`.

Closed forms (seed [D] A-6, A-8 – A-12), written with divided differences of the bath-broadened
occupations f_± (`qgeom.occupation.bath_occupation_pm`):

    ρ̃⁰_n        = ½[f_+(ε_n) + f_−(ε_n)]                                                (A-6)
    ρ̃¹_mn(ω)    = [ρ̃⁰_n − ρ̃⁰_m + iΓ(f_+[ε_n, ε_m − ω] + f_−[ε_n + ω, ε_m])] / (ω + ε_nm + 2iΓ)   (A-8, A-9)
    ρ̃²_mln(ω1,ω2) = [ρ̃¹_ln(ω2) − ρ̃¹_ml(ω1)
                   + iΓ(f_+[ε_n, ε_l − ω2, ε_m − ω1 − ω2] + f_−[ε_n + ω1 + ω2, ε_l + ω1, ε_m])]
                   / (ω1 + ω2 + ε_nm + 2iΓ)                                               (A-10 – A-12)

with g[x0, x1] = (g(x0) − g(x1))/(x0 − x1) and g[x0, x1, x2] = (g[x0, x1] − g[x1, x2])/(x0 − x2).
Divided differences are evaluated in the polygamma variable z (f_s[x0..xk] = s(i/π) κ_s^k ψ[z0..zk],
κ_s = s iβ/2π) by the direct formula when the points are separated by more than τ|z̄|
(τ = SEPARATION; |z̄| is the distance to the nearest pole of ψ), otherwise by the Taylor series about
the centre, Σ_j ψ^(k+j)(z̄)/(k+j)! h_j(z − z̄), so ε_nm → 0 is exact, never 0/0. The scalar
reference of these formulas (one point at a time, and by quadrature) lives in the tests
(tests/dc/kernel_refs.py: `psi_dd1`, `psi_dd2`, `rho0`, `rho1`, `rho2`, `rho*_quad`).

`exact` needs ρ̃¹, ρ̃² for every k-point, band pair/triple and contour node at one (Γ, μ). All of them
are divided differences of ψ at the points z_+(ε_x + δ) for a few complex shifts δ, and the f_−
halves are conjugates of f_+ at conjugate shifts (z_−(x) = conj z_+(x*), so f_−[x0, …] =
conj f_+[x0*, …]). So ψ is tabulated once per (k, band, shift) — by its Taylor series about the
real-energy point z_+(ε_x), whose coefficients the close-point branches need anyway — and the
divided differences are assembled from the table with `psi_dd1`/`psi_dd2`'s branches (same τ,
term counts and choice of the most distant pair): pairs [shift, x, y, k] first, triples from the
pairs. What does not depend on μ (differences of z, branch choices) is prepared once per k-chunk
and Γ (`ChunkLayout`). The k-points are the last, contiguous axis of every table, so that
broadcasting over bands and shifts runs long inner loops.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass

import numpy as np
from scipy.special import bernoulli, digamma

from .._validation import positive_scalar
from ..occupation import bath_z

SEPARATION = 0.05  # τ: relative separation below which divided differences use the Taylor series
TAYLOR_TERMS = 13  # j = 0..12 in the Taylor series of divided differences


def _check(temperature, gamma):
    return positive_scalar(temperature, "temperature"), positive_scalar(gamma, "gamma")

SERIES_ORDER = 18  # Taylor coefficients c_0 … c_18 of ψ about each real-energy point
# ψ(z + h) from that series when |h| ≤ 0.13|z| (|z| is the distance to the nearest pole of ψ):
# truncation < 1e-16, rounding ≲ 4e-15 (as digamma's). The default contour always qualifies
# (radius ≤ (Γ + πkT)/8, so |h| ≤ Re z/8); otherwise digamma.
SHIFT_RATIO = 0.13
PAIR_RATIO = 0.1  # ψ[z + u, z + v] by the SERIES_ORDER terms about z when |u|, |v| ≤ 0.1|z|: truncation < 1e-16
_ASYMPTOTIC_RADIUS = 20.0  # the recurrence/asymptotic split of occupation.polygamma_complex
_BERNOULLI = bernoulli(26)[2::2]  # B_2, B_4, …, B_26


@functools.lru_cache(maxsize=None)
def _zeta_tail_matrix(kmax: int) -> np.ndarray:
    """A with ζ(k + 1, w) ≈ Σ_p A[k − 1, p] w^−(p+1) for |w| ≥ 20, k = 1..kmax: the Euler–Maclaurin
    series w^−k/k + w^−(k+1)/2 + Σ_i B_2i C(k+2i−1, k)/(2i) w^−(k+2i) of `polygamma_complex`."""
    A = np.zeros((kmax, kmax + 2 * len(_BERNOULLI)))
    for k in range(1, kmax + 1):
        A[k - 1, k - 1] = 1.0 / k
        A[k - 1, k] = 0.5
        for i, B in enumerate(_BERNOULLI, start=1):
            A[k - 1, k + 2 * i - 1] = B * math.comb(k + 2 * i - 1, k) / (2 * i)
    return A


def psi_series(z, kmax: int = SERIES_ORDER) -> np.ndarray:
    """Taylor coefficients c_q(z) = ψ^(q)(z)/q!, q = 0..kmax, at complex z (Re z > 0): [kmax + 1, *z.shape].

    c_0 is SciPy's digamma; c_q = (−1)^(q+1) ζ(q + 1, z) by the recurrence and asymptotic series of
    `occupation.polygamma_complex`, for all orders at once (powers by running products, the
    asymptotic series as one matrix product): ≲ 4e-15 relative (mpmath), 2× faster than
    polygamma_complex for 15 orders."""
    z = np.asarray(z, complex)
    flat = z.reshape(-1)
    out = np.empty((kmax + 1, flat.size), complex)
    out[0] = digamma(flat)
    R = _ASYMPTOTIC_RADIUS
    shift = np.ceil(np.clip(np.sqrt(np.clip(R * R - flat.imag**2, 0.0, None)) - flat.real, 0.0, None))
    acc = np.zeros((kmax, flat.size), complex)  # row q − 1: Σ_{j < shift} (z + j)^−(q+1)
    for j in range(int(shift.max(initial=0.0))):
        inv = np.where(j < shift, 1.0 / (flat + j), 0.0)
        power = inv * inv
        for row in acc:  # row by row: numpy's cumprod along a short axis is several times slower
            row += power
            power *= inv
    A = _zeta_tail_matrix(kmax)
    powers = np.empty((A.shape[1], flat.size), complex)  # w^−1, w^−2, …
    powers[0] = 1.0 / (flat + shift)
    for i in range(1, len(powers)):
        np.multiply(powers[i - 1], powers[0], out=powers[i])
    tail = (A @ powers.view(float)).view(complex)  # real coefficients: one real GEMM on (re, im)
    sign = (-1.0) ** np.arange(2, kmax + 2)
    out[1:] = sign[:, None] * (acc + tail)
    return out.reshape((kmax + 1,) + z.shape)


def _complete_homogeneous(u, v, n) -> np.ndarray:
    """h_j(u, v) = Σ_{i ≤ j} u^i v^(j−i), j < n: [n, *shape] (h_j = (u + v) h_{j−1} − uv h_{j−2})."""
    e1, e2 = u + v, u * v
    out = np.empty((n,) + np.shape(e1), complex)
    out[0], out[1] = 1.0, e1
    for j in range(2, n):
        out[j] = e1 * out[j - 1] - e2 * out[j - 2]
    return out


def _offset_series(u, v, n):
    """h_j(u, v) and its derivatives ∂_u h_j, ∂_v h_j, j < n, for offsets u, v [P]: each [P, n]."""
    h = _complete_homogeneous(u, v, n)
    du, dv = np.zeros_like(h), np.zeros_like(h)
    du[1] = dv[1] = 1.0
    e1, e2 = u + v, u * v
    for j in range(2, n):
        du[j] = h[j - 1] + e1 * du[j - 1] - v * h[j - 2] - e2 * du[j - 2]
        dv[j] = h[j - 1] + e1 * dv[j - 1] - u * h[j - 2] - e2 * dv[j - 2]
    return h.T, du.T, dv.T


class PsiTable:
    """ψ at the points z_+(ε_x + δ_s) of one (μ, kT, Γ) for energies ε [N, k] and shifts δ [S] with
    δ_0 = 0: `z`, `psi` [S, N, k]; `c` [SERIES_ORDER + 1, N, k], the Taylor coefficients of ψ about
    the real-energy points z[0]; `h` [S] = z_+(ε + δ) − z_+(ε); `anchor` = Re z[0] and `mu_im` =
    βμ/2π (the μ-dependent part of Im z). Built by `at`, for several μ at once."""

    def __init__(self, zr, c, h, anchor, mu_im):
        self.c, self.h, self.anchor, self.mu_im = c, h, anchor, mu_im
        self.z = zr + h[:, None, None]
        self.psi = self.series_sum(0, h[:, None] ** np.arange(SERIES_ORDER + 1))
        direct = np.abs(h)[:, None, None] > SHIFT_RATIO * np.abs(zr)  # outside the series' range
        if direct.any():
            self.psi[direct] = digamma(self.z[direct])

    @classmethod
    def at(cls, eps, shifts, mus, temperature, gamma) -> list["PsiTable"]:
        """The tables of every μ in `mus` (one `psi_series` call for all of them)."""
        kT, G = _check(temperature, gamma)
        zr = bath_z(eps, np.asarray(mus, float)[:, None, None], kT, G, 1)  # [μ, N, k]
        c = np.ascontiguousarray(np.moveaxis(psi_series(zr), 1, 0))
        h = (0.5j / (np.pi * kT)) * np.asarray(shifts, complex)
        return [cls(zr[i], c[i], h, 0.5 + G / (2 * np.pi * kT), mu / (2 * np.pi * kT)) for i, mu in enumerate(mus)]

    def series_sum(self, first, V) -> np.ndarray:
        """Σ_j V[p, j] c_{first+j}(z_x) [P, N, k] by one GEMM: Taylor sums at k-independent offsets."""
        n = V.shape[1]
        return (V @ self.c[first:first + n].reshape(n, -1)).reshape((len(V),) + self.c.shape[1:])

    def coefficients(self, si, xi, ki, orders) -> np.ndarray:
        """Taylor coefficients [len(orders), len(ki)] of ψ about the points (shift, band, k) =
        (si, xi, ki): tabulated at real energies, computed at the others."""
        out = self.c[orders][:, xi, ki]
        other = si != 0
        if other.any():
            out[:, other] = psi_series(self.z[si[other], xi[other], ki[other]], orders.stop - 1)[orders]
        return out


def _horner(coef, d) -> np.ndarray:
    """Σ_j coef[j] d^j."""
    acc = coef[-1].copy()
    for j in range(len(coef) - 2, -1, -1):
        acc *= d
        acc += coef[j]
    return acc


def psi_pairs(t: PsiTable, sa, sb) -> np.ndarray:
    """ψ[z_{sa_p, x, k}, z_{sb_p, y, k}] [P, x, y, k] for shift indices sa, sb [P] (both nonzero: the
    pairs of two shifted points; see `real_pairs`), with `psi_dd1`'s branches."""
    a, b = t.z[sa][:, :, None], t.z[sb][:, None]
    with np.errstate(divide="ignore", invalid="ignore"):  # coincident points: Taylor branch below
        out = (t.psi[sa][:, :, None] - t.psi[sb][:, None]) / (a - b)
    close = np.abs(a - b) < SEPARATION * np.abs(0.5 * (a + b))
    _pairs_same_band(t, sa, sb, out, close)
    _pairs_taylor(t, sa, sb, out, close)
    return out


def real_pairs(t: PsiTable, L: "ChunkLayout") -> np.ndarray:
    """ψ[z_{0, x, k}, z_{s, y, k}] [S, x, y, k] for every shift s, with `psi_dd1`'s branches, from the
    μ-independent part in `L`."""
    out = t.psi[0][:, None] - t.psi[:, None]
    with np.errstate(invalid="ignore"):  # 0·∞ at a = b: a near pair, set below
        out *= L.pair_dinv
    close = L.pair_q < (L.pair_ims - t.mu_im) ** 2
    _pairs_near_real(t, L.pair_near, out, close)
    _pairs_taylor(t, np.zeros(len(out), int), np.arange(len(out)), out, close)
    return out


def _pairs_taylor(t: PsiTable, sa, sb, out, close):
    """The remaining close pairs: 13-term Taylor series about the point with Re z closest to the
    anchor, a real energy when there is one (its coefficients are tabulated), as `psi_dd1`."""
    if not close.any():
        return
    pi, xi, yi, ki = np.nonzero(close)
    za, zb = t.z[sa[pi], xi, ki], t.z[sb[pi], yi, ki]
    first = (sa[pi] == 0) | ((sb[pi] != 0) & (np.abs(za.real - t.anchor) <= np.abs(zb.real - t.anchor)))
    coef = t.coefficients(np.where(first, sa[pi], sb[pi]), np.where(first, xi, yi), ki, slice(1, TAYLOR_TERMS + 1))
    out[close] = _horner(coef, np.where(first, zb - za, za - zb))


def _pairs_near_real(t: PsiTable, near, out, close):
    """Close (z_x, z_y + h_s) with z_y − z_x = Δ ≈ 0: Σ_j c_{1+j}(z_x)(h + Δ)^j = F(h) + ΔF'(h) + O(Δ²)."""
    xi, yi, ki, dz = near
    H = t.h[:, None] ** np.arange(TAYLOR_TERMS)
    value = t.series_sum(1, H)[:, xi, ki]
    if np.any(dz):
        value += dz * t.series_sum(1, np.arange(1, TAYLOR_TERMS) * H[:, :-1])[:, xi, ki]
    out[:, xi, yi, ki] = np.where(close[:, xi, yi, ki], value, out[:, xi, yi, ki])
    close[:, xi, yi, ki] = False



def _pairs_same_band(t: PsiTable, sa, sb, out, close):
    """Close (z_x + h_sa, z_x + h_sb), both shifted: the series Σ_j c_{1+j}(z_x) h_j(h_sa, h_sb) about
    the real point z_x (tabulated coefficients; the shifted centre of `psi_dd1` would need its own)."""
    d = np.arange(out.shape[1])
    use = close[:, d, d] & (np.maximum(np.abs(t.h[sa]), np.abs(t.h[sb]))[:, None, None] <= PAIR_RATIO * np.abs(t.z[0]))
    value = t.series_sum(1, _complete_homogeneous(t.h[sa], t.h[sb], SERIES_ORDER).T)
    out[:, d, d] = np.where(use, value, out[:, d, d])
    close[:, d, d] &= ~use


class ChunkLayout:
    """What the divided differences of one k-chunk and Γ share across μ (differences of z do not
    depend on μ). Triples ψ[z_{0,x,k}, z_{sb_p,y,k}, z_{sc_p,w,k}] are kept as [P, Q, y, k] over a
    list Q of (x, w) = (xq, wq): all of them, or x ≤ w where the third point is a real energy too
    (sc = 0, symmetric in x ↔ w), and with a band `reach` only w − x ≤ reach (the others through
    `far_weights` and the pair tables). Kept: the far formula (ψ[p, r] − ψ[r, q])/(p − q) of `psi_dd2`
    with (p, q) the most distant pair, as flat indices `iu`, `iv` of its two pair-table entries and
    the reciprocal `dinv` of p − q; the close test D < τ|centroid| as q < (ims − βμ/2π)²; the same
    for pairs (`_pairs`). `pair_near`, `triple_near`: the elements whose points coincide up to
    Δ = z_y − z_x ≤ NEAR·Re z (x = y, degenerate bands), taken to first order in Δ (error
    (Δ/|z|)² ≤ 1e-16) from series at k-independent offsets. The triples close at some μ of `mus` (the
    test is convex in βμ/2π: at one end of their range) are listed once (`_close_candidates`) with their
    Taylor polynomials, so that each μ tests and evaluates only those. Pair tables: `real_pairs`, then (for
    shifted-shifted pairs, sc ≠ 0) psi_pairs(t, sb, sc). `middle`: the intermediate bands y the triples
    are kept for (all by default; a large model's triples are taken a slab of them at a time, `exact`)."""

    NEAR = 1e-8

    def __init__(self, eps, shifts, sb, sc, kT, G, mus, reach: int | None = None, middle: slice = slice(None)):
        N = len(eps)
        self.middle = slice(*middle.indices(N)[:2])  # the bands y of the triples' middle point
        beta_2pi = 0.5 / (np.pi * kT)
        h = 1j * beta_2pi * np.asarray(shifts, complex)
        zeta = 1j * beta_2pi * eps  # z_+(ε) without its (μ, Γ)-dependent constant
        self.sym, self.sb, self.sc = not np.any(sc), sb, sc
        if reach is not None and not self.sym:
            raise ValueError("a band reach needs the symmetric layout (third point at a real energy)")
        self.reach, self.zeta = reach, zeta
        self.xq, self.wq = np.triu_indices(N) if self.sym else np.divmod(np.arange(N * N), N)
        if reach is not None:  # the near (x, w) only: `far_weights` takes the others from the pair tables
            keep = self.wq - self.xq <= reach
            self.xq, self.wq = self.xq[keep], self.wq[keep]
            band = np.arange(N)
            self.far_pairs = np.abs(band[:, None] - band[None]) > reach  # [x, w]: the pairs beyond the reach
        b, c = zeta[self.middle] + h[sb, None, None], zeta + h[sc, None, None]  # [P, y, k], [P, w, k]
        # a − b, b − c, c − a and their moduli per pair of bands, then on the [P, Q, y, k] grid
        diffs = [(zeta[:, None] - b[:, None])[:, self.xq],
                 (b[:, :, None] - c[:, None]).transpose(0, 2, 1, 3)[:, self.wq],
                 (c[:, None] - zeta[:, None])[:, self.xq, self.wq][:, :, None]]
        dab, dbc, dca = (np.abs(d) for d in diffs)
        D = np.maximum(np.maximum(dab, dbc), dca)
        use_ab = dab == D
        use_bc = (dbc == D) & ~use_ab
        chosen = np.where(use_ab, diffs[0], np.where(use_bc, diffs[1], diffs[2]))  # then one reciprocal
        with np.errstate(divide="ignore", invalid="ignore"):  # coincident points are close: Taylor
            self.dinv = np.divide(1.0, chosen, out=chosen)
        f_ab, f_ca, f_bc = self._pair_indices(eps.shape, len(shifts))
        self.iu = np.where(use_ab, f_ca, np.where(use_bc, f_ab, f_bc)).reshape(-1)
        self.iv = np.where(use_ab, f_bc, np.where(use_bc, f_ca, f_ab)).reshape(-1)
        # |centroid|² = Re² + Im²: Re = Re z of real energies + Re(h_sb + h_sc)/3 depends on the pair only
        re = 0.5 + G * beta_2pi + (h[sb].real + h[sc].real) / 3
        D /= SEPARATION
        D **= 2
        q = D - (re**2)[:, None, None, None]
        ims = (zeta[self.xq].imag + c.imag[:, self.wq])[:, :, None] + b.imag[:, None]
        ims /= 3
        self._pairs(zeta, h, 0.5 + G * beta_2pi)
        self._near(zeta, 0.5 + G * beta_2pi)
        self._close_candidates(q, ims, beta_2pi * np.asarray(mus, float), zeta, h)

    def _close_candidates(self, q, ims, mu_ims, zeta, h):
        """The triples close (D < τ|centroid|, q < (ims − βμ/2π)²) at some μ of the run, other than the near
        ones (`triple_near`, their own series): flat indices `cand`, their q and ims, (x, k) and the complete
        homogeneous polynomials h_j(z_b − z_a, z_c − z_a) of their μ-free offsets (`psi_triples`' Taylor branch)."""
        lo, hi = float(np.min(mu_ims)), float(np.max(mu_ims))
        cand = q < np.maximum((ims - lo) ** 2, (ims - hi) ** 2)
        qi, yi, ki = self.triple_near[:3]
        self.near_q, self.near_ims = q[:, qi, yi, ki], ims[:, qi, yi, ki]
        cand[:, qi, yi, ki] = False
        self.cand = np.flatnonzero(cand)
        self.cand_q, self.cand_ims = q.reshape(-1)[self.cand], ims.reshape(-1)[self.cand]
        pi, qi, yi, ki = np.unravel_index(self.cand, q.shape)
        xi, wi = self.xq[qi], self.wq[qi]
        self.cand_x, self.cand_k = xi, ki
        za = zeta[xi, ki]
        zb = zeta[self.middle.start + yi, ki]  # yi counts the layout's middle bands
        self.cand_H = _complete_homogeneous(zb + h[self.sb[pi]] - za, zeta[wi, ki] + h[self.sc[pi]] - za, TAYLOR_TERMS)

    def _pair_indices(self, shape, S):
        """Flat indices of ψ[a, b], ψ[c, a], ψ[b, c] [P, Q, y, k] in the pair tables: [S, N, N, k]
        of (real, shifted) pairs, then (sc ≠ 0) [P, N, N, k] of (sb, sc) pairs."""
        N, nk = shape
        p, x, w = np.arange(len(self.sb))[:, None, None], self.xq[:, None], self.wq[:, None]
        y = np.arange(N)[self.middle]
        dtype = np.int32 if (S + len(self.sb)) * N * N * nk < 2**31 else np.intp

        def flat(s, i, j):  # table[s, i, j, k] for tables [·, N, N, k]
            return (((s * N + i) * N + j) * nk)[..., None].astype(dtype) + np.arange(nk, dtype=dtype)

        f_bc = flat(self.sb[p], w, y) if self.sym else flat(p, y, w) + S * N * N * nk
        return flat(self.sb[p], x, y), flat(self.sc[p], x, w), f_bc

    def _pairs(self, zeta, h, re_z):
        """(real, shifted) pairs ψ[z_{0,x}, z_{s,y}] [S, x, y, k]: 1/(a − b) and the close test
        |a − b| < τ|a + b|/2 as pair_q < (pair_ims − βμ/2π)²."""
        a, b = zeta[:, None], zeta + h[:, None, None, None]
        with np.errstate(divide="ignore", invalid="ignore"):  # a = b: x = y at δ = 0, a near pair
            self.pair_dinv = 1.0 / (a - b)
        self.pair_q = (np.abs(a - b) / SEPARATION) ** 2 - ((re_z + 0.5 * h.real) ** 2)[:, None, None, None]
        self.pair_ims = 0.5 * (a + b).imag

    def _near(self, zeta, re_z):
        """The pairs (x, y, k) and triples (q, y, k) whose real-energy points coincide to NEAR·Re z, with Δ."""
        dz = zeta[None] - zeta[:, None]  # z_y − z_x [x, y, k]
        near = np.abs(dz) <= self.NEAR * re_z
        xi, yi, ki = np.nonzero(near)
        self.pair_near = xi, yi, ki, dz[xi, yi, ki]
        qi, yi, ki = np.nonzero(near[:, self.middle][self.xq] & near[self.xq, self.wq][:, None])  # yi in `middle`
        xi, wi = self.xq[qi], self.wq[qi]
        self.triple_near = qi, yi, ki, xi, dz[xi, self.middle.start + yi, ki], dz[xi, wi, ki]

    def fold(self, A) -> np.ndarray:
        """Σ_{x,y,w} A[…, x, w, y, k] ψ[x, y, w] as Σ_{q,y} fold(A)[…, q, y, k] ψ[q, y] over the kept
        (x, w) list."""
        out = A[..., self.xq, self.wq, :, :]
        if self.sym:
            off = self.xq != self.wq
            out[..., off, :, :] += A[..., self.wq[off], self.xq[off], :, :]
        return out

    def far_weights(self, W) -> np.ndarray:
        """B[…, x, y, k] = Σ_{w: |w − x| > reach} (A[…, x, w, y, k] + A[…, w, x, y, k])/(z_x − z_w) for
        A[…, x, w, y, k] = W[…, w, y, x, k] (W in the (m, l, n, k) order of `exact`'s (IV) weights), so that
        Σ_{x,w far} A[x, w, y] ψ[z_x, z_{s,y}, z_w] = Σ_{x,y} B[x, y] ψ[z_x, z_{s,y}] (the third point a real
        energy): ψ[a, b, c] = (ψ[a, b] − ψ[c, b])/(a − c), whose rounding grows as |b − a|/|a − c| — bounded by
        the chunk's energy spread over the separation that set `reach` (`band_reach`)."""
        with np.errstate(divide="ignore", invalid="ignore"):
            inv = np.where(self.far_pairs[:, :, None], 1.0 / (self.zeta[:, None] - self.zeta[None]), 0.0)  # [x, w, k]
        # W[m, l, n] enters as A[n, m, l] (x = n, w = m) and as A[m, n, l] (x = m, w = n); inv is antisymmetric
        return np.einsum("...mlnk,nmk->...nlk", W, inv) - np.einsum("...mlnk,nmk->...mlk", W, inv)

    def unpack(self, T) -> np.ndarray:
        """Triples [P, Q, y, k] → [P, x, y, w, k]."""
        if self.reach is not None:
            raise ValueError("a layout with a band reach keeps only the near triples")
        N = len(self.zeta)
        index = np.empty((N, N), int)
        index[self.xq, self.wq] = np.arange(len(self.xq))
        if self.sym:
            index[self.wq, self.xq] = np.arange(len(self.xq))
        return T[:, index].transpose(0, 1, 3, 2, 4)


def band_reach(eps, separation: float) -> int:
    """The largest band-index distance w − x of a pair of states closer than `separation` in energy at any
    k-point of the chunk (energies `eps` [N, k], ascending per k): pairs farther apart in index are at least
    `separation` apart (N − 1 when the energies are not sorted)."""
    N = len(eps)
    if N > 1 and np.any(np.diff(eps, axis=0) < 0):
        return N - 1
    d = 1
    while d < N and np.min(eps[d:] - eps[:-d]) < separation:
        d += 1
    return d - 1


def psi_triples(t: PsiTable, L: ChunkLayout, D1) -> np.ndarray:
    """ψ[z_{0,x,k}, z_{sb_p,y,k}, z_{sc_p,w,k}] [P, Q, y, k] ((x, w) from L's list) from the pair
    tables (`D1` = real_pairs(t, L)), with `psi_dd2`'s branches; clustered points by the Taylor
    series about the real point z_{0,x}."""
    tables = D1.reshape(-1)
    if not L.sym:
        tables = np.concatenate([tables, psi_pairs(t, L.sb, L.sc).reshape(-1)])
    out = np.take(tables, L.iu)
    out -= np.take(tables, L.iv)
    out = out.reshape(L.dinv.shape)
    out *= L.dinv
    qi, yi, ki, xi, d1, d2 = L.triple_near  # Σ_j c_{2+j}(z_x) h_j(h_b + Δ1, h_c + Δ2), to first order in Δ
    V, Vu, Vv = _offset_series(t.h[L.sb], t.h[L.sc], TAYLOR_TERMS)
    value = t.series_sum(2, V)[:, xi, ki]
    if np.any(d1) or np.any(d2):
        value += d1 * t.series_sum(2, Vu)[:, xi, ki] + d2 * t.series_sum(2, Vv)[:, xi, ki]
    out[:, qi, yi, ki] = np.where(L.near_q < (L.near_ims - t.mu_im) ** 2, value, out[:, qi, yi, ki])
    close = np.flatnonzero(L.cand_q < (L.cand_ims - t.mu_im) ** 2)  # the other close triples at this μ
    if len(close):
        coef = t.c[2:2 + TAYLOR_TERMS, L.cand_x[close], L.cand_k[close]]
        out.reshape(-1)[L.cand[close]] = np.einsum("jn,jn->n", coef, L.cand_H[:, close])
    return out


def _unique_complex(values, rel=1e-13):
    """Distinct values up to rel·max|v| (±z and z* of computed nodes agree only to rounding), in
    order of first occurrence, and the index of every value among them."""
    v = np.asarray(values, complex)
    q = rel * max(float(np.abs(v).max(initial=0.0)), 1e-300)
    keys = np.round(v.real / q) + 1j * np.round(v.imag / q)
    _, first, inv = np.unique(keys, return_index=True, return_inverse=True)
    order = np.argsort(first)
    rank = np.empty_like(order)
    rank[order] = np.arange(len(order))
    return v[first[order]], rank[inv.reshape(-1)]


@dataclass
class NodePlan:
    """What the kernels at the node pairs (ω1_j, ω2_j) need: distinct frequencies `freqs` (ρ̃¹
    tables; node j uses i1, i2, i12 for ω1, ω2, ω1 + ω2), ψ shifts `shifts` (δ_0 = 0; `neg`, `cnj`:
    the shifts −ω, ω* of each frequency) and the (y, w) shift pairs `pairs` of the ρ̃² divided
    differences (node j: f_+ half pairs[ip_j], f_− half pairs[im_j])."""

    omega12: np.ndarray
    freqs: np.ndarray
    i1: np.ndarray
    i2: np.ndarray
    i12: np.ndarray
    shifts: np.ndarray
    neg: np.ndarray
    cnj: np.ndarray
    pairs: np.ndarray
    ip: np.ndarray
    im: np.ndarray

    @classmethod
    def build(cls, omega1, omega2) -> "NodePlan":
        w1, w2 = np.asarray(omega1, complex), np.asarray(omega2, complex)
        freqs, inv = _unique_complex(np.concatenate([w1, w2, w1 + w2]))
        i1, i2, i12 = inv.reshape(3, -1)
        shifts, sinv = _unique_complex(np.concatenate([[0.0], -freqs, freqs.conj()]))
        neg, cnj = sinv[1:].reshape(2, -1)
        # f_+[ε_n, ε_l − ω2, ε_m − ω1 − ω2] and
        # f_−[ε_n + ω1 + ω2, ε_l + ω1, ε_m] = conj f_+[ε_m, ε_l + ω1*, ε_n + (ω1 + ω2)*]
        both = np.stack([np.concatenate([neg[i2], cnj[i1]]), np.concatenate([neg[i12], cnj[i12]])], axis=1)
        pairs, pinv = np.unique(both, axis=0, return_inverse=True)
        ip, im = pinv.reshape(2, -1)
        return cls(freqs[i12], freqs, i1, i2, i12, shifts, neg, cnj, pairs, ip, im)

    def layout(self, eps, kT, G, mus, reach: int | None = None, middle: slice = slice(None)) -> ChunkLayout:
        return ChunkLayout(eps, self.shifts, self.pairs[:, 0], self.pairs[:, 1], kT, G, mus, reach, middle)


def kernel_tables(t: PsiTable, eps, plan: NodePlan, layout: ChunkLayout, temperature, gamma):
    """For energies `eps` [N, k] and their ψ table `t` at one μ: ρ̃⁰ [N, k] (A-6), ρ̃¹_mn(ω_u) [U, m, n, k]
    at plan.freqs (A-8, A-9) and the ψ triples T [pair, (x, w), y, k] of ρ̃² (A-10 – A-12; (x, w) from
    the layout's list; see `rho2_table`), as `rho0`, `rho1`, `rho2` but batched, and the pair table
    D1 = ψ[z_{0,x,k}, z_{s,y,k}] [shift, x, y, k] (`real_pairs`) for the triples a band reach leaves out."""
    kT, G = _check(temperature, gamma)
    r0 = 0.5 - t.c[0].imag / np.pi
    D1 = real_pairs(t, layout)
    # iΓ(f_+[ε_n, ε_m − ω] + f_−[ε_n + ω, ε_m]), f_±[x0, x1] = −β/(2π²) ψ[…]
    dd = D1[plan.neg].swapaxes(1, 2) + D1[plan.cnj].conj()
    de = eps[None] - eps[:, None]  # ε_n − ε_m [m, n, k]
    r1 = r0[None] - r0[:, None] - (0.5j * G / (np.pi**2 * kT)) * dd
    r1 /= de + (plan.freqs + 2j * G)[:, None, None, None]
    return r0, r1, psi_triples(t, layout, D1), D1


def rho2_numerator_scale(temperature, gamma) -> float:
    """iΓ(f_+[…] + f_−[…]) of ρ̃² = this·(ψ_+[n, l, m] − conj ψ_−[m, l, n]), as f_+[x0, x1, x2] =
    −iβ²/(4π³) ψ[…]."""
    return gamma / (4 * np.pi**3 * temperature**2)


def rho2_table(eps, plan: NodePlan, layout: ChunkLayout, r1, T, temperature, gamma) -> np.ndarray:
    """ρ̃²_mln(ω1_j, ω2_j) [J, m, l, n, k] from `kernel_tables`' ρ̃¹ and ψ triples (Eqs. A-10 – A-12), for the
    intermediate bands l of the layout (`ChunkLayout.middle`)."""
    T = layout.unpack(T)
    ls = layout.middle
    r2 = T[plan.ip].transpose(0, 3, 2, 1, 4) - T[plan.im].conj()
    r2 *= rho2_numerator_scale(temperature, gamma)
    r2 += r1[plan.i2][:, None, ls]
    r2 -= r1[plan.i1][:, :, ls, None]
    r2 /= (eps[None] - eps[:, None])[:, None] + (plan.omega12 + 2j * gamma)[:, None, None, None, None]
    return r2
