"""Adaptive refinement of the k-grid for Fermi-surface sums.

At a temperature kT every DC-expansion term is Σ_k Σ_n X_n(k) f0^(p)(ε_n(k) − μ): near the Fermi
surface the integrand varies on the k-scale kT/|v_n|. A uniform grid resolves it where a band moves by
less than ~kT across a cell; on the Fermi surface of steep bands it does not, and the grid sum then
converges slowly with the grid (the smooth rest of the zone converges exponentially). Refinement
replaces each such cell by m^d sub-cells (m = 2 along every axis with more than one point), level by
level, only where it is needed:

    Σ ← Σ + Σ_cells [ Σ_sub (w_c / m^d) F(k_sub) − w_c F(k_c) ]

Each level is linear in F, so it is one more k-sum over an explicit point list (`CellGrid`) with
the replaced centres at weight −w_c, through the same `kspace.integrate` (chunks, executors,
checkpoints, near-degenerate grouping, orbital blocks unchanged). Weights of the base grid carry
through — an irreducible wedge's orbit sizes included, so refinement composes with `symmetry=`
(a refined cell of a wedge point stands for its images; the group average restores the rest). For
that, every cell is split by the same G-invariant pattern: the average over the group of the images
g·(sub-cell offsets). Where the group permutes the reduced axes (simple cubic, tetragonal) that is
the plain m^d sub-cells; on fcc, bcc or hexagonal lattices the images are other sub-cell patterns
(each a partition of the finer lattice), so a cell gets their average. With the plain pattern a
wedge cell's sub-cells were not its images' sub-cells, and wedge + refinement missed the full-grid
refinement by 150 % on a GaAs-like fcc model.

**Which cells** (physics, not the integrand's size). In the cell of k, band n changes by up to
s_n = Σ_a (½ |∂ε_n/∂κ_a| δ_a + ⅛ |∂²ε_n/∂κ_a²| δ_a²) (κ reduced coordinates, δ_a the cell's
reduced width, ∂ε/∂κ_a = v·b_a with b_a the reciprocal vectors; the curvature term keeps a band
extremum, where the slope vanishes, from being missed). A cell is in the *Fermi window* when some band comes within
s_n + W · kT of the μ range (beyond that every f0^(p) is below e^−W of its peak), and
*unresolved* when such a band also has s_n > RESOLVED · kT. While any window cell is unresolved,
the whole window is subdivided — not only the unresolved cells. The uniform grid sum of a smooth
periodic integrand is exponentially accurate because the cells' O(h²) midpoint errors cancel;
over a refined patch they no longer do, and what is left is a border term ~ h² ∮ ∇F, i.e.
e^−W (h|v|/kT)² relative: a bias that the level-by-level changes do not show, so W must put it
well below the requested accuracy `tol`: W = ln(BORDER_MARGIN / tol) (≤ 1/100 of tol while the
base cells hold h|v| ≤ 30 kT), at most WINDOW_MAX = 36 (rounding level) — 18.4 kT at tol = 1e-3,
25.3 at 1e-6, 36 from 1e-11 on (`fermi_window`). Measured on `pt_tilted_4band` (kT = 0.02, 7 μ in
[−1.5, 1.5], error against 800²; the plain grid converges exponentially, 1.2e-4 at 50², 6e-15 at
100²): refining only the unresolved cells gave 5e-3 after 2 levels and stalled at 3e-3 (changes
falling by 4 per level: the border term); the whole window with W = 12 kT: 5e-8 … 4e-4; with 24:
5e-8; with 36: 3e-13 from 50² with 7180 points evaluated (the plain 100² grid: 10⁴ points, 6e-15).
On a μ-scan of a 48-band material (1T′-MoS₂, tol 1e-3) the window is most of the zone: W = 18.4
instead of 36 evaluates 19 % fewer points for the same result.

**When to stop.** After each level the change it made is compared with the result, per term, as
the error estimate compares the grid with its sub-grid (`accuracy.relative_error`: max over
components and μ, relative to the term's largest |value|); refinement stops when the change is below
`tol` (converged), when no cell is unresolved, after `levels` levels, or when the next level would
refine more than MAX_CELLS cells (memory: the cells of a level are held, their sub-cells generated per
chunk). `history` records every level.
"""

from __future__ import annotations

