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
    its grey unitary part is named, with generators as the operation labels that `symmetry=` takes."""
    c = np.sqrt(0.5)
    Q = np.array([[c, -c, 0], [c, c, 0], [0, 0, 1]])
    ops = [Operation(Q @ g.R @ Q.T, g.time_reversal) for g in from_symbol("mm21'")]
    assert point_group_name(ops) == ("mm21' (8 operations, 4 with time reversal; non-standard orientation: "
                                     "symmetry=\"m[1,1,0],m[1,-1,0],1'\")")


def test_the_detected_group_of_pt_tilted_4band_fed_back():
    """The library model's detected group, printed "m (…)" before (its unitary part: fed back, a mirror z → −z),
    is m'm2'; symmetry= that symbol gives the same operations and the same wedge."""
    kw = dict(components="xxx,yyy", mu=[2.2], temperature=0.1, grid=12, progress=False, error_tol=1e9)
    auto = json.loads(dc.expansion(pt_tilted_4band(), symmetry="auto", **kw).attrs["symmetry"])
    assert auto["symmetry_group"] == "m'm2' (4 operations, 2 with time reversal)"
    given = json.loads(dc.expansion(pt_tilted_4band(), symmetry=_symbol(auto["symmetry_group"]), **kw).attrs["symmetry"])
    assert sorted(given["symmetry_operations"]) == sorted(auto["symmetry_operations"])
    assert given["wedge_points"] == auto["wedge_points"] < given["full_grid_points"]


# ---------------------------------------------------------------- operation labels: the printed operations as input
def test_every_group_reads_back_from_its_labels_and_from_its_generators():
    """Every group `from_symbol` knows (crystallographic, magnetic, grey; hexagonal axes with irrational
    components included) is given back exactly by the labels of its operations and by those of `generators`."""
    from qgeom.symmetry.group import from_labels, generators
    from qgeom.symmetry.names import _groups

    for symbol, ops in _groups():
        ops = list(ops)
        assert group_key(from_labels([g.label() for g in ops])) == group_key(ops), symbol
        gens = generators(ops)
        assert len(gens) <= 4, symbol
        assert group_key(from_labels(",".join(g.label() for g in gens))) == group_key(ops), symbol


def test_labels_are_the_operations_to_ten_digits():
    from qgeom.symmetry.group import from_labels

    (g,) = [h for h in from_labels("3[1,1,1]") if np.trace(h.R) == 0 and h.label() == "3[1,1,1]"]
    assert np.allclose(g.R, [[0, 0, 1], [1, 0, 0], [0, 1, 0]], atol=1e-12)  # x → y → z → x
    assert [h.label() for h in from_labels("-1'")] == ["1", "-1'"]
    hexagonal = from_labels("m[1,-0.5773502692,0]")[1]  # the mirror of 6/mmm's third position, [1-10]
    assert np.abs(hexagonal.R - (np.eye(3) - 2 * np.outer(*[[np.sqrt(3) / 2, -0.5, 0]] * 2))).max() < 1e-10


@pytest.mark.parametrize("text, message", [
    ("2[0,0]", "cannot read the symmetry operation at '2\\[0,0\\]'"),
    ("m_x", "cannot read .* 'm_x'.*point-group symbol goes alone"),
    ("5[0,0,1]", "cannot read .*n = 2, 3, 4, 6"),
    ("2[0,0,1] m[1,0,0]", "separated by commas"),
    ("-m[1,0,0]", "a mirror is written m\\[normal\\]"),
    ("1[0,0,1]", "the identity and the inversion take no axis"),
    ("2[0,0,0]", "the axis is zero"),
    ("2", "needs its axis, e.g. 2\\[0,0,1\\]"),
    ("", "no symmetry operations given"),
    ("__import__('os')", "cannot read"),
])
def test_unreadable_labels_are_refused_naming_the_notation(text, message):
    from qgeom._validation import QgeomInputError
    from qgeom.symmetry.group import from_labels

    with pytest.raises(QgeomInputError, match=message):
        from_labels(text)


def test_a_rotated_group_is_given_back_by_its_printed_operations():
    """A group in no standard orientation prints generators that `symmetry=` takes: fed back, the same operations
    (here mm2 about z rotated by 0.3 rad: irrational axes)."""
    from qgeom.symmetry.group import from_labels

    c, s = np.cos(0.3), np.sin(0.3)
    Q = np.array([[c, -s, 0], [s, c, 0], [0, 0, 1]])
    ops = [Operation(Q @ g.R @ Q.T, g.time_reversal) for g in from_symbol("m'm2'")]
    name = point_group_name(ops)
    labels = name.split('symmetry="')[1].rstrip('")')
    assert group_key(from_labels(labels)) == group_key(ops), name


def test_the_printed_operations_of_a_result_are_an_input():
    """The labels a result stores (`symmetry_operations`) given back as symmetry= — a list, or one string — give
    the same operations, wedge and values as the symbol."""
    kw = dict(components="xxx,yyy,xyy", mu=[2.2], temperature=0.1, grid=12, progress=False, error_tol=1e9)
    by_symbol = dc.expansion(pt_tilted_4band(), symmetry="m'm2'", **kw)
    labels = json.loads(by_symbol.attrs["symmetry"])["symmetry_operations"]
    for given in (labels, ",".join(labels)):
        ds = dc.expansion(pt_tilted_4band(), symmetry=given, **kw)
        info = json.loads(ds.attrs["symmetry"])
        assert sorted(info["symmetry_operations"]) == sorted(labels)
        assert info["symmetry_source"].startswith("operations ")
        assert np.array_equal(ds.sigma.values, by_symbol.sigma.values)
