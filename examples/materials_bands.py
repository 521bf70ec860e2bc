"""Band structures of the bcc Fe and 1T'-MoS2 Wannier models shipped in examples/, and how well each
model obeys the symmetry that makes E(k) = E(-k) (inversion for Fe; inversion and time reversal for MoS2).

    PYTHONPATH=src MPLBACKEND=Agg python examples/materials_bands.py   # ~4 s on one core

Writes docs/figures/fe_bands.png and docs/figures/mos2_bands.png.
"""

from __future__ import annotations

import time
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np

from qgeom.bandstructure import band_structure
from qgeom.models import from_wannier90

ROOT = Path(__file__).resolve().parents[1]


def inversion_breaking(model, n=400, seed=0) -> float:
    """max |ε_n(k) − ε_n(−k)| (eV) over random k of the Brillouin zone."""
    f = np.random.default_rng(seed).uniform(-0.5, 0.5, (n, model.dim))
    k = f @ model.reciprocal_lattice
    return float(np.abs(np.linalg.eigvalsh(model.hamiltonian(k)) - np.linalg.eigvalsh(model.hamiltonian(-k))).max())


def plot(ds, e_ref, label, path, window):
    fig, ax = plt.subplots(figsize=(5, 4))
    ax.plot(ds.distance, ds.energy - e_ref, color="k", lw=0.8)
    ax.set_xticks(ds.attrs["path_ticks"], ds.attrs["path_labels"])
    for x in ds.attrs["path_ticks"]:
        ax.axvline(x, color="0.7", lw=0.5)
    ax.axhline(0, color="tab:red", lw=0.6, ls="--")
    ax.set_xlim(ds.distance[0], ds.distance[-1])
    ax.set_ylim(*window)
    ax.set_ylabel(f"energy − {label} (eV)")
    fig.tight_layout()
    fig.savefig(path, dpi=130)
    plt.close(fig)


def main():
    t0 = time.perf_counter()
    fe = from_wannier90(ROOT / "examples" / "Fe")
    ef = fe.parameters["fermi_energy"]
    ds = band_structure(fe, "G-H-N-G-P-H", 301)
    plot(ds, ef, "E_F", ROOT / "docs" / "figures" / "fe_bands.png", (-6, 4))
    print(f"Fe: {fe.nbands} bands, {len(fe.R)} R, E_F = {ef} eV, max|E(k)-E(-k)| = {inversion_breaking(fe):.3g} eV")

    mos2 = from_wannier90(ROOT / "examples" / "MoS2-1Tp")  # d = 2: the slab's vacuum is dropped
    ds = band_structure(mos2, "X-G-Y-M-G", 301)
    f = np.random.default_rng(1).uniform(-0.5, 0.5, (4000, 2)) @ mos2.reciprocal_lattice
    e = np.linalg.eigvalsh(mos2.hamiltonian(f))
    vbm, cbm = e[:, 27].max(), e[:, 28].min()  # 28 valence electrons in these orbitals (2 × MoS2)
    plot(ds, 0.5 * (vbm + cbm), "midgap", ROOT / "docs" / "figures" / "mos2_bands.png", (-2, 2))
    print(f"MoS2: d = {mos2.dim}, area {mos2.cell_volume:.4f} Å^2, gap (4000 random k) {cbm - vbm:.4f} eV, "
          f"VBM {vbm:.4f} CBM {cbm:.4f}, max|E(k)-E(-k)| = {inversion_breaking(mos2):.3g} eV")
    print(f"{time.perf_counter() - t0:.1f} s")


if __name__ == "__main__":
    main()
