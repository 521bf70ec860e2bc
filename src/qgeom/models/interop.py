"""Conversion of PythTB and TBmodels model objects into qgeom models (optional extra `interop`).

Naming of the Bloch conventions (docs/conventions.md): qgeom "I" = phases e^{ik·R} (Wannier90
default; PythTB/TBmodels call it "convention 2"); qgeom "II" = e^{ik·(R+τ_j−τ_i)} (PythTB's H(k),
TBmodels' `hamilton(k, convention=1)`). Both converters return convention II by default, so that
`model.hamiltonian(k)` equals the source's own H(k) matrix; pass convention="I" for the other.
k is Cartesian in qgeom: k_cart = k_reduced @ (reciprocal lattice), i.e. k·R = 2π k_red·n.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .._validation import QgeomInputError
from .base import Model
from .tight_binding import TightBindingModel
from .orbital_positions import OrbitalPositionModel, check_convention


def _finish(R, t, lattice, positions_red, convention, name, parameters, length_unit, energy_unit) -> Model:
    convention = check_convention(convention)
    lattice = np.asarray(lattice, float)
    params = {**parameters, "convention": "I"}
    base = TightBindingModel(np.asarray(R), np.asarray(t), lattice=lattice, name=name, parameters=params,
                             energy_unit=energy_unit, length_unit=length_unit)
    if convention == "I":
        return base
    return OrbitalPositionModel(base, np.asarray(positions_red, float) @ lattice)


def from_pythtb(tb, *, convention: str = "II", name: str = "pythtb", energy_unit: str = "model",
                length_unit: str = "a") -> Model:
    """qgeom model from a `pythtb.tb_model` (periodic in all its real-space directions).

    Orbital ordering with spin (nspin = 2): orbital-major, spin-minor, as PythTB's own
    Hamiltonian (index = 2·orbital + spin)."""
    try:
        dim_k, dim_r, norb, nspin = tb._dim_k, tb._dim_r, tb._norb, tb._nspin
        lat, orb, site, hops = np.asarray(tb._lat, float), np.asarray(tb._orb, float), tb._site_energies, tb._hoppings
    except AttributeError as exc:
        raise QgeomInputError(
            f"from_pythtb expects a pythtb.tb_model (PythTB 1.7/1.8), got {type(tb).__name__} ({exc})."
        ) from None
    if dim_k == 0 or dim_k != dim_r:
        raise QgeomInputError(
            f"from_pythtb needs a model periodic in every direction (dim_k = dim_r), got dim_k={dim_k}, dim_r={dim_r}; "
            f"finite or slab PythTB models are not Bloch models of the same dimension."
        )
    nb = norb * nspin
    acc: dict[tuple[int, ...], np.ndarray] = {}

    def add(R, i, j, block):
        key = tuple(int(x) for x in R)
        if key not in acc:
            acc[key] = np.zeros((nb, nb), complex)
        if nspin == 1:
            acc[key][i, j] += complex(block)
        else:
            acc[key][2 * i:2 * i + 2, 2 * j:2 * j + 2] += np.asarray(block, complex)

    zero = np.zeros(dim_r, int)
    for i in range(norb):
        add(zero, i, i, site[i])
    for hop in hops:
        amp = np.asarray(hop[0], complex)
        i, j = int(hop[1]), int(hop[2])
        R = np.rint(np.asarray(hop[3], float)).astype(int)
        add(R, i, j, amp)
        add(-R, j, i, amp.conj().T if amp.ndim == 2 else np.conj(amp))
    R = np.array(list(acc.keys()), int)
    t = np.array(list(acc.values()))
    pos = np.repeat(orb, nspin, axis=0)
    return _finish(R, t, lat, pos, convention, name, {"source": "pythtb", "nspin": int(nspin)},
                   length_unit, energy_unit)


def from_tbmodels(model, *, convention: str = "II", name: str = "tbmodels", energy_unit: str = "model",
                  length_unit: str = "a") -> Model:
    """qgeom model from a `tbmodels.Model`: H = Σ_R hop[R] e^{ik·R} + h.c. (TBmodels stores one of
    each ±R pair, and half of the on-site block)."""
    try:
        hop, uc, pos, size = model.hop, model.uc, model.pos, model.size
    except AttributeError as exc:
        raise QgeomInputError(f"from_tbmodels expects a tbmodels.Model, got {type(model).__name__} ({exc}).") from None
    if uc is None:
        raise QgeomInputError("the TBmodels model has no unit cell (uc=None): set uc= before converting.")
    acc: dict[tuple[int, ...], np.ndarray] = {}
    for R, mat in hop.items():
        m = np.asarray(mat.toarray() if hasattr(mat, "toarray") else mat, complex)
        for key, val in ((tuple(int(x) for x in R), m), (tuple(-int(x) for x in R), m.conj().T)):
            acc[key] = acc.get(key, np.zeros((size, size), complex)) + val
    R = np.array(list(acc.keys()), int)
    t = np.array(list(acc.values()))
    return _finish(R, t, uc, pos, convention, name, {"source": "tbmodels"}, length_unit, energy_unit)


def describe_source(obj: Any) -> str:
    """A short name of a supported foreign model type (for error messages and metadata)."""
    mod = type(obj).__module__.split(".")[0]
    return {"pythtb": "PythTB", "tbmodels": "TBmodels"}.get(mod, type(obj).__name__)
