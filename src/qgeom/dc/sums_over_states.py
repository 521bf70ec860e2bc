"""Per-band integrands of the Γ expansion by sums over intermediate states (any number of bands).

The general path of `qgeom.dc.fermi_surface_sums.integrands` (the closed form for two bands is `two_band`):
from the eigenbasis matrix elements of ∂H (and ∂²H, Re ∂³H_nn where the forms need them) of the
bands in the Fermi window, every subspace-averaged per-band quantity the terms use — band velocity,
inverse mass, Berry curvature, the energy-normalized metric, the metric and its dipole, ∂³ε, and the
subspace trace Re Tr_D[v^a v^b v^c] of the integrated-by-parts forms — as band-major [X, n, nk] arrays.
"""

from __future__ import annotations

import numpy as np

from ..bands import Bands
from ..eigenbasis import symmetric_index
from .regrouping import PairSumChanges, pair_changes_cheaper


def _band_major(x: np.ndarray) -> np.ndarray:
    """x [nk, ...] as a contiguous [..., nk]. With k last, every elementwise step of the sums over
    states is one long loop over the chunk, broadcasting over the small band and component axes
    for free; with k first it is a loop of N² elements per k-point, several times slower."""
    return np.ascontiguousarray(np.moveaxis(x, 0, -1))


def _planar(x: np.ndarray) -> np.ndarray:
    """Complex matrices x [nk, q, n, p] as real band-major planes [q, 2 (re, im), n, p, nk]."""
    planes = x.view(float).reshape(x.shape + (2,))  # [nk, q, n, p, re/im]
    if x.strides[0] % 4096:
        return np.ascontiguousarray(planes.transpose(1, 4, 2, 3, 0))
    # k-points a multiple of 4 KiB apart (e.g. N = 8, 16): a transposing copy reads addresses that
    # all fall in the same cache sets (~3 ns a number); move whole matrix rows first
    rows = np.ascontiguousarray(planes.transpose(1, 2, 0, 3, 4))  # [q, n, nk, p, re/im]
    return np.ascontiguousarray(rows.transpose(0, 4, 1, 3, 2))


def _velocity_products(v: np.ndarray, f: np.ndarray, d: int, bands: slice) -> np.ndarray:
    """M^{ca} = L^{ca} + L^{ca}† with L^{ca} = (v^c ∘ f) @ v^a (so D_c v^a = w^{ca} + M^{ca}), rows n in
    `bands`, planar [c·d + a, 2, n, p, nk], from the rows v [nk, n, a, p] of every state: the rows of
    L and its columns n (for L†), or one full product when the window holds half the bands or more."""
    nk, N = v.shape[:2]
    nw = bands.stop - bands.start
    vf = v * f[:, :, None, :]  # (v^c ∘ f)_nq as [nk, n, c, q]
    if 2 * nw >= N:
        L = (vf.reshape(nk, N * d, N) @ v.reshape(nk, N, d * N)).reshape(nk, N, d, d, N)  # [n, c, a, p]
        M = L[:, bands] + L[..., bands].conj().transpose(0, 4, 2, 3, 1)
    else:
        rows = (vf[:, bands].reshape(nk, nw * d, N) @ v.reshape(nk, N, d * N)).reshape(nk, nw, d, d, N)
        cols = (vf.reshape(nk, N * d, N) @ v[..., bands].reshape(nk, N, d * nw)).reshape(nk, N, d, d, nw)
        M = rows + cols.conj().transpose(0, 4, 2, 3, 1)  # L^{ca}†_np = conj L^{ca}_pn
    return _planar(M.reshape(nk, nw, d * d, N).swapaxes(1, 2))


def _derivative_pairs(A, B, C, dipole: bool, order3: bool) -> list[tuple[int, int]]:
    """The distinct (c, a) of the D_c v^a that ∂_A g^{BC} (`dipole`) and ∂_A∂_B∂_C ε (`order3`) use."""
    A, B, C = A.tolist(), B.tolist(), C.tolist()
    ca = set()
    if dipole:
        ca |= set(zip(A, B)) | set(zip(A, C))
    if order3:
        ca |= set(zip(C, A)) | set(zip(C, B))
    return sorted(ca)


class _PairSums:
    """Σ_p g_np Re(x_np conj y_np) = Σ_p g_np Re(x_np y_pn) (y Hermitian) for named planar
    matrices x, y [2, n, p, nk] and named weights g [n, p, nk], as [n, nk]: one fused einsum pass
    each (no temporaries), computed once per distinct (x, y, g)."""

    def __init__(self, matrices: dict, weights: dict):
        self.matrices, self.weights, self.done = matrices, weights, {}

    def __call__(self, x, y, g) -> np.ndarray:
        key = (min(x, y), max(x, y), g)  # Re(x conj y) = Re(y conj x)
        if key not in self.done:
            m = self.matrices
            self.done[key] = np.einsum("rnpk,rnpk,npk->nk", m[x], m[y], self.weights[g])
        return self.done[key]


