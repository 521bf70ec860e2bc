"""Fourier sums of a tight-binding model, ∂^α H(k) = Σ_R (iR)^α t_R e^{ik·R}, at a cost per k-point
that does not grow with the number of R vectors on grids.

Reduced coordinates: with R = n·lattice (n integer) and κ_a = k·a_a/2π, e^{ik·R} = Π_a e^{2πi κ_a n_a},
and the Cartesian derivatives follow from the reduced ones, ∂_x = Σ_a lattice[a, x] ∂_(a), with
∂_(a) ↔ the factor i n_a. So every reduced derivative combination is a *separable* sum over the
box of integer vectors that holds the R's (hoppings zero-filled), done one axis at a time:

    S_0[κ_0, p_0; n_1, n_2] = Σ_{n_0} e^{2πi κ_0 n_0} (i n_0)^{p_0} t[n_0, n_1, n_2]   distinct κ_0 only
    S_1[κ_0 κ_1, p_0 p_1; n_2] = Σ_{n_1} e^{2πi κ_1 n_1} (i n_1)^{p_1} S_0[…]          distinct (κ_0, κ_1)
    D[k, p_0 p_1 p_2]         = Σ_{n_2} e^{2πi κ_2 n_2} (i n_2)^{p_2} S_1[…]

each step a GEMM over one box axis. This is exactly the same finite sum, re-bracketed (the exact
analogue of WannierBerri's FFT over a box of the grid, for any chunk of any grid). A chunk of a
uniform grid (a few lines of a few planes) costs ~ box + n_lines·box/m_0 + nk·m_2 instead of
nk·nR per column, and the columns are only the N² hoppings times the derivative exponents with
p_0 + p_1 + p_2 ≤ order (never a precomputed t_R·R^α table). Scattered k-points (where the
separable form would not pay) take the direct GEMM with the phases, one combination at a time.

Convention II (orbital positions τ, H^II_ij = e^{ik·(τ_j − τ_i)} H^I_ij) costs the same plus one
elementwise pass: by Leibniz, ∂^c H^II = e^{ik·Δ} Σ_{c' ⊆ c} C(c, c') (iΔ)^{c − c'} ∂^{c'} H^I,
Δ_ij = τ_j − τ_i. The Cartesian transform and the Leibniz terms are linear with coefficients that do
not depend on k, so on the separable path they act on the last level's summands S_e[prefix, n_2] (i n_2)^p
once per distinct κ prefix rather than on every k-point's columns: per k-point only one phase sum per
*Cartesian* column is left (10 along x, y to third order instead of 20 reduced ones). Tested against
the direct Fourier sum in tests/models/test_fourier.py.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Iterator
from math import comb

import numpy as np

from .derivative_combos import all_combos, block_combos, cartesian_matrix, computed_combos, exponents

KAPPA_TOL = 1e-13  # reduced coordinates closer than this are one value (grid rounding is ~1e-16)
MAX_BOX_FILL = 8.0  # use the box only while it holds at most this many points per R vector
STAGE_BYTES = 64 * 2**20  # largest intermediate of the separable sums; wider hopping sets go in slices
SEPARABLE_ADVANTAGE = 1.5  # separable form taken when its flop count is this much below the direct one
BOX_PASS_COST = {True: 1.0, False: 4.0}  # multiply-adds per box element of a first-level pass: kept box, built anew
CHUNK_HINT = 256  # k-points per chunk that amortize the first summation levels (measured on bcc Fe)
BOX_CACHE_BYTES = 256 * 2**20  # the zero-filled box of hoppings is kept only below this size
BOX_SLICE_BYTES = 32 * 2**20  # ... a larger one is built for the first level in pieces of columns of this size
# first-level sums kept for the next chunks (those of one plane of a grid share κ_0), per thread: a few MB each
FIRST_LEVEL_CACHE_BYTES = 32 * 2**20
# ... and at least the current value's for every column set while they need no more than this: a wide model's
# chunks hold a few k-points (N = 100 with 2000 R vectors: 6), and without it each chunk sums the whole box
# again (its κ_0 sums take 134 MB; the last level's summands of a grid line, `_kept_summands`, 21 MB)
FIRST_LEVEL_MAX_BYTES = 160 * 2**20
FIRST_LEVEL_SLOTS = 4  # κ_0 values (or prefixes) kept per set of hopping columns (a chunk holds one or two)


class FourierSeries:
    """The derivative block of Σ_R e^{ik·R} t_R for integer lattice vectors n [nR, d] and hoppings t
    [nR, N, N], with positions τ [N, d] for convention II (None: convention I)."""

    def __init__(self, n, t, lattice, positions=None):
        self.n = np.asarray(n, np.int64)
        self.nR, self.dim = self.n.shape
        self.N = t.shape[1]
        self.lattice = np.asarray(lattice, float)
        # ∂^α H is Hermitian for every α: only the upper triangle i ≤ j is summed, the rest is its conjugate
        self.iu, self.ju = np.triu_indices(self.N)
        self.t = np.ascontiguousarray(np.asarray(t, complex)[:, self.iu, self.ju])
        self.lo = self.n.min(axis=0)
        self.shape = tuple(int(x) for x in self.n.max(axis=0) - self.lo + 1)
        self.use_box = int(np.prod(self.shape)) <= MAX_BOX_FILL * self.nR and self.dim > 1
        self.delta = None
        tau = None if positions is None else np.asarray(positions, float)
        # all centres at one point (one atom per cell): H^II = H^I exactly, so convention I's cost
        if tau is not None and np.ptp(tau, axis=0).any():
            self.delta = (tau[None, :, :] - tau[:, None, :]).transpose(2, 0, 1)  # [d, N, N]: τ_j − τ_i
            self.tau = tau

    def __getstate__(self):
        # workers rebuild the caches (the box, the per-thread first-level sums) lazily
        return {k: v for k, v in self.__dict__.items() if k not in ("_box_cache", "_local")}

    @property
    def chunk_hint(self) -> int | None:
        """k-points per chunk the separable sums want (None: direct sums, any chunk size is fine)."""
        return CHUNK_HINT if self.use_box else None

    def _box(self, cols: slice, order_axes) -> Iterator[tuple[slice, np.ndarray]]:
        """Hopping columns `cols` on the zero-filled box of lattice vectors, axes in the summation order
        `order_axes`, columns last: pieces (columns relative to `cols`, box [m…, x]). One piece, a view of the
        whole box kept while it takes ≤ BOX_CACHE_BYTES; a larger box in pieces of ≤ BOX_SLICE_BYTES, each
        valid until the next, in one buffer per thread (a fresh box of a few hundred MB per first level —
        N = 100 with 2000 R vectors: 380 MB — cost more in page faults than its sums, and added to the peak
        memory)."""
        X = min(cols.stop, self.t.shape[1]) - cols.start
        cached = self.__dict__.get("_box_cache")
        if cached is None and 16 * int(np.prod(self.shape)) * self.t.shape[1] <= BOX_CACHE_BYTES:
            cached = np.zeros(self.shape + (self.t.shape[1],), complex)
            cached[tuple((self.n - self.lo).T)] = self.t  # R vectors are unique (merged by the model)
            self._box_cache = cached
        if cached is not None:
            yield slice(0, X), cached[..., cols].transpose(*order_axes, self.dim)
            return
        shape = tuple(self.shape[a] for a in order_axes)
        size = int(np.prod(shape))
        step = max(1, min(X, BOX_SLICE_BYTES // (16 * size)))
        local = self._thread_local()
        if getattr(local, "box", None) is None or local.box.size < step * size:
            local.box = np.empty(step * size, complex)
        index = tuple((self.n - self.lo)[:, a] for a in order_axes)
        for s in range(0, X, step):
            x = min(step, X - s)
            box = local.box[: size * x].reshape(shape + (x,))
            box.fill(0)
            box[index] = self.t[:, cols.start + s : cols.start + s + x]
            yield slice(s, s + x), box

    def _thread_local(self) -> threading.local:
        """Per-thread state (kept sums, the box buffer): a threaded executor's chunks never share it."""
        if "_local" not in self.__dict__:
            self._local = threading.local()
        return self._local

    # -- public ------------------------------------------------------------------------------------

    def block(self, k: np.ndarray, order: int, axes: tuple[int, ...] | None = None,
              along: int | None = None) -> np.ndarray:
        """[nk, N, ncols, N]: block[:, i, c, j] = (∂^{combo c} H)_ij, columns `block_combos(d, order,
        axes)`: every derivative combo, or only those along the Cartesian `axes` (fewer columns to
        transform, fill and rotate; the reduced-coordinate sums are the same). `along`: only the columns
        of `computed_combos` are computed, the others are NaN (a current along that axis reads no more)."""
        k = np.asarray(k, float)
        kappa = k @ self.lattice.T / (2 * np.pi)
        full = block_combos(self.dim, order, axes)
        wanted = computed_combos(self.dim, order, axes, along)
        D = self._columns(kappa, order, wanted)  # [ncols, nk, i ≤ j]: ∂^c of the phase-free sum, Leibniz included
        N, nk = self.N, len(k)
        if self.delta is not None:
            ph = np.exp(1j * (k @ self.tau.T))
            # e^{ik·(τ_j − τ_i)}, C-ordered like the columns (fancy indexing along axis 1 returns Fortran order,
            # and a product with it strides: 8× slower per column)
            phase = np.take(ph.conj(), self.iu, axis=1) * np.take(ph, self.ju, axis=1)
        out = np.empty((nk, N, len(full), N), complex)
        full_ij = np.empty((nk, N * N), complex)
        position = {c: i for i, c in enumerate(full)}
        for c, combo in enumerate(wanted):  # per column, cache-sized: the phase, the lower triangle, the block layout
            col = D[c]
            if self.delta is not None:
                col *= phase
            np.take(col, self._fill_index, axis=1, out=full_ij, mode="clip")  # valid indices: unbuffered
            full_ij.view(float)[...] *= self._fill_sign
            out[:, :, position[combo], :] = full_ij.reshape(nk, N, N)
        for combo in set(full) - set(wanted):
            out[:, :, position[combo], :] = np.nan
        return out

    @functools.cached_property
    def _fill_index(self) -> np.ndarray:
        """For each (i, j): the position of (min, max) among the upper-triangle columns."""
        pos = np.empty((self.N, self.N), np.int64)
        pos[self.iu, self.ju] = pos[self.ju, self.iu] = np.arange(len(self.iu))
        return pos.ravel()

    @functools.cached_property
    def _fill_sign(self) -> np.ndarray:
        """+1, and −1 on the imaginary part below the diagonal (x_ji = conj x_ij), as float pairs."""
        sign = np.ones((self.N, self.N, 2))
        sign[..., 1] = np.where(np.tril(np.ones((self.N, self.N)), -1) > 0, -1.0, 1.0)
        return sign.ravel()

    # -- reduced-coordinate derivatives --------------------------------------------------------------

    def _columns(self, kappa: np.ndarray, order: int, wanted: tuple[tuple[int, ...], ...]) -> np.ndarray:
        """[ncols, nk, N²/2]: the Cartesian columns `wanted` (`computed_combos`) of Σ_R e^{2πi κ·n} t_R with
        the factors (i(R + Δ))^c, i.e. ∂^c H^II without the phase e^{ik·Δ} (convention I: ∂^c H)."""
        keys = [_distinct(kappa[:, a]) for a in range(self.dim)]
        order_axes = tuple(sorted(range(self.dim), key=lambda a: len(keys[a][0])))
        ncols = len(all_combos(self.dim, order))
        separable = self._separable_flops(keys, order_axes, order, len(wanted)) * SEPARABLE_ADVANTAGE
        if self.use_box and separable < len(kappa) * self.nR * ncols:
            X = self.t.shape[1]
            first = order_axes[0]
            # per κ_0 value, not per the chunk's count of them: one slicing for every chunk, so that the sums kept
            # for the next chunks (`_slots`, per column set) are found again (a chunk across two grid planes sliced
            # twice as finely, and the new column sets evicted the kept ones: 26 times on an 8³ grid at N = 100)
            per_col = 16 * (order + 1) * int(np.prod(self.shape)) // self.shape[first]
            step = max(1, min(X, STAGE_BYTES // max(per_col, 1)))
            parts = [self._separable(keys, order_axes, order, slice(s, s + step), wanted) for s in range(0, X, step)]
            return parts[0] if len(parts) == 1 else np.concatenate(parts, axis=-1)
        D = self._to_cartesian(self._direct(kappa, order), order, wanted)
        self._add_leibniz(D, order, wanted, slice(None))
        return D

    def _direct(self, kappa: np.ndarray, order: int) -> np.ndarray:
        phase = np.exp(2j * np.pi * (kappa @ self.n.T))  # [nk, nR]
        cols = all_combos(self.dim, order)
        out = np.empty((len(cols), len(kappa), self.t.shape[1]), complex)
        for c, combo in enumerate(cols):
            p = phase
            for a in combo:
                p = p * (1j * self.n[:, a])
            np.matmul(p, self.t, out=out[c])
        return out

    def _separable_flops(self, keys, order_axes, order, ncols: int) -> float:
        """Complex multiply-adds per hopping column of `_separable`: level l < d − 1 is a GEMM over box axis l
        for every (κ prefix × κ_l value) pair and every exponent combination p_0 + … + p_l ≤ order; the last
        level one per k-point and Cartesian column (the exponents are folded in per prefix). Plus the passes over
        the box of the first level's κ_0 values not kept from earlier chunks: memory-bound, BOX_PASS_COST
        multiply-adds per box element (a box too large to keep is zero-filled and scattered anew each time) — on
        scattered points they are the cost (symmetry detection's 576 images of random k-points, N = 100 with
        2093 R vectors: 36 κ_0 values, 18 s and 855 MB traced on the box, 2 s directly)."""
        values = keys[order_axes[0]][0].tolist()
        stores = [st for tag, st in self._thread_local().__dict__.get("first_level", {}).items()
                  if tag[:2] == (order_axes, order)]
        passes = sum(1 for v in values if not any(st.get(v) is not None for st in stores))
        kept = "_box_cache" in self.__dict__ or 16 * int(np.prod(self.shape)) * self.t.shape[1] <= BOX_CACHE_BYTES
        rows, flops = 1, passes * int(np.prod(self.shape)) * BOX_PASS_COST[kept]
        for level, a in enumerate(order_axes[:-1]):
            rows *= len(keys[a][0])
            outputs = comb(order + level + 1, level + 1)  # exponent tuples of length level + 1, sum ≤ order
            flops += rows * outputs * int(np.prod([self.shape[b] for b in order_axes[level:]]))
        m = self.shape[order_axes[-1]]
        flops += rows * m * len(all_combos(self.dim, order))  # the folded summands, per prefix
        return flops + len(keys[0][1]) * m * ncols

    def _separable(self, keys, order_axes, order, cols: slice, wanted) -> np.ndarray:
        """The level-by-level sums (module docstring) for the hopping columns `cols`: the levels before the
        last per distinct κ prefix; there the summands of the last level, Y_r[prefix, n] = S_e[prefix, n]
        (i n)^p for every reduced combo r = (e, p), turn into the Cartesian columns `wanted` and take the Leibniz terms
        (both are linear with coefficients independent of κ), so that per k-point only one phase sum per
        Cartesian column is left."""
        if self.dim == 3:  # kept per (κ_0, κ_1) prefix: the chunks of one grid line share it
            Y, pre = self._kept_summands(keys, order_axes, order, cols, wanted)
        else:  # d = 2: the first level is the last before the phase sums
            first_level = self._first_level(keys[order_axes[0]][0], order_axes, order, cols)  # [V, q, m, X]
            Y = self._summands({(p,): first_level[:, p] for p in range(order + 1)}, order_axes, order, cols, wanted)
            pre = keys[order_axes[0]][1]  # prefix index of each k-point
        last = order_axes[-1]
        vals, inv = keys[last]
        P, X = Y.shape[1], Y.shape[-1]
        base = self._axis_phases(last, vals, 1)[:, 0]  # [V, m]
        out = np.empty((len(Y), len(pre), X), complex)
        if (np.diff(pre) >= 0).all():
            # k-points in grid order (a chunk of a grid): one run of k-points per prefix, the GEMM of each run
            # with its own last-axis phases straight into the output — no (prefix × value) rows that no
            # k-point asks for (a chunk that starts or ends inside a line of the grid), no gather
            cuts = np.flatnonzero(np.diff(pre)) + 1
            for s, e in zip([0, *cuts.tolist()], [*cuts.tolist(), len(pre)]):
                phases = base[inv[s:e]]  # [n, m]
                for c in range(len(Y)):
                    np.matmul(phases, Y[c, pre[s]], out=out[c, s:e])
            return out
        rows = pre * len(vals) + inv  # each k-point's row of the (prefix × value) product
        for c in range(len(Y)):
            np.take((base @ Y[c]).reshape(P * len(vals), X), rows, axis=0, out=out[c], mode="clip")
        return out

    def _summands(self, stage: dict, order_axes, order: int, cols: slice, wanted) -> np.ndarray:
        """The last level's summands [len(wanted), P, m, X] from the sums S_e [P, m, X] of the levels before it
        (exponent tuple e of those axes -> sums): Y_r = S_e (i n)^p for every reduced combo r = (e, p), turned
        into the Cartesian columns `wanted` with their Leibniz terms."""
        d, last = self.dim, order_axes[-1]
        nvec = np.arange(self.shape[last]) + self.lo[last]
        S0 = next(iter(stage.values()))
        Y = np.empty((len(all_combos(d, order)),) + S0.shape, complex)
        for r, combo in enumerate(all_combos(d, order)):
            ex = exponents(combo, d)
            np.multiply(stage[tuple(ex[b] for b in order_axes[:-1])], ((1j * nvec) ** ex[last])[:, None], out=Y[r])
        Y = self._to_cartesian(Y.reshape(len(Y), -1, S0.shape[-1]), order, wanted)
        self._add_leibniz(Y, order, wanted, cols)
        return Y.reshape((len(Y),) + S0.shape)

    def _kept_summands(self, keys, order_axes, order: int, cols: slice, wanted) -> tuple[np.ndarray, np.ndarray]:
        """d = 3: the last level's summands [len(wanted), P, m_2, X] (`_summands`) of the chunk's distinct
        (κ_0, κ_1) prefixes, and each k-point's prefix index. The chunks of one grid line share their prefix
        (a wide model's chunks hold a few k-points): the last prefixes' summands are kept (`_Slots`),
        and the first two levels are summed only for prefixes not kept, the first only for κ_0 values not kept."""
        (v0, inv0), (vals, inv) = keys[order_axes[0]], keys[order_axes[1]]
        _, first, pre = np.unique(inv0 * len(vals) + inv, return_index=True, return_inverse=True)
        sel_parent, sel_val = inv0[first], inv[first]
        m1, m2 = self.shape[order_axes[1]], self.shape[order_axes[2]]
        X = min(cols.stop, self.t.shape[1]) - cols.start
        store = self._slots("summands", (order_axes, order, cols.start, cols.stop, wanted), (len(wanted), m2, X), cols)
        prefixes = list(zip(v0[sel_parent].tolist(), vals[sel_val].tolist()))
        found = [store.get(x) for x in prefixes]
        missing = [i for i, x in enumerate(found) if x is None]
        if missing:
            # per κ_0 value (a chunk across two grid planes has two): a kept first level is used in place, not
            # stacked with the other (a copy of ~60 MB per value on a wide model)
            stage = {e: np.empty((len(missing), m2, X), complex) for e in
                     ((p0, p1) for p0 in range(order + 1) for p1 in range(order - p0 + 1))}
            missing_parent = sel_parent[missing]
            for parent in np.unique(missing_parent):
                rows = np.flatnonzero(missing_parent == parent)  # the missing prefixes of this κ_0
                first_level = self._first_level(v0[parent : parent + 1], order_axes, order, cols)[0]  # [q, m_1, m_2, X]
                values = vals[sel_val[np.asarray(missing)[rows]]]
                for p0 in range(order + 1):
                    q = order - p0 + 1
                    ph = self._axis_phases(order_axes[1], values, q)  # [V, q, m_1]
                    R = (ph.reshape(-1, m1) @ first_level[p0].reshape(m1, -1)).reshape(len(rows), q, m2, X)
                    for p1 in range(q):
                        stage[(p0, p1)][rows] = R[:, p1]
            new = self._summands(stage, order_axes, order, cols, wanted).swapaxes(0, 1)  # [M, len(wanted), m_2, X]
            if len(missing) == len(found):
                store.put(prefixes, new)
                return new.swapaxes(0, 1), pre.ravel()
            for i, x in zip(missing, new):
                found[i] = x
        out = np.stack(found)  # before `put`: `found` holds views of kept slots
        store.put(prefixes, out)
        return out.swapaxes(0, 1), pre.ravel()

    def _axis_phases(self, a: int, vals: np.ndarray, q: int) -> np.ndarray:
        """e^{2πi κ n} (i n)^p for the values κ of reduced axis `a`, the box's n along it and p < q: [V, q, m]."""
        nvec = np.arange(self.shape[a]) + self.lo[a]
        base = np.exp(2j * np.pi * vals[:, None] * nvec[None, :])
        return np.stack([base * (1j * nvec) ** p for p in range(q)], axis=1)

    def _slots(self, kind: str, tag, shape: tuple[int, ...], cols: slice) -> "_Slots":
        """The per-thread store of one level's sums (`kind`) for the column set `cols`: up to FIRST_LEVEL_SLOTS
        values within FIRST_LEVEL_CACHE_BYTES over the column sets, and at least one while that takes no more
        than FIRST_LEVEL_MAX_BYTES."""
        stores = self._thread_local().__dict__.setdefault(kind, {})
        if tag not in stores:
            slices = -(-self.t.shape[1] // (cols.stop - cols.start))  # the column sets a block goes through
            one = 16 * int(np.prod(shape))  # bytes of one value's sums
            budget = FIRST_LEVEL_CACHE_BYTES // slices
            if one * slices <= FIRST_LEVEL_MAX_BYTES:
                budget = max(budget, one)
            if sum(x.buffer.nbytes for x in stores.values()) + budget > max(FIRST_LEVEL_CACHE_BYTES, FIRST_LEVEL_MAX_BYTES):
                stores.clear()  # another derivative order or summation order took over
            stores[tag] = _Slots(shape, budget)
        return stores[tag]

    def _first_level(self, vals: np.ndarray, order_axes, order: int, cols: slice) -> np.ndarray:
        """S_0[κ_a, p; m…, X] = Σ_{n_a} e^{2πi κ_a n_a} (i n_a)^p t[n_a, m…, X] on the box (its other axes in
        `order_axes` order) for the values `vals` of the first summation axis a = order_axes[0]. The chunks of
        one plane of a grid share κ_a: the last values' sums are kept (`_Slots`) for the next chunks,
        which then need neither the box nor this level."""
        X = min(cols.stop, self.t.shape[1]) - cols.start
        shape = (order + 1,) + tuple(self.shape[b] for b in order_axes[1:]) + (X,)
        store = self._slots("first_level", (order_axes, order, cols.start, cols.stop), shape, cols)
        found = [store.get(v) for v in vals.tolist()]
        missing = [i for i, x in enumerate(found) if x is None]
        if missing:
            m = self.shape[order_axes[0]]
            ph = self._axis_phases(order_axes[0], vals[missing], order + 1).reshape(-1, m)  # [V·q, m]
            # one new value (a chunk inside a plane): summed straight into the slot that keeps it (a wide model's
            # sums of one κ_0 take ~130 MB, which a copy into the slot would hold twice)
            R = store.reserve(vals[0]) if len(missing) == len(vals) == 1 else None
            if R is None:
                R = np.empty((len(missing),) + shape, complex)
            for sub, box in self._box(cols, order_axes):  # box [m, m…, x]: axes in summation order, columns last
                if sub.stop - sub.start == X:
                    np.matmul(ph, box.reshape(m, -1), out=R.reshape(len(ph), -1))
                else:
                    R[..., sub] = (ph @ box.reshape(m, -1)).reshape(R.shape[:-1] + box.shape[-1:])
            if len(missing) == len(vals):
                store.put(vals.tolist(), R)
                return R
            for i, x in zip(missing, R):
                found[i] = x
        out = found[0][None] if len(found) == 1 else np.stack(found)
        store.put(vals.tolist(), out)
        return out

    # -- Cartesian transform and convention II ---------------------------------------------------

    def _to_cartesian(self, D: np.ndarray, order: int, wanted: tuple[tuple[int, ...], ...]) -> np.ndarray:
        """∂_x1…∂_xo = Σ_a lattice[a1, x1]…lattice[ao, xo] ∂_(a1)…∂_(ao): one real GEMM per order on
        D [ncols, nk, X] (every reduced combo, combos leading, so that each is one long row) into the
        Cartesian `wanted` (in place when they are all of them)."""
        whole = wanted == all_combos(self.dim, order)
        out = D if whole else np.empty((len(wanted),) + D.shape[1:], complex)
        out[0] = D[0]
        start, put = 1, 1
        for o in range(1, order + 1):
            T = cartesian_matrix(self.lattice.tobytes(), self.dim, o, tuple(c for c in wanted if len(c) == o))
            n, m = T.shape
            blk = D[start : start + m].reshape(m, -1).view(float)
            out[put : put + n] = (T @ blk).view(complex).reshape((n,) + D.shape[1:])
            start, put = start + m, put + n
        return out

    def _add_leibniz(self, D: np.ndarray, order: int, wanted: tuple[tuple[int, ...], ...], cols: slice) -> None:
        """Convention II, in place on the Cartesian columns D [ncols, …, X] (`wanted`) of the hopping columns
        `cols`: ∂^c H^I → Σ_{c' ⊆ c} C(c, c') (iΔ)^{c − c'} ∂^{c'} H^I (nothing for convention I)."""
        if self.delta is None:
            return
        tmp = np.empty_like(D[0])
        for target, source, coef in self._leibniz(wanted):  # in place, axis by axis
            D[target] += np.multiply(coef[cols], D[source], out=tmp)

    def _leibniz(self, wanted: tuple[tuple[int, ...], ...]):
        """The in-place steps [(target column, source column, iΔ_a on i ≤ j)] that turn the columns
        ∂^c H^I into Σ_{c' ⊆ c} C(c, c') (iΔ)^{c − c'} ∂^{c'} H^I (cached on the instance: a method-level
        cache would keep every series and its box alive)."""
        cache = self.__dict__.setdefault("_leibniz_cache", {})
        if wanted not in cache:
            cache[wanted] = self._leibniz_steps(wanted)
        return cache[wanted]

    def _leibniz_steps(self, wanted: tuple[tuple[int, ...], ...]):
        """Leibniz's sum factorizes into one binomial transform per axis a, B_p = Σ_j C(p, j) x^{p−j} D_j
        along the exponent p of a (x = iΔ_a, the other exponents fixed), done in place by repeated
        synthetic division: for r = 1 … P, for p = P … r: D_p += x D_{p−1}. Order 3 along (x, y): 20
        steps instead of the 25 terms of the direct sum; along x, y, z: 45 instead of 64. `wanted` is
        downward closed (`computed_combos`): each chain of exponents runs from 0 to its top."""
        d = self.dim
        index = {exponents(c, d): i for i, c in enumerate(wanted)}
        steps = []
        for a in sorted({a for c in wanted for a in c}):
            coef = 1j * self.delta[a][self.iu, self.ju]
            chains = {}  # the other exponents -> column of each exponent p of axis a
            for ex, i in index.items():
                chains.setdefault(ex[:a] + ex[a + 1:], {})[ex[a]] = i
            for chain in chains.values():
                top = max(chain)
                steps += [(chain[p], chain[p - 1], coef) for r in range(1, top + 1) for p in range(top, r - 1, -1)]
        return steps


class _Slots:
    """The sums of the last few κ_0 values (`FourierSeries._first_level`) or (κ_0, κ_1) prefixes
    (`FourierSeries._kept_summands`) in one buffer allocated once: arrays kept alive from chunk to chunk would
    be fresh memory for every chunk (page faults that cost more than the saved level). `get` returns a view,
    valid until the next `put`."""

    def __init__(self, shape: tuple[int, ...], budget: int):
        nbytes = 16 * int(np.prod(shape))
        self.buffer = np.empty((max(0, min(FIRST_LEVEL_SLOTS, budget // nbytes)),) + shape, complex)
        self.slot: dict = {}  # κ key (`_key`) -> slot, least recently put first

    @staticmethod
    def _key(value):
        """κ (or a tuple of κ) on the KAPPA_TOL scale: one grid point's κ differs by rounding from chunk to chunk
        (κ = k·a/2π of a Cartesian k; 0.66 and 0.6599999999999999), and exact keys would miss."""
        if isinstance(value, tuple):
            return tuple(round(v / KAPPA_TOL) for v in value)
        return round(value / KAPPA_TOL)

    def get(self, value) -> np.ndarray | None:
        i = self.slot.get(self._key(value))
        return None if i is None else self.buffer[i]

    def put(self, values: list[float], sums: np.ndarray) -> None:
        """Keep the sums [V, …] of `values` (those already kept are refreshed, not copied)."""
        n = len(self.buffer)
        for v, x in zip(values[-n:] if n else (), sums[-n:] if n else ()):
            v = self._key(v)
            if v in self.slot:
                self.slot[v] = self.slot.pop(v)
                continue
            self.buffer[self._claim(v)] = x

    def reserve(self, value) -> np.ndarray | None:
        """The slot [1, …] that keeps `value` from now on, to be written in place (`put` then finds it kept),
        or None when nothing may be kept. Evicts the least recently put value: no view of it may be in use."""
        if not len(self.buffer):
            return None
        i = self._claim(self._key(value))
        return self.buffer[i : i + 1]

    def _claim(self, key) -> int:
        """A slot for `key` (a free one, else the least recently put one's), registered as the most recent."""
        self.slot.pop(key, None)
        free = set(range(len(self.buffer))) - set(self.slot.values())
        i = free.pop() if free else self.slot.pop(next(iter(self.slot)))
        self.slot[key] = i
        return i


def _distinct(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(distinct values, index of each entry's value); values closer than KAPPA_TOL are merged."""
    order = np.argsort(x, kind="stable")
    xs = x[order]
    new = np.concatenate([[True], np.diff(xs) > KAPPA_TOL])
    ids = np.cumsum(new) - 1
    inv = np.empty(len(x), np.int64)
    inv[order] = ids
    return xs[new], inv
