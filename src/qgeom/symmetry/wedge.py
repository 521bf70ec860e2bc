"""The irreducible wedge of a uniform k-grid under a magnetic point group, with weights.

Every operation maps the grid onto itself (checked: a grid that is not invariant — e.g. a
Monkhorst–Pack grid with even counts under a 3-fold axis, or unequal counts along equivalent
axes — is refused with the fix). Each orbit is represented by its lowest flat index and weighted
by its size, so Σ_wedge m_i F(k_i) followed by the group average of the tensor
(`tensors.symmetrize`) equals Σ_grid F(k) exactly when the model has the symmetry.

The k-grid error estimate (`qgeom.accuracy`) compares the grid with its coarse sub-grid (every
s-th point along each axis, `KGrid.strides`). When the group maps that sub-grid onto itself — a
Γ-centred grid, or a Monkhorst–Pack grid with odd strides; not a Monkhorst–Pack grid with even
strides, whose sub-grid is shifted off the inversion centre — every orbit lies inside it or
outside it, so the wedge lists the orbits of the sub-grid first (`nsub` points) and the same pass
gives the coarse estimate: their sum, times the number of grid points per sub-grid point. Otherwise
the wedge has no sub-grid and the result says that the estimate is unavailable.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .._validation import QgeomInputError
from ..kspace import KGrid, PointListGrid
from .group import Operation


@dataclass(frozen=True)
class WedgeGrid(PointListGrid):
    """The irreducible points (`flat`: C-order indices into the full grid of `shape`) and their
    orbit sizes (`multiplicity`); those of the full grid's coarse sub-grid first (`ncoarse` of them,
    sub-grid `coarse_strides`) when the group keeps that sub-grid, else no sub-grid (strides 1)."""

    flat: np.ndarray = field(default=None, repr=False)
    multiplicity: np.ndarray = field(default=None, repr=False)
    group: str = ""
    coarse_strides: tuple[int, ...] | None = None  # None: no coarse sub-grid
    ncoarse: int = 0

    @property
    def npoints(self) -> int:
        return len(self.flat)

    @property
    def strides(self) -> tuple[int, ...]:
        return self.coarse_strides or (1,) * len(self.shape)

    @property
    def nsub(self) -> int:
        return self.ncoarse if self.coarse_strides else self.npoints

    @property
    def subgrid_scale(self) -> float:
        """Full-grid points per coarse-sub-grid point: the orbit weights already count the full grid."""
        return float(np.prod(self.strides))

    @property
    def full_npoints(self) -> int:
        return int(np.prod(self.shape))

    def header(self) -> str:
        return f"irreducible wedge (group {self.group.split(' (')[0]}) of the {super().header()}"

    def points(self, start: int, stop: int) -> tuple[np.ndarray, np.ndarray]:
        idx = np.stack(np.unravel_index(self.flat[start:stop], self.shape), axis=1)
        k = _reduced(idx, self.shape, self.offset) @ self.basis
        w = self.multiplicity[start:stop] / (self.full_npoints * self.cell_volume)
        return k, w

    def describe(self) -> dict[str, Any]:
        out = super().describe()
        out.update(npoints=self.npoints, full_npoints=self.full_npoints, irreducible_wedge=True,
                   wedge_fraction=self.npoints / self.full_npoints, symmetry_group=self.group,
                   error_subgrid_strides=list(self.coarse_strides) if self.coarse_strides else None)
        return out


def _reduced(idx: np.ndarray, shape, offset: str) -> np.ndarray:
    n = np.asarray(shape, float)
    return (2 * idx - n + 1) / (2 * n) if offset == "mp" else idx / n


def reduced_operation(op: Operation, basis: np.ndarray) -> np.ndarray:
    """M with k_red' = k_red M for k' = ±R k (rows of `basis` = reciprocal vectors); integer for a
    lattice symmetry."""
    d = basis.shape[0]
    R = op.R[:d, :d] * (-1.0 if op.time_reversal else 1.0)
    M = basis @ R.T @ np.linalg.inv(basis)
    Mi = np.rint(M)
    if not np.allclose(M, Mi, atol=1e-6):
        raise QgeomInputError(
            f"symmetry operation {op.label()} is not a symmetry of the lattice (it does not map "
            "reciprocal lattice vectors onto each other): check its orientation against the model's lattice.")
    return Mi


def irreducible_wedge(grid: KGrid, ops: list[Operation], group: str) -> WedgeGrid:
    """The WedgeGrid of a uniform `grid` under `ops` (a group, identity included)."""
    if grid.kind != "uniform":
        raise QgeomInputError("symmetry reduction needs a uniform lattice grid (continuum grids: use symmetry=None).")
    shape = np.array(grid.shape)
    flat = np.arange(grid.npoints)
    idx = np.stack(np.unravel_index(flat, grid.shape), axis=1)
    red = _reduced(idx, grid.shape, grid.offset)
    shift = (1 - shape) / 2 if grid.offset == "mp" else np.zeros(len(shape))
    rep = flat.copy()
    for op in ops:
        image = red @ reduced_operation(op, grid.basis) * shape - shift
        rounded = np.rint(image)
        if not np.allclose(image, rounded, atol=1e-6):
            raise QgeomInputError(
                f"the k-grid {tuple(grid.shape)} (offset {grid.offset!r}) is not invariant under the symmetry "
                f"operation {op.label()}: use equal counts along symmetry-related axes, and offset='gamma' "
                "(or odd counts) for 3- and 6-fold axes; or symmetry=None.")
        target = np.ravel_multi_index(tuple(np.mod(rounded.astype(np.int64), shape).T), grid.shape)
        np.minimum(rep, target, out=rep)
    # the minimum over one application of each operation is the orbit minimum: ops form a group
    reps, orbit, mult = np.unique(rep, return_inverse=True, return_counts=True)
    strides, ncoarse = _coarse_first(grid, idx, orbit, len(reps))
    order = np.argsort(~_on_coarse(idx[reps], grid) if strides else np.zeros(len(reps), bool), kind="stable")
    return WedgeGrid("uniform", grid.shape, grid.basis, grid.cell_volume, offset=grid.offset,
                     flat=reps[order], multiplicity=mult[order].astype(float), group=group,
                     coarse_strides=strides, ncoarse=ncoarse)


def _on_coarse(idx: np.ndarray, grid: KGrid) -> np.ndarray:
    """Whether the grid points idx [n, d] are on the coarse sub-grid of the error estimate (the first
    class of `KGrid._indices`: index ≡ shift mod stride along every axis)."""
    s = np.asarray(grid.strides)
    shift = (s - 1) // 2 if grid._centred else np.zeros_like(s)
    return ((idx % s) == shift).all(axis=1)


def _coarse_first(grid: KGrid, idx: np.ndarray, orbit: np.ndarray, norbits: int) -> tuple[tuple[int, ...] | None, int]:
    """(the grid's strides, the number of orbits on the coarse sub-grid) when every orbit lies
    entirely on it or entirely off it (the group keeps the sub-grid), else (None, 0)."""
    if grid.nsub == grid.npoints:  # no sub-grid to begin with
        return None, 0
    on = _on_coarse(idx, grid)
    coarse_points = np.bincount(orbit, weights=on, minlength=norbits)
    size = np.bincount(orbit, minlength=norbits)
    if not np.all((coarse_points == 0) | (coarse_points == size)):
        return None, 0
    return tuple(int(s) for s in grid.strides), int(np.count_nonzero(coarse_points))
