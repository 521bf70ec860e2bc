"""benchmarks/time_to_accuracy.py: the convergence search stops at the first run that meets the target
(or before a run that would exceed the budget), the Fermi-level grid holds every μ, WB's smoothing rows
turn a step into the Fermi function. No WannierBerri, no model (the script checks qgeom and WB against its
numpy sum over states itself)."""

import importlib.util
from pathlib import Path

import numpy as np
import pytest

PATH = Path(__file__).resolve().parents[1] / "benchmarks" / "time_to_accuracy.py"


@pytest.fixture(scope="module")
def tta():
    spec = importlib.util.spec_from_file_location("time_to_accuracy", PATH)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)  # no re-exec on import: only as __main__
    return mod


def test_ladder_stops_at_the_first_converged_run_and_before_the_budget(tta):
    ref = {"a": [1.0, -2.0], "b": [0.5, 0.5]}
    errs = [0.1, 0.01, 1e-4, 1e-6]

    def run(i):
        return dict(label=f"run {i}", cpu=1.0 + i, nk=10 * (i + 1),
                    values={"a": [1.0 + 2 * errs[i], -2.0], "b": [0.5, 0.5 - 0.5 * errs[i] / 2]})

    recs = tta.ladder(run, range(4), ref, 1e-3, 1e9, log=lambda *_: None)
    assert [r["label"] for r in recs] == ["run 0", "run 1", "run 2"]  # stops at the first ≤ 1e-3
    assert recs[0]["errors"] == pytest.approx({"a": 0.1, "b": 0.05})
    assert tta.first_converged(recs, 1e-3)["label"] == "run 2" and tta.first_converged(recs[:2], 1e-3) is None
    # predicted time of the next step (1 s per 10 k-points so far, 20 k-points next) exceeds the budget of 2 s
    short = tta.ladder(run, range(4), ref, 1e-3, 2.0, log=lambda *_: None, nk_of=lambda i: 10 * (i + 1))
    assert len(short) == 1


def test_fermi_levels_and_smoothing_rows(tta):
    for de in (1e-3, 1e-4, 1e-5):
        ef, idx = tta.fermi_levels(de)
        assert np.allclose(ef[idx], tta.MU, atol=1e-9) and ef[0] <= tta.MU.min() - tta.MAXDE * tta.KT
    ef, idx = tta.fermi_levels(1e-4)
    e0 = tta.MU[5] + 0.013
    step = (ef >= e0).astype(float)  # one state at e0, T = 0 Fermi sea on the grid
    got = tta.smooth_rows(step, ef, idx)
    want = 1.0 / (np.exp((e0 - tta.MU) / tta.KT) + 1.0)  # f(e0 − μ)
    assert np.abs(got - want).max() < 2e-3  # the grid's midpoint error ≤ dE · max(−f′)

