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
    u = np.asarray(x / gamma, float)
    return -(2.0 / gamma**2) * one_minus_2u_dawson(u, dawsn(u))


ASYMPTOTIC_U = 8.0  # |u| from which 1 − 2uD(u) is summed asymptotically (relative error < 3e-17 with 20 terms)


def one_minus_2u_dawson(u: np.ndarray, D: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    """1 − 2u D(u) (D = Dawson's function at u) without the cancellation of the direct formula, whose
    relative error grows like u²·eps (1e-10 at |u| = 1000): for |u| ≥ ASYMPTOTIC_U the asymptotic series
    −Σ_{n=1}^{20} (2n−1)!!/(2u²)^n (its smallest term is far below these 20)."""
    out = np.multiply(u, D, out=out)
    out *= -2.0
    out += 1.0
    far = np.abs(u) >= ASYMPTOTIC_U
    if np.any(far):
        z = 0.5 / np.square(u[far])  # 1/(2u²)
        term, total = z.copy(), z.copy()
        for n in range(2, 21):
            term *= (2 * n - 1) * z
            total += term
        out[far] = -total
    return out


def dawson_slope_part(u: np.ndarray, D: np.ndarray) -> np.ndarray:
    """D(u) + u(1 − 2uD(u)) (so that d/du[1 − 2uD] = −2 times it; Pf's slope is (4/γ³) times it) without the
    cancellation of the direct formula (its two terms are ±1/(2u) + O(u⁻³): relative error ~u⁴·eps): for
    |u| ≥ ASYMPTOTIC_U the series −(1/u) Σ_{n=1}^{20} n (2n−1)!!/(2u²)^n."""
    out = D + u * (1.0 - 2.0 * u * D)
    far = np.abs(u) >= ASYMPTOTIC_U
    if np.any(far):
        z = 0.5 / np.square(u[far])
        term, total = z.copy(), z.copy()  # n (2n−1)!! zⁿ at n = 1
        for n in range(2, 21):
            term *= (2 * n - 1) * z * n / (n - 1)
            total += term
        out[far] = -total / u[far]
    return out


def adiabatic(x, eta: float):
    """The unsplit Kramers kernel of seed S11, 1/(x² + η²)."""
    return 1.0 / (x * x + eta * eta)


# g(−x) = PARITY · g(x): the transition m → n at ω sees the kernel of n → m at −ω. "r" = 1/(x² + γ²) and
# "r2" = r² are the Lorentzian's building blocks (`real_parts`).
PARITY = {"delta": 1.0, "principal": -1.0, "finite_part2": 1.0, "adiabatic": 1.0, "r": 1.0, "r2": 1.0}


def real_parts(name: str, kind: str, gamma: float) -> tuple[tuple[str, float], ...]:
    """The kernel `name` (delta, principal, finite_part2, adiabatic) as Σ coefficient · table over tables that
    `Tables` computes: for the Lorentzian δ = (γ/π) r, Pf = r − 2γ² r² and the adiabatic kernel at η = γ is r,
    with r = 1/(x² + γ²) and r2 = r² (each of the same parity as the kernel), so that δ and Pf together take
    r and r² — 5 elementwise passes per table entry instead of 8; every other kernel is its own table."""
    if kind == "lorentzian":
        lorentzian = {"delta": (("r", gamma / np.pi),), "finite_part2": (("r", 1.0), ("r2", -2.0 * gamma * gamma)),
                      "adiabatic": (("r", 1.0),)}
        if name in lorentzian:
            return lorentzian[name]
    return ((name, 1.0),)


class Tables:
    """Kernel tables g(x0 + freq) and slopes g'(x0 + freq), [len(x0), nfreq], of the kernels `names`
    (keys of PARITY; "adiabatic" at η = γ; "r" and "r2" for the Lorentzian only): the values of `delta`,
    `principal`, `finite_part2` and `adiabatic` up to rounding, computed together (they share
    r = 1/(x²+γ²), or Dawson's D(x/γ) for the Gaussian) and in place, in buffers of `batch` rows of `columns`
    (the most frequencies one call asks for; default all of them) kept between calls: a fresh MB-sized array
    per operation costs page faults that outweigh its arithmetic several times."""

    def __init__(self, names, gamma: float, kind: str, batch: int, freq: np.ndarray, columns: int | None = None):
        self.names, self.gamma, self.kind, self.freq = set(names), gamma, kind, freq
        self._size = batch * (len(freq) if columns is None else columns)
        self._buf = {}
        self._cols = len(freq)

    def _out(self, key: str, rows: int) -> np.ndarray:
        if key not in self._buf:
            self._buf[key] = np.empty(self._size)
        return self._buf[key][: rows * self._cols].reshape(rows, self._cols)

    def __call__(self, x0: np.ndarray, slopes: bool = False, block: slice = slice(None)):
        """({name: g}, {name: g'} or None) at the frequencies freq[block]: contiguous views of the buffers,
        valid until the next call."""
        n = len(x0)
        freq = self.freq[block]
        self._cols = len(freq)
        if self.kind == "lorentzian" and not slopes and not self.names & {"principal", "finite_part2"}:
            # only r = 1/(x² + γ²) and its multiples, which read neither x nor x²: x, x² and r in one buffer
            # (the same arithmetic; the tables the GEMMs then read stay in cache)
            r = np.add(x0[:, None], freq[None, :], out=self._out("r", n))
            x, x2 = None, np.multiply(r, r, out=r)
        else:
            x = np.add(x0[:, None], freq[None, :], out=self._out("x", n))
            x2 = np.multiply(x, x, out=self._out("x2", n))
            r = self._out("r", n) if self.kind == "lorentzian" or "adiabatic" in self.names else None
        if r is not None:
            np.add(x2, self.gamma**2, out=r)
            np.divide(1.0, r, out=r)
        if self.kind == "lorentzian":
            val, der = self._lorentzian(x, x2, r, n, slopes)
        else:
            val, der = self._gaussian(x, x2, n, slopes)
        if "adiabatic" in self.names:
            val["adiabatic"] = r
            if slopes:  # −2x r²
                d = der["adiabatic"] = np.multiply(x, r, out=self._out("d_adiabatic", n))
                d *= r
                d *= -2.0
        return val, der

    def _lorentzian(self, x, x2, r, n: int, slopes: bool):
        """δ = (γ/π) r, P = x r, Pf = (x² − γ²) r², r, r²; slopes −(2γ/π) x r², −Pf, x r² (8γ² r − 2), −2x r²,
        −4x r³."""
        names, gamma, out = self.names, self.gamma, self._out
        g2 = gamma * gamma
        val = {}
        if "r" in names:
            val["r"] = r
        if "r2" in names:
            val["r2"] = np.multiply(r, r, out=out("r2", n))
        if "delta" in names:
            val["delta"] = np.multiply(r, gamma / np.pi, out=out("delta", n))
        if "principal" in names:
            val["principal"] = np.multiply(x, r, out=out("principal", n))
        if "finite_part2" in names or (slopes and "principal" in names):
            pf = np.subtract(x2, g2, out=out("finite_part2", n))
            pf *= r
            pf *= r
            if "finite_part2" in names:
                val["finite_part2"] = pf
        if not slopes:
            return val, None
        xr2 = np.multiply(x, r, out=out("xr2", n))
        xr2 *= r
        der = {}
        if "delta" in names:
            der["delta"] = np.multiply(xr2, -2.0 * gamma / np.pi, out=out("d_delta", n))
        if "principal" in names:
            der["principal"] = np.negative(pf, out=out("d_principal", n))
        if "finite_part2" in names:
            d = der["finite_part2"] = np.multiply(r, 8.0 * g2, out=out("d_finite_part2", n))
            d -= 2.0
            d *= xr2
        if "r" in names:
            der["r"] = np.multiply(xr2, -2.0, out=out("d_r", n))
        if "r2" in names:
            d = der["r2"] = np.multiply(xr2, r, out=out("d_r2", n))
            d *= -4.0
        return val, der

    def _gaussian(self, x, x2, n: int, slopes: bool):
        """δ = e^{−u²}/(γ√π), P = (2/γ) D(u), Pf = −(2/γ²)(1 − 2uD), u = x/γ; slopes −(2x/γ²) δ, −Pf,
        (4/γ³)(u + D(1 − 2u²)) (`dawson_slope_part`). Dawson's function dominates the cost: the rest is not done
        in place."""
        names, gamma, out = self.names, self.gamma, self._out
        g2 = gamma * gamma
        val = {}
        if "delta" in names:
            e = np.divide(x2, -g2, out=out("delta", n))
            val["delta"] = np.exp(e, out=e)
            val["delta"] /= gamma * SQRT_PI
        if names & {"principal", "finite_part2"}:
            u = np.divide(x, gamma, out=out("u", n))
            D = dawsn(u, out=out("D", n))
            if "principal" in names:
                val["principal"] = np.multiply(D, 2.0 / gamma, out=out("principal", n))
            if "finite_part2" in names or slopes:
                pf = (-2.0 / g2) * one_minus_2u_dawson(u, D)
            if "finite_part2" in names:
                val["finite_part2"] = pf
        if not slopes:
            return val, None
        der = {}
        if "delta" in names:
            der["delta"] = (-2.0 / g2) * x * val["delta"]
        if "principal" in names:
            der["principal"] = -pf
        if "finite_part2" in names:
            der["finite_part2"] = (4.0 / (g2 * gamma)) * dawson_slope_part(u, D)
        return val, der
