"""The σ convention of the second-order DC results — one place for the factor 2.

`seed`: seed [D] (B-5) as printed, the b↔c, ω1↔ω2 term added, not averaged; Eqs. 2, 3, 5, 6 hold
in it and a static field drives j_a = ½ Σ_bc σ_abc E_b E_c. `physical`: σ/2, j_a = Σ_bc σ_abc E_b E_c
(its Drude term is the Boltzmann result with τ = 1/(2Γ)). Established by the exact NESS
evaluation, docs/exact_ness.md.
"""

from __future__ import annotations

from .._validation import QgeomInputError

CONVENTIONS = ("seed", "physical")


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
