"""Γ-scan of the exact NESS conductivity and its fit σ(Γ) = A/Γ² + B/Γ + C + DΓ + ….

The exact σ(Γ) of `qgeom.dc.exact` is fitted as σΓ² = A + BΓ + CΓ² + DΓ³ + … by least squares
over several Γ windows (the full scan, and with the largest one or two Γ dropped) and polynomial
degrees; the reported value is the fit of highest degree on the full scan and the uncertainty is
the spread (max − min)/2 over all (window, degree) fits. The Γ-expansion coefficients
(σ^(−2) = A, σ^(−1) = B, σ^(0) = C) are computed side by side by `qgeom.dc.expansion` (the
fermionic-bath mechanism) on the same grid.
"""

from __future__ import annotations


import json
from pathlib import Path

import numpy as np
import xarray as xr

from .._validation import QgeomInputError
from ..plots import save_figure
from ..results import encode_attr, metadata
from ..options import Sampling, checked_keywords
from ..progress import compute_time
from ..symmetry import NEUMANN
from .conventions import term_units
from .exact import DEFAULT_NODES, DEFAULT_RADIUS, exact

COEFFICIENTS = ("A", "B", "C")


def fit_gamma_series(gamma, sigma, *, degrees=(4, 5, 6), drop=(0, 1, 2)) -> dict[str, np.ndarray]:
    """Fit σ(Γ)Γ² = Σ_p c_p Γ^p. `sigma` [..., nΓ] (Γ on the last axis). Returns dict with
    `value` [..., 3] (A, B, C), `uncertainty` [..., 3] and `fits` [nfits, ..., 3]."""
    g = np.asarray(gamma, float)
    s = np.asarray(sigma, float)
    if g.ndim != 1 or s.shape[-1] != len(g):
        raise QgeomInputError("fit_gamma_series: sigma must have Γ on its last axis, matching gamma.")
    order = np.argsort(g)
    g, s = g[order], s[..., order]
    scale = g.max()
    y = (s * g**2).reshape(-1, len(g)).T  # [nΓ, series]
    fits, keys = [], []
    for nd in drop:
        n = len(g) - nd
        for deg in degrees:
            if n < deg + 2:
                continue
            x = g[:n] / scale
            V = np.vander(x, deg + 1, increasing=True)
            c, *_ = np.linalg.lstsq(V, y[:n], rcond=None)
            c = c[:3] / scale ** np.arange(3)[:, None]
            fits.append(c.T.reshape(s.shape[:-1] + (3,)))
            keys.append((nd, deg))
    if not fits:
        check_gamma_count(len(g), degrees)
    fits = np.array(fits)
    # reported value: fewest dropped points, then highest degree
    best = min(range(len(keys)), key=lambda i: (keys[i][0], -keys[i][1]))
    value = fits[best]
    # one fit has no spread to report: the uncertainty is unknown, not zero
    unc = 0.5 * (fits.max(axis=0) - fits.min(axis=0)) if len(fits) > 1 else np.full_like(value, np.nan)
    return {"value": value, "uncertainty": unc, "fits": fits}


def gamma_counts(degrees=(4, 5, 6)) -> tuple[int, int]:
    """(fewest Γ values that allow one fit, fewest that give an uncertainty from ≥ 2 fits)."""
    return min(degrees) + 2, min(degrees) + 3


def check_gamma_count(n: int, degrees=(4, 5, 6)) -> None:
    """Raise before any computation when `n` Γ values cannot be fitted with these degrees."""
    need, need_unc = gamma_counts(degrees)
    if n < need:
        raise QgeomInputError(
            f"the Γ fit (degrees {tuple(degrees)}) needs at least {need} Γ values ({need_unc} for an "
            f"uncertainty), got {n}; pass more Γ values (--gamma), or skip the fit (--no-fit)."
        )


def _expansion_coefficients(model, comps, mu, temperature, grid, degen_tol, units, convention, grid_kwargs,
                            executor, observable="current", symmetry=NEUMANN, symmetry_tol=None, resolution=None):
    """(σ^(−2), σ^(−1), σ^geo, σ^kin) [comp, μ, 4] from `qgeom.dc.expansion` at `resolution`, run with
    the scan's executor, block split, checkpoint (under DIR/expansion) and symmetry (so that
    `symmetry=None` compares the raw sums of both). For another observable: its Γ⁻², Γ⁻¹ coefficients
    and NaN for the Γ⁰ parts, which are not derived."""
    from .expansion import expansion

    executor = dict(executor)
    if executor.get("checkpoint") is not None:
        executor["checkpoint"] = Path(executor["checkpoint"]) / "expansion"
    ds = expansion(model, components=comps, mu=mu, temperature=temperature, grid=grid,
                   mechanisms=["fermionic_bath"], degen_tol=degen_tol, units=units, convention=convention,
                   observable=observable, symmetry=symmetry, symmetry_tol=symmetry_tol, resolution=resolution,
                   **grid_kwargs, **executor)
    s = ds["sigma"].sel(mechanism="fermionic_bath")
    if not (isinstance(observable, str) and observable == "current"):
        low = np.stack([s.sel(term=t).values for t in ("drude", "interband")], axis=-1)
        return np.concatenate([low, np.full(low.shape, np.nan)], axis=-1), metadata(ds, "parameters")
    terms = ["drude", "bcd", "geometric", "kinetic"]
    return np.stack([s.sel(term=t).values for t in terms], axis=-1), metadata(ds, "parameters")


