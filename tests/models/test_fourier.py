"""Separable Fourier sums (models/fourier.py) = the direct Fourier sum Σ_R (i(R + Δ))^α t_R e^{ik·(R + Δ)}."""

import itertools

import numpy as np
import pytest

from qgeom.kspace import make_grid
from qgeom.models import fourier
from qgeom.models.tight_binding import TightBindingModel
from qgeom.models.wannier90 import OrbitalPositionModel, mdrs_hoppings


def direct_block(R_cart, t, k, order, tau=None):
    """Reference: every column of the derivative block by the textbook sum, one combo at a time."""
    nk, N, d = len(k), t.shape[1], R_cart.shape[1]
    delta = np.zeros((N, N, d)) if tau is None else tau[None, :, :] - tau[:, None, :]  # τ_j − τ_i
    r = R_cart[:, None, None, :] + delta[None]  # [nR, N, N, d]
    phase = np.exp(1j * np.einsum("kx,rijx->krij", k, r))
    cols = [c for o in range(order + 1) for c in itertools.combinations_with_replacement(range(d), o)]
    out = np.empty((nk, N, len(cols), N), complex)
    for c, combo in enumerate(cols):
        w = t.copy()
        for a in combo:
            w = w * (1j * r[..., a])
        out[:, :, c, :] = np.einsum("krij,rij->kij", phase, w)
    return out


def random_model(d, N, radius, seed, lattice):
    rng = np.random.default_rng(seed)
    box = np.array(list(itertools.product(range(-radius, radius + 1), repeat=d)))
    R = box[np.linalg.norm(box, axis=1) <= radius]
    t = rng.normal(size=(len(R), N, N)) + 1j * rng.normal(size=(len(R), N, N))
    t = t * np.exp(-np.linalg.norm(R, axis=1))[:, None, None]
    index = {tuple(r): i for i, r in enumerate(R)}
    t = 0.5 * (t + np.array([t[index[tuple(-r)]].conj().T for r in R]))
    return TightBindingModel(R, t, lattice=lattice)


LAT3 = np.array([[1.0, 0.1, 0.0], [-0.5, 0.9, 0.2], [0.1, 0.3, 1.3]])
LAT2 = np.array([[1.0, 0.0], [0.5, 0.8]])


