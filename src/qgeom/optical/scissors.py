"""Scissors correction of the optical module (Wannier90/postw90 `scissors_shift`, WannierBerri style).

What is done
------------
Bands n = 0 … n_v − 1 (ascending at every k) are valence, n ≥ n_v conduction. The scissored
Hamiltonian is H'(k) = H(k) + Δ P_c(k), P_c(k) = Σ_{c ≥ n_v} |c k⟩⟨c k|:

* energies:   ε'_n = ε_n + Δ θ_n   (θ_n = 1 for conduction bands), eigenvectors unchanged;
* velocities: v'_nm = ⟨n|∂H'|m⟩ = v_nm + Δ⟨n|∂P_c|m⟩ = v_nm · ε'_nm / ε_nm  for n, m in different
  groups (⟨v|∂P_c|c⟩ = ⟨v|∂c⟩ = v_vc/(ε_c − ε_v)); v'_nm = v_nm inside a group (⟨c|∂P_c|c'⟩ =
  ∂⟨c|c'⟩ = 0). This is exactly postw90's rescaling and keeps the interband position (Berry
  connection) r_nm = v_nm/(iε_mn) = v'_nm/(iε'_mn) unchanged: the "length-gauge" scissors.

Why the response weights need no rescaling for the current
----------------------------------------------------------
Every weight of `terms.py` is built from the Berry connection A^a_nm (= r_nm, unchanged), the
intraband blocks O^D of the observable, and, for the shift-like term, the covariant derivative
B^a = ⟨n|∂_a Õ_op|m⟩ of Õ_op = Σ_{D≠D'} P_D O P_D'/(ε_D − ε_D'). For the current O = ∂_γH' of the
scissored Hamiltonian, Õ'_op = Õ_op exactly (v'_vc/ε'_vc = v_vc/ε_vc, and intra-group elements and
energy differences are unchanged), O'^D = O^D (intraband velocities do not see a rigid shift), hence
B' = B: **all weights of the current response are those of the unscissored bands; only the
transition energies in δ(ħω + ε_nm), P, Pf move: ε'_nm = ε_nm + Δ(θ_n − θ_m)**. This is what
`response(..., scissors=...)` does (and what WannierBerri's a-posteriori σ(ω − Δ) amounts to for a
δ-kernel with μ in the gap). It needs a true gap between bands n_v − 1 and n_v at every k (checked).

For other observables (a k-independent matrix O) the scissored Hamiltonian changes the
energy denominators inside Õ = O_nm/ε'_nm as well; that is not implemented and `resolve` rejects it.
The postw90 transformation of a `Bands` chunk (ε', v') itself is a test reference (tests/optical/optical_refs.py).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .._validation import QgeomInputError, both_spellings
from ..bands import Bands

OFF = (None, False, "none", "off")


@dataclass(frozen=True)
class Scissors:
    """Rigid shift `shift` (model energy unit) of the bands n ≥ `n_valence` (0-based count of valence bands)."""

    shift: float
    n_valence: int

    def theta(self, nbands: int) -> np.ndarray:
        """θ_n = 1 for conduction bands, [N]."""
        return (np.arange(nbands) >= self.n_valence).astype(float)

    def check_gap(self, b: Bands) -> None:
        """The valence/conduction split must not cut a degenerate subspace, and ε'_c > ε'_v at every k."""
        nv = self.n_valence
        cut = b.labels[:, nv] == b.labels[:, nv - 1]
        gap = b.energies[:, nv] - b.energies[:, nv - 1] + self.shift
        if np.any(cut) or np.any(gap <= 0):
            i = int(np.argmax(cut | (gap <= 0)))
            raise QgeomInputError(
                f"scissors: no gap between band {nv} and band {nv + 1} (1-based) at k = {np.round(b.k[i], 6).tolist()} "
                f"(ε_{nv + 1} − ε_{nv} = {b.energies[i, nv] - b.energies[i, nv - 1]:.6g}, shift {self.shift:g}); the "
                f"scissors correction needs an insulator with n_valence = {nv} filled bands."
            )

    def transition_shift(self, nbands: int) -> np.ndarray:
        """Δ(θ_n − θ_m) at [n, m]: ε'_nm − ε_nm."""
        th = self.theta(nbands)
        return self.shift * (th[:, None] - th[None, :])

    def as_dict(self) -> dict:
        return {"scissors_shift": self.shift, "num_valence_bands": self.n_valence}


