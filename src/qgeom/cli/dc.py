"""`qgeom dc`: the mechanism comparison table of the second-order DC conductivity."""

from __future__ import annotations

import json
from typing import Literal

import click
import numpy as np
from pydantic import Field, NonNegativeFloat, PositiveFloat, field_validator

from ..options import DEFAULT_DEGEN_TOL, Refinement, Sampling
from ..dc import expansion
from ..dc.conventions import CONVENTIONS, describe_units
from ..dc.expansion import BY_PARTS, DRUDE_FORMS, GEOMETRIC_FORMS, KINETIC_FORMS, near_degenerate_advice
from ..dc.mechanisms import MECHANISM_REGISTRY, MECHANISMS
from ..dc.figures import plot_expansion
from ..outputs import check_distinct, check_output, signals_deferred
from ..dc.zeros import label, numerical_zeros, zero_note
from ..results import metadata, save
from ..units import UNIT_CHOICES
from ..near_degeneracy import NEAR_EFFECT
from .common import (fermi_energy, format_table, handle_errors, output_path, parse_values, sampled_energies,
                     symmetry_footnote, warn_near_degenerate)
from .executor_options import executor_options
from .model_loader import load, model_options
from .safety_options import safety_options
from .tables import (CommaList, Grid, Offset, Table, grid_arg, offset_field, symmetry_tol_field, split_list, table_flags,
                     ValuesOrAuto)

AUTO_MU_POINTS = 21
AUTO_MU_HALF_WIDTH_EV = 0.5  # a model with a Fermi energy: auto = E_F ± this (the physics of a material is near E_F)
# ... in a model's own energy unit (no eV: a library model given --electrons): E_F ± this fraction of its band width
AUTO_MU_HALF_WIDTH_BANDS = 0.1


