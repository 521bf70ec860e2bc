"""Unit conventions of `qgeom.optical` (SI only at the edges; e = ħ = 1 inside).

Field convention (seed [K] Eq. 4 / Eq. 6): E(t) = ½(E_ω e^{−iωt} + c.c.), and the rectified
response of an observable O is

    δ⟨O⟩ = e² Σ_{ζ=±} Σ_{αβ} χ^{αβ}(ζω) E^α_{−ζω} E^β_{ζω} = 2 e² Σ_{αβ} χ^{αβ}(ω) (E^α_ω)* E^β_ω,

with χ symmetrized, χ^{αβ}(ω) = ½[χ^{αβ}(ω) + χ^{βα}(−ω)] (S10). Per unit area (2D) with O in
its own unit [O], χ has the SI unit [O]/V² (e.g. e/V² for the layer polarization p_z = e·diag[I4, −I4]).

Inside, χ is computed in model units: energies E0 (eV for the k·p models), lengths L0 (Å),
Σ_k = ∫ d^dk/(2π)^d. Then χ_model carries E0^-2 L0^(2-d) [O]: for eV and Å in 2D the number is
the SI value in [O]/V² directly (e²/eV² = 1/V²; the Å² of the k-measure cancels the Å² of r r).

SI output applies whenever `qgeom.units.physical_units(model)` knows the model's energy and length
units; the constants and unit tables are those of `qgeom.units` (the single place where model units
meet SI). Only the χ-specific factors and unit labels live here.
"""

from __future__ import annotations

from ..units import E_CHARGE, EV, HBAR, PICOSECOND, physical_units, time_to_model


def tau_to_model(tau_ps: float, energy_unit_ev: float = 1.0) -> float:
    """Relaxation time in ps → ħ/E0 units (E0 = `energy_unit_ev` eV): 0.25 ps → 379.8 eV⁻¹."""
    return time_to_model(tau_ps * PICOSECOND, energy_unit_ev)


def chi_si_factor(model) -> float:
    """χ_SI = factor · χ_model ([O]/V² per unit area in 2D, [O]/V²/m^(d−2) in general);
    χ_model carries E0^-2 L0^(2-d) [O] and e²/eV² = 1/V²."""
    E0, L0 = physical_units(model)
    return L0 ** (2 - model.dim) / E0**2


def current_si_factor(model) -> float:
    """The current operator ∂H/∂k (E0·L0) times e/ħ is the charge current: A·m/V² per unit area in 2D."""
    E0, L0 = physical_units(model)
    return E_CHARGE * (E0 * EV * L0 / HBAR)


def chi_units(model, obs) -> tuple[float, str]:
    """Factor from model units to the output unit of χ of observable `obs`, and that unit."""
    if physical_units(model) is None:
        return 1.0, f"[O] {model.energy_unit}^-2 {model.length_unit}^{2 - model.dim} (e = hbar = 1, O = {obs.name})"
    f = chi_si_factor(model)
    area = "" if model.dim == 2 else f" m^{model.dim - 2}"  # per unit length/volume adjusts
    if obs.source == "current":
        length = {3: "", 2: " m", 1: " m^2"}[model.dim]
        return f * current_si_factor(model), f"A{length} V^-2 (charge current density per V^2)"
    unit = {"e": "e", "hbar": "hbar"}.get(obs.unit, f"[{obs.name}]")
    return f, f"{unit} V^-2{area} (per unit area for 2D)"
