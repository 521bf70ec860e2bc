"""Physical constants and the one place where model units meet SI (e = ħ = 1 inside).

Second-order conductivity: j_a = σ_abc E_b E_c with j the current per unit length^(d−1)
(A in 1D, A/m in 2D, A/m² in 3D) and E in V/m. With e = ħ = 1 inside, energies in E0 and
lengths in L0, the seed's unit σ₂ = a (ħ/v) e³/ħ² generalizes to σ_SI = σ_model · e³ L0^(3−d)/(ħ E0).
"""

from __future__ import annotations

from scipy import constants as C

E_CHARGE = C.e  # C
HBAR = C.hbar  # J s
EV = C.e  # J per eV
ANGSTROM = 1e-10  # m
PICOSECOND = 1e-12  # s

SI_UNIT_SECOND_ORDER = {1: "A m^2 V^-2", 2: "A m V^-2", 3: "A V^-2"}


def second_order_conductivity_si(*, energy_unit_ev: float, length_unit_m: float, dim: int) -> float:
    """Factor converting σ_abc from model units (energy unit `energy_unit_ev` eV, length unit
    `length_unit_m` m, e = ħ = 1) to SI, in the unit `SI_UNIT_SECOND_ORDER[dim]`."""
    return E_CHARGE**3 * length_unit_m ** (3 - dim) / (HBAR * energy_unit_ev * EV)


ENERGY_UNITS_EV = {"eV": 1.0, "meV": 1e-3}
# the spellings of codes that hand models over (ASE, pymatgen: "Angstrom"; Wannier90: "Ang", "Bohr"); an unknown
# name leaves the model in model units, so "Angstrom" missing here gave a model in eV/Å results in e³/(ħ eV)
LENGTH_UNITS_M = {"Å": 1e-10, "A": 1e-10, "angstrom": 1e-10, "Angstrom": 1e-10, "Ang": 1e-10, "nm": 1e-9,
                  "bohr": C.physical_constants["Bohr radius"][0], "Bohr": C.physical_constants["Bohr radius"][0], "m": 1.0}
UNIT_CHOICES = ("auto", "si", "model")


def physical_units(model) -> tuple[float, float] | None:
    """(energy unit in eV, length unit in m) when the model's units are physical, else None
    (e.g. the seed models, whose energy unit is the hopping v and length the lattice constant a)."""
    e = ENERGY_UNITS_EV.get(model.energy_unit)
    l = LENGTH_UNITS_M.get(model.length_unit)
    return None if e is None or l is None else (e, l)


def checked_units(model, units: str) -> str:
    """`units` validated for `model`: one of UNIT_CHOICES, and "si" only for a model with physical units."""
    from ._validation import QgeomInputError, both_spellings

    if units not in UNIT_CHOICES:
        raise QgeomInputError(f"units must be one of {UNIT_CHOICES}, got {units!r}.")
    if units == "si" and physical_units(model) is None:
        raise QgeomInputError(
            f"model {model.name!r} has units ({model.energy_unit}, {model.length_unit}) with no SI value; "
            "use " + both_spellings("units='model'", "--units model") + " (or give the model eV/Å units)."
        )
    return units


def second_order_conductivity_scale(model, units: str) -> tuple[float, str]:
    """(factor, unit label) to express σ_abc computed in model units in the requested `units`:
    "si" (error if the model's units are not physical), "model", or "auto" (SI when possible)."""
    phys = physical_units(model)
    if checked_units(model, units) == "model" or phys is None:
        return 1.0, f"e^3 {model.length_unit}^{3 - model.dim} / (hbar {model.energy_unit})"
    return second_order_conductivity_si(energy_unit_ev=phys[0], length_unit_m=phys[1], dim=model.dim), \
        SI_UNIT_SECOND_ORDER[model.dim]


HBAR_EV_S = HBAR / EV  # ħ in eV·s: the time unit ħ/E0 of a model with E0 in eV is HBAR_EV_S / E0[eV] s


def energy_unit_ev(model) -> float | None:
    """The model's energy unit in eV (eV, meV), or None when it is not physical (e.g. the hopping v)."""
    return ENERGY_UNITS_EV.get(model.energy_unit)


def time_to_model(t_s: float, energy_unit_ev: float) -> float:
    """A time in s → model units ħ/E0 (E0 = `energy_unit_ev` eV): t E0/ħ."""
    return t_s * energy_unit_ev / HBAR_EV_S
