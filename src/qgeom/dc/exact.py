"""Exact second-order conductivity of the fermionic-bath NESS (seed [D] Eqs. B-5, B-6).

σ_abc(ω1, ω2) = (i/ω1)(i/ω2) [K_abc(ω1, ω2) + K_acb(ω2, ω1)]   (B-5, "b ↔ c, ω1 ↔ ω2")

    K_abc(ω1, ω2) = Σ_{m,l,n} V^b_ml V^c_ln ρ̃²_mln(ω1, ω2) J^a_nm        (IV)
                  + Σ_{m,n}   V^bc_mn ρ̃¹_mn(ω1 + ω2) J^a_nm              (III)
                  + Σ_{m,n}   V^b_mn ρ̃¹_mn(ω1) J^ac_nm                   (II)
                  + Σ_n       ρ̃⁰_n J^abc_nn                              (I)

with V^b = −∂_bH, V^bc = ½∂_b∂_cH, J^a = ∂_aH, J^ac = −∂_a∂_cH, J^abc = ½∂_a∂_b∂_cH in the
eigenbasis (Bands order 3) and the exact kernels of `qgeom.dc.psi_tables`. Valid for any number of
bands; degenerate subspaces need no special treatment because the kernels depend on energies
only and are evaluated through their finite limits (divided differences).

Convention ("seed", default): the bracket is summed, not averaged, over (b, ω1) ↔ (c, ω2), exactly
as printed in (B-5). This is the convention in which the seed's Γ-expansion (Eqs. 2, 3, 5, 6) holds
(checked numerically, docs/exact_ness.md). The current of a DC field is j_a = ½ Σ_bc σ_abc E_b E_c
in this convention; `convention="physical"` returns the averaged σ with j_a = Σ_bc σ_abc E_b E_c.

DC limit (B-6): with ω1 = z, ω2 = −z the prefactor is 1/z², so σ_DC is the z² Taylor coefficient of
P(z) = K_abc(z, −z) + K_acb(−z, z). It is taken exactly by the Cauchy integral on the circle
|z| = r (trapezoid rule, M nodes, exponentially convergent): c_p = (1/M) Σ_j P(z_j) z_j^−p, with
r = ρ·min(Γ, (Γ + πkT)/2) inside the disk where every kernel is analytic. c0 and c1 must vanish
after the k-sum (they are returned as `residual_c0`, `residual_c1` for checking).
Units: e = ħ = 1, model energy and length units; temperature = kT and gamma = Γ in energy units.
"""

from __future__ import annotations

import dataclasses
import warnings
from pathlib import Path

import numpy as np
import xarray as xr

from .._validation import QgeomInputError, as_finite_array, positive_scalar, user_stacklevel
from ..accuracy import attach_error, error_tolerance
from ..bands import Bands
from ..kspace import chunk_size_for, integrate
from ..options import Execution, Sampling, Thermal, checked_keywords
from ..models.base import Model
from ..models.blocks import block_provenance, orbital_blocks
from ..resources import model_point_ops
from ..results import make_result
from ..units import second_order_conductivity_scale
from . import psi_tables as PT
from .components import component_indices, parse_components
from ..symmetry import NEUMANN, resolve as resolve_symmetry
from ..symmetry.results import DC_FIELD_FORM, SKIPPED_ERROR, attach_symmetry
from .conventions import check_convention, convention_scale, sigma_definition
from .observable_terms import (block_observables, dc_observable, field_indices, observable_attrs,
                               observable_tensors, observable_unit, parse_field_components)

DEFAULT_NODES = 24
DEFAULT_RADIUS = 0.25


def contour_radius(gamma: float, temperature: float, rho: float = DEFAULT_RADIUS) -> float:
    """Contour radius r = ρ·min(Γ, (Γ + πkT)/2): the kernels of both families (ω, −ω) and (ω, ω)
    are analytic for |ω| < min(Γ, (Γ + πkT)/2)."""
    return rho * min(gamma, 0.5 * (gamma + np.pi * temperature))


