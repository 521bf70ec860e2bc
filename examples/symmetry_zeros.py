"""The two things `symmetry=` does, drawn: the irreducible wedge of a k-grid, and Neumann zeros.

(a) `symmetry="auto"` on a 3-orbital hexagonal model built with the magnetic group 3m′ (random hoppings
    averaged over the group): the detected group and the wedge of a 24² Γ-centred grid, each point
    coloured by the size of its orbit (its weight); the wedge sum equals the full-grid sum to rounding
    and the forbidden components are exact zeros (printed).
(b) The default `symmetry="neumann"` on the 48-orbital Wannier model of monolayer 1T′-MoS₂ (time
    reversal restored) in a displacement field of 0.1 V/Å, without and with an exchange field
    J = 50 meV: which of the 8 in-plane components of each term are forbidden (exact zeros, "0") and
    the size of the others, |σ| / max over the components of the term.

    PYTHONPATH=src MPLBACKEND=Agg python examples/symmetry_zeros.py      # ~5 s on one core

Writes docs/figures/symmetry_zeros.png; physics and numbers in docs/symmetry.md and docs/mos2_field.md.
"""

from __future__ import annotations

import itertools
import warnings
from pathlib import Path

import numpy as np

from qgeom.dc import expansion
from qgeom.kspace import make_grid
from qgeom.models import from_wannier90
from qgeom.models.onsite import with_exchange_field
from qgeom.models.symmetrize import restore_time_reversal
from qgeom.models.tight_binding import TightBindingModel
from qgeom.models.two_dimensional import with_displacement_field
from qgeom.plots import figure_style, save_figure
from qgeom.results import metadata
from qgeom.symmetry import from_symbol, resolve, restrict

ROOT = Path(__file__).resolve().parents[1]
HEXAGONAL = np.array([[1.0, 0.0], [-0.5, np.sqrt(3) / 2]])  # lattice vectors (rows)
COMPONENTS = ["xxx", "xxy", "xyx", "xyy", "yxx", "yxy", "yyx", "yyy"]
TERMS = ["drude", "bcd", "geometric", "kinetic"]
MOS2_MU = -3.586 + 0.1  # eV: 0.1 eV above mid-gap (conduction band)


def hexagonal_model(group: str = "3m'", seed: int = 0) -> TightBindingModel:
    """s + p_x + p_y orbitals on a hexagonal lattice, random complex nearest-cell hoppings averaged over
    `group` (t_gR = U t_R U†, or U t_R* U† for a primed operation): its bands have exactly that group."""
    ops = restrict(from_symbol(group), 2)
    rng = np.random.default_rng(seed)
    inv = np.linalg.inv(HEXAGONAL)
    hop: dict = {}
    for R in itertools.product((-1, 0, 1), repeat=2):
        t = rng.normal(size=(3, 3)) + 1j * rng.normal(size=(3, 3))
        for g in ops:
            U = np.eye(3)
            U[1:, 1:] = g.R[:2, :2]
            image = tuple(np.rint(np.asarray(R) @ HEXAGONAL @ g.R[:2, :2].T @ inv).astype(int))
            hop[image] = hop.get(image, 0) + U @ (np.conj(t) if g.time_reversal else t) @ U.T / len(ops)
    keys = list(hop)
    t = np.array([0.5 * (hop[k] + hop[tuple(-x for x in k)].conj().T) for k in keys])  # Hermitian H(k)
    return TightBindingModel(np.array(keys), t, lattice=HEXAGONAL, name=f"hexagonal_{group}")


def first_zone(k: np.ndarray, reciprocal: np.ndarray) -> np.ndarray:
    """Each k moved by a reciprocal lattice vector to its shortest image (the first Brillouin zone)."""
    shifts = np.array(list(itertools.product((-1, 0, 1), repeat=2))) @ reciprocal
    images = k[:, None, :] + shifts[None]
    return images[np.arange(len(k)), np.argmin(np.linalg.norm(images, axis=2), axis=1)]


