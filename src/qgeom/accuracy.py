"""Discretization-error estimates of k-sums, carried by every result.

`kspace.integrate(..., subgrid=True)` returns, from the same pass, the k-sum over a coarse
sub-grid (every 2nd or 3rd point along each axis, see `kspace`). The estimate stored as
`<var>_error` is

    error = |X(grid) − X(coarse sub-grid)|,

the discretization error of the coarse grid. For a k-sum that converges (algebraically, as
Fermi-surface terms at finite kT do, or exponentially, as smooth periodic integrands do) the
fine grid's error is smaller, so `error` is an upper estimate: it equals (s^p − 1) × the fine
error for an error ∝ n^−p, and is far larger than the fine error once the sum converges
exponentially. It cannot see features that neither grid resolves (a Fermi surface thinner than
both spacings looks converged to nobody) — but then the two grids disagree wildly, which is what
the warning catches: the kT = 1e-5 Drude term of pt_tilted_4band at 300² differs from its 150²
sub-grid value by orders of magnitude.

The relative error of a term (a DC term and mechanism, an optical kind, a geometric quantity) is
its largest error over the other axes (components, μ, ω, bands) divided by its largest |X|
there, floored at `FLOOR` × the largest |X| of the variable and at `ABS_ZERO` in model units (a
term that is rounding noise everywhere — a symmetry-forbidden response, a chemical potential in a
gap — has no relative error to report: its estimate is the noise over the noise), and a term
below `ZERO_FRACTION` of the variable's largest |X| (a symmetry zero of the grid, e.g. every T-odd
term of a non-magnetic crystal, which the less symmetric sub-grid need not reproduce) reports 0.
Judging a term against its largest component matters where the sub-grid is less symmetric than the grid (Monkhorst–Pack counts with
no factor 3, see `kspace`): a symmetry-forbidden component is exactly zero on the grid but not on
the shifted sub-grid, and its estimate is then the size of the discretization error of that
integrand — meaningful next to the term's allowed components, meaningless next to zero. Above
`tol` an `AccuracyWarning` names the worst term.
"""

from __future__ import annotations

import contextlib
import contextvars
import warnings
from collections.abc import Iterator, Sequence

import numpy as np
import xarray as xr

from ._validation import QgeomInputError, user_stacklevel
from .results import decode_attr, encode_attr, unit_attrs

DEFAULT_ERROR_TOL = 0.05
FLOOR = 1e-6
ZERO_FRACTION = 1e-10  # a term below this fraction of the variable's largest |X| is a numerical zero
ABS_ZERO = 1e-14  # model units (e = ħ = 1): far below any real second-order response, far above rounding
_TOL = contextvars.ContextVar("qgeom_error_tol", default=DEFAULT_ERROR_TOL)  # the CLI's --error-tol


class AccuracyWarning(UserWarning):
    """The estimated k-grid discretization error of a result exceeds the tolerance."""


@contextlib.contextmanager
def tolerance_policy(tol: float) -> Iterator[None]:
    """Within the block, results computed with error_tol=None use `tol`."""
    token = _TOL.set(error_tolerance(tol))
    try:
        yield
    finally:
        _TOL.reset(token)


def error_tolerance(tol) -> float:
    """A relative tolerance: a number > 0 (inf disables the warning); NaN and ≤ 0 are refused.
    None: the current default (DEFAULT_ERROR_TOL, or the CLI's --error-tol)."""
    if tol is None:
        return _TOL.get()
    try:
        val = float(tol)
    except (TypeError, ValueError):
        raise QgeomInputError(f"error_tol must be a positive number (relative error, e.g. 0.05), got {tol!r}.") from None
    if not val > 0:  # also NaN
        raise QgeomInputError(f"error_tol must be a positive number (relative error, e.g. 0.05), got {tol!r}.")
    return val


def relative_error(value: xr.DataArray, error: xr.DataArray, over: Sequence[str],
                   unit_factor: float = 1.0) -> xr.DataArray:
    """max over `over` of error / max over `over` of |value| (floored, see module docstring);
    `unit_factor`: the value's unit in model units (SI results), for the absolute floor."""
    over = [d for d in over if d in value.dims]
    mag = np.abs(value)
    scale = mag.max(over) if over else mag
    largest = float(mag.max())
    floor = max(FLOOR * largest, ABS_ZERO * abs(unit_factor), np.finfo(float).tiny)
    worst = error.max(over) if over else error
    # a term that is a numerical zero next to the variable's largest (a T-odd term of a non-magnetic
    # crystal) is a symmetry zero of the grid; the sub-grid may lack that symmetry (an even
    # Monkhorst–Pack grid's every-2nd-point sub-grid is not k → −k symmetric): no relative error
    return (worst / np.maximum(scale, floor)).where(scale > ZERO_FRACTION * largest, 0.0)


def _record(ds: xr.Dataset, name: str, info: dict) -> None:
    """ds.attrs["error_estimate"]: {variable: summary} (JSON text, like every structured attribute)."""
    summary = decode_attr(ds.attrs.get("error_estimate", "{}"))
    ds.attrs["error_estimate"] = encode_attr({**summary, name: info})


