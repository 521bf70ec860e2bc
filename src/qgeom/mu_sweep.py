"""μ sweeps of Fermi-surface sums, S[c, μ] = Σ_i X[c, i] f0^(p)(ε_i − μ), for many μ at once: the
Taylor-moment energy histogram and one GEMM per block of μ (`BinnedMuSweep`; docs/performance.md, μ sweeps).
The direct sum (f0^(p) at every energy and μ) is `occupation.weighted_fermi_derivatives`."""

from __future__ import annotations

import numpy as np

from .occupation import FERMI_WINDOW, fermi_derivative_any_order

# the binned μ sweep's bins (spacing in kT), Taylor order and μ blocks (width in kT): h = kT/2 with 15 moments
# truncates at (h/2πkT)^15 = 3e-17 as h = kT/5 with 11 did, on 1.8× fewer rows of the μ GEMM; blocks 10 kT wide
# carry bands of (10 + 2·40) kT of bins instead of 120 kT: many-μ expansions 1.3–1.5× faster (docs/performance.md,
# μ sweeps). (h = kT with 21 moments was 6% faster still but needs f0 derivatives of order 24, accurate to ~1e-6.)
MU_BIN_SPACING, MU_BIN_TAYLOR, MU_BLOCK_WIDTH = 0.5, 14, 10.0


