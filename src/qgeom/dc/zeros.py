"""Numerical zeros of a DC result: values that are rounding noise of the k-sum, not physics.

A symmetry-forbidden component (e.g. σ_yxx of a model with a mirror x → −x) comes out as
~1e-19 of the allowed ones instead of 0: the k-sum of contributions that cancel pairwise keeps
the float64 rounding of each. A value counts as a numerical zero when

- |σ| ≤ `REL_ZERO` × the largest |σ| of the same term (and mechanism, Γ) over all components
  and μ of the result, or
- |σ| ≤ `ABS_ZERO` in model units (e = ħ = 1, the model's energy and length units; SI values
  are divided by the stored `unit_factor` first): in eV/Å units a real second-order response
  is many orders above 1e-14.

Both thresholds are far above rounding (1e-16 relative) and far below any converged response.
"""

from __future__ import annotations

import numpy as np
import xarray as xr

from ..accuracy import ABS_ZERO
from ..results import metadata

REL_ZERO = 1e-10
_SPREAD_DIMS = ("component", "mu")


def numerical_zeros(ds: xr.Dataset, variable: str = "sigma") -> xr.DataArray:
    """Boolean mask over `ds[variable]`: True where the value is a numerical zero (see module doc)."""
    da = ds[variable]
    mag = np.abs(da)
    scale = mag.max(dim=[d for d in _SPREAD_DIMS if d in da.dims])
    factor = float(metadata(ds).get("parameters", {}).get("unit_factor", 1.0) or 1.0)
    return (mag <= REL_ZERO * scale) | (mag <= ABS_ZERO * abs(factor))


def zero_note(ds: xr.Dataset, mask: xr.DataArray, variable: str = "sigma") -> str | None:
    """One line explaining the `~0` cells of a table, with the largest value so labelled."""
    if not bool(mask.any()):
        return None
    largest = float(np.abs(ds[variable].where(mask)).max())
    if largest == 0.0:  # exact zeros only (a term a mechanism does not have): "0" says it all
        return None
    return (f"~0: numerical zero (|sigma| <= {REL_ZERO:g} x the largest |sigma| of that term in this run, or "
            f"<= {ABS_ZERO:g} in model units); largest such |sigma| = {largest:.1e}; exact values are in the file.")


def label(value: float, is_zero: bool):
    """A table cell: the number, or "~0" / "0" for a numerical / exact zero."""
    if not is_zero:
        return value
    return "0" if value == 0 else "~0"
