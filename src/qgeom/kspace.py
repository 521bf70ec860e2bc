"""k-space grids, chunking and the Σ_k = ∫ d^d k/(2π)^d reduction.

A grid yields chunks (k [nk, d] Cartesian, weights [nk]) with Σ weights · F(k) ≈ ∫ d^dk/(2π)^d F.
Only one chunk's Bands is alive at a time, so memory is bounded whatever the grid size.

Error estimate for free: the points are enumerated coarse sub-grid first. Along each axis a
stride s divides the count n and the points with index ≡ o (mod s) form the same kind of grid
with n/s points: for cell-centred axes (Monkhorst–Pack, box midpoints, disk angles) s = 3 when
it divides n, with o = 1: exactly the Monkhorst–Pack grid of n/3 points, with every symmetry of
the fine grid (symmetry-forbidden components stay zero on it); else s = 2 (5, 7) with o = 0, a
grid shifted by half a fine spacing, which does not keep the symmetries (see `qgeom.accuracy`
for how forbidden components are judged). Γ-centred axes take s = 2 (else 3, 5, 7) and o = 0,
always symmetric. These points come first
(flat indices [0, nsub)) and are chunked separately, so `integrate(..., subgrid=True)` returns
the sum over the coarse grid (weights × Π s) from the same pass, at no extra cost. |fine − coarse|
is the discretization error of the coarse grid, an upper estimate of the fine grid's (see
`qgeom.accuracy`). Disk grids keep their Gauss–Legendre radial nodes: only the angle is
subsampled there.
"""

from __future__ import annotations

import functools
import math
import os
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Union

import numpy as np
from scipy.special import roots_legendre

from ._validation import QgeomInputError, both_spellings, positive_scalar
from .bands import DEFAULT_DEGEN_TOL, Bands
from .models.base import Model
from .options import Execution
from .progress import ChunkProgress, add_compute_time

ChunkSum = Union[np.ndarray, dict[str, np.ndarray]]
POINTWISE = "@"  # a ChunkSum key with this prefix holds one value per k-point: chunks concatenate, not add
CHUNK_BYTES = 24 * 2**20  # working-set target per chunk
MAX_CHUNK_BYTES = 256 * 2**20  # working-set limit when a model asks for larger chunks (`chunk_hint`)


@functools.lru_cache(maxsize=16)
def _gauss_legendre(n: int) -> tuple[np.ndarray, np.ndarray]:
    """Gauss–Legendre nodes/weights on [−1, 1], once per n (SciPy's is O(n); numpy's leggauss is
    O(n³) and would dominate continuum runs if recomputed per chunk)."""
    return roots_legendre(n)


