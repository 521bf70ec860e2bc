"""The binned μ sweep (qgeom.mu_sweep) against the direct sum Σ_i X f0^(p)(ε_i − μ) at every energy."""

import numpy as np
import pytest

from qgeom.mu_sweep import MU_BIN_SPACING, BinnedMuSweep
from qgeom.occupation import fermi_derivative_any_order


def _direct(energies, X, mu, kT, p):
    x = (energies[:, None] - mu[None, :]) / kT
    return X @ (fermi_derivative_any_order(x, p) / kT**p)


@pytest.mark.parametrize("p", [1, 2, 3, 4])
def test_binned_sweep_equals_the_direct_sum_for_every_occupation_order(p):
    """Random energies (off the bin nodes, several per bin, some beyond the window) and weights: the Taylor
    histogram reproduces the direct sum to 1e-12 of its largest value at every μ, over several μ blocks."""
    rng = np.random.default_rng(p)
    kT = 0.02
    energies = rng.uniform(-1.5, 1.5, 4000)
    X = rng.normal(size=(3, energies.size))
    mu = np.linspace(-1.0, 1.0, 57)  # 2 eV = 100 kT: blocks of 10 kT
    sweep = BinnedMuSweep(mu, kT)
    assert len(sweep.blocks) > 5
    got, ref = sweep(energies, X, p), _direct(energies, X, mu, kT, p)
    assert np.abs(got - ref).max() <= 1e-12 * np.abs(ref).max()


def test_unsorted_mu_come_back_in_their_order_and_far_energies_are_dropped():
    """μ given in any order return in that order; energies beyond the window of every μ add nothing."""
    kT = 0.05
    mu = np.array([0.3, -0.2, 0.1, 0.0])
    energies = np.array([0.05, 0.12, -0.18, 50.0, -50.0])
    X = np.ones((1, energies.size))
    got = BinnedMuSweep(mu, kT)(energies, X, 1)
    ref = _direct(energies[:3], X[:, :3], mu, kT, 1)
    assert np.abs(got - ref).max() <= 1e-12 * np.abs(ref).max()
    assert BinnedMuSweep(mu, kT).h == pytest.approx(MU_BIN_SPACING * kT)
