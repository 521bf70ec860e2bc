"""Hoppings moved to their supercell images (`models.replicas`): the vectorized, piecewise MDRS equals the one-shot
evaluation of every distance (Wannier90's rule, the former code), ties included."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from qgeom.models import replicas
from qgeom.models.tight_binding import TightBindingModel, conjugate_partners, vector_index


def mdrs_reference(R, t, lattice, centres, mp_grid, tol=1e-5, search=2):
    """Every |R + T + τ_j − τ_i| at once, then np.add.at (the former implementation)."""
    n = np.array(list(itertools.product(range(-search, search + 1), repeat=3)), int) * np.asarray(mp_grid)
    d = (R @ lattice)[:, None, None, :] + centres[None, None, :, :] - centres[None, :, None, :]
    dist = np.linalg.norm(d[..., None, :] + (n @ lattice)[None, None, None], axis=-1)
    best = dist <= dist.min(axis=-1, keepdims=True) + tol
    ndeg = best.sum(-1)
    r_i, i_i, j_i, s_i = np.nonzero(best)
    uniq, inv = np.unique(R[r_i] + n[s_i], axis=0, return_inverse=True)
    out = np.zeros((len(uniq), t.shape[1], t.shape[1]), complex)
    np.add.at(out, (inv.ravel(), i_i, j_i), t[r_i, i_i, j_i] / ndeg[r_i, i_i, j_i])
    return uniq, out, int(ndeg.max())


@pytest.mark.parametrize("piece", [replicas.PIECE_BYTES, 1])
def test_mdrs_in_pieces_equals_every_distance_at_once(monkeypatch, rng, piece):
    monkeypatch.setattr(replicas, "PIECE_BYTES", piece)  # 1: one R vector at a time
    lattice = np.array([[2.0, 0.0, 0.0], [0.0, 2.0, 0.0], [0.0, 0.0, 3.0]])
    R = np.array([(a, b, c) for a in range(-2, 3) for b in range(-2, 3) for c in (-1, 0, 1)])
    N = 4
    t = rng.normal(size=(len(R), N, N)) + 1j * rng.normal(size=(len(R), N, N))
    centres = np.array([[0.0, 0.0, 0.0], [1.0, 1.0, 0.0], [0.3, -0.2, 0.5], [1.0, 0.0, 1.5]])  # ties on the cell faces
    got = replicas.mdrs_hoppings(R, t, lattice, centres, [3, 3, 2])
    ref = mdrs_reference(R, t, lattice, centres, [3, 3, 2])
    assert np.array_equal(got[0], ref[0])
    assert np.abs(got[1] - ref[1]).max() < 1e-14
    assert {tuple(r) for r in ref[0].tolist()} != {tuple(r) for r in R.tolist()}  # hoppings moved to other images
    assert ref[2] > 1  # and some spread over several


def test_vector_lookups(rng):
    R = rng.integers(-5, 6, size=(200, 3))
    R = np.unique(R, axis=0)
    index = {tuple(r): i for i, r in enumerate(R.tolist())}
    q = rng.integers(-6, 7, size=(300, 3))
    assert vector_index(q, R).tolist() == [index.get(tuple(v), -1) for v in q.tolist()]
    assert conjugate_partners(R).tolist() == [index.get(tuple(-np.array(v)), -1) for v in R.tolist()]


def test_hoppings_are_copied_unless_handed_over(rng):
    R = np.array([[-1, 0, 0], [0, 0, 0], [1, 0, 0]])
    a = rng.normal(size=(2, 2)) + 1j * rng.normal(size=(2, 2))
    t = np.stack([a.conj().T, np.eye(2), a]).astype(complex)
    assert TightBindingModel(R, t).t is not t
    assert TightBindingModel(R, t, copy=False).t is t
    assert TightBindingModel(R[::-1], t[::-1], copy=False).t is not t  # sorted first: a new array
    assert np.array_equal(TightBindingModel(R[::-1], t[::-1]).t, t)
