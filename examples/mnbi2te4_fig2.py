"""Reproduce seed [K] Fig. 2: Kramers nonlinearities of bilayer MnBi2Te4.

(a) Im χ^{xy} of the layer polarization p_z vs ħω at τ = 0.25 ps, μ = 0.01 eV: KI, KFS, shift-like
    → docs/figures/optical_mnbi2te4_fig2a.png, results/optical_mnbi2te4_fig2a.nc
(b) sign of Im χ^{xy} of p_z and s_z for Néel order x = ±1 (printed table)
plus convergence in broadening / radial grid and the effect of the k cutoff (printed).

    python examples/mnbi2te4_fig2.py            # ~6 s on one core
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np

from qgeom.cli.common import format_table
from qgeom.models.library import mnbi2te4_bilayer
from qgeom.optical import response
from qgeom.results import metadata, save

ROOT = Path(__file__).resolve().parents[1]
KINDS = ["kramers_injection", "kramers_fermi_sea", "shift_like"]
OMEGA = np.linspace(0.0, 0.3, 151)
COMMON = dict(mu=0.01, tau=0.25, temperature=1e-3)


def imxy(ds, kind):
    return ds.chi.sel(kind=kind, alpha="x", beta="y").imag.values


def main(quick: bool = False) -> None:
    grid = (240, 8) if quick else (480, 8)
    t0 = time.perf_counter()
    ds = response(mnbi2te4_bilayer(neel=+1), "layer_polarization", kinds=KINDS, omega=OMEGA, grid=grid, **COMMON)
    print(f"Fig. 2a: grid {grid} (disk, cutoff {metadata(ds, 'grid')['cutoff']} 1/Å), broadening "
          f"{metadata(ds, 'parameters')['broadening']} eV Lorentzian, {time.perf_counter() - t0:.1f} s")
    save(ds, ROOT / "results" / "optical_mnbi2te4_fig2a.nc")
    rows = []
    for k in KINDS:
        y = imxy(ds, k)
        imax, imin = int(np.argmax(y)), int(np.argmin(y))
        rows.append([k, float(OMEGA[imax]), float(y[imax]), float(OMEGA[imin]), float(y[imin])])
    print(f"Im chi^xy [p_z] in {ds.chi.attrs['units']}")
    print(format_table(["kind", "w_max (eV)", "max", "w_min (eV)", "min"], rows, floatfmt="{: .4g}"))
    below = OMEGA < 0.06
    print("KFS below the absorption edge (ħω < 0.06 eV):",
          np.array2string(imxy(ds, "kramers_fermi_sea")[below][::5], precision=3))

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(5.6, 3.8))
    for k, c, lab in zip(KINDS, ["tab:blue", "tab:purple", "tab:red"], ["KI", "KFS", "shift-like ×10"]):
        ax.plot(OMEGA, imxy(ds, k) * (10 if k == "shift_like" else 1), color=c, label=lab)
    ax.axhline(0, color="0.6", lw=0.6)
    ax.set_xlabel("ħω (eV)")
    ax.set_ylabel("Im χ$^{xy}_{LP}$ (e/V²)")
    ax.set_title("bilayer MnBi$_2$Te$_4$, x = +1, τ = 0.25 ps, μ = 0.01 eV", fontsize=9)
    ax.legend(fontsize=8)
    fig.tight_layout()
    out = ROOT / "docs" / "figures" / "optical_mnbi2te4_fig2a.png"
    fig.savefig(out, dpi=140)
    print(f"wrote {out}")

    # Fig. 2b: signs for x = ±1 at the KI maximum of |Im χ| (p_z) and for s_z
    w_peak = float(OMEGA[np.argmax(np.abs(imxy(ds, "kramers_injection")))])
    om_b = np.array([0.04, w_peak, 0.2])
    rows = []
    for obs in ("layer_polarization", "spin_z"):
        for x in (+1, -1):
            d = response(mnbi2te4_bilayer(neel=x), obs, kinds=KINDS[:2], omega=om_b, grid=grid, **COMMON)
            ki, kfs = imxy(d, "kramers_injection"), imxy(d, "kramers_fermi_sea")
            rows.append([obs, x, float(ki[1]), "+" if ki[1] > 0 else "-", float(kfs[0]), "+" if kfs[0] > 0 else "-"])
    print(f"Fig. 2b: Im chi^xy at ħω = {w_peak:.3f} eV (KI) and 0.04 eV (KFS, below the edge)")
    print(format_table(["observable", "x", "KI", "sign", "KFS(0.04)", "sign"], rows, floatfmt="{: .4g}"))

    if quick:
        return
    # convergence and cutoff
    om_c = OMEGA[::5]
    base = response(mnbi2te4_bilayer(), "layer_polarization", kinds=KINDS, omega=om_c, grid=(480, 8), **COMMON)
    for label, kw in [("grid (960, 8)", dict(grid=(960, 8))), ("grid (240, 8)", dict(grid=(240, 8))),
                      ("broadening 1 meV", dict(grid=(960, 8), broadening=1e-3)),
                      ("broadening 4 meV", dict(grid=(480, 8), broadening=4e-3)),
                      ("gaussian 2 meV", dict(grid=(480, 8), broadening_kind="gaussian"))]:
        d = response(mnbi2te4_bilayer(), "layer_polarization", kinds=KINDS, omega=om_c, **kw, **COMMON)
        diffs = [np.abs(imxy(d, k) - imxy(base, k)).max() / np.abs(imxy(base, k)).max() for k in KINDS]
        print(f"  vs default: {label:18s} max rel diff KI {diffs[0]:.2e}  KFS {diffs[1]:.2e}  shift {diffs[2]:.2e}")
    for cut in (0.20, 0.26, 0.30):
        n_r = int(480 * cut / 0.16)
        d = response(mnbi2te4_bilayer(), "layer_polarization", kinds=KINDS, omega=OMEGA, grid=(n_r, 8), cutoff=cut, **COMMON)
        parts = []
        for k in KINDS:
            y = imxy(d, k)
            i = int(np.argmax(np.abs(y)))
            parts.append(f"{k}: |max| {abs(y[i]):.4g} at {OMEGA[i]:.3f} eV")
        print(f"  cutoff {cut:.2f} 1/Å (n_r {n_r}): " + "; ".join(parts))


if __name__ == "__main__":
    main(quick="--quick" in sys.argv)
