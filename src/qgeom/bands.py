"""Bands: the eigensystem of one k-chunk (its eigenbasis matrix elements: `qgeom.eigenbasis`).

Degeneracy handling lives here and only here: `labels`/`same` define the degenerate subspaces
D(n) (|ε_n − ε_m| < degen_tol, chained along the sorted spectrum), and `inv_de` is the masked
inverse energy difference that every "interband" sum uses.

Near-degenerate pairs (docs/near_degeneracy.md): a response formula built on the premise that
the broadening Γ is small against every gap |ε_n − ε_m| stops being valid for pairs closer than
its resolution scale (`resolved_tol`). Such pairs are grouped into one subspace (`regrouped`) and
summed with the same U(N)-covariant subspace formulas as exact degeneracies: the Γ ≫ |Δ| limit of
the pair, the limit the exact NESS reaches (a pair closer than Γ is one broadened level). The
part of a result that this regrouping changes is reported by each response as a diagnostic.

Exactly degenerate subspaces get a canonical gauge (`qgeom.eigensystem.canonical_gauge`) right after
the eigensolve (`qgeom.eigensystem.eigh`), so that per-band quantities built from diagonal matrix
elements do not depend on the eigensolver's choice of states.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ._validation import QgeomInputError, checked_model, k_points
from .models.base import Model
from .models.derivative_combos import block_combos
from .eigenbasis import EigenbasisElements, window_holding
from .eigensystem import canonical_gauge, eigh
from .occupation import FERMI_WINDOW
from .options import DEFAULT_DEGEN_TOL  # noqa: F401  (defined once in options.py)


def resolved_tol(degen_tol: float, resolution: float | None) -> float:
    """The grouping tolerance of a response whose formula resolves pair splittings down to
    `resolution` (energy; None: only the exact-degeneracy tolerance): pairs closer than the larger
    of the two are one subspace."""
    if resolution is None:
        return float(degen_tol)
    res = float(resolution)
    if not (np.isfinite(res) and res >= 0):
        raise QgeomInputError(f"resolution must be a non-negative finite energy (e.g. the temperature), got {resolution!r}.")
    return max(float(degen_tol), res)


def derivative_block(model: Model, k: np.ndarray, order: int, axes: tuple[int, ...] | None = None,
                     along: int | None = None) -> np.ndarray:
    """H and its distinct derivative combos up to `order` as one block [nk, N, ncols, N]
    (block[:, i, c, j] = (∂^combo_c H)_ij; col 0 is H, then the combos of `symmetric_combos` for
    orders 1, 2, …; with `axes` (sorted Cartesian axes) only the combos along them, in the same
    order, `derivative_combos.block_combos`). Models may build it in one pass (`_derivative_block`, e.g. one
    Fourier phase for every order); otherwise the full tensors are asked for and the combos kept.
    `along`: a fused block may leave the combos of order ≥ 2 without that axis NaN (`Bands.from_model`)."""
    kp = k_points(k, model.dim)
    fused = (model._derivative_block(kp, order, axes) if along is None
             else model._derivative_block(kp, order, axes, along))
    if fused is not None:
        return fused
    combos = block_combos(model.dim, order, axes)
    cols = [model.hamiltonian(k, 0)[:, None]]
    for o in range(1, order + 1):
        full = model.hamiltonian(k, o)
        cols.append(np.stack([full[(slice(None),) + c] for c in combos if len(c) == o], axis=1))
    return np.ascontiguousarray(np.concatenate(cols, axis=1).transpose(0, 2, 1, 3))


def _psum(x: np.ndarray) -> np.ndarray:
    """Σ over the last (band) axis; slice adds beat numpy's reduction machinery for few bands."""
    n = x.shape[-1]
    if n > 8:
        return x.sum(-1)
    acc = x[..., 0].copy()
    for p in range(1, n):
        acc += x[..., p]
    return acc


