"""The chunk integrand of the exact fermionic-bath NESS (`qgeom.dc.exact`): the matrix-element tensors of
terms (IV)–(I), their sums against the kernel tables of each Γ and μ (`FamilySums`, `_GammaSums`: near band
triples per element, far pairs through pair tables), the slabs of intermediate bands that bound its memory
(`middle_slabs`) and its cost model for the size guard (docs/exact_ness.md, Cost and Memory)."""

from __future__ import annotations

import numpy as np

from ..bands import Bands
from ..kspace import chunk_size_for
from . import psi_tables as PT
from .observable_terms import observable_tensors


def matrix_tensors(b: Bands, comps):
    """Per-k tensors of terms (IV)–(I) for components (a, b, c): T4[k, c, m, l, n] as its three factors
    (`triple_tensor`), T3, T2 [k, c, m, n], T1 [k, c, n]."""
    b.require(3)
    A, B, C = comps
    v, w, u = b.v, b.w, b.u
    vb, vc, va = v[:, B], v[:, C], v[:, A]  # [nk, comp, N, N]
    # (IV): V^b_ml V^c_ln J^a_nm = v^b_ml v^c_ln v^a_nm
    T4 = (vb, vc, np.swapaxes(va, -1, -2))
    # (III): ½ w^bc_mn v^a_nm
    T3 = 0.5 * w[:, B, C] * np.swapaxes(va, -1, -2)
    # (II): V^b_mn J^ac_nm = v^b_mn w^ac_nm
    T2 = vb * np.swapaxes(w[:, A, C], -1, -2)
    # (I): ½ u^abc_nn
    T1 = 0.5 * np.diagonal(u[:, A, B, C], axis1=-2, axis2=-1)
    return T4, T3, T2, T1


def triple_tensor(factors, middle: slice = slice(None)) -> np.ndarray:
    """T4[k, c, m, l, n] = F[k, c, m, l]·G[k, c, l, n]·J[k, c, m, n] of the factors (F, G, J) of term (IV)
    (`matrix_tensors`, `observable_terms.observable_tensors`) for the intermediate bands l in `middle`."""
    left, right, closing = factors
    return left[:, :, :, middle, None] * right[:, :, None, middle, :] * closing[:, :, :, None, :]


def _weighted_rows(T, w):
    """w_k T[k, c, x…] as a GEMM operand [c, (x…, k)] (the kernel tables keep k innermost)."""
    Tw = T * w.reshape((-1,) + (1,) * (T.ndim - 1))
    return np.ascontiguousarray(np.moveaxis(Tw, 0, -1)).reshape(T.shape[1], -1)


