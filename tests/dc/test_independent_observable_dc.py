"""DC response of a general observable against an independent reference computed outside qgeom.

tests/data/independent_observable_dc.json was written by separate NumPy code that shares nothing with
qgeom (its own H(k), finite-difference k-derivatives, no sums over states):
- drude / interband (Γ⁻², Γ⁻¹): the length-gauge density matrix E·∂ρ = −i[H, ρ] − 2Γ(ρ − f0(H)) expanded in
  Γ in the orbital basis, ρ2⁽⁻²⁾ = −½ P[∂ρ1m], ρ2⁽⁻¹⁾ = −½ P[∂ρ1z] − Q[∂ρ1m] (P: degenerate-block part,
  Q: interband part over iε_nm);
- exact: the fermionic-bath NESS at finite Γ from the Keldysh recursion Ψ0 = iG, Ψ_{j+1} = −iG ∂_E Ψ_j,
  ρ = 2Γ ∫dω/2π f0 ΨΨ†, ω-integral by quadrature (no polygamma, no contour).
Values are physical-convention χ_bc (⟨O⟩ = Σ_bc χ_bc E_b E_c). The grids are those on which the Drude's
by-parts form (qgeom) and pointwise form (reference) agree (they differ by a total k-derivative).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from qgeom.dc import exact, expansion
from qgeom.models import TightBindingModel
from qgeom.models.library import mnbi2te4_bilayer_lattice

REF = json.loads((Path(__file__).parents[1] / "data" / "independent_observable_dc.json").read_text())
RAND = REF["random_2band"]
COMMON = dict(progress=False, error_tol=np.inf)


def _complex(pair):
    return np.asarray(pair[0]) + 1j * np.asarray(pair[1])


@pytest.fixture(scope="module")
def random_2band():
    hops = {tuple(int(x) for x in R.split(",")): _complex(t) for R, t in RAND["hoppings"].items()}
    return TightBindingModel.from_hoppings(hops, add_conjugates=False, lattice=np.eye(2))


def _terms(model, observable, convention="physical"):
    ds = expansion(model, observable=observable, components=RAND["components"], mu=RAND["mu"],
                   temperature=RAND["temperature"], grid=RAND["grid"], convention=convention, **COMMON)
    s = ds.sigma.sel(mechanism="fermionic_bath")
    return {t: np.array([s.sel(term=t, component=c).item() for c in RAND["components"]]) for t in ("drude", "interband")}


def _close(got, ref, rtol):
    ref = np.asarray(ref)
    np.testing.assert_allclose(got, ref, rtol=0, atol=rtol * np.abs(ref).max())


def test_random_observable_expansion_matches_independent_length_gauge_coefficients(random_2band):
    got = _terms(random_2band, _complex(RAND["observable"]))
    _close(got["drude"], RAND["drude"], 1e-6)
    _close(got["interband"], RAND["interband"], 1e-8)


def test_seed_convention_is_twice_the_physical_response(random_2band):
    got = _terms(random_2band, _complex(RAND["observable"]), convention="seed")
    _close(got["drude"], 2 * np.asarray(RAND["drude"]), 1e-6)
    _close(got["interband"], 2 * np.asarray(RAND["interband"]), 1e-8)


def test_current_observable_matches_independent_drude_and_bcd(random_2band):
    got = _terms(random_2band, "current_x")
    _close(got["drude"], RAND["current_x_drude"], 1e-6)
    _close(got["interband"], RAND["current_x_interband"], 1e-8)


def test_exact_observable_ness_matches_independent_keldysh_solution(random_2band):
    ds = exact(random_2band, observable=_complex(RAND["observable"]), components=RAND["components"], mu=RAND["mu"],
               temperature=RAND["temperature"], gamma=RAND["gamma"], grid=RAND["grid"], convention="physical", **COMMON)
    got = np.array([[ds.sigma.sel(component=c).values.ravel()[i] for c in RAND["components"]]
                    for i in range(len(RAND["gamma"]))])
    for row, ref in zip(got, RAND["exact"]):
        _close(row, ref, 1e-6)


@pytest.mark.parametrize("name", ["layer_polarization", "spin_z"])
def test_kramers_model_interband_matches_independent_value_and_drude_vanishes(name):
    ref = REF["mnbi2te4_bilayer_lattice"]
    model = mnbi2te4_bilayer_lattice(neel=ref["neel"], tilt=ref["tilt"])
    ds = expansion(model, observable=name, components=ref["component"], mu=ref["mu"], temperature=ref["temperature"],
                   grid=ref["grid"], convention="physical", **COMMON)
    s = ds.sigma.sel(mechanism="fermionic_bath", component=ref["component"])
    expected = ref[f"{name}_interband"]
    assert s.sel(term="interband").item() == pytest.approx(expected, rel=1e-7)
    assert abs(s.sel(term="drude").item()) < 1e-12 * abs(expected)   # PT-odd observable: no Γ⁻² term
