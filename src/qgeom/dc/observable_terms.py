"""The DC second-order response of any observable O: its field components and matrix-element tensors.

The response of O is Tr[O(k − A) ρ_S] at second order in A (seed [D] Eqs. B-1 – B-5 with the
current J_a = ∂_a H replaced by O). In the velocity gauge O(k − A) = O − A_c ∂_c O + ½ A_b A_c ∂_b∂_c O,
so the four terms of (B-5) read

    (IV)  V^b_ml V^c_ln ρ̃²_mln O_nm        (III) V^bc_mn ρ̃¹_mn O_nm
    (II)  V^b_mn ρ̃¹_mn (−∂_c O)_nm          (I)   ρ̃⁰_n ½(∂_b∂_c O)_nn

(for O = ∂_a H these are the current's J^a, J^ac = −∂_a∂_c H, J^abc = ½∂_a∂_b∂_c H). A k-independent
O (a layer polarization, a spin component, any constant matrix) has only (IV) and (III): its
response is Tr[O ρ⁽²⁾], the second-order density matrix of the fermionic-bath NESS. The current
(`observable="current"`, labels "abc") is `exact`'s own path; every other observable takes field
labels "bc" and the tensors below.
"""

from __future__ import annotations

import numpy as np

from .._validation import QgeomInputError, both_spellings
from ..bands import Bands
from ..models.base import Model
from ..models.blocks import orbital_blocks
from ..observables import Observable, resolve
from .components import AXES, parse_labels

CURRENT = "current"


def dc_observable(model: Model, observable) -> Observable | None:
    """None for the charge current (the default, components "abc"), else the resolved Observable.
    User callables are rejected: the velocity-gauge terms (II), (I) need ∂O and ∂∂O exactly."""
    if isinstance(observable, str) and observable == CURRENT:
        return None
    obs = resolve(model, observable)
    if obs.source == "callable":
        raise QgeomInputError(
            f"observable {obs.name!r} is a callable of k: the DC response needs its first and second "
            "k-derivatives exactly (velocity-gauge terms). Give a constant matrix, a named operator of the "
            "model, 'current', current_x|y|z or qgeom.observables.spin_current(...)."
        )
    return obs


def parse_field_components(components, dim: int) -> list[str]:
    """Field-direction labels "bc" (e.g. "xy"; a comma list, a sequence, or "all") of an observable's response."""
    allowed = AXES[:dim]
    return parse_labels(components, dim, 2, f"an observable's response in a {dim}D model: use two field "
                                            f"directions from {allowed!r} (e.g. {allowed[0] * 2!r}), or 'all' "
                                            "(three letters 'abc' are for observable='current').")


def field_indices(labels: list[str]) -> tuple[np.ndarray, np.ndarray]:
    idx = np.array([[AXES.index(ch) for ch in c] for c in labels])
    return idx[:, 0], idx[:, 1]


def observable_tensors(b: Bands, obs: Observable, comps):
    """Per-k tensors of terms (IV)–(I) for field components (b, c): T4[k, c, m, l, n] = v^b_ml v^c_ln O_nm as its
    three factors (`exact_sums.triple_tensor`), T3 = ½ w^bc_mn O_nm, T2 = v^b_mn (∂_c O)_nm, T1 = ½ (∂_b∂_c O)_nn
    [k, c, n] (zero for constant O)."""
    b.require(3)
    B, C = comps
    v, w = b.v, b.w
    OT = np.swapaxes(obs.eig(b), -1, -2)[:, None]  # O_nm at [m, n]
    T4 = (v[:, B], v[:, C], OT)
    T3 = 0.5 * w[:, B, C] * OT
    dO = obs.deig(b)
    if dO is None:  # constant O: no diamagnetic terms
        zero = np.zeros(T3.shape[:2] + (b.nbands,), complex)
        return T4, T3, np.zeros_like(T3), zero
    T2 = v[:, B] * np.swapaxes(dO[:, C], -1, -2)
    T1 = 0.5 * np.diagonal(obs.ddeig(b)[:, B, C], axis1=-2, axis2=-1)
    return T4, T3, T2, T1


def restricted(obs: Observable, orbitals: np.ndarray) -> Observable:
    """O on one decoupled orbital block. Its blocks between different H-blocks drop out exactly:
    ρ⁽²⁾ of H = ⊕ H_B is block diagonal, so Tr[O ρ⁽²⁾] = Σ_B Tr[O_BB ρ_BB]."""
    if obs.matrix is None:  # the current of each block is that block's own ∂H
        return obs
    return Observable(name=obs.name, source=obs.source, matrix=obs.matrix[np.ix_(orbitals, orbitals)],
                      direction=obs.direction, parity=obs.parity, unit=obs.unit)


def block_observables(model: Model, obs: Observable, blocks: bool) -> list[tuple[np.ndarray, Observable]]:
    """(orbitals, O restricted to them) for each decoupled block summed over (one entry when not split)."""
    parts = orbital_blocks(model) if blocks else [np.arange(model.nbands)]
    return [(idx, restricted(obs, idx)) for idx in parts]


def observable_unit(model: Model, obs: Observable, units: str) -> tuple[float, str]:
    """(factor, label) of an observable's response χ_bc, δ⟨O⟩ = χ_bc E_b E_c per unit cell volume: model
    units e = ħ = 1, [O] e² L0^(2−d)/E0² ([O] = the observable's unit; for the current [O] = e E0 L0/ħ
    gives the conductivity's e³ L0^(3−d)/(ħ E0)). SI is implemented for the current only."""
    from ..units import UNIT_CHOICES

    if units not in UNIT_CHOICES:
        raise QgeomInputError(f"units must be one of {UNIT_CHOICES}, got {units!r}.")
    if units == "si":
        raise QgeomInputError(
            both_spellings("units='si'", "--units si") + f" is implemented for the current only; the response of "
            f"{obs.name!r} is given in model units: use "
            + both_spellings("units='model' or 'auto'", "--units model or auto") + "."
        )
    return 1.0, f"[{obs.unit}] e^2 {model.length_unit}^{2 - model.dim} / {model.energy_unit}^2"


def observable_attrs(obs: Observable) -> dict[str, str]:
    """What a result records about its observable."""
    return {"observable": obs.name, "observable_source": obs.source, "observable_unit": obs.unit,
            "pt_parity": str(obs.parity),
            "response_definition": "sigma_bc: the second-order DC response of <O> per unit cell volume, "
                                   "Tr[O rho^(2)] (+ the velocity-gauge terms of a k-dependent O), in the "
                                   "sigma convention of the current (seed: <O> = 1/2 sum_bc sigma_bc E_b E_c)"}
