"""Plain-text export of any result Dataset: commented header (provenance, units, conventions) + tables.

Layout: `#` header lines (title, qgeom version, creation time, conventions, model, grid,
parameters, one line per variable with its dims and unit), then one table per group of data
variables that share dimensions: a `# table: ...` line, a `# col1 col2 ...` column line, and
whitespace-separated rows, one per point of the flattened grid (last dimension fastest). Complex
variables give `<name>.re` and `<name>.im` columns. Labels with spaces are written with `_`.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import xarray as xr

from . import __version__


def _fmt_attr(value) -> str:
    if isinstance(value, (dict, list, tuple)):
        return json.dumps(value, default=lambda o: o.tolist() if hasattr(o, "tolist") else str(o))
    return str(value)


def _cell(x) -> str:
    if isinstance(x, (float, np.floating)):
        return f"{x: .10e}"
    if isinstance(x, (int, np.integer)):
        return str(int(x))
    return str(x).replace(" ", "_") or "-"


def header_lines(ds: xr.Dataset) -> list[str]:
    lines = [f"# {ds.attrs.get('title', 'qgeom result')}",
             f"# written by qgeom {__version__} (result produced by qgeom {ds.attrs.get('qgeom_version', '?')}"
             f", created {ds.attrs.get('created', '?')})"]
    for key in ("conventions", "model", "grid", "parameters"):
        if key in ds.attrs:
            lines.append(f"# {key}: {_fmt_attr(ds.attrs[key])}")
    for key, val in ds.attrs.items():
        if key not in ("title", "qgeom_version", "created", "conventions", "model", "grid", "parameters"):
            lines.append(f"# {key}: {_fmt_attr(val)}")
    lines.append("# variables:")
    for name in list(ds.data_vars) + [c for c in ds.coords if c not in ds.dims]:
        da = ds[name]
        kind = "complex" if np.iscomplexobj(da) else str(da.dtype)
        unit = da.attrs.get("units", "-")
        if "units_by_term" in da.attrs:  # a Γ-expansion: the Drude and BCD coefficients carry energy^n more
            by_term = json.loads(da.attrs["units_by_term"])
            unit = f"{unit}; by term: " + ", ".join(f"{t} {u}" for t, u in by_term.items())
        lines.append(f"#   {name}({', '.join(da.dims)}) [{unit}] {kind}")
    for dim in ds.dims:
        unit = ds[dim].attrs.get("units", "-") if dim in ds.coords else "-"
        lines.append(f"#   dim {dim}: {ds.sizes[dim]} values [{unit}]")
    return lines


def _table(ds: xr.Dataset, names: list[str]) -> list[str]:
    dims = list(ds[names[0]].dims)
    coords = [ds[d].values if d in ds.coords else np.arange(ds.sizes[d]) for d in dims]
    extra = [c for c in ds.coords if c not in ds.dims and set(ds[c].dims) <= set(dims) and ds[c].dims]
    cols = list(dims) + extra
    arrays = []
    for name in names:
        vals = ds[name].transpose(*dims).values.reshape(-1)
        if np.iscomplexobj(vals):
            cols += [f"{name}.re", f"{name}.im"]
            arrays += [vals.real, vals.imag]
        else:
            cols.append(name)
            arrays.append(vals)
    idx = np.indices([ds.sizes[d] for d in dims]).reshape(len(dims), -1) if dims else np.zeros((0, 1), int)
    extra_vals = [ds[c].broadcast_like(ds[names[0]]).transpose(*dims).values.reshape(-1) for c in extra]
    out = [f"# table: {', '.join(names)} over ({', '.join(dims) or 'scalar'})", "# " + "  ".join(cols)]
    for p in range(idx.shape[1]):
        row = [_cell(coords[i][idx[i, p]]) for i in range(len(dims))]
        row += [_cell(v[p]) for v in extra_vals]
        row += [_cell(a[p]) for a in arrays]
        out.append("  ".join(row))
    return out


def to_text(ds: xr.Dataset, path: str | Path | None = None) -> str:
    """The result as commented plain text; also written to `path` when given."""
    groups: dict[tuple, list[str]] = {}
    for name in ds.data_vars:
        groups.setdefault(tuple(ds[name].dims), []).append(name)
    lines = header_lines(ds)
    for names in groups.values():
        lines.append("#")
        lines += _table(ds, names)
    text = "\n".join(lines) + "\n"
    if path is not None:
        from .outputs import write_atomic

        write_atomic(path, text.encode())
    return text
