"""Adaptive k-grid refinement against plain uniform grids: error versus k-points evaluated.

Model: `pt_tilted_4band` at a low temperature (kT = 0.005, the Fermi-surface integrands are
sharp), μ-scan of 3 values in [2, 2.4] (near the bottom of the upper bands; the gap is ±1.67),
components xxx, xyy, yxx, all terms. Reference: 200² refined by 5 levels (the resolution of a
6400² grid); the plain 1600² grid is printed against it. For each plain grid n² and for refined
runs from several base grids (`refine=1…5`), the error is the largest over terms of
max |σ − σ_ref| / max |σ_ref| (components, μ).

    python examples/refinement_convergence.py      # ~30 s on one core
    → table on stdout, docs/figures/refinement_convergence.png
"""

from __future__ import annotations

import json
import time
import warnings
from pathlib import Path

import numpy as np

from qgeom.accuracy import AccuracyWarning
from qgeom.cli.common import format_table
from qgeom.dc.expansion import expansion
from qgeom.models.library import pt_tilted_4band
from qgeom.plots import figure_style, save_figure

ROOT = Path(__file__).resolve().parents[1]
KW = dict(components="xxx,xyy,yxx", mu=np.linspace(2.0, 2.4, 3), temperature=0.005, progress=False, error_tol=1e9)
PLAIN = (50, 100, 200, 400, 800, 1600)
REFINED = ((50, (1, 2, 3, 4, 5)), (100, (1, 2, 3, 4)))


def error(sigma: np.ndarray, ref: np.ndarray) -> float:
    scale = np.abs(ref).max(axis=(2, 3))
    live = scale > 1e-8 * scale.max()
    return float((np.abs(sigma - ref).max(axis=(2, 3))[live] / scale[live]).max())


def run(model, grid: int, refine: int = 0) -> tuple[np.ndarray, int, float]:
    t = time.process_time()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", AccuracyWarning)
        ds = expansion(model, grid=grid, refine=refine, refine_tol=1e-12, **KW)
    points = json.loads(ds.attrs["refinement"])["points_evaluated"] if refine else grid**2
    return ds.sigma.values, points, time.process_time() - t


def main() -> None:
    model = pt_tilted_4band()
    ref = run(model, 200, 5)[0]
    rows, plain, refined = [], [], {}
    for n in PLAIN:
        s, pts, cpu = run(model, n)
        plain.append((pts, error(s, ref)))
        rows.append([f"plain {n}²", pts, plain[-1][1], cpu])
    for base, levels in REFINED:
        for L in levels:
            s, pts, cpu = run(model, base, L)
            refined.setdefault(base, []).append((pts, error(s, ref)))
            rows.append([f"{base}² + {L} level(s)", pts, refined[base][-1][1], cpu])
    print(format_table(["grid", "k-points evaluated", "error", "CPU s"], rows, floatfmt="{:.3g}"))

    plt = figure_style()
    fig, ax = plt.subplots(figsize=(5.2, 3.6))
    ax.loglog(*zip(*plain), "o-", color="k", label="plain n² grid")
    for (base, pts), marker in zip(refined.items(), "sd^"):
        ax.loglog(*zip(*pts), marker + "--", label=f"{base}² + refinement levels")
    ax.set_xlabel("k-points evaluated")
    ax.set_ylabel("relative error (worst term)")
    ax.set_title("pt_tilted_4band, kT = 0.005, 3 μ in [2, 2.4]")
    ax.legend(fontsize=8)
    save_figure(fig, ROOT / "docs" / "figures" / "refinement_convergence.png", overwrite=True)


if __name__ == "__main__":
    main()
