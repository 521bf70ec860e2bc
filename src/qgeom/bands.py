"""Bands: the eigensystem of one k-chunk and its eigenbasis matrix elements (SPEC §0).

Degeneracy handling lives here and only here: `labels`/`same` define the degenerate subspaces
D(n) (|ε_n − ε_m| < degen_tol, chained along the sorted spectrum), and `inv_de` is the masked
inverse energy difference that every "interband" sum uses.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ._validation import QgeomInputError
from .models.base import Model

DEFAULT_DEGEN_TOL = 1e-6


def _to_eigenbasis(op: np.ndarray, vecs: np.ndarray) -> np.ndarray:
    """<n|op|m> for op [nk, ..., N, N] and eigenvectors (columns) [nk, N, N]."""
    extra = op.ndim - 3
    V = vecs.reshape((vecs.shape[0],) + (1,) * extra + vecs.shape[1:])
    return V.conj().swapaxes(-1, -2) @ op @ V


@dataclass
class Bands:
    """Energies, eigenvectors and matrix elements for a chunk of nk k-points.

    v[k, a, n, m] = <n|∂_a H|m>, w[k, a, b, n, m] = <n|∂_a∂_b H|m>, u[k, a, b, c, n, m] = <n|∂_a∂_b∂_c H|m>
    (w, u are None unless requested through `order`).
    """

    k: np.ndarray
    energies: np.ndarray
    vectors: np.ndarray
    v: np.ndarray
    w: np.ndarray | None
    u: np.ndarray | None
    degen_tol: float
    labels: np.ndarray = field(init=False)
    same: np.ndarray = field(init=False)
    inv_de: np.ndarray = field(init=False)
    _cache: dict = field(init=False, default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        e = self.energies
        jumps = np.diff(e, axis=1) > self.degen_tol
        self.labels = np.concatenate([np.zeros((len(e), 1), int), np.cumsum(jumps, axis=1)], axis=1)
        self.same = self.labels[:, :, None] == self.labels[:, None, :]
        de = e[:, :, None] - e[:, None, :]
        with np.errstate(divide="ignore"):
            self.inv_de = np.where(self.same, 0.0, 1.0 / np.where(self.same, 1.0, de))

    @classmethod
    def from_model(
        cls, model: Model, k, *, order: int = 1, degen_tol: float = DEFAULT_DEGEN_TOL
    ) -> "Bands":
        """Diagonalize H(k) once and rotate ∂H, … up to `order` (1–3) into the eigenbasis."""
        if order not in (1, 2, 3):
            raise QgeomInputError(f"Bands order must be 1, 2 or 3, got {order!r}.")
        if not degen_tol > 0:
            raise QgeomInputError(f"degen_tol must be positive, got {degen_tol!r}.")
        H = model.hamiltonian(k, 0)
        energies, vecs = np.linalg.eigh(H)
        mats = [_to_eigenbasis(model.hamiltonian(k, o), vecs) for o in range(1, order + 1)]
        mats += [None] * (3 - order)
        return cls(np.asarray(k, float).reshape(len(H), -1), energies, vecs, *mats, degen_tol=float(degen_tol))

    @property
    def nk(self) -> int:
        return self.energies.shape[0]

    @property
    def nbands(self) -> int:
        return self.energies.shape[1]

    @property
    def dim(self) -> int:
        return self.v.shape[1]

    def subspace_average(self, x: np.ndarray) -> np.ndarray:
        """Average a per-band array [..., nk, ..., N] (band axis last, k axis first) over each
        degenerate subspace: the gauge-invariant way to assign a subspace trace to its bands."""
        weights = self.same / self.same.sum(axis=2, keepdims=True)  # [nk, N, N]
        shape = (self.nk,) + (1,) * (x.ndim - 2) + (self.nbands, self.nbands)
        return np.einsum("...nm,...m->...n", weights.reshape(shape), x)

    def cached(self, key: str, compute):
        """Memoize a derived quantity on this chunk so that every response shares it."""
        if key not in self._cache:
            self._cache[key] = compute(self)
        return self._cache[key]

    def require(self, order: int) -> None:
        have = 3 if self.u is not None else 2 if self.w is not None else 1
        if have < order:
            raise QgeomInputError(
                f"this quantity needs derivatives of H up to order {order}; build Bands with order={order}."
            )
