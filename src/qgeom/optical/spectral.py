"""The ω contraction of `response.chunk_response`: for every term, Σ over the transitions n → m of
W_nm · g(ω + x_nm), x_nm = ε_nm (+ scissors), on the grid [ω…, −ω…]. Arranged so that the ω-dependent
work (kernel tables and GEMMs over [transitions, ω]) is as small as the exact formulas allow:

1. Pairs. Only n < m is kept (the condition m ∉ D(n), f_nm ≠ 0 is symmetric): m → n at ω has
   x_mn = −x_nm, so its kernel ±g(−ω + x_nm) (`kernels.PARITY`) comes from the same table on the
   distinct ±ω values, and its numerator is N_mn = N_nm* (`terms.NUMERATOR_OF`).
2. Degenerate groups. The transitions between two degenerate blocks (4 for two Kramers pairs) have
   x = x̄ + δ with |δ| ≤ 2·TIGHT·γ (rounding splits them by ~1e-16):
       Σ N g(x̄ + δ) = g(x̄) ΣN + g'(x̄) ΣδN,
   the neglected ½δ²g'' being ~TIGHT² ≈ 1e-16 of g. Blocks spread wider than TIGHT·γ are split into bands.
3. Real GEMMs. Every kernel is a sum of real kernels (`KERNEL_PARTS`): per real kernel one table
   [batch, nfreq] per batch of groups and one real GEMM with the numerators of all terms that use it;
   the terms' prefactors and kernel coefficients are applied to the [nfreq, d²] sums.
"""

from __future__ import annotations

import numpy as np

from . import kernels
from .terms import Chunk

TIGHT = 1e-8  # block spread / γ below which its transitions share one kernel (first order in δ)
TABLE_SIZE = 51_200  # elements per kernel table [groups, nfreq] (400 kB: tables stay in cache for the GEMM)

# Each kernel of `terms.kernel_of` as a sum of real kernels of definite parity with complex coefficients.
KERNEL_PARTS = {
    "delta": (("delta", 1.0),),
    "pf2": (("finite_part2", 1.0),),
    "adiabatic": (("adiabatic", 1.0),),
    "resolvent": (("principal", 1.0), ("delta", -1j * np.pi)),
    "resonant": (("delta", -1j * np.pi),),
}


class Transitions:
    """The contributing transitions (k, n < m) of a chunk, `pairs`, sorted into degenerate groups (module
    doc, 1–2) that start at `starts`: per group its energy `x` (that of its first pair of bands) and whether
    its transitions are spread (`spread`: the first-order term g'(x̄) ΣδN is needed)."""

    def __init__(self, ch: Chunk, gamma: float, scissors=None):
        b = ch.b
        N = b.nbands
        kk, nn, mm = np.nonzero(ch.pair_mask())
        L = b.block_first(TIGHT * gamma)  # degenerate subspaces are those of `bands`
        key = (kk * N + L[kk, nn]) * N + L[kk, mm]
        order = np.argsort(key, kind="stable")
        self.pairs = kk, nn, mm = kk[order], nn[order], mm[order]
        new = np.diff(key[order], prepend=-1) != 0
        self.starts = np.flatnonzero(new)
        shift = np.zeros((N, N)) if scissors is None else scissors.transition_shift(N)
        x = ch.enm[kk, nn, mm] + shift[nn, mm]
        k0 = kk[self.starts]
        n0, m0 = L[k0, nn[self.starts]], L[k0, mm[self.starts]]
        self.x = ch.enm[k0, n0, m0] + shift[n0, m0]
        self.delta = x - self.x[np.cumsum(new) - 1]
        self.spread = np.add.reduceat(np.abs(self.delta), self.starts) > 0

    def sums(self, w: np.ndarray):
        """Per group ΣN and ΣδN of the pair numerators w [P, c]: w itself when every group is one transition
        (e.g. a chunk without degenerate bands), ΣδN None when no group is spread."""
        if len(self.starts) == len(w):
            return w, None
        S = np.add.reduceat(w, self.starts, axis=0)
        return S, (np.add.reduceat(self.delta[:, None] * w, self.starts, axis=0) if self.spread.any() else None)


def signed_frequencies(omega_all: np.ndarray):
    """The distinct values of ±ω: (freq, plus, minus) with freq[plus] = ω_all and freq[minus] = −ω_all."""
    freq, inv = np.unique(np.concatenate([omega_all, -omega_all]), return_inverse=True)
    return freq, inv[: len(omega_all)], inv[len(omega_all):]


