"""Test-only reference of the DC Γ-expansion integrands: the textbook formulas term by term
(`raw_integrands`) and the package's fast path in the same layout (`fast_raw_integrands`)."""

from __future__ import annotations

import importlib

import numpy as np

from qgeom import geometry
from qgeom.bands import Bands
from qgeom.dc.expansion import KINETIC_PREFACTOR

F = importlib.import_module("qgeom.dc.fermi_surface_sums")


def raw_integrands(b: Bands, comps, *, geometric_form: str, kinetic_form: str,
                   drude_form: str = "velocity_derivative") -> dict[str, tuple[np.ndarray, int]]:
    """Per-band integrands X[k, component, n] and the order p of f0^(p) each multiplies: the formulas
    of `qgeom.geometry` term by term, the reference of `fermi_surface_sums.integrands`."""
    A, B, C = comps
    vel = geometry.band_velocity(b)
    Omega = geometry.berry_curvature(b)
    Gm = geometry.energy_normalized_metric(b)
    va, vb, vc = vel[:, A], vel[:, B], vel[:, C]
    out = {
        "bcd": (0.5 * (vc * Omega[:, A, B] + vb * Omega[:, A, C]), 1),
        "G_ab_c": (Gm[:, A, B] * vc + Gm[:, A, C] * vb, 1),
        "G_bc_a": (Gm[:, B, C] * va, 1),
    }
    if drude_form == "velocity_derivative":  # −¼ ∂_a(v^b v^c) f0′
        mass = geometry.inverse_mass(b)
        out["drude"] = (-0.25 * (mass[:, A, B] * vc + vb * mass[:, A, C]), 1)
    else:  # +¼ v^a v^b v^c f0″ after integration by parts
        out["drude"] = (0.25 * va * vb * vc, 2)
    if geometric_form == "metric_dipole":
        out["metric_dipole"] = (geometry.quantum_metric_dipole(b)[:, A, B, C], 1)
    else:  # −½∂_a g^{bc}·2f0' = +g^{bc} v^a f0'' after integration by parts
        out["metric_velocity"] = (geometry.quantum_metric(b)[:, B, C] * va, 2)
    if kinetic_form == "third_derivative":
        out["kin"] = (2 * KINETIC_PREFACTOR * geometry.energy_third_derivative(b)[:, A, B, C], 2)
    else:
        out["kin"] = (KINETIC_PREFACTOR * va * vb * vc, 4)
    return out


def fast_raw_integrands(b: Bands, comps, *, geometric_form: str, kinetic_form: str,
                        drude_form: str = "velocity_derivative") -> dict[str, tuple[np.ndarray, int]]:
    """`fermi_surface_sums.integrands` laid out as `raw_integrands`: X[k, component, n] (views)."""
    res, band_major, _ = F.integrands(b, comps, geometric_form=geometric_form, kinetic_form=kinetic_form,
                                       drude_form=drude_form)
    return {name: (x.transpose(2, 0, 1) if band_major else x.swapaxes(0, 1), p) for name, (x, p) in res.items()}
