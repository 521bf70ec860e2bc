"""Run options as small frozen, typed objects, validated once at the edge of the public API.

`Sampling` (how k-space is sampled and bands are grouped), `Execution` (how the k-sum runs) and
`Thermal` (kT and μ), `Refinement` (adaptive k-grid) each hold their defaults once: the public functions' signatures take their
defaults from these classes (`degen_tol: float = Sampling.degen_tol`), build the objects from their
keywords and pass the validated objects on. Adding an option (e.g. a symmetry setting) is one field
here plus its keyword. `checked_keywords` turns a misspelt keyword (`degen_tool=`) into an error
that names the allowed keywords instead of Python's bare "unexpected keyword argument", and a first
argument `model` that is not a qgeom model into an error saying how to build one.
"""

from __future__ import annotations

import functools
import inspect
from dataclasses import dataclass, field, fields
from typing import Any

import numpy as np

from ._validation import QgeomInputError, checked_model, chemical_potentials, did_you_mean, positive_scalar

DEFAULT_DEGEN_TOL = 1e-6  # energy tolerance (model unit) for degenerate subspaces; bands.py re-exports it


class QgeomKeywordError(QgeomInputError, TypeError):
    """An unknown keyword argument of a public function (a TypeError, as Python's own, and an input error)."""


def checked_keywords(func):
    """Reject unknown keywords of `func` with the allowed ones (and the closest match) in the message."""
    sig = inspect.signature(func)
    allowed = [n for n, p in sig.parameters.items()
               if p.kind in (p.KEYWORD_ONLY, p.POSITIONAL_OR_KEYWORD) and n not in ("self", "cls")]
    takes_model = next(iter(sig.parameters), None) == "model"  # the public k-sums: check the model here, once
    name = func.__qualname__.removesuffix(".__init__")  # a class is called by its name

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        unknown = [k for k in kwargs if k not in sig.parameters]
        if unknown:
            key = unknown[0]
            raise QgeomKeywordError(f"{name}() got an unknown keyword {key!r}{did_you_mean(key, allowed)}. "
                                    f"Allowed keywords: {', '.join(allowed)}.")
        if takes_model and (args or "model" in kwargs):
            checked_model(args[0] if args else kwargs["model"], f"{name}()")
        return func(*args, **kwargs)

    return wrapper


@dataclass(frozen=True)
class Sampling:
    """k-space sampling and band grouping.

    grid : points per direction (int or tuple; continuum disks (n_r, n_phi)), or a ready `KGrid`.
    kind, cutoff, offset : grid kind ("uniform"; continuum "disk"/"box"), k cutoff of continuum
        models (1/length; default the model's `k_cutoff`), lattice offset "mp" or "gamma".
    degen_tol : energy tolerance of degenerate subspaces (model energy unit), > 0.
    blocks : sum over the exactly decoupled orbital blocks of H (trace integrands only).
    """

    grid: Any = 200
    kind: str | None = None
    cutoff: float | None = None
    offset: str = "mp"
    degen_tol: float = DEFAULT_DEGEN_TOL
    blocks: bool = True

    def __post_init__(self):
        object.__setattr__(self, "degen_tol", positive_scalar(self.degen_tol, "degen_tol"))
        if self.cutoff is not None:
            object.__setattr__(self, "cutoff", positive_scalar(self.cutoff, "cutoff"))
        if self.offset not in ("mp", "gamma"):
            raise QgeomInputError(f"offset must be 'mp' or 'gamma', got {self.offset!r}.")
        if not isinstance(self.blocks, (bool, np.bool_)):
            raise QgeomInputError(f"blocks must be True or False, got {self.blocks!r}.")

    def kgrid(self, model):
        """The `KGrid` of this sampling for `model`."""
        from .kspace import make_grid

        return make_grid(model, self.grid, kind=self.kind, cutoff=self.cutoff, offset=self.offset)


@dataclass(frozen=True)
class Execution:
    """How the k-sum runs (never what it computes): chunk size, progress, executor, checkpoint.

    chunk_size : k-points per chunk (default: the memory rule of `kspace.auto_chunk_size`).
    progress : None shows a bar only on an interactive terminal.
    workers, scheduler : process pool of N workers, or a Dask scheduler; in-process by default.
    checkpoint : directory of finished chunk sums (resumable runs).
    """

    chunk_size: int | None = None
    progress: bool | None = None
    workers: int | None = None
    scheduler: Any = None
    checkpoint: Any = None

    def __post_init__(self):
        for name in ("chunk_size", "workers"):
            value = getattr(self, name)
            if value is not None and (isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1):
                raise QgeomInputError(f"{name} must be a positive integer, got {value!r}.")
        from .executors import check_scheduler

        check_scheduler(self.scheduler)

    def kwargs(self) -> dict[str, Any]:
        """The keywords of `kspace.integrate` (shallow: a Dask Client must not be copied)."""
        return {f.name: getattr(self, f.name) for f in fields(self)}


@dataclass(frozen=True)
class Refinement:
    """Adaptive refinement of the k-grid where Fermi-surface sums are unresolved (`qgeom.refinement`).

    levels : at most this many levels of cell subdivision (0: off, the plain grid).
    tol : stop when a level changes no term by more than this, relative to the term's largest
        |value| (over components and μ) — the convergence reached is recorded in the result.
    """

    levels: int = 0
    tol: float = 1e-3

    def __post_init__(self):
        if isinstance(self.levels, bool) or not isinstance(self.levels, (int, np.integer)) or not 0 <= self.levels <= 12:
            raise QgeomInputError(f"refine must be an integer number of levels in 0 … 12 (0: off), got {self.levels!r}.")
        object.__setattr__(self, "levels", int(self.levels))
        object.__setattr__(self, "tol", positive_scalar(self.tol, "refine_tol"))


@dataclass(frozen=True)
class Thermal:
    """The equilibrium the response is taken around: kT > 0 and the chemical potentials (model energy unit)."""

    temperature: float
    mu: np.ndarray = field(repr=False)

    def __post_init__(self):
        object.__setattr__(self, "mu", chemical_potentials(self.mu))
        object.__setattr__(self, "temperature", positive_scalar(self.temperature, "temperature"))

    def single_mu(self, where: str) -> float:
        """μ for a function that takes one chemical potential per call."""
        if self.mu.size != 1:
            raise QgeomInputError(f"{where} takes one chemical potential per call, got {self.mu.size} values "
                                  f"({self.mu.tolist()}); call it once per μ.")
        return float(self.mu[0])