def general_per_band(b: Bands, A, B, C, pairs, pidx, dipole: bool, order3: bool, mass: bool,
                     bands: slice, *, finer: Bands | None = None):
    """Subspace-averaged per-band integrands, band-major [X, n, nk] for the bands n in `bands` (whole
    subspaces), for any N (sums over every intermediate state p). `mass`, `dipole`, `order3`: the
    inverse mass ∂_a v^b, ∂_A g^{BC} and ∂³ε are needed — without any of them only ∂H is (`Bands` of
    order 1: no second derivatives, no velocity products M). `finer`: the same eigensystem grouped more
    finely (b = finer.regrouped(tol)): then (b's, the finer grouping's), from one rotation of the matrix
    elements; the finer grouping's pair sums as b's plus the terms of the pairs b joins (`regrouping`:
    their own and their three-band terms, computed directly, not as a difference of large sums) where that
    is cheaper than evaluating them again.

    Every sum over states is Σ_p g_np Re(x_np y_pn) for Hermitian x, y among v, w, D_c v^a and a
    weight g among f = 1/ε_np, f², f³, Δ f^k: one fused einsum pass each (`_PairSums`)."""
    terms = (A, B, C, pairs, pidx, dipole, order3)
    elements = _window_planes(b, bands, dipole or order3, mass, (A, B, C) if order3 else None)
    weights = _grouping_weights(b, elements, bands, A, C, dipole, order3)
    sums, per_band = _grouping_sums(b, elements, weights, bands, mass, *terms)
    if finer is None:
        return _averaged(b, per_band, bands)
    fine_weights = _grouping_weights(finer, elements, bands, A, C, dipole, order3)
    joined = b.same & ~finer.same  # the pairs b groups and the finer grouping keeps apart
    if pair_changes_cheaper(joined, bands, b.nderiv, elements["v_all"] is not None):
        covariant = elements["v_all"] if dipole or order3 else None  # the sums with D_c v^a need every state's v
        changes = PairSumChanges(bands, sums.matrices, fine_weights, covariant, finer.inv_de, joined)
        mass_change = 2.0 * np.stack([changes(("v", a), ("v", c), "f") for a, c in pairs]) if mass else None
        fine_band = dict(per_band)
        for name, x in _pair_sum_terms(changes, mass_change, 0.0 if order3 else None, *terms).items():
            fine_band[name] = per_band[name] + x
        if "vcube" in per_band:
            fine_band["vcube"] = subspace_velocity_products(elements["v"], finer, bands, A, B, C)
    else:
        fine_band = _grouping_sums(finer, elements, fine_weights, bands, mass, *terms)[1]
    return _averaged(b, per_band, bands), _averaged(finer, fine_band, bands)


def _window_planes(b: Bands, bands: slice, covariant: bool, mass: bool, third: tuple | None) -> dict:
    """The rotated matrix elements the pair sums of the window `bands` use, whatever the grouping: the
    window's rows of v (planar [a, 2, n, p, nk]), the band velocities; with `covariant` (the sums with
    D_c v^a) also v of every state (v_all [nk, N, a, N]), the window's rows of w (planar [pair, 2, n, p, nk])
    and the diagonal velocities of every state; Re u_nn of the combos `third` = (A, B, C) if given. Without
    `covariant`, `mass` takes only the diagonal Re w_nn (w_diag [pair, n, nk]): the inverse mass
    w_nn + 2 Σ_p f_np Re(v^a_np v^b_pn) is then pair sums of the window's rows."""
    d = b.nderiv
    out = {"v_all": None}
    if covariant:
        v_all, second, u = b.window_elements(bands)  # v of every state; w rows and Re u_nn of `bands`
        out.update(v_all=v_all, w=_planar(second.swapaxes(1, 2)),
                   vel_all=_band_major(np.diagonal(v_all, axis1=1, axis2=3).real))  # [a, N, nk]
        if third is not None:
            out["u_diag"] = _band_major(u)[symmetric_index(d, 3)[third]]
        rows = v_all[:, bands]
    else:  # every sum is over pairs (n in `bands`, any p): the window's rows alone
        rows = b.first_order_window(bands)
        if mass:
            out["w_diag"] = _band_major(b.diagonal(2, bands))
    v = _planar(rows.swapaxes(1, 2))  # [a, 2, n, p, nk]
    nw = bands.stop - bands.start
    out.update(v=v, vel=v[:, 0, np.arange(nw), bands.start + np.arange(nw)])  # (n, p = n): [a, n, nk]
    return out


