"""PythTB / TBmodels objects → qgeom models: identical H(k) in both Bloch conventions."""

from __future__ import annotations

import numpy as np
import pytest

from qgeom._validation import QgeomInputError
from qgeom.models import OrbitalPositionModel, TightBindingModel, from_pythtb, from_tbmodels

LAT = [[1.0, 0.2, 0.0], [0.1, 1.1, 0.0], [0.0, 0.3, 0.9]]
ORB = [[0.0, 0.0, 0.0], [0.3, 0.4, 0.1], [0.6, 0.1, 0.55]]


def test_pythtb_spinful_3d_matches(rng):
    pythtb = pytest.importorskip("pythtb")
    tb = pythtb.tb_model(3, 3, LAT, ORB, nspin=2)
    tb.set_onsite([[0.1, 0.2, 0.0, 0.3], [1.0, 0.0, 0.1, 0.0], [-0.5, 0.1, 0.0, 0.0]])
    for i, j, R in [(0, 1, [0, 0, 0]), (1, 2, [1, 0, 0]), (0, 0, [0, 1, 0]), (2, 0, [0, 0, 1]), (1, 1, [1, -1, 0])]:
        tb.set_hop(rng.normal(size=(2, 2)) + 1j * rng.normal(size=(2, 2)), i, j, R)
    m = from_pythtb(tb)
    assert isinstance(m, OrbitalPositionModel) and m.nbands == 6
    kred = rng.random((6, 3))
    H = m.hamiltonian(kred @ m.reciprocal_lattice)
    for n, kr in enumerate(kred):
        np.testing.assert_allclose(H[n], tb._gen_ham(kr).reshape(6, 6), rtol=0, atol=1e-12)
        np.testing.assert_allclose(np.linalg.eigvalsh(H[n]), tb.solve_one(kr), atol=1e-12)
    m1 = from_pythtb(tb, convention="I")
    assert isinstance(m1, TightBindingModel)
    np.testing.assert_allclose(np.linalg.eigvalsh(m1.hamiltonian(kred @ m.reciprocal_lattice)), np.linalg.eigvalsh(H), atol=1e-12)


def test_pythtb_spinless_2d_haldane(rng):
    pythtb = pytest.importorskip("pythtb")
    tb = pythtb.tb_model(2, 2, [[1.0, 0.0], [0.5, np.sqrt(3) / 2]], [[1 / 3, 1 / 3], [2 / 3, 2 / 3]])
    tb.set_onsite([-0.2, 0.2])
    for R in ([0, 0], [-1, 0], [0, -1]):
        tb.set_hop(-1.0, 0, 1, R)
    for R in ([1, 0], [-1, 1], [0, -1]):
        tb.set_hop(0.15j, 0, 0, R)
        tb.set_hop(-0.15j, 1, 1, R)
    m = from_pythtb(tb)
    kred = rng.random((5, 2))
    H = m.hamiltonian(kred @ m.reciprocal_lattice)
    for n, kr in enumerate(kred):
        np.testing.assert_allclose(H[n], tb._gen_ham(kr), rtol=0, atol=1e-12)


def test_pythtb_finite_model_rejected():
    pythtb = pytest.importorskip("pythtb")
    tb = pythtb.tb_model(1, 2, [[1.0, 0.0], [0.0, 1.0]], [[0.0, 0.0]], per=[0])
    with pytest.raises(QgeomInputError, match="periodic"):
        from_pythtb(tb)


def test_tbmodels_matches_both_conventions(rng):
    tbmodels = pytest.importorskip("tbmodels")
    tm = tbmodels.Model(on_site=[1.0, -1.0, 0.5], pos=ORB, uc=LAT, occ=1, dim=3)
    tm.add_hop(0.3 + 0.2j, 0, 1, [0, 0, 0])
    tm.add_hop(-0.4j, 1, 2, [1, 0, 0])
    tm.add_hop(0.25, 0, 0, [0, 1, 1])
    tm.add_hop(0.1 - 0.3j, 2, 0, [1, -1, 0])
    kred = rng.random((6, 3))
    for conv, tconv in (("II", 1), ("I", 2)):
        m = from_tbmodels(tm, convention=conv)
        np.testing.assert_allclose(m.hamiltonian(kred @ m.reciprocal_lattice), tm.hamilton(kred, convention=tconv),
                                   rtol=0, atol=1e-12)


def test_wrong_object_is_a_clear_error():
    with pytest.raises(QgeomInputError, match="pythtb"):
        from_pythtb(object())
    with pytest.raises(QgeomInputError, match="tbmodels"):
        from_tbmodels(object())
