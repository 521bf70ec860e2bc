"""TightBindingModel: exact Fourier derivatives, Hermiticity checks, construction details."""

from __future__ import annotations

import numpy as np
import pytest

from qgeom import QgeomInputError
from qgeom.models import TightBindingModel


def random_hoppings(rng, dim: int, nbands: int, nR: int = 6, rmax: int = 2):
    hop = {}
    h0 = rng.standard_normal((nbands, nbands)) + 1j * rng.standard_normal((nbands, nbands))
    hop[(0,) * dim] = h0 + h0.conj().T
    while len(hop) < nR + 1:
        R = tuple(int(x) for x in rng.integers(-rmax, rmax + 1, size=dim))
        if any(R) and R not in hop and tuple(-x for x in R) not in hop:
            hop[R] = rng.standard_normal((nbands, nbands)) + 1j * rng.standard_normal((nbands, nbands))
    return hop


def random_model(rng, dim=3, nbands=3):
    lattice = np.eye(dim) + 0.3 * rng.standard_normal((dim, dim))
    return TightBindingModel.from_hoppings(random_hoppings(rng, dim, nbands), add_conjugates=True, lattice=lattice)


def fd(model, k, order, h):
    def central(step):
        cols = []
        for a in range(model.dim):
            e = np.zeros(model.dim)
            e[a] = step
            cols.append((model.hamiltonian(k + e, order - 1) - model.hamiltonian(k - e, order - 1)) / (2 * step))
        return np.stack(cols, axis=1)

    return (4 * central(h / 2) - central(h)) / 3


def test_random_3d_derivatives_match_finite_differences(rng):
    model = random_model(rng)
    k = rng.uniform(-3, 3, size=(5, 3))
    for order in (1, 2, 3):
        exact = model.hamiltonian(k, order)
        assert exact.shape == (5,) + (3,) * order + (3, 3)
        err = np.abs(exact - fd(model, k, order, 1e-3)).max()
        assert err <= 1e-7 * np.abs(exact).max(), (order, err)


def test_random_model_matches_direct_fourier_sum(rng):
    """H(k) = Σ_R t_R e^{ik·R_cart} with R_cart = n·lattice, and ∂_a∂_b H = −Σ R_a R_b t_R e^{ik·R}."""
    hop = random_hoppings(rng, 2, 2, nR=4)
    lattice = np.array([[1.0, 0.2], [-0.4, 1.7]])
    model = TightBindingModel.from_hoppings(hop, add_conjugates=True, lattice=lattice)
    full = dict(hop)
    for R, t in hop.items():
        if any(R):
            full[tuple(-x for x in R)] = t.conj().T
    k = rng.uniform(-2, 2, size=(4, 2))
    H = np.zeros((4, 2, 2), complex)
    H2 = np.zeros((4, 2, 2, 2, 2), complex)
    for R, t in full.items():
        Rc = np.array(R) @ lattice
        ph = np.exp(1j * k @ Rc)
        H += ph[:, None, None] * t
        H2 += -(ph[:, None, None, None, None] * np.einsum("a,b->ab", Rc, Rc)[None, :, :, None, None] * t)
    np.testing.assert_allclose(model.hamiltonian(k), H, atol=1e-12)
    np.testing.assert_allclose(model.hamiltonian(k, 2), H2, atol=1e-11)
    np.testing.assert_allclose(model.hamiltonian(k), model.hamiltonian(k).conj().swapaxes(-1, -2), atol=1e-12)


def test_duplicate_R_are_summed(rng):
    t = rng.standard_normal((2, 2))
    R = [[0], [1], [-1], [1], [-1]]
    ts = [np.zeros((2, 2)), t, t.T, 0.5 * t, 0.5 * t.T]
    m = TightBindingModel(R, ts)
    assert len(m.R) == 3
    k = np.array([[0.37]])
    expected = 1.5 * (t * np.exp(0.37j) + t.T * np.exp(-0.37j))
    np.testing.assert_allclose(m.hamiltonian(k)[0], expected, atol=1e-13)


