"""Magnetic point-group symmetry: user groups (symbols, operations) or detected ones, the
irreducible wedge of the k-grid with weights, and tensor symmetrization with Neumann zeros.

`resolve(model, symmetry, kgrid)` turns the `symmetry=` keyword into a `SymmetryPlan` (or None).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import warnings

import numpy as np

from .._validation import QgeomInputError
from .detect import (NONMAGNETIC_CHANGE_EV, SymmetryWarning, check, crystal_group, detect, detect_at_model_accuracy,
                     field_crystal_group, inversion_keeps_every_site, magnetic_field_crystal_group, symmetry_tolerance,
                     time_reversal_restoring_change)
from .group import Operation, closure, from_labels, from_matrices, from_symbol, generators, restrict, unitary
from .names import magnetic_symbol
from .tensors import needed, symmetrize
from ..kspace import KGrid
from .wedge import WedgeGrid, irreducible_wedge  # noqa: F401  (WedgeGrid re-exported)

__all__ = ["NEUMANN", "Operation", "SymmetryPlan", "SymmetryWarning", "resolve", "from_labels", "from_symbol", "detect"]


def point_group_name(ops: list[Operation], dim: int = 3, lattice: np.ndarray | None = None) -> str:
    """The magnetic point-group symbol that `symmetry=` takes for exactly these operations on a `dim`-dimensional
    model (`names.magnetic_symbol`, e.g. "m'm2'", "-3m'", "mm21'"), with the number of operations and of primed
    ones: printed results can be fed back. A 2D model's operations act on its plane (`group.restrict`: z kept),
    so the symbol is one whose restriction gives them, and a differing 2D name (mm2: the plane's 2mm) is added.
    A group in no standard orientation (`group` module doc) keeps the Hermann–Mauguin symbol of its unitary part
    (spglib: of the Cartesian integer matrices, or of those in the basis of the rows of `lattice` — hexagonal and
    trigonal groups —; else the group's order) and gives generators as operation labels that `symmetry=` takes
    (`group.from_labels`)."""
    symbol = magnetic_symbol(ops, dim)
    unitary_name = _unitary_name(ops, lattice) if symbol is None or dim == 2 else ""
    plane = ""
    if dim == 2 and unitary_name in PLANE_NAMES and symbol in (unitary_name, unitary_name + "1'", None):
        # the symbol is the plain or grey unitary one: its 2D name is that of the plane group (grey: with 1')
        grey = "1'" if symbol and symbol.endswith("1'") else ""
        plane = f"acting in the plane as the 2D point group {PLANE_NAMES[unitary_name]}{grey}; "
    nprimed = sum(g.time_reversal for g in ops)
    count = f"{len(ops)} operation{'' if len(ops) == 1 else 's'}, {nprimed} with time reversal"
    if symbol is None:
        if not unitary_name.startswith("order") and _keeps_time_reversal(ops):
            unitary_name += "1'"  # T itself is an operation: the grey group of the unitary part
        labels = ",".join(g.label() for g in generators(ops))
        return f'{unitary_name} ({plane}{count}; non-standard orientation: symmetry="{labels}")'
    return f"{symbol} ({plane}{count})"


def _unitary_name(ops: list[Operation], lattice: np.ndarray | None) -> str:
    """Hermann–Mauguin symbol of the unitary part by spglib (integer matrices, `_integer_rotations`), else
    "order N"."""
    import spglib

    rots = _integer_rotations(unitary(ops), lattice)
    name = ""
    if rots is not None:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            name = spglib.get_pointgroup(rots)[0].strip()
    return name or f"order {len(unitary(ops))}"


def _integer_rotations(ops: list[Operation], lattice: np.ndarray | None) -> np.ndarray | None:
    """The matrices of `ops` as integers: Cartesian, else in the lattice basis W = A Rᵀ A⁻¹ (A: the lattice
    vectors as rows, completed by z for a 2D lattice), or None."""
    bases = [np.eye(3)]
    if lattice is not None:
        A = np.eye(3)
        A[: len(lattice), : len(lattice)] = lattice
        bases.append(A)
    for A in bases:
        W = np.array([A @ g.R.T @ np.linalg.inv(A) for g in ops])
        if np.allclose(W, np.rint(W), atol=1e-6):
            return np.rint(W).astype(int)
    return None


# 3D symbols of the in-plane operations of a 2D model (z kept) whose 2D (plane-group) name differs
PLANE_NAMES = {"mm2": "2mm"}


NEUMANN = "neumann"  # the default symmetry= of the DC responses (module `resolve`)


@dataclass(frozen=True)
class SymmetryPlan:
    ops: tuple[Operation, ...]
    grid: KGrid  # the irreducible wedge (a WedgeGrid), or the full grid when zeros_only
    source: str
    breaking: tuple[tuple[str, Any], ...] = ()  # imposed operations the model breaks, with the breaking
    zeros_only: bool = False  # Neumann zeros on the full-grid result, no wedge and no average
    group: str = ""
    zeroed: list = field(default_factory=list, compare=False)  # (term, largest zeroed |value|, largest kept |value|)
    crystal: tuple[Operation, ...] = ()  # the crystal's group (its files' atoms, with T) when larger than `ops`
    crystal_name: str = ""
    crystal_unitary: str = ""  # the symbol of the crystal group's unitary part (symmetrize_point_group takes it)
    crystal_from: str = ""
    crystal_magnet: bool = False  # the model breaks time reversal: only the inversion fixing every atom is expected
    crystal_in_fields: bool = False  # ... or, for a non-magnetic crystal in exchange fields, its group in them
    # time reversal broken by the model's bands but restorable by this max |ΔH(R)| (eV, ≤ NONMAGNETIC_CHANGE_EV):
    # the crystal counts as non-magnetic (None: the model keeps T, or is a magnet)
    time_reversal_change: float | None = None
    skipped: bool = False  # every requested component forbidden: exact zeros, no k-sum (`results.forbids_everything`)
    # a given (or detected) group that holds time reversal itself, of which a response keeps only the unitary
    # operations and applies T per kind (the optics: `optical.symmetry.time_reversal_zeros`)
    time_reversal_given: bool = False
    # term -> (components, allowed only because the model breaks the crystal's group, largest such |value|, kept)
    model_breaking: dict = field(default_factory=dict, compare=False)

    def needed(self, comps: list[str], parities=(1, -1)) -> list[str]:
        if self.zeros_only:
            return list(comps)
        return needed(list(self.ops), self.grid.dim, comps, parities)

    def symmetrize(self, values, computed, comps, parity: int, axis: int, label: str | None = None,
                   form: str | None = None):
        """Group average (or, zeros_only, the Neumann zeros) of `values`; `label`: record the
        largest zeroed value under this name (the result itself, not its error or diagnostics);
        `form`: the term's tensor structure (`tensors.structure`), which can forbid more components."""
        out, forbidden = symmetrize(values, computed, comps, list(self.ops), self.grid.dim, parity, axis,
                                    average=not self.zeros_only, form=form)
        if self.zeros_only and self.crystal:
            # forbidden by the crystal of the model's files, allowed only through the model's own breaking
            weak = symmetrize(values, computed, comps, list(self.crystal), self.grid.dim, parity, axis,
                              average=False, form=form)[1] & ~forbidden
            np.moveaxis(out, axis, -1)[..., weak] = 0.0
        else:
            weak = np.zeros_like(forbidden)
        if self.zeros_only and label is not None:
            self.record_zeros(label, np.abs(np.moveaxis(values, axis, -1)), list(comps), forbidden, weak)
        return out, forbidden | weak

    def forbids_all(self, computed, comps, parity: int, form: str | None = None) -> bool:
        """Whether this plan forbids every component `comps` of a tensor of time-reversal `parity` (and `form`):
        then the result is exact zeros whatever a k-sum gives (`skipped`)."""
        return bool(self.symmetrize(np.zeros((1, len(computed))), computed, comps, parity, axis=1, form=form)[1].all())

    def record_zeros(self, label: str, magnitudes: np.ndarray, comps: list[str], forbidden: np.ndarray,
                     weak: np.ndarray, removed: np.ndarray | None = None) -> None:
        """Record what the Neumann zeros of a result removed, under `label`: `magnitudes` |values| with
        the components `comps` on the last axis; `forbidden` by the group the model keeps, `weak` only
        by the crystal's group (allowed through the model's own breaking). Both records carry the
        largest value that stays, to say how large the removed ones were. `removed`: |what was set to 0|
        where only a part of a component was (then `magnitudes` is what stays, of every component)."""
        zero = forbidden | weak
        if removed is None:
            removed, stays = magnitudes, ~zero
        else:
            stays = np.ones_like(zero)
        kept = float(magnitudes[..., stays].max()) if stays.any() else 0.0
        if weak.any():
            self.model_breaking[label] = (comps, weak, float(removed[..., weak].max()), kept)
        if zero.any():
            self.zeroed.append((label, float(removed[..., zero].max()), kept))

    def time_reversal_note(self) -> str:
        """Why time reversal is applied to a model whose bands break it (empty when it is not)."""
        if self.time_reversal_change is None:
            return ""
        return (f"the model breaks time reversal, but restoring it changes its hoppings by only "
                f"{self.time_reversal_change:.2g} eV <= {NONMAGNETIC_CHANGE_EV:g} eV, a Wannierization's error: a "
                "non-magnetic crystal (for a magnet with an exchange field that weak: symmetry=None)")

    def describe(self) -> dict:
        info = self._describe()
        if self.skipped:
            info["k_sum"] = ("skipped: the group forbids every requested component of every term, so the result is "
                             "exact zeros (symmetry=None sums the model's own values)")
        return info

    def _describe(self) -> dict:
        if self.zeros_only:
            return {"symmetry_source": self.source, "symmetry_group": self.group,
                    "symmetry_operations": [g.label() for g in self.ops], "wedge_points": None,
                    "full_grid_points": int(self.grid.npoints),
                    "symmetry_breaking_measured": {k: v for k, v in self.breaking},
                    "breaking_quantities": ["energies", "velocities", "berry_curvature", "quantum_metric"],
                    "zeroed_largest": {name: zeroed for name, zeroed, _ in self.zeroed},
                    "crystal_group": self.crystal_name or None, "crystal_structure_from": self.crystal_from or None,
                    "allowed_only_by_model_breaking": {name: [c for c, w in zip(comps, weak) if w]
                                                       for name, (comps, weak, _, _) in self.model_breaking.items()},
                    "time_reversal": ("kept by the model" if not self.crystal_magnet and self.time_reversal_change is None
                                      else "broken by the model (a magnet, or a perturbation that breaks it)"
                                      if self.crystal_magnet
                                      else "broken by the model only at a Wannierization's accuracy: restoring it "
                                           f"changes max |H(R)| by {self.time_reversal_change:.3g} eV <= "
                                           f"{NONMAGNETIC_CHANGE_EV:g} eV (non-magnetic crystal)"),
                    "meaning": "components the group forbids are set to 0 (Neumann's principle); the group is "
                               "what the model keeps to the accuracy of a Wannierization (qgeom.symmetry.detect."
                               "MODEL_ACCURACY), and, when the model's files give the atoms, the crystal's own "
                               "group (crystal_group; the components only it forbids are listed under "
                               "allowed_only_by_model_breaking); every other value is the model's own full-grid sum"}
        info = {"symmetry_source": self.source, "symmetry_group": self.grid.group,
                "symmetry_operations": [g.label() for g in self.ops],
                "wedge_points": int(self.grid.npoints), "full_grid_points": int(self.grid.full_npoints),
                "symmetry_imposed_breaking": dict(self.breaking)}
        if self.time_reversal_given:
            info["time_reversal"] = "given: the group holds it (each kind's forbidden part set to 0)"
        return info


def resolve(model, symmetry, kgrid, *, time_reversal: bool | str = True, tol=None, keep=None) -> SymmetryPlan | None:
    """The plan for `symmetry` (None, "neumann", "auto", a Hermann–Mauguin symbol, or a list of operations:
    3×3 Cartesian matrices, (matrix, time_reversal) pairs, or labels such as "m[1,1,0]'" — as a list or one
    comma-separated string, `group.from_labels`). Given groups are checked on the
    model to `tol` (`symmetry_tol`: None = exact symmetries only; a larger relative value imposes
    a group the model breaks that much — Wannier models of real crystals — and records the
    breaking); "auto" accepts the lattice operations the model keeps to `tol`.
    `time_reversal=False`: keep only the unitary operations (responses that are not eigen-tensors
    of time reversal, e.g. at finite Γ); "per kind" (optics): the same, but the Neumann plan of a model
    that keeps time reversal is kept even when no other operation is (its `crystal_magnet` False: the
    optical kinds apply T themselves, `optical.symmetry.time_reversal_zeros`). `keep`: a predicate
    selecting a subgroup (e.g. the stabilizer of a response's fixed index), applied before the wedge
    is built.

    "neumann" (the DC default): the group the model keeps to the accuracy of a Wannierization
    (`detect.detect_at_model_accuracy`) — the crystal's symmetry, not a perturbation's — applied
    as Neumann zeros only: the full grid is summed as without symmetry, and the components the
    group forbids are set to 0. An exactly symmetric model changes by rounding only (its forbidden
    components are ~1e-16 noise); a Wannier model loses the artefacts of its small symmetry
    breaking in the forbidden components and nothing else. When the model's files give the atoms
    (`parameters["crystal_structure"]`), the crystal's group is applied too: × {1, T} for a model
    that keeps time reversal — or breaks it by no more than a Wannierization does (restoring it changes
    the hoppings by ≤ NONMAGNETIC_CHANGE_EV) —, only an inversion that fixes every atom for a magnet (the
    components only it forbids are recorded as the model's own breaking). None when nothing but the identity
    is found or expected, or for continuum models."""
    tol = symmetry_tolerance(tol)
    if symmetry is None:
        return None
    if isinstance(symmetry, str) and symmetry == NEUMANN:
        return _neumann_plan(model, kgrid, time_reversal, keep)
    if not model.is_periodic:
        raise QgeomInputError("symmetry= needs a lattice model (continuum k·p models: symmetry=None).")
    if isinstance(symmetry, str) and symmetry == "auto":
        ops, source = detect(model, tol), "auto"
    elif isinstance(symmetry, str) and "[" in symmetry:  # operation labels, as printed in symmetry_operations
        ops, source = restrict(from_labels(symmetry), model.dim), f"operations {symmetry}"
    elif isinstance(symmetry, str):
        ops, source = restrict(from_symbol(symmetry), model.dim), f"symbol {symmetry}"
    elif _all_strings(symmetry):
        ops, source = restrict(from_labels(symmetry), model.dim), f"operations {', '.join(symmetry)}"
    else:
        try:
            ops = restrict(from_matrices(list(symmetry)), model.dim)
        except TypeError:
            raise QgeomInputError("symmetry must be None, 'auto', a point-group symbol or a list of operations.") from None
        source = "operations"
    breaking = check(model, ops, tol, group=symmetry if source.startswith("symbol") else None)
    whole = ops
    if time_reversal is not True:
        ops = unitary(ops)
    if keep is not None:
        ops = [g for g in ops if keep(g)]
    if len(ops) < len(whole):  # say which group was given or found: the printed one is the subgroup used
        which = []
        if time_reversal is not True:
            which.append("without time reversal" + (" (the optical kinds apply it themselves)"
                                                    if time_reversal == "per kind" else ""))
        if keep is not None:
            which.append("that keep the response's fixed index")
        group = point_group_name(whole, model.dim, model.lattice)
        source += f"; of its group {group}, the operations {' and '.join(which)}"
    name = point_group_name(ops, model.dim, model.lattice)
    given_t = time_reversal == "per kind" and _keeps_time_reversal(whole)
    return SymmetryPlan(tuple(ops), irreducible_wedge(kgrid, ops, name), source, tuple(breaking.items()),
                        time_reversal_given=given_t)


def _all_strings(symmetry) -> bool:
    """A non-empty list (or tuple) of strings: operation labels (`group.from_labels`)."""
    return isinstance(symmetry, (list, tuple)) and len(symmetry) > 0 and all(isinstance(x, str) for x in symmetry)


def _neumann_plan(model, kgrid, time_reversal: bool | str, keep) -> SymmetryPlan | None:
    if not model.is_periodic or kgrid.kind != "uniform":
        return None
    ops, breaking = detect_at_model_accuracy(model)
    change = None if _keeps_time_reversal(ops) else time_reversal_restoring_change(model)
    magnet = not _keeps_time_reversal(ops) and (change is None or change > NONMAGNETIC_CHANGE_EV)
    crystal = _crystal_expected(model, ops, magnet, inferred=change is not None and not magnet)

    def kept(group):
        group = group if time_reversal is True else unitary(group)
        return [g for g in group if keep(g)] if keep is not None else group

    # named whole (optics keeps only the operations that fix the current's direction, a subgroup)
    crystal_name = (point_group_name(crystal if time_reversal is True else unitary(crystal), model.dim, model.lattice)
                    if crystal else "")
    crystal_unitary = point_group_name(unitary(crystal), model.dim, model.lattice).split(" (")[0] if crystal else ""
    ops, crystal = kept(ops), kept(crystal)
    larger = len(crystal) > len(ops) and {g.key() for g in ops} <= {g.key() for g in crystal}
    if len(ops) == 1 and not larger and not (time_reversal == "per kind" and not magnet):
        return None
    return SymmetryPlan(tuple(ops), kgrid, "neumann (default): detected at the model's accuracy",
                        tuple((k, v) for k, v in breaking.items() if any(g.label() == k for g in ops)),
                        zeros_only=True, group=point_group_name(ops, model.dim, model.lattice),
                        crystal=tuple(crystal) if larger else (),
                        crystal_name=crystal_name if larger else "",
                        crystal_unitary=crystal_unitary if larger else "",
                        crystal_from=_crystal_source(model) if larger else "",
                        crystal_magnet=magnet, time_reversal_change=None if magnet else change,
                        crystal_in_fields=larger and _in_fields(model))


def _in_fields(model) -> bool:
    from ..models.onsite import FIELD_CRYSTAL

    return bool(model.parameters.get(FIELD_CRYSTAL))


def _crystal_source(model) -> str:
    """The crystal files the plan's crystal group comes from, and the fields it was reduced by."""
    from ..models.onsite import FIELD_CRYSTAL, files_record

    record = model.parameters.get(FIELD_CRYSTAL) or {}
    fields = [("an " if f["name"][0] in "aeiou" else "a ") + f["name"] for f in record.get("fields", [])]
    source = files_record(model.parameters) or (record.get("crystal_structure") or {}).get("from", "")
    return source + (f" in {' and '.join(fields)}" if fields else "")


def _keeps_time_reversal(ops: list[Operation]) -> bool:
    return any(g.time_reversal and np.allclose(g.R, np.eye(3)) for g in ops)


def _crystal_expected(model, ops: list[Operation], magnet: bool, inferred: bool) -> list[Operation]:
    """What the crystal of the model's files (their atoms) must keep: its point group × {1, T} when the
    model is non-magnetic; for a magnet only inversion, and only when it maps every atom onto itself (a
    magnetic order may break any other operation) — unless the model is a non-magnetic crystal's in exchange
    fields (`detect.magnetic_field_crystal_group`): then the crystal's magnetic group in those fields; [] when
    the files give no atoms. A non-magnetic
    crystal's model in uniform fields of known symmetry (a displacement field): the crystal's operations
    that keep them (`detect.field_crystal_group`) × {1, T}; in another time-reversal-even term (no atoms'
    group any more; `inferred`: its T breaking is the files') the group it keeps, × {1, T}."""
    if magnet:
        # a non-magnetic crystal's model in exchange fields: the crystal's magnetic group in them
        magnetic = magnetic_field_crystal_group(model)
        if magnetic:
            return closure(magnetic)
        return closure([Operation(-np.eye(3))]) if inversion_keeps_every_site(model) else []
    structural = crystal_group(model) or field_crystal_group(model)
    if structural:
        return closure(structural + [Operation(np.eye(3), True)])
    return closure(list(ops) + [Operation(np.eye(3), True)]) if inferred else []

