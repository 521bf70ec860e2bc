"""Second-order DC conductivity in powers of Γ (seed [D] Eqs. 1–6, Table I; SPEC §2.1–§2.2).

σ_abc = σ^(−2)/Γ² + σ^(−1)/Γ + σ^(0) + O(Γ).  Every term of every mechanism is a linear
combination of a few Fermi-surface integrals Σ_{n,k} X_n(k) f0^(p)(ε_n), so one Bands per chunk
and one contraction with the occupation derivatives serve all terms, components, μ and
mechanisms at once. Units: e = ħ = 1, model energy E0 and length L0; σ in e³ L0^(3−d)/(ħ E0)
(for the seed model: σ₂ = a(ħ/v)e³/ħ²).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import xarray as xr

from .. import geometry
from .._validation import QgeomInputError, as_finite_array, positive_scalar
from ..bands import DEFAULT_DEGEN_TOL, Bands
from ..kspace import integrate, make_grid
from ..models.base import Model
from ..occupation import fermi_dirac
from ..results import make_result
from .components import component_indices, parse_components

# C_kin of σ^kin = C_kin Σ v^a v^b v^c f0'''' (= 2 C_kin Σ ∂a∂b∂c ε f0'' by parts).
# SPEC §2.1: the seed is inconsistent (1/48 in Eq. 5; 1/24 ∂³ε f0'' in D-62; 1/48 with f = 2f0 − 1
# in D-61). The exact NESS evaluation (qgeom.dc.exact; Γ-scan fits on a 1-band and a 2-band model,
# docs/exact_ness.md, tests/dc/test_exact.py) gives C_kin = 1/24: Eq. 5 is low by 2, D-62 should
# read (1/12) ∂³ε f0'', D-61 (in f = 2f0 − 1) is right.
KINETIC_PREFACTOR = 1.0 / 24.0

TERMS = ("drude", "bcd", "geometric", "kinetic", "intrinsic")
MECHANISMS = ("fermionic_bath", "constant_gamma", "rta")
GEOMETRIC_FORMS = ("metric_dipole", "metric_by_parts")
KINETIC_FORMS = ("third_derivative", "velocity_cubed")


def _raw_integrands(b: Bands, comps, *, geometric_form: str, kinetic_form: str) -> dict[str, tuple[np.ndarray, int]]:
    """Per-band integrands X[k, component, n] and the order p of f0^(p) each multiplies."""
    A, B, C = comps
    vel = geometry.band_velocity(b)
    mass = geometry.inverse_mass(b)
    Omega = geometry.berry_curvature(b)
    Gm = geometry.energy_normalized_metric(b)
    va, vb, vc = vel[:, A], vel[:, B], vel[:, C]
    out = {
        "drude": (-0.25 * (mass[:, A, B] * vc + vb * mass[:, A, C]), 1),
        "bcd": (0.5 * (vc * Omega[:, A, B] + vb * Omega[:, A, C]), 1),
        "G_ab_c": (Gm[:, A, B] * vc + Gm[:, A, C] * vb, 1),
        "G_bc_a": (Gm[:, B, C] * va, 1),
    }
    if geometric_form == "metric_dipole":
        out["metric_dipole"] = (geometry.quantum_metric_dipole(b)[:, A, B, C], 1)
    else:  # −½∂_a g^{bc}·2f0' = +g^{bc} v^a f0'' after integration by parts
        out["metric_velocity"] = (geometry.quantum_metric(b)[:, B, C] * va, 2)
    if kinetic_form == "third_derivative":
        out["kin"] = (2 * KINETIC_PREFACTOR * geometry.energy_third_derivative(b)[:, A, B, C], 2)
    else:
        out["kin"] = (KINETIC_PREFACTOR * va * vb * vc, 4)
    return out


class _FermiSurfaceSums:
    """Chunk integrand: Σ_k w Σ_n X[k, comp, n] f0^(p)(ε_n − μ) for every raw integrand; picklable."""

    def __init__(self, comps, mu, temperature, geometric_form, kinetic_form):
        self.comps, self.mu, self.temperature = comps, mu, temperature
        self.geometric_form, self.kinetic_form = geometric_form, kinetic_form

    def __call__(self, b: Bands, w: np.ndarray) -> dict[str, np.ndarray]:
        raw = _raw_integrands(b, self.comps, geometric_form=self.geometric_form, kinetic_form=self.kinetic_form)
        occ = {}
        out = {}
        for name, (X, p) in raw.items():
            if p not in occ:
                occ[p] = fermi_dirac(b.energies[..., None], self.mu, self.temperature, p).reshape(-1, len(self.mu))
            Xw = np.moveaxis(X * w[:, None, None], 1, 0).reshape(X.shape[1], -1)  # [comp, nk*N]
            out[name] = Xw @ occ[p]
        return out


def _assemble(raw: dict[str, np.ndarray], mechanisms: Sequence[str], rta) -> np.ndarray:
    """Combine raw integrals into sigma[mechanism, term, component, mu] (seed Table I)."""
    G_ab_c, G_bc_a = raw["G_ab_c"], raw["G_bc_a"]
    dipole = raw["metric_dipole"] if "metric_dipole" in raw else -raw["metric_velocity"]
    interband = G_ab_c - 2 * G_bc_a
    zero = np.zeros_like(G_ab_c)
    rows = []
    for mech in mechanisms:
        if mech == "fermionic_bath":
            geo, kin = 2 * (interband - 0.5 * dipole), raw["kin"]
        elif mech == "constant_gamma":
            geo, kin = interband - 0.5 * dipole, zero
        else:
            c1, c2 = rta
            geo, kin = c1 * G_ab_c - c2 * G_bc_a, zero
        rows.append([raw["drude"], raw["bcd"], geo, kin, geo + kin])
    return np.array(rows)


def expansion(
    model: Model,
    *,
    components="xyy",
    mu,
    temperature: float,
    grid=200,
    mechanisms: Sequence[str] | None = None,
    rta: tuple[float, float] | None = None,
    geometric_form: str = "metric_dipole",
    kinetic_form: str = "third_derivative",
    degen_tol: float = DEFAULT_DEGEN_TOL,
    chunk_size: int | None = None,
    progress: bool | None = None,
    **grid_kwargs,
) -> xr.Dataset:
    """Γ-expansion coefficients of the second-order DC conductivity, per dissipation mechanism.

    Returns a Dataset with `sigma[mechanism, term, component, mu]`; terms: `drude` (Γ⁻² coefficient,
    Eq. 2), `bcd` (Γ⁻¹ coefficient, Eq. 3), `geometric` (Eq. 6 / Table I), `kinetic` (Eq. 5) and
    `intrinsic` = geometric + kinetic (Γ⁰). Mechanisms: `fermionic_bath` (this seed),
    `constant_gamma` (white-noise disorder, Table I), `rta` (Table I with user `rta=(c1, c2)`).
    `temperature` is kT in the model's energy unit; `mu` a scalar or 1D array in the same unit.
    """
    comps = parse_components(components, model.dim)
    mu_arr = np.atleast_1d(as_finite_array(mu, "mu"))
    if mu_arr.ndim != 1:
        raise QgeomInputError(f"mu must be a scalar or a 1D array, got shape {mu_arr.shape}.")
    kT = positive_scalar(temperature, "temperature")
    if mechanisms is None:
        mechanisms = ["fermionic_bath", "constant_gamma"] + (["rta"] if rta is not None else [])
    mechanisms = list(mechanisms)
    for mech in mechanisms:
        if mech not in MECHANISMS:
            raise QgeomInputError(f"unknown mechanism {mech!r}; allowed: {', '.join(MECHANISMS)}.")
    if "rta" in mechanisms:
        if rta is None or len(rta) != 2:
            raise QgeomInputError("mechanism 'rta' needs rta=(c1, c2), the Table I coefficients.")
        rta = tuple(float(x) for x in as_finite_array(rta, "rta"))
    if geometric_form not in GEOMETRIC_FORMS:
        raise QgeomInputError(f"geometric_form must be one of {GEOMETRIC_FORMS}, got {geometric_form!r}.")
    if kinetic_form not in KINETIC_FORMS:
        raise QgeomInputError(f"kinetic_form must be one of {KINETIC_FORMS}, got {kinetic_form!r}.")
    kgrid = make_grid(model, grid, **grid_kwargs)
    order = 3 if kinetic_form == "third_derivative" else 2
    func = _FermiSurfaceSums(component_indices(comps), mu_arr, kT, geometric_form, kinetic_form)
    raw = integrate(model, kgrid, func, order=order, degen_tol=degen_tol, chunk_size=chunk_size, progress=progress)
    sigma = _assemble(raw, mechanisms, rta)
    unit = f"e^3 {model.length_unit}^{3 - model.dim} / (hbar {model.energy_unit})"
    return make_result(
        {"sigma": (("mechanism", "term", "component", "mu"), sigma)},
        {"mechanism": mechanisms, "term": list(TERMS), "component": comps, "mu": mu_arr},
        model=model,
        grid=kgrid,
        parameters={
            "temperature": kT, "degen_tol": degen_tol, "rta_c1_c2": list(rta) if rta else None,
            "geometric_form": geometric_form, "kinetic_form": kinetic_form,
            "kinetic_prefactor": KINETIC_PREFACTOR,
        },
        units={"sigma": unit, "mu": model.energy_unit},
        title="second-order DC conductivity, Gamma expansion",
        extra_attrs={
            "term_meaning": "drude: coefficient of Gamma^-2 (seed [D] Eq. 2); bcd: coefficient of Gamma^-1 "
            "(Eq. 3); geometric, kinetic, intrinsic = geometric + kinetic: Gamma^0 (Eqs. 4-6, Table I). "
            "Drude and BCD are the same for all mechanisms with Gamma the bath/self-energy rate.",
            "sigma_definition": "j_a = sigma_abc E_b E_c (DC), velocity gauge, e = hbar = 1",
        },
    )
