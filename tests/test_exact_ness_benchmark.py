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
