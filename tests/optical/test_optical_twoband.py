"""Injection current of a simple 2-band model against independent calculations: an analytic
d-vector formula (quantum geometric tensor of H = d0 + d·σ) and WannierBerri's InjectionCurrent."""

import json
from pathlib import Path

import numpy as np
import pytest

from optical_refs import dirac2_injection_analytic
from qgeom.kspace import make_grid
from qgeom.models.library import tilted_dirac_2band
from qgeom.optical import response

WB = Path(__file__).resolve().parents[1] / "data" / "wannierberri" / "reference_dynamic.json"


@pytest.mark.parametrize("direction", ["x", "y"])
def test_injection_two_band_analytic(direction):
    model = tilted_dirac_2band()
    om = np.linspace(0.6, 3.0, 9)
    mu, kT, tau, gamma = 0.5, 0.02, 10.0, 0.08
    grid = make_grid(model, 48)
    ds = response(model, f"current_{direction}", kinds=["injection", "kramers_injection"], omega=om, mu=mu,
                  temperature=kT, tau=tau, broadening=gamma, grid=grid)
    k, wk = grid.points(0, grid.npoints)
    ref = dirac2_injection_analytic(model.parameters, k, wk, om, gamma, mu, kT, tau, "xy".index(direction))
    chi = np.moveaxis(ds.chi.sel(kind="injection").values, -1, 0)  # [ω, α, β]
    assert np.abs(ref).max() > 1e-3
    assert np.abs(chi - ref).max() < 1e-10 * np.abs(ref).max()
    assert np.allclose(ds.chi.sel(kind="kramers_injection"), ds.chi.sel(kind="injection"), rtol=0, atol=1e-12 * np.abs(ref).max())


def test_injection_matches_wannierberri():
    """χ^{bc}[∂_a H] (model units, τ in ħ/E0) = (πτ/4) · WB raw InjectionCurrent η^{a;cb}(ω)
    (raw = Σ_k (f_n − f_m)(v^a_m − v^a_n) r^b_mn r^c_nm L(ε_m − ε_n − ω)/(N_k V_cell))."""
    ref = json.loads(WB.read_text())
    entry = ref["models"]["tilted_dirac_2band"]
    raw = np.asarray(entry["InjectionCurrent"]["raw_ksum_real"]) + 1j * np.asarray(entry["InjectionCurrent"]["raw_ksum_imag"])
    om = np.asarray(entry["omega_eV"])
    nk = ref["k_grid"]["NK"][0]
    kT, gamma = ref["kT_eV"], ref["smearing"]["width_eV"]
    assert ref["smearing"]["type"] == "Lorentzian"
    model = tilted_dirac_2band(**entry["parameters"])
    grid = make_grid(model, nk, offset="gamma")
    imu = entry["mu_eV"].index(0.5)
    sel = slice(0, None, 7)
    tau = 4.0
    for a in ("x", "y"):
        ds = response(model, f"current_{a}", kinds=["injection"], omega=om[sel], mu=0.5, temperature=kT, tau=tau,
                      broadening=gamma, grid=grid)
        ours = np.moveaxis(ds.chi.sel(kind="injection").values, -1, 0)
        wb = (np.pi * tau / 4) * raw[imu, sel, "xy".index(a), :2, :2].swapaxes(-1, -2)
        assert np.abs(wb).max() > 1e-4
        assert np.abs(ours - wb).max() < 1e-8 * np.abs(wb).max(), a
