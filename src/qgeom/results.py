"""Results as self-describing xarray Datasets, stored as plain NetCDF-4 files.

Every result carries the qgeom version, the model description, the grid, the numerical
parameters (temperature, tolerances, …), units and conventions. Each attribute is a NetCDF
type already in memory, so `ds.to_netcdf(path)` works on any result: strings, numbers and
flat lists stay as they are, structured values (dicts, nested lists, booleans, None) are JSON
text. `metadata(ds)` decodes them. Complex variables (the optical χ) are written as the
complex compound type that h5netcdf and netCDF-C's nc-complex read back as complex numbers.

Reading a result without qgeom::

    import json, xarray as xr
    ds = xr.open_dataset("results/optical.nc")     # complex `chi` comes back complex
    params = json.loads(ds.attrs["parameters"])    # or qgeom.results.metadata(ds)["parameters"]
"""

from __future__ import annotations

import json
from datetime import datetime, timezone
from numbers import Number
from pathlib import Path
from typing import Any, Mapping

import numpy as np
import xarray as xr

from . import __version__
from ._validation import QgeomInputError, did_you_mean

CONVENTIONS = (
    "e = hbar = 1 internally; carriers of charge +e (Peierls substitution H(k - A)): for electrons, "
    "responses odd in the charge (sigma_abc ~ e^3) change sign; "
    "sum_k = integral d^dk/(2pi)^d per unit cell volume/area/length; "
    "degenerate subspaces |e_n - e_m| < degen_tol treated U(N)-covariantly (see docs/conventions.md)."
)
_JSON_LITERALS = ("true", "false", "null")
_LEGACY_PREFIX = "json:"  # attributes of files written by earlier qgeom versions
_HDF5_SIGNATURE = b"\x89HDF\r\n\x1a\n"  # the first bytes of a NetCDF-4 (HDF5) file as qgeom writes it


UNIT_ATTRS = ("units", "units_by_term")  # a variable's units, and per term where the terms differ (Γ-expansions)


def unit_attrs(da: xr.DataArray) -> dict[str, str]:
    """The unit attributes of `da` for a variable derived from it (its error, its near-degenerate part)."""
    return {"units": da.attrs.get("units", ""), **{k: da.attrs[k] for k in UNIT_ATTRS[1:] if k in da.attrs}}


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
    attrs = {
        "title": title,
        "qgeom_version": __version__,
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "conventions": conventions,
        "model": model.describe(),
        "grid": grid.describe() if hasattr(grid, "describe") else grid,
        "parameters": parameters,
        **(extra_attrs or {}),
    }
    ds.attrs = encode_attrs(attrs)
    return ds


def encode_attr(value):
    """`value` as a NetCDF attribute: str, number and flat numeric/str lists unchanged; anything
    else (dict, nested list, bool, None, complex) as JSON text. Raises TypeError for objects
    that have no JSON form."""
    if isinstance(value, (np.generic, np.ndarray)) and value.dtype.kind in "iuf" and np.ndim(value) <= 1:
        return value
    if isinstance(value, str) or (isinstance(value, Number) and not isinstance(value, (bool, complex))):
        return value
    if isinstance(value, (list, tuple)) and value and _flat(value):
        return list(value)
    return json.dumps(value, default=_json_default)


def _flat(seq) -> bool:
    """All numbers (no bools) or all strings: what a NetCDF attribute holds as a 1-D array."""
    if all(isinstance(v, str) for v in seq):
        return True
    return all(isinstance(v, (int, float, np.integer, np.floating)) and not isinstance(v, (bool, np.bool_))
               for v in seq)


def encode_attrs(attrs: Mapping[str, Any]) -> dict[str, Any]:
    """Every value of `attrs` through `encode_attr` (for `ds.attrs = encode_attrs({...})`)."""
    return {k: encode_attr(v) for k, v in attrs.items()}


def _json_default(o):
    if isinstance(o, np.generic):
        return o.item()
    if isinstance(o, np.ndarray):
        return o.tolist()
    if isinstance(o, complex):
        return [o.real, o.imag]
    raise TypeError(f"cannot store {type(o).__name__} in result metadata (use numbers, strings, lists, dicts)")


def decode_attr(value):
    """Inverse of `encode_attr`: JSON objects, arrays and literals become Python values."""
    if isinstance(value, str):
        text = value[len(_LEGACY_PREFIX):] if value.startswith(_LEGACY_PREFIX) else value
        if text[:1] in "{[" and text or text in _JSON_LITERALS:
            try:
                return json.loads(text)
            except ValueError:
                return value
    return value


