"""Restore time reversal of a spinor Wannier model in real space (opt-in).

Θ = U K with U = iσ_y on each spin pair: Θ|i↑⟩ = |i↓⟩, Θ|i↓⟩ = −|i↑⟩ for Wannier functions made as
(orbital ⊗ spin) pairs with real orbital parts. Time reversal holds when H(R) = U H(R)* U† for every R
(convention I or II: the centres are real and Kramers partners share one). The symmetrized model has
H(R) → ½(H(R) + U H(R)* U†) and the partners' centres averaged; the size of what was removed is
returned with it. Spin order: "block" (all spin-up orbitals first: VASP2Wannier90, WannierTools) or
"interleaved" (↑↓ per orbital: pw2wannier90); "auto" takes the model's `spinor_ordering` parameter,
else the order whose partners share their Wannier centres, else the one that breaks T least.
"""

from __future__ import annotations

import numpy as np

from .._validation import QgeomInputError
from .base import Model
from .tight_binding import TightBindingModel

SPINOR_ORDERINGS = ("auto", "block", "interleaved")


def time_reversal_matrix(nbands: int, ordering: str) -> np.ndarray:
    """U of Θ = U K (real orbital parts) for `nbands` spinor Wannier functions in `ordering`."""
    if nbands % 2:
        raise QgeomInputError(f"time reversal of spinor Wannier functions needs an even number of orbitals, got {nbands}.")
    M = nbands // 2
    up = np.arange(M) if ordering == "block" else 2 * np.arange(M)
    dn = up + M if ordering == "block" else up + 1
    U = np.zeros((nbands, nbands))
    U[dn, up], U[up, dn] = 1.0, -1.0
    return U


def _breaking(t: np.ndarray, U: np.ndarray) -> float:
    return float(np.abs(t - U @ t.conj() @ U.T).max())


def _ordering(model: Model, t: np.ndarray, ordering: str) -> str:
    if ordering not in SPINOR_ORDERINGS:
        raise QgeomInputError(f"spinor_ordering must be one of {SPINOR_ORDERINGS}, got {ordering!r}.")
    if ordering != "auto":
        return ordering
    if model.parameters.get("spinor_ordering") in ("block", "interleaved"):
        return model.parameters["spinor_ordering"]
    tau = getattr(model, "positions", None)
    if tau is not None:
        M = len(tau) // 2
        gaps = {"block": np.abs(tau[:M] - tau[M:]).max(), "interleaved": np.abs(tau[0::2] - tau[1::2]).max()}
        best = min(gaps, key=gaps.get)
        if gaps[best] < 0.1 < max(gaps.values()):
            return best
    return min(("block", "interleaved"), key=lambda o: _breaking(t, time_reversal_matrix(t.shape[1], o)))


def restore_time_reversal(model: Model, *, spinor_ordering: str = "auto") -> Model:
    """The model with H(R) → ½(H(R) + U H(R)* U†) (and Kramers partners' centres averaged). The removed
    breaking is recorded in `parameters["time_reversal_restored"]`: the spin order used, max |ΔH(R)| (eV) and
    the largest centre shift (Å). For non-magnetic models only: a magnet's exchange splitting is T-odd."""
    from .wannier90 import OrbitalPositionModel

    base = getattr(model, "base", model)
    if not isinstance(base, TightBindingModel):
        raise QgeomInputError(f"restore_time_reversal needs a tight-binding model, got {type(model).__name__}.")
    order = _ordering(model, base.t, spinor_ordering)
    U = time_reversal_matrix(base.nbands, order)
    t_sym = 0.5 * (base.t + U @ base.t.conj() @ U.T)
    report = {"spinor_ordering": order, "max_abs_change_eV": float(np.abs(t_sym - base.t).max())}
    tau = getattr(model, "positions", None)
    if tau is not None:
        partner = np.abs(U).argmax(axis=0)
        tau_sym = 0.5 * (tau + tau[partner])
        report["max_centre_shift_A"] = float(np.abs(tau_sym - tau).max())
    params = {**base.parameters, "time_reversal_restored": report}
    sym = TightBindingModel(base.R, t_sym, lattice=base.lattice, name=base.name, parameters=params,
                            operators=base.operators, energy_unit=base.energy_unit, length_unit=base.length_unit)
    if isinstance(model, OrbitalPositionModel):
        return OrbitalPositionModel(sym, tau_sym)
    return sym


__all__ = ["SPINOR_ORDERINGS", "restore_time_reversal", "time_reversal_matrix"]