class _GammaSums:
    """Σ_k w K_abc(ω1_j, ω2_j) [comp, node] at one Γ from the kernel tables of each μ, as GEMMs over
    (x, k) of the weighted matrix-element rows (prepared once per chunk and Γ). (IV) is taken over the
    intermediate bands l of the layout (`ChunkLayout.middle`, rows `T4r` of those l); the pair terms
    (III)–(I) with rows `T32r`, `T1w`, or not at all when these are None (a further slab of l)."""

    def __init__(self, rows, eps, plan, layout, kT, G):
        self.T4r, self.T32r, self.T1w = rows
        self.plan, self.layout, self.eps, self.kT, self.G = plan, layout, eps, kT, G
        self.middle = layout.middle
        self.dc_family = layout.reach is not None  # ω1 + ω2 = 0 at every node (the layout has a band reach)
        if self.dc_family:
            self._weight_by_denominator(2j * G)

    def _weight_by_denominator(self, shift):
        """(IV) when ω1 + ω2 = 0 at every node (DC, rectification): the denominator
        d_mn = ε_n − ε_m + 2iΓ of
        ρ̃²_mln = [g(ψ_+[n,l,m] − conj ψ_−[m,l,n]) + ρ̃¹_ln(ω2) − ρ̃¹_ml(ω1)]/d_mn
        goes into W = T4/d, and the ψ part is contracted with W straight from the ψ triples (no ρ̃²
        table): `psi_rows` [W at (x, w, y) = (n, m, l); W* at (m, n, l)], folded onto the layout's (near)
        (x, w) list. The ρ̃¹ difference is formed per element
        before its GEMM for the pairs (m, n) within the layout's band reach: there its two terms nearly
        cancel (ρ̃¹_nn(−ω) vs ρ̃¹_nn(ω)) while 1/d_mn is large; summed apart they would leave 10× the
        rounding of the reference evaluation. For the pairs beyond the reach (|ε_m − ε_n| at least the
        separation of `band_reach`) both terms and the ψ triples are contracted through sums of W over one
        band (`_far_rows`): N² elements per node and μ instead of N³."""
        (N, nk), ls = self.eps.shape, self.middle
        nc = len(self.T4r)
        d = (self.eps[None] - self.eps[:, None] + shift)[None, :, None]  # d_mn over [c, m, l, n, k]
        W = self.T4r.reshape(nc, N, ls.stop - ls.start, N, nk) / d
        self._far_rows(W)
        self._near_rows(W, self.layout.reach)
        plus = self.layout.fold(W.transpose(0, 3, 1, 2, 4))
        minus = self.layout.fold(W.transpose(0, 1, 3, 2, 4)).conj()  # conjugate the folded list only
        self.psi_rows = np.concatenate([plus.reshape(nc, -1), minus.reshape(nc, -1)])

    def _far_rows(self, W):
        """The far pairs' weights: ρ̃¹ rows Σ_m W[m, l, n] (against ρ̃¹_ln(ω2)) and Σ_n W[m, l, n] (against
        ρ̃¹_ml(ω1)) over |m − n| > reach, and the ψ rows B of `ChunkLayout.far_weights` for the + and − halves
        (A_+[x, w, y] = W[w, y, x] and A_−[x, w, y] = conj W[x, y, w]: B_− = −conj B_+, as 1/(z_x − z_w) is
        imaginary)."""
        nc = len(W)
        far = self.layout.far_pairs.astype(float)  # [m, n]
        # one pass over W each (memory-bound; numpy's unoptimized einsum loop is the fastest here)
        self.far_l_n = np.einsum("cmlnk,mn->clnk", W, far).reshape(nc, -1)
        self.far_m_l = np.einsum("cmlnk,mn->cmlk", W, far).reshape(nc, -1)
        B = self.layout.far_weights(W).reshape(nc, -1)
        self.far_psi = np.concatenate([B, -B.conj()])

    def _near_rows(self, W, reach):
        """The ρ̃¹ rows of the near pairs (|m − n| ≤ reach), per band offset j = m − n: `near_rows[j]`
        [c, (n, l, k)] over the bands n with n + j a band. (The ψ rows need no mask: the layout's (x, w) list
        holds only near pairs.)"""
        nc, N = W.shape[:2]
        self.near_rows = {}
        for j in range(-reach, reach + 1):
            n = np.arange(max(0, -j), min(N, N - j))
            self.near_rows[j] = np.ascontiguousarray(W[:, n + j, :, n].transpose(1, 0, 2, 3)).reshape(nc, -1)

    def _near_delta_sums(self, r1) -> np.ndarray:
        """Σ W_mln [ρ̃¹_ln(ω2) − ρ̃¹_ml(ω1)] over the near pairs (m, n), [c, node]: the difference formed per
        element (contiguous band slices of the tables for each offset m − n)."""
        p, N, ls = self.plan, self.eps.shape[0], self.middle
        second = np.ascontiguousarray(r1[p.i2][:, ls].transpose(0, 2, 1, 3))  # ρ̃¹_ln(ω2) as [node, n, l, k]
        first = r1[p.i1][:, :, ls]  # ρ̃¹_ml(ω1) [node, m, l, k]
        out = 0.0
        for j, rows in self.near_rows.items():
            lo, hi = max(0, -j), min(N, N - j)
            delta = second[:, lo:hi] - first[:, lo + j:hi + j]
            out = out + rows @ delta.reshape(len(delta), -1).T
        return out

    def __call__(self, r0, r1, T, D1) -> np.ndarray:
        p, nc, ls = self.plan, len(self.T4r), self.middle
        out = 0.0
        if self.T32r is not None:
            R = self.T32r @ r1.reshape(len(r1), -1).T  # (III), (II) × distinct frequencies
            out = R[:nc, p.i12] + R[nc:, p.i1] + np.einsum("kcn,nk->c", self.T1w, r0)[:, None]
        if not self.dc_family:
            r2 = PT.rho2_table(self.eps, p, self.layout, r1, T, self.kT, self.G)
            return out + self.T4r @ r2.reshape(len(r2), -1).T
        if ls.stop - ls.start < len(self.eps):  # a slab of the intermediate bands l: their part of the tables
            r1_ln, r1_ml, D1 = r1[:, ls], r1[:, :, ls], D1[:, :, ls]
        else:
            r1_ln = r1_ml = r1
        nf = len(r1)
        far = (self.far_l_n @ r1_ln.reshape(nf, -1).T)[:, p.i2] - (self.far_m_l @ r1_ml.reshape(nf, -1).T)[:, p.i1]
        out = out + self._near_delta_sums(r1) + far
        Gp = self.psi_rows @ T.reshape(len(T), -1).T + (self.far_psi @ D1.reshape(len(D1), -1).T)[:, self.layout.sb]
        g = PT.rho2_numerator_scale(self.kT, self.G)
        return out + g * (Gp[:nc, p.ip] - Gp[nc:, p.im].conj())