def metadata(ds: xr.Dataset | xr.DataArray, name: str | None = None):
    """The attributes of a result with the JSON ones decoded: `metadata(ds)["parameters"]["temperature"]`,
    or one attribute: `metadata(ds, "model")["name"]`. Works on files opened with plain xarray."""
    if name is not None:
        if name not in ds.attrs:  # a typo, or a file not written by qgeom: name what there is
            keys = ", ".join(ds.attrs) or "none"
            raise QgeomInputError(f"no attribute {name!r} in this result{did_you_mean(name, ds.attrs)}; available: "
                                  f"{keys}. (Results written by qgeom carry 'model', 'grid' and 'parameters'.)")
        return decode_attr(ds.attrs[name])
    return {k: decode_attr(v) for k, v in ds.attrs.items()}


def netcdf_ready(ds: xr.Dataset) -> xr.Dataset:
    """A shallow copy of `ds` whose dataset and variable attributes are all NetCDF types
    (results made elsewhere, or attributes added by hand as dicts)."""
    out = ds.copy()
    out.attrs = encode_attrs(ds.attrs)
    for name in out.variables:
        out[name].attrs = encode_attrs(out[name].attrs)
    return out


def save(ds: xr.Dataset, path: str | Path, *, overwrite: bool | None = None) -> Path:
    """Write a result to a NetCDF-4 file at `path` (h5netcdf engine; complex variables stay complex)
    and return the path. The file opens with `xr.open_dataset(path)`. Serialized in memory, then
    written atomically (`outputs.write_atomic`): a failed write leaves an existing file unchanged.
    `overwrite`: None = replace an existing file in the Python API, refuse in CLI commands unless
    --overwrite was given (`outputs.overwrite_policy`). A SIGTERM/SIGHUP of the CLI that lands meanwhile waits
    until the file is written (`outputs.signals_deferred`): a finished result is not lost to a late kill."""
    from .outputs import signals_deferred, write_atomic

    with signals_deferred():
        return write_atomic(path, bytes(netcdf_ready(ds).to_netcdf(engine="h5netcdf")), overwrite=overwrite)


def load(path: str | Path) -> xr.Dataset:
    """Read a result into memory: the same Dataset the API returned (attributes as stored; decode
    them with `metadata`). Files of earlier qgeom versions (`<name>__real`/`<name>__imag` pairs, `json:`
    attributes) are converted."""
    with xr.open_dataset(path, engine=_engine(path)) as f:
        ds = f.load()
    for name in list(ds.data_vars):
        if name.endswith("__real") and name[:-6] + "__imag" in ds:
            base = name[:-6]
            attrs = {k: v for k, v in ds[name].attrs.items() if k != "complex_part"}
            ds[base] = (ds[name] + 1j * ds[base + "__imag"]).assign_attrs(attrs)
            ds = ds.drop_vars([name, base + "__imag"])
    return netcdf_ready(_normalize_attrs(ds))


def _engine(path: str | Path) -> str:
    """xarray's reader for the file: h5netcdf for NetCDF-4 (what qgeom writes), scipy for a NetCDF-3 file
    (signature "CDF": e.g. a result re-saved by a tool that writes the classic format), which h5netcdf refuses
    with a bare "file signature not found"."""
    path = Path(path)
    if not path.is_file():  # before h5py's bare FileNotFoundError / IsADirectoryError
        what = "is a directory, not a file" if path.is_dir() else "no such file"
        raise QgeomInputError(f"cannot load {str(path)!r}: {what}; pass the path of a result file written by "
                              "qgeom.results.save (or a command's --out).")
    with open(path, "rb") as fh:
        head = fh.read(8)
    if head[:3] == b"CDF":
        return "scipy"
    if head != _HDF5_SIGNATURE:  # h5py would answer "file signature not found" from deep in its reader
        raise QgeomInputError(f"cannot load {str(path)!r}: not a NetCDF file (its first bytes are {head[:8]!r}); "
                              "qgeom results are NetCDF-4 files written by qgeom.results.save.")
    return "h5netcdf"


def _fix_attr(value):
    """Array attributes back to the lists the API wrote; legacy `json:` prefixes removed."""
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, str) and value.startswith(_LEGACY_PREFIX):
        return value[len(_LEGACY_PREFIX):]
    return value


def _normalize_attrs(ds: xr.Dataset) -> xr.Dataset:
    def fix(attrs):
        return {k: _fix_attr(v) for k, v in attrs.items()}

    ds.attrs = fix(ds.attrs)
    for name in ds.variables:
        ds[name].attrs = fix(ds[name].attrs)
    return ds