def contour_nodes(radius: float, nodes: int) -> np.ndarray:
    if nodes < 4 or nodes % 2:
        raise QgeomInputError(f"nodes must be an even integer ≥ 4, got {nodes!r}.")
    return radius * np.exp(2j * np.pi * np.arange(nodes) / nodes)


def _matrix_tensors(b: Bands, comps):
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
    (`_matrix_tensors`, `observable_terms.observable_tensors`) for the intermediate bands l in `middle`."""
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

# ops per k-point and Γ of the exact NESS sums (`_FamilySums.relative_cost`). With ω1 + ω2 = 0 at every node (DC,
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


class _FamilySums:
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
        return ["_FamilySums", *(np.asarray(c) for c in self.comps_all),
                [np.asarray(z, complex) for z in self.nodes], int(self.sign),
                np.asarray(self.mu, float), float(self.kT), np.asarray(self.gammas, float), *observable]

    def __call__(self, b: Bands, w: np.ndarray) -> np.ndarray:
        if self.observable is None:
            T4, T3, T2, T1 = _matrix_tensors(b, self.comps_all)
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


def _validate_common(model, components, mu, temperature, gamma, convention, obs=None):
    comps = parse_components(components, model.dim) if obs is None else parse_field_components(components, model.dim)
    thermal = Thermal(temperature, mu)
    mu_arr, kT = thermal.mu, thermal.temperature
    g_arr = np.atleast_1d(as_finite_array(gamma, "gamma"))
    if g_arr.ndim != 1 or np.any(g_arr <= 0):
        raise QgeomInputError(f"gamma must be a positive scalar or 1D array of positive rates, got {gamma!r}.")
    check_convention(convention)
    return comps, mu_arr, kT, g_arr


def _with_swapped(comps: list[str]):
    """All labels needed (requested + b↔c swapped) and, per requested label, its index and its swap's
    (labels "abc" of the current or "bc" of an observable: b, c are the last two letters)."""
    swap = [c[:-2] + c[-1] + c[-2] for c in comps]
    allc = list(dict.fromkeys(comps + swap))
    idx = np.array([allc.index(c) for c in comps])
    sw = np.array([allc.index(c) for c in swap])
    return allc, idx, sw


# working memory of one slab of intermediate bands (`middle_slabs`): (IV)'s N³ tables of a large model in pieces
SLAB_BYTES = 256 * 2**20


def _middle_band_bytes(N: int, nnodes: int, ncomp: int, *, harmonic: bool = False) -> int:
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
    width = max(1, SLAB_BYTES // max(1, nk * _middle_band_bytes(N, nnodes, ncomp, harmonic=harmonic)))
    count = -(-N // width)
    edges = np.linspace(0, N, count + 1).round().astype(int)
    return [slice(int(a), int(b)) for a, b in zip(edges[:-1], edges[1:])]


def point_bytes(N: int, nnodes: int, ncomp: int, *, harmonic: bool = False) -> int:
    """Working memory per k-point of one Γ's tables: (IV)'s for one slab of intermediate bands
    (`middle_slabs` of a one-point chunk), the pair tables (N² per node and μ) and the matrix elements.
    Bounded by SLAB_BYTES + 16·N²·(40 + 6·nodes): measured traced peaks (4 components) 216 MiB at N = 160 in 4
    slabs (910 MiB in one) and 426 MiB at N = 300 in 18 (5613 MiB in one; docs/exact_ness.md, Memory)."""
    width = middle_slabs(N, 1, nnodes, ncomp, harmonic=harmonic)[0]
    per_band = _middle_band_bytes(N, nnodes, ncomp, harmonic=harmonic)
    return (width.stop - width.start) * per_band + 16 * N * N * (40 + 6 * nnodes)


def _auto_chunk(N: int, nnodes: int, ncomp: int, *, harmonic: bool = False) -> int:
    """k-points per chunk by `point_bytes`: one k-point per chunk from N ≈ 32 on (fastest there too: 1T′-MoS₂
    8², chunks of 1 / 4 / 16 k-points 3.0 / 3.9 / 5.8 s; GaAs 4³, 1 / 4 / 16 / 64: 0.47 / 0.31 / 0.30 / 0.56 s)."""
    return chunk_size_for(point_bytes(N, nnodes, ncomp, harmonic=harmonic), lo=1, hi=4096)


def _family_sums(model, kgrid, comps_all, nodes_per_gamma, sign, mu, kT, gammas, degen_tol, chunk_size, progress,
                 executor=None, subgrid: bool = False, obs=None):
    """The family sums [Γ, μ, comp_all, node]; `executor`: workers/scheduler/checkpoint/blocks for
    `integrate` (the sums are traces over the states: additive over decoupled blocks).
    `subgrid=True`: (sums, sums on the coarse sub-grid or None), see `kspace`. `obs`: the
    observable (None: the current); a matrix observable is restricted to each block in turn."""
    executor = executor or {}
    if obs is not None:
        parts = block_observables(model, obs, executor.get("blocks", False))
        if len(parts) > 1:
            return _block_family_sums(model, parts, kgrid, comps_all, nodes_per_gamma, sign, mu, kT, gammas,
                                      degen_tol, chunk_size, progress, executor, subgrid)
    indices = component_indices(comps_all) if obs is None else field_indices(comps_all)
    sizes = [len(b) for b in orbital_blocks(model)] if executor.get("blocks") else [model.nbands]
    func = _FamilySums(indices, nodes_per_gamma, sign, mu, kT, gammas, obs, block_sizes=sizes,
                       point_ops=model_point_ops(model, n_mu=np.size(mu)))
    N = max(sizes)
    size = chunk_size or _auto_chunk(N, max(len(z) for z in nodes_per_gamma), len(comps_all), harmonic=func.harmonic)
    return integrate(model, kgrid, func, order=3, degen_tol=degen_tol, chunk_size=size, progress=progress,
                     subgrid=subgrid, **executor)


def _block_family_sums(model, parts, kgrid, comps_all, nodes, sign, mu, kT, gammas, degen_tol, chunk_size, progress,
                       executor, subgrid):
    """Σ over the decoupled blocks of an observable's family sums, each block with its own O_BB
    (checkpoints under DIR/block_i); with `subgrid`, (sums, coarse sums or None) as `_family_sums`."""
    sums = []
    for i, (idx, part_obs) in enumerate(parts):
        part = model.restricted(idx, name=f"{model.name}[block {i}]")
        ex = {**executor, "blocks": False}
        if executor.get("checkpoint") is not None:
            ex["checkpoint"] = Path(executor["checkpoint"]) / f"block_{i}"
        sums.append(_family_sums(part, kgrid, comps_all, nodes, sign, mu, kT, gammas, degen_tol, chunk_size,
                                 progress, ex, subgrid, part_obs.validate_for(part)))
    if not subgrid:
        return sum(sums)
    coarse = None if any(c is None for _, c in sums) else sum(c for _, c in sums)
    return sum(f for f, _ in sums), coarse


def _provenance(model, kT, degen_tol, convention, units, nodes, rho, obs=None):
    """(unit factor, unit label, parameters): σ in SI for physical-unit models unless units="model"
    (the same rule as `expansion`, via `qgeom.units`); an observable's response in model units."""
    if obs is None:
        factor, unit = second_order_conductivity_scale(model, units)
    else:
        factor, unit = observable_unit(model, obs, units)
    params = {"temperature": kT, "degen_tol": degen_tol, "convention": convention, "units": units,
              "unit_factor": factor, "contour_nodes": nodes, "contour_radius_fraction": rho,
              "observable": "current" if obs is None else obs.name}
    return factor, unit, params