class BinnedMuSweep:
    """Σ_i X[c, i] f0^(p)(ε_i − μ_j) for many μ at once from a histogram of the energies.

    Each energy is deposited on the nearest node e_g of a fine grid (spacing h = kT/2) with its
    Taylor moments X·δ^q/q!, δ = ε − e_g (q ≤ `taylor`); the μ sweep is then one GEMM of those
    moments with f0^(p+q)(e_g − μ_j), precomputed once. f0 is analytic within π·kT of the real
    axis, so the truncation error is ~(h/2πkT)^(taylor+1) < 1e-16 relative for the defaults:
    the same numbers as the direct sum to ~1e-12, at a cost that no longer grows with
    (number of k-points × number of μ). Energies farther than `window`·kT from every μ
    (weight < e^−window) are dropped, and so is every (bin, μ) pair farther apart than that: the μ go in
    blocks MU_BLOCK_WIDTH·kT wide, each with the band of bins within window·kT of it (`_blocks`)."""

    def __init__(self, mu: np.ndarray, temperature: float, *, spacing: float = MU_BIN_SPACING,
                 taylor: int = MU_BIN_TAYLOR, window: float = FERMI_WINDOW):
        self.mu = np.asarray(mu, float)
        self.kT = float(temperature)
        self.h = spacing * self.kT
        self.taylor = int(taylor)
        self.lo = self.mu.min() - window * self.kT
        self.nbins = self._bins(self.mu, self.kT, spacing, window)
        self.blocks = self._blocks(self.mu, self.kT, spacing, window)
        self._kernels: dict[tuple[int, int], np.ndarray] = {}
        self._derivatives: dict[tuple[int, int], np.ndarray] = {}

    @staticmethod
    def _bins(mu: np.ndarray, kT: float, spacing: float, window: float) -> int:
        return int(np.ceil((np.max(mu) - np.min(mu) + 2 * window * kT) / (spacing * kT))) + 1

    @staticmethod
    def _blocks(mu: np.ndarray, kT: float, spacing: float, window: float) -> list[tuple[np.ndarray, int, int]]:
        """(indices of the μ values, first bin, end bin) per block: the sorted μ in runs spanning ≤ MU_BLOCK_WIDTH·kT
        (or window·kT if less), each with the bins within window·kT of it — all that its kernel holds (farther bins
        weigh < e^−window). Over a μ range of many kT that is a narrow band of the histogram for every block (2 meV
        over 1 eV: ~1/6 of it)."""
        h, lo = spacing * kT, np.min(mu) - window * kT
        nbins = BinnedMuSweep._bins(mu, kT, spacing, window)
        order = np.argsort(mu, kind="stable")
        s = mu[order]
        out, first = [], 0
        for i in range(1, len(s) + 1):  # over μ values (never k-points): a new block when the span would pass the width
            if i == len(s) or s[i] - s[first] > min(window, MU_BLOCK_WIDTH) * kT:
                b0 = max(0, int(np.floor((s[first] - window * kT - lo) / h)))
                b1 = min(nbins, int(np.ceil((s[i - 1] + window * kT - lo) / h)) + 1)
                out.append((order[first:i], b0, b1))
                first = i
        return out

    @classmethod
    def kernel_bytes(cls, mu, temperature: float, *, spacing: float = MU_BIN_SPACING, taylor: int = MU_BIN_TAYLOR,
                     window: float = FERMI_WINDOW) -> int:
        """Memory of one occupation order's kernels (every block's), for choosing between binned and direct sums."""
        blocks = cls._blocks(np.asarray(mu, float), float(temperature), spacing, window)
        return 8 * (taylor + 1) * sum(len(idx) * (b1 - b0) for idx, b0, b1 in blocks)

    def kernel(self, p: int, block: int) -> np.ndarray:
        """[bins of the block·(taylor+1), its nμ]: f0^(p+q)(e_g − μ_j)/q!, rows ordered (g, q)."""
        if (p, block) not in self._kernels:
            from math import factorial

            K = np.stack([self._derivative(p + q, block) / factorial(q) for q in range(self.taylor + 1)], axis=1)
            self._kernels[p, block] = K.reshape(-1, K.shape[-1])
        return self._kernels[p, block]

    def _derivative(self, order: int, block: int) -> np.ndarray:
        """f0^(order)(e_g − μ_j) [bins, nμ] of a block in 1/energy^order, shared by the kernels of every p."""
        if (order, block) not in self._derivatives:
            idx, b0, b1 = self.blocks[block]
            e = self.lo + self.h * np.arange(b0, b1)
            x = (e[:, None] - self.mu[idx][None, :]) / self.kT
            self._derivatives[order, block] = fermi_derivative_any_order(x, order) / self.kT**order
        return self._derivatives[order, block]

    def moments(self, energies: np.ndarray, X: np.ndarray) -> tuple[np.ndarray, slice]:
        """Deposit X [c, n_i] at energies [n_i]: the Taylor-moment histogram [rows, c] of the bins
        the energies occupy, and which rows of the full [nbins·(taylor+1)] histogram they are
        (so that the μ GEMM skips the empty bins of the window)."""
        from scipy import sparse

        e = np.asarray(energies, float).reshape(-1)
        g = np.rint((e - self.lo) / self.h)
        keep = np.flatnonzero((g >= 0) & (g < self.nbins))
        g = g[keep].astype(np.int64)
        nq = self.taylor + 1
        if len(keep) == 0:
            return np.zeros((0, len(X))), slice(0, 0)
        g0, g1 = int(g.min()), int(g.max()) + 1
        delta = e[keep] - (self.lo + self.h * g)
        powers = np.empty((len(keep), nq))
        powers[:, 0] = 1.0
        for q in range(1, nq):
            powers[:, q] = powers[:, q - 1] * delta
        rows = ((g - g0)[:, None] * nq + np.arange(nq)).reshape(-1)
        cols = np.repeat(keep, nq)
        S = sparse.csr_matrix((powers.reshape(-1), (rows, cols)), shape=((g1 - g0) * nq, len(e)))
        return S @ np.asarray(X).T, slice(g0 * nq, g1 * nq)

    def __call__(self, energies: np.ndarray, X: np.ndarray, p: int) -> np.ndarray:
        """S[c, μ] for occupation order p ≥ 1: per block of μ, the GEMM of the occupied bins it holds."""
        hist, rows = self.moments(energies, X)
        nq = self.taylor + 1
        g0, g1 = rows.start // nq, rows.stop // nq
        out = np.zeros((np.shape(X)[0], len(self.mu)))
        for i, (idx, b0, b1) in enumerate(self.blocks):
            lo, hi = max(g0, b0), min(g1, b1)
            if hi > lo:
                out[:, idx] = hist[(lo - g0) * nq : (hi - g0) * nq].T @ self.kernel(p, i)[(lo - b0) * nq : (hi - b0) * nq]
        return out