def _grouping_weights(b: Bands, el: dict, bands: slice, A, C, dipole: bool, order3: bool) -> dict:
    """The weights [n, p, nk] of the pair sums at b's grouping: f = 1/ε_np (0 within b's subspaces), f², f³
    and Δ^a_np f^k for the ∂_A g^{BC} (k = 3) and ∂³ε (k = 2) sums."""
    f = _band_major(b.inv_de[:, bands])
    weights = {"f": f, "f2": f * f}
    weights["f3"] = weights["f2"] * f
    if el["v_all"] is not None:
        vel, vel_all = el["vel"], el["vel_all"]
        for kind, power, used in (("f3Δ", "f3", A if dipole else ()), ("f2Δ", "f2", C if order3 else ())):
            for a in set(np.asarray(used).tolist()):
                weights[(kind, a)] = (vel[a][:, None] - vel_all[a][None, :]) * weights[power]  # Δ^a_np f^k
    return weights


def _grouping_sums(b: Bands, el: dict, weights: dict, bands: slice, mass: bool, A, B, C, pairs, pidx,
                   dipole: bool, order3: bool) -> tuple["_PairSums", dict]:
    """The pair sums at b's grouping (`weights`, `_grouping_weights`) of the elements `el` (`_window_planes`)
    and the per-band quantities before the subspace average."""
    d, nw = b.nderiv, bands.stop - bands.start
    v = el["v"]
    mats = {("v", a): v[a] for a in range(d)}
    mats.update({("iv", a): np.stack([-v[a, 1], v[a, 0]]) for a in range(d - 1)})  # i·v^a: Im parts
    mass_diag = None
    if el["v_all"] is not None:
        w = el["w"]
        M = _velocity_products(el["v_all"], b.inv_de, d, bands)  # L + L†: [c·d + a, 2, n, p, nk]
        if mass:  # w_nn + M_nn, M_nn = 2 Re L_nn
            pa, pb = np.array(pairs).T
            diag = (np.arange(nw), bands.start + np.arange(nw))
            mass_diag = w[:, 0][:, diag[0], diag[1]] + M[pa * d + pb, 0][:, diag[0], diag[1]]
        mats.update({("w", i): w[i] for i in range(len(pairs))})
        for c, a in _derivative_pairs(A, B, C, dipole, order3):
            mats[("Dv", c, a)] = w[pidx[c, a]] + M[c * d + a]  # D_c v^a
    sums = _PairSums(mats, weights)
    if mass and el["v_all"] is None:  # M_nn = 2 Re L_nn = 2 Σ_p f_np Re(v^a_np v^b_pn): no velocity products
        mass_diag = el["w_diag"] + 2.0 * np.stack([sums(("v", a), ("v", c), "f") for a, c in pairs])
    per_band = {"vel": el["vel"], **_pair_sum_terms(sums, mass_diag, el.get("u_diag"), A, B, C, pairs, pidx,
                                                     dipole, order3)}
    if not (mass and order3):  # the by-parts Drude or kinetic term
        per_band["vcube"] = subspace_velocity_products(v, b, bands, A, B, C)
    return sums, per_band


def _pair_sum_terms(sums, mass_diag, u_diag, A, B, C, pairs, pidx, dipole: bool, order3: bool) -> dict:
    """The per-band quantities made of pair sums `sums(x, y, g)` (`_PairSums`, or their changes under a
    finer grouping, `regrouping.PairSumChanges`, which are linear in them), before the subspace average:
    Berry curvature, the energy-normalized metric, the inverse mass (w_nn + M_nn given as `mass_diag`; None: not
    needed), ∂_A g^{BC} (`dipole`) or g^{BC}, ∂_A∂_B∂_C ε (`order3`; its Re u_nn part given as `u_diag`)."""
    nw, nk = sums.weights["f"].shape[0], sums.weights["f"].shape[-1]
    out = {
        # Ω_{ab} = −2 Σ_p f² Im(v^a_np v^b_pn) = 2 Σ_p f² Re(i v^a_np v^b_pn) (a ≤ b; 0 on the diagonal)
        "curv": np.stack([2.0 * sums(("iv", a), ("v", c), "f2") if a < c else np.zeros((nw, nk))
                          for a, c in pairs]),
        "Gm": np.stack([sums(("v", a), ("v", c), "f3") for a, c in pairs]),
    }
    if mass_diag is not None:
        out["mass"] = mass_diag
    comps = list(zip(A.tolist(), B.tolist(), C.tolist()))
    if dipole:
        # ∂_A g^{BC} = Σ_p f² Re(D_A v^B_np v^C_pn + D_A v^C_np v^B_pn) − 2 Q^{BC} Δ^A f³
        out["dg"] = np.stack([
            sums(("Dv", a, bb), ("v", c), "f2") + sums(("Dv", a, c), ("v", bb), "f2")
            - 2.0 * sums(("v", bb), ("v", c), ("f3Δ", a)) for a, bb, c in comps])
    else:
        out["g"] = np.stack([sums(("v", a), ("v", c), "f2") for a, c in pairs])
    if order3:
        # ∂_A∂_B∂_C ε_n = Re u^{ABC}_nn + 2Σ_p f Re[v^C w^{AB} + D_C v^A v^B + D_C v^B v^A]_np,pn
        #                − 2Σ_p f² Δ^C Q^{AB}
        out["third"] = u_diag + 2.0 * np.stack([
            sums(("w", pidx[a, bb]), ("v", c), "f") + sums(("Dv", c, a), ("v", bb), "f")
            + sums(("Dv", c, bb), ("v", a), "f") - sums(("v", a), ("v", bb), ("f2Δ", c)) for a, bb, c in comps])
    return out