def wedge_panel(ax) -> None:
    model = hexagonal_model()
    grid = make_grid(model, 24, offset="gamma")
    plan = resolve(model, "auto", grid)
    wedge = plan.grid
    mu = float(np.median(np.linalg.eigvalsh(model.hamiltonian(np.zeros((1, 2)), 0))))
    kw = dict(components=COMPONENTS, mu=[mu], temperature=0.2, grid=24, offset="gamma", progress=False)
    with warnings.catch_warnings():  # a coarse grid: the error estimate warns; the comparison is exact on any grid
        warnings.simplefilter("ignore")
        full, sym = expansion(model, symmetry=None, **kw), expansion(model, symmetry="auto", **kw)
    group = metadata(sym, "symmetry")["symmetry_group"]
    rel = float(abs(full.sigma - sym.sigma).max() / abs(full.sigma).max())
    print(f"{model.name}: detected {group}, wedge {wedge.npoints} of {wedge.full_npoints} points; "
          f"wedge vs full grid: {rel:.1e} relative; forbidden (term: components): "
          + ", ".join(f"{t}: {','.join(c for c, z in zip(COMPONENTS, sym.forbidden.sel(term=t).values) if z) or '-'}"
                      for t in ("drude", "bcd")))
    every = first_zone(grid.points(0, grid.npoints)[0], model.reciprocal_lattice)
    k = first_zone(wedge.points(0, wedge.npoints)[0], model.reciprocal_lattice)
    ax.scatter(every[:, 0], every[:, 1], s=4, color="0.85")
    dots = ax.scatter(k[:, 0], k[:, 1], s=16, c=wedge.multiplicity, cmap="viridis")
    ax.figure.colorbar(dots, ax=ax, label="orbit size (weight)", shrink=0.8)
    ax.set_aspect("equal")
    ax.set_xlabel("$k_x$ (1/a)")
    ax.set_ylabel("$k_y$ (1/a)")
    ax.set_title(f"(a) hexagonal model, detected {group.split(' (')[0]}: {wedge.npoints} of "
                 f"{wedge.full_npoints} k-points", fontsize=9)


def mos2_rows() -> tuple[list[str], np.ndarray, np.ndarray]:
    base = restore_time_reversal(from_wannier90(ROOT / "examples" / "MoS2-1Tp"))
    labels, size, zero = [], [], []
    for name, model in (("field", with_displacement_field(base, 0.1)),
                        ("field + J", with_exchange_field(with_displacement_field(base, 0.1), 0.05))):
        with warnings.catch_warnings():  # the coarse grid and the model's own symmetry breaking: both expected here
            warnings.simplefilter("ignore")
            ds = expansion(model, components=COMPONENTS, mu=[MOS2_MU], temperature=0.05, grid=24, progress=False)
        info = metadata(ds, "symmetry")
        print(f"1T'-MoS2 {name}: the model keeps {info['symmetry_group']}; the crystal's group in the fields: "
              f"{info.get('crystal_group')}")
        bath = ds.sel(mechanism="fermionic_bath", mu=MOS2_MU)
        for term in TERMS:
            s = np.abs(bath.sigma.sel(term=term).values)
            labels.append(f"{name}: {term}")
            size.append(s / s.max() if s.max() > 0 else s)
            zero.append(bath.forbidden.sel(term=term).values)
    return labels, np.array(size), np.array(zero)


def zeros_panel(ax) -> None:
    labels, size, zero = mos2_rows()
    shown = np.where(zero, np.nan, np.log10(np.maximum(size, 1e-6)))
    image = ax.imshow(shown, cmap="magma", vmin=-4, vmax=0, aspect="auto")
    for (i, j), z in np.ndenumerate(zero):
        if z:
            ax.text(j, i, "0", ha="center", va="center", fontsize=8)
    ax.figure.colorbar(image, ax=ax, label=r"$\log_{10}(|\sigma|\,/\,\max_{\rm term}|\sigma|)$", shrink=0.8)
    ax.set_xticks(range(len(COMPONENTS)), COMPONENTS, rotation=90, fontsize=8)
    ax.set_yticks(range(len(labels)), labels, fontsize=8)
    ax.set_title("(b) 1T′-MoS₂, 0.1 V/Å, J = 0 or 50 meV: Neumann zeros (\"0\")", fontsize=9)


def main() -> None:
    plt = figure_style()
    fig, (a, b) = plt.subplots(1, 2, figsize=(10, 4.2), gridspec_kw={"width_ratios": [1, 1.1]})
    wedge_panel(a)
    zeros_panel(b)
    save_figure(fig, ROOT / "docs" / "figures" / "symmetry_zeros.png", overwrite=True)


if __name__ == "__main__":
    main()
