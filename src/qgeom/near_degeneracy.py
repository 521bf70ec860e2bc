"""The near-degeneracy diagnostic of a response (docs/near_degeneracy.md).

Responses group pairs closer than their resolution scale into one subspace (`bands.regrouped`):
`grouped_sums` evaluates a chunk's sums grouped and keeps what the ungrouped pairs would have added
(`near:` keys, separated again by `split_near`); `near_degenerate_variable` stores it in the result,
`near_degenerate_fraction` reduces it to max |near| / max |σ| per term, `flag_near_degenerate` stores
that fraction in the result and issues a `NearDegeneracyWarning` for the terms above WARN_FRACTION
(`large_fractions`: the same list for the command line's own warning line). One implementation for the
DC expansion (the current and other observables) and the optical responses.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable

import numpy as np
import xarray as xr

from ._validation import user_stacklevel
from .accuracy import ZERO_FRACTION
from .bands import Bands, resolved_tol
from .kspace import add_sums
from .units import energy_unit_ev
from .results import unit_attrs

# above this fraction of a term's scale the result warns that it depends on unresolved pairs
WARN_FRACTION = 0.1


class NearDegeneracyWarning(UserWarning):
    """Band pairs closer than a result's resolution scale change one of its terms by more than
    WARN_FRACTION of the term's scale: the result depends on how those pairs are treated."""


NEAR = "near:"
# what the pairs closer than a DC expansion's resolution do to a term, grouped or reported ungrouped
NEAR_EFFECT = "change (ungrouped - grouped)"


def grouped_sums(sums: Callable[..., dict], b: Bands, w: np.ndarray, tol: float, *,
                 scale: float | None = None, lower: float | None = None, touched: bool = False,
                 both: Callable[..., tuple[dict, dict] | None] | None = None) -> dict:
    """sums(b, w) (a chunk's weighted sums over its k-points, weights w) with pairs closer than `tol`
    grouped, plus `near:NAME` for every NAME: ungrouped − grouped over the pairs whose splitting lies
    between two tolerances — what they carry through their interband terms. `scale` None (DC): between
    b's own degeneracy tolerance (or `lower`, if larger: the ungrouped side is then grouped below it) and
    `tol` (the pairs the result groups); `scale` given (optics: the broadening): between `tol` and
    max(tol, scale) (pairs the result keeps apart although they are below that scale). No `near:` keys when
    the window is empty; zeros for a chunk without such pairs (one evaluation). The two differ only at the
    k-points with a pair in the window: both groupings are evaluated there and the kept one on the other
    k-points (`Bands.subset`; nk + changed k-points in all), unless that is more than half of the chunk (then
    the other grouping of the whole chunk is cheaper).
    `touched=True` (with `scale`: the optics): sums whose terms are sums over transitions n → m in which
    grouping a pair changes only the transitions from or to its states (the optical numerators: A, F, O^D and
    the brackets change only in the rows and columns of a regrouped pair) — the difference is then evaluated
    at those k-points and over those transitions only: the ungrouped side from the evaluation of the whole
    chunk, sums(b, w, first=[nk, N] bool of the states whose subspace the grouping changes) → (sums, their
    part over the transitions from or to those states), the grouped side as sums(b, w, only=the same states)
    at those k-points. `both` (DC): both(fine, coarse, w, changed k-points) → (the coarse grouping's sums,
    ungrouped − grouped), both from one evaluation of the chunk, or None where it cannot (then as above)."""
    lo, hi = (max(b.degen_tol, lower or 0.0), tol) if scale is None else (tol, max(tol, scale))
    fine = b.regrouped(max(lo, b.degen_tol))
    if hi <= lo:
        return sums(fine, w)
    if touched and scale is not None:
        flags = fine.regrouping_touches(hi)
        changed = np.flatnonzero(flags.any(axis=1))
        if len(changed):
            # the whole chunk ungrouped, and its part over the touched transitions; then the grouped side over
            # those transitions alone (a subset made after the whole chunk's evaluation slices its rotated
            # matrix elements)
            kept, ungrouped = sums(fine, w, first=flags)
            grouped = sums(fine.subset(changed).regrouped(hi), w[changed], only=flags[changed])
            kept.update({NEAR + name: ungrouped[name] - grouped[name] for name in list(grouped)})
            return kept
    changed = np.flatnonzero(fine.regrouping_changes(hi))
    coarse = fine.regrouped(hi) if len(changed) else fine  # no pair between lo and hi: the same subspaces
    got = both(fine, coarse, w, changed) if both is not None and scale is None and len(changed) else None
    if got is not None:
        kept, near = got
        kept.update({NEAR + name: x for name, x in near.items()})
        return kept
    if len(changed) == 0:  # no pair in the window: nothing to group
        kept = sums(fine if scale is not None else coarse, w)
        kept.update({NEAR + name: np.zeros_like(x) for name, x in list(kept.items())})
        return kept
    if 2 * len(changed) <= b.nk:  # both groupings on those k-points only; the kept one's also on the others
        sub = fine.subset(changed)
        ungrouped, grouped = sums(sub, w[changed]), sums(sub.regrouped(hi), w[changed])
        kept = dict(ungrouped if scale is not None else grouped)
        rest = np.setdiff1d(np.arange(b.nk), changed)
        if len(rest):  # the kept grouping on the other k-points, built as on the changed ones
            other = fine.subset(rest)
            kept = add_sums(kept, sums(other if scale is not None else other.regrouped(hi), w[rest]))
    else:
        kept = sums(fine if scale is not None else coarse, w)
        other = sums(coarse if scale is not None else fine, w)
        ungrouped, grouped = (kept, other) if scale is not None else (other, kept)
    kept.update({NEAR + name: ungrouped[name] - grouped[name] for name in list(grouped)})
    return kept