def test_1d_k_accepts_flat_array():
    m = TightBindingModel.from_hoppings({(1,): [[1.0]]}, add_conjugates=True)
    k = np.linspace(-1, 1, 5)
    np.testing.assert_allclose(m.hamiltonian(k)[:, 0, 0].real, 2 * np.cos(k), atol=1e-14)
    np.testing.assert_allclose(m.hamiltonian(k, 3)[:, 0, 0, 0, 0, 0].real, 2 * np.sin(k), atol=1e-14)


def test_cell_volume_and_reciprocal_lattice():
    lattice = np.array([[2.0, 0.0], [0.5, 1.5]])
    m = TightBindingModel.from_hoppings({(1, 0): [[1.0]]}, add_conjugates=True, lattice=lattice)
    assert m.cell_volume == pytest.approx(3.0)
    np.testing.assert_allclose(lattice @ m.reciprocal_lattice.T, 2 * np.pi * np.eye(2), atol=1e-13)


def test_non_hermitian_hoppings_rejected_naming_R():
    t = np.array([[0.0, 1.0], [0.0, 0.0]])
    with pytest.raises(QgeomInputError, match=r"R=\(1, 0\)|R=\(-1, 0\)"):
        TightBindingModel.from_hoppings({(0, 0): np.eye(2), (1, 0): t})  # no conjugate partner
    with pytest.raises(QgeomInputError, match=r"not Hermitian"):
        TightBindingModel([[0, 0]], [[[1.0, 1.0], [0.0, 1.0]]])  # onsite not Hermitian
    with pytest.raises(QgeomInputError, match=r"R=\(0, 2\)|R=\(0, -2\)"):
        # partner present but wrong: t_{-R} = t_R instead of t_R†
        TightBindingModel([[0, 2], [0, -2]], [1j * np.eye(2), 1j * np.eye(2)])


def test_bad_construction_inputs():
    with pytest.raises(QgeomInputError, match="NaN"):
        TightBindingModel.from_hoppings({(0,): [[np.nan]]})
    with pytest.raises(QgeomInputError, match="integer"):
        TightBindingModel([[0.5]], [[[1.0]]])
    with pytest.raises(QgeomInputError, match="shape"):
        TightBindingModel([[0, 0, 0, 0]], [[[1.0]]])
    with pytest.raises(QgeomInputError, match="shape"):
        TightBindingModel([[0], [1]], [[[1.0]]])
    with pytest.raises(QgeomInputError, match="lattice"):
        TightBindingModel([[0, 0]], [[[1.0]]], lattice=[[1.0, 2.0], [2.0, 4.0]])
    m = TightBindingModel([[0, 0]], [[[1.0]]])
    with pytest.raises(QgeomInputError, match="order"):
        m.hamiltonian(np.zeros((1, 2)), 4)


def test_add_conjugates_refuses_a_bond_given_both_ways():
    # both R and -R with add_conjugates=True used to double the bond: H(0) = diag(3, 1), not diag(2, 0)
    hop = {(0, 0): np.diag([1.0, -1.0]), (1, 0): np.diag([0.5, 0.5]), (-1, 0): np.diag([0.5, 0.5])}
    with pytest.raises(QgeomInputError, match=r"both R=\(1, 0\) and -R=\(-1, 0\).*counted twice.*Give each bond once"):
        TightBindingModel.from_hoppings(hop, add_conjugates=True, lattice=np.eye(2))
    both = TightBindingModel.from_hoppings(hop, lattice=np.eye(2))  # without add_conjugates: as given
    once = TightBindingModel.from_hoppings({(0, 0): hop[(0, 0)], (1, 0): hop[(1, 0)]}, add_conjugates=True,
                                          lattice=np.eye(2))
    for m in (both, once):
        np.testing.assert_allclose(m.hamiltonian(np.zeros((1, 2)))[0], np.diag([2.0, 0.0]), atol=1e-12)
