"""Standard figures from result Datasets (matplotlib, Agg backend; plotting reads only Results).

`plot_result(ds)` picks the figure from the content:
- `energy` over (k, band) with `distance` → band structure with high-symmetry ticks;
- `sigma` → σ vs μ (or γ) per component (rows) and mechanism (columns), one line per term;
- `chi` (complex, kind/alpha/beta/omega) → Re and Im χ^{αβ}(ω), one panel per kind;
- any variable over exactly two numeric dims (e.g. a ratio map) → colour map;
- otherwise every variable vs its first numeric dim, other dims as lines.
"""

from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np
import xarray as xr

from ._validation import QgeomInputError, data_variable
from .dc.conventions import GAMMA_ORDER
from .results import decode_attr

MAX_LINES = 24
LOW_ORDER_NAMES = {"drude": "Drude", "bcd": "BCD", "interband": "interband"}  # panel titles of the Γ⁻ⁿ terms
_X_PREFERENCE = ("mu", "omega", "gamma", "temperature", "t", "distance")
_DISCRETE = ("band",)
# rows of an expansion figure: a row per component is a readable page up to here (27 rows of a 3D
# "all" took 20 s to draw); the others are named under the title, and every value is in the file
MAX_COMPONENT_ROWS = 6


# The one figure style of qgeom: readable at single-column width, units in every axis label,
# legends outside the data when they are long.
STYLE = {
    "font.size": 9, "axes.titlesize": 9, "axes.labelsize": 9, "legend.fontsize": 7, "xtick.labelsize": 8,
    "ytick.labelsize": 8, "legend.frameon": False, "axes.formatter.limits": (-3, 4),
    "axes.formatter.use_mathtext": True, "figure.dpi": 100, "savefig.bbox": "tight", "lines.linewidth": 1.3,
    "figure.constrained_layout.use": True, "axes.titlepad": 9,  # titles never collide with ×10ⁿ labels
}


def figure_style():
    """matplotlib.pyplot with qgeom's figure style applied (Agg backend unless one is chosen)."""
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    plt.rcParams.update(STYLE)
    return plt


_mpl = figure_style


def save_figure(fig, path: str | Path, *, dpi: int = 130, close: bool = True, overwrite: bool | None = None) -> Path:
    """Write `fig` to `path` (creating the folder; atomically, see `outputs.write_atomic`) and by
    default close it: every figure qgeom writes goes through here."""
    from .outputs import figure_bytes, write_atomic

    try:
        data = figure_bytes(fig, path, dpi=dpi)
    finally:
        if close:
            _mpl().close(fig)
    return write_atomic(path, data, overwrite=overwrite)


def _model_info(ds: xr.Dataset) -> dict:
    """The decoded `model` attribute of a result ({} when absent)."""
    model = decode_attr(ds.attrs.get("model", {}))
    return model if isinstance(model, dict) else {}


_SUPERSCRIPT = str.maketrans("-0123456789", "⁻⁰¹²³⁴⁵⁶⁷⁸⁹")
_PHYSICAL_UNITS = ("eV", "meV", "Å", "nm", "m", "A", "V", "e", "1", "ps", "s")
NAMES = {"mu": "chemical potential μ", "omega": "photon energy ħω", "gamma": "broadening Γ",
         "temperature": "temperature kT", "distance": "k along the path", "energy": "energy ε",
         "sigma": "σ", "chi": "χ"}


def pretty_unit(unit: str) -> str:
    """A unit string as a reader expects it: exponents as superscripts (V^-2 → V⁻², a^1 → a,
    a^0 dropped), hbar → ħ, and a bare model unit (the seed's hopping v, t1) as "units of v" so
    that "v" does not read as volts."""
    import re

    unit = unit.strip()
    if unit == "model":
        return "model units"
    if re.fullmatch(r"[A-Za-z_]\w*", unit) and unit not in _PHYSICAL_UNITS:
        return f"units of {unit}"
    unit = unit.replace("hbar", "ħ")
    unit = re.sub(r"\s*\b([A-Za-zÅ]\w*)\^\(?0\)?(?![\d.])", "", unit)  # x^0 → (nothing)
    unit = re.sub(r"\^\(?1\)?(?![\d.])", "", unit)                        # x^1 → x
    return re.sub(r"\^\(?(-?\d+)\)?", lambda m: m.group(1).translate(_SUPERSCRIPT), unit).strip()


