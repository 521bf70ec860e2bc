"""Fermi–Dirac occupation and its energy derivatives, overflow-free.

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

import functools
import math

import numpy as np
from scipy.special import bernoulli as _bernoulli, digamma as _digamma, expit

from ._validation import QgeomInputError, positive_scalar

MAX_ORDER = 4
# |ε − μ| beyond this many kT: every f0^(p), p ≥ 1, is below e^−40 ≈ 4e-18 of its peak
# (|f0^(p)| ~ β^p e^−|x| for large |x|), so Fermi-surface sums drop those energies
# (mu_sweep.BinnedMuSweep) and the bands that never come that close in a chunk (dc.expansion
# computes no matrix elements for them)
FERMI_WINDOW = 40.0


def fermi_dirac(energy, mu, temperature: float, order: int = 0) -> np.ndarray:
    """d^order f0/dε^order at `energy` for chemical potential `mu` and kT = `temperature`.

    `energy` and `mu` broadcast against each other (e.g. energy[..., None] vs mu[None, :]).
    """
    if not 0 <= order <= MAX_ORDER:
        raise QgeomInputError(f"order must be 0..{MAX_ORDER}, got {order}.")
    return fermi_dirac_kT(energy, mu, positive_scalar(temperature, "temperature"), order)


def fermi_dirac_kT(energy, mu, kT: float, order: int = 0) -> np.ndarray:
    """`fermi_dirac` for a kT already validated at the edge (the per-chunk hot path)."""
    beta = 1.0 / kT
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



def weighted_fermi_derivatives(energies: np.ndarray, weights: np.ndarray, mu: np.ndarray, temperature: float, orders):
    """Hot-path form of `fermi_dirac` for k-sums: ({p: occ[p]}, {p: scale[p]}) with
    f0^(p)(ε − μ)·w = occ[p]·scale[p], occ[p] of shape [energies.size, nμ] (rows in the C order of
    `energies`, e.g. [nk, N]: k-major, band-minor; a transposed view) and the powers of β (and a
    common weight) left in the scalar scale, applied to the small contracted sums; `weights`
    broadcast against `energies`. One exponential per (ε, μ): z = e^{−|x|}, s = z/(1 + z)²,
    t = sign(x)(1 − z)/(1 + z). μ leads every temporary, so that each pass is one long loop over the
    energies; the subtraction then gives y = β(μ − ε) = −x, whose sign goes into the scales."""
    beta = 1.0 / temperature
    y = np.subtract.outer(mu, np.ascontiguousarray(energies))  # [nμ, *energies.shape], C order
    y *= beta
    z = np.abs(y)
    np.negative(z, out=z)
    np.exp(z, out=z)
    r = z + 1.0
    np.reciprocal(r, out=r)
    s = z * r
    s *= r  # f0(1 − f0)
    weights = np.asarray(weights, float)
    uniform = weights.size > 0 and np.all(weights == weights.flat[0])  # e.g. a uniform k-grid
    sw = s if uniform else s * weights
    out, scale = {}, {}
    t = None
    if any(p in (2, 4) for p in orders):
        t = np.subtract(1.0, z, out=z)
        t *= r
        np.copysign(t, y, out=t)  # −tanh(x/2)
    for p in orders:
        if p == 1:
            out[p], scale[p] = sw, -beta
        elif p == 2:
            out[p], scale[p] = sw * t, -(beta**2)
        elif p == 3:
            out[p], scale[p] = sw * (6.0 * s - 1.0), beta**3
        elif p == 4:
            out[p], scale[p] = sw * t * (12.0 * s - 1.0), beta**4
        else:
            raise QgeomInputError(f"order must be 1..{MAX_ORDER}, got {p}.")
    if uniform:  # the common weight goes into the scalar scales: one pass less
        scale = {p: c * weights.flat[0] for p, c in scale.items()}
    return {p: o.reshape(len(mu), -1).T for p, o in out.items()}, scale


@functools.lru_cache(maxsize=None)
def _fermi_derivative_poly(order: int) -> np.poly1d:
    """d^n f0/dx^n = P_n(f0) for f0 = 1/(eˣ + 1): P_0 = y, P_{n+1} = P_n'(y)·(y² − y)."""
    poly = np.poly1d([1.0, 0.0])
    for _ in range(order):
        poly = np.polyder(poly) * np.poly1d([1.0, -1.0, 0.0])
    return poly


def fermi_derivative_any_order(x: np.ndarray, order: int) -> np.ndarray:
    """d^order f0/dx^order at x = β(ε − μ) (in units of β^order), any order ≥ 1, overflow-free:
    the polynomial in f0 is evaluated at |x| where f0 ≤ 1/2 (well conditioned), and
    f^(n)(−|x|) = (−1)^(n+1) f^(n)(|x|)."""
    y = expit(-np.abs(x))
    val = _fermi_derivative_poly(int(order))(y)
    if order % 2 == 0:
        val = np.where(x < 0, -val, val)
    return val

