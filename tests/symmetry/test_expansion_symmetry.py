"""symmetry= on dc.expansion: irreducible wedge + symmetrization = full grid to 1e-10 on exactly
symmetric cubic and hexagonal models, magnetic and not; Neumann zeros; bad input refused.

The Γ⁰ terms use the integrated-by-parts forms here: the default per-band forms (metric dipole,
∂³ε) are not gauge invariant at k-points where a symmetry forces a degeneracy (an orbital
rotation of the same model changes them by 30 % on the m'-3' model's 6³ grid), so on such grids
neither the full nor the wedge sum of those forms is defined; the by-parts forms are.
"""

import json

import numpy as np
import pytest

from qgeom import dc
from qgeom._validation import QgeomInputError
from qgeom.symmetry import from_symbol, restrict
from qgeom.symmetry.group import Operation, from_matrices

from .models import HEXAGONAL, assert_same_error_estimate, symmetric_model

MIRROR_GREY = [(np.diag([-1.0, 1.0, 1.0]), False), (np.eye(3), True)]  # m_x × {1, T}
CASES = [  # (group, lattice, grid, offset)
    ("m'-3'", np.eye(3), 6, "mp"),          # cubic, magnetic
    ("23", np.eye(3), 5, "mp"),             # cubic, magnetic (T broken by complex hoppings)
    ("3m'", HEXAGONAL, 12, "gamma"),        # hexagonal 2D, magnetic
    (MIRROR_GREY, HEXAGONAL, 12, "gamma"),  # hexagonal lattice, non-magnetic (BCD allowed)
]
# the integrated-by-parts forms: gauge invariant where the group forces a degeneracy onto the grid
# (docs/symmetry.md); the Drude's (Re Tr_D[v³]) on the ∂H-only path, wedge and full grid alike
KW = dict(components="all", mu=[-0.4, 0.5], temperature=0.4, progress=False, error_tol=1e9,
          drude_form="velocity_cubed", geometric_form="metric_by_parts", kinetic_form="velocity_cubed")


def _ops(group, dim):
    return restrict(from_symbol(group) if isinstance(group, str) else from_matrices(group), dim)


def _model(group, lattice):
    return symmetric_model(_ops(group, len(lattice)), lattice)


@pytest.mark.parametrize("group, lattice, grid, offset", CASES)
def test_wedge_equals_full_grid(group, lattice, grid, offset):
    model = _model(group, lattice)
    full = dc.expansion(model, grid=grid, offset=offset, **KW)
    sym = dc.expansion(model, grid=grid, offset=offset, symmetry=group, **KW)
    a, b = full.sigma.values, sym.sigma.values
    assert np.abs(a).max() > 1e-2
    # per term (Drude, BCD, Γ⁰ differ in units); a term the group forbids entirely is ~1e-16 noise
    scale = np.maximum(np.abs(a).max(axis=(0, 2, 3), keepdims=True), 1e-2 * np.abs(a).max())
    assert np.all(np.abs(a - b) <= 1e-10 * scale)
    # Neumann: forbidden components vanish on the full grid too
    forb = sym.forbidden.values[None, :, :, None]
    assert np.all(np.abs(a) * forb <= 1e-10 * scale)
    assert sym.forbidden.values.any() and not sym.forbidden.values.all()
    info = json.loads(sym.attrs["symmetry"])
    assert info["wedge_points"] < info["full_grid_points"] / 2
    # the error estimate from the wedge's own coarse orbits (m'-3' on 6 MP: strides 3; 12 Γ-centred: 2)
    compared = assert_same_error_estimate(full, sym, "sigma", float(scale.min()))
    assert compared == (grid != 5)


@pytest.mark.parametrize("group, lattice, grid, offset", [("231'", np.eye(3), 6, "mp"), ("3m1'", HEXAGONAL, 12, "gamma")])
def test_nonmagnetic_high_symmetry_groups(group, lattice, grid, offset):
    """Grey cubic 23 and hexagonal 3m: T forbids Drude and Γ⁰ (flagged); BCD vanishes too (cubic: D ∝ δ
    cancels in the bc-symmetric σ; 2D: C3) — both ways."""
    model = _model(group, lattice)
    full = dc.expansion(model, grid=grid, offset=offset, **KW)
    sym = dc.expansion(model, grid=grid, offset=offset, symmetry=group, **KW)
    # the full grid's T-odd terms cancel between k and −k only up to rounding amplified by the
    # energy denominators near degenerate points (~1e-10 here, O(1) model); the wedge gives exact zeros
    assert np.abs(full.sigma.values).max() < 1e-9 and np.abs(sym.sigma.values).max() < 1e-12
    f = sym.forbidden
    assert bool(f.sel(term=["drude", "geometric", "kinetic", "intrinsic"]).all())


