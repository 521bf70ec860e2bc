"""Band geometry over the Brillouin zone: Berry curvature, quantum metric and Berry-curvature dipole of the
lower band of two library models, from `qgeom.geometry` (analytic sums over states, docs/models.md).

Top: the Qi–Wu–Zhang Chern insulator (`qi_wu_zhang`, u = 1): Ω_xy and the metric trace g_xx + g_yy of the
lower band; Ω integrates to 2π C with C = −1 (printed, with the bound tr g ≥ |Ω| checked at every k).
Bottom: the tilted massive Dirac model (`tilted_dirac_2band`, the library defaults) on |k_x|, |k_y| < 1,
where its curvature sits: Ω_xy and its dipole ∂_x Ω_xy, whose Fermi-surface average is the
Berry-curvature-dipole response (docs/dc_expansion.md). k in 1/a, Ω and g in a², ∂Ω in a³.

    PYTHONPATH=src MPLBACKEND=Agg python examples/band_geometry_maps.py      # ~2 s on one core

Writes docs/figures/band_geometry_maps.png.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from qgeom.bands import Bands
from qgeom.geometry import berry_curvature, berry_curvature_dipole, quantum_metric
from qgeom.models import qi_wu_zhang, tilted_dirac_2band
from qgeom.plots import figure_style, save_figure

ROOT = Path(__file__).resolve().parents[1]
N = 120  # k-points per direction


def lower_band(model, order: int, half_width: float = np.pi):
    """Bands of the lower band on an N² grid over [−w, w)², w = `half_width`, with the grid as [N, N] axes."""
    k1 = np.linspace(-half_width, half_width, N, endpoint=False)
    kx, ky = np.meshgrid(k1, k1, indexing="ij")
    return Bands.from_model(model, np.column_stack([kx.ravel(), ky.ravel()]), order=order), k1


def main() -> None:
    plt = figure_style()
    fig, axes = plt.subplots(2, 2, figsize=(8.4, 7.0))
    qwz, k1 = lower_band(qi_wu_zhang(u=1.0), 1)
    omega = berry_curvature(qwz)[:, 0, 1, 0].reshape(N, N)
    g = quantum_metric(qwz)[:, :, :, 0]
    trace = (g[:, 0, 0] + g[:, 1, 1]).reshape(N, N)
    chern = omega.sum() * (2 * np.pi / N) ** 2 / (2 * np.pi)
    print(f"qi_wu_zhang, lower band: Chern number {chern:.6f}; min over k of tr g − |Ω| = "
          f"{(trace - np.abs(omega)).min():.2e} (≥ 0 up to rounding)")
    # the Dirac model's curvature sits within |k| < 1: sampled there, not over the zone (a 120² zone
    # grid puts ~38 points across the window, pixelating the dipole)
    dirac, k_dirac = lower_band(tilted_dirac_2band(), 2, half_width=1.0)
    omega_d = berry_curvature(dirac)[:, 0, 1, 0].reshape(N, N)
    dipole = berry_curvature_dipole(dirac)[:, 0, 0, 1, 0].reshape(N, N)  # ∂_x Ω_xy
    print(f"tilted_dirac_2band, lower band: max |Ω_xy| {np.abs(omega_d).max():.3g}, "
          f"max |∂_x Ω_xy| {np.abs(dipole).max():.3g}")
    # k in 1/a (a: the lattice constant, both models' length unit): Ω and g in a², ∂Ω in a³
    panels = [(k1, omega, r"QWZ: $\Omega_{xy}$", "RdBu_r", r"$\Omega_{xy}$ ($a^2$)"),
              (k1, trace, r"QWZ: $g_{xx}+g_{yy}$", "viridis", r"$g_{xx}+g_{yy}$ ($a^2$)"),
              (k_dirac, omega_d, r"tilted Dirac: $\Omega_{xy}$", "RdBu_r", r"$\Omega_{xy}$ ($a^2$)"),
              (k_dirac, dipole, r"tilted Dirac: $\partial_x\Omega_{xy}$", "RdBu_r", r"$\partial_x\Omega_{xy}$ ($a^3$)")]
    for ax, (k, data, title, cmap, unit) in zip(axes.ravel(), panels):
        limit = np.abs(data).max()
        lo = 0.0 if cmap == "viridis" else -limit
        image = ax.pcolormesh(k, k, data.T, cmap=cmap, vmin=lo, vmax=limit, shading="auto")
        fig.colorbar(image, ax=ax, shrink=0.85, label=unit)
        ax.set_title(title + " (lower band)", fontsize=9)
        ax.set_aspect("equal")
        ax.set_xlabel("$k_x$ (1/a)")
        ax.set_ylabel("$k_y$ (1/a)")
    save_figure(fig, ROOT / "docs" / "figures" / "band_geometry_maps.png", overwrite=True)


if __name__ == "__main__":
    main()