def _dc_coefficients(Ks, zs, idx, sw, scale):
    """σ (the z² coefficient) and the residuals c0, c1 of P(z) = K_abc(z, −z) + K_acb(−z, z), each
    [Γ, comp, μ], from the family sums Ks [Γ, μ, comp_all, node] on the contours zs."""
    half = Ks.shape[-1] // 2
    # P(z_j) = K_abc(z_j, −z_j) + K_acb(−z_j, z_j); −z_j is node j + M/2
    P = Ks[:, :, idx, :] + np.roll(Ks[:, :, sw, :], -half, axis=-1)  # [Γ, μ, comp, node]
    Z = np.array(zs)[:, None, None, :]
    coef = [np.mean(P * Z**-p, axis=-1) for p in (0, 1, 2)]
    sigma = scale * np.moveaxis(coef[2], 1, 2)  # [Γ, comp, μ]
    c0 = scale * np.moveaxis(coef[0], 1, 2)
    c1 = scale * np.moveaxis(coef[1], 1, 2)
    # σ is real. A sizeable imaginary part flags a failed contour; but where σ itself vanishes
    # (μ deep in a gap, symmetry zeros) both parts are rounding noise of the k-sum, so this is a
    # warning with the number, not an error.
    imag, real = np.max(np.abs(sigma.imag)), np.max(np.abs(sigma.real))
    if imag > 1e-6 * real:
        warnings.warn(
            f"exact DC sigma has an imaginary part {imag:.3g} (real part up to {real:.3g}); if sigma is not "
            "expected to vanish here, increase the k-grid or the contour nodes.", RuntimeWarning, stacklevel=user_stacklevel(),
        )
    return sigma, c0, c1


