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
3. Real GEMMs. Every kernel is a sum of real kernels (`KERNEL_PARTS`), and every real kernel a sum of
   kernel tables (`kernels.real_parts`: for the Lorentzian δ and Pf from r = 1/(x² + γ²) and r², 5
   elementwise passes per entry instead of 8): per table one [batch, nfreq] array per batch of groups
   and, per numerator that a term contracts with it, one real GEMM of its (re, im) columns with the
   table; the terms' prefactors and coefficients are applied to the [nfreq, d²] sums. One GEMM per
   numerator, not one with the columns of all numerators side by side: no copy of them, and OpenBLAS
   runs the 2d² = 18 rows of a 3D numerator at ~1.4× the flop rate of 36 or 54 (measured on this
   machine, single thread).
4. Far transitions. The frequencies are taken in blocks (FREQ_BLOCK); for a transition whose resonance lies
   far from a block (FAR half-widths from its centre), the Lorentzian's kernels — rational, with poles at
   −x ± iγ only — are smooth on the block: they are evaluated at FAR_NODES Chebyshev points and interpolated
   to its frequencies (a [nodes, freq] matrix per block), so that such a transition costs FAR_NODES table
   entries and GEMM columns per block instead of one per frequency. With thousands of ω most (transition,
   block) pairs are far. For the Gaussian, a transition also ≥ GAUSSIAN_FAR·γ from the block has its δ below
   e^−69 of the peak (dropped), and Dawson's P, Pf and Pf′, smooth there, are interpolated alike.
"""

from __future__ import annotations

import itertools

import numpy as np

from ..resources import OPTICAL_TABLE
from . import kernels
from .terms import Chunk

TIGHT = 1e-8  # block spread / γ below which its transitions share one kernel (first order in δ)
TABLE_SIZE = OPTICAL_TABLE  # elements per kernel table [groups, nfreq] (400 kB: tables stay in cache for the GEMM)
# signed frequencies per kernel table: with thousands of ω a table of TABLE_SIZE elements would hold a few groups,
# and each GEMM (K = groups) would read and write the whole [columns, nfreq] accumulator for them
FREQ_BLOCK = 512
# Groups whose resonance lies ≥ FAR half-widths from a block's centre: their kernels are interpolated from
# FAR_NODES Chebyshev points (module doc, 4): ρ ≥ 5.8, truncation ~ρ^−28 ≈ 1e-21, below the rounding of the
# arguments f + x̄ that the direct tables have too (~1e-13 of a term at a resonance a few meV away)
FAR = 3.0
FAR_NODES = 28
GAUSSIAN_FAR = 8.3  # γ: e^−8.3² < 1e-29, and Dawson's 1 − 2uD(u) on its asymptotic branch (|u| ≥ 8) on the whole block

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
    its transitions are spread (`spread`: the first-order term g'(x̄) ΣδN is needed). `first`: None, or
    [nk, N] bool — the groups of transitions from or to these states come first, `n_first` of them (else
    `n_first` is None), so that the contraction also returns their part of the sums (`contract`)."""

    def __init__(self, ch: Chunk, gamma: float, scissors=None, first=None):
        b = ch.b
        N = b.nbands
        kk, nn, mm = np.nonzero(ch.pair_mask())  # in (k, n, m) order
        shift = np.zeros((N, N)) if scissors is None else scissors.transition_shift(N)
        x = ch.enm[kk, nn, mm] + shift[nn, mm]
        later = None if first is None else ~(first[kk, nn] | first[kk, mm])  # not from or to a `first` state
        self.n_first = None if first is None else int(len(kk) - later.sum())
        if (b.labels[:, -1] == N - 1).all():  # no degenerate subspace in the chunk: one transition per group
            if later is not None:
                order = np.argsort(later, kind="stable")
                kk, nn, mm, x = kk[order], nn[order], mm[order], x[order]
            self.pairs, self.starts, self.x = (kk, nn, mm), np.arange(len(kk)), x
            self.delta, self.spread = np.zeros(len(kk)), np.zeros(len(kk), bool)
            return
        L = b.block_first(TIGHT * gamma)  # degenerate subspaces are those of `bands`
        key = (kk * N + L[kk, nn]) * N + L[kk, mm]
        if later is not None:  # a group never mixes the two kinds: the flag is part of its key
            key += later * (b.nk * N * N)
        order = np.argsort(key, kind="stable")
        self.pairs = kk, nn, mm = kk[order], nn[order], mm[order]
        x = x[order]
        new = np.diff(key[order], prepend=-1) != 0
        self.starts = np.flatnonzero(new)
        if later is not None:
            self.n_first = int(np.searchsorted(self.starts, self.n_first))  # groups before the first later one
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
             bkind: str) -> tuple[dict, dict | None]:
    """({term: [nω, d²]}, the same over the first `tr.n_first` groups or None): Σ_transitions W g(ω + x) on
    `omega_all`, from the pair numerators {name: [P, d²]} (w_k N_nm at `tr.pairs`) and per term its
    numerator, prefactor and kernel (a key of KERNEL_PARTS), weights = {term: (name, prefactor, kernel)}."""
    freq, plus, minus = signed_frequencies(np.asarray(omega_all, float))
    # per term: (numerator, table, coefficient), the kernel as real kernels as kernel tables (`kernels.real_parts`)
    parts = {term: [(name, table, pref * c * c2) for kern, c in KERNEL_PARTS[kernel]
                    for table, c2 in kernels.real_parts(kern, bkind, gamma)]
             for term, (name, pref, kernel) in weights.items()}
    readers: dict = {}  # numerator name → the tables that it is contracted with
    for name, table, _ in itertools.chain.from_iterable(parts.values()):
        readers.setdefault(name, {}).setdefault(table)
    acc, acc_first = _accumulate(tr, freq, {name: tr.sums(np.ascontiguousarray(numerators[name])) for name in readers},
                                 readers, gamma, bkind)

    def combine(acc):
        out = {}
        for term, items in parts.items():
            total = 0
            for name, table, c in items:
                S = acc[name, table]
                # n → m at ω: g(ω + x); m → n at ω: g(ω − x) = ±g(−ω + x), with N_mn = N_nm*
                total = total + c * S[plus] + (kernels.PARITY[table] * c) * S[minus].conj()
            out[term] = total
        return out

    return combine(acc), None if acc_first is None else combine(acc_first)


