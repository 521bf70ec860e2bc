"""Tight-binding (Fourier) models H(k) = Σ_R t_R e^{ik·R} with exact derivatives."""

from __future__ import annotations

import itertools
from abc import abstractmethod
from collections.abc import Mapping
from typing import Any

import numpy as np

from .._validation import QgeomInputError, as_finite_array
from ..options import checked_keywords
from .base import Model, check_operator
from .derivative_combos import all_combos
from .fourier import FourierSeries

HERMITICITY_TOL = 1e-10
PAIR_CHUNK_BYTES = 4 << 20  # hopping pairs (t_R, t_−R) compared at a time: a 2093-vector, 100-orbital model is 335 MB


def vector_index(query: np.ndarray, table: np.ndarray) -> np.ndarray:
    """The index of each integer vector (row) of `query` among the rows of `table`, −1 where absent."""
    query, table = np.asarray(query, np.int64), np.asarray(table, np.int64)
    if len(table) == 0:
        return np.full(len(query), -1, np.int64)
    both = np.vstack([table, query])
    low, span = both.min(axis=0), both.max(axis=0) - both.min(axis=0) + 1
    keys, q = (np.ravel_multi_index(tuple((v - low).T), span) for v in (table, query))
    order = np.argsort(keys, kind="stable")
    at = np.minimum(np.searchsorted(keys[order], q), len(table) - 1)
    return np.where(keys[order][at] == q, order[at], -1)


def conjugate_partners(R: np.ndarray) -> np.ndarray:
    """For every lattice vector R (integer rows), the index of −R among them, or −1 where −R is absent."""
    return vector_index(-np.asarray(R, np.int64), R)