# The band splitting (eV) below which the DC expansion's Γ⁻² and Γ⁻¹ coefficients group a pair by default
# in a model with physical energy units (a Wannier model): the accuracy of Wannier-interpolated bands, below
# which a splitting is not the material's — a Wannierization splits Kramers and PT pairs by ~1e-4 eV, and
# those pairs would otherwise carry T-odd residuals larger than a 50 meV Zeeman term's response (GaAs,
# docs/near_degeneracy.md) — and below any realistic Γ (1 meV: τ = 0.66 ps)
BAND_ACCURACY_EV = 1e-3


def dc_tolerances(model, degen_tol: float, temperature: float, resolution: float | None) -> tuple[float, float, bool]:
    """(fine, coarse, split) grouping tolerances of the DC expansion: `resolution` None (the default) groups
    the Γ⁻² and Γ⁻¹ terms below fine = min(kT, BAND_ACCURACY_EV) (models in eV, meV; degen_tol for models in
    their own units, whose splittings are exact) and the Γ⁰ terms below coarse = kT (split: the first are
    reported ungrouped between the two, `split_near(resolved=)`); an explicit resolution groups every term
    below it (fine = degen_tol: the diagnostic window starts there)."""
    if resolution is not None:
        return float(degen_tol), resolved_tol(degen_tol, resolution), False
    return resolved_tol(degen_tol, min(temperature, band_accuracy(model))), resolved_tol(degen_tol, temperature), True


def band_accuracy(model) -> float:
    """BAND_ACCURACY_EV in the model's energy unit; 0 for a model in its own units, whose splittings are exact."""
    unit = energy_unit_ev(model)
    return 0.0 if unit is None else BAND_ACCURACY_EV / unit


def optical_tolerance(model, degen_tol: float, broadening: float, resolution: float | None) -> float:
    """Grouping tolerance of the optical responses: `resolution` None (the default) groups the pairs closer
    than min(broadening, BAND_ACCURACY_EV) (models in eV, meV; degen_tol for models in their own units), as
    the DC expansion's Γ⁻² and Γ⁻¹ terms: the sum-over-states numerators carry 1/Δ and 1/Δ² of every pair,
    so a Wannierization's ~1e-4 eV splittings of Kramers pairs would dominate the spectrum (GaAs shift
    current on 20³: ~1000 µA/V² at 3.5 eV kept apart, 30 µA/V² grouped below 1 meV; docs/near_degeneracy.md).
    An explicit resolution groups below it."""
    if resolution is not None:
        return resolved_tol(degen_tol, resolution)
    return resolved_tol(degen_tol, min(broadening, band_accuracy(model)))


def split_near(raw: dict, resolved=()) -> tuple[dict, dict]:
    """Summed chunk results → (the sums reported, their `near:` parts under the same names; {} if none).
    The sums reported are the grouped ones, except those named in `resolved`: grouped + near, i.e. the
    ungrouped sums (a response that resolves some of its terms down to degen_tol and groups the others)."""
    near = {k[len(NEAR):]: v for k, v in raw.items() if k.startswith(NEAR)}
    return {k: v + near[k] if k in resolved and k in near else v
            for k, v in raw.items() if not k.startswith(NEAR)}, near


