"""On-site (R = 0) terms added to a tight-binding or Wannier model: the one place that rebuilds a
model with a changed on-site block (used by the displacement field and the exchange field).

`with_exchange_field(model, exchange, axis="z")` adds J σ_axis ⊗ 1 on the spinor basis — a uniform
exchange (or Zeeman) field of a magnetic substrate or dopants, the simplest way to break time
reversal of a non-magnetic Wannier model. The spin order of the basis is that of
`qgeom.models.symmetrize` ("block": all spin-up first; "interleaved": ↑↓ per orbital); bases of
spinor hybrids (spinor_ordering "fitted") have no orbital-independent σ and are refused.
"""

from __future__ import annotations

import numpy as np

from .._validation import QgeomInputError, as_finite_array
from .base import Model
from .orbital_positions import OrbitalPositionModel
from .tight_binding import TightBindingModel

PAULI = {"x": np.array([[0, 1], [1, 0]], complex), "y": np.array([[0, -1j], [1j, 0]]),
         "z": np.array([[1, 0], [0, -1]], complex)}


# parameters key of a crystal's files' Wannier model changed only by time-reversal-even on-site terms (a
# displacement field): its own T breaking is still the files' (symmetry.detect.time_reversal_restoring_change)
TIME_REVERSAL_REFERENCE = "time_reversal_reference"
# parameters key of a crystal's files' model changed by uniform fields whose symmetry is known: the crystal's
# structure and the fields ({"name", "vector" (Cartesian, the model's frame), "axial", "time_reversal_odd"}),
# so the crystal's operations that keep every field still give zeros (`symmetry.detect.field_crystal_group`)
FIELD_CRYSTAL = "crystal_in_fields"


def files_record(parameters: dict) -> str:
    """The crystal's files a model's time-reversal record comes from: its crystal structure's source (a model as
    read), else TIME_REVERSAL_REFERENCE (changed since by T-even on-site terms only); '' when it has neither."""
    return (parameters.get("crystal_structure") or {}).get("from") or parameters.get(TIME_REVERSAL_REFERENCE) or ""


def add_onsite(model: Model, matrix: np.ndarray, parameters: dict, *, time_reversal_even: bool = False,
               field: dict | None = None) -> Model:
    """The model with H(R = 0) += matrix (Hermitian, N×N) and `parameters` merged into its own;
    Wannier centres, position matrices and units kept. `time_reversal_even`: the term is even under time
    reversal (a scalar potential), so a model read from a crystal's files keeps a record of them for telling
    its Wannierization's T breaking from magnetism (TIME_REVERSAL_REFERENCE); any other term drops it.
    `field`: the term is a uniform field of this symmetry (FIELD_CRYSTAL's entries): the crystal's structure is
    kept with the fields applied so far, whose common stabilizer in the crystal's group still holds."""

    base = getattr(model, "base", model)
    if not isinstance(base, TightBindingModel):
        raise QgeomInputError(f"an on-site term needs a tight-binding model, got {type(model).__name__}.")
    r0 = np.flatnonzero(~base.R.any(axis=1))
    if len(r0) != 1:
        raise QgeomInputError("the model has no R = 0 block to put the on-site term in.")
    t = base.t.copy()
    t[r0[0]] += matrix
    # a perturbed model is no longer the crystal of its files: no crystal-group zeros (symmetry.detect)
    changed = bool(np.any(matrix))
    kept = {k: v for k, v in base.parameters.items()
            if k not in ("crystal_structure", TIME_REVERSAL_REFERENCE, FIELD_CRYSTAL) or not changed}
    source = files_record(base.parameters)
    if changed and time_reversal_even and source:
        kept[TIME_REVERSAL_REFERENCE] = source
    in_fields = base.parameters.get(FIELD_CRYSTAL) or (
        {"crystal_structure": base.parameters["crystal_structure"], "fields": []}
        if base.parameters.get("crystal_structure") else None)
    if changed and field is not None and in_fields:
        kept[FIELD_CRYSTAL] = {**in_fields, "fields": [*in_fields["fields"], field]}
    shifted = TightBindingModel(base.R, t, lattice=base.lattice, name=base.name,
                                parameters={**kept, **parameters}, operators=base.operators,
                                energy_unit=base.energy_unit, length_unit=base.length_unit)
    if isinstance(model, OrbitalPositionModel):
        wp = (model.position_R, model.position_r) if model.has_position_matrix else None
        return OrbitalPositionModel(shifted, model.positions, wannier_positions=wp)
    return shifted


def spin_matrix(nbands: int, axis: str, ordering: str) -> np.ndarray:
    """σ_axis on `nbands` spinor Wannier functions in `ordering` ("block" or "interleaved")."""
    if axis not in PAULI:
        raise QgeomInputError(f"axis must be 'x', 'y' or 'z', got {axis!r}.")
    if nbands % 2:
        raise QgeomInputError(f"a spin operator needs an even number of spinor orbitals, got {nbands}.")
    eye = np.eye(nbands // 2)
    if ordering == "block":
        return np.kron(PAULI[axis], eye)
    if ordering == "interleaved":
        return np.kron(eye, PAULI[axis])
    raise QgeomInputError(
        f"the spin order of this basis is {ordering!r}: a uniform exchange field needs (orbital x spin) Wannier "
        "functions in 'block' or 'interleaved' order; pass spinor_ordering='block' or 'interleaved' if it is one.")


def with_exchange_field(model: Model, exchange: float, *, axis: str = "z", spinor_ordering: str = "auto") -> Model:
    """The model with H(R = 0) += J σ_axis (J = `exchange`, in the model's energy unit; the spin
    splitting of a flat band is 2J). `spinor_ordering`: as in `restore_time_reversal`."""
    from .symmetrize import _ordering

    J = float(as_finite_array(exchange, "exchange"))
    base = getattr(model, "base", model)
    order = _ordering(model, base.t, spinor_ordering)
    S = spin_matrix(model.nbands, axis, order)
    # the spin axis in the model's frame (a monolayer's: e1, e2, n) — an axial, time-reversal-odd vector
    vector = np.eye(3)["xyz".index(axis)]
    plane = model.parameters.get("two_dimensional")
    if plane:
        vector = np.vstack([plane["in_plane_frame"], [plane["normal"]]]) @ vector
    field = {"name": "exchange field", "vector": vector.tolist(), "axial": True, "time_reversal_odd": True,
             "onsite": {"J": J, "axis": axis, "spinor_ordering": order}}
    return add_onsite(model, J * S, {"exchange_field": {"J": J, "axis": axis, "spinor_ordering": order}},
                      field=field)


def without_time_reversal_odd_fields(model: Model) -> Model | None:
    """The model with the exchange fields of its FIELD_CRYSTAL record removed (what it was before them, up to
    rounding), or None when it has none: whether that base is non-magnetic decides the group of the crystal in
    the fields (`symmetry.detect.field_crystal_group`)."""
    record = model.parameters.get(FIELD_CRYSTAL) or {}
    fields = [f["onsite"] for f in record.get("fields", []) if f["time_reversal_odd"] and "onsite" in f]
    if not fields:
        return None
    matrix = sum(f["J"] * spin_matrix(model.nbands, f["axis"], f["spinor_ordering"]) for f in fields)
    return add_onsite(model, -matrix, {})
