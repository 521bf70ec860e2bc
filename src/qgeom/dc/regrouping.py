"""The sums over states of a finer grouping from a coarser one's evaluation (the DC near-degenerate diagnostic).

The DC expansion reports its terms at two groupings of one eigensystem (`near_degeneracy.dc_tolerances`): the
coarser one joins some pairs (n, q) that the finer one keeps apart — `Bands.regrouped` drops their interband
denominators f_nq = 1/(ε_n − ε_q) and averages over the larger subspaces. Every per-band sum of
`sums_over_states` is a pair sum S = Σ_p g_np Re(x_np conj y_np) with a weight g = h f^k (h = 1 or Δ^a_np), so
the finer grouping adds to the coarser one's sums only

1. the joined pairs' own terms, g_nq Re(x_nq conj y_nq) (rows n of the joined pairs), and
2. where x is a covariant derivative D_c v^a = w^{ca} + M^{ca}, the three-band terms of those pairs through
   M = L + L†, L^{ca}_np = Σ_q v^c_nq f_nq v^a_qp: δL^{ca}_np = Σ_{q joined to n} v^c_nq f_nq v^a_qp is nonzero
   only in the rows n of joined pairs, so that δM_np = δL_np + conj δL_pn reaches every row n through the
   columns p of those states.

Both are sums over the joined pairs and the states they touch — a few per k-point on a Wannier model — instead
of a second evaluation of every pair sum (with its O(N³) products M). They are computed as they are, not as a
difference of two large sums: the diagnostic (finer − coarser) is theirs, accurate however close the pairs are
(1/Δ³ of a pair split by 10⁻⁶ would swamp a coarse sum obtained by subtraction).
"""

from __future__ import annotations

import numpy as np

# seconds per gathered element of `PairSumChanges` over seconds per element of a dense pass (the products M and
# the fused einsum of every pair sum): measured on GaAs (N = 16) and 1T'-MoS2 (N = 48), ~7 and ~1 ns
GATHER_COST = 8.0
# pair sums per chunk (the default expansion's terms for four components), a third of them through D_c v^a
PAIR_SUMS = 30