def _dc_dataset(model, kgrid, sigma, c0, c1, g_arr, comps, mu_arr, params, unit, convention, obs=None) -> xr.Dataset:
    """`sigma[gamma, component, mu]` (real part) with the residual diagnostics and provenance."""
    extra = {
        "sigma_definition": sigma_definition(convention),
        "method": "Cauchy contour for the omega^2 coefficient of the (B-5) bracket at omega2 = -omega1",
    }
    title = "exact second-order DC conductivity, fermionic-bath NESS (seed [D] Eqs. B-5, B-6)"
    if obs is not None:
        extra.update(observable_attrs(obs))
        title = f"exact second-order DC response of {obs.name}, fermionic-bath NESS (seed [D] Eqs. A-10, B-5, B-6)"
    return make_result(
        {
            "sigma": (("gamma", "component", "mu"), sigma.real),
            "residual_c0": (("gamma", "component", "mu"), c0),
            "residual_c1": (("gamma", "component", "mu"), c1),
        },
        {"gamma": g_arr, "component": comps, "mu": mu_arr},
        model=model, grid=kgrid, parameters=params,
        units={"sigma": unit, "residual_c0": f"{unit} {model.energy_unit}^2",
               "residual_c1": f"{unit} {model.energy_unit}", "mu": model.energy_unit,
               "gamma": model.energy_unit},
        title=title,
        extra_attrs=extra,
    )


