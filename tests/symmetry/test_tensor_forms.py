"""Neumann zeros of terms with their own form (tensors.structure): the BCD (v_c Ω_ab, antisymmetric in ab)
and the Drude term (fully symmetric) — checked against group averages of random tensors of that form."""

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


def _averaged(Y, ops, parity):
    out = np.zeros_like(Y)
    for g in ops:
        s = parity if g.time_reversal else 1.0
        out += s * np.einsum("ai,bj,ck,ijk->abc", g.R, g.R, g.R, Y)
    return out / len(ops)


@pytest.mark.parametrize("symbol", ["-43m", "-43m1'", "mm2", "4mm", "-6m2", "3m", "m", "222", "432", "-4",
                                    "4'mm'", "m'm2'", "-4'2m'"])
@pytest.mark.parametrize("form, build, parity", [("curvature_dipole", _bcd_form, 1), ("symmetric", _drude_form, -1)])
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


def test_structure_rejects_unknown_forms():
    with pytest.raises(ValueError, match="unknown tensor structure"):
        structure("axial", 3)
