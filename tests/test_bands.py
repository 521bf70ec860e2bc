"""Bands: eigensystem, eigenbasis matrix elements and the degenerate-subspace bookkeeping."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from qgeom import QgeomInputError
from qgeom.bands import Bands
from qgeom.models import library


def test_from_model_eigensystem_and_matrix_elements(rng):
    model = library.pt_tilted_4band()
    k = rng.uniform(-np.pi, np.pi, size=(7, 2))
    b = Bands.from_model(model, k, order=3)
    assert (b.nk, b.nbands, b.dim) == (7, 4, 2)
    assert b.v.shape == (7, 2, 4, 4) and b.w.shape == (7, 2, 2, 4, 4) and b.u.shape == (7, 2, 2, 2, 4, 4)
    assert np.all(np.diff(b.energies, axis=1) >= 0)
    H = model.hamiltonian(k)
    np.testing.assert_allclose(H @ b.vectors, b.vectors * b.energies[:, None, :], atol=1e-12)
    Vd = b.vectors.conj().swapaxes(-1, -2)
    np.testing.assert_allclose(Vd @ b.vectors, np.broadcast_to(np.eye(4), (7, 4, 4)), atol=1e-12)
    dH, ddH, dddH = (model.hamiltonian(k, o) for o in (1, 2, 3))
    np.testing.assert_allclose(b.v, Vd[:, None] @ dH @ b.vectors[:, None], atol=1e-12)
    np.testing.assert_allclose(b.w[:, 1, 0], Vd @ ddH[:, 1, 0] @ b.vectors, atol=1e-12)
    np.testing.assert_allclose(b.u[:, 0, 1, 1], Vd @ dddH[:, 0, 1, 1] @ b.vectors, atol=1e-12)
    np.testing.assert_allclose(b.k, k)


def test_lower_order_leaves_w_u_empty_and_require():
    b = Bands.from_model(library.qi_wu_zhang(), np.zeros((2, 2)) + 0.3, order=1)
    assert b.w is None and b.u is None
    b.require(1)
    with pytest.raises(QgeomInputError, match="order=2"):
        b.require(2)
    b2 = Bands.from_model(library.qi_wu_zhang(), np.zeros((2, 2)) + 0.3, order=2)
    assert b2.w is not None and b2.u is None
    with pytest.raises(QgeomInputError, match="order=3"):
        b2.require(3)


def _synthetic(energies, tol):
    e = np.asarray(energies, float)[None]
    N = e.shape[1]
    eye = np.eye(N, dtype=complex)[None]
    return Bands(np.zeros((1, 1)), e, eye, np.zeros((1, 1, N, N), complex), None, None, degen_tol=tol)


def test_degenerate_labels_chain_and_mask():
    b = _synthetic([0.0, 0.6e-6, 1.2e-6, 1.0, 1.0, 2.0], 1e-6)
    np.testing.assert_array_equal(b.labels[0], [0, 0, 0, 1, 1, 2])  # chained along the spectrum
    assert b.same[0, 0, 2] and b.same[0, 3, 4] and not b.same[0, 2, 3]
    inv = b.inv_de[0]
    assert np.all(inv[b.same[0]] == 0)
    assert inv[0, 5] == pytest.approx(1 / (0.0 - 2.0)) and inv[5, 3] == pytest.approx(1 / (2.0 - 1.0))
    assert np.all(np.isfinite(inv))
    # a smaller tolerance splits the near-degenerate cluster
    np.testing.assert_array_equal(_synthetic([0.0, 0.6e-6, 1.2e-6, 1.0], 1e-7).labels[0], [0, 1, 2, 3])


def test_subspace_average():
    b = _synthetic([0.0, 0.0, 1.0, 2.0, 2.0, 2.0], 1e-8)
    x = np.array([[1.0, 3.0, 5.0, 1.0, 2.0, 6.0]])
    np.testing.assert_allclose(b.subspace_average(x), [[2.0, 2.0, 5.0, 3.0, 3.0, 3.0]])
    # tensor axes between k and band are carried along
    xt = np.stack([x, 2 * x], axis=1)  # [nk, 2, N]
    np.testing.assert_allclose(b.subspace_average(xt)[0, 1], [4.0, 4.0, 10.0, 6.0, 6.0, 6.0])


def test_cached_memoizes():
    b = _synthetic([0.0, 1.0], 1e-6)
    calls = []
    f = lambda bb: calls.append(1) or np.ones(3)  # noqa: E731
    b.cached("x", f)
    b.cached("x", f)
    assert len(calls) == 1


def test_from_model_bad_inputs():
    m = library.qi_wu_zhang()
    with pytest.raises(QgeomInputError, match="order"):
        Bands.from_model(m, np.zeros((1, 2)), order=4)
    with pytest.raises(QgeomInputError, match="degen_tol"):
        Bands.from_model(m, np.zeros((1, 2)), degen_tol=0.0)
    with pytest.raises(QgeomInputError, match="degen_tol"):
        Bands.from_model(m, np.zeros((1, 2)), degen_tol=-1e-6)
    with pytest.raises(QgeomInputError, match=r"shape \[nk, 2\]"):
        Bands.from_model(m, np.zeros((3, 3)))
    with pytest.raises(QgeomInputError, match="NaN"):
        Bands.from_model(m, np.array([[0.0, np.nan]]))


def test_exact_degeneracies_get_a_canonical_gauge():
    """T_d-symmetric GaAs on Λ (k ∥ [111]): pairs degenerate to rounding. Whatever unitary mixes each
    pair on input, canonical_gauge returns the same states (up to a phase each), so per-band
    quantities such as ∂³ε_n no longer depend on the eigensolver; split pairs are left alone."""
    from pathlib import Path

    from qgeom.bands import derivative_block
    from qgeom.eigensystem import canonical_gauge, eigh
    from qgeom.models.symmetrize import symmetrize_point_group
    from qgeom.models.wannier90 import from_wannier90

    gaas = from_wannier90(Path(__file__).resolve().parents[1] / "examples" / "GaAs")
    td = symmetrize_point_group(gaas, "-43m", representation="fitted")
    k = np.array([[1 / 16, 1 / 16, 1 / 16], [0.1, 0.23, 0.37]]) @ td.reciprocal_lattice
    block = derivative_block(td, k, 1, None)
    e, V = eigh(block[:, :, 0])
    pairs = [n for n in range(15) if e[0, n + 1] - e[0, n] < 1e-10]
    assert len(pairs) >= 4 and all(e[1, n + 1] - e[1, n] > 1e-4 for n in range(15))
    mixed = V.copy()
    rng = np.random.default_rng(2)
    for n in pairs:
        U = np.linalg.qr(rng.normal(size=(2, 2)) + 1j * rng.normal(size=(2, 2)))[0]
        mixed[0][:, n : n + 2] = V[0][:, n : n + 2] @ U
    a, b = canonical_gauge(e, V, block[:, :, 1:4]), canonical_gauge(e, mixed, block[:, :, 1:4])
    overlap = np.abs(np.einsum("kin,kim->knm", a.conj(), b))
    np.testing.assert_allclose(overlap, np.broadcast_to(np.eye(16), overlap.shape), atol=1e-8)
    np.testing.assert_array_equal(a[1], V[1])  # a k-point without exact degeneracy: untouched


def test_window_elements_are_the_full_rotations_rows():
    """`window_elements` (v of every state, second-order rows and third-order diagonals of a band
    window) equals the corresponding parts of `derivative_rows`, on a window that cuts through the
    spectrum; `bands_within` keeps whole subspaces."""
    from pathlib import Path

    from qgeom.eigenbasis import symmetric_combos
    from qgeom.models.wannier90 import from_wannier90

    gaas = from_wannier90(Path(__file__).resolve().parents[1] / "examples" / "GaAs")
    k = np.random.default_rng(4).uniform(-0.5, 0.5, (40, 3)) @ gaas.reciprocal_lattice
    k[0] = 0.0  # Γ: Kramers pairs and the fourfold Γ8 top of the valence band
    b = Bands.from_model(gaas, k, order=3)
    window = b.bands_within(7.0, 9.0)
    assert 0 < window.start and window.stop < b.nbands
    assert not (b.labels[:, window.start] == b.labels[:, window.start - 1]).any()
    assert not (b.labels[:, window.stop] == b.labels[:, window.stop - 1]).any()
    v, second, third = b.window_elements(window)
    full = Bands.from_model(gaas, k, order=3).derivative_rows()
    d, n2 = 3, len(symmetric_combos(3, 2))
    np.testing.assert_allclose(v, full[:, :, :d], atol=1e-12)
    np.testing.assert_allclose(second, full[:, window, d : d + n2], atol=1e-12)
    np.testing.assert_allclose(third, np.diagonal(full[:, window, d + n2 :, window], axis1=1, axis2=3).real, atol=1e-11)
    fresh = Bands.from_model(gaas, k, order=3)  # diagonals from the block, without the full rotation
    for order, (lo, hi) in ((1, (0, d)), (2, (d, d + n2)), (3, (d + n2, full.shape[2]))):
        np.testing.assert_allclose(fresh.diagonal(order), np.diagonal(full[:, :, lo:hi], axis1=1, axis2=3).real,
                                   atol=1e-11)
    for c in range(3):  # a current's ∂_a v^c: d second-order columns rotated alone
        np.testing.assert_allclose(fresh.second_derivative_along(c), Bands.from_model(gaas, k, order=3).w[:, :, c],
                                   atol=1e-11)
    assert "rotated" not in fresh._eigenbasis
    w = Bands.from_model(gaas, k, order=2).w
    blocks = Bands.from_model(gaas, k, order=2)
    rows, cols = slice(2, 9), slice(5, 16)  # the band block of an optical chunk's transitions (lower, upper)
    np.testing.assert_allclose(blocks.second_derivative_along(1, rows, cols), w[:, :, 1, rows, cols], atol=1e-11)
    inner = blocks.second_derivative_along(1, slice(3, 6), slice(8, 12))  # a block inside it: a view of it
    assert np.shares_memory(inner, blocks.second_derivative_along(1, rows, cols))
    np.testing.assert_allclose(inner, w[:, :, 1, 3:6, 8:12], atol=1e-11)
    np.testing.assert_allclose(blocks.subset(np.arange(5)).second_derivative_along(1, slice(4, 9), cols),
                               w[:5, :, 1, 4:9, cols], atol=1e-11)  # a subset slices the rotated block
    along = Bands.from_model(gaas, k, order=2, along=1)  # a current along y: only ∂_a∂_y H
    np.testing.assert_allclose(along.second_derivative_along(1), w[:, :, 1], atol=1e-11)
    np.testing.assert_allclose(along.second_derivative_along(1, rows, cols), w[:, :, 1, rows, cols], atol=1e-11)
    np.testing.assert_allclose(along.regrouped(0.01).subset(np.arange(4)).second_derivative_along(1), w[:4, :, 1],
                               atol=1e-11)
    for other in (lambda x: x.second_derivative_along(0), lambda x: x.w, lambda x: x.diagonal(2),
                  lambda x: x.window_elements(window), lambda x: x.regrouped(0.01).derivative_rows()):
        with pytest.raises(RuntimeError, match="along=1"):
            other(Bands.from_model(gaas, k, order=2, along=1))
    np.testing.assert_allclose(along.v, Bands.from_model(gaas, k, order=2).v, atol=1e-12)  # first order complete
    narrower = slice(window.start + 2, window.stop)  # served from the cached wider window
    np.testing.assert_array_equal(b.window_elements(narrower)[1], second[:, 2:])
    assert b.bands_within(100.0, 101.0) == slice(0, 0)


def test_regrouping_tests_coupling_only_where_the_grouping_changes():
    """`regrouped(tol)` averages a merged pair only where the two states couple, tested on the first use of
    `exact_same` (a response that averages no per-band quantity never computes it) and only at the k-points
    where a pair is merged, from the merged pairs' velocity elements alone when ∂H is not rotated (a
    Fermi-window response then rotates only the window's rows): equal to the test on every rotated row, on
    GaAs k-points where the Kramers pairs are split by less than the tolerance and where they are not."""
    from pathlib import Path

    from qgeom.models.wannier90 import from_wannier90

    gaas = from_wannier90(Path(__file__).resolve().parents[1] / "examples" / "GaAs")
    k = np.random.default_rng(5).uniform(-0.5, 0.5, (60, 3)) @ gaas.reciprocal_lattice
    k[:3] *= 1e-3  # near Γ: the Kramers pairs are split by ≪ 1e-3
    changed = Bands.from_model(gaas, k, order=1).regrouping_changes(1e-3)
    few = np.r_[k[changed][:3], k[~changed]]
    b = Bands.from_model(gaas, few, order=1)
    assert 0 < 2 * b.regrouping_changes(1e-3).sum() < len(few)
    grouped = b.regrouped(1e-3)
    rows = np.abs(Bands.from_model(gaas, few, order=1).first_order_rows()).max(axis=2)
    coupled = rows > 1e-10 * rows.max(axis=(1, 2), keepdims=True)
    np.testing.assert_array_equal(grouped.exact_same, b.exact_same | (grouped.same & coupled))
    assert "first" not in b._eigenbasis and "rotated" not in b._eigenbasis
    busy = Bands.from_model(gaas, k[changed], order=1)  # every k-point changes
    lazy = busy.regrouped(1e-3)
    assert "first" not in busy._eigenbasis  # no test until a response averages per-band quantities
    rows = np.abs(Bands.from_model(gaas, k[changed], order=1).first_order_rows()).max(axis=2)
    coupled = rows > 1e-10 * rows.max(axis=(1, 2), keepdims=True)
    np.testing.assert_array_equal(lazy.exact_same, busy.exact_same | (lazy.same & coupled))
    assert "first" not in busy._eigenbasis  # the merged pairs' elements alone, never the rows
    quiet = Bands.from_model(gaas, k[~changed], order=1)
    assert quiet.regrouped(1e-3).exact_same is quiet.exact_same and "first" not in quiet._eigenbasis


@pytest.mark.parametrize("case", ["gaas", "two_blocks"])
def test_exact_same_within_a_window_is_the_whole_ones_block(case):
    """`exact_same_within(bands)` (the subspaces a Fermi-window sum averages over) tests the coupling of
    merged pairs between those bands only — from the window's rotated rows when they exist, else from the
    pairs' own elements — and equals `exact_same[:, bands, bands]` of the whole chunk, for regrouped bands
    and their subsets: GaAs merged below 0.05 eV (spin-split pairs: coupled, averaged) and a model of two
    decoupled orbital blocks merged below 1 (its merged pairs across the blocks kept apart)."""
    from pathlib import Path

    from qgeom.models.wannier90 import from_wannier90
    from tests.models.test_blocks import _scrambled_two_block_model

    if case == "gaas":
        m, tol = from_wannier90(Path(__file__).resolve().parents[1] / "examples" / "GaAs"), 0.05
        windows = (slice(2, 10), slice(6, 16), slice(0, 16))
    else:
        m, tol = _scrambled_two_block_model(), 1.0
        windows = (slice(0, 3), slice(1, 5), slice(0, 5))
    k = np.random.default_rng(7).uniform(-0.5, 0.5, (40, m.dim)) @ m.reciprocal_lattice
    averaged = kept_apart = False
    for window in windows:
        whole = Bands.from_model(m, k, order=1).regrouped(tol)
        ref = whole.exact_same[:, window, window]
        merged = whole.same[:, window, window] & ~np.eye(window.stop - window.start, dtype=bool)
        averaged |= bool((ref & merged).any())
        kept_apart |= bool((merged & ~ref).any())
        for rotated in (False, True):
            b = Bands.from_model(m, k, order=1)
            if rotated:
                b.first_order_window(window)  # the rows a by-parts Fermi-window sum rotates
            grouped = b.regrouped(tol)
            np.testing.assert_array_equal(grouped.exact_same_within(window), ref)
            assert "first" not in b._eigenbasis  # never the rows of every band
            sub = np.arange(0, len(k), 3)
            np.testing.assert_array_equal(grouped.subset(sub).exact_same_within(window), ref[sub])
    assert averaged and kept_apart == (case == "two_blocks")


@given(st.lists(st.sampled_from([0.0, 1e-9, 3e-4, 8e-4, 2e-3, 0.1]), min_size=1, max_size=9),
       st.sampled_from([1e-6, 5e-4]), st.sampled_from([1e-3, 2.5e-3]))
@settings(max_examples=200, deadline=None)
def test_regrouping_touches_the_rows_of_same_that_regrouping_changes(steps, fine, coarse):
    """`Bands.regrouping_touches(tol)`: from the energies alone, the states whose row of `same` differs
    between the chunk and `regrouped(tol)` — chains of small gaps, exact degeneracies, gaps on either
    side of both tolerances; its rows with any state are `regrouping_changes`."""
    e = np.cumsum([0.0] + steps)
    e = np.stack([e, -e[::-1]])  # two k-points: the gaps in both orders
    N = e.shape[1]
    b = Bands(np.zeros((2, 1)), e, np.tile(np.eye(N, dtype=complex), (2, 1, 1)), np.zeros((2, 1, N, N), complex),
              None, None, degen_tol=fine)
    want = (b.regrouped(coarse).same != b.same).any(axis=2)
    got = b.regrouping_touches(coarse)
    np.testing.assert_array_equal(got, want)
    np.testing.assert_array_equal(got.any(axis=1), b.regrouping_changes(coarse))