def _accumulate(tr: Transitions, freq: np.ndarray, sums: dict, readers: dict, gamma: float, bkind: str):
    """{(numerator, table): [nfreq, ncol] complex} = Σ_groups g(freq + x̄) ΣN + g'(freq + x̄) ΣδN per numerator
    (sums: {name: (ΣN, ΣδN or None)}, `Transitions.sums`) and kernel table g it is contracted with (`readers`), in
    blocks of at most FREQ_BLOCK frequencies and, within each, batches of groups (TABLE_SIZE elements a table):
    per batch one `kernels.Tables` entry per table and one real GEMM per (numerator, table) on (re, im)
    interleaved columns. Groups far from a block (`_far_from`) are summed at its Chebyshev points and
    interpolated (module doc, 4). Returned with the same over the first `tr.n_first` groups (None when that is
    None): the batches stop at that group, and the sums so far are kept."""
    # [column, freq]: columnsᵀ @ table is the faster GEMM layout (1.3–1.5× on these shapes)
    acc = {(name, table): np.zeros((2 * sums[name][0].shape[1], len(freq)))
           for name, tables in readers.items() for table in tables}
    first = None if tr.n_first is None else {key: np.empty_like(a) for key, a in acc.items()}
    real = {name: (W.view(float), None if V is None else V.view(float)) for name, (W, V) in sums.items()}
    nblocks = -(-len(freq) // FREQ_BLOCK)
    edges = [len(freq) * i // nblocks for i in range(nblocks + 1)]  # blocks of equal length (±1)
    blocks = [slice(lo, hi) for lo, hi in zip(edges[:-1], edges[1:])]
    names = {table for _, table in acc}
    width = max(hi - lo for lo, hi in zip(edges[:-1], edges[1:]))
    batch = max(16, TABLE_SIZE // width)
    evaluate = kernels.Tables(names, gamma, bkind, batch, freq, columns=width)
    # the far groups' tables at every block's Chebyshev points (the Gaussian's δ is dropped there: < e^−69 of its peak)
    far = width > 2 * FAR_NODES
    if far:
        nodes, interpolate = zip(*(_chebyshev_interpolation(freq[block]) for block in blocks))
        far_batch = max(16, TABLE_SIZE // FAR_NODES)
        smooth = names - {"delta"} if bkind == "gaussian" else names
        at_nodes = kernels.Tables(smooth, gamma, bkind, far_batch, np.concatenate(nodes), columns=FAR_NODES)
    ngroups = len(tr.x)
    segments = ((0, ngroups),) if tr.n_first is None else ((0, tr.n_first), (tr.n_first, ngroups))
    for b, block in enumerate(blocks):
        out = {key: a[:, block] for key, a in acc.items()}
        is_far = _far_from(freq[block], tr, gamma, bkind) if far else None
        for lo, hi in segments:
            if is_far is None or not is_far[lo:hi].any():
                _add_batches(out, tr, real, slice(lo, hi), evaluate, block, batch)
            else:
                groups = np.arange(lo, hi)
                _add_batches(out, tr, real, groups[~is_far[lo:hi]], evaluate, block, batch)
                sums_at_nodes = {key: np.zeros((len(a), FAR_NODES)) for key, a in out.items() if key[1] in smooth}
                if sums_at_nodes:  # (a Gaussian δ alone: nothing left of the far groups)
                    _add_batches(sums_at_nodes, tr, real, groups[is_far[lo:hi]], at_nodes,
                                 slice(b * FAR_NODES, (b + 1) * FAR_NODES), far_batch)
                for key, a in sums_at_nodes.items():
                    out[key] += a @ interpolate[b]
            if first is not None and hi == tr.n_first:
                for key, a in out.items():
                    first[key][:, block] = a

    def complex_rows(acc):
        return {key: np.ascontiguousarray(a.T).view(complex) for key, a in acc.items()}

    return complex_rows(acc), None if first is None else complex_rows(first)


def _add_batches(out: dict, tr: Transitions, real: dict, groups, tables: "kernels.Tables", block: slice,
                 batch: int) -> None:
    """out[(name, table)] [ncol, F] += Σ over `groups` (a slice or indices) of W g(f + x̄) + V g'(f + x̄) at the
    frequencies tables.freq[block], in batches of `batch` groups."""
    n = groups.stop - groups.start if isinstance(groups, slice) else len(groups)
    for s in range(0, n, batch):
        sel = (slice(groups.start + s, groups.start + min(s + batch, n)) if isinstance(groups, slice)
               else groups[s : s + batch])
        spread = bool(tr.spread[sel].any())
        val, der = tables(tr.x[sel], slopes=spread, block=block)
        for (name, table), a in out.items():
            W, V = real[name]
            a += W[sel].T @ val[table]
            if spread:
                a += V[sel].T @ der[table]


def _chebyshev_interpolation(f: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(nodes [P], K [P, F]): the P = FAR_NODES Chebyshev points of the first kind on [f[0], f[-1]] and the
    barycentric interpolation matrix from them to the frequencies f (sorted): p(f) = p(nodes) @ K for every
    polynomial p of degree < P (numerically stable: Berrut & Trefethen, SIAM Rev. 46, 501 (2004))."""
    c, h = 0.5 * (f[0] + f[-1]), 0.5 * (f[-1] - f[0])
    theta = np.pi * (np.arange(FAR_NODES) + 0.5) / FAR_NODES
    u_nodes = np.cos(theta)
    w = (-1.0) ** np.arange(FAR_NODES) * np.sin(theta)
    D = (f[None, :] - c) / h - u_nodes[:, None]  # [P, F]
    hit = D == 0.0
    D[hit] = 1.0
    K = w[:, None] / D
    K /= K.sum(axis=0)
    on_node = hit.any(axis=0)
    K[:, on_node] = hit[:, on_node]  # a frequency on a node takes that node's value
    return c + h * u_nodes, K


def _far_from(f: np.ndarray, tr: Transitions, gamma: float, bkind: str) -> np.ndarray:
    """Whether each group's resonance f = −x̄ lies at least FAR half-widths from the centre of the block of
    frequencies f. The Lorentzian's kernels are rational with poles at f = −x̄ ± iγ only, so g(f + x̄) is analytic
    in a Bernstein ellipse of parameter ≥ FAR + √(FAR² − 1) around the block, and its interpolant at FAR_NODES
    Chebyshev points is exact to rounding. The Gaussian's: also GAUSSIAN_FAR·γ from every frequency of the block,
    where its δ and δ' are below e^−69 of their peaks (dropped) and Dawson's P, Pf and Pf' are smooth (interpolated;
    tested to 1e-14)."""
    c, h = 0.5 * (f[0] + f[-1]), 0.5 * (f[-1] - f[0])
    distance = np.abs(tr.x + c)
    if bkind == "gaussian":
        return (distance >= FAR * h) & (distance - h >= GAUSSIAN_FAR * gamma)
    return distance >= FAR * h
