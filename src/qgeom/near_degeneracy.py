"""The near-degeneracy diagnostic of a response (docs/near_degeneracy.md).

Responses group pairs closer than their resolution scale into one subspace (`bands.regrouped`);
`near_degenerate_variable` records what the ungrouped pairs would have added, and
`near_degenerate_fraction` reduces it to max |near| / max |σ| per term for warnings.
"""

from __future__ import annotations

import numpy as np
import xarray as xr

# above this fraction of a term's scale the CLI warns that the result depends on unresolved pairs
WARN_FRACTION = 0.1


def near_degenerate_variable(sigma: xr.DataArray, near: np.ndarray, tol: float) -> xr.DataArray:
    """DataArray like `sigma` with the part that pairs closer than `tol` carry when not grouped."""
    return xr.DataArray(np.asarray(near), dims=sigma.dims, coords=sigma.coords, attrs={
        "units": sigma.attrs.get("units", ""),
        "long_name": "ungrouped minus grouped contribution of band pairs closer than the resolution",
        "resolution": float(tol),
        "meaning": "pairs with |e_n - e_m| < resolution are summed as one subspace (the Gamma >> splitting "
                   "limit); this is what their 1/splitting^k interband terms would add instead. Large "
                   "values: the result depends on Gamma/splitting beyond the expansion.",
    })


def near_degenerate_fraction(ds: xr.Dataset, var: str = "sigma", over=("component", "mu")) -> xr.DataArray:
    """max |near| / max |σ| over `over` (per remaining dims, e.g. mechanism × term); inf where σ = 0."""
    near = ds[f"{var}_near_degenerate"]
    dims = [d for d in over if d in near.dims]
    scale = abs(ds[var]).max(dims)
    return abs(near).max(dims) / scale.where(scale > 0)