class DCConfig(Table):
    """[dc]: the Γ-expansion of the second-order DC conductivity (`qgeom.dc.expansion`)."""

    observable: str = Field("current", description="Observable: current (sigma_abc, all terms) or a model operator "
                            "(layer_polarization, spin_z, current_x|y|z): its Gamma^-2 and Gamma^-1 coefficients, "
                            "fermionic bath (Gamma^0: qgeom dc-exact --observable).")
    components: CommaList | None = Field(
        None, description="Tensor components, e.g. xyy,yxx, or all; for an observable other than current the "
                          "field labels bc, e.g. xx,xy.",
        json_schema_extra={"default_text": "xyy (current); xx,yy,xy (another observable)"})
    mu: ValuesOrAuto = Field(
        "auto", description="Chemical potentials (model energy unit): start:stop:num, a,b,c (in a config file "
                            f"also a number or a list), or auto = {AUTO_MU_POINTS} values: E_F ± {AUTO_MU_HALF_WIDTH_EV:g} eV when the model "
                            "has a Fermi energy (its files: Wannier90, wt.in; or --electrons), E_F ± "
                            f"{AUTO_MU_HALF_WIDTH_BANDS:g} of its band width for a model in its own energy unit, else "
                            "across the model's bands (5% inside their extremes).")
    temperature: PositiveFloat = Field(0.05, description="kT in the model's energy unit.")
    grid: Grid = Field(Sampling.grid, description="k-points per direction (N, or N1,N2[,N3]).")
    offset: Offset = offset_field()
    mechanisms: list[Literal[MECHANISMS]] | None = Field(  # type: ignore[valid-type]
        None, description="Dissipation mechanisms, a comma list from: "
                          + "; ".join(f"{n} ({m.help})" for n, m in MECHANISM_REGISTRY.items()) + ".",
        json_schema_extra={"default_text": "fermionic_bath,constant_gamma (+ rta when rta is given)"})
    rta: tuple[float, float] | None = Field(None, description="Table I coefficients C1,C2 of the rta mechanism.")
    drude_form: Literal[DRUDE_FORMS] = Field(  # type: ignore[valid-type]
        DRUDE_FORMS[0], description="Form of the Drude Γ⁻² term (equal in the continuum limit).")
    geometric_form: Literal[GEOMETRIC_FORMS] = Field(  # type: ignore[valid-type]
        GEOMETRIC_FORMS[0], description="Form of the geometric Γ⁰ term (equal in the continuum limit).")
    kinetic_form: Literal[KINETIC_FORMS] = Field(  # type: ignore[valid-type]
        KINETIC_FORMS[0], description="Form of the kinetic Γ⁰ term (equal in the continuum limit).")
    convention: Literal[CONVENTIONS] = Field(  # type: ignore[valid-type]
        "seed", description="seed: Eqs. 2-6 as printed (j = sigma E E / 2 for a static field); physical: sigma/2.")
    units: Literal[UNIT_CHOICES] = Field(  # type: ignore[valid-type]
        "auto", description="auto: SI for eV/Å models, model units otherwise; si; model.")
    degen_tol: PositiveFloat = Field(DEFAULT_DEGEN_TOL, description="Degeneracy tolerance (model energy unit).")
    resolution: NonNegativeFloat | None = Field(
        None, description="Smallest band splitting the expansion resolves (model energy unit): closer pairs are one "
                          "subspace, the Gamma >> splitting limit. Set it to the Gamma you evaluate the series at "
                          "(with drude_form velocity_cubed), or 0 for the plain sums over states.",
        json_schema_extra={"default_text": "Drude and BCD: min(kT, 1 meV) for eV models, else none; Gamma^0 terms: kT"})
    blocks: bool = Field(True, description="Sum over the exactly decoupled orbital blocks of H (exact and faster); "
                                           "--no-blocks forces the dense path.")
    symmetry: str = Field("neumann", description="neumann: zero the components forbidden by the group the model "
                                                 "keeps to Wannier accuracy and by the crystal's group from its files "
                                                 "(full grid); none: the model's raw sums; "
                                                 "auto (detect the exact group), or a Hermann-Mauguin symbol with "
                                                 "primes for time reversal (e.g. m-3m1', m'm'm, -3m') or operation "
                                                 "labels (e.g. \"2[0,0,1],m[1,1,0],1'\"): only the "
                                                 "irreducible wedge of the grid is evaluated.")
    symmetry_tol: float | None = symmetry_tol_field()
    refine: int = Field(Refinement.levels, ge=0, le=12,
                        description="Levels of adaptive k-grid refinement of the Fermi window (0: off); "
                                    "stops early when converged to refine_tol.")
    refine_tol: PositiveFloat = Field(Refinement.tol, description="Refinement stops when a level changes no term "
                                                                  "by more than this (relative).")

    @field_validator("mechanisms", mode="before")
    @classmethod
    def _split_mechanisms(cls, v):
        return split_list(v)

    @field_validator("rta", mode="before")
    @classmethod
    def _pair(cls, v):
        if isinstance(v, str):
            try:
                c1, c2 = (float(x) for x in v.split(","))
            except ValueError:
                raise ValueError(f"rta expects two numbers C1,C2, got {v!r}") from None
            return c1, c2
        return v


def auto_mu(model, num: int = AUTO_MU_POINTS) -> tuple[np.ndarray, str]:
    """`num` chemical potentials and what they span: E_F ± AUTO_MU_HALF_WIDTH_EV for a model with a Fermi energy
    (its files', or --electrons') in a physical energy unit, E_F ± AUTO_MU_HALF_WIDTH_BANDS of the band width in a
    model's own unit; else across the model's bands — the band extremes sampled on a coarse k-grid, 5% of the band
    width inside them (so the default range always meets the bands)."""
    from ..units import energy_unit_ev

    fermi, e0 = fermi_energy(model), energy_unit_ev(model)
    if fermi is not None and e0 is not None:
        half = AUTO_MU_HALF_WIDTH_EV / e0
        return (np.linspace(fermi - half, fermi + half, num),
                f"the model's Fermi energy {fermi:g} ± {AUTO_MU_HALF_WIDTH_EV:g} eV")
    e = sampled_energies(model)
    lo, hi = float(e.min()), float(e.max())
    if fermi is not None:
        half = AUTO_MU_HALF_WIDTH_BANDS * (hi - lo)
        return (np.linspace(fermi - half, fermi + half, num),
                f"the model's Fermi energy {fermi:g} ± {half:.4g}, {AUTO_MU_HALF_WIDTH_BANDS:g} of its band width")
    pad = 0.05 * (hi - lo)
    return np.linspace(lo + pad, hi - pad, num), "across the model's bands"


