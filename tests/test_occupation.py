"""Fermi–Dirac occupation and its derivatives: accuracy vs mpmath, and overflow-free limits."""

from __future__ import annotations

import mpmath
import numpy as np
import pytest

from qgeom import QgeomInputError
from qgeom.occupation import MAX_ORDER, fermi_dirac


def _reference(x: float, order: int) -> float:
    """d^order/dx^order of 1/(e^x + 1) at x, 40 significant digits."""
    with mpmath.workdps(40):
        return float(mpmath.diff(lambda y: 1 / (mpmath.exp(y) + 1), mpmath.mpf(x), order))


@pytest.mark.parametrize("order", range(0, 5))
def test_derivatives_match_mpmath(order, rng):
    xs = np.concatenate([rng.uniform(-8, 8, 12), rng.uniform(-40, 40, 4), [0.0, 1e-3, -25.0]])
    for T in (0.37, 1.0):
        beta = 1 / T
        mu = 0.2
        eps = mu + xs * T
        got = fermi_dirac(eps, mu, T, order)
        ref = np.array([_reference(x, order) for x in xs]) * beta**order
        scale = beta**order * 0.25  # |f^(k)| ≲ β^k/4 for k ≤ 4
        np.testing.assert_allclose(got, ref, rtol=1e-9, atol=1e-13 * scale, err_msg=f"order {order}, T {T}")
        # relative accuracy also in the exponentially small tails
        tail = np.abs(xs) > 10
        np.testing.assert_allclose(got[tail], ref[tail], rtol=1e-8)


def test_broadcasting_energy_against_mu():
    e = np.linspace(-1, 1, 5)[:, None]
    mu = np.array([-0.5, 0.0, 0.5])[None, :]
    out = fermi_dirac(e, mu, 0.1, 2)
    assert out.shape == (5, 3)
    np.testing.assert_allclose(out[:, 1], fermi_dirac(e[:, 0], 0.0, 0.1, 2))


@pytest.mark.parametrize("order", range(0, 5))
def test_no_overflow_and_exact_limits(order):
    x = np.array([-1e6, -1e4, -800.0, 800.0, 1e4, 1e6])
    with np.errstate(all="raise"):  # no overflow/invalid warnings either
        got = fermi_dirac(x, 0.0, 1.0, order)
    assert np.all(np.isfinite(got))
    if order == 0:
        np.testing.assert_array_equal(got, [1, 1, 1, 0, 0, 0])
    else:
        np.testing.assert_array_equal(got, 0.0)
    # also through a tiny temperature (β = 1e6) at moderate energies
    with np.errstate(all="raise"):
        got = fermi_dirac(np.array([-1.0, 1.0]), 0.0, 1e-6, order)
    assert np.all(np.isfinite(got))
    np.testing.assert_array_equal(got, [1.0, 0.0] if order == 0 else [0.0, 0.0])


def test_values_at_mu():
    assert fermi_dirac(0.0, 0.0, 1.0, 0) == pytest.approx(0.5, abs=1e-15)
    assert fermi_dirac(0.0, 0.0, 2.0, 1) == pytest.approx(-0.125, abs=1e-15)
    assert fermi_dirac(0.0, 0.0, 1.0, 2) == pytest.approx(0.0, abs=1e-15)
    assert fermi_dirac(0.0, 0.0, 0.5, 3) == pytest.approx(8 * 0.25 * (6 * 0.25 - 1), rel=1e-14, abs=0)


def test_order_validation():
    with pytest.raises(QgeomInputError):
        fermi_dirac(0.0, 0.0, 1.0, MAX_ORDER + 1)
    with pytest.raises(QgeomInputError):
        fermi_dirac(0.0, 0.0, 1.0, -1)


@pytest.mark.parametrize("T", [0.0, -1.0, np.nan])
def test_nonpositive_temperature_rejected(T):
    with pytest.raises(QgeomInputError, match="temperature"):
        fermi_dirac(0.5, 0.0, T, 1)
