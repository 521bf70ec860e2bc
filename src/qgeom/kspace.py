"""k-space grids, chunking and the Σ_k reduction (SPEC §0: Σ_k = ∫ d^d k/(2π)^d).

A grid yields chunks (k [nk, d] Cartesian, weights [nk]) with Σ weights · F(k) ≈ ∫ d^dk/(2π)^d F.
Only one chunk's Bands is alive at a time, so memory is bounded whatever the grid size.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, Union

import numpy as np

from ._validation import QgeomInputError, positive_scalar
from .bands import DEFAULT_DEGEN_TOL, Bands
from .models.base import Model
from .progress import progress_bar

ChunkSum = Union[np.ndarray, dict[str, np.ndarray]]
CHUNK_BYTES = 48 * 2**20  # working-set target per chunk


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
        return int(np.prod(self.shape))

    @property
    def dim(self) -> int:
        return self.basis.shape[0]

    def points(self, start: int, stop: int) -> tuple[np.ndarray, np.ndarray]:
        """k-points and weights for flat indices [start, stop)."""
        idx = np.unravel_index(np.arange(start, stop), self.shape)
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
        x, wx = np.polynomial.legendre.leggauss(nr)
        r = 0.5 * self.cutoff * (x + 1)
        wr = 0.5 * self.cutoff * wx
        phi = 2 * np.pi * (np.arange(nphi) + 0.5) / nphi
        ir, ip = idx
        k = np.stack([r[ir] * np.cos(phi[ip]), r[ir] * np.sin(phi[ip])], axis=1)
        w = r[ir] * wr[ir] * (2 * np.pi / nphi) / (2 * np.pi) ** 2
        return k, w

    def describe(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "shape": list(self.shape),
            "npoints": self.npoints,
            "cutoff": self.cutoff,
            "offset": self.offset if self.kind == "uniform" else None,
            "measure": "sum_k = integral d^dk/(2 pi)^d",
        }


def make_grid(
    model: Model, grid, *, kind: str | None = None, cutoff: float | None = None, offset: str = "mp"
) -> KGrid:
    """Build the k-grid for `model`. `grid`: an int (same count along every direction) or a tuple.

    Lattice models: uniform grid over the BZ (`offset` "mp" — symmetric Monkhorst–Pack — or "gamma").
    Continuum models: `kind` "disk" (2D, grid = (n_radial, n_angle)) or "box"; `cutoff` in 1/length
    (default: the model's `k_cutoff`).
    """
    if isinstance(grid, KGrid):
        return grid
    d = model.dim
    if model.is_periodic:
        kind = kind or "uniform"
        if kind != "uniform":
            raise QgeomInputError(f"lattice models use kind='uniform', got {kind!r}.")
        shape = _grid_shape(grid, d)
        if offset not in ("mp", "gamma"):
            raise QgeomInputError(f"offset must be 'mp' or 'gamma', got {offset!r}.")
        return KGrid("uniform", shape, model.reciprocal_lattice, model.cell_volume, offset=offset)
    kind = kind or ("disk" if d == 2 else "box")
    cut = cutoff if cutoff is not None else getattr(model, "k_cutoff", None)
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
    """k-points per chunk so that the largest per-chunk tensors (∂ of the pair products,
    [nk, d, d, d, N, N] complex, with a few temporaries) stay near CHUNK_BYTES."""
    d, N = model.dim, model.nbands
    per_k = 16 * N * N * (1 + d + d**2 + d**3) * 6
    return int(np.clip(CHUNK_BYTES // per_k, 64, 16384))


def chunk_bounds(grid: KGrid, chunk_size: int) -> list[tuple[int, int]]:
    return [(s, min(s + chunk_size, grid.npoints)) for s in range(0, grid.npoints, chunk_size)]


def chunk_sum(
    model: Model,
    grid: KGrid,
    func: Callable[[Bands, np.ndarray], ChunkSum],
    bounds: tuple[int, int],
    *,
    order: int,
    degen_tol: float,
) -> ChunkSum:
    """Diagonalize one chunk once and return func(bands, weights) — the chunk's weighted sum."""
    k, w = grid.points(*bounds)
    return func(Bands.from_model(model, k, order=order, degen_tol=degen_tol), w)


def add_sums(a: ChunkSum | None, b: ChunkSum) -> ChunkSum:
    if a is None:
        return b
    if isinstance(b, dict):
        return {key: a[key] + b[key] for key in b}
    return a + b


def iter_chunk_sums(
    model: Model, grid: KGrid, func, *, order: int, degen_tol: float, chunk_size: int
) -> Iterator[ChunkSum]:
    for bounds in chunk_bounds(grid, chunk_size):
        yield chunk_sum(model, grid, func, bounds, order=order, degen_tol=degen_tol)


def integrate(
    model: Model,
    grid,
    func: Callable[[Bands, np.ndarray], ChunkSum],
    *,
    order: int = 1,
    degen_tol: float = DEFAULT_DEGEN_TOL,
    chunk_size: int | None = None,
    progress: bool | None = None,
    **grid_kwargs,
) -> ChunkSum:
    """Σ_k of func over the grid: func(bands, weights) must return the chunk's weighted sum
    (an array or a dict of arrays). `progress`: None shows a bar only on an interactive terminal."""
    kgrid = make_grid(model, grid, **grid_kwargs)
    size = chunk_size or auto_chunk_size(model)
    total = None
    chunks = iter_chunk_sums(model, kgrid, func, order=order, degen_tol=degen_tol, chunk_size=size)
    for part in progress_bar(chunks, total=len(chunk_bounds(kgrid, size)), enabled=progress, unit="chunk"):
        total = add_sums(total, part)
    return total
