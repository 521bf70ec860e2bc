"""Matrix elements of H's derivatives in the eigenbasis of a k-chunk, <n|∂^c H|p>.

The rotation primitives (two batched GEMMs for all derivative columns together, the complex product as one
real GEMM, the diagonal alone) and `EigenbasisElements`, the part of `bands.Bands` that holds the rotated
derivative block: the whole rotation (`derivative_rows`, lazily `v`, `w`, `u`), the velocity rows alone, the
rows of a Fermi window, the second derivatives along one axis and the diagonals — each computed on first use,
only as much as asked for, and cached per chunk (shared by its regrouped copies, sliced by its subsets).
"""

from __future__ import annotations

import functools

import numpy as np

from .models.derivative_combos import combos as symmetric_combos  # the one definition: the derivative block's column order

__all__ = ["EigenbasisElements", "complex_matmul", "real_right_factor", "rotate_block", "rotated_diagonal",
           "symmetric_combos", "symmetric_index", "window_holding"]


@functools.lru_cache(maxsize=None)
def symmetric_index(d: int, order: int) -> np.ndarray:
    """[d]*order array: position of sorted(index tuple) in symmetric_combos(d, order)."""
    pos = {c: i for i, c in enumerate(symmetric_combos(d, order))}
    out = np.empty((d,) * order, int)
    for idx in np.ndindex(*out.shape):
        out[idx] = pos[tuple(sorted(idx))]
    return out


def real_right_factor(y: np.ndarray) -> np.ndarray:
    """y [..., j, p] complex as the real matrix [..., 2j, 2p] whose rows (j, re/im) are (y_j, i·y_j):
    x.view(float) @ it = (x @ y).view(float) for any complex x [..., m, j] (`complex_matmul`)."""
    out = np.empty(y.shape[:-1] + (2, y.shape[-1]), complex)
    out[..., 0, :] = y
    np.multiply(y, 1j, out=out[..., 1, :])
    return out.view(float).reshape(y.shape[:-2] + (2 * y.shape[-2], 2 * y.shape[-1]))


def complex_matmul(x: np.ndarray, right: np.ndarray) -> np.ndarray:
    """Batched complex x @ y ([..., m, j] @ [..., j, p]) as one real matmul with y's real right factor
    (`real_right_factor`, built once per chunk). For the tall, thin products of the eigenbasis
    rotation ([N·ncols, N] @ [N, N] per k-point) this is ~1.5× faster than OpenBLAS's complex kernel."""
    return (x.view(float) @ right).view(complex)


def rotate_block(block: np.ndarray, vecs: np.ndarray, right: np.ndarray | None, bands: slice = slice(None),
                  columns: slice = slice(None)) -> np.ndarray:
    """<n|op_c|p> for every column of a block [nk, N, ncols, N], as rows [nk, n, ncols, p] for the
    bands n in `bands` and p in `columns` (all by default); `right`: the vectors' `real_right_factor`, or
    None for a complex GEMM (cheaper than building that factor for a few rows).

    Two batched matmuls for all operators together (V_n† · [op_1 … op_c], then the stacked rows · V_p)
    instead of two per operator: far fewer, larger BLAS calls."""
    nk, N, ncols, _ = block.shape
    left = vecs[:, :, bands].conj().swapaxes(-1, -2) @ block.reshape(nk, N, ncols * N)
    lo, hi, _ = columns.indices(N)
    if right is None:
        rows = left.reshape(nk, -1, N) @ vecs[:, :, lo:hi]
    else:  # the real factor's columns are (p, re/im) pairs: a slice of p is a slice of them
        rows = complex_matmul(left.reshape(nk, -1, N), right if (lo, hi) == (0, N) else right[..., 2 * lo: 2 * hi])
    return rows.reshape(nk, left.shape[1], ncols, max(hi - lo, 0))


def window_holding(cache: dict, bands: slice):
    """(the position of `bands` in it, its value) for the first window (lo, hi) of a band-window cache that
    holds the bands `bands`, else None."""
    for (lo, hi), value in cache.items():
        if lo <= bands.start and bands.stop <= hi:
            return slice(bands.start - lo, bands.stop - lo), value
    return None


def rotated_diagonal(block: np.ndarray, vecs: np.ndarray, bands: slice = slice(None)) -> np.ndarray:
    """Re <n|op_c|n> for every column of a block [nk, N, ncols, N] and the bands n in `bands`, as
    [nk, ncols, n]: one GEMM (V_n† · [op_1 … op_c]) and a diagonal, half of `rotate_block`'s work."""
    nk, N, ncols, _ = block.shape
    V = vecs[:, :, bands]
    left = (V.conj().swapaxes(-1, -2) @ block.reshape(nk, N, ncols * N)).reshape(nk, -1, ncols, N)
    return np.einsum("kncj,kjn->kcn", left, V).real