import itertools
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ._validation import QgeomInputError, user_stacklevel
from .accuracy import ABS_ZERO, AccuracyWarning
from .bands import Bands
from .eigenbasis import symmetric_index
from .kspace import POINTWISE, KGrid, PointListGrid, add_sums, auto_chunk_size, chunk_bounds, integrate

# per k-point flags (OR-ed over orbital blocks): a band in the Fermi window; one that the cell does not resolve
WINDOW_KEY, UNRESOLVED_KEY = POINTWISE + "fermi_window", POINTWISE + "unresolved"
RESOLVED = 0.5  # a band that changes by less than this many kT across a cell is resolved there
WINDOW_MAX = 36.0  # kT beyond the μ range: f0^(p) ~ e^-36 = 2e-16 of its peak at the refined patch's border
BORDER_MARGIN = 1e5  # e^-W = tol / BORDER_MARGIN: the border term e^-W (h|v|/kT)² ≤ tol/100 for h|v| ≤ 30 kT
MISSED_KT = 30.0  # no band within this many kT of μ at any k-point: f0' ≤ e^-30 ≈ 1e-13 of its peak everywhere
MAX_CELLS = 2**26  # cells of one level (their centres: 32 bytes each, the flags of their sub-cells 2 bytes)


@dataclass(frozen=True)
class CellGrid(PointListGrid):
    """One refinement level as a k-point list: the m^d sub-cell centres of every cell (weight w/m^d;
    cell-major, generated per chunk, so memory holds only the cells) followed by the cell centres
    they replace (weight −w). Reduced coordinates."""

    centres: np.ndarray = field(default=None, repr=False)  # [nc, d]
    cell_weights: np.ndarray = field(default=None, repr=False)  # [nc]
    offsets: np.ndarray = field(default=None, repr=False)  # [m^d, d] (or the group-averaged pattern)
    offset_weights: np.ndarray = field(default=None, repr=False)  # [len(offsets)], sum 1
    level: int = 0

    @property
    def nsubcells(self) -> int:
        return len(self.centres) * len(self.offsets)

    @property
    def npoints(self) -> int:
        return self.nsubcells + len(self.centres)

    def reduced(self, index: np.ndarray) -> np.ndarray:
        """Reduced coordinates of sub-cell centres `index` (< nsubcells)."""
        cell, j = np.divmod(index, len(self.offsets))
        return self.centres[cell] + self.offsets[j]

    def points(self, start: int, stop: int) -> tuple[np.ndarray, np.ndarray]:
        index = np.arange(start, stop)
        sub = index < self.nsubcells
        red = np.empty((len(index), self.centres.shape[1]))
        w = np.empty(len(index))
        red[sub] = self.reduced(index[sub])
        cell, j = np.divmod(index[sub], len(self.offsets))
        w[sub] = self.cell_weights[cell] * self.offset_weights[j]
        centre = index[~sub] - self.nsubcells
        red[~sub], w[~sub] = self.centres[centre], -self.cell_weights[centre]
        return red @ self.basis, w

    def header(self) -> str:
        return f"refinement level {self.level} of the {super().header()} ({len(self.centres)} cells)"

    def describe(self) -> dict[str, Any]:
        from .checkpoint import digest

        out = super().describe()
        out.update(refinement_level=self.level,
                   points=digest([self.centres, self.cell_weights, self.offsets, self.offset_weights]),
                   error_subgrid_strides=None)
        return out


def fermi_surface_missed(model, grid: KGrid, mu: np.ndarray, kT: float) -> np.ndarray:
    """For each μ: does some band cross it on `grid` (below it at one point, above it at another) while no point
    has a band within MISSED_KT · kT of it? Then every f0^(p)(ε − μ) is below e^−MISSED_KT of its peak at every
    k-point: the Fermi surface lies between the points and a Fermi-surface sum is ~0 for want of samples, not by
    the physics (a μ in a gap: no crossing; a symmetry zero: points near μ). One eigenvalue pass, chunked."""
    mu = np.asarray(mu, float)
    lo, hi, nearest = np.inf, -np.inf, np.full(mu.shape, np.inf)
    for start, stop in chunk_bounds(grid, auto_chunk_size(model)):
        energies = np.linalg.eigvalsh(model.hamiltonian(grid.points(start, stop)[0], 0))
        lo, hi = np.minimum(lo, energies.min(axis=0)), np.maximum(hi, energies.max(axis=0))
        nearest = np.minimum(nearest, np.abs(energies.reshape(-1, 1) - mu).min(axis=0))
    crossed = ((lo[:, None] < mu) & (mu < hi[:, None])).any(axis=0)
    return crossed & (nearest > MISSED_KT * kT)


