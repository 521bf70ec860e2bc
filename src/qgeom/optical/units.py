"""Unit conventions of `qgeom.optical` (SI only at the edges; e = ħ = 1 inside).

Field convention (seed [K] Eq. 4 / Eq. 6): E(t) = ½(E_ω e^{−iωt} + c.c.), and the rectified
response of an observable O is

    δ⟨O⟩ = e² Σ_{ζ=±} Σ_{αβ} χ^{αβ}(ζω) E^α_{−ζω} E^β_{ζω} = 2 e² Σ_{αβ} χ^{αβ}(ω) (E^α_ω)* E^β_ω,

with χ symmetrized, χ^{αβ}(ω) = ½[χ^{αβ}(ω) + χ^{βα}(−ω)] (S10). Per unit area (2D) with O in
its own unit [O], χ has the SI unit [O]/V² (e.g. e/V² for the layer polarization p_z = e·diag[I4, −I4]).

Inside, χ is computed in model units: energies E0 (eV for the k·p models), lengths L0 (Å),
Σ_k = ∫ d^dk/(2π)^d. Then χ_model carries E0^-2 L0^(2-d) [O]: for eV and Å in 2D the number is
the SI value in [O]/V² directly (e²/eV² = 1/V²; the Å² of the k-measure cancels the Å² of r r).
"""

from __future__ import annotations

from scipy import constants as C

HBAR_EV_S = C.hbar / C.e  # ħ in eV·s
PS = 1e-12
LENGTH_IN_M = {"Å": 1e-10, "A": 1e-10, "angstrom": 1e-10, "nm": 1e-9, "m": 1.0, "bohr": C.physical_constants["Bohr radius"][0]}


def has_si(model) -> bool:
    """True when the model's energy unit is eV and its length unit is known, so SI output applies."""
    return getattr(model, "energy_unit", None) == "eV" and getattr(model, "length_unit", None) in LENGTH_IN_M


def tau_to_model(tau_ps: float) -> float:
    """Relaxation time in ps → ħ/eV units (τ/ħ in eV⁻¹): 0.25 ps → 379.8 eV⁻¹."""
    return tau_ps * PS / HBAR_EV_S


def chi_si_factor(model) -> float:
    """χ_SI = factor · χ_model ([O]/V² per unit area in 2D, [O]/V²/m^(d−2) in general)."""
    L0 = LENGTH_IN_M[model.length_unit]
    return L0 ** (2 - model.dim)


def current_si_factor(model) -> float:
    """The current operator ∂H/∂k (eV·L0) times e/ħ is the charge current: A·m/V² per unit area in 2D."""
    L0 = LENGTH_IN_M[model.length_unit]
    return C.e * (C.e * L0 / C.hbar)
