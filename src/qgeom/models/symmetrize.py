"""Restore time reversal of a spinor Wannier model in real space (opt-in).

Θ = U K with U = iσ_y on each spin pair: Θ|i↑⟩ = |i↓⟩, Θ|i↓⟩ = −|i↑⟩ for Wannier functions made as
(orbital ⊗ spin) pairs with real orbital parts. Time reversal holds when H(R) = U H(R)* U† for every R
(convention I or II: the centres are real and Kramers partners share one). The symmetrized model has
H(R) → ½(H(R) + U H(R)* U†) and the partners' centres averaged; the size of what was removed is
returned with it. Spin order: "block" (all spin-up orbitals first: VASP2Wannier90, WannierTools) or
"interleaved" (↑↓ per orbital: pw2wannier90); "fitted": Wannier functions that are not (orbital ⊗ spin)
products, e.g. spinor sp³ hybrids (the shipped GaAs model): U is fitted to the hoppings, block diagonal
over the Wannier functions that share a centre (Θ keeps centres), as the null vector of
U ↦ {U H(R)* − H(R) U}_R, made unitary, and accepted only when it is one (U U* = −1, the next singular
value ≥ FIT_GAP times larger). "auto" takes the model's `spinor_ordering` parameter, else the order whose
partners share their Wannier centres, else "fitted" when the centres are known and the fit is accepted,
else the order that breaks T least.
"""

from __future__ import annotations

import numpy as np

from .._validation import QgeomInputError
from .base import Model
from .tight_binding import TightBindingModel

SPINOR_ORDERINGS = ("auto", "block", "interleaved", "fitted")
FIT_GAP = 100.0  # the fitted U must be separated from other near-solutions by this singular-value ratio


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


def fitted_time_reversal(t: np.ndarray, centres: np.ndarray) -> tuple[np.ndarray | None, str]:
    """U of Θ = U K fitted to the hoppings t [nR, N, N], block diagonal over equal `centres` (Å), or
    (None, why) when no unitary U with U U* = −1 fits clearly better than any other matrix."""
    N = t.shape[1]
    I, J = np.nonzero(np.linalg.norm(centres[:, None] - centres[None], axis=-1) < 1e-3)
    n, c = len(I), np.arange(len(I))
    # (U t*)_il = Σ_j U_ij t*_jl and (t U)_lj = Σ_i t_li U_ij, linear in the allowed entries U_IJ
    A = np.zeros((len(t), N, N, n), complex)
    A[:, I, :, c] = t.conj()[:, J, :].transpose(1, 0, 2)  # separated advanced indices: [n, nR, N]
    A[:, :, J, c] -= t[:, :, I]  # adjacent advanced indices stay in place: [nR, N, n]
    _, s, vh = np.linalg.svd(A.reshape(-1, n), full_matrices=False)
    U = np.zeros((N, N), complex)
    U[I, J] = vh[-1].conj()
    W, _, V = np.linalg.svd(U)
    U = W @ V  # nearest unitary
    if len(s) < 2 or s[-2] < FIT_GAP * s[-1]:
        return None, f"no isolated solution (singular values {s[-2]:.3g}, {s[-1]:.3g})"
    if np.abs(U @ U.conj() + np.eye(N)).max() > 1e-6:
        return None, "the fitted operator does not square to -1 (not a spinor time reversal)"
    return U, ""


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
        if fitted_time_reversal(t, np.asarray(tau))[0] is not None:
            return "fitted"
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
    tau = getattr(model, "positions", None)
    if order == "fitted":
        if tau is None:
            raise QgeomInputError("spinor_ordering='fitted' needs the Wannier centres (a model read with from_wannier90).")
        U, why = fitted_time_reversal(base.t, np.asarray(tau))
        if U is None:
            raise QgeomInputError(f"no time-reversal operator fits the hoppings of {model.name!r}: {why}. "
                                  "Pass spinor_ordering='block' or 'interleaved' if the basis is (orbital x spin).")
    else:
        U = time_reversal_matrix(base.nbands, order)
    t_sym = 0.5 * (base.t + U @ base.t.conj() @ U.conj().T)
    report = {"spinor_ordering": order, "max_abs_change_eV": float(np.abs(t_sym - base.t).max())}
    if tau is not None:
        partner = np.abs(U).argmax(axis=0)
        tau_sym = 0.5 * (tau + tau[partner])
        report["max_centre_shift_A"] = float(np.abs(tau_sym - tau).max())
    params = {**base.parameters, "time_reversal_restored": report}
    if "orbital_heights" in params:  # 2D models: the heights a displacement field acts on are centres too
        h = np.asarray(params["orbital_heights"], float)
        params["orbital_heights"] = (0.5 * (h + h[np.abs(U).argmax(axis=0)])).tolist()
    sym = TightBindingModel(base.R, t_sym, lattice=base.lattice, name=base.name, parameters=params,
                            operators=base.operators, energy_unit=base.energy_unit, length_unit=base.length_unit)
    if isinstance(model, OrbitalPositionModel):
        return OrbitalPositionModel(sym, tau_sym)
    return sym


__all__ = ["SPINOR_ORDERINGS", "fitted_time_reversal", "restore_time_reversal", "time_reversal_matrix"]
