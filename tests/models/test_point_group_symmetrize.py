"""Point-group symmetrization in real space: exact E(k) = E(S k), idempotent, lattice shifts of the centres."""

from __future__ import annotations

import numpy as np
import pytest

from qgeom.models import TightBindingModel
from qgeom.models.symmetrize import symmetrize_point_group
from qgeom.models.wannier90 import OrbitalPositionModel
from qgeom.symmetry.group import from_symbol

BCC = 1.435 * np.array([[1.0, 1, -1], [-1, 1, 1], [1, -1, 1]])


def _random_model(nbands, tau, seed=0):
    rng = np.random.default_rng(seed)
    R = np.array([(a, b, c) for a in (-1, 0, 1) for b in (-1, 0, 1) for c in (-1, 0, 1)])
    t = rng.normal(size=(len(R), nbands, nbands)) + 1j * rng.normal(size=(len(R), nbands, nbands))
    t = 0.5 * (t + t[::-1].conj().transpose(0, 2, 1))  # R list is symmetric: index nR-1-r holds -R
    return OrbitalPositionModel(TightBindingModel(R, t, lattice=BCC, parameters={"spinor_ordering": "block"}), tau)


def _energies(m, k):
    return np.linalg.eigvalsh(m.hamiltonian(k))


@pytest.mark.parametrize("symbol, orbitals, nbands", [("m-3m", ["s", "pz", "px", "py"], 4),
                                                     ("4/m", ["pz", "px", "py", "dz2", "dxz", "dyz", "dx2-y2", "dxy"], 16)])
def test_symmetrized_bands_invariant_and_idempotent(symbol, orbitals, nbands):
    m = _random_model(nbands, np.zeros((nbands, 3)))
    s = symmetrize_point_group(m, symbol, orbitals=orbitals)
    k = np.random.default_rng(3).uniform(-0.5, 0.5, (40, 3)) @ m.reciprocal_lattice
    e = _energies(s, k)
    assert np.abs(_energies(m, k) - _energies(m, -k)).max() > 0.1  # the random model breaks inversion
    for g in from_symbol(symbol):
        np.testing.assert_allclose(_energies(s, k @ g.R.T), e, atol=1e-10)
    again = symmetrize_point_group(s, symbol, orbitals=orbitals).parameters["point_group_symmetrized"]
    assert again["max_abs_change_eV"] < 1e-12 < s.parameters["point_group_symmetrized"]["max_abs_change_eV"]


def test_inversion_maps_sites_with_lattice_shift():
    """s sites at 0 and a1/2: inversion keeps the first and carries the second to −a1/2 = a1/2 − a1 (L = −a1)."""
    tau = np.array([0.0, 0.5])[:, None] * BCC[0]
    m = _random_model(2, tau, seed=1)
    s = symmetrize_point_group(m, "-1", representation=lambda S: np.eye(2))
    k = np.random.default_rng(4).uniform(-0.5, 0.5, (40, 3)) @ m.reciprocal_lattice
    np.testing.assert_allclose(_energies(s, -k), _energies(s, k), atol=1e-10)
    both_at_origin = symmetrize_point_group(OrbitalPositionModel(m.base, np.zeros((2, 3))), "-1",
                                            representation=lambda S: np.eye(2))
    assert np.abs(_energies(both_at_origin, k) - _energies(s, k)).max() > 1e-2  # the shift L enters


def test_bad_input():
    m = _random_model(4, np.zeros((4, 3)))
    with pytest.raises(ValueError, match="unitary operations"):
        symmetrize_point_group(m, "4/mm'm'", orbitals=["s", "pz", "px", "py"])
    with pytest.raises(ValueError, match="orbital names"):
        symmetrize_point_group(m, "-1", orbitals=["s", "p"])
    with pytest.raises(ValueError, match="exactly one"):
        symmetrize_point_group(m, "-1")


def test_operation_must_keep_the_lattice():
    m = _random_model(4, np.zeros((4, 3)))
    c, s = np.cos(np.pi / 3), np.sin(np.pi / 3)  # a 6-fold axis: a finite group, not a bcc symmetry
    with pytest.raises(ValueError, match="lattice onto itself"):
        symmetrize_point_group(m, [np.array([[c, -s, 0], [s, c, 0], [0, 0, 1]])], representation=lambda S: np.eye(4))


def test_a_large_change_warns_that_the_representation_may_be_wrong():
    """Fe with the wt.in projector labels: the inversion average moves H(R) by 1.39 eV (8 % of the
    largest hopping) — the labels do not describe the hybrid Wannier functions; say so."""
    from pathlib import Path

    from qgeom.models import from_wannier90

    fe = from_wannier90(Path(__file__).resolve().parents[2] / "examples" / "Fe")
    with pytest.warns(UserWarning, match="representation is probably not"):
        symmetrize_point_group(fe, "-1", orbitals=["pz", "px", "py", "dz2", "dxz", "dyz", "dx2-y2", "dxy"])