def _label(ds: xr.Dataset, name: str) -> str:
    """Axis label: the quantity's name spelled out and its unit in parentheses."""
    unit = ds[name].attrs.get("units") if name in ds.variables else None
    text = NAMES.get(name, name)
    return f"{text} ({pretty_unit(unit)})" if unit else text


def _is_numeric_dim(ds: xr.Dataset, dim: str) -> bool:
    return dim in ds.coords and np.issubdtype(ds[dim].dtype, np.number) and ds.sizes[dim] > 1


def _x_dim(ds: xr.Dataset, da: xr.DataArray) -> str | None:
    for d in _X_PREFERENCE:
        if d in da.dims and _is_numeric_dim(ds, d):
            return d
    numeric = [d for d in da.dims if _is_numeric_dim(ds, d)]
    return numeric[0] if numeric else (da.dims[0] if da.dims else None)


def _lines(ax, ds: xr.Dataset, da: xr.DataArray, x: str, *, label_prefix: str = "",
           err: xr.DataArray | None = None) -> int:
    """One line per combination of the non-x dims (Re solid, Im dashed for complex data); `err`
    (same dims, real data only) draws error bars."""
    others = [d for d in da.dims if d != x]
    xs = ds[x].values if x in ds.coords else np.arange(da.sizes[x])
    n = 0
    for combo in itertools.product(*(range(da.sizes[d]) for d in others)):
        if n >= MAX_LINES:
            break
        sel = da.isel(dict(zip(others, combo))).transpose(x).values
        if not np.any(np.isfinite(sel)):
            continue
        tag = ", ".join(f"{d}={_coord(ds, d, i)}" for d, i in zip(others, combo))
        tag = (label_prefix + tag).strip(", ") or da.name
        # a discrete axis (band index) gets markers: a line between bands would suggest a continuum
        fmt = dict(marker="o", linestyle="none") if x in _DISCRETE else {}
        if np.iscomplexobj(sel):
            line, = ax.plot(xs, sel.real, label=f"Re {tag}", **fmt)
            ax.plot(xs, sel.imag, **(fmt or {"linestyle": "--"}), **({"marker": "s", "mfc": "none"} if fmt else {}),
                    color=line.get_color(), label=f"Im {tag}")
        elif err is not None:
            yerr = err.isel(dict(zip(others, combo))).transpose(x).values
            ax.errorbar(xs, sel, yerr=yerr, label=tag, capsize=3, **fmt)
        else:
            ax.plot(xs, sel, label=tag, **fmt)
        n += 1
    if x in _DISCRETE:
        ax.set_xticks(xs)
    return n


