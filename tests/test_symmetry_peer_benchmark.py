"""benchmarks/symmetry_peer.py: its model keeps exactly the group the script gives both codes (S4), the
response is not zero there, qgeom's wedge equals its full grid, and (where WannierBerri is installed)
WannierBerri's symmetrized run equals its full-grid run with the same operations."""

import importlib.util
from pathlib import Path

import numpy as np
import pytest

PATH = Path(__file__).resolve().parents[1] / "benchmarks" / "symmetry_peer.py"


@pytest.fixture(scope="module")
def bench():
    spec = importlib.util.spec_from_file_location("symmetry_peer", PATH)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    model = mod.build_model()
    from qgeom.symmetry.detect import detect

    return mod, model, detect(model)


def test_the_model_keeps_s4_and_the_wedge_equals_the_full_grid(bench):
    mod, model, ops = bench
    assert len(ops) == 4 and not any(op.time_reversal for op in ops)
    assert sorted(round(float(np.trace(op.R))) for op in ops) == [-1, -1, -1, 3]  # E, C2z, S4z, S4z³
    q = mod.qgeom_runs(model, 6, ops)
    assert q["max_rel_diff"] < 1e-10
    assert q["nk_sym"] < q["nk_full"] / 3  # the wedge of a 4-operation group
    assert 0 < q["forbidden"] < q["components"]
    assert q["max_abs"]["drude"] > 0 and q["max_abs"]["bcd"] > 0  # time reversal and inversion broken


def test_wannierberri_with_the_same_operations_equals_its_full_grid(bench):
    pytest.importorskip("wannierberri")
    mod, model, ops = bench
    w = mod.wb_runs(model, ops, 2, 4)
    assert max(w["max_rel_diff"].values()) < 1e-10


def test_bcd_and_drude_equal_wannierberri_on_the_same_sums(bench):
    """All 27 components of the 3D magnetic model's BCD and Drude, 20 μ: qgeom's defaults against
    WannierBerri's Fermi-surface calculators on the same hoppings and 8³ grid, to WB's Fermi-level
    histogram (0.25 meV steps: ~1e-3 of max; a convention error — a sign, a factor 2, the ε_abd contraction,
    the (b, c) symmetrization of the Drude — is O(1))."""
    pytest.importorskip("wannierberri")
    mod, model, _ = bench
    agreement = mod.value_agreement(model, 8)
    for term, x in agreement.items():
        assert x["wb_max"] > 0 and x["rel_diff"] < 5e-3, (term, x)