def flag_missed_fermi_surface(ds, model, grid: KGrid, kT: float, to_sigma: float, name: str = "sigma"):
    """`ds` with attrs["fermi_surface_missed_mu"] and an AccuracyWarning when at some μ every value of the
    Fermi-surface sums `ds[name]` (over all its dims but μ) is at rounding level (below ABS_ZERO in model units;
    `to_sigma`: `name` per model unit) although bands cross μ on `grid` with none within MISSED_KT · kT of it at
    any k-point (`fermi_surface_missed`): the Fermi surface lies between the points (kT far below the grid's
    energy step). The grid and its sub-grid then agree (≈ 0 = 0) and no error estimate can see it. (A μ in a
    gap is an honest zero: no band crosses; a symmetry zero has points near μ.) For any result whose every
    value is a sum weighted by f0^(p)(ε − μ): the DC Γ-expansion of the current and of any observable."""
    values = ds[name]
    size = np.abs(values).max(dim=[d for d in values.dims if d != "mu"]).values
    tiny = size <= ABS_ZERO * abs(to_sigma)
    if not tiny.any():
        return ds
    missed = ds["mu"].values[tiny][fermi_surface_missed(model, grid, ds["mu"].values[tiny], kT)]
    if len(missed):
        ds.attrs["fermi_surface_missed_mu"] = [float(m) for m in missed]
        warnings.warn(
            f"{name}: every term is at rounding level at mu = {_short_list(missed)} although bands cross it on the "
            "grid: the Fermi surface falls between the k-points (kT is far below the energy step between "
            "neighbouring points), so the result is not the material's zero. Raise the temperature or use a denser "
            "(or refined, docs/refinement.md) grid; attrs['fermi_surface_missed_mu'] lists them.",
            AccuracyWarning, stacklevel=user_stacklevel())
    return ds


def _short_list(values: np.ndarray, shown: int = 4) -> str:
    text = ", ".join(f"{v:.6g}" for v in values[:shown])
    return text + (f" … ({len(values)} values)" if len(values) > shown else "")


def fermi_window(tol: float) -> float:
    """W (in kT beyond the μ range) of the refined window for the accuracy `tol` (module docstring)."""
    return float(min(WINDOW_MAX, np.log(BORDER_MARGIN / tol)))


class FlaggedIntegrand:
    """`func`'s chunk sums plus WINDOW_KEY and UNRESOLVED_KEY: per k-point, whether its cell
    (reduced widths `widths`) is in the Fermi window (of `fermi_window(tol)`) and resolved there
    (module docstring).
    Picklable when `func` is; needs Bands with all velocity axes."""

    def __init__(self, func, basis: np.ndarray, widths: np.ndarray, mu: np.ndarray, temperature: float,
                 tol: float):
        self.func, self.basis, self.widths = func, np.asarray(basis, float), np.asarray(widths, float)
        self.mu_lo, self.mu_hi, self.kT = float(np.min(mu)), float(np.max(mu)), float(temperature)
        self.window = fermi_window(tol)  # W for the refinement's accuracy `tol`

    def fingerprint(self):
        from .checkpoint import integrand_fingerprint

        return [integrand_fingerprint(self.func), self.widths, self.mu_lo, self.mu_hi, self.kT, RESOLVED, self.window]

    def __call__(self, b: Bands, w: np.ndarray) -> dict[str, np.ndarray]:
        out = dict(self.func(b, w))
        out[WINDOW_KEY], out[UNRESOLVED_KEY] = window_flags(b, self.basis, self.widths, self.mu_lo, self.mu_hi,
                                                            self.kT, self.window)
        return out


