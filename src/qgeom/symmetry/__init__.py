"""Magnetic point-group symmetry: user groups (symbols, operations) or detected ones, the
irreducible wedge of the k-grid with weights, and tensor symmetrization with Neumann zeros.

`resolve(model, symmetry, kgrid)` turns the `symmetry=` keyword into a `SymmetryPlan` (or None).
"""

from __future__ import annotations

from dataclasses import dataclass

import warnings

import numpy as np

from .._validation import QgeomInputError
from .detect import SymmetryWarning, check, detect, symmetry_tolerance
from .group import Operation, from_matrices, from_symbol, restrict, unitary
from .tensors import needed, symmetrize
from .wedge import WedgeGrid, irreducible_wedge

__all__ = ["Operation", "SymmetryPlan", "SymmetryWarning", "resolve", "from_symbol", "detect"]


def point_group_name(ops: list[Operation]) -> str:
    """Hermann–Mauguin symbol of the unitary part (spglib), with the count of primed operations."""
    import spglib

    rots = np.array([np.rint(g.R).astype(int) for g in unitary(ops)])
    name = ""
    if np.allclose(rots, [g.R for g in unitary(ops)], atol=1e-6):  # integer Cartesian matrices (not hexagonal)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            name = spglib.get_pointgroup(rots)[0].strip()
    nprimed = sum(g.time_reversal for g in ops)
    base = name or f"order {len(unitary(ops))}"
    return f"{base} ({len(ops)} operations, {nprimed} with time reversal)"


@dataclass(frozen=True)
class SymmetryPlan:
    ops: tuple[Operation, ...]
    grid: WedgeGrid
    source: str
    breaking: tuple[tuple[str, float], ...] = ()  # imposed operations the model breaks, with the breaking

    def needed(self, comps: list[str], parities=(1, -1)) -> list[str]:
        return needed(list(self.ops), self.grid.dim, comps, parities)

    def symmetrize(self, values, computed, comps, parity: int, axis: int):
        return symmetrize(values, computed, comps, list(self.ops), self.grid.dim, parity, axis)

    def describe(self) -> dict:
        return {"symmetry_source": self.source, "symmetry_group": self.grid.group,
                "symmetry_operations": [g.label() for g in self.ops],
                "wedge_points": int(self.grid.npoints), "full_grid_points": int(self.grid.full_npoints),
                "symmetry_imposed_breaking": dict(self.breaking)}


def resolve(model, symmetry, kgrid, *, time_reversal: bool = True, tol=None, keep=None) -> SymmetryPlan | None:
    """The plan for `symmetry` (None, "auto", a Hermann–Mauguin symbol, or a list of operations:
    3×3 Cartesian matrices or (matrix, time_reversal) pairs). Given groups are checked on the
    model to `tol` (`symmetry_tol`: None = exact symmetries only; a larger relative value imposes
    a group the model breaks that much — Wannier models of real crystals — and records the
    breaking); "auto" accepts the lattice operations the model keeps to `tol`.
    `time_reversal=False`: keep only the unitary operations (responses that are not eigen-tensors
    of time reversal, e.g. at finite Γ). `keep`: a predicate selecting a subgroup (e.g. the
    stabilizer of a response's fixed index), applied before the wedge is built."""
    tol = symmetry_tolerance(tol)
    if symmetry is None:
        return None
    if not model.is_periodic:
        raise QgeomInputError("symmetry= needs a lattice model (continuum k·p models: symmetry=None).")
    if isinstance(symmetry, str) and symmetry == "auto":
        ops, source = detect(model, tol), "auto"
    elif isinstance(symmetry, str):
        ops, source = restrict(from_symbol(symmetry), model.dim), f"symbol {symmetry}"
    else:
        try:
            ops = restrict(from_matrices(list(symmetry)), model.dim)
        except TypeError:
            raise QgeomInputError("symmetry must be None, 'auto', a point-group symbol or a list of operations.") from None
        source = "operations"
    breaking = check(model, ops, tol)
    if not time_reversal:
        ops = unitary(ops)
    if keep is not None:
        ops = [g for g in ops if keep(g)]
    name = point_group_name(ops)
    return SymmetryPlan(tuple(ops), irreducible_wedge(kgrid, ops, name), source, tuple(breaking.items()))
