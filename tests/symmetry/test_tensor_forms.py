"""Neumann zeros of terms with their own form (tensors.structure): the BCD (v_c Ω_ab, antisymmetric in ab),
the Drude and kinetic terms (fully symmetric), the geometric term and dc.exact's σ (symmetric in the field
indices b ↔ c) — checked against group averages of random tensors of that form."""

from __future__ import annotations

import numpy as np
import pytest

from qgeom.symmetry import from_symbol
from qgeom.symmetry.tensors import labels, structure, symmetrize

COMPS = labels(3, 3)


def _bcd_form(Y):  # σ_abc = ½(v_c Ω_ab + v_b Ω_ac) with Ω_ab ↦ Y_cab antisymmetric in ab
    Ya = 0.5 * (Y - Y.transpose(0, 2, 1))
    return 0.5 * (np.einsum("cab->abc", Ya) + np.einsum("bac->abc", Ya))


def _drude_form(Y):
    return sum(np.einsum(p + "->abc", Y) for p in ("abc", "acb", "bac", "bca", "cab", "cba")) / 6


def _field_form(Y):
    return 0.5 * (Y + Y.transpose(0, 2, 1))


def _averaged(Y, ops, parity):
    out = np.zeros_like(Y)
    for g in ops:
        s = parity if g.time_reversal else 1.0
        out += s * np.einsum("ai,bj,ck,ijk->abc", g.R, g.R, g.R, Y)
    return out / len(ops)


@pytest.mark.parametrize("symbol", ["-43m", "-43m1'", "mm2", "4mm", "-6m2", "3m", "m", "222", "432", "-4",
                                    "4'mm'", "m'm2'", "-4'2m'", "32", "422", "622", "6'22'", "4'22'"])
@pytest.mark.parametrize("form, build, parity", [("curvature_dipole", _bcd_form, 1), ("symmetric", _drude_form, -1),
                                                 ("field_symmetric", _field_form, -1),
                                                 ("field_symmetric", _field_form, 1)])
def test_forbidden_components_are_those_every_invariant_tensor_of_the_form_lacks(symbol, form, build, parity):
    ops = from_symbol(symbol)
    rng = np.random.default_rng(0)
    samples = np.array([build(_averaged(rng.normal(size=(3, 3, 3)), ops, parity)).ravel() for _ in range(6)])
    zero = np.abs(samples).max(axis=0) < 1e-12
    _, forbidden = symmetrize(np.zeros(27), COMPS, COMPS, ops, 3, parity, axis=0, average=False, form=form)
    np.testing.assert_array_equal(forbidden, zero)


def test_td_forbids_the_bcd_but_not_a_general_rank3_tensor():
    ops = from_symbol("-43m")
    _, general = symmetrize(np.zeros(27), COMPS, COMPS, ops, 3, 1, axis=0, average=False)
    _, bcd = symmetrize(np.zeros(27), COMPS, COMPS, ops, 3, 1, axis=0, average=False, form="curvature_dipole")
    assert not general[COMPS.index("xyz")] and bcd.all()  # T_d: σ_xyz allowed (as SHG), no BCD (not gyrotropic)


@pytest.mark.parametrize("symbol", ["32", "422", "622"])
def test_field_symmetry_forbids_the_antisymmetric_part_a_general_tensor_keeps(symbol):
    """32, 422, 622 keep z(xy − yx) in a general rank-3 tensor; a σ_abc symmetric in b ↔ c has no such part,
    so its zxy and zyx are zero (the geometric and intrinsic terms, dc.exact's σ; they were reported as allowed
    when only the group's projector decided)."""
    ops = from_symbol(symbol)
    _, general = symmetrize(np.zeros(27), COMPS, COMPS, ops, 3, -1, axis=0, average=False)
    _, field = symmetrize(np.zeros(27), COMPS, COMPS, ops, 3, -1, axis=0, average=False, form="field_symmetric")
    for c in ("zxy", "zyx"):
        assert not general[COMPS.index(c)] and field[COMPS.index(c)]


def test_structure_rejects_unknown_forms():
    with pytest.raises(ValueError, match="unknown tensor structure"):
        structure("axial", 3)