def comparison_table(ds, component: str) -> str:
    """Rows per μ; Drude/BCD coefficients once, then the Γ⁰ terms per mechanism."""
    s = ds.sigma.sel(component=component)
    mechs = list(ds.mechanism.values)
    header = ["mu", "drude(G^-2)", "bcd(G^-1)"]
    # geometric and kinetic apart for the mechanisms with a kinetic term, then σ⁰ of every mechanism
    cols = [(m, t) for m in mechs if MECHANISM_REGISTRY[m].kinetic for t in ("geometric", "kinetic")]
    cols += [(m, "intrinsic") for m in mechs]
    header += [f"{MECHANISM_REGISTRY[m].short}:{t[:3] if t != 'intrinsic' else 'sigma0'}" for m, t in cols]
    zero = numerical_zeros(ds).sel(component=component)
    forbidden = ds["forbidden"].sel(component=component) if "forbidden" in ds else None
    cells = [(mechs[0], "drude"), (mechs[0], "bcd"), *cols]
    rows = []
    for i, mu in enumerate(ds.mu.values):
        rows.append([float(mu)] + [
            "forbidden" if forbidden is not None and bool(forbidden.sel(term=t))
            else label(float(s.sel(mechanism=m, term=t)[i]), bool(zero.sel(mechanism=m, term=t)[i]))
            for m, t in cells])
    return format_table(header, rows, floatfmt="{: .4e}")


@click.command("dc")
@model_options
@table_flags(DCConfig, list(DCConfig.model_fields), mu={"decls": ("--mu",)}, rta={"metavar": "C1,C2"},
             mechanisms={"metavar": "M1,M2"})
@click.option("--out", type=click.Path(dir_okay=False), default=None, help="NetCDF output (default results/dc_<model>.nc).")
@click.option("--figure", type=click.Path(dir_okay=False), default=None, help="PNG output (default next to --out).")
@executor_options
@safety_options
@handle_errors
def command(out, figure, executor, **opts):
    """Second-order DC conductivity: Drude, BCD, geometric and kinetic terms per dissipation mechanism."""
    setup = load(opts, DCConfig, "dc")
    model, conf = setup.model, setup.conf
    mu, mu_span = auto_mu(model) if conf.mu == "auto" else (np.asarray(conf.mu), None)
    suffix = "" if conf.observable == "current" else f"_{conf.observable}"
    out_path = check_output(output_path(out, f"results/dc_{model.name}{suffix}.nc"), option="--out")
    fig_path = check_output(figure or out_path.with_suffix(".png"), option="--figure", figure=True)
    check_distinct({"--out": out_path, "--figure": fig_path})
    if conf.observable != "current":
        return _observable(model, conf, mu, out_path, executor)
    ds = expansion(
        model, components=conf.components or ["xyy"], mu=mu, temperature=conf.temperature, grid=grid_arg(conf.grid),
        offset=conf.offset,
        mechanisms=conf.mechanisms, rta=conf.rta, drude_form=conf.drude_form, geometric_form=conf.geometric_form,
        kinetic_form=conf.kinetic_form, convention=conf.convention, units=conf.units, degen_tol=conf.degen_tol,
        resolution=conf.resolution, blocks=conf.blocks, symmetry=None if conf.symmetry == "none" else conf.symmetry,
        symmetry_tol=conf.symmetry_tol, refine=conf.refine, refine_tol=conf.refine_tol, **executor,
    )
    click.echo(f"{model!r}; grid {metadata(ds, 'grid')['shape']}; kT = {conf.temperature} {model.energy_unit}")
    if mu_span is not None:
        click.echo(f"mu: auto, {len(mu)} values {mu[0]:g} ... {mu[-1]:g} {model.energy_unit} ({mu_span})")
    click.echo(f"sigma in {describe_units(ds.sigma)}; {conf.convention} convention")
    # a component the group forbids in every term is one line, not a table of "forbidden"
    whole = ([str(c) for c in ds.component.values if bool(ds["forbidden"].sel(component=c).all())]
             if "forbidden" in ds else [])
    for comp in ds.component.values:
        if str(comp) not in whole:
            click.echo(f"\ncomponent {comp}:")
            click.echo(comparison_table(ds, str(comp)))
    if whole:
        click.echo(f"\nforbidden by symmetry in every term (exact zeros): {', '.join(whole)}")
    zeros = numerical_zeros(ds)
    if "forbidden" in ds:  # Neumann zeros are labelled "forbidden", not "~0"
        zeros = zeros & ~ds["forbidden"]
    note = zero_note(ds, zeros)
    if note:
        click.echo(f"\n{note}")
    warn_near_degenerate(ds, "sigma", ("component", "mu"), ("mechanism", "term"), "the resolution", NEAR_EFFECT,
                         lambda big: near_degenerate_advice(big, conf.drude_form, exact="qgeom dc-exact",
                                                            resolution="--resolution GAMMA",
                                                            drude=f"--drude-form {BY_PARTS['drude_form']}"))
    if "refinement" in ds.attrs:
        info = json.loads(ds.attrs["refinement"])
        click.echo(f"\nrefinement: {info['levels_done']} level(s), {info['points_evaluated']} k-points evaluated "
                   f"({info['base_points']} on the base grid); {info['stopped']}"
                   + ("." if info["converged"] else
                      f": NOT converged (the last level changed the result by "
                      f"{info['history'][-1]['relative_change'] if info['history'] else float('nan'):.2g} > "
                      f"--refine-tol {info['refine_tol']:g}; raise --refine or --grid)."))
    footnote = symmetry_footnote(ds)
    if footnote:
        click.echo(f"\n{footnote}")
    with signals_deferred():  # a kill here leaves the results file and its figure, not one of them
        path = save(ds, out_path)
        fig = plot_expansion(ds, fig_path)
    click.echo(f"\nwrote {path} and {fig}")


