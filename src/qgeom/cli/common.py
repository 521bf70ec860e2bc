"""Helpers shared by the CLI commands: value lists, k-grids, error handling, tables, output paths.

The model options live in `model_loader.py`, the config tables and flags in `tables.py`."""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

import click
import numpy as np

from .._validation import QgeomInputError
from .model_loader import model_options, parse_param  # noqa: F401  (re-exported for older imports)
from . import tables
from .tables import parse_grid  # noqa: F401


def parse_values(spec, name: str = "mu") -> np.ndarray:
    """Values from a list, 'start:stop:num' (inclusive, like linspace) or 'a,b,c' (`tables.parse_values`, which
    the command tables apply when they validate)."""
    try:
        return np.asarray(tables.parse_values(spec), float)
    except ValueError as exc:
        raise QgeomInputError(f"{name}: {exc}.") from None


def fermi_energy(model) -> float | None:
    """The model's Fermi energy when it has one (`parameters["fermi_energy"]`: Wannier90 .win/.wout, WannierTools
    wt.in, or --electrons, `model_loader.set_fermi_energy`), else None: the one place the commands' μ defaults read it."""
    ef = model.parameters.get("fermi_energy")
    return None if ef is None else float(ef)


def fermi_level(model) -> tuple[float, str]:
    """The default chemical potential of the single-μ commands and where it comes from: the model's Fermi
    energy (`fermi_energy`), else 0 (the library models' own zero)."""
    ef = fermi_energy(model)
    return (0.0, "0: the model gives no Fermi energy") if ef is None else (ef, "the model's Fermi energy")


def sampled_energies(model, n: int = 12, *, offset: str = "mp", cutoff: float | None = None) -> np.ndarray:
    """Band energies [nk, nbands] on a coarse grid of n points per direction (continuum models: a box within
    `cutoff`, default the model's k_cutoff): the commands' cheap look at the bands before a k-sum (auto μ range,
    μ and scissors checks)."""
    from ..kspace import make_grid

    grid = (make_grid(model, n, offset=offset) if model.is_periodic
            else make_grid(model, n, kind="box", cutoff=cutoff))
    k, _ = grid.points(0, grid.npoints)
    return np.linalg.eigvalsh(model.hamiltonian(k))


def handle_errors(f):
    """Turn input errors into a clean one-line CLI error (exit code 2)."""

    @functools.wraps(f)
    def wrapper(*args, **kwargs):
        try:
            return f(*args, **kwargs)
        except QgeomInputError as exc:
            raise click.UsageError(str(exc)) from None

    return wrapper


def format_table(header: list[str], rows: list[list[Any]], *, floatfmt: str = "{: .6e}") -> str:
    cells = [[floatfmt.format(x) if isinstance(x, (float, np.floating)) else str(x) for x in r] for r in rows]
    widths = [max(len(h), *(len(r[i]) for r in cells)) if cells else len(h) for i, h in enumerate(header)]
    line = "  ".join(h.rjust(w) for h, w in zip(header, widths))
    sep = "  ".join("-" * w for w in widths)
    body = ["  ".join(c.rjust(w) for c, w in zip(r, widths)) for r in cells]
    return "\n".join([line, sep, *body])


def output_path(path: str | None, default: str) -> Path:
    """The NetCDF result file of --out (else `default`): a name without a suffix gets .nc (`--out results/dc_GaAs`,
    as examples/GaAs/README.md writes it); any other suffix is refused, since the file would be NetCDF whatever
    its name says."""
    if not path:
        return Path(default)
    p = Path(path)
    if p.suffix == "" and p.name not in ("", ".", ".."):
        return p.with_name(p.name + ".nc")
    if p.suffix.lower() != ".nc":
        # a format's suffix (.txt, .csv) is replaced in the suggestion; a dot inside a name (run_0.1eV) is kept
        nc = p.with_suffix(".nc") if p.suffix[1:].isalpha() else p.with_name(p.name + ".nc")
        text = p if p.suffix.lower() == ".txt" else nc.with_suffix(".txt")
        raise QgeomInputError(f"--out {path}: results are written as NetCDF, so the name must end in .nc "
                              f"(e.g. --out {nc}); for a plain-text table, convert the result afterwards: "
                              f"qgeom export {nc} --out {text}.")
    return p


def warn_near_degenerate(ds, var: str, over, per, scale_name: str, effect: str, advice) -> None:
    """Warn (stderr) where band pairs below the result's resolution scale change a term by more than
    near_degeneracy.WARN_FRACTION of its scale (docs/near_degeneracy.md): the API's NearDegeneracyWarning
    (ignored by the commands, `safety_options`) with the command line's advice (a text or a function of
    the flagged terms)."""
    from ..near_degeneracy import warning_text

    if f"{var}_near_degenerate" not in ds:
        return
    text = warning_text(ds, var, over, per, scale_name=scale_name, effect=effect, advice=advice)
    if text:
        click.echo(f"warning: {text}", err=True)


def symmetry_footnote(ds) -> str | None:
    """The line under a result table that names the symmetry applied (None without one): the group, the
    crystal's group when it was applied too, full grid or wedge, and what "forbidden" means."""
    import json

    if "forbidden" not in ds:
        return None
    group = json.loads(ds.attrs["symmetry"])
    where = "full grid" if group["wedge_points"] is None else \
        f"{group['wedge_points']} of {group['full_grid_points']} k-points evaluated (irreducible wedge)"
    if group.get("k_sum"):
        where = "no k-sum: every requested component is forbidden, so the result is exact zeros"
    crystal = (f"; the crystal's group {group['crystal_group']} from {group['crystal_structure_from']} too"
               if group.get("crystal_group") else "")
    # whose time reversal: the model's, or a non-magnetic crystal's that the model breaks at a Wannierization's accuracy
    t = group.get("time_reversal", "kept")
    whose = ("kept by the model" if t.startswith("kept") else "of the given group" if t.startswith("given")
             else "of the non-magnetic crystal")
    by_t = (f"; time reversal ({whose}) forbids each kind's Re (injection, Kramers) or Im (shift) part"
            if "forbidden_by_time_reversal" in ds else "")
    return (f"symmetry {group['symmetry_group']} ({group['symmetry_source']}){crystal}{by_t}: {where}; "
            "forbidden: zero by Neumann's principle (--symmetry none: the model's own values).")
