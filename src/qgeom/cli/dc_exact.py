"""`qgeom dc-exact`: exact fermionic-bath NESS conductivity (seed [D] B-5, B-6), Γ-scan fit vs expansion."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import click
import numpy as np
from pydantic import Field, NonNegativeFloat, PositiveFloat, PositiveInt

from ..bands import DEFAULT_DEGEN_TOL
from ..dc.conventions import CONVENTIONS
from ..dc.exact import DEFAULT_NODES, exact, exact_frequency
from ..dc.gamma_fit import comparison_rows, gamma_counts, gamma_scan, plot_gamma_scan
from ..dc.zeros import label, numerical_zeros, zero_note
from ..outputs import check_distinct, check_output, signals_deferred
from ..results import metadata, save
from .common import fermi_level, format_table, handle_errors, output_path, symmetry_footnote
from .executor_options import executor_options
from .model_loader import load, model_options
from .safety_options import safety_options
from .tables import (CommaList, Grid, Offset, Table, grid_arg, offset_field, symmetry_tol_field, table_flags,
                     Rates, Values)


class DCExactConfig(Table):
    """[dc-exact]: the exact fermionic-bath NESS versus Γ (`qgeom.dc.exact`, `qgeom.dc.gamma_fit.gamma_scan`)."""

    observable: str = Field("current", description="Observable O of the response Tr[O rho2]: current (sigma_abc) or "
                            "a model operator (layer_polarization, spin_z, current_x|y|z); model units.")
    components: CommaList | None = Field(
        None, description="Tensor components, e.g. xyy,yxx, or all; for an observable other than current the "
                          "field labels bc, e.g. xx,xy.",
        json_schema_extra={"default_text": "xyy (current); xx,yy,xy (another observable)"})
    mu: Values | None = Field(
        None, description="Chemical potentials: start:stop:num or a,b,c (in a config file also a number or a list).",
        json_schema_extra={"default_text": "the model's Fermi energy (its files': Wannier90, wt.in; or --electrons), else 0"})
    temperature: PositiveFloat = Field(0.1, description="kT in the model's energy unit.")
    gamma: Rates = Field(
        [0.005, 0.0075, 0.01, 0.015, 0.02, 0.03, 0.04],
        description="Bath rates Γ > 0 (model energy unit): start:stop:num, a,b,c or a list.")
    grid: Grid = Field(100, description="k-points per direction (N, or N1,N2[,N3]).")
    offset: Offset = offset_field()
    nodes: PositiveInt = Field(DEFAULT_NODES, description="Contour nodes for the DC limit.")
    omega: Values | None = Field(
        None, description="Also compute σ(ω,−ω) and σ(ω,ω) at these real frequencies (start:stop:num or a,b,c).")
    fit: bool = Field(True, description="Fit σ(Γ) = A/Γ² + B/Γ + C + … and compare with the Γ-expansion "
                                        "(needs ≥ 6 Γ values).")
    convention: Literal[CONVENTIONS] = Field(  # type: ignore[valid-type]
        "seed", description="seed: Eqs. B-5, B-6 as printed; physical: sigma/2.")
    degen_tol: PositiveFloat = Field(DEFAULT_DEGEN_TOL, description="Degeneracy tolerance (model energy unit).")
    blocks: bool = Field(True, description="Sum over the exactly decoupled orbital blocks of H, or force the dense path.")
    symmetry: str = Field("neumann", description="Magnetic point group for the Gamma scan and --omega (current "
                                                 "only): neumann (zero what the group the model keeps to Wannier "
                                                 "accuracy forbids), none, auto, a Hermann-Mauguin symbol or operation "
                                                 "labels (e.g. \"2[0,0,1],m[1,1,0]\"); at "
                                                 "finite Gamma only its operations without time reversal are used.")
    symmetry_tol: float | None = symmetry_tol_field()
    resolution: NonNegativeFloat | None = Field(
        None, description="Resolution of the expansion the fit is compared with (qgeom dc --resolution): 0 resolves "
                          "every pair, the Gamma -> 0 limit the exact NESS approaches; the exact sums group nothing.",
        json_schema_extra={"default_text": "qgeom dc's (Gamma^0 terms: pairs closer than kT grouped)"})


@click.command("dc-exact")
@model_options
@table_flags(DCExactConfig, list(DCExactConfig.model_fields))
@click.option("--out", type=click.Path(dir_okay=False), default=None, help="NetCDF output (default results/dc_exact_<model>.nc).")
@click.option("--figure", type=click.Path(dir_okay=False), default=None, help="PNG of σ(Γ) with the expansion (with --fit; default next to --out).")
@executor_options
@safety_options
@handle_errors
def command(out, figure, executor, **opts):
    """Exact second-order DC conductivity of the fermionic-bath NESS versus Γ (and its Γ-expansion fit).

    --workers/--scheduler/--checkpoint apply to the exact k-sums; with --omega the frequency sums
    checkpoint under DIR/frequency."""
    setup = load(opts, DCExactConfig, "dc-exact")
    model, conf = setup.model, setup.conf
    gammas = np.asarray(conf.gamma)
    current = conf.observable == "current"
    suffix = "" if current else f"_{conf.observable}"
    out_path = check_output(output_path(out, f"results/dc_exact_{model.name}{suffix}.nc"), option="--out")
    fig_path = check_output(figure or out_path.with_suffix(".png"), option="--figure", figure=True) if conf.fit else None
    freq_path = check_output(out_path.with_name(out_path.stem + "_frequency.nc"), option="--out (frequency file)") \
        if conf.omega is not None else None
    check_distinct({"--out": out_path, "--figure": fig_path, "frequency file": freq_path})
    if conf.symmetry not in ("none", "neumann") and not current:
        raise click.UsageError("--symmetry is implemented for the current; drop it with --observable.")
    components = conf.components or (["xyy"] if current else ["xx", "yy", "xy"])
    symmetry = dict(symmetry=None if conf.symmetry == "none" else conf.symmetry, symmetry_tol=conf.symmetry_tol)
    mu = np.asarray(conf.mu) if conf.mu is not None else np.array([fermi_level(model)[0]])
    kw = dict(components=components, mu=mu, temperature=conf.temperature,
              grid=grid_arg(conf.grid), offset=conf.offset, nodes=conf.nodes, blocks=conf.blocks,
              degen_tol=conf.degen_tol, observable=conf.observable)
    if conf.resolution is not None and not (conf.fit and conf.convention == "seed"):
        raise click.UsageError("--resolution sets the expansion the fit is compared with: it needs --fit and the seed "
                               "convention (the exact sums group no pairs).")
    if conf.fit and conf.convention == "seed":
        ds = gamma_scan(model, gammas=gammas, resolution=conf.resolution, **kw, **symmetry, **executor)
    else:
        ds = exact(model, gamma=gammas, convention=conf.convention, **kw, **symmetry, **executor)
    click.echo(f"{model!r}; grid {metadata(ds, 'grid')['shape']}; kT = {conf.temperature} {model.energy_unit}; "
               f"convention {conf.convention}")
    what = "sigma" if current else f"response of {conf.observable}, sigma"
    click.echo(f"{what} in {ds.sigma.attrs['units']}")
    zero = numerical_zeros(ds)
    for comp in ds.component.values:
        rows = [[float(g)] + [label(float(x), bool(z)) for x, z in zip(ds.sigma.sel(component=comp, gamma=g).values,
                                                                        zero.sel(component=comp, gamma=g).values)]
                for g in ds.gamma.values]
        click.echo(f"\ncomponent {comp}: sigma(Gamma) for mu = {', '.join(f'{m:g}' for m in ds.mu.values)}")
        click.echo(format_table(["gamma"] + [f"mu={m:g}" for m in ds.mu.values], rows, floatfmt="{: .6e}"))
    note = zero_note(ds, zero)
    if note:
        click.echo(f"\n{note}")
    footnote = symmetry_footnote(ds)
    if footnote:  # as dc and optical: the group applied, wedge or full grid, what "forbidden" means
        click.echo(f"\n{footnote}")
    if "fit" in ds:
        click.echo("\nGamma fit sigma*G^2 = A + B G + C G^2 + ... versus the Gamma expansion (Eqs. 2, 3, 5, 6"
                   + ("" if current else "; observable: A, B closed form, C not derived = nan") + "):")
        rows = comparison_rows(ds)
        click.echo(format_table(["comp", "mu", "coef", "fit", "+-", "expansion", "rel.diff"], rows, floatfmt="{: .5e}"))
        if np.isnan(ds.fit_uncertainty.values).all():
            click.echo(f"note: {ds.sizes['gamma']} Γ values allow a single fit, so its uncertainty is unknown (nan); "
                       f"pass at least {gamma_counts()[1]} for one.")
    # without a checkpoint the DC file is written at once, so that an interrupted frequency scan keeps it; with one,
    # every file is written at the end, so that rerunning the same command resumes (a DC file already there was
    # refused as existing) and the DC sums are in the checkpoint meanwhile
    early = executor["checkpoint"] is None or conf.omega is None
    if early:
        _write_dc(ds, out_path, fig_path)
    fds = None if conf.omega is None else _frequency(model, gammas, conf, kw, symmetry, executor)
    with signals_deferred():  # a kill here leaves every file or none
        if not early:
            _write_dc(ds, out_path, fig_path)
        if fds is not None:
            click.echo(f"wrote {save(fds, freq_path)} (sigma[process, gamma, component, mu, omega])")


def _write_dc(ds, out_path: Path, fig_path: Path | None) -> None:
    """The DC results file and, with the Γ fit, its figure (one deferred block: both or neither)."""
    with signals_deferred():
        click.echo(f"\nwrote {save(ds, out_path)}")
        if "fit" in ds:
            click.echo(f"wrote {plot_gamma_scan(ds, fig_path)}")


def _frequency(model, gammas, conf, kw: dict, symmetry: dict, executor: dict):
    """σ(ω,−ω) and σ(ω,ω) (`exact_frequency`) at --omega; the checkpoint under DIR/frequency."""
    freq_executor = dict(executor)
    if executor["checkpoint"] is not None:
        freq_executor["checkpoint"] = str(Path(executor["checkpoint"]) / "frequency")
    om = np.asarray(conf.omega)  # validated with the other options, before the Γ scan
    return exact_frequency(model, gamma=gammas, omega=om, convention=conf.convention, **kw, **symmetry,
                           **freq_executor)
