"""The σ convention of the second-order DC results — one place for the factor 2.

`seed`: seed [D] (B-5) as printed, the b↔c, ω1↔ω2 term added, not averaged; Eqs. 2, 3, 5, 6 hold
in it and a static field drives j_a = ½ Σ_bc σ_abc E_b E_c. `physical`: σ/2, j_a = Σ_bc σ_abc E_b E_c
(its Drude term is the Boltzmann result with τ = 1/(2Γ)). Established by the exact NESS
evaluation, docs/exact_ness.md.
"""

from __future__ import annotations

import json
from types import MappingProxyType

from .._validation import QgeomInputError

CONVENTIONS = ("seed", "physical")
# the Γ-expansion terms that are coefficients of Γ^n, n < 0 (the rest: Γ⁰): σ = Σ_n σ⁽ⁿ⁾ Γ^n, so σ⁽ⁿ⁾ carries
# the unit of σ times (energy)^−n — Γ in the model's energy unit (eV for SI results)
GAMMA_ORDER = MappingProxyType({"drude": -2, "bcd": -1, "interband": -1})


def check_convention(convention: str) -> str:
    if convention not in CONVENTIONS:
        raise QgeomInputError(f"convention must be one of {CONVENTIONS}, got {convention!r}.")
    return convention


def convention_scale(convention: str) -> float:
    """Factor that converts a seed-convention σ into `convention`."""
    return 1.0 if check_convention(convention) == "seed" else 0.5


def sigma_definition(convention: str) -> str:
    if check_convention(convention) == "seed":
        return ("seed (B-5) convention: sigma = (i/w1)(i/w2)[K_abc(w1,w2) + K_acb(w2,w1)]; "
                "DC current j_a = (1/2) sum_bc sigma_abc E_b E_c; Eqs. 2, 3, 5, 6 hold in this convention; "
                "carriers of charge +1 (H(k - A))")
    return ("physical convention: sigma = (i/w1)(i/w2)[K_abc(w1,w2) + K_acb(w2,w1)]/2; "
            "j_a = sum_bc sigma_abc E_b E_c (half of the seed convention); carriers of charge +1 (H(k - A))")


def term_units(unit: str, energy_unit: str, terms) -> str:
    """JSON {term: unit} for a Γ-expansion result whose σ is in `unit`: the Drude (Γ⁻²) and BCD or interband (Γ⁻¹)
    coefficients in unit × energy_unit² and × energy_unit (`GAMMA_ORDER`), the Γ⁰ terms in `unit`."""
    def one(term: str) -> str:
        n = -GAMMA_ORDER.get(str(term), 0)
        return unit if n == 0 else f"{unit} {energy_unit}" + (f"^{n}" if n > 1 else "")
    return json.dumps({str(t): one(t) for t in terms})


def describe_units(sigma) -> str:
    """The units of a result's σ for a table header: per term where they differ (`term_units`), else one."""
    by_term = json.loads(sigma.attrs.get("units_by_term", "{}"))
    unit = sigma.attrs.get("units", "")
    other = {t: u for t, u in by_term.items() if u != unit}
    if not other:
        return unit
    return (f"{unit} (Gamma^0 terms); " + ", ".join(f"{t} in {u}" for t, u in other.items())
            + " (coefficients of Gamma^-n, Gamma in the model's energy unit)")
