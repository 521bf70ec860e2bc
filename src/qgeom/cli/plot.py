"""`qgeom plot RESULT.nc` (standard figure) and `qgeom export RESULT.nc` (plain-text table)."""

from __future__ import annotations

from pathlib import Path

import click

from .._validation import QgeomInputError
from ..results import load
from ..outputs import check_distinct, check_output
from .common import handle_errors
from .tables import EMPTY_LIST, split_list
from .safety_options import safety_options


# matplotlib refuses dpi <= 0, and a raster at 100000 dpi does not fit in memory (std::bad_alloc)
DPI_RANGE = (10, 2000)


def _open(result: str):
    try:
        return load(result)
    except QgeomInputError:  # load's own message names the file and the fix already
        raise
    except (OSError, ValueError) as exc:
        raise QgeomInputError(f"cannot read result file {result!r}: {exc}") from None


@click.command("plot")
@click.argument("result", type=click.Path(exists=True, dir_okay=False))
@click.option("--out", "out", type=click.Path(dir_okay=False), default=None,
              help="Figure file (png, pdf, svg; default RESULT with .png).")
@click.option("--text", "text", type=click.Path(dir_okay=False), default=None,
              help="Also export the result as a plain-text table to this file.")
@click.option("--dpi", type=click.IntRange(DPI_RANGE[0], DPI_RANGE[1]), default=150, show_default=True,
              help=f"Resolution of a raster figure (png, jpg, tif, webp), {DPI_RANGE[0]}-{DPI_RANGE[1]} dots per inch.")
@click.option("--components", default=None, metavar="C1,C2",
              help="σ components to draw, one row each (default: the nonzero ones, at most "
                   "plots.MAX_COMPONENT_ROWS, the largest first; the others are named in the title).")
@safety_options(accuracy=False)
@handle_errors
def command(result, out, text, dpi, components):
    """Draw the standard figure of a result file (σ vs μ, χ vs ω, maps, bands, or a generic plot)."""
    from ..plots import figure_kind, plot_result

    out = check_output(out or Path(result).with_suffix(".png"), option="--out", figure=True)
    text = check_output(text, option="--text") if text else None
    check_distinct({"RESULT": Path(result), "--out": out, "--text": text})
    ds = _open(result)
    if components is not None and figure_kind(ds) != "sigma":
        raise QgeomInputError(f"--components selects the rows of a σ figure; {result!r} holds a "
                              f"{figure_kind(ds)} result: drop --components.")
    chosen = None if components is None else split_list(components)
    if chosen == []:
        raise QgeomInputError(f"--components {EMPTY_LIST}.")
    plot_result(ds, out, dpi=dpi, components=chosen)
    click.echo(f"wrote {out} ({figure_kind(ds)} figure)")
    if text:
        from ..export import to_text

        to_text(ds, text)
        click.echo(f"wrote {text}")


@click.command("export")
@click.argument("result", type=click.Path(exists=True, dir_okay=False))
@click.option("--out", "out", type=click.Path(dir_okay=False), default=None,
              help="Text file (default RESULT with .txt; '-' prints to stdout).")
@safety_options(accuracy=False)
@handle_errors
def export_command(result, out):
    """Write a result file as a plain-text table with a commented header (units, conventions, version)."""
    from ..export import to_text

    ds = _open(result)
    if out == "-":
        click.echo(to_text(ds), nl=False)
        return
    out = check_output(out or Path(result).with_suffix(".txt"), option="--out")
    check_distinct({"RESULT": Path(result), "--out": out})
    to_text(ds, out)
    click.echo(f"wrote {out}")