def resolve(model, scissors, observable=None) -> Scissors | None:
    """Validate the `scissors` keyword of `response`.

    None / False / "none" / "off": no scissors. "model" or "auto": `model.parameters`'
    `scissors_shift` and `num_valence_bands` (from the Wannier90 .win); "auto" gives None when the
    model has none, "model" raises. A number: that shift with the model's `num_valence_bands`.
    A pair (shift, n_valence). A `Scissors`.
    """
    if isinstance(scissors, str):
        scissors = _from_string(model, scissors)
    if scissors in OFF:
        return None
    sc = _as_scissors(model, scissors)
    if not np.isfinite(sc.shift):
        raise QgeomInputError(f"scissors shift must be finite, got {sc.shift!r}.")
    if not 1 <= sc.n_valence < model.nbands:
        raise QgeomInputError(
            f"scissors n_valence must be between 1 and nbands − 1 = {model.nbands - 1}, got {sc.n_valence}."
        )
    if observable is not None and getattr(observable, "source", None) != "current":
        raise QgeomInputError(
            f"scissors is implemented for the current observable only (current_x|y|z), not {observable.name!r}: "
            f"for a k-independent observable the scissored energy denominators in O_nm/ε_nm would change too."
        )
    return sc


def _from_string(model, scissors: str):
    """A string keyword → None (off / "auto" without model data), a shift, or the model's (shift, n_valence)."""
    key = scissors.strip().lower()
    if key in OFF:
        return None
    if key not in ("model", "auto"):
        try:
            return float(key)
        except ValueError:
            raise QgeomInputError(
                f"scissors must be 'model', 'auto', 'none', a shift or (shift, n_valence); got {scissors!r}."
            ) from None
    params = model.parameters or {}
    if "scissors_shift" not in params or "num_valence_bands" not in params:
        if key == "auto":
            return None
        raise QgeomInputError(
            both_spellings("scissors='model'", "--scissors model") + f" but model {model.name!r} carries no "
            f"scissors_shift/num_valence_bands (they come from a Wannier90 .win); pass "
            f"{both_spellings('scissors=(shift, n_valence)')}."
        )
    return (params["scissors_shift"], params["num_valence_bands"])


def _as_scissors(model, scissors) -> Scissors:
    """A `Scissors`, a shift (with the model's num_valence_bands) or a pair (shift, n_valence) → `Scissors`."""
    if isinstance(scissors, Scissors):
        return scissors
    if isinstance(scissors, (int, float, np.floating, np.integer)) and not isinstance(scissors, bool):
        nv = (model.parameters or {}).get("num_valence_bands")
        if nv is None:
            given = both_spellings(f"scissors={scissors!r}", f"--scissors {scissors}")
            raise QgeomInputError(
                f"{given} needs the number of valence bands: pass {both_spellings('scissors=(shift, n_valence)')}; "
                f"model {model.name!r} has no num_valence_bands (a Wannier90 model's .win gives it)."
            )
        return Scissors(float(scissors), nv)
    try:
        shift, nv = scissors
    except (TypeError, ValueError):
        raise QgeomInputError(f"scissors must be a shift or (shift, n_valence); got {scissors!r}.") from None
    if isinstance(nv, bool) or not float(nv).is_integer():
        raise QgeomInputError(f"scissors n_valence must be an integer, got {nv!r}.")
    return Scissors(float(shift), int(nv))


__all__ = ["Scissors", "resolve"]
