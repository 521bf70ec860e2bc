"""symmetry= on dc.exact: the unitary subgroup (finite Γ mixes T parities) gives wedge = full grid."""

import json

import numpy as np
import pytest

from qgeom import dc
from qgeom._validation import QgeomInputError

from .models import HEXAGONAL, assert_same_error_estimate
from .test_expansion_symmetry import _model

KW = dict(components="xyz,xxx,yzz", mu=[0.3], temperature=0.4, gamma=[0.2, 0.5], progress=False, error_tol=1e9)


@pytest.mark.parametrize("group, lattice, grid, offset", [("m'-3'", np.eye(3), 4, "mp"), ("3m'", HEXAGONAL, 6, "gamma")])
def test_exact_wedge_equals_full_grid(group, lattice, grid, offset):
    model = _model(group, lattice)
    kw = {**KW, "components": "all"} if len(lattice) == 2 else KW
    full = dc.exact(model, grid=grid, offset=offset, **kw)
    sym = dc.exact(model, grid=grid, offset=offset, symmetry=group, **kw)
    scale = np.abs(full.sigma.values).max()
    assert scale > 1e-3
    assert np.abs(full.sigma.values - sym.sigma.values).max() <= 1e-10 * scale
    assert np.all(np.abs(full.sigma.values) * sym.forbidden.values[None, :, None] <= 1e-10 * scale)
    info = json.loads(sym.attrs["symmetry"])
    assert "0 with time reversal" in info["symmetry_group"]  # only the unitary operations are used
    assert info["wedge_points"] < info["full_grid_points"] / 2
    # 6 Γ-centred: the wedge's coarse orbits give the full grid's estimate; 4 MP (stride 2): the 2-fold
    # axes move the sub-grid, so the estimate is unavailable and the result says why
    assert assert_same_error_estimate(full, sym, "sigma", scale) == (offset == "gamma")


def test_exact_field_symmetric_zeros_of_422():
    """422 allows z(xy − yx) in a general rank-3 tensor; dc.exact's σ_abc is symmetric in b ↔ c, so its zxy, zyx
    are forbidden (exact zeros, no k-sum) and vanish on the full grid as well; xyz (= −yxz) stays allowed."""
    model = _model("422", np.diag([1.0, 1.0, 1.4]))
    kw = {**KW, "grid": 4, "offset": "gamma"}
    sym = dc.exact(model, symmetry="422", **{**kw, "components": "zxy,zyx"})
    assert bool(sym.forbidden.all()) and not np.any(sym.sigma.values)
    assert "skipped" in json.loads(sym.attrs["symmetry"])["k_sum"]
    full = dc.exact(model, **{**kw, "components": "zxy,zyx,xyz"})
    scale = np.abs(full.sigma.sel(component="xyz").values).max()
    assert scale > 1e-3
    assert np.abs(full.sigma.sel(component=["zxy", "zyx"]).values).max() <= 1e-10 * scale


def test_exact_symmetry_refuses_other_observables():
    model = _model("m'-3'", np.eye(3))
    with pytest.raises(QgeomInputError, match="observable='current'"):
        dc.exact(model, grid=4, symmetry="m'-3'", observable="current_x", **{**KW, "components": "xy"})


def test_exact_process_pool_identical_to_serial_with_symmetry():
    model = _model("m'-3'", np.eye(3))
    kw = {**KW, "grid": 4, "symmetry": "auto", "chunk_size": 3}
    serial = dc.exact(model, **kw).sigma.values
    pooled = dc.exact(model, workers=2, **kw).sigma.values
    assert np.abs(serial - pooled).max() <= 1e-12 * np.abs(serial).max()


@pytest.mark.parametrize("group, lattice, grid, offset", [("m'-3'", np.eye(3), 4, "mp"), ("3m'", HEXAGONAL, 6, "gamma")])
def test_exact_frequency_wedge_equals_full_grid(group, lattice, grid, offset):
    """σ(ω, −ω) and σ(ω, ω) at finite Γ: the unitary subgroup's wedge and average equal the full grid, the zeros are
    exact; the default ("neumann") zeroes the same components without a wedge; every result has its error estimate."""
    model = _model(group, lattice)
    kw = {**KW, "components": "all" if len(lattice) == 2 else KW["components"], "gamma": [0.3],
          "omega": [0.0, 0.2, 1.5], "grid": grid, "offset": offset}
    full = dc.exact_frequency(model, symmetry=None, **kw)
    sym = dc.exact_frequency(model, symmetry=group, **kw)
    default = dc.exact_frequency(model, **kw)
    scale = np.abs(full.sigma.values).max()
    assert scale > 1e-3 and not sym.forbidden.values.all()
    assert sym.forbidden.values.any() == (group == "m'-3'")  # the unitary part 3 of 3m' relates, never zeroes
    assert np.abs(full.sigma.values - sym.sigma.values).max() <= 1e-10 * scale
    zeros = sym.forbidden.values[None, None, :, None, None]
    assert np.all(np.abs(full.sigma.values) * zeros <= 1e-10 * scale)
    assert not np.any(sym.sigma.values * zeros) and not np.any(default.sigma.values * zeros)
    assert np.array_equal(default.forbidden.values, sym.forbidden.values)
    assert "sigma_error" in full and "sigma_error" in default and "error_estimate" in sym.attrs
    # (the wedge of a 4-point Monkhorst–Pack grid under 2-fold axes has no coarse sub-grid: the attrs say why)
    assert ("sigma_error" in sym) == (offset == "gamma")
