"""k-space grids and the Σ_k = ∫d^dk/(2π)^d reduction."""

from __future__ import annotations

import numpy as np
import pytest

from qgeom import QgeomInputError, geometry
from qgeom.kspace import KGrid, auto_chunk_size, chunk_bounds, integrate, make_grid
from qgeom.models import KPModel, TightBindingModel, library


def _measure(b, w):
    return np.array(w.sum())


def _trace_energy(b, w):
    return np.einsum("k,kn->", w, b.energies)


def _k_function(lattice):
    a1, a2 = lattice[0], lattice[-1]

    def f(b, w):
        ka1, ka2 = b.k @ a1, b.k @ a2
        F = 2.0 + np.cos(ka1) ** 2 + 0.7 * np.sin(2 * ka2 + ka1) - 0.4 * np.cos(3 * ka2) * np.sin(ka1)
        return np.array(w @ F)

    return f


def _geometry_sums(b, w):
    return {
        "metric": np.einsum("k,kabn->abn", w, geometry.quantum_metric(b)),
        "curvature": np.einsum("k,kabn->abn", w, geometry.berry_curvature(b)),
        "velocity2": np.einsum("k,kan->an", w, geometry.band_velocity(b) ** 2),
    }


def _tb(lattice, rng, nbands=2):
    d = len(lattice)
    hop = {(0,) * d: np.diag(rng.uniform(-1, 1, nbands)).astype(complex)}
    for a in range(d):
        R = tuple(int(i == a) for i in range(d))
        hop[R] = rng.standard_normal((nbands, nbands)) + 1j * rng.standard_normal((nbands, nbands))
    return TightBindingModel.from_hoppings(hop, add_conjugates=True, lattice=lattice), hop


@pytest.mark.parametrize("lattice", [
    np.array([[1.0]]) * 2.5,
    np.array([[2.0, 0.0], [0.5, 1.5]]),
    np.array([[1.0, 0.2, 0.0], [0.0, 1.3, 0.1], [0.3, 0.0, 0.8]]),
], ids=["1d", "2d", "3d"])
@pytest.mark.parametrize("offset", ["mp", "gamma"])
def test_uniform_grid_measure_and_exact_trig_polynomials(lattice, offset, rng):
    model, hop = _tb(lattice, rng)
    V = abs(np.linalg.det(lattice))
    n = 7 if len(lattice) < 3 else 5
    grid = make_grid(model, n, offset=offset)
    assert grid.npoints == n ** len(lattice)
    # ∫ d^dk/(2π)^d 1 = 1/V_cell
    assert integrate(model, grid, _measure, progress=False) == pytest.approx(1 / V, rel=1e-14, abs=0)
    # Σ_n ε_n = Tr H(k) is a trigonometric polynomial: ∫ = Tr t_0 / V exactly
    exact = np.trace(hop[(0,) * len(lattice)]).real / V
    assert integrate(model, grid, _trace_energy, progress=False) == pytest.approx(exact, rel=1e-12, abs=1e-14)
    # a trigonometric polynomial in k·a_i of degree < n: only its constant term survives
    expected = (2.0 + 0.5) / V
    assert integrate(model, grid, _k_function(lattice), progress=False) == pytest.approx(expected, rel=1e-12, abs=0)


def test_uniform_points_cover_the_brillouin_zone():
    model = library.qi_wu_zhang()
    g = make_grid(model, (4, 3))
    k, w = g.points(0, g.npoints)
    red = k @ model.lattice.T / (2 * np.pi)  # reduced coordinates
    np.testing.assert_allclose(np.unique(red[:, 0].round(12)), [-3 / 8, -1 / 8, 1 / 8, 3 / 8])
    np.testing.assert_allclose(np.unique(red[:, 1].round(12)), [-1 / 3, 0, 1 / 3])
    gg = make_grid(model, (4, 3), offset="gamma")
    red = gg.points(0, gg.npoints)[0] @ model.lattice.T / (2 * np.pi)
    np.testing.assert_allclose(np.unique(red[:, 0].round(12)), [0, 0.25, 0.5, 0.75])
    np.testing.assert_allclose(w, 1 / 12)


def test_chunking_does_not_change_the_result():
    model = library.tilted_dirac_2band()
    grid = make_grid(model, (13, 11))
    a = integrate(model, grid, _geometry_sums, chunk_size=7, progress=False)
    b = integrate(model, grid, _geometry_sums, progress=False)
    c = integrate(model, grid, _geometry_sums, chunk_size=grid.npoints + 5, progress=False)
    assert auto_chunk_size(model) > 7
    for key in a:
        assert np.abs(b[key]).max() > 1e-3
        np.testing.assert_allclose(a[key], b[key], rtol=0, atol=1e-13 * np.abs(b[key]).max())
        np.testing.assert_allclose(c[key], b[key], rtol=0, atol=1e-13 * np.abs(b[key]).max())


