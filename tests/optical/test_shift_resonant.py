"""Why the current's shift_like keeps only the resonant part of the resolvent (principal_part=False).

Oracle: the exact fermionic-bath NESS (`qgeom.dc.exact.exact_frequency`, velocity gauge, every term of
seed [D] Eq. B-5) of a clean insulator. Below every absorption threshold — interband (here ≥ 0.89) and
bath-assisted (|ε − μ| ≥ 0.44: a reservoir electron at μ promoted into a band) — the rectified current
σ(ω, −ω) vanishes like Γ² as Γ → 0. The principal value P(1/x) of shift_like does not vanish there: it is
η-independent (a clean-limit Γ⁰ term), so keeping it would predict a DC current in a transparent
insulator. It is cancelled, to O(η²), by the non-resonant remainder of the injection term (Lorentzian δ_η
times τ = 1/2η) — a split of the Γ⁰ response in which neither piece alone is physical. The resonant parts
(shift δ, injection τδ) are the standard clean-limit photocurrents and vanish below the gap."""

import numpy as np
import pytest

from qgeom.dc.exact import exact_frequency
from qgeom.models.tight_binding import TightBindingModel
from qgeom.optical import current, response

MU, KT = -1.6, 0.02
OMEGA = np.array([0.15, 0.3])  # below every threshold (interband ≥ 0.89, bath-assisted ≥ 0.44)
COMPONENTS = ["xxx", "xxy", "xyy", "yxx", "yxy", "yyy"]
GRID = 40  # below the gap every integrand is smooth


@pytest.fixture(scope="module")
def insulator():
    """Three bands on a square lattice, seeded random hoppings (no symmetry, T broken), bands separated by
    global gaps: [−3.96, −2.05], [−1.16, 1.57], [2.57, 4.21]; μ = −1.6 in the lower gap."""
    rng = np.random.default_rng(1)
    X = rng.normal(size=(3, 3)) + 1j * rng.normal(size=(3, 3))
    hop = {(0, 0): np.diag([-3.0, 0.0, 3.0]) + 0.2 * (X + X.conj().T)}
    for R in [(1, 0), (0, 1), (1, 1), (1, -1), (2, 0)]:
        hop[R] = 0.15 * (0.5 if R == (2, 0) else 1) * (rng.normal(size=(3, 3)) + 1j * rng.normal(size=(3, 3)))
    return TightBindingModel.from_hoppings(hop, add_conjugates=True, name="random_insulator_3band")


def test_model_is_an_insulator_with_the_stated_thresholds(insulator):
    k = np.random.default_rng(0).uniform(-np.pi, np.pi, (4000, 2))
    e = np.linalg.eigvalsh(insulator.hamiltonian(k))
    assert e[:, 0].max() < MU - 0.44 and e[:, 1].min() > MU + 0.44
    assert (e[:, 1] - e[:, 0]).min() > 0.85


def optical(model, eta, principal_part):
    """4 Re χ^{cb}[current_a] of shift_like and injection (τ = 1/2η): [kind, ω, a, b, c]."""
    out = np.zeros((2, len(OMEGA), 2, 2, 2))
    for ia, a in enumerate("xy"):
        ds = response(model, current(a), kinds=["shift_like", "injection"], omega=OMEGA, mu=MU, temperature=KT,
                      broadening=eta, tau=1 / (2 * eta), grid=GRID, principal_part=principal_part)
        out[:, :, ia] = 4 * ds.chi.real.values.transpose(0, 3, 2, 1)
    return out


def test_below_gap_rectified_current_vanishes_and_principal_part_does_not(insulator):
    ex = exact_frequency(insulator, components=COMPONENTS, mu=MU, temperature=KT, gamma=[0.02, 0.01], omega=OMEGA,
                         grid=GRID, processes="rectification", convention="physical")
    s = np.abs(ex.sigma.isel(process=0, mu=0).values).max(axis=1)  # [Γ, ω]
    ratio = s[1] / s[0]
    assert np.all((ratio > 0.2) & (ratio < 0.3)), ratio  # ∝ Γ²: no clean-limit DC current (0.24 found)

    res1, full1 = optical(insulator, 0.01, False), optical(insulator, 0.01, True)
    res2, full2 = optical(insulator, 0.005, False), optical(insulator, 0.005, True)
    pv1, pv2 = full1[0] - res1[0], full2[0] - res2[0]
    pv = np.abs(pv2).max()
    assert np.abs(pv2 - pv1).max() < 1e-3 * pv  # the principal part survives η → 0 (3.2e-4 here)
    assert pv > 50 * s[1].max()  # ... and is 80× what the exact NESS leaves at Γ = 0.01
    # the default (resonant) shift current is only the δ_η tail: O(η)
    assert np.abs(res2[0]).max() == pytest.approx(0.5 * np.abs(res1[0]).max(), rel=0.02)
    assert np.abs(res2[0]).max() < 0.05 * pv
    # P(1/x) + the injection term's non-resonant tail = O(η²) (1e-5 of P found)
    assert np.abs(pv2 + res2[1]).max() < 1e-4 * pv
    assert np.abs(pv1 + res1[1]).max() > 3 * np.abs(pv2 + res2[1]).max()
