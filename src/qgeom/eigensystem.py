"""The eigensystem of H(k): batched `eigh` (2×2 in closed form) and the canonical gauge of exactly
degenerate subspaces.

Exact degeneracies (symmetry-forced, e.g. along Γ–X in zincblende) leave the eigenvectors free up to
a unitary within the subspace, and per-band quantities built from products of diagonal matrix
elements (∂³ε_n, ∂_a g_n) depend on that choice: a random eigensolver gauge breaks the k ↔ −k
cancellation of T-odd sums and every other symmetry zero on the grid points that lie on the
degeneracy lines. `canonical_gauge` fixes it: within each exactly degenerate subspace (split by
less than rounding, GAUGE_TOL; pairs split by more keep their eigenstates) the states
diagonalize P (c·∂H) P for one fixed generic direction c, the limit of the nondegenerate states
approached along c (degenerate perturbation theory), so the choice is covariant under time
reversal and under any gauge transformation of the input. `Bands.from_model` applies it.
"""

from __future__ import annotations

import numpy as np


def eigh(H: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Batched Hermitian eigensystem [nk, N, N] -> (ascending energies, column eigenvectors).

    N = 2 in closed form (a 2×2 LAPACK call per k costs more than the arithmetic): with
    H = m + r(cos θ σz + sin θ (cos φ σx − sin φ σy)), |±> from half-angles computed without
    cancellation (r ± h from r + |h| and |b|²/(r + |h|)). Other N: numpy.linalg.eigh."""
    if H.shape[-1] != 2:
        return np.linalg.eigh(H)
    a, c, b = H[:, 0, 0].real, H[:, 1, 1].real, H[:, 0, 1]
    m, h = 0.5 * (a + c), 0.5 * (a - c)
    ab = np.abs(b)
    r = np.hypot(h, ab)
    big = r + np.abs(h)
    small = ab * np.divide(ab, big, out=np.zeros_like(big), where=big > 0)  # r − |h|, no underflow
    pos = h >= 0
    two_r = np.where(r > 0, 2.0 * r, 1.0)
    cos = np.sqrt(np.where(r > 0, np.where(pos, big, small) / two_r, 1.0))  # cos(θ/2)
    sin = np.sqrt(np.where(r > 0, np.where(pos, small, big) / two_r, 0.0))  # sin(θ/2)
    phase = np.divide(b, ab, out=np.ones_like(b), where=ab > 0)
    vecs = np.empty(H.shape, complex)
    vecs[:, 0, 0] = -sin * phase
    vecs[:, 1, 0] = cos
    vecs[:, 0, 1] = cos * phase
    vecs[:, 1, 1] = sin
    return np.stack([m - r, m + r], axis=1), vecs


# generic (no lattice symmetry keeps it, so P (c·∂H) P splits what symmetry alone keeps degenerate)
GAUGE_DIRECTION = np.array([1.0, 2**-0.5, 3**-0.5])
# splittings below this fraction of the chunk's energy scale leave the eigensolver's states arbitrary
# (rounding mixes them): only those subspaces get the canonical gauge. Split pairs keep their own
# eigenstates whatever degen_tol groups (results do not move with degen_tol, docs/near_degeneracy.md).
GAUGE_TOL = 1e-10


def canonical_gauge(energies: np.ndarray, vectors: np.ndarray, velocity: np.ndarray) -> np.ndarray:
    """`vectors` [nk, N, N] with each exactly degenerate subspace (splittings < GAUGE_TOL of the energy
    scale, chained) rotated onto the eigenvectors of P (c·∂H) P; `velocity` [nk, N, d, N]: ∂_a H in the
    orbital basis (the block's first-order columns). Only k-points with such a subspace are touched; one
    batched GEMM there, then one small eigensystem per subspace size."""
    nk, N = energies.shape
    start = np.ones((nk, N + 1), bool)
    start[:, 1:N] = np.diff(energies, axis=1) > GAUGE_TOL * max(1.0, float(np.abs(energies).max(initial=0.0)))
    ks, ns = np.nonzero(start[:, :N])
    following = np.where(start, np.arange(N + 1), N)
    nxt = np.minimum.accumulate(following[:, ::-1], axis=1)[:, ::-1]  # [k, n]: first start at or after n
    size = nxt[ks, ns + 1] - ns
    if not (size > 1).any():
        return vectors
    vectors = vectors.copy()
    touched = np.unique(ks[size > 1])
    c = GAUGE_DIRECTION[: velocity.shape[2]]
    GV = (velocity[touched].swapaxes(2, 3) @ c) @ vectors[touched]  # (c·∂H) V: [nt, N, N]
    row = np.full(nk, -1)
    row[touched] = np.arange(len(touched))
    for s in np.unique(size[size > 1]):  # a handful of sizes: 2 (Kramers, Δ5 …), 4 (Γ8) …
        k, cols = ks[size == s], ns[size == s][:, None] + np.arange(s)
        sub = vectors[k[:, None], :, cols]  # [m, s, N]: the subspace's states as rows
        X = sub.conj() @ GV[row[k][:, None], :, cols].swapaxes(1, 2)  # [m, s, s] = V_S† (c·∂H) V_S
        _, u = eigh(X)  # closed form for the pairs
        vectors[k[:, None], :, cols] = u.swapaxes(1, 2) @ sub  # rows: (V_S u)ᵀ
    return vectors