def test_chunk_bounds_cover_every_point_once():
    model = library.qi_wu_zhang()
    g = make_grid(model, (5, 4))
    bounds = chunk_bounds(g, 7)
    assert bounds[0][0] == 0 and bounds[-1][1] == 20
    assert all(b0[1] == b1[0] for b0, b1 in zip(bounds, bounds[1:]))
    ks = np.concatenate([g.points(*bd)[0] for bd in bounds])
    np.testing.assert_allclose(ks, g.points(0, 20)[0])


@pytest.fixture(scope="module")
def mnbi():
    return library.mnbi2te4_bilayer()


def test_disk_grid_measure_and_moments(mnbi):
    kc = mnbi.k_cutoff
    g = make_grid(mnbi, (8, 12))
    assert g.kind == "disk" and g.cutoff == kc
    assert integrate(mnbi, g, _measure, progress=False) == pytest.approx(kc**2 / (4 * np.pi), rel=1e-13, abs=0)
    k, w = g.points(0, g.npoints)
    assert np.all(np.hypot(*k.T) < kc)
    # ∫_{|k|<kc} |k|⁴ d²k/(2π)² = kc⁶/(12π) — exact for Gauss–Legendre in r
    assert w @ (np.hypot(*k.T) ** 4) == pytest.approx(kc**6 / (12 * np.pi), rel=1e-12, abs=0)
    # angular trig polynomial: ∫ kx² = kc⁴/(16π)
    assert w @ k[:, 0] ** 2 == pytest.approx(kc**4 / (16 * np.pi), rel=1e-12, abs=0)
    g2 = make_grid(mnbi, (6, 8), cutoff=0.05)
    assert integrate(mnbi, g2, _measure, progress=False) == pytest.approx(0.05**2 / (4 * np.pi), rel=1e-13, abs=0)


def test_box_grid_measure():
    m = KPModel([["kx**2 + ky**2 + kz**2"]], dim=3, k_cutoff=0.3)
    g = make_grid(m, 4)
    assert g.kind == "box"
    assert integrate(m, g, _measure, progress=False) == pytest.approx(0.6**3 / (2 * np.pi) ** 3, rel=1e-13, abs=0)
    m1 = KPModel([["kx**2"]], dim=1)
    g1 = make_grid(m1, 6, cutoff=2.0)
    k, w = g1.points(0, 6)
    np.testing.assert_allclose(np.sort(k[:, 0]), np.linspace(-2 + 1 / 3, 2 - 1 / 3, 6))  # sub-grid-first order
    assert w.sum() == pytest.approx(4 / (2 * np.pi), rel=1e-14, abs=0)


def test_describe():
    d = make_grid(library.qi_wu_zhang(), 5).describe()
    assert d["kind"] == "uniform" and d["shape"] == [5, 5] and d["npoints"] == 25 and d["offset"] == "mp"


def test_make_grid_passes_through_kgrid():
    m = library.qi_wu_zhang()
    g = make_grid(m, 3)
    assert make_grid(m, g) is g
    assert isinstance(g, KGrid)


@pytest.mark.parametrize("grid, kwargs, match", [
    (0, {}, "positive integer"),
    (-3, {}, "positive integer"),
    (2.5, {}, "positive integer"),
    ((4,), {}, "tuple of 2"),
    ((4, 4, 4), {}, "tuple of 2"),
    ((4, 0), {}, "positive integer"),
    ("10", {}, "grid"),
    (4, {"kind": "disk"}, "uniform"),
    (4, {"offset": "shifted"}, "offset"),
])
def test_lattice_grid_validation(grid, kwargs, match):
    with pytest.raises(QgeomInputError, match=match):
        make_grid(library.qi_wu_zhang(), grid, **kwargs)


def test_continuum_grid_validation(mnbi):
    no_cut = KPModel([["kx**2 + ky**2"]], dim=2)
    with pytest.raises(QgeomInputError, match="cutoff"):
        make_grid(no_cut, 4)
    with pytest.raises(QgeomInputError, match="cutoff"):
        make_grid(mnbi, 4, cutoff=-0.1)
    with pytest.raises(QgeomInputError, match="cutoff"):
        make_grid(mnbi, 4, cutoff=0.0)
    with pytest.raises(QgeomInputError, match="kind"):
        make_grid(mnbi, 4, kind="hexagon")
    with pytest.raises(QgeomInputError, match="2D"):
        make_grid(KPModel([["kx**2"]], dim=1, k_cutoff=1.0), 4, kind="disk")
    with pytest.raises(QgeomInputError, match="tuple of 2"):
        make_grid(mnbi, (3, 4, 5))