def contract(tr: Transitions, omega_all: np.ndarray, numerators: dict, weights: dict, gamma: float,
             bkind: str) -> dict:
    """{term: [nω, d²]}: Σ_transitions W g(ω + x) on `omega_all`, from the pair numerators {name: [P, d²]}
    (w_k N_nm at `tr.pairs`) and per term its numerator, prefactor and kernel (a key of KERNEL_PARTS),
    weights = {term: (name, prefactor, kernel)}."""
    freq, plus, minus = signed_frequencies(np.asarray(omega_all, float))
    cols, where = _stack(tr, numerators, weights)
    acc = _accumulate(tr, freq, cols, gamma, bkind)
    out = {}
    for term, parts in where.items():
        total = 0
        for kern, j, c in parts:
            S = acc[kern][:, j: j + numerators[weights[term][0]].shape[1]]
            # n → m at ω: g(ω + x); m → n at ω: g(ω − x) = ±g(−ω + x), with N_mn = N_nm*
            total = total + c * S[plus] + (kernels.PARITY[kern] * c) * S[minus].conj()
        out[term] = total
    return out


def _stack(tr: Transitions, numerators: dict, weights: dict):
    """Group sums of the numerators of all terms in one array, with the columns of each real kernel's numerators
    side by side where the layout allows it (then a view, else a copy): {kernel: (ΣN, ΣδN or None)}, each
    [G, ncol] complex, and {term: [(kernel, first column, coefficient)]}."""
    users: dict = {}  # numerator name → the real kernels that read it, in first-use order
    for name, _, kernel in weights.values():
        for kern, _ in KERNEL_PARTS[kernel]:
            users.setdefault(name, {}).setdefault(kern)
    # names read by the same kernels next to each other: every kernel's columns contiguous in the usual sets
    names = sorted(users, key=lambda n: sorted(users[n]))
    width = {n: numerators[n].shape[1] for n in names}
    first = dict(zip(names, np.cumsum([0] + [width[n] for n in names[:-1]])))
    W, V = tr.sums(np.concatenate([numerators[n] for n in names], axis=1) if len(names) > 1
                   else np.ascontiguousarray(numerators[names[0]]))
    cols, where, offset = {}, {}, {}
    for kern in dict.fromkeys(k for n in names for k in users[n]):
        mine = [n for n in names if kern in users[n]]
        idx = np.concatenate([np.arange(first[n], first[n] + width[n]) for n in mine])
        pick = slice(idx[0], idx[-1] + 1) if np.all(np.diff(idx) == 1) else idx
        cols[kern] = tuple(None if X is None else X[:, pick] if isinstance(pick, slice)
                           else np.ascontiguousarray(X[:, pick]) for X in (W, V))
        offset[kern] = {n: int(sum(width[x] for x in mine[: mine.index(n)])) for n in mine}
    for term, (name, pref, kernel) in weights.items():
        where[term] = [(kern, offset[kern][name], pref * c) for kern, c in KERNEL_PARTS[kernel]]
    return cols, where


def _accumulate(tr: Transitions, freq: np.ndarray, cols: dict, gamma: float, bkind: str) -> dict:
    """{kernel: [nfreq, ncol] complex} = Σ_groups g(freq + x̄) ΣN + g'(freq + x̄) ΣδN per real kernel, in
    batches of groups (TABLE_SIZE): one table and one real GEMM on (re, im) interleaved columns each."""
    # [column, freq]: columnsᵀ @ table is the faster GEMM layout (1.3–1.5× on these shapes)
    acc = {kern: np.zeros((2 * W.shape[1], len(freq))) for kern, (W, _) in cols.items()}
    real = {kern: (W.view(float), None if V is None else V.view(float)) for kern, (W, V) in cols.items()}
    batch = max(16, TABLE_SIZE // len(freq))
    tables = kernels.Tables(real, gamma, bkind, batch, freq)
    for s in range(0, len(tr.x), batch):
        sl = slice(s, s + batch)
        spread = bool(tr.spread[sl].any())
        val, der = tables(tr.x[sl], slopes=spread)
        for kern, (W, V) in real.items():
            acc[kern] += W[sl].T @ val[kern]
            if spread:
                acc[kern] += V[sl].T @ der[kern]
    return {kern: np.ascontiguousarray(a.T).view(complex) for kern, a in acc.items()}
