"""benchmarks/real_models.py: the user-size grid sample holds exactly the chosen chunks of the whole
grid (its k-points and weights, also where one of qgeom's chunks straddles two of them), and a dc
expansion over it equals the same sum over those chunks of the whole grid."""

import importlib.util
import sys
from pathlib import Path

import numpy as np
import pytest

from qgeom.dc import expansion
from qgeom.kspace import chunk_bounds, make_grid
from qgeom.models import pt_tilted_4band

PATH = Path(__file__).resolve().parents[1] / "benchmarks" / "real_models.py"


@pytest.fixture(scope="module")
def real_models():
    spec = importlib.util.spec_from_file_location("real_models", PATH)
    mod = importlib.util.module_from_spec(spec)
    sys.modules["real_models"] = mod  # its dataclass resolves its annotations through its module
    spec.loader.exec_module(mod)
    yield mod
    sys.modules.pop("real_models", None)


def test_chunk_sample_is_runs_of_consecutive_chunks_of_the_grid(real_models):
    model = pt_tilted_4band()
    grid = make_grid(model, (30, 40), offset="gamma")
    sample = real_models.ChunkSample.of(grid, 16, 3, 2)
    assert sample.npoints == 3 * 2 * 16
    starts = np.array(sample.starts)
    assert np.all(starts % 16 == 0) and np.all(np.diff(starts)[::2] == 16)  # pairs of consecutive chunks
    assert starts[-1] + 16 <= grid.npoints and len(set(starts.tolist())) == 6
    k, w = sample.points(0, sample.npoints)
    want = [grid.points(s, s + 16) for s in starts]
    np.testing.assert_array_equal(k, np.concatenate([x[0] for x in want]))
    np.testing.assert_array_equal(w, np.concatenate([x[1] for x in want]))
    k_mid, _ = sample.points(13, 37)  # across the boundaries of three sampled chunks
    np.testing.assert_array_equal(k_mid, k[13:37])
    wide = real_models.ChunkSample.of(grid, 6, 3, 2, min_points=40)  # a wide model's small chunks: longer runs
    assert wide.npoints == 3 * 7 * 6 and np.all(np.diff(np.array(wide.starts)[:7]) == 6)


def test_an_expansion_over_the_sample_is_the_sum_over_its_chunks(real_models):
    model = pt_tilted_4band()
    grid = make_grid(model, (24, 24), offset="gamma")
    sample = real_models.ChunkSample.of(grid, 32, 2, 2)
    kw = dict(components=["xyy"], mu=[0.0, 0.3], temperature=0.05, progress=False, symmetry=None, chunk_size=32)
    got = expansion(model, grid=sample, **kw).sigma
    assert [b for b in chunk_bounds(sample, 32)] == [(0, 32), (32, 64), (64, 96), (96, 128)]
    k = sample.points(0, sample.npoints)[0]
    ref = expansion(model, grid=real_models.ChunkSample(
        "uniform", (len(k),), grid.basis, grid.cell_volume, offset="gamma", parent=grid, size=len(k),
        starts=(0,)), **kw).sigma  # a different set: the first 128 points of the grid
    assert not np.allclose(got, ref, rtol=1e-6, atol=0)
    per_chunk = sum(expansion(model, grid=real_models.ChunkSample(
        "uniform", (32,), grid.basis, grid.cell_volume, offset="gamma", parent=grid, size=32, starts=(s,)),
        **kw).sigma for s in sample.starts)
    np.testing.assert_allclose(got, per_chunk, rtol=1e-12, atol=1e-12 * float(abs(got).max()))
