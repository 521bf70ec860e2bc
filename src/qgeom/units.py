"""Physical constants and the one place where model units meet SI (SPEC §0: e = ħ = 1 inside).

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