def near_degenerate_variable(sigma: xr.DataArray, near: np.ndarray, tol: float,
                             resolved_terms=(), lower: float = 0.0) -> xr.DataArray:
    """DataArray like `sigma` with the part that pairs closer than `tol` (and not closer than `lower`)
    carry when not grouped (`resolved_terms`: the terms the result reports ungrouped down to `lower`,
    whose value includes that part)."""
    resolved = (f" The terms {', '.join(resolved_terms)} are reported grouped only below lower_resolution "
                "(this part included); the others grouped below resolution." if resolved_terms else "")
    return xr.DataArray(np.asarray(near), dims=sigma.dims, coords=sigma.coords, attrs={
        **unit_attrs(sigma),
        "long_name": "ungrouped minus grouped contribution of band pairs closer than the resolution",
        "resolution": float(tol),
        "lower_resolution": float(lower),
        "resolved_terms": ",".join(resolved_terms),
        "meaning": "grouped: pairs with |e_n - e_m| < resolution summed as one subspace (the Gamma >> splitting "
                   "limit); this is what their 1/splitting^k interband terms add instead. Large values: the "
                   "result depends on Gamma/splitting beyond the expansion." + resolved,
    })


def near_degenerate_fraction(ds: xr.Dataset, var: str = "sigma", over=("component", "mu")) -> xr.DataArray:
    """max |near| / max |σ| over `over` (per remaining dims, e.g. mechanism × term). A term that is a
    numerical zero (below accuracy.ZERO_FRACTION of the variable's largest |σ|, e.g. a symmetry zero)
    is measured against that floor, so its rounding noise is no fraction; inf where σ is 0 throughout
    and its near-degenerate part is not."""
    near = ds[f"{var}_near_degenerate"]
    dims = [d for d in over if d in near.dims]
    size = abs(ds[var])
    scale = np.maximum(size.max(dims), ZERO_FRACTION * float(size.max()))
    worst = abs(near).max(dims)
    frac = xr.where(scale > 0, worst / scale.where(scale > 0), xr.where(worst > 0, np.inf, 0.0))
    frac.attrs = {}  # a ratio: none of σ's unit attributes (units_by_term) carried over by the arithmetic
    return frac


def flag_near_degenerate(ds: xr.Dataset, var: str, over, per, *, scale_name: str, effect: str,
                         advice: str | Callable[[list[str]], str]) -> xr.Dataset:
    """Store `{var}_near_degenerate_fraction` (dims `per`: max |near| / max |σ| over `over`) and warn
    (NearDegeneracyWarning, `warning_text`) naming the terms above WARN_FRACTION: a result whose validity
    depends on pairs closer than its resolution says so in the Dataset and on the terminal."""
    frac = near_degenerate_fraction(ds, var, over)
    ds[f"{var}_near_degenerate_fraction"] = frac.assign_attrs(
        long_name=f"max |{var}_near_degenerate| / max |{var}| over "
                  f"{', '.join(d for d in over if d in ds[var].dims)}",
        units="1", warn_above=WARN_FRACTION,
        meaning=f"above {WARN_FRACTION:g} the term depends on band pairs closer than "
                f"{scale_name} ({var}_near_degenerate; docs/near_degeneracy.md)")
    text = warning_text(ds, var, over, per, scale_name=scale_name, effect=effect, advice=advice)
    if text:
        warnings.warn(text, NearDegeneracyWarning, stacklevel=user_stacklevel())
    return ds


def warning_text(ds: xr.Dataset, var: str, over, per, *, scale_name: str, effect: str,
                 advice: str | Callable[[list[str]], str]) -> str | None:
    """The near-degeneracy warning of a result (None when no term exceeds WARN_FRACTION): the flagged
    terms and `advice` (a text, or a function of the flagged list) — the API's NearDegeneracyWarning and,
    with the command line's advice, its warning line."""
    big = large_fractions(ds, var, over, per)
    if not big:
        return None
    resolution = ds[f"{var}_near_degenerate"].attrs["resolution"]
    return (f"band pairs closer than {scale_name} {resolution:g} {effect} these terms by more than "
            f"{WARN_FRACTION:g} of their scale: {', '.join(big)}. "
            f"{advice(big) if callable(advice) else advice} (see {var}_near_degenerate, docs/near_degeneracy.md).")


def large_fractions(ds: xr.Dataset, var: str, over, per) -> list[str]:
    """'label: fraction' for each combination of the `per` dims whose near-degenerate fraction
    (over `over`; the stored `{var}_near_degenerate_fraction` when the result has it) exceeds
    WARN_FRACTION: the warning's list."""
    stored = ds.get(f"{var}_near_degenerate_fraction")
    frac = stored if stored is not None else near_degenerate_fraction(ds, var, over)
    flat = frac.stack(_all=list(per)) if per else frac.expand_dims(_all=[""])
    return [f"{'/'.join(str(x) for x in np.atleast_1d(key))}: {float(v):.2g}"
            for key, v in zip(flat["_all"].values, flat.values) if float(v) > WARN_FRACTION]
