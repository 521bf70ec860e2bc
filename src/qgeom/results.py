"""Results as self-describing xarray Datasets; NetCDF save/load (h5netcdf engine).

Every result carries: the qgeom version, the model description, the grid, the numerical
parameters (temperature, tolerances, …), units and conventions. Nested metadata is stored as
JSON strings (NetCDF attributes are flat); complex variables are stored as `<name>__real` /
`<name>__imag` pairs so that any NetCDF reader can open the file.
"""

from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr

from . import __version__

CONVENTIONS = (
    "e = hbar = 1 internally; carriers of charge +e (Peierls substitution H(k - A)): for electrons, "
    "responses odd in the charge (sigma_abc ~ e^3) change sign; "
    "sum_k = integral d^dk/(2pi)^d per unit cell volume/area/length; "
    "degenerate subspaces |e_n - e_m| < degen_tol treated U(N)-covariantly (see docs/conventions.md)."
)
_JSON_PREFIX = "json:"


def make_result(
    data_vars: dict[str, Any],
    coords: dict[str, Any],
    *,
    model,
    grid,
    parameters: dict[str, Any],
    units: dict[str, str],
    title: str,
    conventions: str = CONVENTIONS,
    extra_attrs: dict[str, Any] | None = None,
) -> xr.Dataset:
    """Assemble a Dataset with full provenance. `units` maps variable/coordinate names to units."""
    ds = xr.Dataset(data_vars, coords=coords)
    for name, unit in units.items():
        if name in ds.variables:
            ds[name].attrs["units"] = unit
    ds.attrs.update(
        {
            "title": title,
            "qgeom_version": __version__,
            "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "conventions": conventions,
            "model": model.describe(),
            "grid": grid.describe() if hasattr(grid, "describe") else grid,
            "parameters": parameters,
        }
    )
    ds.attrs.update(extra_attrs or {})
    return ds


def _encode_attr(value):
    if isinstance(value, (dict, list, tuple)) or value is None or isinstance(value, bool):
        return _JSON_PREFIX + json.dumps(value, default=_json_default)
    return value


def _json_default(o):
    if isinstance(o, np.generic):
        return o.item()
    if isinstance(o, np.ndarray):
        return o.tolist()
    if isinstance(o, complex):
        return [o.real, o.imag]
    raise TypeError(f"cannot store {type(o).__name__} in result metadata")


def _decode_attr(value):
    if isinstance(value, str) and value.startswith(_JSON_PREFIX):
        return json.loads(value[len(_JSON_PREFIX):])
    return value


def save(ds: xr.Dataset, path: str | Path) -> Path:
    """Write a result to NetCDF4 (HDF5) at `path`."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    out = ds.copy()
    for name in list(out.data_vars):
        if np.iscomplexobj(out[name]):
            attrs = dict(out[name].attrs)
            out[f"{name}__real"] = out[name].real.assign_attrs(attrs, complex_part="real")
            out[f"{name}__imag"] = out[name].imag.assign_attrs(attrs, complex_part="imag")
            out = out.drop_vars(name)
    out.attrs = {k: _encode_attr(v) for k, v in ds.attrs.items()}
    for name in out.variables:
        out[name].attrs = {k: _encode_attr(v) for k, v in out[name].attrs.items()}
    out.to_netcdf(path, engine="h5netcdf")
    return path


def load(path: str | Path) -> xr.Dataset:
    """Read a result written by `save`, restoring complex variables and structured metadata."""
    with xr.open_dataset(path, engine="h5netcdf") as f:
        ds = f.load()
    for name in list(ds.data_vars):
        if name.endswith("__real") and name[:-6] + "__imag" in ds:
            base = name[:-6]
            attrs = {k: v for k, v in ds[name].attrs.items() if k != "complex_part"}
            ds[base] = (ds[name] + 1j * ds[base + "__imag"]).assign_attrs(attrs)
            ds = ds.drop_vars([name, base + "__imag"])
    ds.attrs = {k: _decode_attr(v) for k, v in ds.attrs.items()}
    for name in ds.variables:
        ds[name].attrs = {k: _decode_attr(v) for k, v in ds[name].attrs.items()}
    return ds