@checked_keywords
def exact(
    model: Model,
    *,
    components="xyy",
    mu,
    temperature: float,
    gamma,
    grid=Sampling.grid,
    kind: str | None = None,
    cutoff: float | None = None,
    offset: str = Sampling.offset,
    nodes: int = DEFAULT_NODES,
    radius: float = DEFAULT_RADIUS,
    convention: str = "seed",
    units: str = "auto",
    degen_tol: float = Sampling.degen_tol,
    chunk_size: int | None = None,
    progress: bool | None = None,
    workers: int | None = None,
    scheduler=None,
    checkpoint=None,
    blocks: bool = Sampling.blocks,
    error_tol: float | None = None,
    observable="current",
    symmetry=NEUMANN,
    symmetry_tol: float | None = None,
) -> xr.Dataset:
    """Exact DC second-order conductivity σ_abc(Γ, μ) of the fermionic-bath NESS (seed Eqs. B-5, B-6).

    `gamma`: scalar or 1D array of bath rates Γ; `mu`: scalar or 1D array; `temperature`: kT;
    `components`: list of labels like "xyy" or "all"; `grid`: as in `qgeom.kspace.make_grid`.
    The ω² coefficient is taken by an M-node (`nodes`) trapezoid rule on |ω| = r with
    r = `radius`·min(Γ, (Γ + πkT)/2). Returns Dataset with `sigma[gamma, component, mu]` and the
    diagnostics `residual_c0`, `residual_c1` (ω⁰, ω¹ coefficients; zero up to the k-grid accuracy).
    `units`: "auto" (SI for eV/Å models, else model units), "si" or "model", as in `expansion`.
    `workers`, `scheduler`, `checkpoint`: executor and resumable run, see `kspace.integrate`.
    `blocks`: sum the responses of the exactly decoupled orbital blocks of H (as in `expansion`).
    `sigma_error`: estimated k-grid discretization error (`qgeom.accuracy`), with an AccuracyWarning
    above `error_tol` relative to max over (component, μ) of |σ| at each Γ.
    `observable`: "current" (σ_abc, labels "abc") or any other observable O — a model operator name
    (`layer_polarization`, `spin_z`, `current_x`), a Hermitian matrix or a `qgeom.observables.Observable`
    (e.g. `spin_current`) — whose response Tr[O ρ⁽²⁾] (+ velocity-gauge terms of a k-dependent O) is
    returned as `sigma[gamma, component, mu]` with field labels "bc" (e.g. "xy", or "all"), in model units.
    `symmetry`: as in `expansion` (default "neumann"; None, "auto", a symbol or operations; the current only). At finite Γ
    the response mixes T-even and T-odd orders, so only the operations without time reversal are
    used, for the wedge and the symmetrization; `forbidden[component]` marks Neumann zeros.
    `symmetry_tol`: as in `expansion` (impose a group the model breaks by at most this much).
    """
    obs = dc_observable(model, observable)
    if symmetry is not None and not (isinstance(symmetry, str) and symmetry == NEUMANN) and obs is not None:
        raise QgeomInputError("symmetry= is implemented for the current (observable='current'); use symmetry=None.")
    symmetry = None if obs is not None else symmetry  # the default Neumann zeros: the current's law only
    comps, mu_arr, kT, g_arr = _validate_common(model, components, mu, temperature, gamma, convention, obs)
    error_tol = error_tolerance(error_tol)
    rho = positive_scalar(radius, "radius")
    if rho >= 1:
        raise QgeomInputError(f"radius is the contour radius as a fraction of the analyticity radius; use < 1, got {rho}.")
    factor, unit, params = _provenance(model, kT, degen_tol, convention, units, nodes, rho, obs)
    params["orbital_blocks"] = block_provenance(model, blocks)
    kgrid = Sampling(grid, kind=kind, cutoff=cutoff, offset=offset, degen_tol=degen_tol, blocks=blocks).kgrid(model)
    plan = resolve_symmetry(model, symmetry, kgrid, time_reversal=False, tol=symmetry_tol)
    computed = plan.needed(comps, parities=(1,)) if plan else comps
    allc, idx, sw = _with_swapped(computed)
    full, kgrid = kgrid, plan.grid if plan else kgrid
    Execution(chunk_size, progress, workers, scheduler, checkpoint)
    zs = [contour_nodes(contour_radius(G, kT, rho), nodes) for G in g_arr]
    executor = {"workers": workers, "scheduler": scheduler, "checkpoint": checkpoint, "blocks": blocks}
    # σ_abc (b ↔ c symmetrized, `_with_swapped`): zero where the group forbids every field-symmetric tensor
    if plan and plan.forbids_all(computed, comps, 1, DC_FIELD_FORM):
        plan = dataclasses.replace(plan, skipped=True)  # every component forbidden: exact zeros, no k-sum
        sigma = c0 = c1 = np.zeros((len(g_arr), len(computed), len(mu_arr)), complex)
        coarse = None
    else:
        Ks, coarse = _family_sums(model, kgrid, allc, zs, -1, mu_arr, kT, g_arr, degen_tol, chunk_size, progress,
                                  executor, subgrid=True, obs=obs)
        sigma, c0, c1 = _dc_coefficients(Ks, zs, idx, sw, convention_scale(convention) * factor)
    forbidden = None
    if plan:  # [gamma, computed, mu] -> [gamma, comps, mu], group-averaged (unitary: parity +1)
        (sigma, forbidden), (c0, _), (c1, _) = (plan.symmetrize(x, computed, comps, 1, axis=1, label=name,
                                                               form=DC_FIELD_FORM)
                                                for x, name in ((sigma, "sigma"), (c0, None), (c1, None)))
    ds = _dc_dataset(model, kgrid, sigma, c0, c1, g_arr, comps, mu_arr, params, unit, convention, obs)
    ds = attach_symmetry(ds, plan, forbidden, dims=("component",))
    if coarse is not None:
        with warnings.catch_warnings():  # the contour check already ran on the fine sums
            warnings.simplefilter("ignore", RuntimeWarning)
            coarse = _dc_coefficients(coarse, zs, idx, sw, convention_scale(convention) * factor)[0].real
        if plan:  # the coarse sub-grid's orbits of a wedge, averaged alike
            coarse = plan.symmetrize(coarse, computed, comps, 1, axis=1, form=DC_FIELD_FORM)[0]
    if plan and plan.skipped:
        return attach_error(ds, "sigma", None, grid=full, tol=error_tol, exact=SKIPPED_ERROR)
    return attach_error(ds, "sigma", coarse, grid=full, tol=error_tol, over=("component", "mu"))