# band pairs farther apart than this many (πkT + Γ) enter (IV) through the pair tables (`_GammaSums._far_rows`)
FAR_SEPARATION = 0.5

# ops per k-point and Γ of the exact NESS sums (`FamilySums.relative_cost`). With ω1 + ω2 = 0 at every node (DC,
# rectification): nodes·N²·min(N, NEAR_BANDS)·(a + nμ·(b + c·ncomp)) — the near triples' layout, their ψ tables and
# kernels per μ, their GEMMs per μ and component — plus d·ncomp·N³ (W = T4/d and its sums over one band, once per
# chunk and Γ), (a, b, c, d) = EXACT_COST. Fitted on one core to GaAs 6³, 1T′-MoS₂ 8², the Wannier-like N = 32
# model on 5³ and random N = 64, 100, 160 models (1–6 μ, 1–3 Γ, 1–4 components): measured / estimated 0.76–1.30
# (the former nodes·N³ model, fitted to N ≤ 48 at 4 components, was 0.26–0.6 from N = 32 on at fewer)
EXACT_COST = (48.0, 19.0, 1.4, 66.0)
NEAR_BANDS = 6.0  # the band reach the near triples are counted with
# the second harmonic (ω1 = ω2: no band reach, every triple and the ρ̃² table per μ): nodes·N³·(a + nμ·(b + c·ncomp)),
# fitted to GaAs 5³ and 1T′-MoS₂ 3² (one ω, 1–4 μ, 1–4 components: 0.92–1.02; 2–4.4× low with the DC costs)
HARMONIC_COST = (100.0, 60.0, 5.0)
# each further slab of intermediate bands (`middle_slabs`) evaluates the pair tables again: ops per node, N² and μ
# (N = 300 in 18 slabs: ~40 % of its time)
SLAB_COST = 90.0