def window_flags(b: Bands, basis: np.ndarray, widths: np.ndarray, mu_lo: float, mu_hi: float,
                 kT: float, window: float) -> tuple[np.ndarray, np.ndarray]:
    """For the cells around b.k ([nk] bool each): a band is in the Fermi window (within its change
    across the cell + window·kT of the μ range); such a band changes by more than RESOLVED·kT across
    the cell."""
    # |∂ε_n/∂κ_a| gauge invariantly: the rms of the ∂_κa H block within n's degenerate subspace D
    # (its eigenvalues are the slopes of the bands that leave the degeneracy), averaged over D
    # (the velocity rows and the second-order diagonal only: no full rotation of the derivative block)
    dH = np.einsum("ax,knxm->kanm", basis, b.first_order_rows())  # ∂H/∂κ_a = Σ_x b_ax ∂H/∂k_x
    moduli = np.abs(dH) ** 2
    same = b.exact_same[:, None]
    slope = np.sqrt(b.subspace_average(np.where(same, moduli, 0.0).sum(-1)))  # [nk, d, N]
    # the curvature bound |∂²ε_n/∂κ_a²| ≤ |<n|∂²_κa H|n>| + 2 Σ_m |<n|∂_κa H|m>|² / |ε_n − ε_m|: a
    # band at an extremum (slope 0) still moves by ε''δ²/8 across the cell
    d = basis.shape[1]
    d2H = (np.einsum("ax,ay,kxyn->kan", basis, basis, b.diagonal(2)[:, symmetric_index(d, 2)])
           if b.max_order >= 2 else 0.0)
    curvature = b.subspace_average(np.abs(d2H) + 2 * (moduli * np.abs(b.inv_de)[:, None]).sum(-1))
    spread = np.einsum("kan,a->kn", 0.5 * slope, widths) + np.einsum("kan,a->kn", curvature / 8, widths**2)
    e = b.energies
    near = np.maximum(np.maximum(mu_lo - e, e - mu_hi), 0.0) < spread + window * kT
    return near.any(axis=1), (near & (spread > RESOLVED * kT)).any(axis=1)


def cell_widths(grid: KGrid) -> np.ndarray:
    """Reduced widths of the grid's cells; 0 along an axis of one point (a slab: summed, never split)."""
    shape = np.asarray(grid.shape, float)
    return np.where(shape > 1, 1.0 / shape, 0.0)


def check_grid(grid: KGrid) -> None:
    """Refinement subdivides the cells of a uniform lattice grid; refuse others before any k-sum."""
    if grid.kind != "uniform":
        raise QgeomInputError("refine= needs a uniform lattice grid (continuum disk/box grids: use a finer grid).")


def _subcell_offsets(widths: np.ndarray, split: np.ndarray) -> np.ndarray:
    """[m^d, d] offsets of the sub-cell centres from the cell centre (reduced coordinates)."""
    axes = [((np.arange(m) + 0.5) / m - 0.5) * w for m, w in zip(split, widths)]
    return np.array(list(itertools.product(*axes)), float).reshape(-1, len(widths))


