"""The Model interface: anything that returns H(k) and its exact k-derivatives for a batch of k."""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any

import numpy as np

from .._validation import QgeomInputError, k_points

MAX_DERIVATIVE_ORDER = 3


class Model(ABC):
    """A Bloch Hamiltonian in the model's own units (energy `energy_unit`, length `length_unit`).

    Attributes
    ----------
    dim, nbands : spatial dimension d and number of bands N.
    lattice : [d, d] Cartesian lattice vectors as rows, or None for a continuum (k·p) model.
    operators : named k-independent observables, each an [N, N] Hermitian matrix.

    Required of every model: `_hamiltonian(k, order)` and the attributes above. Optional
    capabilities, declared here with their defaults (a model overrides what it has; callers never
    probe with getattr):

    k_cutoff : the default k cutoff of a continuum model (1/length); None for lattice models.
    chunk_hint : k-points per chunk at which H(k) is cheapest (e.g. Fourier sums axis by axis);
        None leaves the chunk size to the memory rule of `kspace.auto_chunk_size`.
    t : the hopping table t_R [nR, N, N] of a tight-binding model, None otherwise; a model with
        hoppings also implements `restricted`, so that `models.blocks` can split decoupled blocks.
    has_position_matrix, position_matrix(k) : the full Wannier position operator (Wannier90).
    _derivative_block(k, order) : H and its distinct derivative combos in one pass (see
        `bands.derivative_block`); None (default) builds them from `hamiltonian`.
    """

    k_cutoff: float | None = None
    chunk_hint: int | None = None
    t: np.ndarray | None = None
    has_position_matrix: bool = False

    dim: int
    nbands: int
    name: str
    parameters: dict[str, Any]
    lattice: np.ndarray | None
    energy_unit: str
    length_unit: str
    operators: dict[str, np.ndarray]

    def hamiltonian(self, k, order: int = 0) -> np.ndarray:
        """H(k) [nk, N, N] (order 0) or its derivatives ∂H [nk, d, N, N], ∂∂H [nk, d, d, N, N],
        ∂∂∂H [nk, d, d, d, N, N] (orders 1–3), for k of shape [nk, d] (Cartesian)."""
        if order not in range(MAX_DERIVATIVE_ORDER + 1):
            raise QgeomInputError(f"order must be 0, 1, 2 or 3, got {order!r}.")
        return self._hamiltonian(k_points(k, self.dim), order)

    @abstractmethod
    def _hamiltonian(self, k: np.ndarray, order: int) -> np.ndarray: ...

    def _derivative_block(self, k: np.ndarray, order: int, axes: tuple[int, ...] | None = None,
                          along: int | None = None) -> np.ndarray | None:
        """Optional fused H + derivative combos [nk, N, ncols, N] (only those along the Cartesian
        `axes` when given, `derivative_combos.block_combos`; with `along`, the higher-order combos without that
        axis may be left NaN, `derivative_combos.computed_combos`); None: not provided."""
        return None

    def restricted(self, orbitals, *, name: str | None = None) -> Model:
        """The model on a subset of orbitals (models with a hopping table `t`)."""
        raise QgeomInputError(f"{type(self).__name__} cannot be restricted to a subset of orbitals.")

    def position_matrix(self, k: np.ndarray):
        """The full Wannier position operator (models with `has_position_matrix`)."""
        raise QgeomInputError(f"model {self.name!r} carries no Wannier position matrix.")

    @property
    def is_periodic(self) -> bool:
        return self.lattice is not None

    @property
    def cell_volume(self) -> float:
        """Volume (length/area) of the unit cell; 1 for continuum models."""
        if self.lattice is None:
            return 1.0
        return float(abs(np.linalg.det(self.lattice)))

    @property
    def reciprocal_lattice(self) -> np.ndarray:
        """[d, d] reciprocal vectors b_i as rows, a_i·b_j = 2π δ_ij."""
        if self.lattice is None:
            raise QgeomInputError(f"model {self.name!r} is a continuum model and has no reciprocal lattice.")
        return 2 * np.pi * np.linalg.inv(self.lattice).T

    def describe(self) -> dict[str, Any]:
        """JSON-serializable description stored with every result."""
        return {
            "name": self.name,
            "class": type(self).__name__,
            "dim": self.dim,
            "nbands": self.nbands,
            "parameters": {k: _jsonable(v) for k, v in self.parameters.items()},
            "lattice": None if self.lattice is None else np.asarray(self.lattice).tolist(),
            "energy_unit": self.energy_unit,
            "length_unit": self.length_unit,
        }

    def __repr__(self) -> str:
        params = ", ".join(f"{k}={_brief(v)}" for k, v in self.parameters.items())
        return f"<{type(self).__name__} {self.name}({params}) dim={self.dim} nbands={self.nbands}>"


def _brief(v) -> str:
    """A parameter in the one-line repr: records (a symmetrization report) and per-orbital lists stay in
    .parameters and the result files, the one-liner says what they are."""
    if isinstance(v, dict):
        return "{...}"
    if isinstance(v, (list, tuple, np.ndarray)) and np.size(v) > 6:
        return f"[{np.size(v)} values]"
    return repr(v)


def _jsonable(v):
    if isinstance(v, (np.generic,)):
        return v.item()
    if isinstance(v, np.ndarray):
        return v.tolist()
    if isinstance(v, complex):
        return [v.real, v.imag]
    return v


def complex_matrix(op, name: str, size: str = "N×N") -> np.ndarray:
    """`op` as a complex array; strings or ragged rows raise an error naming the operator (numpy's complex()
    error names neither the field nor the fix)."""
    try:
        return np.asarray(op, dtype=complex)
    except (TypeError, ValueError):
        raise QgeomInputError(f"operator {name!r} must be a {size} Hermitian matrix of numbers, got "
                              f"{op!r}.") from None


def check_operator(op, nbands: int, name: str) -> np.ndarray:
    arr = complex_matrix(op, name, f"{nbands}×{nbands}")
    if arr.shape != (nbands, nbands):
        raise QgeomInputError(f"operator {name!r} must have shape ({nbands}, {nbands}), got {arr.shape}.")
    if not np.all(np.isfinite(arr)):
        raise QgeomInputError(f"operator {name!r} contains NaN or inf.")
    if not np.allclose(arr, arr.conj().T, atol=1e-12):
        raise QgeomInputError(f"operator {name!r} is not Hermitian; observables must be Hermitian matrices.")
    return arr