class FamilySums:
    """Chunk integrand: Σ_k w K_abc(z, s z) at the given nodes for each (Γ, μ); returns [Γ, μ, comp, node].
    Module-level and holding only arrays and numbers, so it pickles (process pool, Dask).
    `block_sizes`: the orbital counts of the blocks it is summed over (the model's N when not split) and
    `point_ops`: `resources.model_point_ops` of the model, for `relative_cost` only (not part of the
    chunk sums' fingerprint)."""

    def __init__(self, comps_all, nodes_per_gamma, sign, mu, kT, gammas, observable=None, block_sizes=None,
                 point_ops=None):
        self.comps_all, self.nodes, self.sign = comps_all, nodes_per_gamma, sign
        self.mu, self.kT, self.gammas = mu, kT, gammas
        self.observable = observable  # None: the current, components (a, b, c); else O, components (b, c)
        self.block_sizes = None if block_sizes is None else [int(n) for n in block_sizes]
        self.point_ops = point_ops

    @property
    def harmonic(self) -> bool:
        """The second-harmonic family (ω1 = ω2 at every node: no band reach, every triple per μ)."""
        return self.sign > 0

    @property
    def relative_cost(self) -> float:
        """Time per k-point over `resources.estimate`'s model (`resources.point_ops`: eigensolve, Fourier
        sums, μ sweep): 1 + Σ_blocks Σ_Γ work(N_B, M_Γ) / point_ops with M_Γ the contour nodes and the work of
        EXACT_COST (HARMONIC_COST for the second harmonic) plus SLAB_COST per further slab. Without it the
        estimate was 60–700× low (one eigensolve per k)."""
        if not self.block_sizes or not self.point_ops:
            return 1.0
        harmonic = self.harmonic
        ncomp, nmu = len(self.comps_all[0]), np.size(self.mu)
        slab_nodes = max(len(z) for z in self.nodes)
        work = 0.0
        for n in self.block_sizes:
            further = len(middle_slabs(n, 1, slab_nodes, ncomp, harmonic=harmonic)) - 1
            for m in (len(z) for z in self.nodes):
                if harmonic:
                    a, b, c = HARMONIC_COST
                    work += m * n**3 * (a + nmu * (b + c * ncomp))
                else:
                    a, b, c, d = EXACT_COST
                    work += m * n * n * min(n, NEAR_BANDS) * (a + nmu * (b + c * ncomp)) + d * ncomp * n**3
                work += further * m * n * n * nmu * SLAB_COST
        return 1.0 + work / float(self.point_ops)

    @property
    def point_bytes(self) -> int:
        """Working memory per k-point (`point_bytes`) for the size guard's estimate."""
        if not self.block_sizes:
            return 0
        return point_bytes(max(self.block_sizes), max(len(z) for z in self.nodes), len(self.comps_all[0]),
                           harmonic=self.harmonic)

    def fingerprint(self):
        """What the chunk sums depend on (checkpoint manifests)."""
        o = self.observable
        observable = [] if o is None else [["observable", o.name, o.source, o.matrix, o.direction]]
        return ["_FamilySums",  # its name before it moved here: earlier checkpoints stay valid
                *(np.asarray(c) for c in self.comps_all),
                [np.asarray(z, complex) for z in self.nodes], int(self.sign),
                np.asarray(self.mu, float), float(self.kT), np.asarray(self.gammas, float), *observable]

    def __call__(self, b: Bands, w: np.ndarray) -> np.ndarray:
        if self.observable is None:
            T4, T3, T2, T1 = matrix_tensors(b, self.comps_all)
        else:
            T4, T3, T2, T1 = observable_tensors(b, self.observable, self.comps_all)
        pair_rows = np.concatenate([_weighted_rows(T3, w), _weighted_rows(T2, w)]), T1 * w[:, None, None]
        eps = np.ascontiguousarray(b.energies.T)  # [N, k]: the kernel tables keep k innermost
        N, nk = eps.shape
        slabs = middle_slabs(N, nk, max(len(z) for z in self.nodes), len(self.comps_all[0]), harmonic=self.harmonic)
        out = 0.0
        for i, middle in enumerate(slabs):  # (IV) a slab of intermediate bands at a time; (III)–(I) once
            rows = (_weighted_rows(triple_tensor(T4, middle), w),) + (pair_rows if i == 0 else (None, None))
            out = out + np.array([self._gamma_sums(rows, eps, G, z, middle) for G, z in zip(self.gammas, self.nodes)])
        return out

    def _gamma_sums(self, rows, eps, G, z, middle: slice) -> np.ndarray:
        """[μ, comp, node] at one Γ with contour nodes z, (IV) over the intermediate bands `middle`."""
        plan = PT.NodePlan.build(z, self.sign * z)
        # ω1 + ω2 = 0 at every node (DC, rectification; the third point of every triple a real energy): the
        # triples of pairs of bands farther apart than FAR_SEPARATION (πkT + Γ) come from the pair tables
        reach = PT.band_reach(eps, FAR_SEPARATION * (np.pi * self.kT + G)) if not np.any(plan.pairs[:, 1]) else None
        layout = plan.layout(eps, self.kT, G, self.mu, reach, middle)  # what the μ values share
        sums = _GammaSums(rows, eps, plan, layout, self.kT, G)
        tables = PT.PsiTable.at(eps, plan.shifts, self.mu, self.kT, G)
        return np.array([sums(*PT.kernel_tables(t, eps, plan, layout, self.kT, G)) for t in tables])