@pytest.mark.parametrize("group", ["422", "32"])
def test_field_symmetric_terms_lose_the_part_a_general_tensor_keeps(group):
    """422 and 32 (T broken) allow z(xy − yx) in a general rank-3 tensor; every σ_abc is symmetric in b ↔ c,
    so zxy, zyx are zeros of the Γ⁰ terms (flagged, 0 on the full grid too), and the fully symmetric kinetic
    term also loses xyz, yxz."""
    lattice = np.diag([1.0, 1.0, 1.4]) if group == "422" else np.vstack([np.c_[HEXAGONAL, [0, 0]], [0, 0, 1.3]])
    model = _model(group, lattice)
    kw = dict(KW, components=["zxy", "zyx", "xyz", "yxz", "zzz"], grid=6, offset="gamma")
    full = dc.expansion(model, **kw)
    sym = dc.expansion(model, symmetry=group, **kw)
    f = sym.forbidden
    for term in ("geometric", "kinetic", "intrinsic"):
        assert bool(f.sel(term=term, component=["zxy", "zyx"]).all()), term
    assert bool(f.sel(term="kinetic", component=["xyz", "yxz"]).all())
    a, b = full.sigma.values, sym.sigma.values
    assert np.abs(full.sigma.sel(term="intrinsic").values).max() > 1e-3
    scale = np.maximum(np.abs(a).max(axis=(0, 2, 3), keepdims=True), 1e-2 * np.abs(a).max())  # per term
    assert np.all(np.abs(a) * f.values[None, :, :, None] <= 1e-10 * scale)
    assert np.all(np.abs(a - b) <= 1e-10 * scale)


def test_auto_detects_the_group():
    model = _model("m'-3'", np.eye(3))
    sym = dc.expansion(model, grid=6, symmetry="auto", **KW)
    full = dc.expansion(model, grid=6, **KW)
    info = json.loads(sym.attrs["symmetry"])
    assert info["symmetry_group"] == "m'-3' (24 operations, 12 with time reversal)"  # the symbol that made it
    assert info["full_grid_points"] == 216 and info["wedge_points"] == 22  # 216/24 = 9 + points on mirrors and axes
    assert np.abs(full.sigma.values - sym.sigma.values).max() <= 1e-10 * np.abs(full.sigma.values).max()


def test_hexagonal_groups_are_named_in_the_lattice_basis():
    """A hexagonal group in the standard orientation gets its magnetic symbol (the detected 3m' was "3", the
    unitary part, before); in another one its unitary part is named by spglib from the integer matrices, which
    a hexagonal group's Cartesian ones are not and its lattice-basis ones are (else only the order)."""
    from qgeom.symmetry import point_group_name

    hexagonal_3d = np.eye(3)
    hexagonal_3d[:2, :2] = HEXAGONAL
    assert point_group_name(from_symbol("6/mmm"), 3).startswith("6/mmm (24 operations, 0 ")
    c, s = np.cos(0.3), np.sin(0.3)  # rotated about z: no standard orientation
    Q = np.array([[c, -s, 0], [s, c, 0], [0, 0, 1]])
    rotated = [Operation(Q @ g.R @ Q.T, g.time_reversal) for g in from_symbol("6/mmm")]
    assert point_group_name(rotated, 3, hexagonal_3d @ Q.T) == (
        "6/mmm (24 operations, 0 with time reversal; non-standard orientation: symmetry=\"6[0,0,1],m[0,0,1],"
        "m[1,0.3093362496,0]\")")
    assert point_group_name(rotated, 3).startswith("order 24 ")  # no lattice: no integer form
    model = _model("3m'", HEXAGONAL)
    sym = dc.expansion(model, grid=12, offset="gamma", symmetry="auto", **KW)
    assert json.loads(sym.attrs["symmetry"])["symmetry_group"] == "3m' (6 operations, 3 with time reversal)"


def test_components_subset_and_magnetic_parity():
    """A requested subset needs the components it mixes with; T-even/T-odd terms differ in zeros."""
    model = _model("m'-3'", np.eye(3))
    full = dc.expansion(model, grid=6, **{**KW, "components": "xyz,xxx"})
    sym = dc.expansion(model, grid=6, symmetry="m'-3'", **{**KW, "components": "xyz,xxx"})
    assert np.abs(full.sigma.values - sym.sigma.values).max() <= 1e-10 * np.abs(full.sigma.values).max()
    f = sym.forbidden.to_pandas()
    assert f.loc["bcd", "xxx"] and f.loc["bcd", "xyz"]  # -1' (PT) forbids every T-even rank-3 tensor
    assert f.loc["drude", "xxx"] and not f.loc["drude", "xyz"]  # m-3 allows only xyz-type T-odd ones


def test_refuses_wrong_group_and_non_invariant_grid():
    model = _model("3m1'", HEXAGONAL)
    with pytest.raises(QgeomInputError, match="not a symmetry of model"):
        dc.expansion(model, grid=12, offset="gamma", symmetry="6mm", **KW)
    with pytest.raises(QgeomInputError, match="not invariant"):
        dc.expansion(model, grid=4, offset="mp", symmetry="3m1'", **KW)
    with pytest.raises(QgeomInputError, match="cannot read"):
        dc.expansion(model, grid=12, offset="gamma", symmetry="q", **KW)


def test_process_pool_identical_to_serial_with_symmetry():
    model = _model("m'-3'", np.eye(3))
    kw = {**KW, "grid": 6, "symmetry": "m'-3'", "chunk_size": 5}
    serial = dc.expansion(model, **kw).sigma.values
    pooled = dc.expansion(model, workers=2, **kw).sigma.values
    assert np.abs(serial - pooled).max() <= 1e-12 * np.abs(serial).max()