PROCESSES = ("rectification", "second_harmonic")


def _check_processes(processes) -> list[str]:
    procs = [processes] if isinstance(processes, str) else list(processes)
    for p in procs:
        if p not in PROCESSES:
            raise QgeomInputError(f"unknown process {p!r}; allowed: {', '.join(PROCESSES)}.")
    return procs


def _frequency_nodes(om, g_arr, kT, rho, nodes, s):
    """Per Γ: the nodes where K(z, sz) is evaluated (contour, then the far real ω, then for s = −1
    their negatives, which the swapped term K_acb(sz, z) needs) and the layout (contour, far mask).
    Frequencies with |ω| < r/4 are taken from the contour alone (Cauchy formula)."""
    node_sets, layout = [], []
    for G in g_arr:
        r = contour_radius(G, kT, rho)
        zc = contour_nodes(r, nodes)
        far = np.abs(om) >= r / 4
        zr = om[far].astype(complex)
        allz = np.concatenate([zc, zr, -zr]) if s == -1 else np.concatenate([zc, zr])
        node_sets.append(allz)
        layout.append((zc, far))
    return node_sets, layout


def _family_sigma(Kg, zc, far, om, idx, sw, s):
    """σ = −s[P(ω) − c0 − c1 ω]/ω² of one family at one Γ, [μ, comp, ω], from the sums Kg
    [μ, comp_all, node] laid out by `_frequency_nodes`. c0 and c1 vanish after the k-sum; they are
    removed so that their finite-grid remainders are not divided by ω²."""
    M, nf = len(zc), int(far.sum())
    Kc = Kg[..., :M]
    if s == -1:
        Pc = Kc[:, idx] + np.roll(Kc[:, sw], -(M // 2), axis=-1)
        Pr = Kg[:, idx, M:M + nf] + Kg[:, sw, M + nf:M + 2 * nf]
    else:
        Pc = Kc[:, idx] + Kc[:, sw]
        Pr = Kg[:, idx, M:M + nf] + Kg[:, sw, M:M + nf]
    c0 = Pc.mean(-1)[..., None]
    c1 = (Pc / zc).mean(-1)[..., None]
    vals = np.empty(Pc.shape[:2] + (len(om),), complex)
    wf = om[far]
    vals[..., far] = -s * (Pr - c0 - c1 * wf) / wf**2
    near = ~far
    if near.any():
        wn = om[near]
        cauchy = (Pc[..., None, :] / (zc * (zc - wn[:, None]))).mean(-1)  # [μ, comp, n_near]
        vals[..., near] = -s * cauchy
    return vals


@checked_keywords
def exact_frequency(
    model: Model,
    *,
    components="xyy",
    mu,
    temperature: float,
    gamma,
    omega,
    grid=Sampling.grid,
    kind: str | None = None,
    cutoff: float | None = None,
    offset: str = Sampling.offset,
    processes=PROCESSES,
    nodes: int = DEFAULT_NODES,
    radius: float = DEFAULT_RADIUS,
    convention: str = "seed",
    units: str = "auto",
    degen_tol: float = Sampling.degen_tol,
    chunk_size: int | None = None,
    progress: bool | None = None,
    workers: int | None = None,
    scheduler=None,
    checkpoint=None,
    blocks: bool = Sampling.blocks,
    observable="current",
) -> xr.Dataset:
    """Exact finite-frequency σ_abc(ω, −ω) (rectification) and σ_abc(ω, ω) (second harmonic).

    `omega`: real frequencies (1D). Returns `sigma[process, gamma, component, mu, omega]` (complex).
    For each family P(z) = K_abc(z, sz) + K_acb(sz, z) (s = −1, +1) the ω⁰, ω¹ Taylor coefficients
    (which vanish after the k-sum) are removed, σ = −s[P(ω) − c0 − c1 ω]/ω²; for |ω| < r/4 the
    same quantity is taken from the Cauchy formula on the contour (so ω → 0 is exact and equals
    the DC result of `exact`). `units` as in `exact`. `workers`, `scheduler`: as in `exact`;
    `checkpoint=DIR` keeps one subdirectory per process (DIR/rectification, DIR/second_harmonic),
    since each process is its own k-integration. `blocks`, `observable`: as in `exact`.
    """
    obs = dc_observable(model, observable)
    comps, mu_arr, kT, g_arr = _validate_common(model, components, mu, temperature, gamma, convention, obs)
    om = np.atleast_1d(as_finite_array(omega, "omega"))
    if om.ndim != 1:
        raise QgeomInputError(f"omega must be a scalar or 1D array of real frequencies, got shape {om.shape}.")
    procs = _check_processes(processes)
    rho = positive_scalar(radius, "radius")
    factor, unit, params = _provenance(model, kT, degen_tol, convention, units, nodes, rho, obs)
    params["orbital_blocks"] = block_provenance(model, blocks)
    allc, idx, sw = _with_swapped(comps)
    kgrid = Sampling(grid, kind=kind, cutoff=cutoff, offset=offset, degen_tol=degen_tol, blocks=blocks).kgrid(model)
    Execution(chunk_size, progress, workers, scheduler, checkpoint)
    scale = convention_scale(convention) * factor
    result = np.zeros((len(procs), len(g_arr), len(comps), len(mu_arr), len(om)), complex)
    for ip, proc in enumerate(procs):
        s = -1 if proc == "rectification" else 1
        node_sets, layout = _frequency_nodes(om, g_arr, kT, rho, nodes, s)
        executor = {"workers": workers, "scheduler": scheduler, "blocks": blocks,
                    "checkpoint": None if checkpoint is None else Path(checkpoint) / proc}
        Ks = _family_sums(model, kgrid, allc, node_sets, s, mu_arr, kT, g_arr, degen_tol, chunk_size, progress,
                          executor, obs=obs)
        for ig, (zc, far) in enumerate(layout):
            vals = _family_sigma(Ks[ig], zc, far, om, idx, sw, s)
            result[ip, ig] = scale * np.moveaxis(vals, 0, 1)
    return make_result(
        {"sigma": (("process", "gamma", "component", "mu", "omega"), result)},
        {"process": procs, "gamma": g_arr, "component": comps, "mu": mu_arr, "omega": om},
        model=model, grid=kgrid, parameters=params,
        units={"sigma": unit, "mu": model.energy_unit, "gamma": model.energy_unit, "omega": model.energy_unit},
        title="exact second-order conductivity sigma(w,-w), sigma(w,w), fermionic-bath NESS (seed [D] Eq. B-5)",
        extra_attrs={"sigma_definition": sigma_definition(convention),
                     "process_meaning": "rectification: sigma_abc(w, -w); second_harmonic: sigma_abc(w, w)",
                     **({} if obs is None else observable_attrs(obs))},
    )
