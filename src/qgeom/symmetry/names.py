"""Printed names of magnetic point groups that can be fed back as `symmetry=`.

A group is named by the first Hermann–Mauguin symbol s (with primes, or a trailing 1' for grey groups) whose
`group.from_symbol(s)` — restricted to the plane for a 2D model, as `symmetry=s` is read there — has exactly its
operations. The candidates are the 32 crystallographic point groups in the symbols and settings `from_symbol`
reads (with the alternative orthorhombic, monoclinic, tetragonal and trigonal settings of the same axes, e.g.
2mm, 1m1, -4m2, 31m), every assignment of primes `from_symbol` accepts, and their grey groups; the table is
built once per process and a group is looked up by its operations, so naming costs a dictionary look-up.
"""

from __future__ import annotations

from functools import lru_cache
from itertools import product

import numpy as np

from .._validation import QgeomInputError
from .group import Operation, from_symbol, restrict

# Conventional symbols first: among spellings of the same operations (32 = 321, 3m = 3m1) the first is printed.
# The other settings keep the standard axes of `from_symbol` but put the generators on other positions
# (monoclinic about x or y, orthorhombic 2mm / m2m, -4m2, 31m, -62m): a group in one of them is named too.
BASES = (
    "1", "-1", "2", "m", "2/m", "211", "121", "m11", "1m1", "2/m11", "12/m1",
    "222", "mm2", "2mm", "m2m", "mmm",
    "4", "-4", "4/m", "422", "4mm", "-42m", "-4m2", "4/mmm",
    "3", "-3", "32", "321", "312", "3m", "3m1", "31m", "-3m", "-3m1", "-31m",
    "6", "-6", "6/m", "622", "6mm", "-6m2", "-62m", "6/mmm",
    "23", "m-3", "432", "-43m", "m-3m",
)

# rounding of the matrix entries in the look-up key: the crystallographic entries (0, ±1/2, ±√3/2, ±1) are
# at least 2.5e-5 from a rounding boundary, so operations built from a lattice given to ~6 digits still match
KEY_DECIMALS = 4


def group_key(ops: list[Operation]) -> frozenset:
    """The operations as a set of (rounded matrix, time-reversal flag): equal for equal groups."""
    if not ops:
        return frozenset()
    rounded = np.round(np.array([g.R for g in ops]), KEY_DECIMALS).reshape(len(ops), 9) + 0.0  # + 0.0: no -0.0
    return frozenset(zip(map(tuple, rounded.tolist()), (bool(g.time_reversal) for g in ops)))


def _prime_slots(symbol: str) -> list[int]:
    """Where a prime may follow: after every rotation order or mirror, except a bare 1 (1' would be time
    reversal itself, which only the trailing 1' of a grey group adds)."""
    return [i + 1 for i, c in enumerate(symbol)
            if c == "m" or (c.isdigit() and (c != "1" or (i > 0 and symbol[i - 1] == "-")))]


def _primed(symbol: str) -> list[str]:
    """Every placement of primes in `symbol`, fewest primes first (so the plainest spelling of a group wins)."""
    slots = _prime_slots(symbol)
    out = []
    for mask in sorted(product((0, 1), repeat=len(slots)), key=sum):
        text = symbol
        for pos in reversed([s for s, on in zip(slots, mask) if on]):
            text = text[:pos] + "'" + text[pos:]
        out.append(text)
    return out


def candidates() -> list[str]:
    """The symbols tried, in order of preference: plain and primed ones, then the grey groups."""
    return [s for base in BASES for s in _primed(base)] + [base + "1'" for base in BASES]


@lru_cache(maxsize=None)
def _groups() -> tuple[tuple[str, tuple[Operation, ...]], ...]:
    """(symbol, operations) of every candidate `from_symbol` accepts (inconsistent primings dropped)."""
    out = []
    for symbol in candidates():
        try:
            out.append((symbol, tuple(from_symbol(symbol))))
        except QgeomInputError:
            continue
    return tuple(out)


@lru_cache(maxsize=None)
def table(dim: int) -> dict[frozenset, str]:
    """Look-up key → symbol for a `dim`-dimensional model. 2D: the key is the candidate's operations restricted
    to the plane (what `symmetry=` gives there); a symbol whose own operations already keep the plane (mm2 rather
    than mmm, 1m1 rather than 2mm) is preferred, then the shorter one, then the order of `candidates`."""
    ranked = []
    for order, (symbol, ops) in enumerate(_groups()):
        key = group_key(restrict(list(ops), dim))
        ranked.append(((key != group_key(ops), len(symbol), order), key, symbol))
    out: dict[frozenset, str] = {}
    for _, key, symbol in sorted(ranked, key=lambda r: r[0]):
        out.setdefault(key, symbol)
    return out


def magnetic_symbol(ops: list[Operation], dim: int = 3) -> str | None:
    """The symbol `symmetry=` takes for exactly these operations on a `dim`-dimensional model, or None when the
    group is in no standard orientation (or not crystallographic)."""
    return table(min(dim, 3)).get(group_key(ops))
