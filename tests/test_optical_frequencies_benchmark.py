"""benchmarks/optical_frequencies.py: its two contractions of one real model (GaAs, the default reader) give the
same χ — the far transitions interpolated from Chebyshev points against every transition summed directly, at
600 ω (1200 signed frequencies: three blocks), Lorentzian and Gaussian broadening — and every figure it prints
is there."""

import tempfile
from pathlib import Path

import numpy as np
import pytest


@pytest.mark.filterwarnings("ignore::qgeom.near_degeneracy.NearDegeneracyWarning")
@pytest.mark.parametrize("kind", ["lorentzian", "gaussian"])
def test_default_and_direct_contractions_agree_on_gaas(monkeypatch, load_benchmark, kind):
    bench, real_models = load_benchmark("optical_frequencies"), load_benchmark("real_models")
    model = real_models.load_model("gaas", Path(tempfile.mkdtemp()))
    from qgeom.optical import spectral

    far = []
    orig = spectral._far_from
    monkeypatch.setattr(spectral, "_far_from", lambda *args: far.append(orig(*args)) or far[-1])
    (row,) = bench.measure(model, 9.4, (3, 3, 3), [600], kind=kind)
    assert set(row) == {"omega", "nk", "floor", "default", "direct", "difference"}
    assert row["omega"] == 600 and row["nk"] == 27 and min(row["floor"], row["default"], row["direct"]) > 0
    assert row["difference"] < 1e-12
    assert far and np.concatenate(far).mean() > 0.3  # the default run interpolated most of its (transition, block) pairs
    assert spectral.FAR == 3.0  # restored after the direct run
