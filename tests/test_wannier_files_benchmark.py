"""benchmarks/wannier_files.py: its file sets are one model — the _wsvec.dat written from qgeom's replica selection
and read back equals the selection recomputed from the .win (MDRS), and the _tb.dat gives the _hr.dat's model."""

import warnings

import numpy as np

from qgeom.models import from_wannier90


def test_the_file_sets_are_one_model(load_benchmark, tmp_path, monkeypatch):
    bench = load_benchmark("wannier_files")
    monkeypatch.setattr(bench, "MP_GRID", (2, 2, 2))  # a supercell smaller than the hoppings' reach: replicas
    sets = bench.write_sets(6, 60, tmp_path)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        models = {name: from_wannier90(**kw) for name, kw in sets.items()}
    ws, mdrs = models["_hr.dat + _wsvec.dat"], models["_hr.dat + .win (MDRS)"]
    assert ws.parameters["wsvec"] and mdrs.parameters["mdrs"]
    assert {tuple(r) for r in ws.base.R.tolist()} != {tuple(r) for r in models["_hr.dat"].base.R.tolist()}  # moved
    assert np.array_equal(ws.base.R, mdrs.base.R) and np.abs(ws.base.t - mdrs.base.t).max() < 1e-15
    hr, tb = models["_hr.dat"], models["_tb.dat"]
    assert np.array_equal(hr.base.R, tb.base.R) and np.abs(hr.base.t - tb.base.t).max() < 1e-8  # 8 decimals
    np.testing.assert_allclose(tb.positions, hr.positions, atol=1e-8)
    full = models["_tb.dat, full position operator"]
    assert full.has_position_matrix and not tb.has_position_matrix
