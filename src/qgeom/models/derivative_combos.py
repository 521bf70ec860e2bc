"""Derivative index combinations of a Hamiltonian's derivative block, and their change of basis.

∂_a∂_b… H is symmetric in its indices, so a block of derivatives up to some order holds one column per
*combo* a ≤ b ≤ … (`combos`), H itself first (`all_combos`); a current along one axis needs only the
combos that contain it (`computed_combos`). The Fourier sums are done in reduced coordinates and turned
Cartesian with ∂_x = Σ_a lattice[a, x] ∂_(a) (`cartesian_matrix`). One place for the column order that
`models.fourier`, `bands` and `eigenbasis` share.
"""

from __future__ import annotations

import functools
import itertools

import numpy as np


@functools.lru_cache(maxsize=None)
def combos(d: int, order: int) -> tuple[tuple[int, ...], ...]:
    """Distinct derivative index combos a ≤ b ≤ … of one order (∂_a∂_b H is symmetric): the columns of the
    derivative block and of its rotation (`eigenbasis.symmetric_combos` is this function)."""
    return tuple(itertools.combinations_with_replacement(range(d), order))


@functools.lru_cache(maxsize=None)
def all_combos(d: int, order: int) -> tuple[tuple[int, ...], ...]:
    """H (the empty combo) and the distinct combos of orders 1 … order: the block's columns."""
    return tuple(c for o in range(order + 1) for c in combos(d, o))


def computed_combos(d: int, order: int, axes: tuple[int, ...] | None = None,
                    along: int | None = None) -> tuple[tuple[int, ...], ...]:
    """The columns of `block_combos(d, order, axes)` that the block computes: all of them, or with `along`
    (an axis of `axes`) those of order ≤ 1 and those of higher order that contain it — what a current
    along that axis differentiates (∂H and ∂_a∂_along H). Downward closed: every sub-combo of a column
    is a column (the Leibniz terms of convention II need them)."""
    full = block_combos(d, order, axes)
    return full if along is None else tuple(c for c in full if len(c) < 2 or along in c)


def block_combos(d: int, order: int, axes: tuple[int, ...] | None = None) -> tuple[tuple[int, ...], ...]:
    """The block's columns when only the Cartesian `axes` (sorted; None: all) are differentiated:
    H and the distinct combos over `axes` of orders 1 … order, in `all_combos` order."""
    if axes is None:
        return all_combos(d, order)
    local = all_combos(len(axes), order)
    return tuple(tuple(axes[a] for a in c) for c in local)


def exponents(combo: tuple[int, ...], d: int) -> tuple[int, ...]:
    """The powers (p_0, …, p_{d−1}) of ∂_0^{p_0} … ∂_{d−1}^{p_{d−1}} that a combo a ≤ b ≤ … stands for."""
    return tuple(combo.count(a) for a in range(d))


@functools.lru_cache(maxsize=32)
def cartesian_matrix(lattice_bytes: bytes, d: int, order: int, rows: tuple[tuple[int, ...], ...]) -> np.ndarray:
    """T[c, r] with ∂^{Cartesian combo c} = Σ_r T[c, r] ∂^{reduced combo r} (c: the combos `rows`, all of
    this order; r: every reduced combo of this order)."""
    lat = np.frombuffer(lattice_bytes, float).reshape(d, d)
    cs = combos(d, order)
    index = {c: i for i, c in enumerate(cs)}
    T = np.zeros((len(rows), len(cs)))
    for i, x in enumerate(rows):
        for a in itertools.product(range(d), repeat=order):
            T[i, index[tuple(sorted(a))]] += np.prod([lat[a[j], x[j]] for j in range(order)])
    return T
