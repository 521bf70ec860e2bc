"""Fermi–Dirac occupation and its energy derivatives (SPEC §0), overflow-free.

With x = β(ε − μ), f0 = 1/(eˣ + 1).  Writing s = f0(1 − f0) = 1/(4 cosh²(x/2)) and
t = 1 − 2 f0 = tanh(x/2), every derivative is a polynomial in (s, t) times a power of β:

    f0'   = −β s
    f0''  =  β² s t
    f0''' =  β³ s (6 s − 1)
    f0'''' = −β⁴ s t (12 s − 1)

s and t are evaluated from `expit`/`tanh`, which saturate instead of overflowing, so
|β(ε − μ)| up to 1e6 (and beyond) gives exact zeros, never NaN.
"""

from __future__ import annotations

import numpy as np
from scipy.special import expit

from ._validation import QgeomInputError, positive_scalar

MAX_ORDER = 4


def fermi_dirac(energy, mu, temperature: float, order: int = 0) -> np.ndarray:
    """d^order f0/dε^order at `energy` for chemical potential `mu` and kT = `temperature`.

    `energy` and `mu` broadcast against each other (e.g. energy[..., None] vs mu[None, :]).
    """
    if not 0 <= order <= MAX_ORDER:
        raise QgeomInputError(f"order must be 0..{MAX_ORDER}, got {order}.")
    beta = 1.0 / positive_scalar(temperature, "temperature")
    x = beta * (np.asarray(energy, dtype=float) - np.asarray(mu, dtype=float))
    if order == 0:
        return expit(-x)
    s = expit(x) * expit(-x)
    if order == 1:
        return -beta * s
    t = np.tanh(0.5 * x)
    if order == 2:
        return beta**2 * s * t
    if order == 3:
        return beta**3 * s * (6.0 * s - 1.0)
    return -(beta**4) * s * t * (12.0 * s - 1.0)