@checked_keywords
def gamma_scan(
    model,
    *,
    components="xyy",
    mu,
    temperature: float,
    gammas,
    grid=Sampling.grid,
    kind: str | None = None,
    cutoff: float | None = None,
    offset: str = Sampling.offset,
    degrees=(4, 5, 6),
    nodes: int = DEFAULT_NODES,
    radius: float = DEFAULT_RADIUS,
    convention: str = "seed",
    units: str = "auto",
    degen_tol: float = Sampling.degen_tol,
    chunk_size: int | None = None,
    progress: bool | None = None,
    workers: int | None = None,
    scheduler=None,
    checkpoint=None,
    blocks: bool = Sampling.blocks,
    error_tol: float | None = None,
    observable="current",
    symmetry=NEUMANN,
    symmetry_tol: float | None = None,
    resolution: float | None = None,
) -> xr.Dataset:
    """Exact σ(Γ) over `gammas` (choose Γ ≪ kT, e.g. 0.05–0.4 kT; ≥ 7 values, 6 give a fit without uncertainty), its fit A/Γ² + B/Γ + C + …
    and the Γ-expansion on the same grid. Returns a Dataset with `sigma[gamma, component, mu]`,
    `fit[component, mu, coefficient]`, `fit_uncertainty[...]` and `expansion[component, mu, coefficient]`
    (coefficient = A, B, C; C of the expansion = σ^geo + σ^kin with the module's KINETIC_PREFACTOR).
    `observable`: as in `exact` (field labels "bc" for an observable other than the current); its
    expansion gives A (Γ⁻²) and B (Γ⁻¹) and NaN for C, which only the fit provides.
    `symmetry`, `symmetry_tol`: as in `exact` for the scan, and passed to the comparison expansion (whose
    zeros also use the time-reversal parity of each coefficient). `resolution`: that of the comparison expansion
    (`expansion`'s keyword; its default groups pairs closer than kT in the Γ⁰ terms, while the exact NESS groups
    nothing: on a model with such pairs compare C with resolution=0, the Γ → 0 limit of every pair resolved)."""
    check_gamma_count(np.unique(np.atleast_1d(np.asarray(gammas, float))).size, degrees)
    grid_kwargs = {"kind": kind, "cutoff": cutoff, "offset": offset}
    executor = {"workers": workers, "scheduler": scheduler, "checkpoint": checkpoint, "blocks": blocks}
    with compute_time() as cost:  # the scan's and the comparison expansion's k-sums
        ds = exact(model, components=components, mu=mu, temperature=temperature, gamma=gammas, grid=grid,
                   nodes=nodes, radius=radius, convention=convention, units=units, degen_tol=degen_tol,
                   chunk_size=chunk_size, progress=progress, error_tol=error_tol, observable=observable,
                   symmetry=symmetry, symmetry_tol=symmetry_tol, **grid_kwargs, **executor)
        params = metadata(ds, "parameters")
        exp, exp_params = _expansion_coefficients(
            model, list(ds["component"].values), ds["mu"].values, temperature, grid, degen_tol, params["units"],
            params["convention"], grid_kwargs, executor, observable, symmetry, symmetry_tol, resolution,
        )
    sig = ds["sigma"].transpose("component", "mu", "gamma").values
    fit = fit_gamma_series(ds["gamma"].values, sig, degrees=degrees)
    expansion_abc = np.stack([exp[..., 0], exp[..., 1], exp[..., 2] + exp[..., 3]], axis=-1)
    out = ds.assign(
        fit=(("component", "mu", "coefficient"), fit["value"]),
        fit_uncertainty=(("component", "mu", "coefficient"), fit["uncertainty"]),
        expansion=(("component", "mu", "coefficient"), expansion_abc),
        expansion_geometric=(("component", "mu"), exp[..., 2]),
        expansion_kinetic=(("component", "mu"), exp[..., 3]),
    ).assign_coords(coefficient=list(COEFFICIENTS))
    out.attrs["fit_meaning"] = (
        "sigma(Gamma) Gamma^2 = A + B Gamma + C Gamma^2 + ...; A, B, C vs the expansion "
        "sigma^(-2) (Eq. 2), sigma^(-1) (Eq. 3), sigma^geo + sigma^kin (Eqs. 5, 6)"
    )
    out.attrs["expansion_kinetic_prefactor"] = encode_attr(exp_params.get("kinetic_prefactor"))
    out.attrs["parameters"] = encode_attr({**params, **cost.attrs(), "expansion_resolution": exp_params["resolution"],
                                           "expansion_resolved_terms": exp_params["resolved_terms"]})
    _coefficient_units(out, model.energy_unit)
    return out