def _legend(ax, n: int) -> None:
    """A legend that does not cover the data: inside for a few entries, outside on the right
    (in columns of at most 12) for many."""
    if n <= 1:  # one line: the axis label says what it is
        return
    if n <= 6:
        ax.legend(loc="best")
    else:
        ax.legend(loc="upper left", bbox_to_anchor=(1.02, 1.0), ncol=(n + 11) // 12, fontsize=6)


def _coord(ds, dim, i):
    if dim in ds.coords:
        v = ds[dim].values[i]
        return v.item() if hasattr(v, "item") else v
    return i


def plot_bands(ds: xr.Dataset, ax=None, *, fermi_energy: float | None = None):
    plt = _mpl()
    fig, ax = (ax.figure, ax) if ax is not None else plt.subplots(figsize=(5, 4))
    x = ds["distance"].values
    ax.plot(x, ds["energy"].transpose("k", "band").values, color="k", lw=1)
    ticks = ds.attrs.get("path_ticks")
    if ticks is not None and len(ticks):
        ax.set_xticks(ticks)
        ax.set_xticklabels(ds.attrs.get("path_labels", [""] * len(ticks)))
        for t in ticks:
            ax.axvline(t, color="0.7", lw=0.5)
    if fermi_energy is not None:
        ax.axhline(fermi_energy, color="tab:red", ls="--", lw=0.8, label=f"E_F = {fermi_energy:g}")
        ax.legend(loc="best", fontsize=7)
    ax.set_xlim(x[0], x[-1])
    ax.set_ylabel(_label(ds, "energy"))
    model = _model_info(ds)
    ax.set_title(f"{model.get('name', '')} band structure".strip())
    return fig


def _component_rows(da: xr.DataArray, zero_mask: xr.DataArray, components=None) -> tuple[list, str]:
    """The components an expansion figure draws, and a note naming the others: `components` as given, or
    those with a value that is not zero (forbidden, exact or numerical zero) in some term — the
    MAX_COMPONENT_ROWS largest relative to each term's largest value, in the result's order."""
    comps = [str(c) for c in da["component"].values]
    if components is not None:
        unknown = [c for c in components if c not in comps]
        if unknown:
            raise QgeomInputError(f"components {unknown} are not in the result (it has {', '.join(comps)}).")
        return list(components), ""
    mag = np.abs(da.where(~zero_mask)).fillna(0.0)
    mag = mag.max([d for d in mag.dims if d not in ("component", "mechanism", "term")])
    scale = mag.max("component")  # each term's (and mechanism's) largest value
    rel = (mag / scale.where(scale > 0)).fillna(0.0).max([d for d in mag.dims if d != "component"])
    score = dict(zip(comps, rel.values.tolist()))
    nonzero = [c for c in comps if score[c] > 0]
    kept = set(sorted(nonzero, key=lambda c: -score[c])[:MAX_COMPONENT_ROWS])
    zeros = [c for c in comps if score[c] == 0]
    left = [c for c in nonzero if c not in kept]
    notes = []
    if zeros:
        notes.append(f"zero in every term (forbidden or numerical zero): {', '.join(zeros)}")
    if left:
        notes.append(f"not drawn (smaller): {', '.join(left)} — qgeom plot RESULT --components {left[0]},...")
    return [c for c in comps if c in kept], "; ".join(notes)


def plot_expansion(ds: xr.Dataset, var: str = "sigma", *, terms=None, components=None):
    """A Γ-expansion result σ[mechanism, term, component, μ]: one row per component; a panel for
    the Γ⁻² (Drude) and one for the Γ⁻¹ (BCD) coefficient, which are the same for every mechanism,
    then one Γ⁰ panel per mechanism with its terms (`terms`: which, default all Γ⁰ terms). Each
    panel has its own unit: σ⁽⁻ⁿ⁾ multiplies Γ⁻ⁿ. `components`: the rows (default `_component_rows`:
    the nonzero ones, at most MAX_COMPONENT_ROWS, the others named under the title)."""
    import textwrap

    from .dc.zeros import numerical_zeros

    data_variable(ds, var, "plot_expansion")
    plt = _mpl()
    ds = ds.sortby("mu")  # μ given in any order (a list): lines drawn along increasing μ
    da = ds[var]
    zero_mask = numerical_zeros(ds, var)
    comps, note = _component_rows(da, zero_mask, components)
    mechs = list(da["mechanism"].values)
    all_terms = [str(t) for t in da["term"].values]
    low = [t for t in all_terms if t in GAMMA_ORDER]
    zero = [t for t in all_terms if t not in GAMMA_ORDER and (terms is None or t in terms)]
    ncol = len(low) + len(mechs)
    title = _title(ds, var) + ("\n" + "\n".join(textwrap.wrap(note, 40 * ncol)) if note else "")
    if not comps:  # nothing but zeros: one panel that says so
        fig, ax = plt.subplots(figsize=(6, 2))
        ax.text(0.5, 0.5, "every component is 0 in every term\n(forbidden by symmetry, or numerical zeros)",
                transform=ax.transAxes, ha="center", va="center")
        ax.set_axis_off()
        fig.suptitle(_title(ds, var))
        return fig
    fig, axes = plt.subplots(len(comps), ncol, figsize=(3.3 * ncol, 2.7 * len(comps) + 0.5), squeeze=False,
                             sharex=True)
    unit = pretty_unit(da.attrs.get("units", ""))
    energy = pretty_unit(ds["mu"].attrs.get("units", "")) if "mu" in ds else ""
    energy = energy.replace("units of ", "")
    for i, comp in enumerate(comps):
        sub = da.sel(component=comp)
        for j, term in enumerate(low):
            ax = axes[i, j]
            order = GAMMA_ORDER[term]
            if bool(zero_mask.sel(component=comp, mechanism=mechs[0], term=term).all()):
                ax.text(0.5, 0.5, "0 (numerical zero)", transform=ax.transAxes, ha="center", va="center")
            else:
                ax.plot(ds["mu"], sub.sel(mechanism=mechs[0], term=term), color="k")
            sup = str(order).translate(_SUPERSCRIPT)
            ax.set_title(f"σ_{comp}: Γ{sup} coefficient ({LOW_ORDER_NAMES.get(term, term)})")
            ax.set_ylabel(f"σ⁽{sup}⁾ ({unit} × {energy}{str(-order).translate(_SUPERSCRIPT) if order < -1 else ''})")
        for j, mech in enumerate(mechs):
            ax = axes[i, len(low) + j]
            for term in zero:
                ax.plot(ds["mu"], sub.sel(mechanism=mech, term=term), label=term)
            ax.set_title(f"σ_{comp}: Γ⁰, {str(mech).replace('_', ' ')}")
            ax.set_ylabel(f"σ⁽⁰⁾ ({unit})")
            _legend(ax, len(zero))
        for ax in axes[i]:
            ax.axhline(0, color="0.8", lw=0.5)
    for ax in axes[-1]:
        ax.set_xlabel(_label(ds, "mu"))
    fig.suptitle(title)
    return fig


def _title(ds: xr.Dataset, var: str) -> str:
    """Figure title: the model's name and the result's title."""
    name = _model_info(ds).get("name", "")
    title = ds.attrs.get("title", var)
    return f"{name}: {title}" if name else title


def plot_sigma(ds: xr.Dataset, var: str = "sigma", *, components=None):
    """σ of a DC result: the expansion figure (`plot_expansion`), or σ against its first numeric dim with a
    row per component (the same choice of rows) and a column per mechanism."""
    da = data_variable(ds, var, "plot_sigma")
    if {"mechanism", "term", "component"} <= set(da.dims) and "mu" in ds.coords and any(
            str(t) in GAMMA_ORDER for t in da["term"].values):
        return plot_expansion(ds, var, components=components)
    plt = _mpl()
    x = _x_dim(ds, da)
    note = ""
    if "component" in da.dims:
        from .dc.zeros import numerical_zeros

        chosen, note = _component_rows(da, numerical_zeros(ds, var), components)
        da = da.sel(component=chosen or list(da["component"].values[:1]))
    rows = "component" if "component" in da.dims else None
    cols = "mechanism" if "mechanism" in da.dims else None
    nr = da.sizes[rows] if rows else 1
    nc = da.sizes[cols] if cols else 1
    fig, axes = plt.subplots(nr, nc, figsize=(3.6 * nc + 1, 2.8 * nr + 0.6), squeeze=False, sharex=True)
    for i, j in itertools.product(range(nr), range(nc)):
        ax = axes[i, j]
        sub = da
        title = []
        if rows:
            sub = sub.isel({rows: i})
            title.append(f"σ_{sub[rows].item()}")
        if cols:
            sub = sub.isel({cols: j})
            title.append(str(_coord(ds, cols, j)))
        n = _lines(ax, ds, sub, x)
        ax.axhline(0, color="0.8", lw=0.5)
        ax.set_title(", ".join(title))
        if i == nr - 1:
            ax.set_xlabel(_label(ds, x))
        if j == 0:
            ax.set_ylabel(_label(ds, var))
        _legend(ax, n)
    fig.suptitle(_title(ds, var) + (f"\n{note}" if note else ""))
    return fig


def plot_chi(ds: xr.Dataset, var: str = "chi"):
    plt = _mpl()
    da = data_variable(ds, var, "plot_chi")
    x = _x_dim(ds, da)
    kinds = da.sizes["kind"] if "kind" in da.dims else 1
    fig, axes = plt.subplots(1, kinds, figsize=(4 * kinds + 0.5, 3.4), squeeze=False)
    xs = ds[x].values if x in ds.coords else np.arange(da.sizes[x])
    for j in range(kinds):
        ax = axes[0, j]
        sub = da.isel(kind=j) if "kind" in da.dims else da
        others = [d for d in sub.dims if d != x]
        n = 0
        for combo in itertools.product(*(range(sub.sizes[d]) for d in others)):
            vals = np.asarray(sub.isel(dict(zip(others, combo))).transpose(x).values)
            if n >= MAX_LINES or not np.any(vals != 0):  # identically zero components are skipped
                continue
            lab = "".join(str(_coord(ds, d, i)) for d, i in zip(others, combo))
            line, = ax.plot(xs, vals.real, label=f"Re χ^{lab}")
            if np.iscomplexobj(vals):
                ax.plot(xs, vals.imag, "--", color=line.get_color(), label=f"Im χ^{lab}")
            n += 1
        ax.set_title(str(_coord(ds, "kind", j)) if "kind" in da.dims else var, fontsize=9)
        ax.set_xlabel(_label(ds, x))
        ax.axhline(0, color="0.8", lw=0.5)
        if j == 0:
            ax.set_ylabel(_label(ds, var))
        _legend(ax, n)
    fig.suptitle(_title(ds, var))
    return fig


def plot_map(ds: xr.Dataset, var: str):
    plt = _mpl()
    da = data_variable(ds, var, "plot_map")
    ydim, xdim = [d for d in da.dims if _is_numeric_dim(ds, d)][:2]
    vals = da.transpose(ydim, xdim).values
    vals = np.abs(vals) if np.iscomplexobj(vals) else vals
    fig, ax = plt.subplots(figsize=(5, 4))
    pos = np.isfinite(vals) & (vals > 0)
    from matplotlib.colors import LogNorm

    norm = LogNorm() if pos.all() and vals[pos].max() / vals[pos].min() > 100 else None
    mesh = ax.pcolormesh(ds[xdim].values, ds[ydim].values, vals, shading="auto", norm=norm)
    fig.colorbar(mesh, ax=ax, label=_label(ds, var))
    ax.set_xlabel(_label(ds, xdim))
    ax.set_ylabel(_label(ds, ydim))
    ax.set_title(ds.attrs.get("title", var), fontsize=10)
    return fig


def plot_generic(ds: xr.Dataset):
    """Every array variable vs its first numeric dim, one panel each (two columns when there are
    many); a variable `X_error` next to `X` becomes X's error bars."""
    plt = _mpl()
    names = [n for n in ds.data_vars if ds[n].ndim >= 1
             and not (n.endswith("_error") and n[: -len("_error")] in ds.data_vars)]
    if not names:  # _check_plottable refuses a result without one first
        raise QgeomInputError("the result holds no array variable to plot.")
    ncol = 2 if len(names) > 3 else 1
    nrow = -(-len(names) // ncol)
    fig, axes = plt.subplots(nrow, ncol, figsize=(5.0 * ncol, 2.6 * nrow + 0.5), squeeze=False)
    for ax, name in zip(axes.flat, names):
        da = ds[name]
        x = _x_dim(ds, da)
        err = ds.get(f"{name}_error")
        n = _lines(ax, ds, da, x, err=err if err is not None and err.dims == da.dims else None)
        ax.set_xlabel(_label(ds, x))
        ax.set_ylabel(_label(ds, name))
        _legend(ax, n)
    for ax in list(axes.flat)[len(names):]:
        ax.set_visible(False)
    fig.suptitle(_title(ds, ""))
    return fig


def figure_kind(ds: xr.Dataset) -> str:
    if "energy" in ds and {"k", "band"} <= set(ds["energy"].dims) and "distance" in ds.coords:
        return "bands"
    if "sigma" in ds:
        return "sigma"
    if "chi" in ds:
        return "chi"
    for name in ds.data_vars:
        if ds[name].ndim == 2 and all(_is_numeric_dim(ds, d) for d in ds[name].dims):
            return "map"
    return "generic"


def _check_plottable(ds: xr.Dataset) -> None:
    """A result with something to draw: a variable with an axis, and no empty axis (a file written with zero
    values, e.g. dc-exact's omega axis, would fail deep in matplotlib or in a reduction)."""
    if not any(ds[n].ndim >= 1 for n in ds.data_vars):
        raise QgeomInputError(f"the result holds no array variable to plot (data variables: "
                              f"{', '.join(map(str, ds.data_vars)) or 'none'}); is it a qgeom result file?")
    empty = [str(d) for d, n in ds.sizes.items() if n == 0]
    if empty:
        raise QgeomInputError(f"the result has no values along {', '.join(empty)} (0 points): nothing to plot; "
                              f"recompute it with at least one {empty[0]} value.")


def plot_result(ds: xr.Dataset, path: str | Path | None = None, **kwargs):
    """Draw the standard figure for a result; save it to `path` (format from the suffix) if given.
    Returns the matplotlib Figure. Keywords: `dpi`, `fermi_energy` (bands), `components` (σ rows)."""
    _check_plottable(ds)
    kind = figure_kind(ds)
    if kind == "bands":
        ef = kwargs.get("fermi_energy")
        if ef is None:
            ef = _model_info(ds).get("parameters", {}).get("fermi_energy")
        fig = plot_bands(ds, fermi_energy=ef)
    elif kind == "sigma":
        fig = plot_sigma(ds, components=kwargs.get("components"))
    elif kind == "chi":
        fig = plot_chi(ds)
    elif kind == "map":
        name = next(n for n in ds.data_vars if ds[n].ndim == 2 and all(_is_numeric_dim(ds, d) for d in ds[n].dims))
        fig = plot_map(ds, name)
    else:
        fig = plot_generic(ds)
    if path is not None:
        save_figure(fig, path, dpi=kwargs.get("dpi", 150), close=False)
    return fig
