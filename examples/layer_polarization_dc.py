"""DC second-order layer polarization of a PT-symmetric antiferromagnet, term by term against the current.

Model: `mnbi2te4_bilayer_lattice(neel=±1, tilt=1.0)` (lattice bilayer MnBi2Te4, seed [K] Eq. S21, with a
Néel-locked tilt that lifts the symmetries forbidding a static layer response). Observable: the layer
polarization p_z = diag[I4, −I4] (PT-odd, T-even); compared with the current j_x (PT-even, T-odd).

(a) exact fermionic-bath NESS σ(Γ) (`qgeom.dc.exact`, observable=...) on a 24² grid, kT = 0.03 eV,
    μ = 0.06 eV, fitted as σΓ² = A + BΓ + CΓ², against the closed forms of `qgeom.dc.expansion`
    (observable=...): printed table, left panel (σΓ of p_z → B, σΓ² of j_x → A as Γ → 0);
(b) the Γ⁻¹ coefficient B of p_z and the Γ⁻² coefficient A of j_x vs μ (expansion, 240² grid,
    kT = 0.01 eV) for both Néel orders: right panel.
    → docs/figures/dc_observables_layer.png

    python examples/layer_polarization_dc.py          # ~16 s on one core
"""

from __future__ import annotations

import time
import warnings
from pathlib import Path

import numpy as np

from qgeom.cli.common import format_table
from qgeom.dc.exact import exact
from qgeom.dc.expansion import expansion
from qgeom.dc.gamma_fit import fit_gamma_series
from qgeom.models.library import mnbi2te4_bilayer_lattice
from qgeom.near_degeneracy import NearDegeneracyWarning
from qgeom.plots import save_figure

ROOT = Path(__file__).resolve().parents[1]
KT, MU, GRID = 0.03, 0.06, 24
GAMMAS = KT * np.array([0.005, 0.0075, 0.01, 0.014, 0.02, 0.028, 0.04])  # Γ ≪ kT and the band gaps
CASES = {"layer_polarization": "xy", "current": "xxx"}  # observable: component


def scans():
    """Exact σ(Γ), its fit (A, B, C) and the expansion (A, B) per (Néel order, observable)."""
    out = {}
    for neel in (1, -1):
        m = mnbi2te4_bilayer_lattice(neel=neel, tilt=1.0)
        for obs, comp in CASES.items():
            # error_tol=inf: 24² only samples the small Fermi pocket (the k-grid estimate warns), but the
            # comparison of the exact NESS with the closed forms is exact on any grid
            kw = dict(components=comp, observable=obs, mu=MU, temperature=KT, grid=GRID, units="model",
                      error_tol=np.inf)
            sigma = exact(m, gamma=GAMMAS, **kw).sigma.values[:, 0, 0]
            fit = fit_gamma_series(GAMMAS, sigma, degrees=(4, 5))
            mech = dict(mechanisms=["fermionic_bath"])
            terms = ("drude", "interband") if obs != "current" else ("drude", "bcd")
            with warnings.catch_warnings():  # it asks for the exact NESS as a check: the table is that check
                warnings.simplefilter("ignore", NearDegeneracyWarning)
                ds = expansion(m, **kw, **mech)
            e = ds.sigma.sel(mechanism="fermionic_bath", term=list(terms)).values[:, 0, 0]
            out[neel, obs] = sigma, fit, e
    return out


def mu_sweep(mus):
    """(B of p_z, A of j_x) vs μ from the closed forms, per Néel order."""
    out = {}
    for neel in (1, -1):
        m = mnbi2te4_bilayer_lattice(neel=neel, tilt=1.0)
        # error_tol=inf: the estimate (against the 80² sub-grid) reads 3.7, but 240² is within 1.6 % of 480²
        # (docs/dc_observables.md, "Numbers")
        kw = dict(mu=mus, temperature=0.01, grid=240, units="model", mechanisms=["fermionic_bath"], error_tol=np.inf)
        lp = expansion(m, observable="layer_polarization", components="xy", **kw)
        cur = expansion(m, components="xxx", **kw)
        out[neel] = (lp.sigma.sel(mechanism="fermionic_bath", term="interband").values[0],
                     cur.sigma.sel(mechanism="fermionic_bath", term="drude").values[0])
    return out


