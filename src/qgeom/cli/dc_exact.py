"""`qgeom dc-exact`: exact fermionic-bath NESS conductivity (seed [D] B-5, B-6), Γ-scan fit vs expansion."""

from __future__ import annotations

from pathlib import Path

import click
import numpy as np

from ..dc.exact import exact, exact_frequency
from ..dc.gamma_fit import comparison_rows, gamma_counts, gamma_scan, plot_gamma_scan
from ..dc.zeros import label, numerical_zeros, zero_note
from ..outputs import check_distinct, check_output
from ..results import metadata, save
from .common import build_model, format_table, handle_errors, load_config, model_options, output_path
from .dc import parse_mu
from .executor_options import executor_options
from .safety_options import safety_options


@click.command("dc-exact")
@model_options
@click.option("--components", default="xyy", show_default=True, help="Tensor components, e.g. xyy,yxx or 'all'.")
@click.option("--mu", "mu_spec", default="0", show_default=True, help="Chemical potentials: start:stop:num or a,b,c.")
@click.option("--temperature", type=float, default=0.1, show_default=True, help="kT in the model's energy unit.")
@click.option("--gamma", "gamma_spec", default="0.005,0.0075,0.01,0.015,0.02,0.03,0.04", show_default=True,
              help="Bath rates Γ: start:stop:num or a,b,c (model energy unit).")
@click.option("--grid", type=int, default=100, show_default=True, help="k-points per direction.")
@click.option("--nodes", type=int, default=24, show_default=True, help="Contour nodes for the DC limit.")
@click.option("--omega", "omega_spec", default=None,
              help="Also compute σ(ω,−ω) and σ(ω,ω) at these real frequencies (start:stop:num or a,b,c).")
@click.option("--fit/--no-fit", default=True, show_default=True,
              help="Fit σ(Γ) = A/Γ² + B/Γ + C + … and compare with the Γ-expansion (needs ≥ 6 Γ values).")
@click.option("--convention", type=click.Choice(["seed", "physical"]), default="seed", show_default=True)
@click.option("--blocks/--no-blocks", default=True, show_default=True,
              help="Sum over the exactly decoupled orbital blocks of H, or force the dense path.")
@click.option("--out", type=click.Path(dir_okay=False), default=None, help="NetCDF output (default results/dc_exact_<model>.nc).")
@click.option("--figure", type=click.Path(dir_okay=False), default=None, help="PNG of σ(Γ) with the expansion (with --fit).")
@executor_options
@safety_options
@handle_errors
def command(config_path, model_name, params, components, mu_spec, temperature, gamma_spec, grid, nodes,
            omega_spec, fit, convention, blocks, out, figure, executor):
    """Exact second-order DC conductivity of the fermionic-bath NESS versus Γ (and its Γ-expansion fit).

    --workers/--scheduler/--checkpoint apply to the exact k-sums; with --omega the frequency sums
    checkpoint under DIR/frequency."""
    cfg = load_config(config_path)
    model = build_model(cfg, model_name, params, config_path or "command line")
    mu = parse_mu(mu_spec)
    gammas = parse_mu(gamma_spec)
    out_path = check_output(output_path(out, f"results/dc_exact_{model.name}.nc"), option="--out")
    fig_path = check_output(figure or out_path.with_suffix(".png"), option="--figure", figure=True) if fit else None
    freq_path = check_output(out_path.with_name(out_path.stem + "_frequency.nc"), option="--out (frequency file)") \
        if omega_spec else None
    check_distinct({"--out": out_path, "--figure": fig_path, "frequency file": freq_path})
    kw = dict(components=components, mu=mu, temperature=temperature, grid=grid, nodes=nodes, blocks=blocks)
    if fit and convention == "seed":
        ds = gamma_scan(model, gammas=gammas, **kw, **executor)
    else:
        ds = exact(model, gamma=gammas, convention=convention, **kw, **executor)
    click.echo(f"{model!r}; grid {metadata(ds, 'grid')['shape']}; kT = {temperature} {model.energy_unit}; "
               f"convention {convention}")
    click.echo(f"sigma in {ds.sigma.attrs['units']}")
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
    if "fit" in ds:
        click.echo("\nGamma fit sigma*G^2 = A + B G + C G^2 + ... versus the Gamma expansion (Eqs. 2, 3, 5, 6):")
        rows = comparison_rows(ds)
        click.echo(format_table(["comp", "mu", "coef", "fit", "+-", "expansion", "rel.diff"], rows, floatfmt="{: .5e}"))
        if np.isnan(ds.fit_uncertainty.values).all():
            click.echo(f"note: {ds.sizes['gamma']} Γ values allow a single fit, so its uncertainty is unknown (nan); "
                       f"pass at least {gamma_counts()[1]} for one.")
    path = save(ds, out_path)
    click.echo(f"\nwrote {path}")
    if "fit" in ds:
        fig = plot_gamma_scan(ds, fig_path)
        click.echo(f"wrote {fig}")
    if omega_spec:
        om = parse_mu(omega_spec)
        freq_executor = dict(executor)
        if executor["checkpoint"] is not None:
            freq_executor["checkpoint"] = str(Path(executor["checkpoint"]) / "frequency")
        fds = exact_frequency(model, gamma=gammas, omega=om, convention=convention, **kw, **freq_executor)
        fpath = save(fds, freq_path)
        click.echo(f"wrote {fpath} (sigma[process, gamma, component, mu, omega])")
