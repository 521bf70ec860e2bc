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

from .._validation import QgeomInputError, nonempty_1d, positive_scalar, user_stacklevel
from ..accuracy import attach_error, error_tolerance
from ..kspace import integrate
from ..options import Execution, Sampling, Thermal, checked_keywords
from ..progress import ComputeTime, compute_time
from ..models.base import Model
from ..models.blocks import block_provenance, orbital_blocks
from ..resources import model_point_ops
from ..results import make_result
from ..units import second_order_conductivity_scale
from .components import component_indices, parse_components
from ..symmetry import NEUMANN, resolve as resolve_symmetry
from ..symmetry.results import DC_FIELD_FORM, SKIPPED_ERROR, attach_symmetry
from .conventions import check_convention, convention_scale, sigma_definition
from .exact_sums import FamilySums, auto_chunk
from .observable_terms import (block_observables, dc_observable, field_indices, observable_attrs, observable_unit,
                               parse_field_components)

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


def _validate_common(model, components, mu, temperature, gamma, convention, obs=None):
    comps = parse_components(components, model.dim) if obs is None else parse_field_components(components, model.dim)
    thermal = Thermal(temperature, mu)
    mu_arr, kT = thermal.mu, thermal.temperature
    g_arr = nonempty_1d(gamma, "gamma", "positive rates")
    if np.any(g_arr <= 0):
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
    func = FamilySums(indices, nodes_per_gamma, sign, mu, kT, gammas, obs, block_sizes=sizes,
                       point_ops=model_point_ops(model, n_mu=np.size(mu)))
    N = max(sizes)
    size = chunk_size or auto_chunk(N, max(len(z) for z in nodes_per_gamma), len(comps_all), harmonic=func.harmonic)
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
    symmetry = _checked_symmetry(symmetry, obs)
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
        coarse, cost = None, ComputeTime()
    else:
        with compute_time() as cost:
            Ks, coarse = _family_sums(model, kgrid, allc, zs, -1, mu_arr, kT, g_arr, degen_tol, chunk_size, progress,
                                      executor, subgrid=True, obs=obs)
        sigma, c0, c1 = _dc_coefficients(Ks, zs, idx, sw, convention_scale(convention) * factor)
    forbidden = None
    if plan:  # [gamma, computed, mu] -> [gamma, comps, mu], group-averaged (unitary: parity +1)
        (sigma, forbidden), (c0, _), (c1, _) = (plan.symmetrize(x, computed, comps, 1, axis=1, label=name,
                                                               form=DC_FIELD_FORM)
                                                for x, name in ((sigma, "sigma"), (c0, None), (c1, None)))
    ds = _dc_dataset(model, kgrid, sigma, c0, c1, g_arr, comps, mu_arr, {**params, **cost.attrs()}, unit, convention,
                     obs)
    ds = attach_symmetry(ds, plan, forbidden, dims=("component",))
    if coarse is not None:
        with warnings.catch_warnings():  # the contour check already ran on the fine sums
            warnings.simplefilter("ignore", RuntimeWarning)
            coarse = _dc_coefficients(coarse, zs, idx, sw, convention_scale(convention) * factor)[0].real
        if plan:  # the coarse sub-grid's orbits of a wedge, averaged alike
            coarse = plan.symmetrize(coarse, computed, comps, 1, axis=1, form=DC_FIELD_FORM)[0]
    if plan and plan.skipped:
        return attach_error(ds, "sigma", None, grid=full, tol=error_tol, exact=SKIPPED_ERROR)
    # No `refinement.flag_missed_fermi_surface` here (nor in exact_frequency): the NESS occupies the states through
    # a Lorentzian of width Γ, whose tails Γ/(ε − μ)² reach every k-point, and it has Fermi-sea interband terms, so
    # no kT or Γ makes σ a rounding-level zero while bands cross μ. A peak of width max(Γ, kT) narrower than the
    # grid's energy step shows instead as grid and sub-grid disagreeing: the error estimate below sees it
    # (tests/dc/test_exact.py).
    return attach_error(ds, "sigma", coarse, grid=full, tol=error_tol, over=("component", "mu"))


PROCESSES = ("rectification", "second_harmonic")


def _check_processes(processes) -> list[str]:
    procs = [processes] if isinstance(processes, str) else list(processes)
    if not procs:  # an empty list would leave the k-sum loop unrun and its results unbound
        raise QgeomInputError(f"processes is empty; choose one or more of {', '.join(PROCESSES)}.")
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


def _checked_symmetry(symmetry, obs):
    """`symmetry` for the current; None for another observable (the default Neumann zeros need the response's
    transformation law, the current's only), where any explicit group is refused."""
    if symmetry is not None and not (isinstance(symmetry, str) and symmetry == NEUMANN) and obs is not None:
        raise QgeomInputError("symmetry= is implemented for the current (observable='current'); use symmetry=None.")
    return None if obs is not None else symmetry