@dataclass(frozen=True)
class KGrid:
    """A k-point set: `uniform` (Monkhorst–Pack or Γ-centred over the BZ), `disk` (2D polar
    Gauss–Legendre × uniform angle, |k| < cutoff) or `box` ([−cutoff, cutoff]^d midpoints)."""

    kind: str
    shape: tuple[int, ...]
    basis: np.ndarray  # uniform: reciprocal vectors (rows); others: unused identity
    cell_volume: float
    cutoff: float | None = None
    offset: str = "mp"

    @property
    def npoints(self) -> int:
        return math.prod(int(n) for n in self.shape)  # Python int: 10**12 per axis must not wrap

    @property
    def _centred(self) -> bool:
        """Cell-centred points (index + 1/2): Monkhorst–Pack, box, disk angle."""
        return not (self.kind == "uniform" and self.offset == "gamma")

    @property
    def strides(self) -> tuple[int, ...]:
        """Per-axis subsampling of the coarse sub-grid (module docstring); 1 where the count has
        no usable divisor and along the Gauss–Legendre radial axis of a disk."""
        order = (3, 2, 5, 7) if self._centred else (2, 3, 5, 7)
        out = tuple(next((s for s in order if n % s == 0 and n > s), 1) for n in self.shape)
        return (1,) + out[1:] if self.kind == "disk" else out

    @property
    def nsub(self) -> int:
        """Points of the coarse sub-grid (flat indices [0, nsub)); npoints when there is none."""
        return self.npoints // int(np.prod(self.strides))

    @property
    def subgrid_scale(self) -> float:
        """The sub-grid sum's factor that makes it a k-sum (its points stand for this many grid points)."""
        return self.npoints / self.nsub

    def _indices(self, start: int, stop: int) -> tuple[np.ndarray, ...]:
        """Grid indices of flat points [start, stop) in the sub-grid-first order: flat = class ·
        nsub + j, index = stride · unravel(j, coarse shape) + unravel(class, strides)."""
        flat = np.arange(start, stop)
        s = self.strides
        coarse = tuple(n // si for n, si in zip(self.shape, s))
        cls, j = np.divmod(flat, self.nsub)
        shift = [(si - 1) // 2 if self._centred else 0 for si in s]  # the class of the coarse grid
        return tuple(si * a + (b + o) % si for si, a, b, o in
                     zip(s, np.unravel_index(j, coarse), np.unravel_index(cls, s), shift))

    @property
    def dim(self) -> int:
        return self.basis.shape[0]

    def points(self, start: int, stop: int) -> tuple[np.ndarray, np.ndarray]:
        """k-points and weights for flat indices [start, stop)."""
        idx = self._indices(start, stop)
        if self.kind == "uniform":
            n = np.array(self.shape, float)
            ii = np.stack(idx, axis=1).astype(float)
            red = (2 * ii - n + 1) / (2 * n) if self.offset == "mp" else ii / n
            k = red @ self.basis
            w = np.full(len(k), 1.0 / (self.npoints * self.cell_volume))
            return k, w
        if self.kind == "box":
            ii = np.stack(idx, axis=1).astype(float)
            h = 2 * self.cutoff / np.array(self.shape, float)
            k = -self.cutoff + (ii + 0.5) * h
            return k, np.full(len(k), np.prod(h) / (2 * np.pi) ** self.dim)
        # disk
        nr, nphi = self.shape
        x, wx = _gauss_legendre(nr)
        r = 0.5 * self.cutoff * (x + 1)
        wr = 0.5 * self.cutoff * wx
        phi = 2 * np.pi * (np.arange(nphi) + 0.5) / nphi
        ir, ip = idx
        k = np.stack([r[ir] * np.cos(phi[ip]), r[ir] * np.sin(phi[ip])], axis=1)
        w = r[ir] * wr[ir] * (2 * np.pi / nphi) / (2 * np.pi) ** 2
        return k, w

    def header(self) -> str:
        """What the run header calls this point set ("grid 24×24"; a wedge or a refinement level says so)."""
        return "grid " + "×".join(str(n) for n in self.shape)

    def describe(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "shape": list(self.shape),
            "npoints": self.npoints,
            "cutoff": self.cutoff,
            "offset": self.offset if self.kind == "uniform" else None,
            "measure": "sum_k = integral d^dk/(2 pi)^d",
            "error_subgrid_strides": list(self.strides),
        }


@dataclass(frozen=True)
class PointListGrid(KGrid):
    """Base of explicit k-point lists (an irreducible wedge, a refinement level): every point is
    listed, so there is no coarse sub-grid (strides 1; the error estimate comes from elsewhere)."""

    @property
    def strides(self) -> tuple[int, ...]:
        return (1,) * len(self.shape)

    @property
    def nsub(self) -> int:
        return self.npoints


def make_grid(
    model: Model, grid, *, kind: str | None = None, cutoff: float | None = None, offset: str = "mp"
) -> KGrid:
    """Build the k-grid for `model`. `grid`: an int (same count along every direction) or a tuple.

    Lattice models: uniform grid over the BZ (`offset` "mp" — symmetric Monkhorst–Pack — or "gamma").
    Continuum models: `kind` "disk" (2D, grid = (n_radial, n_angle)) or "box"; `cutoff` in 1/length
    (default: the model's `k_cutoff`); refused for a lattice model (the one check for every public function
    that samples k: dc.expansion, dc.exact, optical.response, kspace.integrate, via `options.Sampling`).
    """
    if isinstance(grid, KGrid):
        return grid
    d = model.dim
    if model.is_periodic:
        if cutoff is not None:  # it used to be ignored: the user would believe the sum was cut at |k| < cutoff
            raise QgeomInputError(
                f"{both_spellings('cutoff=', '--cutoff')} is the k cutoff of continuum (k·p) models; {model.name!r} is "
                f"a lattice model, summed over its whole Brillouin zone: drop cutoff."
            )
        kind = kind or "uniform"
        if kind != "uniform":
            raise QgeomInputError(f"lattice models use kind='uniform', got {kind!r}.")
        shape = _grid_shape(grid, d)
        if offset not in ("mp", "gamma"):
            raise QgeomInputError(f"offset must be 'mp' or 'gamma', got {offset!r}.")
        return KGrid("uniform", shape, model.reciprocal_lattice, model.cell_volume, offset=offset)
    kind = kind or ("disk" if d == 2 else "box")
    cut = cutoff if cutoff is not None else model.k_cutoff
    if cut is None:
        raise QgeomInputError(
            f"continuum model {model.name!r} needs a k cutoff: pass cutoff=... (in 1/{model.length_unit})."
        )
    cut = positive_scalar(cut, "cutoff")
    if kind == "disk":
        if d != 2:
            raise QgeomInputError(f"kind='disk' needs a 2D model; use kind='box' for {d}D.")
        return KGrid("disk", _grid_shape(grid, 2), np.eye(2), 1.0, cutoff=cut)
    if kind == "box":
        return KGrid("box", _grid_shape(grid, d), np.eye(d), 1.0, cutoff=cut)
    raise QgeomInputError(f"grid kind must be 'uniform', 'disk' or 'box', got {kind!r}.")


def _grid_shape(grid, d: int) -> tuple[int, ...]:
    shape = (grid,) * d if np.isscalar(grid) else tuple(grid)
    if len(shape) != d or not all(isinstance(n, (int, np.integer)) and n > 0 for n in shape):
        raise QgeomInputError(
            f"grid must be a positive integer or a tuple of {d} positive integers, got {grid!r}."
        )
    return tuple(int(n) for n in shape)


def auto_chunk_size(model: Model) -> int:
    """k-points per chunk from the model size: the per-chunk working set (the rotated block of H
    and its derivative combos, pair products and their temporaries, ~ 16 N² (1 + d + d² + d³)·6
    bytes per k) stays near CHUNK_BYTES — small enough to stay cache-friendly and to bound memory
    whatever the grid size, large enough that per-chunk Python overhead is negligible. A model
    whose H(k) costs less per k-point in larger chunks (Fourier series summed axis by axis,
    `models.fourier`) says how many it wants (`chunk_hint`); that is granted up to
    MAX_CHUNK_BYTES of working set. At least one k-point per chunk, whatever N."""
    return chunk_size_for(working_set_per_k(model), hint=model.chunk_hint)


def chunk_size_for(per_k: int, *, budget: int = CHUNK_BYTES, lo: int = 1, hi: int = 16384,
                   hint: int | None = None) -> int:
    """The one chunk-size rule: k-points per chunk such that `per_k` (the working set of one
    k-point, in bytes or in the caller's own unit of `budget`) times the size stays near `budget`,
    within [lo, hi]; a model's `hint` is granted up to MAX_CHUNK_BYTES."""
    size = budget // per_k
    if hint:
        size = max(size, min(int(hint), MAX_CHUNK_BYTES // per_k))
    return int(np.clip(size, lo, hi))


def working_set_per_k(model: Model) -> int:
    """Bytes of working memory per k-point of a chunk (see `auto_chunk_size`)."""
    d, N = model.dim, model.nbands
    return 16 * N * N * (1 + d + d**2 + d**3) * 6


def run_header(model: Model, kgrid: KGrid, nchunks: int, size: int, parts: list, workers, scheduler,
               estimate=None) -> str:
    """One line with the size of a k-sum, printed before it starts (`progress.ChunkProgress`), with
    the memory and time `estimate` of `resources` (the size guard's numbers)."""
    blocks = f", {len(parts)} orbital blocks" if len(parts) > 1 else ""
    pool = isinstance(workers, (int, np.integer)) and workers > 0  # (bad values are refused by the executor)
    where = f"{workers} worker processes" if pool else (f"Dask {scheduler}" if scheduler else "in-process")
    cost = f"; estimated {estimate.describe()}" if estimate is not None else ""
    return (f"k-sum: {model.name} ({model.nbands} bands{blocks}), {kgrid.header()} = {kgrid.npoints} k-points in "
            f"{nchunks} chunks of <= {size}, {where}{cost}")


def chunk_bounds(grid: KGrid, chunk_size: int) -> list[tuple[int, int]]:
    """Chunks of at most chunk_size points; none straddles the coarse sub-grid's end (nsub)."""
    cut = grid.nsub
    return [(s, min(s + chunk_size, cut)) for s in range(0, cut, chunk_size)] + \
        [(s, min(s + chunk_size, grid.npoints)) for s in range(cut, grid.npoints, chunk_size)]


def chunk_sum(
    model: Model | list[Model],
    grid: KGrid,
    func: Callable[[Bands, np.ndarray], ChunkSum],
    bounds: tuple[int, int],
    *,
    order: int,
    degen_tol: float,
    axes: tuple[int, ...] | None = None,
    along: int | None = None,
) -> ChunkSum:
    """Diagonalize one chunk once and return func(bands, weights) — the chunk's weighted sum.
    A list of models (the independent blocks of one Hamiltonian, `models.blocks`) gives the sum
    of func over the blocks' Bands. `axes`: the Cartesian axes differentiated; `along`: only the second
    derivatives along this axis (`Bands.from_model`)."""
    k, w = grid.points(*bounds)
    if isinstance(model, Model):
        return func(Bands.from_model(model, k, order=order, degen_tol=degen_tol, axes=axes, along=along), w)
    total = None
    for block in model:
        total = add_sums(total, func(Bands.from_model(block, k, order=order, degen_tol=degen_tol, axes=axes,
                                                      along=along), w))
    return total


def add_sums(a: ChunkSum | None, b: ChunkSum) -> ChunkSum:
    if a is None:
        return b
    if isinstance(b, dict):
        return {key: a[key] + b[key] for key in b}
    return a + b


_MALLOC_TUNED = False


def tune_allocator() -> None:
    """Keep freed chunk temporaries in the heap (glibc: mmap threshold 32 MiB, no trimming below
    256 MiB) so that the next chunk reuses them instead of page-faulting fresh memory: the
    per-chunk arrays are a few MiB, and faulting them in anew cost up to half of the run time.
    Once per process, Linux/glibc only; QGEOM_MALLOC_TUNING=0 turns it off."""
    global _MALLOC_TUNED
    if _MALLOC_TUNED:
        return
    _MALLOC_TUNED = True
    if os.environ.get("QGEOM_MALLOC_TUNING", "1") == "0" or not sys.platform.startswith("linux"):
        return
    try:
        import ctypes

        libc = ctypes.CDLL("libc.so.6")
        M_TRIM_THRESHOLD, M_MMAP_THRESHOLD = -1, -3
        libc.mallopt(M_MMAP_THRESHOLD, 32 * 2**20)
        libc.mallopt(M_TRIM_THRESHOLD, 256 * 2**20)
    except (OSError, AttributeError):  # not glibc
        pass


class ChunkTask:
    """chunk index -> chunk sum for one integration: the unit every executor maps (picklable
    when the model and integrand are)."""

    def __init__(self, model: Model | list[Model], grid: KGrid, func, bounds: list[tuple[int, int]], order: int,
                 degen_tol: float, axes: tuple[int, ...] | None = None, along: int | None = None):
        self.model, self.grid, self.func, self.bounds = model, grid, func, bounds
        self.order, self.degen_tol, self.axes, self.along = order, degen_tol, axes, along

    def __call__(self, index: int) -> tuple[ChunkSum, float]:
        """(the chunk's sum, the seconds it took where it ran)."""
        start = time.perf_counter()
        tune_allocator()
        part = chunk_sum(self.model, self.grid, self.func, self.bounds[index], order=self.order,
                         degen_tol=self.degen_tol, axes=self.axes, along=self.along)
        return part, time.perf_counter() - start


def _stored_chunk(store, task: ChunkTask, index: int, bounds: tuple[int, int], seconds: list[float]) -> ChunkSum:
    """Chunk `index` from the checkpoint, or recomputed (and stored) when its file is unusable; its seconds added
    to seconds[1] (resumed) or seconds[0] (computed now)."""
    loaded = store.load(index, bounds)
    if loaded is None:  # unusable file (reported): recompute it here
        part, took = task(index)
        store.save(index, bounds, part, took)
        seconds[0] += took
        return part
    seconds[1] += loaded[1]
    return loaded[0]


def _manifest(model: Model, grid: KGrid, func, chunk_size: int, order: int, degen_tol: float,
              axes: tuple[int, ...] | None = None) -> dict[str, Any]:
    from .checkpoint import digest, integrand_fingerprint, model_fingerprint

    bands = {"order": int(order), "degen_tol": float(degen_tol)}
    if axes is not None:  # fewer derivative columns: the same sums up to the last bits, never mixed
        bands["axes"] = [int(a) for a in axes]
    return {
        "model": model_fingerprint(model),
        "grid": {**grid.describe(), "basis": digest(np.asarray(grid.basis, float)), "cell_volume": grid.cell_volume},
        "chunk_size": int(chunk_size),
        "bands": bands,
        "integrand": integrand_fingerprint(func),
    }


def _chunk_store(directory, model: Model, parts: list[Model], grid: KGrid, func, chunk_size: int, order: int,
                 degen_tol: float, axes: tuple[int, ...] | None = None):
    """The checkpoint store of one integration, guarded by its manifest."""
    from .checkpoint import ChunkStore

    manifest = _manifest(model, grid, func, chunk_size, order, degen_tol, axes)
    if len(parts) > 1:  # block sums differ from the dense sums in the last bits: never mixed
        manifest["blocks"] = [p.parameters["orbitals"] for p in parts]
    return ChunkStore(directory, manifest)


def integrate(
    model: Model,
    grid,
    func: Callable[[Bands, np.ndarray], ChunkSum],
    *,
    order: int = 1,
    degen_tol: float = DEFAULT_DEGEN_TOL,
    axes: tuple[int, ...] | None = None,
    along: int | None = None,
    chunk_size: int | None = None,
    progress: bool | None = None,
    workers: int | None = None,
    scheduler=None,
    checkpoint=None,
    blocks: bool = False,
    subgrid: bool = False,
    kind: str | None = None,
    cutoff: float | None = None,
    offset: str = "mp",
) -> ChunkSum | tuple[ChunkSum, ChunkSum | None]:
    """Σ_k of func over the grid: func(bands, weights) must return the chunk's weighted sum
    (an array or a dict of arrays). `progress`: None shows a bar only on an interactive terminal.

    Executors (same chunks, same chunk-order reduction, so identical results): in-process by
    default; `workers=N` a pool of N processes; `scheduler` a Dask cluster ("tcp://host:port",
    "local", "local-threads" or a distributed.Client). `checkpoint=DIR` writes each finished
    chunk sum to DIR and, on a rerun with the same inputs, computes only the missing chunks.
    `blocks=True`: split the model into its exactly decoupled orbital blocks
    (`models.blocks.split_blocks`) and sum func over the blocks' Bands — only for integrands that
    are traces over the states (additive over H = ⊕ H_B); the chunk size then follows the
    largest block. `subgrid=True`: return (sum, coarse sum) — the second the same k-sum on the
    coarse sub-grid (module docstring), None when no axis can be subsampled — for the error
    estimate of `qgeom.accuracy`. `kind`, `cutoff`, `offset`: as in `make_grid` when `grid` is
    not a KGrid. `axes`: differentiate H only along these Cartesian axes (None: all), for
    integrands that use no other (`Bands.from_model`); `along`: of the second derivatives only ∂_a∂_along H
    (a current's response, `Bands.from_model`). Keys of a dict ChunkSum that start with
    POINTWISE hold one value per k-point (e.g. `refinement` flags): they are concatenated in the
    grid's flat point order instead of summed (within a chunk, over blocks, they are added). The seconds each
    chunk took (stored with it in a checkpoint) go to every open `progress.compute_time()` record.
    """
    from .executors import make_executor
    from .models.blocks import split_blocks

    kgrid = make_grid(model, grid, kind=kind, cutoff=cutoff, offset=offset)
    axes = None if axes is None or tuple(sorted(axes)) == tuple(range(model.dim)) else tuple(sorted(axes))
    Execution(chunk_size=chunk_size, workers=workers)  # validates both once, before any chunk runs
    estimate = _preflight(model, kgrid, func, int(chunk_size or auto_chunk_size(model)), workers, degen_tol)
    parts = split_blocks(model) if blocks else [model]
    size = int(chunk_size or min(auto_chunk_size(p) for p in parts))
    bounds = chunk_bounds(kgrid, size)
    store = None if checkpoint is None else _chunk_store(checkpoint, model, parts, kgrid, func, size, order, degen_tol, axes)
    done = store.done() & set(range(len(bounds))) if store else set()
    todo = [i for i in range(len(bounds)) if i not in done]
    if store is not None and todo:  # a finished checkpoint on a read-only mount is still read
        store.check_writable()
    task = ChunkTask(model if len(parts) == 1 else parts, kgrid, func, bounds, order, degen_tol, axes, along)

    total, pending, coarse, pointwise = None, {}, None, {}
    seconds = [0.0, 0.0]  # the chunks' compute time: computed by this call, loaded from the checkpoint
    header = run_header(model, kgrid, len(bounds), size, parts, workers, scheduler, estimate)
    with make_executor(workers=workers, scheduler=scheduler) as executor, \
            ChunkProgress(len(bounds), progress, len(done), header, parallel=executor.parallel) as bar:
        results = executor.map_unordered(task, todo)
        try:
            for i in range(len(bounds)):
                # reduce strictly in chunk order; chunks that finish early wait in `pending`
                while i not in pending:
                    if i in done:
                        pending[i] = _stored_chunk(store, task, i, bounds[i], seconds)
                        break
                    j, (part, took) = next(results)
                    seconds[0] += took
                    if store is not None:
                        store.save(j, bounds[j], part, took)
                    pending[j] = part
                    bar.update(1)
                part = pending.pop(i)
                if isinstance(part, dict):  # per-k-point values (refinement flags) in flat point order
                    for key in [key for key in part if key.startswith(POINTWISE)]:
                        pointwise.setdefault(key, []).append(part.pop(key))
                total = add_sums(total, part)
                if bounds[i][1] == kgrid.nsub:  # the sub-grid chunks come first: their sum, rescaled
                    coarse = _scaled(total, kgrid.subgrid_scale)
        finally:
            results.close()
            if store is not None:
                store.remove_own_temporaries()
    from .sanity import check_finite_result

    check_finite_result(total)
    add_compute_time(*seconds)
    if pointwise:
        total.update({key: np.concatenate(parts) for key, parts in pointwise.items()})
    if subgrid:
        return total, coarse if kgrid.nsub < kgrid.npoints else None
    return total


def _preflight(model: Model, kgrid: KGrid, func, chunk_size: int, workers, degen_tol: float):
    """Before any chunk: the size guard (`resources`) and the model's sanity at a few grid
    points (`sanity`: finite H, degen_tol below the energy spread). Returns the estimate."""
    from . import resources, sanity

    n_mu = np.size(getattr(func, "mu", 1))
    n_omega = np.size(getattr(func, "omega_all", ()))
    # an integrand whose μ sweep costs less than one per μ value says how many it costs (`mu_sweep_points`)
    est = resources.for_model(model, kgrid.npoints, n_mu=getattr(func, "mu_sweep_points", n_mu), n_omega=n_omega,
                              workers=workers or 1,
                              chunk_size=chunk_size, relative_cost=getattr(func, "relative_cost", 1.0),
                              point_bytes=getattr(func, "point_bytes", 0))
    resources.check(est, f"this k-sum ({model.nbands} bands, {kgrid.npoints} k-points, {n_mu} μ, {n_omega} ω)")
    sanity.check_model(model, kgrid.points(0, min(kgrid.npoints, 64))[0], degen_tol=degen_tol)
    return est


def _scaled(total: ChunkSum, factor: float) -> ChunkSum:
    if isinstance(total, dict):
        return {key: factor * v for key, v in total.items()}
    return factor * total
