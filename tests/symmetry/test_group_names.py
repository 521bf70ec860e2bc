"""The printed group name is the magnetic point-group symbol that `symmetry=` takes: fed back, it gives the same
operations (3D, and on a 2D model's plane), or it says that the group is in no standard orientation."""

import json

import numpy as np
import pytest

from qgeom import dc
from qgeom.models import pt_tilted_4band
from qgeom.symmetry import point_group_name
from qgeom.symmetry.group import Operation, from_symbol, restrict
from qgeom.symmetry.names import group_key, table

SYMBOLS = ["m'm2'", "-3m'", "6'/m'mm'", "m'-3'", "4/mm'm'", "11'", "-43m1'", "2'/m", "-1'", "m-3m", "-6'm2'", "4'22'"]


def _symbol(name: str) -> str:
    return name.split(" (")[0]


@pytest.mark.parametrize("symbol", SYMBOLS)
def test_the_printed_symbol_gives_the_same_operations(symbol):
    ops = from_symbol(symbol)
    name = point_group_name(ops)
    assert group_key(from_symbol(_symbol(name))) == group_key(ops), name
    primed = sum(g.time_reversal for g in ops)
    assert name.endswith(f" ({len(ops)} operations, {primed} with time reversal)")


@pytest.mark.parametrize("symbol", ["m'm2'", "3m'", "mm21'", "2'/m", "6'/m'mm'", "-1'", "mmm"])
def test_the_printed_symbol_of_a_2d_group_gives_the_same_operations_on_the_plane(symbol):
    """A 2D model reads symmetry=s as the operations of s that keep its plane (`restrict`): the printed symbol is
    one that gives exactly the model's, preferably one whose own operations already keep the plane."""
    ops = restrict(from_symbol(symbol), 2)
    name = point_group_name(ops, 2)
    assert group_key(restrict(from_symbol(_symbol(name)), 2)) == group_key(ops), name
    assert "non-standard" not in name


def test_every_tabulated_symbol_round_trips():
    for dim in (2, 3):
        for key, symbol in table(dim).items():
            assert group_key(restrict(from_symbol(symbol), dim)) == key, symbol
    assert len(table(3)) > 150 and table(3) is table(3)  # built once per process


def test_one_operation_and_the_identity():
    assert point_group_name(from_symbol("1")) == "1 (1 operation, 0 with time reversal)"
    assert [g.label() for g in from_symbol("-1'")] == ["1", "-1'"]  # PT, not the grey group of "-"


def test_a_group_in_another_orientation_says_so():
    """mm2 with its mirrors on the diagonals (GaAs's subgroup of −43m) has no symbol in the standard orientation:
    its unitary part is named and the operations must be passed."""
    c = np.sqrt(0.5)
    Q = np.array([[c, -c, 0], [c, c, 0], [0, 0, 1]])
    ops = [Operation(Q @ g.R @ Q.T, g.time_reversal) for g in from_symbol("mm21'")]
    assert point_group_name(ops) == ("mm2 (8 operations, 4 with time reversal; non-standard orientation: pass the "
                                     "operations)")


def test_the_detected_group_of_pt_tilted_4band_fed_back():
    """The library model's detected group, printed "m (…)" before (its unitary part: fed back, a mirror z → −z),
    is m'm2'; symmetry= that symbol gives the same operations and the same wedge."""
    kw = dict(components="xxx,yyy", mu=[2.2], temperature=0.1, grid=12, progress=False, error_tol=1e9)
    auto = json.loads(dc.expansion(pt_tilted_4band(), symmetry="auto", **kw).attrs["symmetry"])
    assert auto["symmetry_group"] == "m'm2' (4 operations, 2 with time reversal)"
    given = json.loads(dc.expansion(pt_tilted_4band(), symmetry=_symbol(auto["symmetry_group"]), **kw).attrs["symmetry"])
    assert sorted(given["symmetry_operations"]) == sorted(auto["symmetry_operations"])
    assert given["wedge_points"] == auto["wedge_points"] < given["full_grid_points"]