def main() -> None:
    t0 = time.perf_counter()
    res = scans()
    rows = []
    for (neel, obs), (_, fit, e) in res.items():
        A, B, C = fit["value"]
        dA, dB, dC = fit["uncertainty"]
        rows.append([obs, CASES[obs], neel, A, dA, e[0], B, dB, e[1], C, dC])
    print(f"exact Γ-scan vs expansion: lattice MnBi2Te4 (tilt 1 eV·Å), grid {GRID}², kT = {KT} eV, μ = {MU} eV "
          f"({time.perf_counter() - t0:.0f} s); model units (e/V² for p_z in 2D)")
    print(format_table(["observable", "comp", "neel", "A fit", "±", "A exp", "B fit", "±", "B exp", "C fit", "±"],
                       rows, floatfmt="{: .4e}"))
    mus = np.linspace(-0.02, 0.12, 57)
    sweep = mu_sweep(mus)
    path = figure(res, mus, sweep)
    print(f"wrote {path} ({time.perf_counter() - t0:.0f} s)")


def figure(res, mus, sweep):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(1, 2, figsize=(10, 3.8))
    for neel, style in ((1, "o"), (-1, "s")):
        sigma, _, e = res[neel, "layer_polarization"]
        ax[0].plot(GAMMAS * 1e3, sigma * GAMMAS, style, color="C0", label=f"$p_z$ xy, σΓ (exact), neel {neel:+d}")
        ax[0].axhline(e[1], color="C0", ls="--", lw=0.8)
        sigma, _, e = res[neel, "current"]
        scale = np.abs(res[1, "layer_polarization"][2][1]) / np.abs(res[1, "current"][2][0])
        ax[0].plot(GAMMAS * 1e3, sigma * GAMMAS**2 * scale, style, mfc="none", color="C3",
                   label=f"$j_x$ xxx, σΓ² × {scale:.2g} (exact), neel {neel:+d}")
        ax[0].axhline(e[0] * scale, color="C3", ls="--", lw=0.8)
    ax[0].set_xlabel("Γ (meV)")
    ax[0].set_ylabel("σΓ of $p_z$ (e/V²·eV),  σΓ² of $j_x$ (rescaled)")
    ax[0].set_title("exact NESS → Γ⁻¹ of p_z, Γ⁻² of j_x (dashed: closed forms)", fontsize=8)
    ax[0].legend(fontsize=6)
    rescale = np.abs(sweep[1][0]).max() / np.abs(sweep[1][1]).max()
    for neel, ls in ((1, "-"), (-1, "--")):
        B, A = sweep[neel]
        ax[1].plot(mus, B, ls, color="C0", label=f"$p_z$ xy: Γ⁻¹ coefficient B, neel {neel:+d}")
        ax[1].plot(mus, A * rescale, ls, color="C3",
                   label=f"$j_x$ xxx: Γ⁻² coefficient A × {rescale:.2g}, neel {neel:+d}")
    ax[1].axhline(0, color="k", lw=0.5)
    ax[1].set_xlabel("μ (eV)")
    ax[1].set_ylabel("B of $p_z$ (e/V²·eV),  A of $j_x$ (rescaled)")
    ax[1].set_title("closed forms, 240², kT = 0.01 eV: both flip with the Néel order", fontsize=8)
    ax[1].legend(fontsize=6)
    fig.suptitle("DC second-order layer polarization vs current, lattice bilayer MnBi2Te4 (tilt 1 eV·Å)", fontsize=9)
    fig.tight_layout()
    return save_figure(fig, ROOT / "docs" / "figures" / "dc_observables_layer.png")


if __name__ == "__main__":
    main()