# working memory of one slab of intermediate bands (`middle_slabs`): (IV)'s N³ tables of a large model in pieces
SLAB_BYTES = 256 * 2**20


def middle_band_bytes(N: int, nnodes: int, ncomp: int, *, harmonic: bool = False) -> int:
    """Working memory of (IV) per k-point and intermediate band l: ~2 arrays of ncomp·N² complex numbers (T4's
    weighted rows and W = T4/d live together) and the ψ triples' layout and tables — for ω1 + ω2 = 0 at every
    node (DC, rectification) ~5 arrays of nodes·N·(band reach + 1) (the near triples; reach taken as
    NEAR_BANDS), for the second harmonic (`harmonic`: every (x, w) pair, and the ρ̃² table) ~9 of nodes·N².
    Measured (tracemalloc; 24 nodes, 25 for the second harmonic at one ω): DC with 4 components 3.7 MiB per
    band at N = 160 (4.9 here), 1T′-MoS₂ (N = 48, all bands) 40 MiB per k-point (59 here); second harmonic,
    2 components, 13.3 MiB per band at N = 64 (14.3 here)."""
    if harmonic:
        return 16 * N * N * (2 * ncomp + 9 * nnodes)
    return 16 * (2 * ncomp * N * N + 5 * nnodes * N * min(N, int(NEAR_BANDS)))


def middle_slabs(N: int, nk: int, nnodes: int, ncomp: int, *, harmonic: bool = False) -> list[slice]:
    """The slabs of intermediate bands l that (IV) is summed over one at a time in a chunk of `nk` k-points:
    all N at once up to SLAB_BYTES of working memory (one DC k-point of every model up to N ≈ 88 at 8
    components, ≈ 103 at 4; second harmonic up to N ≈ 41), else equal slabs within it (the pair tables of each
    μ, N² per node, are then evaluated once per slab)."""
    width = max(1, SLAB_BYTES // max(1, nk * middle_band_bytes(N, nnodes, ncomp, harmonic=harmonic)))
    count = -(-N // width)
    edges = np.linspace(0, N, count + 1).round().astype(int)
    return [slice(int(a), int(b)) for a, b in zip(edges[:-1], edges[1:])]


def point_bytes(N: int, nnodes: int, ncomp: int, *, harmonic: bool = False) -> int:
    """Working memory per k-point of one Γ's tables: (IV)'s for one slab of intermediate bands
    (`middle_slabs` of a one-point chunk), the pair tables (N² per node and μ) and the matrix elements.
    Bounded by SLAB_BYTES + 16·N²·(40 + 6·nodes): measured traced peaks (4 components) 216 MiB at N = 160 in 4
    slabs (910 MiB in one) and 426 MiB at N = 300 in 18 (5613 MiB in one; docs/exact_ness.md, Memory)."""
    width = middle_slabs(N, 1, nnodes, ncomp, harmonic=harmonic)[0]
    per_band = middle_band_bytes(N, nnodes, ncomp, harmonic=harmonic)
    return (width.stop - width.start) * per_band + 16 * N * N * (40 + 6 * nnodes)


def auto_chunk(N: int, nnodes: int, ncomp: int, *, harmonic: bool = False) -> int:
    """k-points per chunk by `point_bytes`: one k-point per chunk from N ≈ 32 on (fastest there too: 1T′-MoS₂
    8², chunks of 1 / 4 / 16 k-points 3.0 / 3.9 / 5.8 s; GaAs 4³, 1 / 4 / 16 / 64: 0.47 / 0.31 / 0.30 / 0.56 s)."""
    return chunk_size_for(point_bytes(N, nnodes, ncomp, harmonic=harmonic), lo=1, hi=4096)
