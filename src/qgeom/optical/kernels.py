"""Broadened δ, principal value and Hadamard finite part, all from one regularized resolvent.

For a width γ we regularize 1/(x + i0⁺) by an analytic kernel R_γ(x) and take
    δ_γ(x)      = −Im R_γ(x)/π
    P_γ(1/x)    =  Re R_γ(x)
    Pf_γ(1/x²)  = −d/dx P_γ(1/x)      (Hadamard finite part, the "P 1/x²" of seed S12/S14)
so that the three are mutually consistent (Kramers–Kronig pairs of the same kernel):
    lorentzian: R = 1/(x + iγ):  δ = (γ/π)/(x²+γ²),  P = x/(x²+γ²),  Pf = (x²−γ²)/(x²+γ²)²
    gaussian:   δ = exp(−x²/γ²)/(γ√π),  P = (2/γ) D(x/γ),  Pf = −(2/γ²)(1 − 2u D(u)), u = x/γ
(D = Dawson's integral). The identity used to split the adiabatic kernel (seed S11 → S13 + S14):
    1/(x² + η²) = 2η²/(x²+η²)² + (x²−η²)/(x²+η²)²  →  (π/η) δ(x) + Pf(1/x²)   (η → 0),
i.e. the δ weight is π/η, not the π/(2η) printed in S12 (see docs/optical.md).
"""

from __future__ import annotations

import numpy as np
from scipy.special import dawsn

from .._validation import QgeomInputError

KINDS = ("lorentzian", "gaussian")
SQRT_PI = np.sqrt(np.pi)


def check_kind(kind: str) -> str:
    if kind not in KINDS:
        raise QgeomInputError(f"broadening kind must be one of {KINDS}, got {kind!r}.")
    return kind


def delta(x, gamma: float, kind: str = "lorentzian"):
    if kind == "lorentzian":
        return (gamma / np.pi) / (x * x + gamma * gamma)
    return np.exp(-((x / gamma) ** 2)) / (gamma * SQRT_PI)


def principal(x, gamma: float, kind: str = "lorentzian"):
    if kind == "lorentzian":
        return x / (x * x + gamma * gamma)
    return (2.0 / gamma) * dawsn(x / gamma)


def finite_part2(x, gamma: float, kind: str = "lorentzian"):
    """Pf_γ(1/x²) = −d/dx P_γ(1/x)."""
    if kind == "lorentzian":
        x2, g2 = x * x, gamma * gamma
        return (x2 - g2) / (x2 + g2) ** 2
    u = x / gamma
    return -(2.0 / gamma**2) * (1.0 - 2.0 * u * dawsn(u))


def adiabatic(x, eta: float):
    """The unsplit Kramers kernel of seed S11, 1/(x² + η²)."""
    return 1.0 / (x * x + eta * eta)
