"""Which supercell image of a lattice vector each Wannier90 hopping belongs to (MDRS, `use_ws_distance`).

Wannier90 interpolates with each t_ij(R) moved to the image R + T (T a vector of the mp_grid supercell) that
minimizes |R + T + τ_j − τ_i|, split equally over images equidistant within a tolerance: written to
`seedname_wsvec.dat`, or recomputed here from the centres (`mdrs_hoppings`). Both give, for every hopping, an image
index into a small table of shifts T (or several, for ties), and `spread_over_images` builds the hoppings on the
expanded list of lattice vectors from that — vectorized and in pieces of R vectors, so that a 100-orbital model with
2000 R vectors (21 M hoppings, 125 candidate images each) stays within a few arrays of the hoppings' size.
"""

from __future__ import annotations

import itertools

import numpy as np

from .._validation import QgeomInputError
from .tight_binding import vector_index

PIECE_BYTES = 8 << 20  # distance tables and gathers built at a time


def _pieces(nR: int, per_vector: int):
    """Slices of R vectors whose work takes ~PIECE_BYTES (at least one vector)."""
    step = max(1, PIECE_BYTES // max(1, per_vector))
    return (slice(s, min(s + step, nR)) for s in range(0, nR, step))


def spread_over_images(R: np.ndarray, t: np.ndarray, shifts: np.ndarray, image: np.ndarray,
                       ties: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None) -> tuple[np.ndarray, np.ndarray]:
    """(R', t') with every t_ij(R) moved to R + shifts[image[r, i, j]]; `image` −1 for the hoppings split over
    several images, listed in `ties` = (flat index r·N² + i·N + j, shift index, weight) (weights 1/ndeg)."""
    nR, N = t.shape[:2]
    nS = len(shifts)
    used = np.zeros((nR, nS), bool)  # which (R, T) occur: the new lattice vectors
    for sl in _pieces(nR, 8 * N * N):
        img = image[sl].reshape(sl.stop - sl.start, -1)
        r = np.broadcast_to(np.arange(sl.start, sl.stop)[:, None], img.shape)
        used[r[img >= 0], img[img >= 0]] = True
    if ties is not None:
        used[ties[0] // (N * N), ties[1]] = True
    r_used, s_used = np.nonzero(used)
    newR, slot_of = np.unique(R[r_used] + shifts[s_used], axis=0, return_inverse=True)
    slot = np.full((nR, nS), -1, np.int64)
    slot[r_used, s_used] = slot_of.ravel()
    out = np.zeros((len(newR), N, N), t.dtype)
    flat_out = out.reshape(-1)
    ij = np.arange(N * N)
    for sl in _pieces(nR, 24 * N * N):
        img = image[sl].reshape(sl.stop - sl.start, -1)
        r = np.arange(sl.start, sl.stop)[:, None]
        one = img >= 0
        target = (slot[np.broadcast_to(r, img.shape)[one], img[one]] * N * N + np.broadcast_to(ij, img.shape)[one])
        np.add.at(flat_out, target, t[sl].reshape(len(img), -1)[one])  # images R + T may coincide: add
    if ties is not None:
        flat, s, w = ties
        r, ij_t = flat // (N * N), flat % (N * N)
        np.add.at(flat_out, slot[r, s] * N * N + ij_t, t.reshape(-1)[flat] * w)
    return newR, out


def mdrs_hoppings(R, t, lattice, centres, mp_grid, *, tol: float = 1e-5, search: int = 2):
    """Minimal-distance replica selection (Wannier90's `use_ws_distance`): each t_ij(R) is moved to
    the supercell image R + T (T ∈ mp_grid·Z³) that minimizes |R + T + τ_j − τ_i|, split equally
    over images equidistant within `tol` (Å). Returns (R, t) on the expanded lattice-vector list."""
    return spread_over_images(R, t, *nearest_images(R, lattice, centres, mp_grid, tol=tol, search=search))


def nearest_images(R, lattice, centres, mp_grid, *, tol: float = 1e-5, search: int = 2):
    """(shifts T [nT, 3], image [nR, N, N], ties) of `mdrs_hoppings` in the form of `spread_over_images`: the nearest
    image R + T of every hopping among T ∈ mp_grid·{−search..search}³ (what a `_wsvec.dat` lists)."""
    R = np.asarray(R, np.int64)
    nR, N = len(R), len(centres)
    shifts = np.array(list(itertools.product(range(-search, search + 1), repeat=3)), np.int64) * np.asarray(mp_grid, int)
    L = shifts @ lattice  # [nT, 3]
    LL = np.einsum("tx,tx->t", L, L)
    origin = int(np.flatnonzero(~shifts.any(axis=1))[0])
    # |d + L_T| ≥ |L_T| − |d|: a hopping with |d| < (min |L_T| − tol)/2 over T ≠ 0 has T = 0 as its one nearest image
    safe = 0.5 * (np.sqrt(np.delete(LL, origin).min()) - tol)
    tau = centres[None, :, :] - centres[:, None, :]  # τ_j − τ_i: [N, N, 3]
    image = np.empty((nR, N, N), np.int32)
    tie_flat, tie_s, tie_w = [], [], []
    for sl in _pieces(nR, 8 * N * N * len(shifts)):
        d = ((R[sl] @ lattice)[:, None, None, :] + tau).reshape(-1, 3)  # [r·N·N, 3]
        dd = np.einsum("ex,ex->e", d, d)
        img = np.full(len(d), origin, np.int32)
        far = np.flatnonzero(dd >= safe * safe) if safe > 0 else np.arange(len(d))
        # |d + L_T|² = |d|² + 2 d·L_T + |L_T|²: one GEMM instead of an [e, nT, 3] temporary
        dist = np.sqrt(np.maximum(dd[far, None] + 2.0 * (d[far] @ L.T) + LL, 0.0))  # [far, nT]
        best = dist <= dist.min(axis=-1, keepdims=True) + tol
        ndeg = best.sum(-1)
        img[far] = np.where(ndeg == 1, best.argmax(-1), -1)
        image[sl] = img.reshape(-1, N, N)
        e, s_i = np.nonzero(best & (ndeg > 1)[:, None])
        tie_flat.append(sl.start * N * N + far[e])
        tie_s.append(s_i)
        tie_w.append(1.0 / ndeg[e])
    ties = (np.concatenate(tie_flat), np.concatenate(tie_s), np.concatenate(tie_w))
    return shifts, image, ties if len(ties[0]) else None


class WsvecImages:
    """The images of a `_wsvec.dat` gathered piece by piece (`add`, records in the file's order) into the form of
    `spread_over_images`: an image index per hopping and the ties (hoppings with several images)."""

    def __init__(self, R: np.ndarray, N: int, path):
        self.R, self.N, self.path = np.asarray(R, np.int64), N, path
        self.image = np.full((len(R), N, N), -2, np.int32)  # -2: no entry (yet)
        self.entries = 0
        self.shift_index: dict[tuple[int, int, int], int] = {}
        self.ties: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []

    def add(self, keys: np.ndarray, counts: np.ndarray, T: np.ndarray) -> None:
        """Records `keys` [e, 5] (R1 R2 R3 i j, orbitals 1-based) with `counts` [e] images, shifts T [Σ counts, 3]."""
        N = self.N
        if np.any(counts <= 0):
            raise QgeomInputError(f"{self.path}: number of images must be positive.")
        r = vector_index(keys[:, :3], self.R)
        i, j = keys[:, 3] - 1, keys[:, 4] - 1
        ok = (r >= 0) & (i >= 0) & (i < N) & (j >= 0) & (j < N)  # entries of no hopping are not used
        flat = ((r * N + i) * N + j)[ok]
        self.entries += len(flat)
        which = self._shift_indices(T)
        first = np.cumsum(counts) - counts
        img = np.where(counts == 1, which[np.minimum(first, len(which) - 1)], -1)
        self.image.reshape(-1)[flat] = img[ok]
        multi = np.flatnonzero(ok & (counts > 1))
        if len(multi):
            reps = counts[multi]
            where = np.repeat(first[multi], reps) + np.arange(reps.sum()) - np.repeat(np.cumsum(reps) - reps, reps)
            self.ties.append((np.repeat(((r * N + i) * N + j)[multi], reps), which[where], 1.0 / np.repeat(reps, reps)))

    def _shift_indices(self, T: np.ndarray) -> np.ndarray:
        """The index of each shift in the table of distinct shifts met so far (new ones appended)."""
        low = T.min(axis=0, initial=0)
        span = T.max(axis=0, initial=0) - low + 1
        code = np.ravel_multi_index(tuple((T - low).T), span)  # shifts are a few supercell vectors: a small box
        present = np.flatnonzero(np.bincount(code, minlength=int(np.prod(span))))
        rank = np.zeros(int(np.prod(span)), np.int64)
        table = self.shift_index
        rank[present] = [table.setdefault(tuple(int(x) for x in v), len(table))
                         for v in np.column_stack(np.unravel_index(present, span)) + low]
        return rank[code]

    def hoppings(self, t: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(R, t) spread over the images; every hopping needs its entry."""
        missing = self.image == -2
        if missing.any():
            r0, i0, j0 = np.unravel_index(int(np.argmax(missing)), missing.shape)
            raise QgeomInputError(
                f"{self.path}: no entry for R = {tuple(int(x) for x in self.R[r0])}, i = {i0 + 1}, j = {j0 + 1}; the "
                f"_wsvec.dat does not match the Hamiltonian."
            )
        if self.entries != self.image.size:
            raise QgeomInputError(f"{self.path}: a hopping (R, i, j) is listed twice; the _wsvec.dat is corrupted.")
        shifts = np.array(list(self.shift_index), np.int64).reshape(-1, 3)
        ties = None
        if self.ties:
            ties = tuple(np.concatenate([x[c] for x in self.ties]) for c in range(3))
        return spread_over_images(self.R, t, shifts, self.image, ties)
