"""Grid convergence of a k-integrated result: rerun on denser grids, report the change per term."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import xarray as xr

from .._validation import QgeomInputError, data_variable


ZERO_FLOOR = 1e-10  # terms below this fraction of the largest one are zeros (symmetry), not data


def relative_change(coarse: xr.DataArray, fine: xr.DataArray, over: str = "mu") -> xr.DataArray:
    """max over `over` of |fine − coarse| / max over `over` of |fine|; terms that vanish (below
    ZERO_FLOOR × the largest |fine| of the whole result, e.g. a symmetry-forbidden BCD) report 0."""
    scale = abs(fine).max(over)
    diff = abs(fine - coarse).max(over)
    floor = ZERO_FLOOR * float(abs(fine).max())
    return xr.where(scale > floor, diff / scale.where(scale > floor, 1.0), 0.0)


def _for_grid(kwargs: dict, grid) -> dict:
    """`checkpoint=DIR`: one sub-directory per grid (DIR/grid_100x100), since a checkpoint holds one calculation
    (the second grid was refused by the first grid's checkpoint)."""
    if kwargs.get("checkpoint") is None:
        return kwargs
    label = "x".join(str(n) for n in np.ravel(grid))
    return {**kwargs, "checkpoint": Path(kwargs["checkpoint"]) / f"grid_{label}"}


def converge(run: Callable[..., xr.Dataset], grids: Sequence, *, variable: str = "sigma", **kwargs) -> xr.Dataset:
    """Run `run(grid=g, **kwargs)` for successively denser `grids`; return the densest result with
    `convergence[grid, …]`: the relative change of `variable` from the previous grid (per term,
    mechanism, component; max over μ), and attrs naming the grids. `checkpoint=DIR` keeps each grid's chunks
    in DIR/grid_<N1xN2...>."""
    if len(grids) < 2:
        raise QgeomInputError("converge needs at least two grids, coarse to fine.")
    if "grid" in kwargs:  # converge sets grid= itself, once per entry of `grids`
        raise QgeomInputError(f"converge sets grid= from `grids`; drop grid={kwargs['grid']!r} from the keywords and "
                              f"list every grid in `grids`.")
    results = [run(grid=grids[0], **_for_grid(kwargs, grids[0]))]
    # the variables are known only from a result: check the name on the first (coarsest) one, not after all grids
    data_variable(results[0], variable, "converge")
    results += [run(grid=g, **_for_grid(kwargs, g)) for g in grids[1:]]
    changes = [relative_change(a[variable], b[variable]) for a, b in zip(results[:-1], results[1:])]
    labels = [str(g) for g in grids[1:]]
    conv = xr.concat(changes, dim="grid").assign_coords(grid=labels)
    final = results[-1].copy()
    final["convergence"] = conv
    final["convergence"].attrs["description"] = (
        "max_mu |sigma(grid) - sigma(previous grid)| / max_mu |sigma(grid)|; grids: "
        + " -> ".join(str(g) for g in grids)
    )
    final.attrs["convergence_grids"] = [str(g) for g in grids]
    final.attrs["convergence_max"] = float(np.nanmax(conv.values))
    return final