class EigenbasisElements:
    """The eigenbasis matrix elements of `bands.Bands` (a mixin: it uses the chunk's `vectors`, its derivative
    block `_block` of order `_order` along `nderiv` axes, `require` and `_complete`)."""

    def __getattr__(self, name: str):
        # only reached when normal lookup fails: the lazily rotated derivatives of H
        if name in ("v", "w", "u") and "_order" in self.__dict__:
            d, order = self.nderiv, self.__dict__["_order"]
            n1, n2 = d, len(symmetric_combos(d, 2))
            if name == "v":  # the velocity rows alone unless everything is rotated already
                value = np.ascontiguousarray(self.first_order_rows().transpose(0, 2, 1, 3))
            elif name == "w":
                rows = self.derivative_rows()
                value = rows[:, :, n1 : n1 + n2].transpose(0, 2, 1, 3)[:, symmetric_index(d, 2)] if order >= 2 else None
            else:
                rows = self.derivative_rows()
                value = rows[:, :, n1 + n2 :].transpose(0, 2, 1, 3)[:, symmetric_index(d, 3)] if order >= 3 else None
            setattr(self, name, value)
            return value
        raise AttributeError(name)

    def derivative_rows(self) -> np.ndarray:
        """<n|∂^c H|p> for every distinct derivative combo c of orders 1, 2, … (the columns of
        `derivative_block` after H), as rows [nk, N(n), ncombo, N(p)]: the layout the eigenbasis
        rotation produces, one matrix row per (k, n) (cached)."""
        rows = self._eigenbasis.get("rotated")
        if rows is None:
            self._complete("derivative_rows")
            block, first, d = self.__dict__.get("_block"), self._eigenbasis.get("first"), self.nderiv
            if block is not None and first is not None:  # the velocity rows are rotated already
                rest = ([rotate_block(block[:, :, 1 + d :], self.vectors, self._right)]
                        if block.shape[2] > 1 + d else [])
                rows = np.concatenate([first, *rest], axis=2)
            elif block is not None:
                rows = rotate_block(block[:, :, 1:], self.vectors, self._right)
            else:  # Bands built from given v, w, u
                tensors = [x for x in (self.v, self.w, self.u) if x is not None]
                rows = np.stack([x[(slice(None),) + c] for o, x in enumerate(tensors, 1)
                                 for c in symmetric_combos(self.dim, o)], axis=2)
            self._eigenbasis["rotated"] = rows
        return rows

    @property
    def _eigenbasis(self) -> dict:
        """The derivative block rotated into the eigenbasis, whole ("rotated") or in parts ("first",
        "window"): shared by the regrouped copies of this chunk, sliced by `subset`."""
        return self.__dict__.setdefault("_eigenbasis_cache", {})

    @property
    def _right(self) -> np.ndarray:
        """The eigenvectors' `real_right_factor` (cached: every rotation of the chunk uses it)."""
        right = self._eigenbasis.get("right")
        if right is None:
            right = self._eigenbasis["right"] = real_right_factor(self.vectors)
        return right

    def first_order_rows(self) -> np.ndarray:
        """<n|∂_a H|p> as rows [nk, N(n), d, N(p)] (cached): the first columns of `derivative_rows`,
        rotated alone when the rest is not needed."""
        rows = self._eigenbasis.get("first")
        if rows is None:
            if "rotated" in self._eigenbasis or "_block" not in self.__dict__:
                rows = self.derivative_rows()[:, :, : self.nderiv]
            else:
                rows = rotate_block(self.__dict__["_block"][:, :, 1 : 1 + self.nderiv], self.vectors, self._right)
            self._eigenbasis["first"] = rows
        return rows

    def first_order_window(self, bands: slice) -> np.ndarray:
        """<n|∂_a H|p> for the bands n in `bands` only, rows [nk, n, d, N(p)] (cached): the window's rows
        of `first_order_rows`, rotated alone (nw/N of the work) when those are not computed."""
        rows = self._eigenbasis.get("first")
        if rows is not None or "rotated" in self._eigenbasis or "_block" not in self.__dict__:
            return self.first_order_rows()[:, bands]
        cache = self._eigenbasis.setdefault("first_window", {})
        key = (bands.start, bands.stop)
        if key not in cache:
            block = self.__dict__["_block"]
            right = self._eigenbasis.get("right")  # built only if another rotation needed it already
            cache[key] = (rotate_block(block[:, :, 1 : 1 + self.nderiv], self.vectors, right, bands),)
        return cache[key][0]

    def second_derivative_along(self, c: int, rows: slice = slice(None), columns: slice = slice(None)) -> np.ndarray:
        """<n|∂_a∂_c H|m> for every axis a, n in `rows` and m in `columns` (all by default), [nk, d, n, m]
        (`w[:, :, c]`), cached: rotated alone (d of the second-order columns, and only the requested band
        block) unless the whole block is rotated already — a current's ∂_a v^c needs no more."""
        N = self.nbands
        rows, columns = slice(*rows.indices(N)[:2]), slice(*columns.indices(N)[:2])
        key = ("second_along", c, rows.start, rows.stop, columns.start, columns.stop)
        for have, value in self._eigenbasis.items():  # this block, or one that holds it
            if (isinstance(have, tuple) and have[:2] == key[:2] and have[2] <= rows.start and rows.stop <= have[3]
                    and have[4] <= columns.start and columns.stop <= have[5]):
                r0, c0 = have[2], have[4]
                return value[:, :, rows.start - r0: rows.stop - r0, columns.start - c0: columns.stop - c0]
        self.require(2)
        if self.__dict__.get("_along", c) != c:
            self._complete(f"second_derivative_along({c})")
        if "rotated" in self._eigenbasis or "_block" not in self.__dict__ or "w" in self.__dict__:
            out = self.w[:, :, c, rows, columns]
        else:
            d, pos = self.nderiv, symmetric_index(self.nderiv, 2)
            cols = np.array([1 + d + int(pos[a, c]) for a in range(d)])
            # the block's columns lo … hi − 1 as a view (the d columns ∂_a∂_c H span at most d + 1 of them):
            # rotating a column too many costs less than copying the d columns out of the block
            lo, hi = cols.min(), cols.max() + 1
            out = rotate_block(self.__dict__["_block"][:, :, lo:hi], self.vectors, self._right, rows, columns)
            out = (out if hi - lo == d else out[:, :, cols - lo]).transpose(0, 2, 1, 3)
        self._eigenbasis[key] = out
        return out

    def window_elements(self, bands: slice) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
        """The eigenbasis matrix elements that Fermi-surface sums over the bands `bands` use (cached):
        v [nk, N(n), d, N(p)] = <n|∂_a H|p> for every n (the covariant derivatives of v sum over every
        intermediate state); <n|∂^c H|p> for the second-order combos c and n in `bands` only,
        [nk, nw, ncombo2, N]; Re <n|∂^c H|n> for the third-order combos, [nk, ncombo3, nw] (None below
        order 3). From the derivative block: two GEMMs per first-order column, nw/N of that per
        second-order column and about half of it per third-order column (a diagonal only) — what the
        full rotation `derivative_rows` costs for every column."""
        cache = self._eigenbasis.setdefault("window", {})
        key = (bands.start, bands.stop)
        held = window_holding(cache, bands)  # a wider window computed before (e.g. its parent chunk's)
        if held is not None:
            sel, (v, second, third) = held
            return v, second[:, sel], None if third is None else third[..., sel]
        self._complete("window_elements")
        d, order = self.nderiv, self.__dict__.get("_order")
        self.require(2)
        if order is None or "rotated" in self._eigenbasis:  # built from given v, w, u, or already rotated
            rows = self.derivative_rows()
            n2 = len(symmetric_combos(d, 2))
            third = rows[:, bands, d + n2 :, bands]
            cache[key] = (rows[:, :, :d], rows[:, bands, d : d + n2],
                          np.diagonal(third, axis1=1, axis2=3).real if third.shape[2] else None)
            return cache[key]
        n2 = len(symmetric_combos(d, 2))
        block, V = self.__dict__["_block"], self.vectors
        second = rotate_block(block[:, :, 1 + d : 1 + d + n2], V, self._right, bands)
        third = rotated_diagonal(block[:, :, 1 + d + n2 :], V, bands) if order >= 3 else None
        cache[key] = (self.first_order_rows(), second, third)
        return cache[key]

    def diagonal(self, order: int, bands: slice = slice(None)) -> np.ndarray:
        """Re <n|∂^order H|n> as distinct index combos [nk, ncombo, n] (see `symmetric_combos`) for the bands n in
        `bands` (all by default), without expanding the full symmetric tensor."""
        self.require(order)
        if order > 1:
            self._complete(f"diagonal({order})")
        d = self.nderiv
        if "_order" in self.__dict__:
            n1, n2 = d, len(symmetric_combos(d, 2))
            start, stop = ((0, n1), (n1, n1 + n2), (n1 + n2, n1 + n2 + len(symmetric_combos(d, 3))))[order - 1]
            rows = self._eigenbasis.get("rotated")
            if rows is None and order == 1:
                rows = self._eigenbasis.get("first")
            if rows is not None:
                return np.diagonal(rows[:, bands, start:stop, bands], axis1=1, axis2=3).real
            # the diagonal alone: one GEMM per column, where the full rotation takes two for every column
            return rotated_diagonal(self.__dict__["_block"][:, :, 1 + start : 1 + stop], self.vectors, bands)
        full = (self.v, self.w, self.u)[order - 1]
        combos = symmetric_combos(d, order)
        return np.stack([np.diagonal(full[(slice(None),) + c], axis1=-2, axis2=-1).real[..., bands] for c in combos],
                        axis=1)