def hermiticity_pairs(t: np.ndarray, partner: np.ndarray):
    """Yield (i, j, deviation) over chunks of the pairs i ≤ j = partner[i]: |t_j − t_i†| [n, N, N] (the R = 0
    block with itself); bounded memory for hoppings of any size."""
    i = np.flatnonzero((partner >= 0) & (np.arange(len(partner)) <= partner))
    step = max(1, PAIR_CHUNK_BYTES // max(1, t[0].nbytes))
    for s in range(0, len(i), step):
        ii = i[s:s + step]
        jj = partner[ii]
        yield ii, jj, np.abs(t[jj] - t[ii].conj().swapaxes(1, 2))


def tensors_from_block(block: np.ndarray, d: int, order: int) -> np.ndarray:
    """The full derivative tensor of one order ([nk, N, N], [nk, d, N, N], …) from a derivative
    block [nk, N, ncols, N] whose columns are `derivative_combos.all_combos(d, order)`."""
    if order == 0:
        return np.ascontiguousarray(block[:, :, 0])
    start = len(all_combos(d, order - 1))
    combos = block[:, :, start:].transpose(0, 2, 1, 3)
    pos = {c: i for i, c in enumerate(itertools.combinations_with_replacement(range(d), order))}
    index = np.empty((d,) * order, int)
    for idx in np.ndindex(*index.shape):
        index[idx] = pos[tuple(sorted(idx))]
    return combos[:, index]


class FourierSeriesModel(Model):
    """A model whose H(k) and derivatives are the Fourier series of its hoppings (`models.fourier`), built once on
    first use by `_fourier_series` (convention I: `TightBindingModel`; II: `orbital_positions.OrbitalPositionModel`)."""

    @abstractmethod
    def _fourier_series(self) -> FourierSeries:
        """The series of this model's hoppings (with or without orbital positions), built by `fourier` once."""

    @property
    def fourier(self) -> FourierSeries:
        """The hoppings' Fourier series (cached; not part of a checkpoint's model fingerprint)."""
        series = self.__dict__.get("_fourier")
        if series is None:
            series = self._fourier = self._fourier_series()
        return series

    @property
    def chunk_hint(self) -> int | None:
        """k-points per chunk at which the Fourier sums are cheapest (`kspace.auto_chunk_size`)."""
        return self.fourier.chunk_hint

    def _derivative_block(self, k: np.ndarray, order: int, axes: tuple[int, ...] | None = None,
                          along: int | None = None) -> np.ndarray:
        """H and its distinct derivative combos up to `order` (along `axes` only, when given) as
        [nk, N, ncols, N] with block[:, i, c, j] = (∂^combo_c H)_ij (col 0: H; `derivative_combos.block_combos`;
        `along`: `fourier.FourierSeries.block`)."""
        return self.fourier.block(k, order, axes, along)

    def _hamiltonian(self, k: np.ndarray, order: int) -> np.ndarray:
        return tensors_from_block(self._derivative_block(k, order), self.dim, order)


class TightBindingModel(FourierSeriesModel):
    """H(k) = Σ_R t_R exp(i k·R), R = n·lattice, n integer; ∂_a H = Σ_R (i R_a) t_R exp(i k·R).

    Parameters
    ----------
    R : [nR, d] integer lattice-vector indices (duplicates are summed).
    t : [nR, N, N] complex hopping matrices t_R = <0 i|H|R j>.
    lattice : [d, d] Cartesian lattice vectors as rows (default: identity, a = 1).
    copy : False keeps `t` itself (no copy of a model of hundreds of MB) when R is sorted and has no
        duplicates; the caller must not change it afterwards (the Wannier90 reader hands over its array).
    """

    @checked_keywords
    def __init__(
        self,
        R,
        t,
        *,
        lattice=None,
        name: str = "tight_binding",
        parameters: Mapping[str, Any] | None = None,
        operators: Mapping[str, Any] | None = None,
        energy_unit: str = "model",
        length_unit: str = "a",
        copy: bool = True,
    ):
        R = np.asarray(R)
        if R.ndim != 2 or R.shape[1] not in (1, 2, 3):
            raise QgeomInputError(f"R must have shape [nR, d] with d = 1, 2 or 3, got {R.shape}.")
        if not np.all(np.equal(np.mod(R, 1), 0)):
            raise QgeomInputError("R must hold integer lattice-vector indices.")
        if len(R) == 0:  # no terms: no H(k) and no band count; the Fourier series would fail on t[0]
            raise QgeomInputError("R and t hold no hoppings: give at least the onsite block t_R at R = 0 "
                                  f"(R = [[{', '.join(['0'] * R.shape[1])}]], t of shape [1, N, N]).")
        R = R.astype(np.int64)
        t = as_finite_array(t, "hoppings t_R", dtype=complex)
        if t.ndim != 3 or t.shape[0] != R.shape[0] or t.shape[1] != t.shape[2]:
            raise QgeomInputError(
                f"t must have shape [nR, N, N] matching R ({R.shape[0]} vectors), got {t.shape}."
            )
        self.dim = R.shape[1]
        self.nbands = t.shape[1]
        lat = np.eye(self.dim) if lattice is None else as_finite_array(lattice, "lattice")
        if lat.shape != (self.dim, self.dim) or abs(np.linalg.det(lat)) < 1e-12:
            raise QgeomInputError(
                f"lattice must be a non-singular [{self.dim}, {self.dim}] matrix of lattice vectors (rows), got {lat.shape}."
            )
        # duplicate R merged, R sorted; with copy=False hoppings that need neither are kept as given
        uniq, inv = np.unique(R, axis=0, return_inverse=True)
        inv = inv.ravel()
        if not copy and len(uniq) == len(R) and np.array_equal(inv, np.arange(len(R))):
            merged = t
        elif len(uniq) == len(R):
            merged = np.empty_like(t)
            merged[inv] = t
        else:
            merged = np.zeros((len(uniq), self.nbands, self.nbands), complex)
            np.add.at(merged, inv, t)
        self.R, self.t, self.lattice = uniq, merged, lat
        self.name = name
        self.parameters = dict(parameters or {})
        self.energy_unit, self.length_unit = energy_unit, length_unit
        self.operators = {k: check_operator(v, self.nbands, k) for k, v in (operators or {}).items()}
        self._check_hermitian()

    @classmethod
    def from_hoppings(
        cls, hoppings: Mapping[tuple[int, ...], Any], *, add_conjugates: bool = False, **kwargs
    ) -> "TightBindingModel":
        """Build from {R: t_R}. With add_conjugates=True, each given R≠0 also adds t_{-R} = t_R†
        (give each bond once); the R = 0 block is taken as given."""
        items = {tuple(int(x) for x in R): np.asarray(t, complex) for R, t in hoppings.items()}
        if add_conjugates:
            _refuse_given_partners(items)  # adding t_R† to a −R the user also gave would double that bond
            extra: dict[tuple[int, ...], np.ndarray] = {}
            for R, t in items.items():
                if any(R):
                    mR = tuple(-x for x in R)
                    extra[mR] = extra.get(mR, 0) + t.conj().T
            for R, t in extra.items():
                items[R] = items.get(R, 0) + t
        R = np.array(list(items.keys()))
        t = np.array(list(items.values()))
        return cls(R, t, **kwargs)

    def _check_hermitian(self) -> None:
        partner = conjugate_partners(self.R)
        step = max(1, PAIR_CHUNK_BYTES // max(1, self.t[0].nbytes))
        scale = max([1.0] + [float(np.abs(self.t[s:s + step]).max(initial=0.0)) for s in range(0, len(self.t), step)])
        err = np.zeros(len(self.R))  # |t_−R − t_R†| per R; t_−R = 0 where −R is absent
        lonely = np.flatnonzero(partner < 0)
        err[lonely] = np.abs(self.t[lonely]).max(axis=(1, 2), initial=0.0)
        for ii, jj, dev in hermiticity_pairs(self.t, partner):
            err[ii] = err[jj] = dev.max(axis=(1, 2))
        bad = np.flatnonzero(err > HERMITICITY_TOL * scale)
        if len(bad):
            r = self.R[bad[0]]
            raise QgeomInputError(
                f"hoppings are not Hermitian: t_R at R={tuple(int(x) for x in r)} is not the "
                f"conjugate transpose of t_(-R) at R={tuple(int(x) for x in -r)} (max deviation {err[bad[0]]:.3g}). "
                f"Give both R and -R with t_(-R) = t_R^dagger, or use from_hoppings(..., add_conjugates=True)."
            )

    def _fourier_series(self) -> FourierSeries:
        """The Fourier series of the hoppings (separable sums on grids, `models.fourier`)."""
        return FourierSeries(self.R, self.t, self.lattice)

    def restricted(self, orbitals, *, name: str | None = None) -> "TightBindingModel":
        """The model on a subset of orbitals (hoppings and operators restricted to them): the
        exact Hamiltonian of a block when no hopping couples `orbitals` to the rest
        (`qgeom.models.blocks`)."""
        idx = np.asarray(orbitals, int)
        return TightBindingModel(
            self.R, self.t[:, idx][:, :, idx], lattice=self.lattice, name=name or self.name,
            parameters={**self.parameters, "orbitals": idx.tolist()},
            operators={k: v[np.ix_(idx, idx)] for k, v in self.operators.items()},
            energy_unit=self.energy_unit, length_unit=self.length_unit,
        )

    def describe(self) -> dict[str, Any]:
        desc = super().describe()
        desc["n_hoppings"] = int(len(self.R))
        return desc


def _refuse_given_partners(items: Mapping[tuple[int, ...], Any]) -> None:
    """With add_conjugates=True each bond is given once; a dict holding both R and −R (R ≠ 0) would get
    t_R† added on top of the user's own t_(−R), doubling it (H(0) = 2 t_R + ... silently)."""
    for R in items:
        mR = tuple(-x for x in R)
        if any(R) and mR in items and R > mR:
            raise QgeomInputError(
                f"from_hoppings(..., add_conjugates=True) got both R={R} and -R={mR}: add_conjugates adds "
                f"t_(-R) = t_R^dagger itself, so that bond would be counted twice. Give each bond once (drop R={mR}), "
                f"or pass add_conjugates=False with both R and -R given."
            )