def pair_changes_cheaper(joined: np.ndarray, bands: slice, d: int, second_order: bool) -> bool:
    """Whether `PairSumChanges` costs less than evaluating the pair sums again at the finer grouping, by the
    elements each touches: the joined pairs' own terms and their rows of δL (E of them) and the rows and
    columns of the touched states (T), against the products M (2 d² N² per window row, or d² N³ when the
    window holds half the bands or more, `sums_over_states._velocity_products`) and an einsum pass over every
    (n, p, k) per sum. Pairs joined at a few k-points (bands crossing: every Wannier model at low T) take the
    changes; a chunk whose every state has a partner within the coarse tolerance (GaAs's spin-orbit pairs at
    kT = 50 meV) is evaluated again."""
    nk, N = joined.shape[:2]
    nw = bands.stop - bands.start
    E = int(np.count_nonzero(joined))
    T = int(np.count_nonzero(joined.any(axis=2))) if second_order else 0
    sparse = E * PAIR_SUMS + (E * N * d * d + T * (N + nw) * PAIR_SUMS // 3 if second_order else 0)
    dense = nk * (nw * N * PAIR_SUMS + (d * d * N * N * min(N, 2 * nw) if second_order else 0))
    return GATHER_COST * sparse < dense


class PairSumChanges:
    """δS(x, y, g) = S_fine(x, y, g) − S(x, y, g), [n, nk] for the window `bands`'s rows n: what the finer
    grouping adds to each pair sum of `sums_over_states._PairSums` (planar matrices `matrices` [2, n, p, nk] of
    the window's rows, at the coarser grouping; `fine_weights` [n, p, nk]: the weights at the finer one).
    `joined` [nk, N, N]: the pairs the coarser grouping joins and the finer keeps apart; `v_all` [nk, N, d, N]
    (the velocity matrices of every state) and `fine_inv_de` (the finer grouping's 1/ε_nq) for the sums that
    hold a covariant derivative ("Dv", c, a); None: no such sums. Every gather (matrices and weights at the
    joined pairs, in the touched rows and columns) is made once and shared by the sums that use it."""

    def __init__(self, bands: slice, matrices: dict, fine_weights: dict, v_all: np.ndarray | None,
                 fine_inv_de: np.ndarray, joined: np.ndarray):
        self.matrices, self.weights = matrices, fine_weights
        self.done, self.gathered = {}, {}
        s, nw, nk = bands.start, bands.stop - bands.start, joined.shape[0]
        self.shape = (nw, nk)
        k, n, q = np.nonzero(joined)  # both orders, sorted by (k, n)
        inside = (n >= s) & (n < bands.stop)
        self.pairs = (n[inside] - s, q[inside], k[inside])  # their own terms: (n, p, k) of the planes
        self.pair_index = self.pairs[0] * nk + self.pairs[2]
        self.dL = None
        if v_all is None or len(k) == 0:
            return
        # δL^{ca}_tp = Σ_{q joined to t} v^c_tq f_tq v^a_qp for every touched state t = (k, n): [T, c, a, p]
        new = np.r_[True, (k[1:] != k[:-1]) | (n[1:] != n[:-1])]
        first = np.flatnonzero(new)
        touched = np.cumsum(new) - 1  # each joined pair's touched state
        slot = np.arange(len(k)) - first[touched]  # its place among that state's joined pairs
        coef = v_all[k, n, :, q] * fine_inv_de[k, n, q][:, None]  # [E, c]
        rows = v_all[k, q]  # [E, a, p]
        # one pass per slot (most states are joined to one or two others), not a reduceat over every pair
        self.dL = coef[first][:, :, None, None] * rows[first][:, None]
        for j in range(1, int(slot.max()) + 1):
            e = np.flatnonzero(slot == j)
            self.dL[touched[e]] += coef[e][:, :, None, None] * rows[e][:, None]
        tk, tn = k[first], n[first]
        mine = (tn >= s) & (tn < bands.stop)  # touched rows in the window: their whole row of δL
        self.rows = (tn[mine] - s, tk[mine], np.flatnonzero(mine))
        self.row_index = self.rows[0] * nk + self.rows[1]
        self.cols = (tn, tk)  # every row n of the window sees conj δL_tn in the touched columns p = t
        self.col_index = (np.arange(nw)[None, :] * nk + tk[:, None]).ravel()
        self.window = slice(s, s + nw)

    def __call__(self, x, y, g) -> np.ndarray:
        if y[0] == "Dv":  # S(x, y) = S(y, x): the covariant derivative first
            x, y = y, x
        key = (x, y, g)
        if key not in self.done:
            self.done[key] = self._change(x, y, g)
        return self.done[key]

    def _gather(self, kind: str, name):
        """A matrix or (finer) weight at the joined pairs ("pair"), in the touched rows ("row") or columns ("col")."""
        key = (kind, name)
        if key not in self.gathered:
            planes = name in self.matrices  # a planar matrix [2, n, p, nk], else a weight [n, p, nk]
            X = self.matrices[name] if planes else self.weights[name]
            if kind == "pair":
                r, p, k = self.pairs
                x = X[:, r, p, k] if planes else X[r, p, k]
            elif kind == "row":
                r, k = self.rows[:2]
                x = np.stack([X[0, r, :, k], X[1, r, :, k]]) if planes else X[r, :, k]
            else:
                tn, tk = self.cols
                x = np.stack([X[0][:, tn, tk].T, X[1][:, tn, tk].T]) if planes else X[:, tn, tk].T
            self.gathered[key] = x
        return self.gathered[key]

    def _change(self, x, y, g) -> np.ndarray:
        nw, nk = self.shape
        # 1. the joined pairs' own terms (their coarse weight is 0, the matrices are the coarse grouping's)
        X, Y = self._gather("pair", x), self._gather("pair", y)
        own = (X[0] * Y[0] + X[1] * Y[1]) * self._gather("pair", g)
        out = np.zeros(nw * nk)
        out += np.bincount(self.pair_index, weights=own, minlength=nw * nk)
        if x[0] == "Dv" and self.dL is not None:  # 2. Σ_p g_fine Re(δM^{ca} conj y), δM = δL + δL†
            row, col = self._products(x[1], x[2], y)
            # the touched rows': Σ_p g_tp Re(δL_tp conj y_tp)
            out += np.bincount(self.row_index, weights=np.einsum("tp,tp->t", self._gather("row", g), row),
                               minlength=nw * nk)
            # every row n: g_nt Re(δL_tn y_nt) in the touched columns t
            out += np.bincount(self.col_index, weights=(self._gather("col", g) * col).ravel(), minlength=nw * nk)
        return out.reshape(nw, nk)

    def _products(self, c: int, a: int, y) -> tuple[np.ndarray, np.ndarray]:
        """Re(δL^{ca}_tp conj y_tp) in the touched rows [T_w, N] and Re(δL^{ca}_tn y_nt) in the touched columns
        [T, n]: shared by the sums with this (D_c v^a, y) and any weight."""
        key = ("products", c, a, y)
        if key not in self.gathered:
            dL = self.dL[:, c, a]  # [T, N]
            d, Y = dL[self.rows[2]], self._gather("row", y)
            row = d.real * Y[0] + d.imag * Y[1]
            d, Y = dL[:, self.window], self._gather("col", y)
            self.gathered[key] = (row, d.real * Y[0] - d.imag * Y[1])
        return self.gathered[key]