# ---------------------------------------------------------------------------------------------
# Bath-broadened occupations of the fermionic-bath NESS (seed [D] Eq. A-6)
# ---------------------------------------------------------------------------------------------
#
#   f_s(ε) = ½ + s (i/π) ψ(z_s(ε)),   z_s(ε) = ½ + β[Γ + s i(ε − μ)]/(2π),   s = ±1,
#
# i.e. f_+(ε) = ½ + (i/π) ψ(½ + iβ(ε − iΓ − μ)/2π) and f_−(ε) = ½ − (i/π) ψ(½ − iβ(ε + iΓ − μ)/2π),
# and the Lorentzian-broadened occupation ρ̃⁰(ε) = ½[f_+(ε) + f_−(ε)] = ½ − Im ψ(z_+)/π (A-3 = A-6).
# f_s is analytic in ε (also for complex ε, as the response kernels need) except for poles at
# ε = μ + s i(Γ + (2p+1)π/β), p = 0, 1, …; its derivatives are f_s^(j) = s(i/π) κ_s^j ψ^(j)(z_s),
# κ_s = s iβ/2π. SciPy's `digamma` is accurate (≲ 3e-16 relative, checked against mpmath) for
# complex arguments up to |Im z| ~ 1e8; higher polygammas of complex argument are not in SciPy and
# are computed by `polygamma_complex` below (recurrence + asymptotic series).

_ASYMPTOTIC_RADIUS = 20.0
_BERNOULLI = _bernoulli(26)[2::2]  # B_2, B_4, …, B_26


def polygamma_complex(orders, z) -> np.ndarray:
    """ψ^(n)(z) for every n in `orders` (ints ≥ 0) at complex z with Re z > 0; [len(orders), *z.shape].

    Recurrence ψ^(n)(z) = ψ^(n)(z+K) + (−1)^(n+1) n! Σ_{k<K} (z+k)^−(n+1) up to |z+K| ≥ 20, then the
    asymptotic (Stirling) series with Bernoulli numbers up to B_26: relative accuracy ~1e-15 for
    n ≤ 16. n = 0 uses SciPy's digamma.
    """
    orders = [int(n) for n in np.atleast_1d(orders)]
    z = np.asarray(z, dtype=complex)
    out = np.empty((len(orders),) + z.shape, dtype=complex)
    pos = [i for i, n in enumerate(orders) if n > 0]
    for i, n in enumerate(orders):
        if n == 0:
            out[i] = _digamma(z)
    if not pos:
        return out
    R = _ASYMPTOTIC_RADIUS
    shift = np.ceil(np.clip(np.sqrt(np.clip(R * R - z.imag**2, 0.0, None)) - z.real, 0.0, None))
    kmax = int(shift.max()) if shift.size else 0
    npos = [orders[i] for i in pos]
    acc = np.zeros((len(npos),) + z.shape, dtype=complex)
    for k in range(kmax):
        active = k < shift
        inv = np.where(active, 1.0 / (z + k), 0.0)
        for j, n in enumerate(npos):
            acc[j] += inv ** (n + 1)
    w = z + shift
    iw = 1.0 / w
    for j, n in enumerate(npos):
        series = math.factorial(n - 1) * iw**n + 0.5 * math.factorial(n) * iw ** (n + 1)
        iw2 = iw * iw
        p = iw ** (n + 2)
        for k, B in enumerate(_BERNOULLI, start=1):
            coef = B * math.factorial(2 * k + n - 1) / math.factorial(2 * k)
            series = series + coef * p
            p = p * iw2
        sign = (-1.0) ** (n + 1)
        out[pos[j]] = sign * (series + math.factorial(n) * acc[j])
    return out


def bath_z(energy, mu, temperature: float, gamma: float, sign: int) -> np.ndarray:
    """Polygamma argument z_s(ε) = ½ + β[Γ + s i(ε − μ)]/(2π) of f_s (complex `energy` allowed)."""
    beta = 1.0 / temperature
    x = np.asarray(energy, dtype=complex) - np.asarray(mu, dtype=float)
    return 0.5 + beta * (gamma + sign * 1j * x) / (2 * np.pi)


def bath_occupation_pm(energy, mu, temperature: float, gamma: float, sign: int) -> np.ndarray:
    """f_±(ε) of seed [D] Eq. (A-6) (sign = +1 or −1); complex, analytic in complex `energy`
    for |Im ε| < Γ + π/β. For real ε, f_− = conj(f_+) and ½(f_+ + f_−) → f0 as Γ → 0."""
    if sign not in (1, -1):
        raise QgeomInputError(f"sign must be +1 or -1, got {sign!r}.")
    z = bath_z(energy, mu, temperature, gamma, sign)
    return 0.5 + sign * (1j / np.pi) * _digamma(z)


def bath_occupation(energy, mu, temperature: float, gamma: float) -> np.ndarray:
    """ρ̃⁰(ε) = ∫dω_b/2π 2Γ/(ω_b² + Γ²) f0(ε + ω_b) = ½ − Im ψ(z_+)/π for real ε (Eqs. A-3, A-6);
    complex ε gives the analytic continuation ½[f_+(ε) + f_−(ε)]."""
    e = np.asarray(energy)
    if np.iscomplexobj(e):
        return 0.5 * (bath_occupation_pm(e, mu, temperature, gamma, 1) + bath_occupation_pm(e, mu, temperature, gamma, -1))
    z = bath_z(e, mu, temperature, gamma, 1)
    return 0.5 - _digamma(z).imag / np.pi
