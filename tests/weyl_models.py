"""Test-only 3D Weyl semimetal: the two-node lattice model (the T-broken model of McCormick, Kimchi and Trivedi,
PRB 95, 075133 (2017); Yang, Lu and Ran, PRB 84, 075129 (2011)) with a tilt g sin kx that breaks inversion:

    h(k) = [2tx(cos kx − cos k0) + m(2 − cos ky − cos kz)] σx + 2t sin ky σy + 2t sin kz σz + g sin kx σ0,

Weyl nodes at k = (±k0, 0, 0) with energies ±g sin k0, both on the plane ky = 0 (and kz = 0) through Γ. Magnetic
point group 2'2'2 (2 along x unitary): the Drude, the BCD and the Γ⁰ terms are all allowed. eV and Å, on an
orthorhombic 3 × 3 × 4 Å cell, so results are in SI as for a Wannier90 model."""

from __future__ import annotations

import numpy as np

from qgeom.models import TightBindingModel

S0, SX = np.eye(2, dtype=complex), np.array([[0, 1], [1, 0]], complex)
SY, SZ = np.array([[0, -1j], [1j, 0]], complex), np.diag([1.0, -1.0]).astype(complex)
NODE_K0 = np.pi / 3  # reduced node position ±1/6: on every Γ-centred grid with a count divisible by 6


def magnetic_weyl(*, t: float = 0.5, tx: float = 0.5, m: float = 1.0, k0: float = NODE_K0, g: float = 0.3):
    hop = {
        (0, 0, 0): (2 * m - 2 * tx * np.cos(k0)) * SX,
        (1, 0, 0): tx * SX + g * S0 / 2j,   # 2tx cos kx σx + g sin kx
        (0, 1, 0): -m / 2 * SX + t * SY / 1j,  # −m cos ky σx + 2t sin ky σy
        (0, 0, 1): -m / 2 * SX + t * SZ / 1j,
    }
    return TightBindingModel.from_hoppings(hop, add_conjugates=True, lattice=np.diag([3.0, 3.0, 4.0]),
                                           name="magnetic_weyl", energy_unit="eV", length_unit="Angstrom")