def _invariant_pattern(offsets: np.ndarray, operations, basis: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The sub-cell offsets averaged over the group's images (module docstring): distinct points and
    their weights (sum 1). The plain pattern, uniform, when every image is the same set."""
    uniform = np.full(len(offsets), 1.0 / len(offsets))
    if not operations:
        return offsets, uniform
    d = basis.shape[0]
    inverse = np.linalg.inv(basis)
    # k' = S k for row vectors κ B: κ' = κ B Sᵀ B⁻¹ (time reversal: −κ', the same centrosymmetric pattern)
    images = np.concatenate([offsets @ (basis @ g.R[:d, :d].T @ inverse) for g in operations])
    unit = np.abs(offsets[offsets != 0]).min() if np.any(offsets != 0) else 1.0
    keys, first, counts = np.unique(np.round(images / unit, 6), axis=0, return_index=True, return_counts=True)
    if len(keys) == len(offsets):
        return offsets, uniform
    return images[first], counts / counts.sum()


def _flagged_cells(grid: KGrid, flags: np.ndarray, chunk: int = 65536) -> tuple[np.ndarray, np.ndarray]:
    """Reduced coordinates and weights of the grid points whose flag is set (grid point order)."""
    inverse = np.linalg.inv(grid.basis)
    red, wts = [], []
    for start, stop in chunk_bounds(grid, chunk):
        sel = flags[start:stop]
        if sel.any():
            k, w = grid.points(start, stop)
            red.append(k[sel] @ inverse)
            wts.append(w[sel])
    d = grid.basis.shape[0]
    return (np.concatenate(red), np.concatenate(wts)) if red else (np.zeros((0, d)), np.zeros(0))


@dataclass
class RefinementResult:
    total: dict
    previous: dict | None  # the sum before the last level (None: no level ran)
    history: list[dict]
    converged: bool
    stopped: str


def refine(model, grid: KGrid, func, base: dict, *, mu, temperature: float, levels: int, tol: float,
           change: Callable[[dict, dict], float], checkpoint=None, operations=None,
           **integrate_kwargs) -> RefinementResult:
    """Refine the k-sum `base` of `func` (a dict ChunkSum over `grid` with the window counts, from an
    integration with `FlaggedIntegrand`) by up to `levels` levels (module docstring). `change(total,
    delta)`: the relative change a level's `delta` makes to `total` (the caller's error measure).
    `integrate_kwargs`: forwarded to `kspace.integrate` (order, degen_tol, blocks, executors …);
    `checkpoint`: a directory, each level in its own sub-directory; `operations`: the group when `grid`
    is a symmetry wedge. `grid` must pass `check_grid` (checked by the caller before the base k-sum)."""
    total = dict(base)
    window, unresolved = total.pop(WINDOW_KEY), total.pop(UNRESOLVED_KEY)
    widths = cell_widths(grid)
    split = np.where(np.asarray(grid.shape) > 1, 2, 1)  # an axis of one point (a slab) is not split
    offsets, offset_weights = _invariant_pattern(_subcell_offsets(widths, split), operations, grid.basis)
    cells, weights = _flagged_cells(grid, window)
    history, previous, converged, stopped = [], None, False, f"{levels} levels done"
    for level in range(1, levels + 1):
        if not unresolved.any():
            converged, stopped = True, "every cell of the Fermi window resolves kT"
            break
        if len(cells) > MAX_CELLS:
            stopped = f"level {level} would refine {len(cells)} cells (> {MAX_CELLS}): use a coarser base grid"
            break
        level_grid = CellGrid("uniform", grid.shape, grid.basis, grid.cell_volume, offset=grid.offset,
                              centres=cells, cell_weights=weights, offsets=offsets, offset_weights=offset_weights,
                              level=level)
        widths = widths / split
        flagged = FlaggedIntegrand(func, grid.basis, widths, mu, temperature, tol)
        where = None if checkpoint is None else Path(checkpoint) / f"refinement_level_{level}"
        delta = integrate(model, level_grid, flagged, checkpoint=where, **integrate_kwargs)
        n = level_grid.nsubcells
        window, unresolved = delta.pop(WINDOW_KEY)[:n], delta.pop(UNRESOLVED_KEY)[:n]
        previous, total = total, add_sums(total, delta)
        rel = float(change(total, delta))
        history.append({"level": level, "cells_refined": int(len(cells)), "points_evaluated": int(level_grid.npoints),
                        "relative_change": rel})
        if rel <= tol:
            converged, stopped = True, f"level {level} changed the result by {rel:.2g} <= refine_tol"
            break
        inside = np.flatnonzero(window)
        cell, j = np.divmod(inside, len(offsets))
        cells, weights = level_grid.reduced(inside), weights[cell] * offset_weights[j]
        offsets = offsets / split  # the same (averaged) pattern, one level finer
    return RefinementResult(total, previous, history, converged, stopped)


def attach_refinement(ds, result: RefinementResult, options, grid: KGrid) -> None:
    """ds.attrs["refinement"]: what refinement did and whether it converged (JSON text); an
    AccuracyWarning when it stopped before a level changed the result by less than `options.tol`."""
    import warnings

    from .accuracy import AccuracyWarning
    from .results import encode_attr

    evaluated = grid.npoints + sum(h["points_evaluated"] for h in result.history)
    ds.attrs["refinement"] = encode_attr({
        "levels_requested": options.levels, "refine_tol": options.tol, "levels_done": len(result.history),
        "converged": result.converged, "stopped": result.stopped, "base_points": grid.npoints,
        "points_evaluated": evaluated, "history": result.history,
        "fermi_window_kT": fermi_window(options.tol),
        "criterion": f"while a band within {fermi_window(options.tol):.3g} kT of the mu range "
                     f"(ln({BORDER_MARGIN:g}/refine_tol), at "
                     f"most {WINDOW_MAX:g}) changes by more than {RESOLVED:g} kT "
                     "across a cell, every cell of that Fermi window is split 2 per axis (qgeom.refinement)",
    })
    if not result.converged:
        last = result.history[-1]["relative_change"] if result.history else float("nan")
        warnings.warn(f"k-grid refinement stopped before converging ({result.stopped}; last relative change "
                      f"{last:.2g} > refine_tol={options.tol:g}): raise refine= or the base grid.",
                      AccuracyWarning, stacklevel=user_stacklevel())