def grid_chunks(model, shape, offset, sizes):
    g = make_grid(model, shape, offset=offset)
    starts = [0, 3, g.npoints // 2 - 7]
    return [g.points(s, min(g.npoints, s + n))[0] for s in starts for n in sizes]


@pytest.mark.parametrize("offset", ["mp", "gamma"])
@pytest.mark.parametrize("d, lat", [(3, LAT3), (2, LAT2)])
def test_convention_I_grid_chunks_equal_direct_sum(d, lat, offset):
    model = random_model(d, 3, 3, seed=d, lattice=lat)
    # 49: a whole plane of 7³ (rows in order: GEMMs straight into the block); 40: lines cut (gathered rows)
    chunks = grid_chunks(model, (7,) * d if d == 3 else (9, 11), offset, [1, 5, 40, 49, 200])
    for k in chunks:
        ref = direct_block(model.R @ lat, model.t, k, 3)
        got = model._derivative_block(k, 3)
        assert np.abs(got - ref).max() <= 1e-12 * np.abs(ref).max()


def test_separable_path_is_taken_on_grid_chunks_and_direct_on_scattered_points():
    model = random_model(3, 2, 4, seed=5, lattice=LAT3)
    series = model.fourier
    g = make_grid(model, 12)
    k_grid, _ = g.points(0, 300)
    k_rand = np.random.default_rng(0).normal(size=(300, 3))
    calls = []
    orig_sep, orig_dir = series._separable, series._direct
    series._separable = lambda *a: calls.append("sep") or orig_sep(*a)
    series._direct = lambda *a: calls.append("dir") or orig_dir(*a)
    for k in (k_grid, k_rand):
        ref = direct_block(model.R @ LAT3, model.t, k, 2)
        assert np.abs(model._derivative_block(k, 2) - ref).max() <= 1e-12 * np.abs(ref).max()
    assert calls == ["sep", "dir"]


def test_convention_II_with_mdrs_replicas_equals_direct_sum():
    rng = np.random.default_rng(3)
    lat = LAT3 * 3.0
    base = random_model(3, 4, 2, seed=11, lattice=lat)
    tau = rng.normal(size=(4, 3))
    R, t = mdrs_hoppings(base.R, base.t, lat, tau, [3, 3, 3])
    assert len(R) > len(base.R)  # replicas were created
    model = OrbitalPositionModel(TightBindingModel(R, t, lattice=lat), tau)
    for k in grid_chunks(model, (5, 6, 4), "mp", [1, 30, 120]) + [rng.normal(size=(17, 3))]:
        ref = direct_block(R @ lat, t, k, 3, tau=tau)
        got = model._derivative_block(k, 3)
        assert np.abs(got - ref).max() <= 1e-12 * np.abs(ref).max()
        for order in range(4):  # full tensors from the block
            full = model.hamiltonian(k, order)
            combo = (0,) * order if order else ()
            col = [c for o in range(order + 1) for c in itertools.combinations_with_replacement(range(3), o)].index(combo)
            assert np.abs(full[(slice(None),) + combo] - ref[:, :, col]).max() <= 1e-12 * np.abs(ref).max()


def test_convention_II_with_all_centres_at_one_point_is_convention_I():
    """One atom per cell (bcc Fe: every Wannier centre on it): e^{ik·(τ_j − τ_i)} = 1, so the series
    skips the Leibniz terms and the phase, and the block is convention I's, equal to the direct sum."""
    lat = LAT3 * 2.0
    base = random_model(3, 3, 2, seed=7, lattice=lat)
    tau = np.tile([0.3, -0.2, 0.7], (3, 1))
    model = OrbitalPositionModel(base, tau)
    assert model.fourier.delta is None
    for k in grid_chunks(model, (5, 6, 4), "mp", [1, 30]):
        ref = direct_block(base.R @ lat, base.t, k, 3, tau=tau)
        assert np.abs(model._derivative_block(k, 3) - ref).max() <= 1e-12 * np.abs(ref).max()
        assert np.array_equal(model._derivative_block(k, 3), base._derivative_block(k, 3))


def mdrs_model(seed, rng_seed):
    """A 3-orbital convention-II model with random centres and MDRS replicas, its convention-I base and the
    random generator that drew the centres (for the test's k-points)."""
    rng = np.random.default_rng(rng_seed)
    lat = LAT3 * 2.0
    base = random_model(3, 3, 2, seed=seed, lattice=lat)
    tau = rng.normal(size=(3, 3))
    R, t = mdrs_hoppings(base.R, base.t, lat, tau, [3, 3, 3])
    return OrbitalPositionModel(TightBindingModel(R, t, lattice=lat), tau), base, rng


@pytest.mark.parametrize("axes", [(0,), (0, 2), (1, 2)])
def test_block_along_some_axes_is_those_columns_of_the_full_block(axes):
    """Only the combos along `axes` (block_combos), convention II with replicas, grid chunks and
    scattered points; and the generic fallback of bands.derivative_block (a k·p-like model) the same."""
    from qgeom.bands import derivative_block

    model, base, rng = mdrs_model(seed=4, rng_seed=5)
    lat = base.lattice
    cols = [fourier.all_combos(3, 3).index(c) for c in fourier.block_combos(3, 3, axes)]
    assert len(cols) == len(fourier.all_combos(len(axes), 3))
    for k in grid_chunks(model, (5, 6, 4), "gamma", [7, 60]) + [rng.normal(size=(9, 3))]:
        full = model._derivative_block(k, 3)
        np.testing.assert_allclose(model._derivative_block(k, 3, axes), full[:, :, cols], rtol=0, atol=1e-12 * np.abs(full).max())

    class Plain(TightBindingModel):  # no fused block along axes: the full tensors, combos picked
        def _derivative_block(self, k, order, axes=None):
            return None if axes is not None else super()._derivative_block(k, order)

    plain = Plain(base.R, base.t, lattice=lat)
    k = rng.normal(size=(5, 3))
    full = base._derivative_block(k, 3)
    np.testing.assert_allclose(derivative_block(plain, k, 3, axes), full[:, :, cols], rtol=0, atol=1e-12 * np.abs(full).max())


@pytest.mark.parametrize("box_cache, box_slice", [(256 * 2**20, None), (0, None), (0, 16 * 7**3 * 3)])
@pytest.mark.parametrize("centres", [False, True])
def test_wide_hopping_sets_are_evaluated_in_slices(monkeypatch, box_cache, box_slice, centres):
    """Slices of the hopping columns, each with its own Leibniz coefficients (convention II); a box too large
    to keep built in pieces of a few columns (3 of the 15 of a 7³ box, all in one slice) in a reused buffer."""
    monkeypatch.setattr(fourier, "STAGE_BYTES", 4096 if box_slice is None else 2**30)
    monkeypatch.setattr(fourier, "BOX_CACHE_BYTES", box_cache)
    if box_slice:
        monkeypatch.setattr(fourier, "BOX_SLICE_BYTES", box_slice)
    model = random_model(3, 5, 3, seed=2, lattice=LAT3)
    tau = np.random.default_rng(8).normal(size=(5, 3)) if centres else None
    if centres:
        model = OrbitalPositionModel(model, tau)
    k, _ = make_grid(model, 6).points(10, 90)
    ref = direct_block(model.R @ LAT3, model.t, k, 3, tau=tau)
    assert np.abs(model._derivative_block(k, 3) - ref).max() <= 1e-12 * np.abs(ref).max()


def test_chunk_size_follows_the_fourier_hint_within_the_memory_cap():
    from qgeom.kspace import MAX_CHUNK_BYTES, auto_chunk_size

    small = random_model(3, 16, 3, seed=1, lattice=LAT3)
    assert auto_chunk_size(small) == fourier.CHUNK_HINT
    big = random_model(3, 200, 1, seed=1, lattice=LAT3)  # ~150 MB estimated working set per k-point
    assert auto_chunk_size(big) == 1
    assert auto_chunk_size(big) * 16 * 200**2 * 40 * 6 <= MAX_CHUNK_BYTES


def test_executors_equal_serial_on_a_convention_II_wannier_model():
    """Separable Fourier sums in forked workers and Dask threads: the serial numbers to 1e-12."""
    from qgeom.dc import expansion

    rng = np.random.default_rng(4)
    lat = LAT3 * 2.0
    base = random_model(3, 4, 2, seed=8, lattice=lat)
    model = OrbitalPositionModel(base, rng.normal(size=(4, 3)))
    e = np.linalg.eigvalsh(model.hamiltonian(np.zeros((1, 3))))[0]

    def run(**kw):
        ds = expansion(model, components=["xyy", "zxx"], mu=np.linspace(e[1], e[2], 3), temperature=0.2, grid=6,
                       chunk_size=50, progress=False, units="model", **kw)
        return ds.sigma.values

    serial = run()
    assert np.abs(serial).max() > 0
    for kw in ({"workers": 2}, {"scheduler": "local-threads", "workers": 2}):
        other = run(**kw)
        assert np.abs(other - serial).max() <= 1e-12 * np.abs(serial).max()


def _chunks_and_direct_sums(N, radius, seed, centres_seed, shape, offset, starts, size, *, order):
    """A random 3D model (convention II with random centres when `centres_seed` is given), chunks of its grid
    and the textbook derivative block of each."""
    model = random_model(3, N, radius, seed=seed, lattice=LAT3)
    tau = None if centres_seed is None else np.random.default_rng(centres_seed).normal(size=(N, 3))
    if tau is not None:
        model = OrbitalPositionModel(model, tau)
    g = make_grid(model, shape, offset=offset)
    chunks = [g.points(s, s + size)[0] for s in starts]
    return model, chunks, [direct_block(model.R @ LAT3, model.t, k, order, tau=tau) for k in chunks]


@pytest.mark.parametrize("centres", [False, True])
def test_first_level_sums_are_reused_by_the_next_chunks_of_a_plane(monkeypatch, centres):
    """Consecutive chunks share κ_0 (a plane of the grid): the first-level sums of the last values are kept
    and the box is not even needed; chunks straddling two planes, a cache too small for one value, and
    hopping columns in slices give the direct sum too."""
    model, chunks, ref = _chunks_and_direct_sums(4, 3, 3, 2 if centres else None, (6, 5, 7), "gamma",
                                                 range(0, 120, 12), 12, order=2)
    series = model.fourier
    boxes = []
    orig = series._box
    monkeypatch.setattr(series, "_box", lambda cols, axes: boxes.append(cols) or orig(cols, axes))
    for budget, step in ((fourier.FIRST_LEVEL_CACHE_BYTES, None), (16, None), (fourier.FIRST_LEVEL_CACHE_BYTES, 4096)):
        monkeypatch.setattr(fourier, "FIRST_LEVEL_CACHE_BYTES", budget)
        monkeypatch.setattr(fourier, "FIRST_LEVEL_MAX_BYTES", budget)  # 16: not even one value is kept
        if step:
            monkeypatch.setattr(fourier, "STAGE_BYTES", step)
        series.__dict__.pop("_local", None)
        boxes.clear()
        for k, r in zip(chunks, ref):
            assert np.abs(model._derivative_block(k, 2) - r).max() <= 1e-12 * np.abs(r).max()
        slices = len({(c.start, c.stop) for c in boxes})
        assert (len(boxes) < len(chunks) * slices) == (budget > 16)  # reused unless no value fits


@pytest.mark.parametrize("box_in_pieces", [False, True])
def test_first_level_sums_are_kept_per_thread(monkeypatch, box_in_pieces):
    """Threads keep their own first-level sums — and, for a box too large to keep, their own buffer of its pieces
    (3 of the 10 columns at a time)."""
    from concurrent.futures import ThreadPoolExecutor

    if box_in_pieces:
        monkeypatch.setattr(fourier, "BOX_CACHE_BYTES", 0)
        monkeypatch.setattr(fourier, "BOX_SLICE_BYTES", 16 * 7**3 * 3)
    model = random_model(3, 4, 3, seed=6, lattice=LAT3)
    g = make_grid(model, 8)
    chunks = [g.points(s, s + 16)[0] for s in range(0, 512, 16)]
    serial = [model._derivative_block(k, 2) for k in chunks]
    model.fourier.__dict__.pop("_local", None)
    with ThreadPoolExecutor(4) as pool:
        threaded = list(pool.map(lambda k: model._derivative_block(k, 2), chunks))
    # equal to rounding: which κ values a thread finds kept decides which sums are summed afresh (a GEMM over
    # fewer rows may round differently); shared or corrupted slots would be off by O(1)
    scale = max(np.abs(a).max() for a in serial)
    assert max(np.abs(a - b).max() for a, b in zip(serial, threaded)) <= 1e-13 * scale


@pytest.mark.parametrize("axes", [None, (0, 2)])
def test_block_along_one_axis_computes_only_the_second_derivatives_along_it(axes):
    """`along`: the columns of order ≤ 1 and those of order 2 that contain the axis (what a current along it
    differentiates) equal the full block's, the others are NaN; convention II with replicas, grid chunks
    (separable sums) and scattered points (direct sums)."""
    model, _, rng = mdrs_model(seed=12, rng_seed=9)
    full_combos = fourier.block_combos(3, 2, axes)
    for along in (0, 2):
        wanted = fourier.computed_combos(3, 2, axes, along)
        assert len(wanted) < len(full_combos) and all(len(c) < 2 or along in c for c in wanted)
        for k in grid_chunks(model, (5, 6, 4), "gamma", [7, 60]) + [rng.normal(size=(9, 3))]:
            full = model._derivative_block(k, 2, axes)
            part = model._derivative_block(k, 2, axes, along)
            for c, combo in enumerate(full_combos):
                if combo in wanted:
                    np.testing.assert_allclose(part[:, :, c], full[:, :, c], rtol=0, atol=1e-12 * np.abs(full).max())
                else:
                    assert np.isnan(part[:, :, c]).all()


@pytest.mark.parametrize("centres", [False, True])
def test_middle_level_sums_are_reused_along_a_grid_line(monkeypatch, centres):
    """3D chunks shorter than a grid line (a wide model's few k-points per chunk) share their (κ_0, κ_1) prefix:
    its middle-level sums are kept, so the next chunk of the line needs no first level; found again although
    κ = k·a/2π rounds differently from chunk to chunk; equal to the direct sum, also when nothing is kept."""
    # 257 R vectors: chunks of 2 k-points take the separable sums. The sub-grid-first order (kspace.KGrid._indices)
    # walks the lines of the coarse grid, here (3, 3, 7): 4 lines of 7 k-points in 14 chunks of 2
    model, chunks, ref = _chunks_and_direct_sums(3, 4, 5, 3 if centres else None, (3, 3, 14), "mp",
                                                 range(0, 28, 2), 2, order=3)
    series = model.fourier
    firsts = []
    orig = series._first_level
    monkeypatch.setattr(series, "_first_level", lambda *a: firsts.append(a) or orig(*a))
    for budget in (fourier.FIRST_LEVEL_CACHE_BYTES, 16):
        monkeypatch.setattr(fourier, "FIRST_LEVEL_CACHE_BYTES", budget)
        monkeypatch.setattr(fourier, "FIRST_LEVEL_MAX_BYTES", budget)
        series.__dict__.pop("_local", None)
        firsts.clear()
        for k, r in zip(chunks, ref):
            assert np.abs(model._derivative_block(k, 3) - r).max() <= 1e-12 * np.abs(r).max()
        # once per line; without slots nearly every chunk (one straddling two lines takes the direct sums)
        assert len(firsts) == 4 if budget > 16 else len(firsts) >= len(chunks) - 2
    key = fourier._Slots._key
    assert key((0.66, 0.25)) == key((0.6599999999999999, 0.25)) and key(0.66) != key(0.66 + 1e-12)


def test_one_column_slicing_for_every_chunk(monkeypatch):
    """Hopping columns are sliced per κ_0 value, not per the chunk's count of them: a chunk across two grid planes
    uses the same column sets as the others, so the sums kept per column set are found again (not evicted)."""
    monkeypatch.setattr(fourier, "STAGE_BYTES", 5000)  # 2 of the 10 columns per set (one κ_0: 2352 B each)
    model = random_model(3, 4, 3, seed=3, lattice=LAT3)
    g = make_grid(model, (6, 5, 7), offset="gamma")
    series = model.fourier
    series.__dict__.pop("_local", None)
    sets = set()
    orig = series._first_level
    monkeypatch.setattr(series, "_first_level", lambda vals, oa, o, cols: sets.add((cols.start, cols.stop)) or orig(vals, oa, o, cols))
    for s in range(0, 120, 12):  # chunks within a plane and across two
        model._derivative_block(g.points(s, s + 12)[0], 2)
    starts = sorted(a for a, _ in sets)
    assert len(starts) > 1 and len(set(b - a for a, b in sets if b <= model.fourier.t.shape[1])) == 1
    assert starts == list(range(0, model.fourier.t.shape[1], starts[1]))


def test_first_level_box_passes_are_counted_unless_kept(monkeypatch):
    """Scattered points (symmetry detection's images of a few k-points) share few κ_0 values, and each costs a pass
    over the box — on a box too large to keep, zero-filled and scattered anew (N = 100 with 2093 R vectors: 36
    values, 18 s and 855 MB; 2 s directly). The separable estimate counts BOX_PASS_COST per box element for every
    κ_0 value not kept from an earlier chunk, and none for the kept ones (a grid plane's later chunks)."""
    model = random_model(3, 3, 3, seed=2, lattice=LAT3)
    series = model.fourier
    box = int(np.prod(series.shape))
    g = make_grid(model, 12)
    chunk = g.points(0, 24)[0]  # the first chunk of a plane or two (sub-grid-first order)

    def estimate(k):
        kappa = k @ LAT3.T / (2 * np.pi)
        keys = [fourier._distinct(kappa[:, a]) for a in range(3)]
        order_axes = tuple(sorted(range(3), key=lambda a: len(keys[a][0])))
        return series._separable_flops(keys, order_axes, 1, 4), len(keys[order_axes[0]][0]), order_axes

    for kept_box in (True, False):
        monkeypatch.setattr(fourier, "BOX_CACHE_BYTES", 1 << 30 if kept_box else 0)
        series.__dict__.pop("_box_cache", None)
        series.__dict__.pop("_local", None)
        before, values, order_axes = estimate(chunk)
        ref = direct_block(model.R @ LAT3, model.t, chunk, 1)
        assert np.abs(model._derivative_block(chunk, 1) - ref).max() <= 1e-12 * np.abs(ref).max()
        after, _, _ = estimate(chunk)  # its κ_0 value's first level is now kept
        assert before - after == pytest.approx(values * box * fourier.BOX_PASS_COST[kept_box])
