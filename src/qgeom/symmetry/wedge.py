"""The irreducible wedge of a uniform k-grid under a magnetic point group, with weights.

Every operation maps the grid onto itself (checked: a grid that is not invariant — e.g. a
Monkhorst–Pack grid with even counts under a 3-fold axis, or unequal counts along equivalent
axes — is refused with the fix). Each orbit is represented by its lowest flat index and weighted
by its size, so Σ_wedge m_i F(k_i) followed by the group average of the tensor
(`tensors.symmetrize`) equals Σ_grid F(k) exactly when the model has the symmetry.
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
    orbit sizes (`multiplicity`); no coarse sub-grid (strides 1)."""

    flat: np.ndarray = field(default=None, repr=False)
    multiplicity: np.ndarray = field(default=None, repr=False)
    group: str = ""

    @property
    def npoints(self) -> int:
        return len(self.flat)

    @property
    def full_npoints(self) -> int:
        return int(np.prod(self.shape))

    def points(self, start: int, stop: int) -> tuple[np.ndarray, np.ndarray]:
        idx = np.stack(np.unravel_index(self.flat[start:stop], self.shape), axis=1)
        k = _reduced(idx, self.shape, self.offset) @ self.basis
        w = self.multiplicity[start:stop] / (self.full_npoints * self.cell_volume)
        return k, w

    def describe(self) -> dict[str, Any]:
        out = super().describe()
        out.update(npoints=self.npoints, full_npoints=self.full_npoints, irreducible_wedge=True,
                   wedge_fraction=self.npoints / self.full_npoints, symmetry_group=self.group,
                   error_subgrid_strides=None)
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
    reps, mult = np.unique(rep, return_counts=True)
    return WedgeGrid("uniform", grid.shape, grid.basis, grid.cell_volume, offset=grid.offset,
                     flat=reps, multiplicity=mult.astype(float), group=group)
