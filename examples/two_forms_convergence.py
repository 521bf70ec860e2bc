"""Which form of the Drude and kinetic terms converges first: smooth bands against a real material.

`dc.expansion` evaluates each term in one of two forms that are the same k-integral (one
integration by parts; docs/dc_expansion.md, "Two forms of each term"): the seed's (Drude
−¼∂_a(v^b v^c) f0′, kinetic 2C ∂³ε f0″, geometric −∂_a g^{bc} f0′) and the integrated-by-parts one
(¼ v^a v^b v^c f0″, C v³ f0⁗, g^{bc} v^a f0″). This script measures the relative error of each
(max over components and μ, against the finest grid of the by-parts forms) on:

(a) the seed model of [D] Eq. 7 (`pt_tilted_4band`, kT = 0.05, 13 μ, n×n grids): smooth bands, the
    Fermi factor sets the grid — the seed forms (lower occupation derivative) win;
(b) 1T′-MoS₂ (48 Wannier functions, examples/MoS2-1Tp) with time reversal restored, in a 0.1 V/Å
    field and a 50 meV exchange field (kT = 25 meV, 12 μ in the valence bands, resolution=0, 9m×5m
    Γ-centred grids): avoided crossings near μ set the grid — the by-parts forms, which have no
    interband denominators in these terms, win, at about half the CPU time per k-point.
    → docs/figures/two_forms_convergence.png

    python examples/two_forms_convergence.py          # ~1.5 min on one core
"""

from __future__ import annotations

import time
import warnings
from pathlib import Path

import numpy as np

from qgeom.cli.common import format_table
from qgeom.dc.expansion import BY_PARTS, expansion
from qgeom.models import from_wannier90
from qgeom.models.library import pt_tilted_4band
from qgeom.models.onsite import with_exchange_field
from qgeom.models.symmetrize import restore_time_reversal
from qgeom.models.two_dimensional import with_displacement_field
from qgeom.plots import figure_style, save_figure
from qgeom.symmetry import SymmetryWarning

ROOT = Path(__file__).resolve().parents[1]
FORMS = {"seed": {}, "by parts": dict(BY_PARTS)}
TERMS = ("drude", "kinetic")


def mos2_in_fields():
    mos2 = restore_time_reversal(from_wannier90(ROOT / "examples" / "MoS2-1Tp"))
    return with_exchange_field(with_displacement_field(mos2, 0.1), 0.05)


CASES = {  # name: (model factory, expansion keywords, grids coarse to fine; the last is the reference)
    "seed model [D] Eq. 7, kT 0.05": (pt_tilted_4band, dict(mu=np.linspace(-4.6, -3.4, 13), temperature=0.05,
                                                            components=["xxx", "xyy", "yxx", "yyy"]),
                                      [50, 75, 100, 150, 200, 400]),
    # xxx, xyy: odd in x, the components of the T-odd Drude and kinetic terms that the crystal's group in
    # both fields, {1, M_x·T}, allows (it sets yxx to 0 on every grid)
    "1T'-MoS2 in fields, kT 0.025 eV": (
        mos2_in_fields,
        dict(mu=-3.586 - 0.40 + 0.025 * np.arange(12), temperature=0.025, components=["xxx", "xyy"], resolution=0,
             offset="gamma"),
        [(9 * m, 5 * m) for m in (8, 12, 16, 20, 24, 28)]),
}


def errors(name: str) -> list[dict]:
    """Per form and grid: k-points, CPU s and the relative error of each term against the reference."""
    factory, kw, grids = CASES[name]
    model = factory()
    runs = []
    for form, extra in FORMS.items():
        for grid in grids if form == "by parts" else grids[:-1]:
            c0 = time.process_time()
            with warnings.catch_warnings():  # the BCD (not compared) of xyy is the crystal's zero in every run
                warnings.filterwarnings("ignore", r".*bcd\[xyy\]", SymmetryWarning)
                ds = expansion(model, grid=grid, mechanisms=["fermionic_bath"], units="model", progress=False,
                               error_tol=np.inf, **kw, **extra)
            sigma = ds.sigma.sel(mechanism="fermionic_bath")
            runs.append(dict(form=form, grid=grid, nk=int(np.prod(np.broadcast_to(grid, (model.dim,)))),
                             cpu=time.process_time() - c0, sigma={t: sigma.sel(term=t).values for t in TERMS}))
    ref = runs[-1]["sigma"]
    for r in runs:
        r["error"] = {t: float(np.abs(r["sigma"][t] - ref[t]).max() / np.abs(ref[t]).max()) for t in TERMS}
    return runs[:-1]


def figure(results: dict, path: Path) -> Path:
    from matplotlib.ticker import NullFormatter

    plt = figure_style()
    fig, axes = plt.subplots(1, 2, figsize=(9, 3.6))
    for ax, (name, runs) in zip(axes, results.items()):
        for form, color, marker in (("seed", "C0", "o"), ("by parts", "C3", "s")):
            rows = [r for r in runs if r["form"] == form]
            for term, style in (("drude", "-"), ("kinetic", "--")):
                ax.loglog([r["nk"] for r in rows], [max(r["error"][term], 1e-16) for r in rows], style,
                          color=color, marker=marker, label=f"{term}, {form} form")
        ax.axhline(1e-3, color="0.6", lw=0.8)
        ax.xaxis.set_minor_formatter(NullFormatter())
        ax.set(title=name, xlabel="k-points", ylabel="relative error")
        ax.legend(fontsize=7)
    return save_figure(fig, path)


def main():
    results = {name: errors(name) for name in CASES}
    for name, runs in results.items():
        print(f"\n{name} (relative error against the by-parts forms on the finest grid)")
        print(format_table(["form", "grid", "k-points", "CPU s", "drude", "kinetic"],
                           [[r["form"], str(r["grid"]), r["nk"], f"{r['cpu']:.1f}", f"{r['error']['drude']:.1e}",
                             f"{r['error']['kinetic']:.1e}"] for r in runs]))
    print("\nwrote", figure(results, ROOT / "docs" / "figures" / "two_forms_convergence.png"))


if __name__ == "__main__":
    main()
