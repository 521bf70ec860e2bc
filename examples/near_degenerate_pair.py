"""A near-degenerate pair in the Γ expansion against the exact fermionic-bath NESS.

Model: `split_pair_2band(delta=Δ)`, H = ε(k) + (Δ/2) n(k)·σ with |n| = 1: two bands split by the
same tunable Δ at every k (an avoided crossing along the whole Fermi surface). At Δ = 0 it is two
copies of ε(k), whose σ_yxx vanishes (ε is even in ky); for Δ ≫ Γ the expansion's interband terms
(∝ 1/Δ^k, with the interband velocity ∝ Δ) give a finite Γ⁰ term σ_yxx and a Γ⁻¹ term σ_xyy ∝ Δ.
kT = 0.25, μ = −1, 64² grid, fermionic bath.

(a) Table: exact σ(Γ) over Γ = 0.02–0.16 kT fitted as A/Γ² + B/Γ + C, against the expansion with
    the pair resolved (resolution=0) and grouped (resolution = kT), for Δ ≪ Γ and Δ ≫ Γ.
(b) Figure: exact σ_yxx(Γ) / σ⁽⁰⁾_yxx(ungrouped) and σ_xyy(Γ)·Γ / σ⁽⁻¹⁾_xyy(ungrouped) against Δ/Γ
    for three Γ: one curve per term, crossing over from the grouped (0) to the resolved value (1);
    half-way at Δ ≈ Γ (Γ⁻¹ term) and Δ ≈ 4 Γ (Γ⁰ term).
    → docs/figures/near_degenerate_pair.png

    python examples/near_degenerate_pair.py          # ~15 s on one core

It prints one NearDegeneracyWarning, the one this example is about: the pair at Δ = 1e-4 grouped
(resolution = kT) changes the geometric term by orders of magnitude of its scale.
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np

from qgeom.cli.common import format_table
from qgeom.dc.exact import exact
from qgeom.dc.expansion import expansion
from qgeom.dc.gamma_fit import fit_gamma_series
from qgeom.models.library import split_pair_2band
from qgeom.plots import figure_style, save_figure

ROOT = Path(__file__).resolve().parents[1]
KT, MU, GRID = 0.25, -1.0, 64
GAMMAS = KT * np.array([0.02, 0.03, 0.045, 0.06, 0.08, 0.1, 0.13, 0.16])  # Γ ≤ Δ/12 for Δ = 0.5
ROWS = [("xxx", "A", "drude"), ("xyy", "B", "bcd"), ("yxx", "C", "intrinsic")]
SWEEP_GAMMAS = (0.005, 0.01, 0.02)
# error_tol=inf: the k-grid error estimate compares with the 32² sub-grid, which resolves neither
# Γ = 0.02 kT nor the resolved geometric term (32²: 5e-2 of the term's largest value off 128², 64²: 4e-6),
# and reads a component that vanishes (σ_yxx as Δ → 0) as a relative error of ~1e3: it issued 54
# AccuracyWarnings, while 64² moves the plotted ratios by < 0.03 from 96² (measured).
KW = dict(mu=MU, temperature=KT, grid=GRID, progress=False, error_tol=np.inf)


def coefficients(delta: float, resolution):
    """Expansion terms (drude, bcd, intrinsic) [term, component] of the fermionic bath."""
    ds = expansion(split_pair_2band(delta=delta), components=["xxx", "xyy", "yxx"], resolution=resolution,
                   mechanisms=["fermionic_bath"], **KW)
    return ds.sigma.sel(mechanism="fermionic_bath", mu=MU)


def fit_table() -> list[list]:
    """Fitted A, B, C of the exact σ(Γ) against the resolved and grouped expansion, Δ ≪ Γ and Δ ≫ Γ."""
    rows = []
    for delta in (1e-4, 0.5):
        sigma = exact(split_pair_2band(delta=delta), components=["xxx", "xyy", "yxx"], gamma=GAMMAS, **KW).sigma
        fit = fit_gamma_series(GAMMAS, sigma.sel(mu=MU).transpose("component", "gamma").values)
        resolved, grouped = coefficients(delta, 0), coefficients(delta, KT)
        for comp, coef, term in ROWS:
            i, j = ["xxx", "xyy", "yxx"].index(comp), "ABC".index(coef)
            rows.append([delta, comp, coef, fit["value"][i, j], fit["uncertainty"][i, j],
                         float(resolved.sel(term=term, component=comp)), float(grouped.sel(term=term, component=comp))])
    return rows


def sweep(deltas):
    """Exact σ_yxx(Γ) and σ_xyy(Γ)·Γ over Δ at the Γ of SWEEP_GAMMAS, and the resolved C_yxx, B_xyy."""
    out = []
    for delta in deltas:
        m = split_pair_2band(delta=delta)
        s = exact(m, components=["yxx", "xyy"], gamma=list(SWEEP_GAMMAS), **KW).sigma.sel(mu=MU)
        e = coefficients(delta, 0)
        out.append((s.sel(component="yxx").values, s.sel(component="xyy").values * np.array(SWEEP_GAMMAS),
                    float(e.sel(term="intrinsic", component="yxx")), float(e.sel(term="bcd", component="xyy"))))
    return out


def half_way(x, ratio) -> float:
    """The first x where the ratio reaches ½ (linear interpolation in log x)."""
    ratio = np.asarray(ratio)
    i = int(np.flatnonzero(ratio >= 0.5)[0])
    f = (0.5 - ratio[i - 1]) / (ratio[i] - ratio[i - 1])
    return float(np.exp(np.log(x[i - 1]) + f * (np.log(x[i]) - np.log(x[i - 1]))))


def figure(deltas, data, path):
    plt = figure_style()
    fig, axes = plt.subplots(1, 2, figsize=(9, 3.6), sharey=True)
    panels = [(0, 2, r"$\sigma_{yxx}(\Gamma)\,/\,\sigma^{(0)}_{yxx}$ (resolved)"),
              (1, 3, r"$\Gamma\sigma_{xyy}(\Gamma)\,/\,\sigma^{(-1)}_{xyy}$ (resolved)")]
    for ax, (k, ref, label) in zip(axes, panels):
        for g_i, (g, marker) in enumerate(zip(SWEEP_GAMMAS, "os^")):
            ratio = [row[k][g_i] / row[ref] for row in data]
            ax.semilogx(deltas / g, ratio, marker + "-", ms=7 - 2 * g_i, mfc="none", lw=0.8,
                        label=rf"exact NESS, $\Gamma$ = {g:g}")
        ax.axhline(1, color="k", lw=0.8, label="expansion, pair resolved (resolution=0)")
        ax.axhline(0, color="0.5", lw=0.8, ls="--", label=r"expansion, pair grouped ($\Delta$ < resolution)")
        x = half_way(deltas / SWEEP_GAMMAS[1], [row[k][1] / row[ref] for row in data])
        ax.axvline(x, color="C3", lw=0.8, ls=":", label=rf"half-way, $\Delta$ = {x:.2g} $\Gamma$")
        ax.legend(fontsize=7, loc="upper left", ncol=2)  # in the head room above the curves (ylim below)
        ax.set_xlabel(r"pair splitting $\Delta/\Gamma$")
        ax.set_title(label, fontsize=9)
    axes[0].set_ylabel("exact / resolved expansion")
    axes[0].set_ylim(-0.2, 1.55)
    fig.suptitle(f"split_pair_2band, kT = {KT:g}, mu = {MU:g}, {GRID}x{GRID} grid (grouped below kT = "
                 f"{KT / SWEEP_GAMMAS[0]:g}-{KT / SWEEP_GAMMAS[-1]:g} Gamma)", fontsize=9)
    return save_figure(fig, path)


def main():
    t0 = time.perf_counter()
    head = ["Delta", "comp", "coef", "exact fit", "+-", "resolved (res=0)", "grouped (res=kT)"]
    print(format_table(head, fit_table()))
    deltas = np.geomspace(1e-3, 0.5, 28)
    data = sweep(deltas)
    for delta, row in zip(deltas, data):
        print(f"Delta {delta:.4g}: yxx exact/resolved {np.round(row[0] / row[2], 3)}, "
              f"xyy {np.round(row[1] / row[3], 3)}")
    for k, ref, name in ((0, 2, "yxx Gamma^0"), (1, 3, "xyy Gamma^-1")):
        print(name, "half-way at Delta/Gamma =",
              [round(half_way(deltas / g, [row[k][i] / row[ref] for row in data]), 2) for i, g in enumerate(SWEEP_GAMMAS)])
    print("wrote", figure(deltas, data, ROOT / "docs" / "figures" / "near_degenerate_pair.png"),
          f"({time.perf_counter() - t0:.0f} s)")


if __name__ == "__main__":
    main()