def _with_factor_three(shape) -> str:
    """The Monkhorst-Pack counts nearest to `shape` that have a factor 3 (their sub-grid of every 3rd point keeps
    the shift and every symmetry of the grid, `kspace`), e.g. "24 or 18" for 20: the remedy that keeps the grid
    off the planes through Γ."""
    n = int(max(shape))
    up, down = 3 * -(-n // 3), 3 * (n // 3)
    up, down = (up + 3 if up % 2 else up), (down - 3 if down % 2 else down)  # even: the MP grid stays off Γ
    return f"{up} or {down}" if down > 3 else f"{up}"


def attach_error(ds: xr.Dataset, name: str, coarse: np.ndarray | None, *, grid, tol: float,
                 over: Sequence[str] = (), method: str | None = None, advice: str = "",
                 exact: str | None = None) -> xr.Dataset:
    """Add `<name>_error` (same dims and units as `name`) and the `error_estimate` attribute;
    warn (AccuracyWarning) when the relative error exceeds `tol`. `coarse`: the variable
    evaluated from the coarse sub-grid sum (None when the grid has no sub-grid), or — with
    `method` saying so — from another less accurate sum (the result before the last refinement level).
    `advice`: a response's own remedy, added to the warning's. `exact`: why the value has no grid error
    (e.g. zeros by symmetry, no k-sum): the error is 0 and that reason is recorded."""
    shape = list(grid.shape)
    if exact is not None:
        ds[f"{name}_error"] = (ds[name].dims, np.zeros(ds[name].shape))
        ds[f"{name}_error"].attrs.update({**unit_attrs(ds[name]), "definition": exact,
                                          "long_name": f"estimated k-grid discretization error of {name}"})
        _record(ds, name, {"method": exact, "variable": f"{name}_error", "grid": shape, "tolerance": tol,
                           "max_relative_error": 0.0})
        return ds
    strides = list(grid.strides)
    if coarse is None:
        why = ("no axis has a count n with a divisor s of 2, 3, 5 or 7 below it (n > s: e.g. 4, 6, 9, 10, 14), the "
               "coarse sub-grid of every s-th point" if np.prod(strides) == 1 else
               "the symmetry group does not keep the coarse sub-grid of this Monkhorst-Pack grid (even counts without a "
               f"factor 3): use counts with a factor 3 (e.g. {_with_factor_three(shape)}: a stride-3 sub-grid, same shift), "
               "offset='gamma' (--offset gamma) or odd counts with symmetry=, or symmetry=None; Gamma-centred and odd grids "
               "put k-points on the planes through Gamma, where band touchings such as Weyl nodes often lie)")
        _record(ds, name, {"method": f"unavailable: {why}", "grid": shape, "tolerance": tol})
        # nothing has checked this grid: a result that may be far from converged must not look like one that is
        warnings.warn(f"{name}: no k-grid error estimate for the {shape} grid ({why}); its convergence is unchecked "
                      "— compare with a denser grid (qgeom.dc.converge) or choose counts that have a sub-grid.",
                      AccuracyWarning, stacklevel=user_stacklevel())
        return ds
    value = ds[name]
    err = np.abs(value.values - np.asarray(coarse))
    ds[f"{name}_error"] = (value.dims, err)
    ds[f"{name}_error"].attrs.update({
        **unit_attrs(value),
        "long_name": f"estimated k-grid discretization error of {name}",
        "definition": "|value(grid) - value(coarse sub-grid)|: the coarse grid's error, an upper estimate of the grid's"
        if method is None else f"|value - value before the last refinement level|: {method}",
    })
    factor = decode_attr(ds.attrs.get("parameters", "{}")).get("unit_factor", 1.0) or 1.0
    rel = relative_error(value, ds[f"{name}_error"], over, float(factor))
    worst = float(rel.max())
    where = {d: str(rel[d].values[i]) for d, i in zip(rel.dims, np.unravel_index(int(np.argmax(rel.values)), rel.shape))} \
        if rel.ndim else {}
    coarse_shape = [n // s for n, s in zip(shape, strides)]
    _record(ds, name, {
        "method": method or "coarse sub-grid in the same pass (qgeom.accuracy)", "variable": f"{name}_error",
        "grid": shape, "coarse_grid": None if method else coarse_shape, "tolerance": tol,
        "max_relative_error": worst, "worst": where, "relative_to": f"max |{name}| over {list(over)}",
    })
    if worst > tol:
        label = "".join(f", {k}={v}" for k, v in where.items())
        warnings.warn(
            f"{name}: estimated k-grid discretization error {worst:.2g} (relative{label}) exceeds "
            f"error_tol={tol:g}: " + (f"the {shape} grid and its {coarse_shape} sub-grid disagree" if method is None
                                        else f"estimated by the {method}") + ". Refine the grid "
            f"(or raise kT/broadening{advice}); see {name}_error.", AccuracyWarning, stacklevel=user_stacklevel())
    return ds
