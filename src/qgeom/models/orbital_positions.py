"""Convention II (the tight-binding convention): H^II_ij(k) = Σ_R t_R,ij e^{ik·(R+τ_j−τ_i)} with the orbital
positions τ_i, as a wrapper of a convention-I `TightBindingModel` (docs/conventions.md, docs/wannier90.md). Wannier90
models with known centres, PythTB/TBmodels models and the seed library's lattice models use it."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from .._validation import QgeomInputError, as_finite_array
from .base import Model
from .fourier import FourierSeries
from .tight_binding import FourierSeriesModel, TightBindingModel

CONVENTIONS = ("I", "II")



class OrbitalPositionModel(FourierSeriesModel):
    """Convention II: H^II_ij(k) = e^{−ik·τ_i} H^I_ij(k) e^{ik·τ_j} = Σ_R t_R,ij e^{ik·(R+τ_j−τ_i)}.

    Wraps a (convention-I) TightBindingModel; derivatives follow elementwise from
    ∂_a → ∂_a + iΔ_a with Δ_ij = τ_j − τ_i, so they stay exact to every order.
    Band energies equal those of `base`; eigenvectors differ by the phases e^{ik·τ_i}.
    Operators are taken in the orbital basis unchanged (exact for operators that couple only
    orbitals with the same centre, e.g. spin on spinor Wannier functions of one site).

    positions : [N, d] Cartesian orbital positions τ_i in the model's length unit.
    wannier_positions : optional (R [nP, d] int, r [nP, N, N, d] complex): the Wannier position matrix
        r_ij(R) = <0i|r|Rj> − τ_i δ_ij δ_R0 (off-diagonal / full position operator, experimental; see
        `position_matrix`). None: the tight-binding position operator (centres only).
    """

    convention = "II"

    def __init__(self, base: TightBindingModel, positions, *, name: str | None = None,
                 parameters: Mapping[str, Any] | None = None, wannier_positions=None):
        if not isinstance(base, TightBindingModel):
            raise QgeomInputError(f"OrbitalPositionModel wraps a TightBindingModel, got {type(base).__name__}.")
        tau = as_finite_array(positions, "orbital positions")
        if tau.shape != (base.nbands, base.dim):
            raise QgeomInputError(
                f"orbital positions must have shape ({base.nbands}, {base.dim}) (Cartesian, one row per orbital), got {tau.shape}."
            )
        self.base = base
        self.positions = tau
        self.dim, self.nbands, self.lattice = base.dim, base.nbands, base.lattice
        self.name = name or base.name
        self.parameters = {**base.parameters, **(parameters or {}), "convention": "II"}
        self.energy_unit, self.length_unit = base.energy_unit, base.length_unit
        self.operators = base.operators
        self._iDelta = 1j * (tau[None, :, :] - tau[:, None, :]).transpose(2, 0, 1)  # [d, N, N], τ_j − τ_i
        self.position_R = self.position_r = None
        if wannier_positions is not None:
            self.position_R = np.asarray(wannier_positions[0], int)
            self.position_r = np.asarray(wannier_positions[1], complex)
            if self.position_r.shape != (len(self.position_R), self.nbands, self.nbands, self.dim):
                raise QgeomInputError(f"wannier_positions: r must be [nR, {self.nbands}, {self.nbands}, {self.dim}], "
                                      f"got {self.position_r.shape}.")

    @property
    def has_position_matrix(self) -> bool:
        """True when the model carries the full Wannier position matrix (`wannier_positions`)."""
        return self.position_r is not None

    def position_matrix(self, k: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Wannier-gauge position matrix Ā^c(k) = Σ_R e^{ik·(R+τ_j−τ_i)} r^c_ij(R) (Hermitian part)
        [nk, d(c), N, N] and its derivative ∂_a Ā^c [nk, d(a), d(c), N, N], in the phase convention of
        `_hamiltonian` (WannierBerri's AA with Wannier-centre phases, so that Ā = U†Ā^W U pairs with the same
        eigenvectors U)."""
        k = np.asarray(k, float)
        Rc, r = self.position_R @ self.lattice, self.position_r  # r: [nP, N, N, c]
        w = np.concatenate([r[:, None], 1j * Rc[:, :, None, None, None] * r[:, None]], axis=1)  # [nP, 1+d, N, N, c]
        nk, d, N = len(k), self.dim, self.nbands
        w = w.transpose(0, 1, 4, 2, 3).reshape(len(Rc), -1)
        out = (np.exp(1j * (k @ Rc.T)) @ w).reshape(nk, 1 + d, d, N, N)
        ph = np.exp(1j * (k @ self.positions.T))
        phase = ph.conj()[:, None, :, None] * ph[:, None, None, :]  # [nk, 1, N, N], e^{ik·(τ_j−τ_i)}
        A = out[:, 0] * phase
        # ∂_a of the phase e^{ik·(τ_j−τ_i)} gives the i(τ_j − τ_i)_a term, as in `_hamiltonian`
        dA = (out[:, 1:] + self._iDelta[None, :, None] * out[:, :1]) * phase[:, None]
        # Wannier90's finite-difference r_ij(R) is Hermitian only to ~0.1 Å (GaAs): keep the Hermitian part,
        # as WannierBerri's R→k transform of AA does (also for the derivative)
        herm = lambda X: 0.5 * (X + X.conj().swapaxes(-1, -2))  # noqa: E731
        return herm(A), herm(dA)

    @property
    def R(self) -> np.ndarray:
        return self.base.R

    @property
    def t(self) -> np.ndarray:
        return self.base.t

    def _fourier_series(self) -> FourierSeries:
        """The hoppings' Fourier series with the convention-II phases and their Leibniz derivatives
        (`models.fourier`: convention II at the cost of convention I)."""
        return FourierSeries(self.base.R, self.base.t, self.lattice, self.positions)

    def restricted(self, orbitals, *, name: str | None = None) -> "OrbitalPositionModel":
        """The model on a subset of orbitals (see `TightBindingModel.restricted`)."""
        idx = np.asarray(orbitals, int)
        wp = None if self.position_r is None else (self.position_R, self.position_r[:, idx][:, :, idx])
        return OrbitalPositionModel(self.base.restricted(idx, name=name), self.positions[idx], name=name or self.name,
                                    wannier_positions=wp)

    def describe(self) -> dict[str, Any]:
        desc = super().describe()
        desc["n_hoppings"] = int(len(self.base.R))
        desc["convention"] = "II: H_ij(k) = sum_R t_ij(R) exp(i k.(R + tau_j - tau_i))"
        desc["positions"] = self.positions.tolist()
        return desc


def with_convention(model: Model, convention: str, positions=None) -> Model:
    """Return `model` in convention "I" (e^{ik·R}) or "II" (e^{ik·(R+τ_j−τ_i)}, needs positions)."""
    convention = check_convention(convention)
    base = model.base if isinstance(model, OrbitalPositionModel) else model
    if convention == "I":
        return base
    if positions is None:
        if isinstance(model, OrbitalPositionModel):
            return model
        raise QgeomInputError("convention II needs the orbital positions: pass positions=[[x, y, z], ...] (Cartesian).")
    return OrbitalPositionModel(base, positions)


def check_convention(convention: str) -> str:
    c = str(convention).upper()
    if c not in CONVENTIONS:
        raise QgeomInputError(
            f"convention must be 'I' (phases e^(ik.R), Wannier90 default) or 'II' (e^(ik.(R+tau_j-tau_i)), "
            f"tight-binding convention), got {convention!r}."
        )
    return c
