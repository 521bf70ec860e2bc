"""Figures of Γ-expansion results: σ vs μ per term and mechanism."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import xarray as xr  # noqa: E402

from ..plots import save_figure  # noqa: E402

_STYLE = {"geometric": "--", "kinetic": ":", "intrinsic": "-", "drude": "-.", "bcd": (0, (3, 1, 1, 1))}


def plot_expansion(ds: xr.Dataset, path: str | Path, *, terms=("geometric", "kinetic", "intrinsic")) -> Path:
    """One panel per (component, mechanism): the Γ⁰ terms vs μ; a side panel per component for
    the Γ⁻² (Drude) and Γ⁻¹ (BCD) coefficients."""
    comps, mechs = list(ds.component.values), list(ds.mechanism.values)
    fig, axes = plt.subplots(len(comps), len(mechs) + 1, figsize=(4 * (len(mechs) + 1), 3 * len(comps)),
                             squeeze=False, sharex=True)
    unit = ds.sigma.attrs.get("units", "")
    for i, comp in enumerate(comps):
        for j, mech in enumerate(mechs):
            ax = axes[i, j]
            for term in terms:
                ax.plot(ds.mu, ds.sigma.sel(mechanism=mech, term=term, component=comp), linestyle=_STYLE[term], label=term)
            ax.axhline(0, color="0.7", lw=0.5)
            ax.set_title(f"σ_{comp}, {mech}  (Γ⁰)")
            ax.set_ylabel(f"σ [{unit}]")
        ax = axes[i, -1]
        for term in ("drude", "bcd"):
            ax.plot(ds.mu, ds.sigma.sel(mechanism=mechs[0], term=term, component=comp), linestyle=_STYLE[term],
                    label={"drude": "Drude (×Γ⁻²)", "bcd": "BCD (×Γ⁻¹)"}[term])
        ax.axhline(0, color="0.7", lw=0.5)
        ax.set_title(f"σ_{comp}: Γ⁻², Γ⁻¹ coefficients")
    for ax in axes[-1]:
        ax.set_xlabel(f"μ [{ds.mu.attrs.get('units', '')}]")
    for ax in axes.flat:
        ax.legend(fontsize=7)
    fig.tight_layout()
    return save_figure(fig, path, dpi=120)