def _observable(model, conf, mu, out_path, executor) -> None:
    """`--observable`: the Γ⁻² and Γ⁻¹ coefficients of an observable's response (fermionic bath)."""
    if conf.symmetry not in ("none", "neumann"):
        raise click.UsageError("--symmetry is implemented for the current; drop it with --observable.")
    if conf.mechanisms not in (None, ["fermionic_bath"]) or conf.rta is not None:
        raise click.UsageError("--observable: the closed forms are derived for the fermionic bath only; drop "
                               "--mechanisms/--rta (other mechanisms and Gamma^0: qgeom dc-exact --observable).")
    ds = expansion(model, observable=conf.observable, components=conf.components or ["xx", "yy", "xy"], mu=mu,
                   temperature=conf.temperature, grid=grid_arg(conf.grid), offset=conf.offset,
                   convention=conf.convention, units=conf.units, degen_tol=conf.degen_tol, blocks=conf.blocks,
                   resolution=conf.resolution, **executor)
    click.echo(f"{model!r}; grid {metadata(ds, 'grid')['shape']}; kT = {conf.temperature} {model.energy_unit}")
    click.echo(f"response of {conf.observable} in {describe_units(ds.sigma)}; {conf.convention} convention "
               "(Gamma^0 not derived)")
    s = ds.sigma.sel(mechanism="fermionic_bath")
    for comp in ds.component.values:
        rows = [[float(m)] + [float(s.sel(term=t, component=comp)[i]) for t in ("drude", "interband")]
                for i, m in enumerate(ds.mu.values)]
        click.echo(f"\ncomponent {comp}:")
        click.echo(format_table(["mu", "drude(G^-2)", "interband(G^-1)"], rows, floatfmt="{: .4e}"))
    warn_near_degenerate(ds, "sigma", ("component", "mu"), ("mechanism", "term"), "the resolution", NEAR_EFFECT,
                         "The series holds for these terms only where Gamma << those splittings: compare with "
                         "qgeom dc-exact --observable, or evaluate at --resolution GAMMA")
    click.echo(f"\nwrote {save(ds, out_path)}")


def parse_mu(spec) -> np.ndarray:
    """Kept for callers of the old name: μ values from a list, 'start:stop:num' or 'a,b,c'."""
    return parse_values(spec, "mu")


