"""`qgeom bands`: band structure along a high-symmetry path (table, Dataset, figure)."""

from __future__ import annotations

import click
from pydantic import Field, PositiveInt, field_validator

from .._validation import QgeomInputError
from ..bandstructure import band_structure, default_path
from ..outputs import check_distinct, check_output
from ..results import save
from .common import format_table, handle_errors, output_path
from .model_loader import load, model_options
from .safety_options import safety_options
from .tables import Table, table_flags


def _parse_points(items: tuple[str, ...]) -> dict[str, list[float]]:
    out = {}
    for item in items:
        name, sep, raw = item.partition("=")
        try:
            vals = [float(x) for x in raw.replace(";", ",").split(",")]
        except ValueError:
            vals = []
        if not sep or not name.strip() or not vals:
            raise QgeomInputError(f"--point expects NAME=k1,k2[,k3] (reduced coordinates), got {item!r}.")
        out[name.strip()] = vals
    return out


class BandsConfig(Table):
    """[bands]: band energies along a high-symmetry path (`qgeom.bandstructure.band_structure`)."""

    path: str | None = Field(None, description="High-symmetry path, e.g. L-G-X (G = Γ).",
                             json_schema_extra={"default_text": "by lattice: fcc G-X-W-K-G-L-U-W-L-K, bcc G-H-N-G-P-H, "
                                                                "sc G-X-M-G-R-X, other X-G-Y-G-Z; 2D G-X-M-G-Y"})
    points: dict[str, list[float]] = Field(
        default_factory=dict, description="Extra k-point labels in reduced coordinates, NAME = [k1, k2, k3].",
        json_schema_extra={"default_text": "(none)"})
    npoints: PositiveInt = Field(200, description="k-points along the whole path.")

    @field_validator("path")
    @classmethod
    def _named(cls, value: str | None) -> str | None:
        """An empty path would silently mean the default one."""
        if value is not None and not value.strip():
            raise ValueError("is empty: name the path's points (e.g. --path G-X-M-G), or leave it out for the "
                             "lattice's default path")
        return value


@click.command("bands")
@model_options(convention_aliases=("--convention",))
@table_flags(BandsConfig, ["path", "npoints"])
@click.option("--point", "points", multiple=True, metavar="NAME=K1,K2,K3",
              help="Extra k-point label in reduced coordinates (repeatable; [bands] points).  [default: none]")
@click.option("--out", "out", type=click.Path(dir_okay=False), default=None,
              help="NetCDF file to write (default results/bands_<model>.nc).")
@click.option("--plot", "plot", type=click.Path(dir_okay=False), default=None, help="Also draw the figure (png/pdf/svg).  [default: none]")
@click.option("--text", "text", type=click.Path(dir_okay=False), default=None, help="Also write a plain-text table.  [default: none]")
@safety_options(accuracy=False)
@handle_errors
def command(out, plot, text, **opts):
    """Band energies along a k-path; prints band extrema at the path's points and writes a Dataset."""
    points = _parse_points(opts.pop("points"))
    setup = load(opts, BandsConfig, "bands")
    model, conf = setup.model, setup.conf
    path = conf.path or default_path(model)
    out_path = check_output(output_path(out, f"results/bands_{model.name}.nc"), option="--out")
    plot_path = check_output(plot, option="--plot", figure=True) if plot else None
    text_path = check_output(text, option="--text") if text else None
    check_distinct({"--out": out_path, "--plot": plot_path, "--text": text_path})
    ds = band_structure(model, path, conf.npoints, {**conf.points, **points})
    click.echo(f"{model!r}")
    labels, ticks = ds.attrs["path_labels"], ds.attrs["path_ticks"]
    dist = ds["distance"].values
    rows = []
    for lab, tk in zip(labels, ticks):
        i = int(abs(dist - tk).argmin())
        rows.append([lab] + [float(e) for e in ds["energy"].values[i]])
    nshow = min(model.nbands, 8)
    header = ["k"] + [f"E{n}" for n in range(model.nbands)]
    nv = model.parameters.get("num_valence_bands")
    if nv and 0 < nv < model.nbands:
        lo = max(0, nv - nshow // 2)
        cols = list(range(lo, min(model.nbands, lo + nshow)))
        e = ds["energy"].values
        click.echo(f"valence bands: {nv}; gap along the path: {e[:, nv].min() - e[:, nv - 1].max():.4f} {model.energy_unit}")
    else:
        cols = list(range(nshow))
    click.echo(format_table([header[0]] + [header[c + 1] for c in cols], [[r[0]] + [r[c + 1] for c in cols] for r in rows],
                            floatfmt="{: .5f}"))
    path_out = save(ds, out_path)
    click.echo(f"wrote {path_out}")
    if text:
        from ..export import to_text

        to_text(ds, text)
        click.echo(f"wrote {text}")
    if plot:
        from ..plots import plot_result

        plot_result(ds, plot)
        click.echo(f"wrote {plot}")
