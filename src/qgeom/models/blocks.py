"""Exact block structure of a Bloch Hamiltonian: orbitals that no hopping ever couples.

If every t_R is block diagonal in the same k-independent partition of the orbitals,
H(k) = ⊕_B H_B(k) for all k: each block has its own eigensystem, the interband matrix elements
between blocks vanish identically, and every response that is a trace over the states (a sum
over bands of matrix elements and energies) is the sum of the blocks' responses. An observable's
elements between blocks do not enter: the density matrix of ⊕_B H_B is block diagonal, so
Tr[O ρ] = Σ_B Tr[O_BB ρ_BB] (`dc.observable_terms.restricted`); named operators (spin_x of a
spinor model without spin–orbit coupling) therefore do not stop the split. This is how
PT-symmetric models (seed [D] Eq. 7: H = h ⊕ h*), spin-conserving models without spin–orbit
coupling and stacked decoupled layers split.

Splitting is exact — no tolerance: only hoppings that are exactly zero separate blocks. It is
also *more* exact than the dense path where bands of different blocks cross: the dense path has
to treat states within `degen_tol` of each other as one degenerate subspace (averaging their
integrands), the blocks never mix them.
"""

from __future__ import annotations

import numpy as np
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import connected_components

from .base import Model


def coupling_pattern(model: Model) -> np.ndarray | None:
    """[N, N] bool: orbitals i, j coupled by some hopping t_R (any R); None when the model has no
    hopping table (e.g. k·p models: no split)."""
    if model.t is None:
        return None
    pattern = np.any(np.asarray(model.t) != 0, axis=0)
    return pattern | pattern.T


def orbital_blocks(model: Model) -> list[np.ndarray]:
    """The orbital index sets of the independent blocks of H(k), ordered by their first orbital
    (one block, all orbitals, when the model does not split or has no hopping table)."""
    pattern = coupling_pattern(model)
    if pattern is None:
        return [np.arange(model.nbands)]
    n, labels = connected_components(csr_matrix(pattern), directed=False)
    blocks = [np.flatnonzero(labels == c) for c in range(n)]
    return sorted(blocks, key=lambda idx: int(idx[0]))


def split_blocks(model: Model) -> list[Model]:
    """The model as a list of independent sub-models (`[model]` itself when it does not split)."""
    blocks = orbital_blocks(model)
    if len(blocks) == 1:
        return [model]
    return [model.restricted(idx, name=f"{model.name}[block {i}]") for i, idx in enumerate(blocks)]


def block_provenance(model: Model, blocks: bool) -> list[list[int]] | str:
    """What a result records about the split: the orbital sets summed over, or "not split"."""
    return [idx.tolist() for idx in orbital_blocks(model)] if blocks else "not split"
