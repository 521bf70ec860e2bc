"""`qgeom geometry`: band-resolved geometric summary of a model."""

from __future__ import annotations

import click
from pydantic import Field, PositiveFloat

from ..options import DEFAULT_DEGEN_TOL, Sampling
from ..outputs import check_output
from ..results import metadata, save
from ..summary import band_geometry
from .common import format_table, handle_errors, output_path
from .executor_options import executor_options
from .model_loader import load, model_options
from .safety_options import safety_options
from .tables import Grid, Table, grid_arg, table_flags


class GeometryConfig(Table):
    """[geometry]: per-band Berry curvature, quantum metric and Chern numbers (`qgeom.summary.band_geometry`)."""

    grid: Grid = Field(Sampling.grid, description="k-points per direction (N, or N1,N2[,N3]).")
    degen_tol: PositiveFloat = Field(DEFAULT_DEGEN_TOL, description="Degeneracy tolerance (model energy unit).")


@click.command("geometry")
@model_options
@table_flags(GeometryConfig, list(GeometryConfig.model_fields))
@click.option("--out", "out", type=click.Path(dir_okay=False), default=None,
              help="NetCDF file to write (default results/geometry_<model>.nc).")
@executor_options
@safety_options
@handle_errors
def command(out, executor, **opts):
    """Print per-band Chern numbers and BZ-integrated quantum metric; write a Dataset."""
    setup = load(opts, GeometryConfig, "geometry")
    model, conf = setup.model, setup.conf
    out_path = check_output(output_path(out, f"results/geometry_{model.name}.nc"), option="--out")
    ds = band_geometry(model, grid=grid_arg(conf.grid), degen_tol=conf.degen_tol, **executor)
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