def _frequency_sums(model, kgrid, comps, procs, om, g_arr, kT, rho, nodes, mu_arr, degen_tol, chunk_size,
                    progress, executor, checkpoint, obs, scale):
    """σ [process, Γ, comp, μ, ω] of `exact_frequency` for the components `comps` on `kgrid`, and the same on its
    coarse sub-grid (None without one), one k-integration per process (checkpoints under DIR/<process>)."""
    allc, idx, sw = _with_swapped(comps)
    shape = (len(procs), len(g_arr), len(comps), len(mu_arr), len(om))
    result, coarse = np.zeros(shape, complex), np.zeros(shape, complex)
    for ip, proc in enumerate(procs):
        s = -1 if proc == "rectification" else 1
        node_sets, layout = _frequency_nodes(om, g_arr, kT, rho, nodes, s)
        ex = {**executor, "checkpoint": None if checkpoint is None else Path(checkpoint) / proc}
        Ks, Kc = _family_sums(model, kgrid, allc, node_sets, s, mu_arr, kT, g_arr, degen_tol, chunk_size, progress,
                              ex, subgrid=True, obs=obs)
        for ig, (zc, far) in enumerate(layout):
            result[ip, ig] = scale * np.moveaxis(_family_sigma(Ks[ig], zc, far, om, idx, sw, s), 0, 1)
            if Kc is not None:
                with warnings.catch_warnings():  # the contour check already ran on the fine sums
                    warnings.simplefilter("ignore", RuntimeWarning)
                    coarse[ip, ig] = scale * np.moveaxis(_family_sigma(Kc[ig], zc, far, om, idx, sw, s), 0, 1)
    return result, (None if Kc is None else coarse)  # the same grid for every process: a sub-grid for all or none


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
    symmetry=NEUMANN,
    symmetry_tol: float | None = None,
    error_tol: float | None = None,
) -> xr.Dataset:
    """Exact finite-frequency σ_abc(ω, −ω) (rectification) and σ_abc(ω, ω) (second harmonic).

    `omega`: real frequencies (1D). Returns `sigma[process, gamma, component, mu, omega]` (complex).
    For each family P(z) = K_abc(z, sz) + K_acb(sz, z) (s = −1, +1) the ω⁰, ω¹ Taylor coefficients
    (which vanish after the k-sum) are removed, σ = −s[P(ω) − c0 − c1 ω]/ω²; for |ω| < r/4 the
    same quantity is taken from the Cauchy formula on the contour (so ω → 0 is exact and equals
    the DC result of `exact`). `units` as in `exact`. `workers`, `scheduler`: as in `exact`;
    `checkpoint=DIR` keeps one subdirectory per process (DIR/rectification, DIR/second_harmonic),
    since each process is its own k-integration. `blocks`, `observable`: as in `exact`.
    `symmetry`, `symmetry_tol`: as in `exact` (the unitary operations: default "neumann", the components the
    model's group forbids exact zeros, `forbidden[component]`); `sigma_error`, `error_tol`: the k-grid error
    estimate, as in `exact`.
    """
    obs = dc_observable(model, observable)
    symmetry = _checked_symmetry(symmetry, obs)
    comps, mu_arr, kT, g_arr = _validate_common(model, components, mu, temperature, gamma, convention, obs)
    om = nonempty_1d(omega, "omega", "real frequencies")
    procs = _check_processes(processes)
    rho = positive_scalar(radius, "radius")
    error_tol = error_tolerance(error_tol)
    factor, unit, params = _provenance(model, kT, degen_tol, convention, units, nodes, rho, obs)
    params["orbital_blocks"] = block_provenance(model, blocks)
    full = Sampling(grid, kind=kind, cutoff=cutoff, offset=offset, degen_tol=degen_tol, blocks=blocks).kgrid(model)
    Execution(chunk_size, progress, workers, scheduler, checkpoint)
    plan = resolve_symmetry(model, symmetry, full, time_reversal=False, tol=symmetry_tol)
    computed = plan.needed(comps, parities=(1,)) if plan else comps
    if plan and plan.forbids_all(computed, comps, 1, DC_FIELD_FORM):
        plan = dataclasses.replace(plan, skipped=True)  # every component forbidden: exact zeros, no k-sum
        result, coarse = np.zeros((len(procs), len(g_arr), len(computed), len(mu_arr), len(om)), complex), None
        cost = ComputeTime()
    else:
        executor = {"workers": workers, "scheduler": scheduler, "blocks": blocks}
        with compute_time() as cost:
            result, coarse = _frequency_sums(model, plan.grid if plan else full, computed, procs, om, g_arr, kT, rho,
                                             nodes, mu_arr, degen_tol, chunk_size, progress, executor, checkpoint, obs,
                                             convention_scale(convention) * factor)
    forbidden = None
    if plan:  # [process, Γ, computed, μ, ω] -> [..., comps, ...], group-averaged (unitary: parity +1)
        result, forbidden = plan.symmetrize(result, computed, comps, 1, axis=2, label="sigma", form=DC_FIELD_FORM)
        if coarse is not None:
            coarse = plan.symmetrize(coarse, computed, comps, 1, axis=2, form=DC_FIELD_FORM)[0]
    ds = _frequency_dataset(model, plan.grid if plan else full, result, procs, g_arr, comps, mu_arr, om,
                            {**params, **cost.attrs()}, unit, convention, obs)
    ds = attach_symmetry(ds, plan, forbidden, dims=("component",))
    if plan and plan.skipped:
        return attach_error(ds, "sigma", None, grid=full, tol=error_tol, exact=SKIPPED_ERROR)
    return attach_error(ds, "sigma", coarse, grid=full, tol=error_tol, over=("component", "mu", "omega"))


def _frequency_dataset(model, kgrid, result, procs, g_arr, comps, mu_arr, om, params, unit, convention, obs):
    """The Dataset of `exact_frequency`: complex `sigma[process, gamma, component, mu, omega]` and its provenance."""
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
