"""The electron count N(μ) = (1/N_k) Σ_{n,k} f(ε_nk − μ) and its inverse, the Fermi level: against closed forms
(flat bands, the nearest-neighbour chain, an insulator's exact T > 0 balance) and the two Wannier materials."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from scipy.optimize import brentq
from scipy.special import expit

from qgeom import QgeomInputError
from qgeom.filling import electron_count, fermi_level, filling
from qgeom.models import TightBindingModel, from_wannier90, library

ROOT = Path(__file__).resolve().parents[1]


def flat_bands(levels, dim: int = 2) -> TightBindingModel:
    """H(k) = diag(levels) at every k, on an oblique cell (the count must not depend on the cell's size)."""
    lattice = np.array([[2.0, 0.0], [0.7, 1.3]]) if dim == 2 else np.eye(dim)
    return TightBindingModel(np.zeros((1, dim), int), np.diag(levels)[None].astype(complex), lattice=lattice)


def chain() -> TightBindingModel:
    """ε(k) = −2 cos k: one band, nearest-neighbour hopping −1, a = 1."""
    return TightBindingModel([[-1], [0], [1]], [[[-1.0]], [[0.0]], [[-1.0]]])


def test_flat_bands_count_the_sum_of_their_fermi_functions():
    levels = np.array([-1.0, 0.2, 0.2, 1.5])
    mu = np.array([[-1.2, -1.0, 0.1], [0.2, 0.9, 2.0]])  # any shape: the count has the shape of mu
    kT = 0.13
    expected = expit((mu[..., None] - levels) / kT).sum(-1)
    np.testing.assert_allclose(electron_count(flat_bands(levels), mu, temperature=kT, grid=5), expected,
                               rtol=1e-14, atol=0)
    assert electron_count(flat_bands(levels), 0.2, temperature=kT, grid=(3, 4)).shape == ()


def test_chain_count_is_the_fraction_of_the_zone_below_mu():
    """T → 0: N(μ) = |{k: −2 cos k < μ}| / 2π = arccos(−μ/2)/π, plus the Sommerfeld term (π²/6)(kT)² g'(μ) of the
    density of states g(ε) = 1/(π √(4 − ε²)) at kT > 0 (the next, ∝ (kT)⁴, is below 1e-6 here)."""
    mu, kT = np.array([-1.5, -0.5, 0.0, 0.5, 1.2]), 0.02
    sommerfeld = np.pi**2 / 6 * kT**2 * mu / (np.pi * (4 - mu**2) ** 1.5)
    count = electron_count(chain(), mu, temperature=kT, grid=2000)
    np.testing.assert_allclose(count, np.arccos(-mu / 2) / np.pi + sommerfeld, atol=2e-6, rtol=0)
    assert np.abs(sommerfeld).max() > 1e-4  # resolved: the T > 0 count, not the T = 0 one


def test_count_rises_from_no_band_to_every_band():
    mu = np.linspace(-3.0, 3.0, 121)
    count = electron_count(chain(), mu, temperature=0.05, grid=64)
    assert np.all(np.diff(count) > 0) and count[0] < 1e-8 and 1 - count[-1] < 1e-8
    full = electron_count(library.pt_tilted_4band(), [-30.0, 30.0], temperature=0.05, grid=8)
    np.testing.assert_allclose(full, [0, 4], atol=1e-12)


@pytest.mark.parametrize("electrons", [0.3, 1.0, 1.7, 2.0, 3.25])
def test_fermi_level_inverts_the_count(electrons):
    model = library.pt_tilted_4band()
    mu = fermi_level(model, electrons, temperature=0.02, grid=24)
    assert abs(float(electron_count(model, mu, temperature=0.02, grid=24)) - electrons) < 1e-10


@pytest.mark.parametrize("kT", [0.005, 0.01, 0.3])
def test_an_insulator_sits_where_holes_below_balance_electrons_above(kT):
    """One level at −1, three at +1, one electron: 3 f(1 − μ) = f(1 + μ), i.e. μ = −(kT/2) ln 3 while kT ≪ gap.
    At kT = 0.005 every 1 − f is below 1e-86: a count that rounds f to 1 cannot find μ inside the gap."""
    result = filling(flat_bands([-1.0, 1.0, 1.0, 1.0]), 1, temperature=kT, grid=3)
    exact = brentq(lambda m: 3 * expit((m - 1) / kT) - expit(-(m + 1) / kT), -1, 1, xtol=1e-15)
    assert abs(exact + kT / 2 * np.log(3)) < (1e-12 if kT < 0.1 else 0.02)  # the closed form, and where it bends
    assert result.fermi_energy == pytest.approx(exact, abs=1e-12)
    assert result.gap == (-1.0, 1.0)


def test_a_fractional_count_or_overlapping_bands_report_no_gap():
    assert filling(flat_bands([-1.0, 1.0]), 0.5, temperature=0.1, grid=2).gap is None
    # two chains, −2 cos k and 3 − 2 cos k: a semimetal, the lower band reaches 2 at k = π, the upper starts at 1 at k = 0
    two_chains = TightBindingModel([[-1], [0], [1]], [-np.eye(2), np.diag([0.0, 3.0]), -np.eye(2)])
    overlap = filling(two_chains, 1, temperature=0.05, grid=64)
    assert overlap.gap is None and "no gap: the filled and empty bands overlap" in overlap.describe("model")


def test_gaas_eight_electrons_fill_the_valence_bands():
    """GaAs (16 spinor bands, Ga 4s²4p¹ + As 4s²4p³): E_F mid-gap between the Γ edges 7.7209 and 8.1237 eV;
    the .win's fermi_energy 7.9366 eV lies inside that gap too, 0.216 eV above the valence top."""
    gaas = from_wannier90(ROOT / "examples" / "GaAs")
    result = filling(gaas, 8, temperature=0.001, grid=8)
    top, bottom = result.gap
    assert top == pytest.approx(7.7209, abs=1e-4) and bottom == pytest.approx(8.1237, abs=1e-4)
    assert abs(result.fermi_energy - (top + bottom) / 2) < 5 * 0.001
    assert top < gaas.parameters["fermi_energy"] < bottom
    assert result.describe("eV") == ("Fermi energy 7.92263 eV from 8 electrons per cell (kT 0.001 eV, grid 8×8×8); "
                                     "gap 0.4028 eV between 7.7209 and 8.12366")


def test_mos2_28_electrons_put_the_fermi_level_in_its_small_gap():
    """1T'-MoS2 (48 spinor bands: Mo s d, S p): 28 electrons (Mo 4d⁵5s¹ ×2 + S 3p⁴ ×4) fill the bands up to the
    ~0.05 eV gap of this quantum spin Hall insulator; E_F −3.587 eV, in it."""
    mos2 = from_wannier90(ROOT / "examples" / "MoS2-1Tp")
    result = filling(mos2, 28, temperature=0.01, grid=24)
    top, bottom = result.gap
    assert top == pytest.approx(-3.6087, abs=2e-4) and bottom == pytest.approx(-3.5604, abs=2e-4)
    assert top < result.fermi_energy < bottom
    assert result.fermi_energy == pytest.approx(-3.5868, abs=5e-4)


@pytest.mark.parametrize("electrons", [0, 4, -1, 4.5, float("nan"), float("inf"), True, "many", None])
def test_a_count_outside_the_bands_is_refused(electrons):
    with pytest.raises(QgeomInputError, match=r"electrons \(command line: --electrons\) must be a number of electrons "
                                              r"per unit cell strictly between 0 and 4 \(the model's 4 bands"):
        fermi_level(library.pt_tilted_4band(), electrons, temperature=0.01, grid=4)


def test_bad_temperatures_continuum_models_and_keywords_are_refused():
    model = library.pt_tilted_4band()
    with pytest.raises(QgeomInputError, match="temperature .* must be a positive finite number, got 0"):
        fermi_level(model, 2, temperature=0, grid=4)
    with pytest.raises(QgeomInputError, match="mu contains NaN"):
        electron_count(model, [0.0, np.nan], temperature=0.1, grid=4)
    with pytest.raises(QgeomInputError, match="is a continuum .* model: it has no unit cell to count electrons in"):
        fermi_level(library.mnbi2te4_bilayer(), 2, temperature=0.01)
    with pytest.raises(QgeomInputError, match="unknown keyword 'temprature'"):
        fermi_level(model, 2, temprature=0.01)
