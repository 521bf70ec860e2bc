"""`qgeom geometry`: band-resolved geometric summary of a model."""

from __future__ import annotations

import click

from ..outputs import check_output
from ..results import metadata, save
from ..summary import band_geometry
from .common import build_model, format_table, handle_errors, load_config, model_options, output_path
from .executor_options import executor_options
from .safety_options import safety_options


@click.command("geometry")
@model_options
@click.option("--grid", type=int, default=None, help="k-points per direction (default 200).")
@click.option("--degen-tol", type=float, default=None, help="Degeneracy tolerance (default 1e-6).")
@click.option("--out", "out", type=click.Path(dir_okay=False), default=None,
              help="NetCDF file to write (default results/geometry_<model>.nc).")
@executor_options
@safety_options
@handle_errors
def command(config_path, model_name, params, grid, degen_tol, out, executor):
    """Print per-band Chern numbers and BZ-integrated quantum metric; write a Dataset."""
    cfg = load_config(config_path)
    model = build_model(cfg, model_name, params, config_path or "command line")
    run = cfg.get("geometry", {})
    grid = grid or run.get("grid", 200)
    degen_tol = degen_tol or run.get("degen_tol", 1e-6)
    out_path = check_output(output_path(out, f"results/geometry_{model.name}.nc"), option="--out")
    ds = band_geometry(model, grid=grid, degen_tol=degen_tol, **executor)
    header = ["band", "<E>"] + (["Chern"] if "chern_number" in ds else [])
    comps = list(ds.a.values)
    header += [f"∫g_{a}{a}" for a in comps] + (["∫Ω_xy"] if len(comps) >= 2 else [])
    rows = []
    for n in ds.band.values:
        row = [int(n), float(ds.energy_mean[n])]
        if "chern_number" in ds:
            row.append(float(ds.chern_number[n]))
        row += [float(ds.quantum_metric_integral[n, i, i]) for i in range(len(comps))]
        if len(comps) >= 2:
            row.append(float(ds.berry_curvature_integral[n, 0, 1]))
        rows.append(row)
    click.echo(f"{model!r}, grid {metadata(ds, 'grid')['shape']}")
    click.echo(format_table(header, rows))
    path = save(ds, out_path)
    click.echo(f"wrote {path}")
