"""Figures of Γ-expansion results: σ vs μ, one panel per Γ order (the drawing is `plots.plot_expansion`)."""

from __future__ import annotations

from pathlib import Path

import xarray as xr


def plot_expansion(ds: xr.Dataset, path: str | Path, *, terms=("geometric", "kinetic", "intrinsic")) -> Path:
    """Write the figure of a `qgeom.dc.expansion` result to `path`: per component the Γ⁻² (Drude)
    and Γ⁻¹ (BCD) coefficients in their own panels, then the Γ⁰ `terms` per mechanism."""
    from ..plots import plot_expansion as draw
    from ..plots import save_figure

    return save_figure(draw(ds, terms=terms), path, dpi=120)
