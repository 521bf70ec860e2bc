"""Second-order DC conductivity in powers of Γ (seed [D] Eqs. 1–6, Table I).

σ_abc = σ^(−2)/Γ² + σ^(−1)/Γ + σ^(0) + O(Γ).  Every term of every mechanism is a linear
combination of a few Fermi-surface integrals Σ_{n,k} X_n(k) f0^(p)(ε_n), so one Bands per chunk
and one contraction with the occupation derivatives serve all terms, components, μ and
mechanisms at once. Computed with e = ħ = 1 in the model's energy E0 and length L0, i.e. in
e³ L0^(3−d)/(ħ E0) (for the seed model σ₂ = a(ħ/v)e³/ħ²), and converted to SI at the edge when the
model's units are physical (`units="auto"`, via `qgeom.units`).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

import numpy as np
import xarray as xr

from .._validation import QgeomInputError
from ..kspace import integrate
from ..models.base import Model
from ..models.blocks import block_provenance
from ..accuracy import attach_error, error_tolerance
from ..options import Execution, Refinement, Sampling, Thermal, checked_keywords
from ..progress import ComputeTime, compute_time
from ..refinement import (FlaggedIntegrand, attach_refinement, cell_widths, check_grid,
                          flag_missed_fermi_surface, refine as refine_sum)
from ..results import make_result
from ..symmetry import NEUMANN, resolve as resolve_symmetry
from ..symmetry.results import SKIPPED_ERROR, attach_symmetry, forbids_everything, symmetrize_terms
from ..near_degeneracy import (NEAR_EFFECT, dc_tolerances, flag_near_degenerate,
                               near_degenerate_variable, split_near)
from ..units import second_order_conductivity_scale
from .components import component_indices, parse_components
from .conventions import convention_scale, sigma_definition, term_units
from .mechanisms import MECHANISMS, assemble, check_mechanisms  # noqa: F401  (MECHANISMS re-exported)
from .fermi_surface_sums import (BY_PARTS, DRUDE_FORMS, GEOMETRIC_FORMS, KINETIC_FORMS, KINETIC_PREFACTOR,
                                 FermiSurfaceSums, derivative_axes, derivative_order)

TERMS = ("drude", "bcd", "geometric", "kinetic", "intrinsic")
# At the default resolution (None) the Γ⁻² and Γ⁻¹ coefficients are the sums over states with every pair
# resolved down to the accuracy of the bands (near_degeneracy.BAND_ACCURACY_EV: 1 meV for a model in eV, kT
# if lower; every pair for a model in its own units): the coefficients of the Γ → 0 expansion (any
# splitting is ≫ Γ in that limit), as seed Eqs. 2–3 and WannierBerri evaluate them, without the noise-split
# pairs of a Wannier model — and the Γ⁰ terms group pairs closer than kT (their 1/Δ³ interband terms). The
# diagnostic sigma_near_degenerate (the pairs between the two scales: ungrouped − grouped) is kept for every
# term; grouping the Drude below kT is no physical limit in its seed form either (docs/near_degeneracy.md).
RESOLVED_BY_DEFAULT = ("drude", "bcd")
def near_degenerate_advice(flagged: Sequence[str], drude_form: str, *, exact: str = "qgeom.dc.exact",
                           resolution: str = "resolution=Gamma",
                           drude: str = f"drude_form={BY_PARTS['drude_form']!r}") -> str:
    """The advice of the near-degeneracy warning for the terms `flagged` ("mechanism/term: fraction"),
    in the API's spelling or, with the other keywords, the command line's."""
    hint = ""
    if drude_form != BY_PARTS["drude_form"] and any("/drude:" in x for x in flagged):
        hint = f" (the Drude with {drude}: its grouped pairs follow the exact NESS)"
    return (f"The series holds for these terms only where Gamma << those splittings: compare with {exact}, "
            f"or evaluate at {resolution}{hint}")


def _check_other_observable(refinement: Refinement, symmetry, current_options: tuple) -> None:
    """`expansion`'s options that only the current's terms have, refused for another observable;
    `current_options`: (rta, drude_form, geometric_form, kinetic_form)."""
    if refinement.levels:
        raise QgeomInputError("refine= is implemented for the current (observable='current'); use refine=0 "
                              "and a finer grid for other observables.")
    if symmetry is not None and not (isinstance(symmetry, str) and symmetry == NEUMANN):
        raise QgeomInputError("symmetry= is implemented for the current (observable='current'); use symmetry=None.")
    if current_options != (None, DRUDE_FORMS[0], GEOMETRIC_FORMS[0], KINETIC_FORMS[0]):
        raise QgeomInputError("rta, drude_form, geometric_form and kinetic_form belong to the current's terms; the "
                              "expansion of another observable has no such options (Γ⁰: use qgeom.dc.exact).")


def _grid_advice(forms: dict) -> str:
    """What the accuracy warning adds for an unconverged grid: the integrated-by-parts forms, unless in use
    (the seed forms' sharp interband terms are what a many-band material's grid has to resolve)."""
    if forms == dict(BY_PARTS):
        return ""
    return (", or use the integrated-by-parts forms at resolution=0: "
            f"{', '.join(f'{k}={v!r}' for k, v in BY_PARTS.items())} "
            "(fewer k-points where bands have avoided crossings near mu; docs/dc_expansion.md)")


def _validated(model, components, mechanisms, rta, drude_form, geometric_form, kinetic_form, convention, units):
    """The checked inputs of `expansion` (in the order they are checked, so the first bad one is
    reported): components, mechanisms, rta, convention scale, unit factor and label."""
    comps = parse_components(components, model.dim)
    mechanisms, rta = check_mechanisms(mechanisms, rta)
    scale = convention_scale(convention)
    unit_factor, unit = second_order_conductivity_scale(model, units)
    if geometric_form not in GEOMETRIC_FORMS:
        raise QgeomInputError(f"geometric_form must be one of {GEOMETRIC_FORMS}, got {geometric_form!r}.")
    if drude_form not in DRUDE_FORMS:
        raise QgeomInputError(f"drude_form must be one of {DRUDE_FORMS}, got {drude_form!r}.")
    if kinetic_form not in KINETIC_FORMS:
        raise QgeomInputError(f"kinetic_form must be one of {KINETIC_FORMS}, got {kinetic_form!r}.")
    return comps, mechanisms, rta, scale, unit_factor, unit


def _relative_change(to_sigma, unit_factor: float):
    """change(total, delta) of `refinement.refine`: the largest relative change of a term, judged as
    the error estimate judges a grid (`accuracy.relative_error`, over components and μ)."""
    from ..accuracy import relative_error

    def change(total: dict, delta: dict) -> float:
        dims = ("mechanism", "term", "component", "mu")
        value = xr.DataArray(to_sigma(total), dims=dims)
        return float(relative_error(value, xr.DataArray(np.abs(to_sigma(delta)), dims=dims),
                                    ("component", "mu"), unit_factor).max())

    return change


def _k_sums(model, grid, func, refinement: Refinement, change, *, mu, temperature, operations=None, **kwargs):
    """The chunk sums of `func` over `grid` → (sums, the less accurate sums the error estimate compares
    them with or None, the `refinement.RefinementResult` or None). Without refinement the second is
    the coarse sub-grid's sum; with it, the sum before the last level (every velocity axis is then
    needed: cells are judged along all of them). `operations`: the group of a symmetry wedge `grid`."""
    if not refinement.levels:
        return (*integrate(model, grid, func, subgrid=True, **kwargs), None)
    check_grid(grid)
    kwargs["axes"] = None
    flagged = FlaggedIntegrand(func, grid.basis, cell_widths(grid), mu, temperature, refinement.tol)
    base, coarse = integrate(model, grid, flagged, subgrid=True, **kwargs)
    refined = refine_sum(model, grid, func, base, mu=mu, temperature=temperature, levels=refinement.levels,
                         tol=refinement.tol, change=change, operations=operations, **kwargs)
    return refined.total, coarse if refined.previous is None else refined.previous, refined


def _dataset(model, kgrid, sigma, mechanisms, comps, mu_arr, parameters, unit, convention) -> xr.Dataset:
    """`sigma[mechanism, term, component, mu]` with its provenance, the meaning of the terms and their units
    (`units`: the Γ⁰ terms'; `units_by_term`: every term's, the Drude and BCD being coefficients of Γ⁻², Γ⁻¹)."""
    ds = make_result(
        {"sigma": (("mechanism", "term", "component", "mu"), sigma)},
        {"mechanism": mechanisms, "term": list(TERMS), "component": comps, "mu": mu_arr},
        model=model,
        grid=kgrid,
        parameters=parameters,
        units={"sigma": unit, "mu": model.energy_unit},
        title="second-order DC conductivity, Gamma expansion",
        extra_attrs={
            "term_meaning": "drude: coefficient of Gamma^-2 (seed [D] Eq. 2); bcd: coefficient of Gamma^-1 "
            "(Eq. 3); geometric, kinetic, intrinsic = geometric + kinetic: Gamma^0 (Eqs. 4-6, Table I). "
            "Drude and BCD are the same for all mechanisms with Gamma the bath/self-energy rate, "
            "in the model energy unit (eV for SI results).",
            "sigma_definition": sigma_definition(convention),
        },
    )
    ds["sigma"].attrs["units_by_term"] = term_units(unit, model.energy_unit, TERMS)
    return ds


@checked_keywords
def expansion(
    model: Model,
    *,
    components="xyy",
    mu,
    temperature: float,
    grid=Sampling.grid,
    kind: str | None = None,
    cutoff: float | None = None,
    offset: str = Sampling.offset,
    mechanisms: Sequence[str] | None = None,
    rta: tuple[float, float] | None = None,
    drude_form: str = DRUDE_FORMS[0],
    geometric_form: str = GEOMETRIC_FORMS[0],
    kinetic_form: str = KINETIC_FORMS[0],
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
    resolution: float | None = None,
    refine: int = Refinement.levels,
    refine_tol: float = Refinement.tol,
) -> xr.Dataset:
    """Γ-expansion coefficients of the second-order DC conductivity, per dissipation mechanism.

    Returns a Dataset with `sigma[mechanism, term, component, mu]`; terms: `drude` (Γ⁻² coefficient,
    Eq. 2), `bcd` (Γ⁻¹ coefficient, Eq. 3), `geometric` (Eq. 6 / Table I), `kinetic` (Eq. 5) and
    `intrinsic` = geometric + kinetic (Γ⁰). Mechanisms: `fermionic_bath` (this seed),
    `constant_gamma` (white-noise disorder, Table I), `rta` (Table I with user `rta=(c1, c2)`).
    `temperature` is kT in the model's energy unit; `mu` a scalar or 1D array in the same unit.
    `convention`: "seed" (Eqs. 2–6 as printed; a static field gives j_a = ½ Σ σ_abc E_b E_c) or
    "physical" (σ/2, j_a = Σ σ_abc E_b E_c); see `qgeom.dc.conventions`. `units`: "auto" (SI when
    the model's units are physical, e.g. eV/Å Wannier models; otherwise model units), "si", "model".
    `drude_form`, `geometric_form`, `kinetic_form`: the form of each term (`DRUDE_FORMS`, ...; the
    same k-integral, docs/dc_expansion.md): the defaults converge first on smooth bands; the
    integrated-by-parts forms (`BY_PARTS`) on many-band materials with avoided crossings near μ, at
    about half the cost per k-point (they need only ∂H); compare forms at `resolution=0`, and where
    pairs closer than Γ carry the Drude use the by-parts Drude with `resolution` = Γ (its grouped
    pairs follow the exact NESS; docs/near_degeneracy.md).
    `workers`, `scheduler`, `checkpoint`: executor and resumable run, see `kspace.integrate`.
    `blocks`: split H(k) into its exactly decoupled orbital blocks (`qgeom.models.blocks`; e.g. the
    h ⊕ h* of a PT-symmetric model) and sum their responses — exact, and cheaper; False forces
    the dense N-band sum over states (with degenerate-subspace averaging).
    `sigma_error` (same dims) is the estimated k-grid discretization error (`qgeom.accuracy`); an
    AccuracyWarning is issued when it exceeds `error_tol` relative to max |σ| of a term (over
    components and μ).
    `observable`: "current" (this function's σ_abc) or any other observable (a model operator name, a
    Hermitian matrix, current_x|y|z, an Observable): its Γ⁻² and Γ⁻¹ coefficients, fermionic bath only,
    field labels "bc" (`qgeom.dc.observable_expansion`; Γ⁰ not derived: use the exact Γ-scan).
    `symmetry`: "neumann" (the default: the full grid; the components forbidden by the group the
    model keeps to a Wannierization's accuracy — a crystal's group, not a perturbation's — are set
    to 0 and marked in `forbidden`, with a SymmetryWarning when they were not already rounding
    noise), None (the model's full-grid sums, nothing zeroed), "auto" (detect the exact magnetic
    point group), a Hermann–Mauguin symbol (primes for time reversal) or operations (Cartesian matrices, or
    labels such as "2[0,0,1],m[1,1,0]'", `qgeom.symmetry.group.from_labels`): for the last three only the irreducible wedge of the grid is evaluated and each term
    is symmetrized by its time-reversal parity (`qgeom.symmetry`); `forbidden[term, component]`
    marks Neumann zeros.
    `symmetry_tol`: the relative breaking of the given group the model may have (None: exact
    symmetries only, 1e-9). A Wannier model of a real crystal breaks its group slightly (or, for a
    poor Wannierization, a lot): a larger value imposes the crystal's group — the result is that of
    the ideal crystal, Neumann zeros exact — with a SymmetryWarning and the measured breaking in
    attrs["symmetry"] (docs/symmetry.md).
    `resolution`: the smallest band splitting the expansion resolves (energy): pairs closer than
    max(degen_tol, resolution) are one subspace — the Γ ≫ |Δ| limit of the exact NESS — instead of terms
    that grow as 1/Δ³ (docs/near_degeneracy.md). Set it to the Γ you evaluate the series at (with the
    by-parts Drude), or 0 for the plain sums over states. Default (None): the Drude and BCD resolve every
    splitting above the accuracy of the bands (min(kT, 1 meV) for a model in eV, every one for a model in
    its own units: the Γ → 0 coefficients, as seed Eqs. 2–3 and WannierBerri define them, without a Wannier
    model's noise-split pairs), the Γ⁰ terms group pairs closer than kT (`RESOLVED_BY_DEFAULT`;
    parameters["resolved_terms"], ["resolution_of_resolved_terms"]). `sigma_near_degenerate` (same dims as
    sigma) is the ungrouped minus the grouped value of the pairs between the lower scale and the resolution
    (what they carry in the resolved terms, would add to the grouped ones): large values mean the result
    depends on Γ/Δ beyond the series;
    `sigma_near_degenerate_fraction[mechanism, term]` is its max over components and μ relative to the
    term's, and a NearDegeneracyWarning names the terms where it exceeds 0.1.
    `refine`: up to this many levels of adaptive k-grid refinement (0: off) where a band crosses the
    μ range faster than the grid resolves kT (`qgeom.refinement`); stops when a level changes no term
    by more than `refine_tol` (relative, per term, over components and μ). attrs["refinement"] records
    the levels, points and changes; `sigma_error` is then the last level's change.
    """
    refinement = Refinement(refine, refine_tol)
    if not (isinstance(observable, str) and observable == "current"):
        _check_other_observable(refinement, symmetry, (rta, drude_form, geometric_form, kinetic_form))
        from .observable_expansion import observable_expansion

        return observable_expansion(
            model, observable=observable, components=components, mu=mu, temperature=temperature, grid=grid,
            kind=kind, cutoff=cutoff, offset=offset, mechanisms=mechanisms, convention=convention, units=units,
            degen_tol=degen_tol, chunk_size=chunk_size, progress=progress, workers=workers, scheduler=scheduler,
            checkpoint=checkpoint, blocks=blocks, error_tol=error_tol, resolution=resolution)
    thermal = Thermal(temperature, mu)
    sampling = Sampling(grid, kind=kind, cutoff=cutoff, offset=offset, degen_tol=degen_tol, blocks=blocks)
    execution = Execution(chunk_size, progress, workers, scheduler, checkpoint)
    comps, mechanisms, rta, scale, unit_factor, unit = _validated(
        model, components, mechanisms, rta, drude_form, geometric_form, kinetic_form, convention, units,
    )
    mu_arr, kT, degen_tol = thermal.mu, thermal.temperature, sampling.degen_tol
    kgrid = sampling.kgrid(model)
    order = derivative_order(drude_form, geometric_form, kinetic_form)
    plan = resolve_symmetry(model, symmetry, kgrid, tol=symmetry_tol)
    computed = plan.needed(comps) if plan else comps
    fine_tol, group_tol, split = dc_tolerances(model, degen_tol, kT, resolution)
    resolved = RESOLVED_BY_DEFAULT if split else ()
    axes, local = derivative_axes(component_indices(computed))
    func = FermiSurfaceSums(local, mu_arr, kT, geometric_form, kinetic_form, group_tol=group_tol,
                             drude_form=drude_form, fine_tol=fine_tol)
    error_tol = error_tolerance(error_tol)
    base_grid = plan.grid if plan else kgrid
    to_sigma = lambda sums: scale * unit_factor * assemble(split_near(sums, resolved)[0], mechanisms, rta)  # noqa: E731
    if forbids_everything(plan, computed, comps, TERMS):  # exact zeros: no k-sum can change them
        plan = dataclasses.replace(plan, skipped=True)  # recorded in attrs["symmetry"]["k_sum"]
        sigma = np.zeros((len(mechanisms), len(TERMS), len(computed), len(mu_arr)))
        near, coarse, refined, cost = np.zeros_like(sigma), None, None, ComputeTime()
    else:
        with compute_time() as cost:
            ops = plan.ops if plan and not plan.zeros_only else None
            raw, raw_coarse, refined = _k_sums(model, base_grid, func, refinement,
                                               _relative_change(to_sigma, unit_factor), mu=mu_arr, temperature=kT,
                                               order=order, operations=ops, degen_tol=degen_tol, axes=axes,
                                               blocks=sampling.blocks, **execution.kwargs())
        raw, near = split_near(raw, resolved)
        sigma = scale * unit_factor * assemble(raw, mechanisms, rta)
        near = scale * unit_factor * assemble(near, mechanisms, rta) if near else np.zeros_like(sigma)
        coarse = None if raw_coarse is None else to_sigma(raw_coarse)
    sigma, near, coarse, forbidden = _symmetrized(plan, sigma, near, coarse, computed, comps)
    forms = dict(drude_form=drude_form, geometric_form=geometric_form, kinetic_form=kinetic_form)
    parameters = {
        "temperature": kT, "degen_tol": degen_tol, "resolution": group_tol, "resolved_terms": list(resolved),
        "resolution_of_resolved_terms": fine_tol, "rta_c1_c2": list(rta) if rta else None, **forms,
        "kinetic_prefactor": KINETIC_PREFACTOR, "convention": convention, "units": units, "unit_factor": unit_factor,
        "orbital_blocks": block_provenance(model, blocks), "refine": refinement.levels, "refine_tol": refinement.tol,
        **cost.attrs(),
    }
    ds = _dataset(model, plan.grid if plan else kgrid, sigma, mechanisms, comps, mu_arr, parameters, unit, convention)
    ds = attach_symmetry(ds, plan, forbidden)
    ds["sigma_near_degenerate"] = near_degenerate_variable(ds["sigma"], near, group_tol, resolved, fine_tol)
    ds = flag_near_degenerate(ds, "sigma", ("component", "mu"), ("mechanism", "term"), scale_name="the resolution",
                              effect=NEAR_EFFECT, advice=lambda big: near_degenerate_advice(big, drude_form))
    if plan is not None and plan.skipped:
        return attach_error(ds, "sigma", None, grid=kgrid, tol=error_tol, exact=SKIPPED_ERROR)
    ds = _with_accuracy(ds, coarse, refined, refinement, kgrid, base_grid, error_tol, forms)
    return flag_missed_fermi_surface(ds, model, base_grid, kT, scale * unit_factor)


def _with_accuracy(ds, coarse, refined, refinement: Refinement, kgrid, base_grid, error_tol: float, forms: dict):
    """`sigma_error` from the coarse sub-grid's sum, or, refined, from the change the last level made (and the
    refinement record)."""
    method = None
    if refined is not None:
        attach_refinement(ds, refined, refinement, base_grid)
        if refined.history:
            method = f"change made by the last refinement level ({len(refined.history)}) (qgeom.refinement)"
    return attach_error(ds, "sigma", coarse, grid=kgrid, tol=error_tol, over=("component", "mu"),
                        advice=_grid_advice(forms), method=method)


def _symmetrized(plan, sigma, near, coarse, computed, comps):
    """(σ, its near-degenerate part, the coarse or previous-level σ, forbidden) averaged over the symmetry
    plan's group by each term's parity, the forbidden components recorded (all unchanged without a plan)."""
    if not plan:
        return sigma, near, coarse, None
    sigma, forbidden = symmetrize_terms(plan, sigma, computed, comps, TERMS, record=True)
    near = symmetrize_terms(plan, near, computed, comps, TERMS)[0]
    if coarse is not None:  # the result before the last refinement level, averaged alike
        coarse = symmetrize_terms(plan, coarse, computed, comps, TERMS)[0]
    return sigma, near, coarse, forbidden