@dataclass
class Bands(EigenbasisElements):
    """Energies, eigenvectors and matrix elements for a chunk of nk k-points.

    v[k, a, n, m] = <n|∂_a H|m>, w[k, a, b, n, m] = <n|∂_a∂_b H|m>, u[k, a, b, c, n, m] = <n|∂_a∂_b∂_c H|m>
    (w, u are None unless requested through `order`).
    """

    k: np.ndarray
    energies: np.ndarray
    vectors: np.ndarray
    v: np.ndarray
    w: np.ndarray | None
    u: np.ndarray | None
    degen_tol: float
    labels: np.ndarray = field(init=False)
    same: np.ndarray = field(init=False)
    inv_de: np.ndarray = field(init=False)
    _cache: dict = field(init=False, default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        e = self.energies
        jumps = np.diff(e, axis=1) > self.degen_tol
        self.labels = np.concatenate([np.zeros((len(e), 1), int), np.cumsum(jumps, axis=1)], axis=1)
        self.same = self.labels[:, :, None] == self.labels[:, None, :]
        de = e[:, :, None] - e[:, None, :]
        np.copyto(de, np.inf, where=self.same)  # 1/inf = 0 inside a subspace (and on the diagonal); 10× faster
        self.inv_de = np.divide(1.0, de, out=de)  # than masking the quotient (no division by zero)

    @property
    def exact_same(self) -> np.ndarray:
        """[nk, N, N]: the pairs whose per-band quantities are averaged together (gauge
        covariance): `same`, except that `regrouped` keeps apart grouped states that do not couple
        (computed on first use: responses that average no per-band quantity never need it)."""
        mine = self.__dict__
        if "_exact_same" not in mine:
            lazy = mine.pop("_exact_same_from", None)
            if lazy is None:
                return self.same
            mine["_exact_same"] = lazy(slice(0, self.nbands))
        return mine["_exact_same"]

    def exact_same_within(self, bands: slice) -> np.ndarray:
        """`exact_same` between the bands `bands` only, [nk, n, n] (cached): where it is still to be computed,
        the coupling of grouped pairs is tested between those bands alone, from the window's rotated rows
        when a response has them (`first_order_window`) — a Fermi-surface sum over the window needs no
        more, and never rotates or couples the bands outside it."""
        bands = slice(*bands.indices(self.nbands)[:2])
        if (bands.start, bands.stop) == (0, self.nbands):
            return self.exact_same
        lazy = self.__dict__.get("_exact_same_from")
        if lazy is None:
            return self.exact_same[:, bands, bands]
        key = ("_exact_same_within", bands.start, bands.stop)
        if key not in self._cache:
            self._cache[key] = lazy(bands)
        return self._cache[key]

    def regrouped(self, tol: float) -> "Bands":
        """The same eigensystem with pairs |ε_n − ε_m| < tol grouped (`labels`, `same`): their
        interband denominators `inv_de` are dropped and their per-band quantities averaged
        (`exact_same`) where the two states couple, so that states of exactly decoupled orbital
        blocks are unaffected. No new diagonalization; the
        rotated derivatives are shared. Returns self when tol equals this chunk's tolerance."""
        if tol == self.degen_tol:
            return self
        out = Bands(self.k, self.energies, self.vectors, None, None, None, degen_tol=float(tol))
        mine = self.__dict__
        same = out.same  # (not `out` itself: no reference cycle)
        out.__dict__["_exact_same_from"] = lambda bands: self._coupled_within(same[:, bands, bands], tol, bands)
        for name in ("_block", "_order", "_axes", "_along"):
            if name in mine:
                out.__dict__[name] = mine[name]
        # the same eigensystem: rotations computed later by either copy serve both (the DC and optical
        # near-degenerate diagnostics evaluate both groupings of one chunk)
        out.__dict__["_eigenbasis_cache"] = self._eigenbasis
        for name in ("v", "w", "u"):
            if name in mine:
                out.__dict__[name] = mine[name]
            else:  # lazy in self: lazy in the copy too (rotated from the shared block)
                del out.__dict__[name]
        return out

    def _coupled_within(self, same: np.ndarray, tol: float, bands: slice) -> np.ndarray:
        """`exact_same_within(bands)` of `regrouped(tol)` (whose `same` between those bands is `same`): average
        over a grouped pair only where the two states couple (a velocity matrix element): bands of exactly
        decoupled orbital blocks stay separate, as in the block-split sum (every ∂H vanishes between them).
        Tested only at the k-points where the grouping changes between those bands: elsewhere the subspaces
        are this chunk's, and the rows of the other k-points stay unrotated (a response that needs only the
        Fermi window's rows rotates only those)."""
        exact = self.exact_same_within(bands)
        changed = np.flatnonzero(self.regrouping_changes(tol, bands))
        if len(changed):
            exact = exact.copy()
            exact[changed] |= same[changed] & self._couple_at(changed, same[changed] & ~exact[changed], bands)
        return exact

    def _couple_at(self, index: np.ndarray, pairs: np.ndarray, bands: slice) -> np.ndarray:
        """[k, n, n] bool at the k-points `index`: whether max_a |<n|∂_a H|m>| exceeds 1e-10 of the largest
        ∂H element there, for the (n, m) of `pairs` [k, n, n] between the bands `bands` (elsewhere False).
        From rotated rows that hold these bands when they exist (the window's of `first_order_window`, or
        all); else each pair's elements alone, v_nm = V_n† ∂H V_m (k·pairs·d·N² products instead of
        rotating every row: a response that needs only the Fermi window's rows never rotates the others)."""
        eig = self._eigenbasis
        rows = None
        if "first" in eig or "rotated" in eig or "_block" not in self.__dict__:
            rows = self.first_order_rows()[index, bands]
        else:
            held = window_holding(eig.get("first_window", {}), bands)
            if held is not None:
                sel, (window,) = held
                rows = window[index, sel]
        if rows is not None:  # [k, n, a, p]: the largest element over the rows' every column sets the scale
            size = np.abs(rows).max(axis=2)
            return pairs & (size[..., bands] > 1e-10 * size.max(axis=(1, 2), keepdims=True))
        K, N, nd = len(index), self.nbands, self.nderiv
        kk, nn, mm = np.nonzero(np.triu(pairs | pairs.swapaxes(1, 2), 1))  # n, m between `bands`
        out = np.zeros(pairs.shape, bool)
        if len(kk) == 0:
            return out
        # the pairs of each k-point side by side, padded to the busiest k-point's count
        starts = np.searchsorted(kk, np.arange(K))
        slot = np.arange(len(kk)) - starts[kk]
        width = int(slot.max()) + 1
        V = self.vectors[index]
        Vn, Vm = (np.zeros((K, N, width), complex) for _ in range(2))
        Vn[kk, :, slot], Vm[kk, :, slot] = V[kk, :, bands.start + nn], V[kk, :, bands.start + mm]
        dH = self.__dict__["_block"][index, :, 1 : 1 + nd]  # [k, i, a, j]
        left = (Vn.conj().swapaxes(1, 2) @ dH.reshape(K, N, nd * N)).reshape(K, width, nd, N)
        v = np.abs(np.einsum("kpaj,kjp->kpa", left, Vm)).max(axis=2)  # [k, slot]
        scale = np.abs(dH).max(axis=(1, 2, 3))
        hit = v[kk, slot] > 1e-10 * scale[kk]
        out[kk[hit], nn[hit], mm[hit]] = out[kk[hit], mm[hit], nn[hit]] = True
        return out & pairs

    def subset(self, index: np.ndarray) -> "Bands":
        """The same eigensystem at the k-points `index` of this chunk only (no new diagonalization:
        energies, vectors, the derivative block and its rotation are sliced)."""
        out = Bands(self.k[index], self.energies[index], self.vectors[index], None, None, None,
                    degen_tol=self.degen_tol)
        mine = self.__dict__
        if "_exact_same" in mine or "_exact_same_from" in mine:
            out.__dict__["_exact_same_from"] = lambda bands: self.exact_same_within(bands)[index]
        shared = self._eigenbasis
        if "rotated" not in shared and "_block" in mine:  # the block only if not yet rotated
            out.__dict__["_block"] = mine["_block"][index]
        for name in ("_order", "_axes", "_along"):
            if name in mine:
                out.__dict__[name] = mine[name]
        out.__dict__["_eigenbasis_cache"] = {
            key: ({w: tuple(None if x is None else x[index] for x in v) for w, v in value.items()}
                  if key in ("window", "first_window") else value[index]) for key, value in shared.items()}
        for name in ("v", "w", "u"):
            value = mine.get(name)
            if value is not None:
                out.__dict__[name] = value[index]
            elif "_order" in mine:  # lazy: from the sliced rotation (or block) on first access
                del out.__dict__[name]
        return out

    def regrouping_changes(self, tol: float, bands: slice = slice(None)) -> np.ndarray:
        """[nk] bool: the k-points where `regrouped(tol)` differs from this chunk (an adjacent pair
        split by more than degen_tol but less than tol; between the bands `bands`, all by default);
        elsewhere its subspaces are the same."""
        return self._joined_gaps(tol, bands)[1].any(axis=1)

    def _joined_gaps(self, tol: float, bands: slice = slice(None)) -> tuple[np.ndarray, np.ndarray]:
        """(the adjacent gaps between the bands `bands` [nk, n − 1], which of them `regrouped(tol)` closes:
        split by more than degen_tol but less than tol)."""
        gaps = np.diff(self.energies[:, bands], axis=1)
        return gaps, (gaps > self.degen_tol) & ~(gaps > tol)

    def regrouping_touches(self, tol: float) -> np.ndarray:
        """[nk, N] bool: the states whose subspace `regrouped(tol)` changes (their rows of `same` differ) —
        those in a run of the coarser grouping that a closed gap joins; from the energies alone (no
        regrouped copy)."""
        gaps, joins = self._joined_gaps(tol)
        nk, N = self.energies.shape
        coarse = np.zeros((nk, N), int)  # labels of the coarser grouping
        np.cumsum(gaps > tol, axis=1, out=coarse[:, 1:])
        kk, jj = np.nonzero(joins)  # bands jj, jj + 1: one coarse run
        joined = np.zeros((nk, N), bool)  # per coarse label
        joined[kk, coarse[kk, jj]] = True
        return np.take_along_axis(joined, coarse, axis=1)

    @classmethod
    def from_model(
        cls, model: Model, k, *, order: int = 1, degen_tol: float = DEFAULT_DEGEN_TOL,
        axes: tuple[int, ...] | None = None, along: int | None = None,
    ) -> "Bands":
        """Diagonalize H(k) once and rotate ∂H, … up to `order` (1–3) into the eigenbasis.

        All derivative combos (distinct index combos only) are rotated together in one batched
        contraction on first access of `v`, `w`, `u`, `diagonal` or `derivative_rows` (closed-form
        two-band integrands never need them). `axes` (sorted Cartesian axes; None: all): only the
        derivatives along these are computed, and v, w, u, `diagonal` and `derivative_rows` are
        indexed by position in `axes` (`nderiv` of them). `along` (an axis of `axes`, order 2): only the
        second derivatives ∂_a∂_along H are computed — what a current along that axis needs
        (`second_derivative_along`); w, `derivative_rows` and the second-order window rows are then not
        available."""
        checked_model(model, "Bands.from_model()")
        if np.ndim(k) >= 1 and len(k) == 0:  # no k-points: eigh and the gauge fixing would fail on an empty batch
            raise QgeomInputError(f"Bands.from_model() needs at least one k-point, got k of shape {np.shape(k)}; "
                                  f"pass k as [nk, {model.dim}] with nk ≥ 1.")
        if order not in (1, 2, 3):
            raise QgeomInputError(f"Bands order must be 1, 2 or 3, got {order!r}.")
        if not degen_tol > 0:
            raise QgeomInputError(f"degen_tol must be positive, got {degen_tol!r}.")
        axes = None if axes is None or tuple(axes) == tuple(range(model.dim)) else tuple(sorted(axes))
        block = derivative_block(model, k, order, axes, along)
        energies, vecs = eigh(block[:, :, 0])
        nd = model.dim if axes is None else len(axes)
        vecs = canonical_gauge(energies, vecs, block[:, :, 1 : 1 + nd])
        b = cls(np.asarray(k, float).reshape(len(energies), -1), energies, vecs, None, None, None, degen_tol=float(degen_tol))
        b._block, b._order, b._axes = block, order, axes
        if along is not None:
            b._along = int(along)
        del b.v, b.w, b.u  # rotated on first access through __getattr__
        return b

    def bands_within(self, emin: float, emax: float) -> slice:
        """The band indices [lo, hi) of every state with emin < ε < emax at some k-point of the chunk,
        widened to whole subspaces (`labels`: a subspace's per-band average needs all its states);
        slice(0, 0) when there is none."""
        inside = np.flatnonzero(((self.energies > emin) & (self.energies < emax)).any(axis=0))
        if len(inside) == 0:
            return slice(0, 0)
        lo, hi = int(inside[0]), int(inside[-1]) + 1
        # [N − 1]: band n + 1 shares band n's subspace at some k-point
        joined = (self.labels[:, 1:] == self.labels[:, :-1]).any(axis=0)
        while lo > 0 and joined[lo - 1]:
            lo -= 1
        while hi < self.nbands and joined[hi - 1]:
            hi += 1
        return slice(lo, hi)

    def fermi_surface_bands(self, mu, temperature: float) -> slice:
        """`bands_within` the μ range widened by FERMI_WINDOW·kT: the bands that any Fermi-surface sum
        (f0^(p), p ≥ 1) at these μ needs; every other band carries less than e^−40 of its peak."""
        mu = np.asarray(mu, float)
        reach = FERMI_WINDOW * temperature
        return self.bands_within(mu.min() - reach, mu.max() + reach)

    @property
    def nk(self) -> int:
        return self.energies.shape[0]

    @property
    def nbands(self) -> int:
        return self.energies.shape[1]

    @property
    def dim(self) -> int:
        return self.k.shape[1]

    @property
    def nderiv(self) -> int:
        """The number of Cartesian axes differentiated (`from_model(axes=...)`; default: dim)."""
        axes = self.__dict__.get("_axes")
        return self.dim if axes is None else len(axes)

    def block_first(self, max_spread: float) -> np.ndarray:
        """[nk, N]: per band the first band of its degenerate subspace D(n) (contiguous in the
        ascending spectrum) when the subspace's energies span at most `max_spread`, else the band
        itself — for sums that may treat a tight subspace as one energy (optics shares one kernel)."""
        idx = np.arange(self.nbands)
        start = np.ones(self.labels.shape, bool)
        start[:, 1:] = self.labels[:, 1:] != self.labels[:, :-1]
        end = np.roll(start, -1, axis=1)
        first = np.maximum.accumulate(np.where(start, idx, 0), axis=1)
        last = np.minimum.accumulate(np.where(end, idx, self.nbands - 1)[:, ::-1], axis=1)[:, ::-1]
        e = self.energies
        loose = np.take_along_axis(e, last, 1) - np.take_along_axis(e, first, 1) > max_spread
        return np.where(loose, idx, first)

    def subspace_average(self, x: np.ndarray) -> np.ndarray:
        """Average a per-band array [..., nk, ..., N] (band axis last, k axis first) over each
        degenerate subspace: the gauge-invariant way to assign a subspace trace to its bands.
        Returns `x` itself (not a copy) when no state of the chunk is degenerate."""
        degenerate = self._cache.get("_degenerate_k")
        if degenerate is None:
            degenerate = self._cache["_degenerate_k"] = np.flatnonzero(self.exact_same.sum(-1).max(-1) > 1)
        if len(degenerate) == 0:  # no degenerate pair in this chunk: the average is the identity
            return x
        if len(degenerate) == self.nk:  # every k has a degenerate subspace (e.g. Kramers pairs)
            weights = self._cache.get("_avg_weights_T")
            if weights is None:
                weights = self._cache["_avg_weights_T"] = np.ascontiguousarray(
                    (self.exact_same / self.exact_same.sum(axis=2, keepdims=True)).swapaxes(-1, -2))
            return (x.reshape(self.nk, -1, self.nbands) @ weights).reshape(x.shape)
        same = self.exact_same[degenerate]
        weights = (same / same.sum(axis=2, keepdims=True)).swapaxes(-1, -2)  # [nd, N(m), N(n)]
        out = x.copy()
        xd = x[degenerate].reshape(len(degenerate), -1, self.nbands)
        out[degenerate] = (xd @ weights).reshape(x[degenerate].shape)
        return out

    def subspace_average_band_major(self, x: np.ndarray, bands: slice = slice(None)) -> np.ndarray:
        """`subspace_average` for band-major arrays [..., N, nk] (k axis last): Σ_m W_nm x_m with
        W_nm = [m ∈ D(n)]/|D(n)| (the identity at non-degenerate k-points), one pass over every k
        at once; `bands`: x holds only these bands (whole subspaces, `bands_within`). Returns `x`
        itself when no two of these bands share a subspace."""
        bands = slice(*bands.indices(self.nbands)[:2])
        key = ("_avg_weights_band_major", bands.start, bands.stop)
        if key not in self._cache:
            same = self.exact_same_within(bands)
            if (same.sum(axis=2) <= 1).all():
                self._cache[key] = None
            else:
                same = np.ascontiguousarray(same.transpose(1, 2, 0))  # [n, m, k]
                self._cache[key] = same / same.sum(axis=1, keepdims=True)
        weights = self._cache[key]
        return x if weights is None else np.einsum("...mk,nmk->...nk", x, weights)

    def cached(self, key: str, compute):
        """Memoize a derived quantity on this chunk so that every response shares it."""
        if key not in self._cache:
            self._cache[key] = compute(self)
        return self._cache[key]

    @property
    def max_order(self) -> int:
        """The highest derivative order of H these bands carry (`from_model(order=)`, or the given v, w, u)."""
        have = self.__dict__.get("_order")
        if have is None:
            have = 3 if self.__dict__.get("u") is not None else 2 if self.__dict__.get("w") is not None else 1
        return have

    def _complete(self, what: str) -> None:
        """Raise if these bands carry only the second derivatives along one axis (`from_model(along=)`)."""
        along = self.__dict__.get("_along")
        if along is not None:
            raise RuntimeError(f"{what} needs every second derivative of H, but these Bands were built with "
                               f"along={along} (only ∂_a∂_{along} H); build them without `along`.")

    def require(self, order: int) -> None:
        if self.max_order < order:
            raise QgeomInputError(
                f"this quantity needs derivatives of H up to order {order}; build Bands with order={order}."
            )
