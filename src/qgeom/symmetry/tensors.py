"""Tensor symmetrization (Neumann's principle) for Cartesian response tensors.

A rank-r tensor T with time-reversal parity p (+1 even, −1 odd) and spatial kind (polar, or
axial: × det R) is invariant under a magnetic point group when T = D(g) T for every g, with
D(g) = s(g) R^{⊗r}, s = (det R if axial) × (p if g contains time reversal). The group average
P = (1/|G|) Σ_g D(g) projects onto the invariant tensors: its rows that vanish are the
components the group forbids.

A term can also be zero by its own form, not by the group alone: the Berry-curvature dipole is built
from Y_cab = Σ v_c Ω_ab f′ (antisymmetric in ab), the nonlinear Drude and the kinetic terms from the fully
symmetric Σ f ∂_a∂_b∂_c ε, and every second-order DC σ_abc of the seed convention (j_a = ½ σ_abc E_b E_c) is
symmetric in its field indices b ↔ c — which forbids the antisymmetric part z(xy − yx) that groups such as
32 and 422 allow in a general rank-3 tensor. Such a term is σ = K Y for a structure map K that commutes with every
D(g), so the invariant values are K P Y: the components whose row of K P vanishes are forbidden too.
This is why T_d forbids the BCD (the invariant rank-3 tensor of T_d is fully symmetric, and K
antisymmetrizes it away) although it allows σ_xyz for a general rank-3 tensor.
"""

from __future__ import annotations

import functools
from itertools import product

import numpy as np

from .group import Operation

AXES = "xyz"


def projector(ops: list[Operation], dim: int, rank: int, parity: int, axial: bool = False) -> np.ndarray:
    """P [dim^rank, dim^rank] over component labels in C order ('xxx', 'xxy', …)."""
    P = np.zeros((dim**rank, dim**rank))
    for g in ops:
        R = g.R[:dim, :dim]
        D = functools.reduce(np.kron, [R] * rank)
        s = (np.linalg.det(g.R) if axial else 1.0) * (parity if g.time_reversal else 1.0)
        P += s * D
    P /= len(ops)
    P[abs(P) < 1e-13] = 0.0
    return P


def structure(kind: str, dim: int) -> np.ndarray:
    """K [dim³, dim³] with σ = K Y for a free rank-3 tensor Y. "curvature_dipole":
    σ_abc = ½(Ŷ_cab + Ŷ_bac), Ŷ_cab = ½(Y_cab − Y_cba) (Ω_ab antisymmetric); "symmetric": the average
    over the six index permutations; "field_symmetric": ½(Y_abc + Y_acb), symmetric in the field indices."""
    n = dim**3
    idx = np.arange(n).reshape((dim,) * 3)
    K = np.zeros((n, n))
    rows = idx.ravel()
    if kind == "curvature_dipole":
        for (perm, sign) in (((2, 0, 1), 0.25), ((2, 1, 0), -0.25), ((1, 0, 2), 0.25), ((1, 2, 0), -0.25)):
            # σ_abc ← sign · Y_{perm of (a, b, c)}: Y_cab, −Y_cba, Y_bac, −Y_bca
            np.add.at(K, (rows, idx.transpose(np.argsort(perm)).ravel()), sign)
    elif kind in ("symmetric", "field_symmetric"):
        perms = ((0, 1, 2), (0, 2, 1), (1, 0, 2), (1, 2, 0), (2, 0, 1), (2, 1, 0))
        if kind == "field_symmetric":
            perms = ((0, 1, 2), (0, 2, 1))
        for perm in perms:
            np.add.at(K, (rows, idx.transpose(perm).ravel()), 1.0 / len(perms))
    else:
        raise ValueError(f"unknown tensor structure {kind!r}")
    return K


def labels(dim: int, rank: int) -> list[str]:
    return ["".join(c) for c in product(AXES[:dim], repeat=rank)]


def flat_index(label: str, dim: int) -> int:
    i = 0
    for ch in label:
        i = i * dim + AXES.index(ch)
    return i


def needed(ops: list[Operation], dim: int, comps: list[str], parities) -> list[str]:
    """The components the symmetrized `comps` are made of (under every parity used)."""
    cols = set()
    for p in parities:
        P = projector(ops, dim, len(comps[0]), p)
        for c in comps:
            cols |= set(np.flatnonzero(P[flat_index(c, dim)]).tolist())
        cols |= {flat_index(c, dim) for c in comps}
    all_labels = labels(dim, len(comps[0]))
    return [all_labels[i] for i in sorted(cols)]


def symmetrize(values: np.ndarray, computed: list[str], comps: list[str], ops: list[Operation], dim: int,
               parity: int, axis: int, average: bool = True, form: str | None = None) -> tuple[np.ndarray, np.ndarray]:
    """The group average of `values` (components `computed` along `axis`) for the components
    `comps`, and which of them the group forbids (bool per comp; `form`: the term's `structure`,
    which can forbid more). `average=False`: the values of `comps` themselves (`computed` must hold
    them), with only the forbidden ones set to 0."""
    P = projector(ops, dim, len(comps[0]), parity)
    cols = [flat_index(c, dim) for c in computed]
    rows = [flat_index(c, dim) for c in comps]
    sub = P[np.ix_(rows, cols)] if average else (np.array(rows)[:, None] == np.array(cols)[None, :]).astype(float)
    moved = np.moveaxis(values, axis, -1)
    out = moved @ sub.T.astype(values.dtype)
    allowed = P if form is None else structure(form, dim) @ P
    forbidden = ~np.any(np.abs(allowed[rows]) > 1e-12, axis=1)
    out[..., forbidden] = 0.0
    return np.moveaxis(out, -1, axis), forbidden
