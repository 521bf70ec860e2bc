"""Two-dimensional materials from three-dimensional Wannier models, and a vertical displacement field.

A monolayer computed by a plane-wave code sits in a 3D cell with vacuum along one lattice vector; its
Wannier model has no hopping across the vacuum (every R has a zero component along that vector), so
H(k) does not disperse along k_⊥. Integrated as a 3D model, every response is divided by the cell
*volume* — the vacuum thickness enters the result. `as_two_dimensional` returns the d = 2 model on the
in-plane lattice, so responses are per unit *area* (σ_abc in A m V⁻², sheet quantities) and the vacuum
does not enter.

In-plane Cartesian frame: e1 = a_i/|a_i| (the first in-plane lattice vector), n = the unit normal
(a_i × a_j, pointing along the vacuum vector), e2 = n × e1. Orbital heights h_i = τ_i·n (Å) are kept in
`model.parameters["orbital_heights"]` for `with_displacement_field`.
"""

from __future__ import annotations

import numpy as np

from .._validation import QgeomInputError, as_finite_array
from .base import Model
from .orbital_positions import OrbitalPositionModel
from .tight_binding import TightBindingModel


def vacuum_axis(model: Model) -> int | None:
    """The lattice vector along which no hopping reaches (every R has a zero component), if exactly one
    lattice vector has that property and hoppings reach along both others; else None."""
    base = getattr(model, "base", model)
    if not isinstance(base, TightBindingModel) or base.dim != 3:
        return None
    empty = [c for c in range(3) if not np.any(base.R[:, c])]
    return empty[0] if len(empty) == 1 else None


def _frame(lattice: np.ndarray, axis: int) -> tuple[np.ndarray, np.ndarray]:
    """(in-plane orthonormal frame rows [e1, e2], unit normal n) for the lattice vectors other than `axis`."""
    i, j = [c for c in range(3) if c != axis]
    n = np.cross(lattice[i], lattice[j])
    n /= np.linalg.norm(n)
    if n @ lattice[axis] < 0:
        n = -n
    e1 = lattice[i] / np.linalg.norm(lattice[i])
    return np.array([e1, np.cross(n, e1)]), n


def as_two_dimensional(model: Model) -> Model:
    """The d = 2 model of a 3D tight-binding model with no hopping along one lattice vector (a monolayer in a
    slab cell). H(k_∥) is unchanged; the lattice becomes the two in-plane vectors in the frame (e1, e2), so the
    cell volume is the in-plane area and k-integrals run over the 2D Brillouin zone. Works on a
    `TightBindingModel` and on a convention-II `OrbitalPositionModel` (positions projected on the plane)."""

    base = getattr(model, "base", model)
    if not isinstance(base, TightBindingModel) or base.dim != 3:
        raise QgeomInputError(f"as_two_dimensional needs a 3D tight-binding model, got {type(model).__name__} "
                              f"with dim = {model.dim}.")
    axis = vacuum_axis(model)
    if axis is None:
        per_axis = [int(np.abs(base.R[:, c]).max()) for c in range(3)]
        raise QgeomInputError(
            f"model {model.name!r} is not a single layer: hoppings reach |R| = {per_axis} along the three lattice "
            f"vectors; a 2D model needs exactly one lattice vector without hopping (the vacuum direction)."
        )
    frame, n = _frame(base.lattice, axis)
    keep = [c for c in range(3) if c != axis]
    params = {**base.parameters, "two_dimensional": {
        "vacuum_axis": f"a{axis + 1}", "in_plane_frame": frame.tolist(), "normal": n.tolist(),
        "cell_height": float(base.lattice[axis] @ n), "area": float(abs(np.linalg.det(base.lattice[keep] @ frame.T))),
    }}
    positions = getattr(model, "positions", None)
    if positions is not None:
        params["orbital_heights"] = (positions @ n).tolist()
    if "crystal_structure" in params:  # into the plane's frame (e1, e2, n): its point group acts on this model
        cs = params["crystal_structure"]
        to_frame = np.vstack([frame, n]).T  # Cartesian row r -> (r·e1, r·e2, r·n)
        params["crystal_structure"] = {**cs, "lattice": (np.asarray(cs["lattice"]) @ to_frame).tolist(),
                                       "atoms": [[a[0], *(np.asarray(a[1:]) @ to_frame).tolist()] for a in cs["atoms"]]}
    flat = TightBindingModel(
        base.R[:, keep], base.t, lattice=base.lattice[keep] @ frame.T, name=base.name, parameters=params,
        operators=base.operators, energy_unit=base.energy_unit, length_unit=base.length_unit,
    )
    if not isinstance(model, OrbitalPositionModel):
        return flat
    wp = None
    if model.has_position_matrix:
        wp = (model.position_R[:, keep], model.position_r @ frame.T)
    return OrbitalPositionModel(flat, positions @ frame.T, wannier_positions=wp)


