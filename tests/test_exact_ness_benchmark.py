"""benchmarks/exact_ness.py: its two evaluations of dc.exact on a real model (GaAs, the default reader) — the
band pairs beyond the band reach from pair tables, and every triple per element — give the same σ, and every
figure it prints is there."""

import tempfile
from pathlib import Path

import numpy as np
import pytest


@pytest.mark.filterwarnings("ignore")
def test_band_reach_and_per_element_agree_on_gaas(monkeypatch, load_benchmark):
    bench, real_models = load_benchmark("exact_ness"), load_benchmark("real_models")
    model = real_models.load_model("gaas", Path(tempfile.mkdtemp()))
    from qgeom.dc import psi_tables

    reaches = []
    orig = psi_tables.band_reach
    monkeypatch.setattr(psi_tables, "band_reach", lambda *args: reaches.append(orig(*args)) or reaches[-1])
    row = bench.measure(model, np.array([9.0, 9.6]), (3, 3, 3), np.array([0.005, 0.05]))
    assert set(row) == {"nk", "floor", "default", "per_element", "difference"}
    assert row["nk"] == 27 and min(row["floor"], row["default"], row["per_element"]) > 0
    assert row["difference"] < 1e-9
    # the default run split its chunks (reach below N − 1); the per-element run kept every pair
    assert min(reaches) < model.nbands - 1 and max(reaches) == model.nbands - 1


@pytest.mark.filterwarnings("ignore")
@pytest.mark.parametrize("family", ["dc", "second_harmonic"])
def test_slabs_and_one_slab_agree(monkeypatch, load_benchmark, family):
    """The slab comparison on a small Wannier-like model with the slab budget cut to force slabs: the same σ,
    more than one slab, a lower traced peak, and every figure present."""
    import importlib

    bench = load_benchmark("exact_ness")
    monkeypatch.setattr(importlib.import_module("qgeom.dc.exact_sums"), "SLAB_BYTES", 2**20)
    r = bench.measure_slabs(family, 16, n_R=20)
    assert set(r) == {"time", "peak", "slabs", "difference"} and r["slabs"] > 1
    assert r["difference"] < 1e-12 and 0 < r["peak"]["slabs"] < r["peak"]["one_slab"]
    assert min(r["time"].values()) > 0
