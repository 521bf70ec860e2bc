"""Shared helpers for the exact-NESS tests: an independent Γ-expansion from geometry.py (seed Eqs. 2, 3, 5, 6)."""

from __future__ import annotations

import numpy as np
import pytest

from qgeom import geometry
from qgeom.kspace import integrate
from qgeom.occupation import fermi_dirac

AX = "xyz"


def expansion_terms(model, comp: str, mu: float, kT: float, grid, c_kin: float = 1 / 24) -> dict[str, float]:
    """σ^(−2) (Eq. 2), σ^(−1) (Eq. 3), σ^geo (Eq. 6) and σ^kin = 2 C_kin Σ ∂a∂b∂c ε f0'' straight from geometry.py."""
    a, b, c = (AX.index(ch) for ch in comp)

    def func(B, w):
        vel = geometry.band_velocity(B)
        mass = geometry.inverse_mass(B)
        Om = geometry.berry_curvature(B)
        G = geometry.energy_normalized_metric(B)
        dg = geometry.quantum_metric_dipole(B)
        d3 = geometry.energy_third_derivative(B)
        f1 = fermi_dirac(B.energies, mu, kT, 1)
        f2 = fermi_dirac(B.energies, mu, kT, 2)
        va, vb, vc = vel[:, a], vel[:, b], vel[:, c]
        drude = -0.25 * (mass[:, a, b] * vc + vb * mass[:, a, c]) * f1
        bcd = 0.5 * (vc * Om[:, a, b] + vb * Om[:, a, c]) * f1
        geo = ((G[:, a, b] * vc + G[:, a, c] * vb - 2 * G[:, b, c] * va) - 0.5 * dg[:, a, b, c]) * 2 * f1
        kin = 2 * c_kin * d3[:, a, b, c] * f2
        return np.array([(x.sum(-1) * w).sum() for x in (drude, bcd, geo, kin)])

    d, bc, geo, kin = integrate(model, grid, func, order=3)
    return {"drude": d, "bcd": bc, "geometric": geo, "kinetic": kin, "intrinsic": geo + kin}


@pytest.fixture
def independent_expansion():
    return expansion_terms