def _coefficient_units(scan: xr.Dataset, energy_unit: str) -> None:
    """Units of the fitted and expanded coefficients: A, B, C multiply Γ⁻², Γ⁻¹, Γ⁰, so they carry σ's unit times
    the energy unit squared, once, and not (as the Drude, BCD and Γ⁰ terms of `expansion`, `term_units`)."""
    unit = scan["sigma"].attrs.get("units", "")
    by_term = json.loads(term_units(unit, energy_unit, ("drude", "bcd", "geometric")))
    by_coefficient = json.dumps(dict(zip(COEFFICIENTS, by_term.values())))
    for name in ("fit", "fit_uncertainty", "expansion"):
        scan[name].attrs.update(units=unit, units_by_coefficient=by_coefficient)
    for name in ("expansion_geometric", "expansion_kinetic"):
        scan[name].attrs["units"] = unit


def comparison_rows(scan: xr.Dataset) -> list[list]:
    """Rows (component, μ, coefficient, fitted, ±, expansion, relative difference) for a table."""
    rows = []
    # a coefficient's scale over every component and μ: "zero" relative to it (values in SI units can be ~1e-15)
    scale = {coef: float(np.nanmax(np.abs(scan["expansion"].sel(coefficient=coef).values), initial=0.0))
             for coef in COEFFICIENTS}
    for c in scan["component"].values:
        for mu in scan["mu"].values:
            for coef in COEFFICIENTS:
                sel = dict(component=c, mu=mu, coefficient=coef)
                f = float(scan["fit"].sel(sel))
                u = float(scan["fit_uncertainty"].sel(sel))
                e = float(scan["expansion"].sel(sel))
                # both exact zeros (a component the group forbids) agree; a zero expansion otherwise has no scale
                rel = (abs(f - e) / abs(e) if abs(e) > 1e-12 * scale[coef]
                       else (0.0 if f == e == 0 else float("nan")))
                rows.append([str(c), float(mu), coef, f, u, e, rel])
    return rows


def plot_gamma_scan(scan: xr.Dataset, path, *, component=None, mu=None):
    """Two-panel figure: (a) σΓ² vs Γ with the expansion A + BΓ + CΓ²; (b) σ − A/Γ² − B/Γ
    (expansion A, B) vs Γ, which tends to C as Γ → 0, with the expansion's C marked."""
    from ..plots import figure_style

    plt = figure_style()
    c = component if component is not None else str(scan["component"].values[0])
    m = mu if mu is not None else float(scan["mu"].values[0])
    g = scan["gamma"].values
    s = scan["sigma"].sel(component=c, mu=m).values
    A, B, C = (float(scan["expansion"].sel(component=c, mu=m, coefficient=k)) for k in COEFFICIENTS)
    fA, fB, fC = (float(scan["fit"].sel(component=c, mu=m, coefficient=k)) for k in COEFFICIENTS)
    gg = np.linspace(0, g.max() * 1.05, 200)
    fig, ax = plt.subplots(1, 2, figsize=(9, 3.6))
    ax[0].plot(g, s * g**2, "o", label="exact NESS (B-5, B-6)")
    ax[0].plot(gg, A + B * gg + C * gg**2, "-", label=r"expansion $\sigma^{(-2)}+\sigma^{(-1)}\Gamma+\sigma^{(0)}\Gamma^2$")
    ax[0].set_xlabel(r"$\Gamma$")
    ax[0].set_ylabel(r"$\sigma_{%s}\,\Gamma^2$" % c)
    ax[0].legend(fontsize=7)
    ax[1].plot(g, s - A / g**2 - B / g, "o", label=r"exact $-\,\sigma^{(-2)}/\Gamma^2-\sigma^{(-1)}/\Gamma$")
    if np.isfinite(C):  # an observable's Γ⁰ coefficient has no closed form: the fit alone
        ax[1].axhline(C, color="C1", label=r"expansion $\sigma^{(0)}=\sigma^{geo}+\sigma^{kin}$")
    ax[1].plot(0, fC, "k*", ms=10, label=f"fit C = {fC:.5g}")
    ax[1].set_xlabel(r"$\Gamma$")
    ax[1].set_xlim(left=-0.02 * g.max())
    ax[1].legend(fontsize=7)
    model = metadata(scan).get("model", {})
    name = model.get("name", "") if isinstance(model, dict) else ""
    fig.suptitle(f"{name}  {c}  mu = {m:g}  kT = {metadata(scan, 'parameters')['temperature']:g}", fontsize=9)
    return save_figure(fig, path)