# the symmetry of a field along the normal: a polar vector, even under time reversal (`models.onsite.FIELD_CRYSTAL`)
DISPLACEMENT_FIELD = {"name": "displacement field", "vector": [0.0, 0.0, 1.0], "axial": False,
                      "time_reversal_odd": False}


def with_displacement_field(model: Model, field: float, *, heights=None) -> Model:
    """The model in a uniform electric field `field` (V/Å) along the layer normal: the electron's potential
    energy U(h) = e·field·(h − h̄) (eV; e > 0, so field > 0 pushes electron energy up on the top side) is
    added on-site, H_ii(R = 0) += U(h_i), with h_i the orbital heights (Å) and h̄ their mean (the zero of the
    potential; it only shifts μ). Heights: `heights=`, else `model.parameters["orbital_heights"]` (set by
    `as_two_dimensional`), else the z of the orbital positions of a 3D convention-II model.
    A potential linear in the Wannier centres: the off-diagonal z-matrix elements are not included.
    Only for two-dimensional models (d = 2, or a 3D slab with vacuum along z): a bulk crystal has no layer normal."""
    from .onsite import add_onsite

    field = float(as_finite_array(field, "field (V/Å)"))
    base = getattr(model, "base", model)
    if not isinstance(base, TightBindingModel):
        raise QgeomInputError(f"with_displacement_field needs a tight-binding model, got {type(model).__name__}.")
    _check_layer(model, base)
    h = _heights(model, heights)
    # along the normal: z of a 3D model's frame, n of a 2D one's (e1, e2, n), its crystal structure's frame too
    return add_onsite(model, np.diag(field * (h - h.mean())), {"displacement_field_V_per_A": field},
                      time_reversal_even=True, field=DISPLACEMENT_FIELD)


def _check_layer(model: Model, base: TightBindingModel) -> None:
    """A displacement field points along a layer's normal: a bulk crystal has none (its potential, linear in the
    height, is not periodic; a field on the heights within one cell would be an arbitrary sawtooth). A 3D slab's
    normal must be z, the axis its heights and the field's symmetry record take."""
    if model.dim == 2:
        return
    axis = vacuum_axis(model)
    if axis is None:
        reach = [int(np.abs(base.R[:, c]).max()) for c in range(base.dim)]
        reach = f"hoppings reach |R| = {reach} along its lattice vectors"
        raise QgeomInputError(
            f"with_displacement_field: model {model.name!r} is not two-dimensional ({reach}, no vacuum direction): a "
            f"displacement field points along a layer's normal, which a {model.dim}D crystal does not have. Use a "
            f"monolayer's model (from_wannier90 returns the 2D model of a slab cell with vacuum along one lattice "
            f"vector) or a two-dimensional library model.")
    normal = _frame(base.lattice, axis)[1]
    if abs(normal[2]) < 1 - 1e-3:
        raise QgeomInputError(
            f"with_displacement_field: the layer normal of the 3D slab model {model.name!r} is "
            f"({', '.join(f'{x:.4f}' for x in normal)}), not z, the field's direction in a 3D model: take its 2D "
            f"model, as_two_dimensional(model) (from_wannier90's default dimension='auto').")


def _heights(model: Model, heights) -> np.ndarray:
    if heights is not None:
        h = as_finite_array(heights, "heights")
    elif "orbital_heights" in model.parameters:
        h = np.asarray(model.parameters["orbital_heights"], float)
    elif getattr(model, "positions", None) is not None and model.dim == 3:
        h = model.positions[:, 2]
    else:
        raise QgeomInputError(
            "the orbital heights are unknown: pass heights=[...] (Å, one per orbital), or use a model with Wannier "
            "centres (convention II, e.g. from_wannier90 with a .wout or _centres.xyz)."
        )
    if h.shape != (model.nbands,):
        raise QgeomInputError(f"heights must have one value per orbital ({model.nbands}), got shape {h.shape}.")
    return h


__all__ = ["as_two_dimensional", "vacuum_axis", "with_displacement_field"]