def _averaged(b: Bands, per_band: dict, bands: slice) -> dict:
    """Every per-band quantity averaged over b's degenerate subspaces, in one call for all."""
    names = list(per_band)
    sizes = [per_band[n].shape[0] for n in names]
    avg = b.subspace_average_band_major(np.concatenate([per_band[n] for n in names]), bands)
    return dict(zip(names, np.split(avg, np.cumsum(sizes)[:-1], axis=0)))


def subspace_velocity_products(v: np.ndarray, b: Bands, bands: slice, A, B, C) -> np.ndarray:
    """Re (v^A_D v^B_D v^C_D)_nn per band n of `bands` and component, [comp, n, nk], with v_D the velocity
    matrices (planar [a, 2, n, p, nk]) restricted to the subspace D(n) (`Bands.exact_same_within`). Averaged
    over D it is Re Tr_D[v^A v^B v^C]/|D|: invariant under rotations within D, and at a crossing or a
    grouped near-degenerate pair the sum of v³ over the states the subspace continues into (the
    eigenvalues of P v P) — where the product of the subspace-averaged velocities would cube an
    average. Non-degenerate bands: (v^A v^B v^C)_nn. Subspaces lie within runs of the ascending
    spectrum (`Bands.same`), so only band lags below the longest run enter."""
    nw, nk = v.shape[2], v.shape[-1]
    n, p0 = np.arange(nw), bands.start
    inner = b.exact_same_within(bands)
    lags = int(b.same[:, bands, bands].sum(axis=2).max(initial=1))  # 1 for an empty window or chunk
    # the band-lagged diagonals X_j[n] = v_{n, n+j} of the window (zero where n + j leaves it), gathered once
    # with their components: every factor below is a slice of them, (v^B)_{n+s, n+t} = X_{t−s}[n + s]
    lagged = {}
    for j in range(1 - lags, lags):
        keep = n[(n + j >= 0) & (n + j < nw)]
        X = np.zeros(v.shape[:2] + (nw, nk))
        X[:, :, keep] = v[:, :, keep, p0 + keep + j]
        lagged[j] = (X[A], X[B], X[C])
    same = {j: np.diagonal(inner, j, axis1=1, axis2=2).T for j in range(1 - lags, lags)}  # [nw − |j|, nk]
    out = np.zeros((len(A), nw, nk))
    for s in range(1 - lags, lags):
        for t in range(1 - lags, lags):
            lo, hi = max(0, -s, -t), min(nw, nw - s, nw - t)  # n, n + s, n + t in the window
            if hi <= lo or abs(t - s) >= lags:  # (n + s, n + t farther apart than any subspace spans)
                continue
            m = slice(lo, hi)
            mask = None
            if (s, t) != (0, 0):  # n + s, n + t and n in one subspace
                # same[j][n + min(0, j)] = inner[n, n + j] (np.diagonal's order for either sign of j)
                ds, dt, du = min(0, s), min(0, t), s + min(0, t - s)
                mask = same[s][lo + ds: hi + ds] & same[t - s][lo + du: hi + du] & same[t][lo + dt: hi + dt]
                if not mask.any():
                    continue
            x = lagged[s][0][:, :, m]  # v^A_{n, n+s}
            y = lagged[t - s][1][:, :, lo + s: hi + s]  # v^B_{n+s, n+t}
            z = lagged[t][2][:, :, m]  # conj of v^C_{n+t, n}
            xy_re = x[:, 0] * y[:, 0] - x[:, 1] * y[:, 1]
            xy_im = x[:, 0] * y[:, 1] + x[:, 1] * y[:, 0]
            term = xy_re * z[:, 0] + xy_im * z[:, 1]  # Re(x y conj z)
            out[:, m] += term if mask is None else np.where(mask, term, 0.0)
    return out
