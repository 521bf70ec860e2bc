"""`dc.sums_over_states.subspace_velocity_products` (the by-parts Drude's Tr_D[v^A v^B v^C]) against the
products of the velocity matrices restricted to each subspace, built state by state."""

from pathlib import Path

import numpy as np
import pytest

from qgeom.bands import Bands
from qgeom.dc.sums_over_states import _planar, subspace_velocity_products
from qgeom.models.wannier90 import from_wannier90

GAAS = Path(__file__).resolve().parents[2] / "examples" / "GaAs"


@pytest.mark.parametrize("tol", [1e-6, 2e-2, 0.3])
def test_subspace_velocity_products_equal_the_restricted_matrix_products(tol):
    """GaAs grouped at 1e-6 (Kramers pairs), 0.02 and 0.3 eV (subspaces of 1 to 6 states, some of them
    decoupled within: `exact_same` keeps those apart), a window of bands that cuts no subspace."""
    m = from_wannier90(GAAS)
    k = np.random.default_rng(4).uniform(-0.5, 0.5, (12, 3)) @ m.reciprocal_lattice
    k[:2] *= 1e-3  # near Γ: degenerate multiplets
    b = Bands.from_model(m, k, order=1).regrouped(tol)
    same = b.exact_same
    first = np.flatnonzero(np.r_[True, ~(b.labels[:, 1:] == b.labels[:, :-1]).any(axis=0)])
    bands = slice(int(first[1]) if len(first) > 1 else 0, 16)
    rows = b.first_order_rows()[:, bands]  # [nk, n, a, p]
    v = _planar(rows.swapaxes(1, 2))
    A, B, C = [0, 1, 2, 0], [0, 1, 0, 2], [0, 2, 1, 1]
    got = subspace_velocity_products(v, b, bands, A, B, C)
    V = b.v  # [nk, a, N, N]
    want = np.zeros_like(got)
    for kk in range(b.nk):
        for i, n in enumerate(range(bands.start, bands.stop)):
            D = np.flatnonzero(same[kk, n])
            P = [V[kk, a][np.ix_(D, D)] for a in range(3)]
            j = list(D).index(n)
            for c, (a1, a2, a3) in enumerate(zip(A, B, C)):
                want[c, i, kk] = (P[a1] @ P[a2] @ P[a3])[j, j].real
    assert b.exact_same.sum(axis=2).max() > 1
    np.testing.assert_allclose(got, want, rtol=0, atol=1e-12 * np.abs(want).max())


def test_the_inverse_mass_alone_is_pair_sums_of_the_windows_rows(monkeypatch):
    """The seed Drude with the by-parts Γ⁰ forms needs ∂_a v^b = Re w_nn + 2 Σ_p f_np Re(v^a_np v^b_pn) only: from
    the window's velocity rows and the diagonal of ∂²H, without the velocity products M of the covariant
    derivatives — equal to the inverse mass of the path that forms them (both groupings of a chunk)."""
    import itertools

    from qgeom.dc import sums_over_states as sos

    m = from_wannier90(GAAS)
    k = np.random.default_rng(7).uniform(-0.5, 0.5, (10, 3)) @ m.reciprocal_lattice
    finer = Bands.from_model(m, k, order=2)
    b = finer.regrouped(0.03)
    assert (b.same & ~finer.same).any()  # the coarse grouping joins pairs: both outputs differ
    pairs = list(itertools.combinations_with_replacement(range(3), 2))
    pidx = np.zeros((3, 3), int)
    for i, (a, c) in enumerate(pairs):
        pidx[a, c] = pidx[c, a] = i
    A, B, C = (np.array(x) for x in ([0, 1, 2], [1, 1, 0], [1, 2, 0]))
    bands = slice(2, 14)
    covariant = sos.general_per_band(b, A, B, C, pairs, pidx, True, False, True, bands, finer=finer)

    def refused(*args, **kwargs):
        raise AssertionError("the inverse mass alone must not form the velocity products")

    monkeypatch.setattr(sos, "_velocity_products", refused)
    finer = Bands.from_model(m, k, order=2)  # fresh: nothing rotated yet
    alone = sos.general_per_band(finer.regrouped(0.03), A, B, C, pairs, pidx, False, False, True, bands, finer=finer)
    for want, got in zip(covariant, alone):
        scale = np.abs(want["mass"]).max()
        np.testing.assert_allclose(got["mass"], want["mass"], rtol=0, atol=1e-12 * scale)
        assert scale > 1.0
