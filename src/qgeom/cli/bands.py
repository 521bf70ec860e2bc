"""`qgeom bands`: band structure along a high-symmetry path (table, Dataset, figure)."""

from __future__ import annotations

import click

from .._validation import QgeomInputError
from ..bandstructure import band_structure
from ..outputs import check_distinct, check_output
from ..results import save
from .common import build_model, format_table, handle_errors, load_config, model_options, output_path
from .safety_options import safety_options


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


def load_model(cfg, model_name, params, config_path, wannier90, convention, position_operator=None):
    """A library model (--model/--config) or a Wannier90 model (--wannier90 PATH; `position_operator`
    "centres" or "full", see `from_wannier90`)."""
    w90 = wannier90 or cfg.get("model", {}).get("wannier90")
    if w90:
        from ..models.wannier90 import from_wannier90

        section = cfg.get("model", {})
        return from_wannier90(w90, convention=convention or section.get("convention", "auto"),
                              position_operator=position_operator or section.get("position_operator", "centres"))
    return build_model(cfg, model_name, params, config_path or "command line")


@click.command("bands")
@model_options
@click.option("--wannier90", "wannier90", type=click.Path(exists=True), default=None,
              help="Wannier90 model: SEED_tb.dat, SEED_hr.dat, SEED.win or the seed's directory.")
@click.option("--convention", type=click.Choice(["auto", "I", "II"]), default=None,
              help="Bloch convention for Wannier90 models (default auto: II when centres are known).")
@click.option("--path", "kpath", default=None, help="High-symmetry path, e.g. L-G-X (G = Γ).")
@click.option("--point", "points", multiple=True, metavar="NAME=K1,K2,K3",
              help="Extra k-point label in reduced coordinates (repeatable).")
@click.option("--npoints", type=int, default=None, help="k-points along the whole path (default 200).")
@click.option("--out", "out", type=click.Path(dir_okay=False), default=None,
              help="NetCDF file to write (default results/bands_<model>.nc).")
@click.option("--plot", "plot", type=click.Path(dir_okay=False), default=None, help="Also draw the figure (png/pdf/svg).")
@click.option("--text", "text", type=click.Path(dir_okay=False), default=None, help="Also write a plain-text table.")
@safety_options
@handle_errors
def command(config_path, model_name, params, wannier90, convention, kpath, points, npoints, out, plot, text):
    """Band energies along a k-path; prints band extrema at the path's points and writes a Dataset."""
    cfg = load_config(config_path)
    model = load_model(cfg, model_name, params, config_path, wannier90, convention)
    run = cfg.get("bands", {})
    path = kpath or run.get("path") or ("L-G-X" if model.dim == 3 else "G-X")
    pts = {**run.get("points", {}), **_parse_points(points)}
    out_path = check_output(output_path(out, f"results/bands_{model.name}.nc"), option="--out")
    plot_path = check_output(plot, option="--plot", figure=True) if plot else None
    text_path = check_output(text, option="--text") if text else None
    check_distinct({"--out": out_path, "--plot": plot_path, "--text": text_path})
    ds = band_structure(model, path, npoints or run.get("npoints", 200), pts)
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
