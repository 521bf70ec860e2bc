"""Observables shared by the DC and optical second-order responses: the current, named model operators, any matrix.

An `Observable` knows how to give, for a Bands chunk, its eigenbasis matrix O_nm(k) = <n|Ô(k)|m>
and the eigenbasis matrix of its k-derivative <n|∂_a Ô|m> (needed by the shift-like term, S16):
  - `current(direction)`: Ô = ∂_γ H (velocity operator × ħ), k-dependent; ∂_a Ô = ∂_a∂_γ H exactly;
  - `spin_current(direction, spin)`: Ô = ½{S, ∂_γ H} for a constant Hermitian S (a spin component or
    any other matrix), k-dependent; ∂_a Ô = ½{S, ∂_a∂_γ H} exactly;
  - a model operator by name (`layer_polarization`, `spin_z`, …) or any constant Hermitian matrix;
  - a callable k[nk, d] → [nk, N, N]; its derivative from `derivative=` (callable k → [nk, d, N, N])
    or, if not given, by 4th-order central differences with step `fd_step` (the only place where a
    finite difference is used, and only for user callables without a derivative).
PT parity ("even"/"odd") can be declared, or detected on a model (`detect_parity`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from ._validation import QgeomInputError
from .bands import DEFAULT_DEGEN_TOL, Bands
from .models.base import Model, check_operator, complex_matrix

AXES = "xyz"
PARITIES = (None, "even", "odd")


@dataclass
class Observable:
    """A (possibly k-dependent) Hermitian observable. Build with `current`, `operator` or `from_model`."""

    name: str
    source: str  # "current" | "spin_current" | "matrix" | "callable"
    matrix: np.ndarray | None = None  # the operator ("matrix") or the dressing S ("spin_current")
    func: Callable | None = None
    derivative: Callable | None = None
    direction: int | None = None
    parity: str | None = None
    unit: str = "model"
    fd_step: float = 1e-4
    _model_checked: bool = field(default=False, repr=False)

    def __post_init__(self):
        if self.parity not in PARITIES:
            raise QgeomInputError(f"parity must be 'even', 'odd' or None, got {self.parity!r}.")

    @property
    def k_dependent(self) -> bool:
        return self.source != "matrix"

    def bands_order(self, need_derivative: bool) -> int:
        return 2 if (need_derivative and self.source in ("current", "spin_current")) else 1

    def validate_for(self, model: Model) -> "Observable":
        if self.source in ("current", "spin_current") and not 0 <= self.direction < model.dim:
            raise QgeomInputError(
                f"current direction {AXES[self.direction]!r} does not exist in the {model.dim}D model "
                f"{model.name!r}; choose one of {list(AXES[: model.dim])}."
            )
        if self.source in ("matrix", "spin_current"):
            self.matrix = check_operator(self.matrix, model.nbands, self.name)
        if self.source == "callable":
            k0 = np.zeros((1, model.dim))
            test = np.asarray(self.func(k0))
            if test.shape != (1, model.nbands, model.nbands):
                raise QgeomInputError(
                    f"observable callable {self.name!r} must map k [nk, {model.dim}] to [nk, {model.nbands}, "
                    f"{model.nbands}], got shape {test.shape} for nk = 1."
                )
        return self

    # --- eigenbasis matrices -------------------------------------------------------------
    def eig(self, b: Bands) -> np.ndarray:
        """<n|Ô(k)|m>, [nk, N, N]."""
        if self.source == "current":
            return b.v[:, self.direction]
        if self.source == "spin_current":
            return _anticommutator(self._dressing(b), b.v[:, self.direction])
        V = b.vectors
        op = self.matrix[None] if self.source == "matrix" else np.asarray(self.func(b.k), complex)
        return V.conj().swapaxes(-1, -2) @ op @ V

    def deig(self, b: Bands, rows: slice = slice(None), columns: slice = slice(None)) -> np.ndarray | None:
        """<n|∂_a Ô(k)|m> for n in `rows`, m in `columns` (all by default), [nk, d, n, m]; None for a constant
        matrix (∂Ô = 0). The current rotates only that block of ∂_a∂_γ H into the eigenbasis."""
        if self.source == "matrix":
            return None
        if self.source == "current":
            return b.second_derivative_along(self.direction, rows, columns)
        return self._deig(b)[:, :, rows, columns]

    def _deig(self, b: Bands) -> np.ndarray:
        """`deig` on every band pair, for the observables whose derivative is a product over all states."""
        if self.source == "spin_current":
            return _anticommutator(self._dressing(b)[:, None], b.second_derivative_along(self.direction))
        V = b.vectors[:, None]
        if self.derivative is not None:
            dop = np.asarray(self.derivative(b.k), complex)
        else:
            dop = self._fd_derivative(b.k)
        return V.conj().swapaxes(-1, -2) @ dop @ V

    def ddeig(self, b: Bands) -> np.ndarray | None:
        """<n|∂_a∂_b Ô|m>, [nk, d, d, N, N]; None for a constant matrix. Needs Bands of order 3 for the
        current and the spin current; not available for user callables (give a matrix instead)."""
        if self.source == "matrix":
            return None
        if self.source == "callable":
            raise QgeomInputError(f"the second k-derivative of the callable observable {self.name!r} is not "
                                  "available; give a constant matrix, current(...) or spin_current(...).")
        b.require(3)
        u = b.u[:, :, :, self.direction]
        return u if self.source == "current" else _anticommutator(self._dressing(b)[:, None, None], u)

    def _dressing(self, b: Bands) -> np.ndarray:
        V = b.vectors
        return V.conj().swapaxes(-1, -2) @ self.matrix[None] @ V

    def _fd_derivative(self, k: np.ndarray) -> np.ndarray:
        h = self.fd_step
        out = []
        for a in range(k.shape[1]):
            e = np.zeros(k.shape[1])
            e[a] = h
            f = lambda s: np.asarray(self.func(k + s * e), complex)  # noqa: E731
            out.append((8 * (f(1) - f(-1)) - (f(2) - f(-2))) / (12 * h))
        return np.stack(out, axis=1)


def current(direction) -> Observable:
    """The current (velocity) operator ∂_γ H along `direction` ("x", "y", "z" or 0, 1, 2); PT-even."""
    d = AXES.index(direction) if isinstance(direction, str) and direction in AXES else direction
    if not isinstance(d, (int, np.integer)) or not 0 <= d < 3:
        raise QgeomInputError(f"current direction must be 'x', 'y', 'z' or 0..2, got {direction!r}.")
    return Observable(name=f"current_{AXES[d]}", source="current", direction=int(d), parity="even",
                      unit="dH/dk")


def spin_current(direction, spin, *, name: str | None = None, parity: str | None = None,
                 unit: str = "hbar*dH/dk") -> Observable:
    """The symmetrized current ½{S, ∂_γ H} of a constant Hermitian matrix S (e.g. a spin component)."""
    cur = current(direction)
    return Observable(name=name or f"spin_current_{AXES[cur.direction]}", source="spin_current",
                      matrix=np.asarray(spin, complex), direction=cur.direction, parity=parity, unit=unit)


def _anticommutator(s: np.ndarray, v: np.ndarray) -> np.ndarray:
    return 0.5 * (s @ v + v @ s)


def operator(matrix_or_callable, *, name: str = "custom", parity: str | None = None, unit: str = "model",
             derivative: Callable | None = None, fd_step: float = 1e-4) -> Observable:
    """Any Hermitian matrix (k-independent) or a callable k[nk, d] → [nk, N, N]."""
    if callable(matrix_or_callable):
        return Observable(name=name, source="callable", func=matrix_or_callable, derivative=derivative,
                          parity=parity, unit=unit, fd_step=fd_step)
    return Observable(name=name, source="matrix", matrix=complex_matrix(matrix_or_callable, name, "N×N (N bands)"),
                      parity=parity, unit=unit)


OPERATOR_UNITS = {"layer_polarization": "e", "spin_x": "hbar", "spin_y": "hbar", "spin_z": "hbar"}
OPERATOR_PARITY = {"layer_polarization": "odd", "spin_x": "odd", "spin_y": "odd", "spin_z": "odd"}


def from_model(model: Model, name: str) -> Observable:
    """A named operator of the model (e.g. `layer_polarization`, `spin_z`) or `current_x|y|z`."""
    if name.startswith("current_") and name[-1] in AXES and len(name) == 9:
        return current(name[-1])
    if name not in model.operators:
        allowed = sorted(model.operators) + [f"current_{a}" for a in AXES[: model.dim]]
        raise QgeomInputError(f"model {model.name!r} has no observable {name!r}; allowed: {allowed}.")
    return Observable(name=name, source="matrix", matrix=model.operators[name],
                      parity=OPERATOR_PARITY.get(name), unit=OPERATOR_UNITS.get(name, "model"))


def resolve(model: Model, observable) -> Observable:
    """Accept an Observable, a name, a matrix or a callable; validate it against `model`."""
    if isinstance(observable, Observable):
        obs = observable
    elif isinstance(observable, str):
        obs = from_model(model, observable)
    elif callable(observable) or isinstance(observable, (np.ndarray, list, tuple)):
        obs = operator(observable)
    else:
        raise QgeomInputError(
            f"observable must be a name ({sorted(model.operators)} or current_x/y/z), a matrix, a callable "
            f"or qgeom.observables.Observable; got {type(observable).__name__}."
        )
    return obs.validate_for(model)


def detect_parity(model: Model, observable, *, npoints: int = 16, degen_tol: float = DEFAULT_DEGEN_TOL,
                  seed: int = 0, tol: float = 1e-8) -> str | None:
    """PT parity of `observable` from random k-points: inside each degenerate (Kramers) block
    a PT-even O is ∝ identity, a PT-odd O is traceless; in a model without degeneracy a PT-odd O
    has O_nn = 0. Returns "even", "odd" or None (neither, or undecidable)."""
    obs = resolve(model, observable)
    rng = np.random.default_rng(seed)
    if model.is_periodic:
        k = rng.uniform(-np.pi, np.pi, (npoints, model.dim)) @ np.linalg.inv(model.lattice).T
    else:
        k = rng.uniform(-1, 1, (npoints, model.dim)) * 0.5 * (model.k_cutoff or 1.0)
    b = Bands.from_model(model, k, order=1, degen_tol=degen_tol)
    O = obs.eig(b)
    OD = O * b.same
    scale = max(np.abs(O).max(), 1e-300)
    sizes = b.same.sum(-1)  # [nk, N]
    trace = np.einsum("knm,knm->kn", OD, b.same.astype(float))  # Σ_{m∈D(n)} O_mm ... per band n
    diag = np.diagonal(O, axis1=-2, axis2=-1)
    blk_trace = np.einsum("knm,km->kn", b.same.astype(float), diag)  # Tr over D(n)
    mean = blk_trace / sizes
    odd = np.all(np.abs(blk_trace) < tol * scale)
    even_resid = OD - mean[:, :, None] * np.eye(model.nbands)[None] * 1.0
    even = np.all(np.abs(even_resid * b.same) < tol * scale) and np.any(sizes > 1)
    del trace
    if odd and not even:
        return "odd"
    if even and not odd:
        return "even"
    return None
