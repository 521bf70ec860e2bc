"""Γ-expansion of an observable's DC response (Γ⁻², Γ⁻¹, fermionic bath) vs the exact Γ-scan; the
PT-odd layer polarization of a PT-symmetric magnet term by term against the current."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from qgeom._validation import QgeomInputError
from qgeom.dc.exact import exact
from qgeom.dc.expansion import expansion
from qgeom.dc.gamma_fit import fit_gamma_series, gamma_scan
from qgeom.models.library import mnbi2te4_bilayer_lattice, pt_tilted_4band, tilted_dirac_2band

GAMMAS_2D = np.array([0.006, 0.008, 0.011, 0.015, 0.02, 0.027, 0.036])  # kT = 0.3
SX, SZ = np.array([[0, 1], [1, 0.0]]), np.diag([1.0, -1.0])


def test_current_x_reduces_to_drude_and_bcd():
    """For O = ∂_x H the closed forms are seed [D] Eq. 2 (Drude) and Eq. 3 (BCD) of `expansion`."""
    m, kw = tilted_dirac_2band(), dict(mu=[0.2, 0.5], temperature=0.3, grid=40)
    obs = expansion(m, observable="current_x", components=["xx", "yy", "xy"], **kw).sigma.sel(mechanism="fermionic_bath")
    ref = expansion(m, components=["xxx", "xyy", "xxy"], mechanisms=["fermionic_bath"], **kw).sigma[0]
    for term, ref_term in (("drude", "drude"), ("interband", "bcd")):
        r = ref.sel(term=ref_term).values
        assert np.abs(obs.sel(term=term).values - r).max() <= 1e-12 * np.abs(r).max()


@pytest.mark.parametrize("O", [SZ, SX], ids=["sigma_z", "sigma_x"])
def test_expansion_matches_exact_gamma_fit(O):
    """Γ⁻² and Γ⁻¹ coefficients of a constant observable vs the fit of the exact σ(Γ) on the same grid."""
    comps = ["xx", "yy", "xy"]
    scan = gamma_scan(tilted_dirac_2band(), observable=O, components=comps, mu=0.5, temperature=0.3,
                      gammas=GAMMAS_2D, grid=30, nodes=16, degrees=(4, 5))
    fit, exp = scan.fit.values[:, 0], scan.expansion.values[:, 0]  # [component, coefficient]
    scale = np.abs(fit[:, :2]).max()
    assert np.abs(fit[:, 0] - exp[:, 0]).max() < 1e-6 * scale
    assert abs(fit[2, 1] - exp[2, 1]) < 1e-5 * abs(exp[2, 1])  # xy: the only Γ⁻¹ response here
    assert np.abs(fit[:2, 1] - exp[:2, 1]).max() < 1e-4 * scale  # xx, yy: zero up to the fit's noise
    assert np.all(np.isnan(exp[:, 2]))  # Γ⁰ is not derived for an observable: the fit alone


MBT = dict(mu=0.06, temperature=0.03, grid=12)
GAMMAS_MBT = 0.03 * np.array([0.005, 0.0075, 0.01, 0.014, 0.02, 0.028, 0.04])  # Γ ≪ kT and the gaps


@pytest.fixture(scope="module")
def mbt():
    """Exact Γ-scans and expansions of the layer polarization, spin_z and the current for both Néel orders."""
    out = {}
    for neel in (1, -1):
        m = mnbi2te4_bilayer_lattice(neel=neel, tilt=1.0)
        for name, comps in (("layer_polarization", ["xy", "xx"]), ("spin_z", ["xy"]), ("current", ["xxx", "xyy"])):
            kw = dict(MBT, components=comps, observable=name, units="model")
            ex = exact(m, gamma=GAMMAS_MBT, **kw).sigma.values[:, :, 0]  # [Γ, comp]
            fit = fit_gamma_series(GAMMAS_MBT, ex.T, degrees=(4, 5))["value"]  # [comp, (A, B, C)]
            # the current's expansion resolves pairs down to the largest Γ of the scan (default: kT)
            # the series resolves pairs down to the scan's Γ (docs/near_degeneracy.md): resolution = largest Γ
            mech = dict(resolution=GAMMAS_MBT[-1]) | ({} if name != "current" else dict(mechanisms=["fermionic_bath"]))
            e = expansion(m, **kw, **mech).sigma.sel(mechanism="fermionic_bath").values[:2, :, 0].T  # [comp, 2]
            out[neel, name] = ex, fit, e
    return out


def test_layer_polarization_is_gamma_m1_only_and_current_has_no_gamma_m1(mbt):
    """PT: the PT-odd layer polarization has no Γ⁻² (Drude) and no Γ⁰ term, only the Γ⁻¹ Fermi-surface ×
    interband-polarizability term, in xy (M_x·T forbids xx); the PT-even current has no Γ⁻¹ (no BCD)."""
    ex, fit, e = mbt[1, "layer_polarization"]
    B = fit[0, 1]
    assert abs(B) > 1e-4
    assert abs(fit[0, 0]) < 1e-4 * abs(B) * GAMMAS_MBT[0] and abs(fit[0, 2]) < 0.05 * abs(B) / GAMMAS_MBT[-1]
    assert abs(e[0, 0]) < 1e-12 * abs(B) and e[0, 1] == pytest.approx(B, rel=1e-5)
    # xx vanishes to the exact NESS's rounding at Γ = kT/200 (1e-7, as below): within the PT doublets the
    # result moves by ~1e-8 relative with the choice of states (LAPACK's, canonical or random: 0.3–1.3e-8)
    assert np.abs(ex[:, 1]).max() < 1e-7 * np.abs(ex[:, 0]).max()
    ex, fit, e = mbt[1, "current"]
    for i in range(2):
        A = fit[i, 0]
        assert e[i, 0] == pytest.approx(A, rel=1e-5)
        assert abs(fit[i, 1]) < 0.02 * abs(A) / GAMMAS_MBT[-1] and abs(e[i, 1]) < 1e-12 * abs(A)


def test_neel_reversal_flips_layer_and_current_but_not_spin(mbt):
    """neel → −neel is time reversal: the T-even layer polarization's Γ⁻¹ response and the current's Γ⁻², Γ⁰
    responses flip sign at every Γ; the T-odd spin_z's Γ⁻¹ response keeps its sign (seed [K]: P flips p_z
    and the Néel order, T flips s_z and the Néel order)."""
    for name, sign in (("layer_polarization", -1), ("current", -1), ("spin_z", +1)):
        up, down = mbt[1, name][0], mbt[-1, name][0]
        assert np.abs(up).max() > 0
        assert np.abs(down - sign * up).max() <= 1e-7 * np.abs(up).max(), name  # rounding of the exact NESS at Γ = kT/200


def test_expansion_of_an_observable_rejects_other_mechanisms_and_current_options():
    m, kw = tilted_dirac_2band(), dict(components="xx", mu=0.5, temperature=0.3, grid=8)
    with pytest.raises(QgeomInputError, match="qgeom.dc.exact"):
        expansion(m, observable=SZ, mechanisms=["constant_gamma"], **kw)
    with pytest.raises(QgeomInputError, match="Γ⁰"):
        expansion(m, observable=SZ, kinetic_form="velocity_cubed", **kw)


@pytest.mark.parametrize("observable", ["matrix", "current_y"])
def test_observable_bands_far_from_every_mu_are_skipped_without_changing_the_result(monkeypatch, observable):
    """dc.expansion(observable=) forms the trace products only on the bands within FERMI_WINDOW·kT of
    some μ (whole subspaces): on GaAs with μ in the conduction band most bands are skipped, and both
    terms and the near-degenerate part equal the all-bands evaluation to 1e-12 — for a constant
    matrix and for a k-dependent observable (∂O from the derivative block)."""
    import importlib
    from pathlib import Path

    from qgeom.models.wannier90 import from_wannier90

    E = importlib.import_module("qgeom.dc.observable_expansion")
    gaas = from_wannier90(Path(__file__).resolve().parents[2] / "examples" / "GaAs")
    rng = np.random.default_rng(3)
    X = rng.normal(size=(16, 16)) + 1j * rng.normal(size=(16, 16))
    O = X + X.conj().T if observable == "matrix" else observable
    kw = dict(observable=O, components=["xy", "zz", "yx"], mu=[8.6, 8.9], temperature=0.02, grid=(5, 5, 5),
              progress=False, symmetry=None)
    widths = []
    original = E.per_band_traces

    def spy(b, obs, comps, bands):
        widths.append(bands.stop - bands.start)
        return original(b, obs, comps, bands)

    monkeypatch.setattr(E, "per_band_traces", spy)
    windowed = expansion(gaas, **kw)
    assert 0 < max(widths) < 16 // 2  # fewer than half the bands in every chunk
    monkeypatch.setattr(importlib.import_module("qgeom.bands"), "FERMI_WINDOW", 1e9)  # the window rule's one place
    full = expansion(gaas, **kw)
    for name in ("sigma", "sigma_near_degenerate"):
        for term in full["term"].values:
            ref = full[name].sel(term=term).values
            np.testing.assert_allclose(windowed[name].sel(term=term).values, ref, rtol=0,
                                       atol=1e-12 * np.abs(ref).max() + 1e-300, err_msg=f"{name} {term}")


@pytest.mark.parametrize("model, kT, mu", [(pt_tilted_4band, 1e-9, -4.0), (tilted_dirac_2band, 1e-4, 0.5)])
def test_a_fermi_surface_between_the_k_points_is_not_reported_as_zero(model, kT, mu):
    """As for the current (tests/dc/test_expansion.py): kT far below the grid's energy step leaves f0' negligible
    at every k-point, so both coefficients are 0 on the grid and its sub-grid alike although bands cross μ — the
    same warning and attrs["fermi_surface_missed_mu"]. μ = 0 of pt_tilted_4band lies in its gap (|ε| ≥ 1.67): an
    honest zero, not flagged; kT = 0.1 on the same grid resolves the surface."""
    from qgeom.accuracy import AccuracyWarning

    m = model()
    kw = dict(observable=np.diag(np.resize([1.0, -1.0], m.nbands)), components="xy", grid=20, progress=False)
    with pytest.warns(AccuracyWarning, match=rf"rounding level at mu = {mu:g} although bands cross it"):
        cold = expansion(m, mu=[mu, 0.0] if model is pt_tilted_4band else [mu], temperature=kT, **kw)
    assert np.abs(cold.sigma.values).max() < 1e-100 and cold.attrs["fermi_surface_missed_mu"] == [mu]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the coarse grid's error estimate
        warm = expansion(m, mu=[mu], temperature=0.1, **kw)
    assert np.abs(warm.sigma.values).max() > 1e-8 and "fermi_surface_missed_mu" not in warm.attrs
