"""Wannier90 tight-binding models: `seedname_hr.dat`, `_wsvec.dat`, `_tb.dat`, `.win`, `_centres.xyz`.

Two Bloch-sum conventions (docs/conventions.md, docs/wannier90.md):

- **convention I** (Wannier90's default, `H_ij(k) = Σ_R e^{ik·R} H_ij(R)`): every orbital sits at
  the cell origin as far as the phases are concerned. Band energies are exact; the Berry
  connection/curvature of the eigenvectors misses the intra-cell positions τ_i.
- **convention II** (tight-binding convention, `H_ij(k) = Σ_R e^{ik·(R+τ_j−τ_i)} H_ij(R)`) with
  τ_i the Wannier centres (diagonal of the position matrix at R = 0). This is the
  tight-binding approximation of the position operator (r_mn(R) = τ_m δ_mn δ_R0) and is the choice
  for geometric quantities: Berry curvature, metric and their dipoles then transform correctly
  under the crystal's symmetries (e.g. the GaAs Berry-curvature dipole vanishes by Td only here).
  Off-diagonal position matrix elements r_mn(R) in `_tb.dat` are read but not used by the
  Hamiltonian model; they stay available through `read_tb`.

Both share the band energies. `from_wannier90(..., convention="auto")` picks II whenever orbital
positions are known (a `_tb.dat`, a `_centres.xyz`, or `positions=`), else I; the choice is
recorded in `model.parameters["convention"]` and hence in every result's metadata.

Hoppings are divided by the Wigner–Seitz degeneracies (`ndegen`); with a `_wsvec.dat` file
(`use_ws_distance = true`, MDRS) each H_ij(R)/ndegen(R) is further split equally over the
ndeg_ij(R) images R + T_ij, exactly as postw90 does. Units: energies in eV, lengths in Å.
"""

from __future__ import annotations

import itertools
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np

from .._validation import QgeomInputError, as_finite_array
from .base import Model
from .tight_binding import TightBindingModel

BOHR_ANGSTROM = 0.52917720859  # Wannier90's internal value (CODATA 2006)
DEFAULT_HERMITICITY_TOL = 1e-5  # eV; Wannier90 prints hoppings with 6 decimals in _hr.dat
DEFAULT_WS_DISTANCE_TOL = 1e-3  # Å
CONVENTIONS = ("I", "II")


# ---------------------------------------------------------------------------------------------
# line-numbered reading


class _Lines:
    """A text file as numbered lines, with errors that name file and line."""

    def __init__(self, path: str | Path):
        self.path = Path(path)
        if not self.path.is_file():
            raise QgeomInputError(f"Wannier90 file {str(self.path)!r} does not exist.")
        try:
            self.lines = self.path.read_text().splitlines()
        except UnicodeDecodeError:
            raise QgeomInputError(f"{self.path}: not a text file.") from None
        self.pos = 0  # index of the next unread line (line number = index + 1)

    def error(self, lineno: int | None, msg: str) -> QgeomInputError:
        where = f"{self.path}, line {lineno}" if lineno else str(self.path)
        return QgeomInputError(f"{where}: {msg}")

    def next(self, what: str, *, skip_blank: bool = True) -> tuple[int, str]:
        while self.pos < len(self.lines):
            text = self.lines[self.pos]
            self.pos += 1
            if text.strip() or not skip_blank:
                return self.pos, text
        raise self.error(
            len(self.lines), f"file ends (line {len(self.lines)}) while reading {what}; the file is truncated."
        )

    def ints(self, what: str, count: int | None = None) -> tuple[int, list[int]]:
        lineno, text = self.next(what)
        fields = text.split()
        if count is not None and len(fields) < count:
            raise self.error(lineno, f"expected {count} integers ({what}), found {text.strip()!r}.")
        try:
            return lineno, [int(x) for x in fields[: count or len(fields)]]
        except ValueError:
            raise self.error(lineno, f"expected integers ({what}), found {text.strip()!r}.") from None

    def floats(self, what: str, count: int) -> tuple[int, list[float]]:
        lineno, text = self.next(what)
        fields = text.split()
        if len(fields) < count:
            raise self.error(lineno, f"expected {count} numbers ({what}), found {text.strip()!r}.")
        vals = _to_floats(fields[:count])
        if vals is None:
            raise self.error(lineno, f"non-numeric field in {what}: {text.strip()!r}.")
        return lineno, vals

    def rest_nonblank(self) -> int | None:
        """Line number of the first non-blank line left, if any."""
        for i in range(self.pos, len(self.lines)):
            if self.lines[i].strip():
                return i + 1
        return None


def _to_floats(fields: list[str]) -> list[float] | None:
    try:
        vals = [float(x.replace("D", "E").replace("d", "e")) for x in fields]
    except ValueError:
        return None
    if not all(math.isfinite(v) for v in vals):
        return None
    return vals


def _read_count(src: _Lines, what: str) -> int:
    lineno, (n,) = src.ints(what, 1)
    if n <= 0:
        raise src.error(lineno, f"{what} must be a positive integer, got {n}.")
    return n


def _read_degeneracies(src: _Lines, nrpts: int) -> tuple[np.ndarray, int]:
    vals: list[int] = []
    first = None
    while len(vals) < nrpts:
        lineno, text = src.next(f"the {nrpts} Wigner-Seitz degeneracies")
        first = first or lineno
        try:
            vals += [int(x) for x in text.split()]
        except ValueError:
            raise src.error(lineno, f"expected integer degeneracies, found {text.strip()!r}.") from None
        if len(vals) > nrpts:
            raise src.error(
                lineno, f"more degeneracies than nrpts = {nrpts} (is nrpts in the header wrong?)."
            )
    nd = np.array(vals, int)
    if np.any(nd <= 0):
        raise src.error(first, "Wigner-Seitz degeneracies must be positive integers.")
    return nd, first


def _parse_table(src: _Lines, nrows: int, nfields: int, what: str) -> tuple[np.ndarray, np.ndarray]:
    """Read `nrows` non-blank rows of `nfields` numbers; returns (values [nrows, nfields], line numbers)."""
    rows, linenos = [], []
    lines = src.lines
    i = src.pos
    while len(rows) < nrows and i < len(lines):
        if lines[i].strip():
            rows.append(lines[i])
            linenos.append(i + 1)
        i += 1
    src.pos = i
    if len(rows) < nrows:
        raise src.error(
            len(lines),
            f"file ends (line {len(lines)}) after {len(rows)} of the {nrows} rows of {what}; the file is "
            f"truncated, or nrpts/num_wann in the header are too large.",
        )
    linenos = np.array(linenos)
    tokens = " ".join(rows).replace("D", "E").split()
    arr = None
    if len(tokens) == nrows * nfields:
        try:
            arr = np.array(tokens, float).reshape(nrows, nfields)
        except ValueError:
            arr = None
    if arr is None or not np.all(np.isfinite(arr)):
        for text, ln in zip(rows, linenos):
            fields = text.split()
            if len(fields) != nfields:
                raise src.error(
                    int(ln), f"expected {nfields} fields in {what}, found {len(fields)}: {text.strip()!r}."
                )
            if _to_floats(fields) is None:
                raise src.error(int(ln), f"non-numeric or non-finite field in {what}: {text.strip()!r}.")
    return arr, linenos


def _fill_blocks(
    src: _Lines, data: np.ndarray, linenos: np.ndarray, R: np.ndarray, num_wann: int, what: str
) -> tuple[np.ndarray, np.ndarray]:
    """Place rows (m, n, values...) of nrpts blocks of num_wann² rows into [nrpts, N, N, nv] by index."""
    N = num_wann
    nblocks = len(R)
    mn = data[:, :2]
    if not np.all(mn == np.round(mn)):
        bad = np.argwhere(np.any(mn != np.round(mn), axis=1))[0, 0]
        raise src.error(int(linenos[bad]), f"orbital indices of {what} must be integers.")
    mn = mn.astype(int)
    out_of_range = np.any((mn < 1) | (mn > N), axis=1)
    if out_of_range.any():
        bad = np.argmax(out_of_range)
        raise src.error(
            int(linenos[bad]),
            f"orbital index {tuple(int(x) for x in mn[bad])} outside 1..num_wann = {N} in {what}; num_wann in the header "
            f"does not match the data.",
        )
    block = np.repeat(np.arange(nblocks), N * N)
    flat = (block * N + mn[:, 0] - 1) * N + mn[:, 1] - 1
    counts = np.bincount(flat, minlength=nblocks * N * N)
    if np.any(counts != 1):
        dup = np.argmax(counts[flat] != 1)
        raise src.error(
            int(linenos[dup]),
            f"orbital pair {tuple(int(x) for x in mn[dup])} appears twice in the block of R = {tuple(int(x) for x in R[block[dup]])} "
            f"({what}); each R block must list all num_wann² = {N * N} pairs once (is num_wann in the header wrong?).",
        )
    nv = data.shape[1] - 2
    vals = np.zeros((nblocks * N * N, nv))
    vals[flat] = data[:, 2:]
    where = np.zeros(nblocks * N * N, int)
    where[flat] = linenos
    return vals.reshape(nblocks, N, N, nv), where.reshape(nblocks, N, N)


# ---------------------------------------------------------------------------------------------
# file readers


@dataclass
class WannierHoppings:
    """Raw content of an `_hr.dat` / `_tb.dat`: H_ij(R) as written (not yet divided by ndegen).

    R : [nR, 3] integer lattice vectors; H : [nR, N, N] complex, H[r, i, j] = <i 0|H|j R>;
    ndegen : [nR] Wigner–Seitz degeneracies; lines : [nR, N, N] line number of each entry;
    lattice : [3, 3] rows in Å (from `_tb.dat`) or None; positions : [nR, N, N, 3] complex
    position matrix <i 0|r|j R> in Å (from `_tb.dat`) or None.
    """

    path: Path
    header: str
    R: np.ndarray
    H: np.ndarray
    ndegen: np.ndarray
    lines: np.ndarray
    lattice: np.ndarray | None = None
    positions: np.ndarray | None = None

    @property
    def num_wann(self) -> int:
        return self.H.shape[1]

    def centres(self) -> np.ndarray | None:
        """Wannier centres τ_i = Re <i 0|r|i 0> in Å (diagonal of the position matrix at R = 0)."""
        if self.positions is None:
            return None
        r0 = _origin_index(self.R, self.path)
        return self.positions[r0].diagonal(axis1=0, axis2=1).T.real / self.ndegen[r0]


def _origin_index(R: np.ndarray, path) -> int:
    hits = np.flatnonzero(np.all(R == 0, axis=1))
    if len(hits) != 1:
        raise QgeomInputError(f"{path}: the list of lattice vectors must contain R = (0, 0, 0) exactly once.")
    return int(hits[0])


def read_hr(path: str | Path) -> WannierHoppings:
    """Read `seedname_hr.dat` (header, num_wann, nrpts, degeneracies, rows `R1 R2 R3 m n Re Im`)."""
    src = _Lines(path)
    _, header = src.next("the header line", skip_blank=False)
    N = _read_count(src, "num_wann")
    nrpts = _read_count(src, "nrpts")
    ndegen, _ = _read_degeneracies(src, nrpts)
    data, linenos = _parse_table(src, nrpts * N * N, 7, "the hoppings (R1 R2 R3 m n Re Im)")
    Rrows = data[:, :3]
    if not np.all(Rrows == np.round(Rrows)):
        bad = np.argmax(np.any(Rrows != np.round(Rrows), axis=1))
        raise src.error(int(linenos[bad]), "lattice-vector components must be integers.")
    Rrows = Rrows.astype(int).reshape(nrpts, N * N, 3)
    change = np.any(Rrows != Rrows[:, :1], axis=2)
    if change.any():
        b, i = np.argwhere(change)[0]
        raise src.error(
            int(linenos[b * N * N + i]),
            f"R changes inside a block of num_wann² = {N * N} rows (block of R = {tuple(int(x) for x in Rrows[b, 0])}); "
            f"num_wann = {N} in the header does not match the data.",
        )
    R = Rrows[:, 0]
    vals, where = _fill_blocks(src, data[:, 3:], linenos, R, N, "the hoppings")
    _check_unique_R(src, R, linenos[:: N * N])
    extra = src.rest_nonblank()
    if extra:
        raise src.error(
            extra,
            f"unexpected data after nrpts × num_wann² = {nrpts * N * N} hopping rows; nrpts or num_wann in "
            f"the header is too small.",
        )
    return WannierHoppings(src.path, header.strip(), R, vals[..., 0] + 1j * vals[..., 1], ndegen, where)


def _check_unique_R(src: _Lines, R: np.ndarray, linenos) -> None:
    _, first, counts = np.unique(R, axis=0, return_index=True, return_counts=True)
    if np.any(counts > 1):
        seen: set = set()
        for r, ln in zip(map(tuple, R), linenos):
            if r in seen:
                raise src.error(int(ln), f"lattice vector R = {tuple(int(x) for x in r)} appears twice (is nrpts or num_wann in the header wrong?).")
            seen.add(r)


def read_tb(path: str | Path) -> WannierHoppings:
    """Read `seedname_tb.dat`: header, lattice (Å, rows), num_wann, nrpts, degeneracies, then per R a
    block `R` + num_wann² rows `m n Re Im`, then per R a block `R` + rows `m n x_re x_im y_re y_im z_re z_im`."""
    src = _Lines(path)
    _, header = src.next("the header line", skip_blank=False)
    lattice = np.array([src.floats(f"lattice vector a{i + 1} (Å)", 3)[1] for i in range(3)])
    if abs(np.linalg.det(lattice)) < 1e-8:
        raise src.error(2, "the lattice vectors are linearly dependent.")
    N = _read_count(src, "num_wann")
    nrpts = _read_count(src, "nrpts")
    ndegen, _ = _read_degeneracies(src, nrpts)

    def section(nfields: int, what: str):
        Rs, blocks, lines = [], [], []
        for b in range(nrpts):
            lineno, Rb = src.ints(f"lattice vector {b + 1} of {nrpts} of {what}", 3)
            try:
                data, ln = _parse_table(src, N * N, nfields, what)
            except QgeomInputError as exc:
                raise QgeomInputError(f"{exc} (block of R = {tuple(Rb)} starting at line {lineno})") from None
            Rs.append(Rb)
            blocks.append(data)
            lines.append(ln)
        R = np.array(Rs, int)
        vals, where = _fill_blocks(src, np.concatenate(blocks), np.concatenate(lines), R, N, what)
        _check_unique_R(src, R, [ln[0] for ln in lines])
        return R, vals, where

    R, hv, where = section(4, "the hoppings (m n Re Im)")
    Rp, pv, _ = section(8, "the position matrix (m n x_re x_im y_re y_im z_re z_im)")
    extra = src.rest_nonblank()
    if extra:
        raise src.error(extra, "unexpected data after the position-matrix section; nrpts or num_wann in the header is too small.")
    order = {tuple(r): i for i, r in enumerate(Rp)}
    if set(order) != set(map(tuple, R)):
        raise src.error(None, "the position-matrix section lists different lattice vectors than the hoppings.")
    perm = [order[tuple(r)] for r in R]
    pos = pv[perm][..., 0::2] + 1j * pv[perm][..., 1::2]
    return WannierHoppings(src.path, header.strip(), R, hv[..., 0] + 1j * hv[..., 1], ndegen, where,
                           lattice=lattice, positions=pos)


def read_wsvec(path: str | Path) -> dict[tuple[int, int, int, int, int], np.ndarray]:
    """Read `seedname_wsvec.dat` (MDRS): {(R1, R2, R3, i, j) 1-based: T shifts [ndeg, 3]}; the hopping
    H_ij(R) is spread equally over the images R + T."""
    src = _Lines(path)
    _, header = src.next("the header line", skip_blank=False)
    out: dict[tuple[int, int, int, int, int], np.ndarray] = {}
    while src.rest_nonblank():
        lineno, key = src.ints("an 'R1 R2 R3 i j' line", 5)
        _, (ndeg,) = src.ints("the number of images", 1)
        if ndeg <= 0:
            raise src.error(lineno + 1, f"number of images must be positive, got {ndeg}.")
        shifts = np.array([src.ints("an image shift T1 T2 T3", 3)[1] for _ in range(ndeg)], int)
        out[tuple(key)] = shifts
    if "use_ws_distance=.false." in header.replace(" ", "").lower():
        return {}
    return out


@dataclass
class WinFile:
    """What qgeom uses from `seedname.win`: the lattice (Å, rows), atoms, and scalar keywords
    (lower-case names; values as strings), e.g. `fermi_energy`, `scissors_shift`, `num_valence_bands`."""

    path: Path
    lattice: np.ndarray | None
    keywords: dict[str, str]
    atoms: list[tuple[str, np.ndarray]] = field(default_factory=list)

    def number(self, key: str) -> float | None:
        if key not in self.keywords:
            return None
        raw = self.keywords[key].split()[0].replace("d", "e").replace("D", "E")
        try:
            return float(raw)
        except ValueError:
            raise QgeomInputError(f"{self.path}: keyword {key} = {self.keywords[key]!r} is not a number.") from None


def read_win(path: str | Path) -> WinFile:
    """Parse the lattice (`unit_cell_cart`, bohr or Å), atoms and `key = value` keywords of a .win file."""
    src = _Lines(path)
    keywords: dict[str, str] = {}
    blocks: dict[str, list[tuple[int, str]]] = {}
    current = None
    for lineno, raw in enumerate(src.lines, start=1):
        text = re.split(r"[!#]", raw, maxsplit=1)[0].strip()
        if not text:
            continue
        low = text.lower()
        m = re.match(r"begin\s+(\w+)", low)
        if m:
            current = m.group(1)
            blocks[current] = []
            continue
        if re.match(r"end\s+(\w+)", low):
            current = None
            continue
        if current is not None:
            blocks[current].append((lineno, text))
            continue
        kv = re.split(r"\s*[=:]\s*|\s+", text, maxsplit=1)
        if len(kv) == 2:
            keywords[kv[0].lower()] = kv[1].strip()
    lattice = None
    if "unit_cell_cart" in blocks:
        rows = blocks["unit_cell_cart"]
        scale = 1.0
        if rows and rows[0][1].lower() in ("bohr", "ang", "angstrom"):
            scale = BOHR_ANGSTROM if rows[0][1].lower() == "bohr" else 1.0
            rows = rows[1:]
        if len(rows) != 3:
            raise src.error(rows[0][0] if rows else None, "unit_cell_cart must hold three lattice vectors.")
        vecs = []
        for lineno, text in rows:
            vals = _to_floats(text.split()[:3])
            if vals is None or len(text.split()) < 3:
                raise src.error(lineno, f"expected three numbers in unit_cell_cart, found {text!r}.")
            vecs.append(vals)
        lattice = np.array(vecs) * scale
    atoms = []
    frac = "atoms_frac" in blocks
    for lineno, text in blocks.get("atoms_frac", blocks.get("atoms_cart", [])):
        parts = text.split()
        if parts[0].lower() in ("bohr", "ang", "angstrom"):
            continue
        vals = _to_floats(parts[1:4])
        if vals is None or len(parts) < 4:
            raise src.error(lineno, f"expected 'Symbol x y z', found {text!r}.")
        xyz = np.array(vals)
        atoms.append((parts[0], xyz @ lattice if (frac and lattice is not None) else xyz))
    return WinFile(src.path, lattice, keywords, atoms)


def read_centres(path: str | Path, num_wann: int | None = None) -> np.ndarray:
    """Wannier centres (Å) from `seedname_centres.xyz` (lines `X x y z`, before the atoms)."""
    src = _Lines(path)
    src.next("the atom count")
    src.next("the comment line", skip_blank=False)
    out = []
    while src.pos < len(src.lines):
        lineno, text = src.next("a centre")
        parts = text.split()
        if parts[0] != "X":
            break
        vals = _to_floats(parts[1:4])
        if vals is None or len(parts) < 4:
            raise src.error(lineno, f"expected 'X x y z', found {text.strip()!r}.")
        out.append(vals)
        if not src.rest_nonblank():
            break
    arr = np.array(out, float).reshape(-1, 3)
    if num_wann is not None and len(arr) != num_wann:
        raise src.error(None, f"found {len(arr)} Wannier centres, the Hamiltonian has num_wann = {num_wann}.")
    return arr


# ---------------------------------------------------------------------------------------------
# models


class OrbitalPositionModel(Model):
    """Convention II: H^II_ij(k) = e^{−ik·τ_i} H^I_ij(k) e^{ik·τ_j} = Σ_R t_R,ij e^{ik·(R+τ_j−τ_i)}.

    Wraps a (convention-I) TightBindingModel; derivatives follow elementwise from
    ∂_a → ∂_a + iΔ_a with Δ_ij = τ_j − τ_i, so they stay exact to every order.
    Band energies equal those of `base`; eigenvectors differ by the phases e^{ik·τ_i}.
    Operators are taken in the orbital basis unchanged (exact for operators that couple only
    orbitals with the same centre, e.g. spin on spinor Wannier functions of one site).

    positions : [N, d] Cartesian orbital positions τ_i in the model's length unit.
    """

    convention = "II"

    def __init__(self, base: TightBindingModel, positions, *, name: str | None = None,
                 parameters: Mapping[str, Any] | None = None):
        if not isinstance(base, TightBindingModel):
            raise QgeomInputError(f"OrbitalPositionModel wraps a TightBindingModel, got {type(base).__name__}.")
        tau = as_finite_array(positions, "orbital positions")
        if tau.shape != (base.nbands, base.dim):
            raise QgeomInputError(
                f"orbital positions must have shape ({base.nbands}, {base.dim}) (Cartesian, one row per orbital), got {tau.shape}."
            )
        self.base = base
        self.positions = tau
        self.dim, self.nbands, self.lattice = base.dim, base.nbands, base.lattice
        self.name = name or base.name
        self.parameters = {**base.parameters, **(parameters or {}), "convention": "II"}
        self.energy_unit, self.length_unit = base.energy_unit, base.length_unit
        self.operators = base.operators
        self._iDelta = 1j * (tau[None, :, :] - tau[:, None, :]).transpose(2, 0, 1)  # [d, N, N], τ_j − τ_i

    @property
    def R(self) -> np.ndarray:
        return self.base.R

    @property
    def t(self) -> np.ndarray:
        return self.base.t

    def _hamiltonian(self, k: np.ndarray, order: int) -> np.ndarray:
        ph = np.exp(1j * (k @ self.positions.T))  # [nk, N] = e^{ik·τ_j}
        phase = ph.conj()[:, :, None] * ph[:, None, :]
        derivs = [self.base._hamiltonian(k, m) for m in range(order + 1)]
        if order == 0:
            return phase * derivs[0]
        nk, d, N = len(k), self.dim, self.nbands
        out = np.empty((nk,) + (d,) * order + (N, N), complex)
        for idx in itertools.product(range(d), repeat=order):
            acc = np.zeros((nk, N, N), complex)
            for mask in itertools.product((False, True), repeat=order):  # True: ∂ acts on H^I
                der = tuple(a for a, m in zip(idx, mask) if m)
                fac = np.ones((N, N), complex)
                for a, m in zip(idx, mask):
                    if not m:
                        fac = fac * self._iDelta[a]
                acc += fac * derivs[len(der)][(slice(None),) + der]
            out[(slice(None),) + idx] = acc * phase
        return out

    def describe(self) -> dict[str, Any]:
        desc = super().describe()
        desc["n_hoppings"] = int(len(self.base.R))
        desc["convention"] = "II: H_ij(k) = sum_R t_ij(R) exp(i k.(R + tau_j - tau_i))"
        desc["positions"] = self.positions.tolist()
        return desc


def with_convention(model: Model, convention: str, positions=None) -> Model:
    """Return `model` in convention "I" (e^{ik·R}) or "II" (e^{ik·(R+τ_j−τ_i)}, needs positions)."""
    convention = _check_convention(convention)
    base = model.base if isinstance(model, OrbitalPositionModel) else model
    if convention == "I":
        return base
    if positions is None:
        if isinstance(model, OrbitalPositionModel):
            return model
        raise QgeomInputError("convention II needs the orbital positions: pass positions=[[x, y, z], ...] (Cartesian).")
    return OrbitalPositionModel(base, positions)


def _check_convention(convention: str) -> str:
    c = str(convention).upper()
    if c not in CONVENTIONS:
        raise QgeomInputError(
            f"convention must be 'I' (phases e^(ik.R), Wannier90 default) or 'II' (e^(ik.(R+tau_j-tau_i)), "
            f"tight-binding convention), got {convention!r}."
        )
    return c


# ---------------------------------------------------------------------------------------------
# from_wannier90


def _resolve(path: str | Path) -> tuple[str, Path | None, Path | None, Path]:
    """(kind 'tb'|'hr', tb path, hr path, seed prefix path) from a file or a seedname."""
    p = Path(path)
    name = p.name
    if p.is_file() and name.endswith("_tb.dat"):
        return "tb", p, None, p.with_name(name[: -len("_tb.dat")])
    if p.is_file() and name.endswith("_hr.dat"):
        return "hr", None, p, p.with_name(name[: -len("_hr.dat")])
    if p.is_file() and name.endswith(".win"):
        p = p.with_name(name[:-4])
    if p.is_dir():
        wins = sorted(p.glob("*.win")) + sorted(p.glob("*_tb.dat")) + sorted(p.glob("*_hr.dat"))
        if not wins:
            raise QgeomInputError(f"directory {str(p)!r} holds no seedname.win, seedname_tb.dat or seedname_hr.dat.")
        n = wins[0].name
        seed = n[:-4] if n.endswith(".win") else n[:-7]
        p = p / seed
    tb = p.with_name(p.name + "_tb.dat")
    hr = p.with_name(p.name + "_hr.dat")
    if tb.is_file():
        return "tb", tb, None, p
    if hr.is_file():
        return "hr", None, hr, p
    raise QgeomInputError(
        f"no Wannier90 model at {str(path)!r}: expected a file SEED_tb.dat or SEED_hr.dat (or the seedname "
        f"SEED / its .win next to them)."
    )


def _hermitian_hoppings(R: np.ndarray, t: np.ndarray, lines: np.ndarray | None, path, tol: float) -> np.ndarray:
    """Check t_{−R} = t_R† to `tol` (eV; the file's print precision) and return the symmetrized hoppings."""
    index = {tuple(r): i for i, r in enumerate(R)}
    out = t.copy()
    for i, r in enumerate(R):
        j = index.get(tuple(-r))
        if j is None:
            if np.abs(t[i]).max() > tol:
                raise QgeomInputError(
                    f"{path}: R = {tuple(int(x) for x in r)} has no partner −R: the Hamiltonian is not Hermitian."
                )
            out[i] = 0.0
            continue
        dev = np.abs(t[j] - t[i].conj().T)
        if dev.max() > tol:
            a, b = np.unravel_index(np.argmax(dev), dev.shape)  # compares t_{-R}[a, b] with conj t_R[b, a]
            where = ""
            if lines is not None:
                where = f" (line {int(lines[i, b, a])} vs line {int(lines[j, a, b])})"
            Rt, mRt = tuple(int(x) for x in r), tuple(int(x) for x in -r)
            raise QgeomInputError(
                f"{path}{where}: the Hamiltonian is not Hermitian: H_{b + 1},{a + 1}(R={Rt}) = {t[i, b, a]:.6g} "
                f"but conj(H_{a + 1},{b + 1}(R={mRt})) = {np.conj(t[j, a, b]):.6g} "
                f"(deviation {dev.max():.3g} eV > hermiticity_tol = {tol:g})."
            )
        out[i] = 0.5 * (t[i] + t[j].conj().T)
    return out


def _apply_wsvec(R, t, wsvec, path) -> tuple[np.ndarray, np.ndarray]:
    """Spread each t_ij(R) over its MDRS images R + T_ij(R) with weight 1/ndeg_ij(R)."""
    N = t.shape[1]
    acc: dict[tuple[int, int, int], np.ndarray] = {}
    for r, tr in zip(map(tuple, R), t):
        for i in range(N):
            for j in range(N):
                shifts = wsvec.get((*r, i + 1, j + 1))
                if shifts is None:
                    raise QgeomInputError(
                        f"{path}: no entry for R = {r}, i = {i + 1}, j = {j + 1}; the _wsvec.dat does not match the Hamiltonian."
                    )
                w = tr[i, j] / len(shifts)
                for T in shifts:
                    key = (r[0] + T[0], r[1] + T[1], r[2] + T[2])
                    if key not in acc:
                        acc[key] = np.zeros((N, N), complex)
                    acc[key][i, j] += w
    keys = sorted(acc)
    return np.array(keys, int), np.array([acc[k] for k in keys])


def mdrs_hoppings(R, t, lattice, centres, mp_grid, *, tol: float = 1e-5, search: int = 2):
    """Minimal-distance replica selection (Wannier90's `use_ws_distance`): each t_ij(R) is moved to
    the supercell image R + T (T ∈ mp_grid·Z³) that minimizes |R + T + τ_j − τ_i|, split equally
    over images equidistant within `tol` (Å). Returns (R, t) on the expanded lattice-vector list."""
    mp = np.asarray(mp_grid, int)
    N = t.shape[1]
    n = np.array(list(itertools.product(range(-search, search + 1), repeat=3)), int) * mp  # [nT, 3]
    d = (R @ lattice)[:, None, None, :] + centres[None, None, :, :] - centres[None, :, None, :]
    dist = np.linalg.norm(d[..., None, :] + (n @ lattice)[None, None, None], axis=-1)  # [nR, N, N, nT]
    best = dist <= dist.min(axis=-1, keepdims=True) + tol
    ndeg = best.sum(-1)
    r_i, i_i, j_i, s_i = np.nonzero(best)
    newR = R[r_i] + n[s_i]
    vals = t[r_i, i_i, j_i] / ndeg[r_i, i_i, j_i]
    uniq, inv = np.unique(newR, axis=0, return_inverse=True)
    out = np.zeros((len(uniq), N, N), complex)
    np.add.at(out, (inv.ravel(), i_i, j_i), vals)
    return uniq, out


def from_wannier90(
    path: str | Path,
    *,
    lattice=None,
    convention: str = "auto",
    positions=None,
    win: str | Path | None = None,
    use_wsvec: bool = True,
    mdrs: bool | None = None,
    mp_grid=None,
    ws_distance_tol: float = DEFAULT_WS_DISTANCE_TOL,
    name: str | None = None,
    hermiticity_tol: float = DEFAULT_HERMITICITY_TOL,
) -> Model:
    """A qgeom model from Wannier90 output (energies eV, lengths Å).

    path : `SEED_tb.dat`, `SEED_hr.dat`, `SEED.win`, the seedname `SEED`, or a directory holding them
        (`_tb.dat` is preferred over `_hr.dat`).
    lattice : [3, 3] lattice vectors (rows, Å); default from `_tb.dat`, else from `SEED.win`.
    convention : "I" (e^{ik·R}, Wannier90 default), "II" (e^{ik·(R+τ_j−τ_i)}) or "auto" (II when
        positions are known: `positions=`, `_tb.dat` centres, or `SEED_centres.xyz`).
    positions : [N, 3] Cartesian orbital positions (Å), overriding the file's centres.
    use_wsvec : apply `SEED_wsvec.dat` (MDRS) when it exists next to an `_hr.dat`.
    mdrs : recompute the minimal-distance replica selection (Wannier90 `use_ws_distance`) from the
        centres and `mp_grid` when no `_wsvec.dat` is used. None (auto): yes when centres and
        mp_grid are known (mp_grid from `.win`) and the .win does not set use_ws_distance = false.
    ws_distance_tol : tie tolerance of the replica selection (Å); 1e-3 by default because file
        centres carry only ~1e-5 Å of symmetric precision (Wannier90's own default is 1e-5).
    hermiticity_tol : largest allowed |H_ij(R) − conj H_ji(−R)| in eV before the file is rejected.

    The `.win` keywords fermi_energy, scissors_shift and num_valence_bands, when present, are kept
    in `model.parameters` (the scissors shift is *not* applied to H: it is an optics option).
    """
    kind, tb_path, hr_path, seed = _resolve(path)
    data = read_tb(tb_path) if kind == "tb" else read_hr(hr_path)
    win_path = Path(win) if win is not None else seed.with_name(seed.name + ".win")
    win_data = read_win(win_path) if win_path.is_file() else None
    if win is not None and win_data is None:
        raise QgeomInputError(f"win file {str(win)!r} does not exist.")

    if lattice is not None:
        lat = as_finite_array(lattice, "lattice")
        if lat.shape != (3, 3):
            raise QgeomInputError(f"lattice must be [3, 3] (rows = lattice vectors in Å), got {lat.shape}.")
    elif data.lattice is not None:
        lat = data.lattice
    elif win_data is not None and win_data.lattice is not None:
        lat = win_data.lattice
    else:
        raise QgeomInputError(
            f"{data.path}: an _hr.dat holds no lattice: pass lattice=[[...], [...], [...]] (Å, rows) or put "
            f"SEED.win with a unit_cell_cart block next to it."
        )

    tol = float(hermiticity_tol)
    t = data.H / data.ndegen[:, None, None]
    t = _hermitian_hoppings(data.R, t, data.lines, data.path, tol)
    R = data.R
    wsvec_path = seed.with_name(seed.name + "_wsvec.dat")
    used_wsvec = False
    if kind == "hr" and use_wsvec and wsvec_path.is_file():
        ws = read_wsvec(wsvec_path)
        if ws:
            R, t = _apply_wsvec(R, t, ws, wsvec_path)
            t = _hermitian_hoppings(R, t, None, wsvec_path, tol)
            used_wsvec = True

    tau = None
    tau_source = None
    mdrs_done = False
    if positions is not None:
        tau, tau_source = as_finite_array(positions, "positions"), "user"
    elif data.positions is not None:
        tau, tau_source = data.centres(), "tb.dat position matrix (diagonal, R = 0)"
    else:
        xyz = seed.with_name(seed.name + "_centres.xyz")
        if xyz.is_file():
            tau, tau_source = read_centres(xyz, data.num_wann), str(xyz.name)
    if tau is not None and tau.shape != (data.num_wann, 3):
        raise QgeomInputError(f"positions must have shape ({data.num_wann}, 3), got {tau.shape}.")

    if mp_grid is None and win_data is not None and "mp_grid" in win_data.keywords:
        try:
            mp_grid = [int(x) for x in win_data.keywords["mp_grid"].replace(",", " ").split()[:3]]
        except ValueError:
            raise QgeomInputError(f"{win_data.path}: mp_grid = {win_data.keywords['mp_grid']!r} is not three integers.") from None
    ws_off = win_data is not None and win_data.keywords.get("use_ws_distance", "true").strip(".").lower() in ("false", "f")
    if mdrs is None:
        mdrs = (not used_wsvec) and tau is not None and mp_grid is not None and not ws_off
    if mdrs:
        if used_wsvec:
            raise QgeomInputError("mdrs=True together with a _wsvec.dat: pass use_wsvec=False to recompute the replicas.")
        if tau is None or mp_grid is None:
            raise QgeomInputError("mdrs=True needs the Wannier centres (positions) and mp_grid (from the .win or mp_grid=...).")
        R, t = mdrs_hoppings(R, t, lat, tau, mp_grid, tol=float(ws_distance_tol))
        t = _hermitian_hoppings(R, t, None, "the replica-selected hoppings", tol)
        mdrs_done = True

    conv = ("II" if tau is not None else "I") if str(convention).lower() == "auto" else _check_convention(convention)
    if conv == "II" and tau is None:
        raise QgeomInputError(
            f"convention II needs orbital positions: {data.path.name} has none; pass positions=... (Å), use a "
            f"_tb.dat, or put SEED_centres.xyz next to it."
        )

    params: dict[str, Any] = {"source": str(data.path.name), "convention": "I", "num_wann": data.num_wann,
                              "nrpts": int(len(data.R)), "wsvec": used_wsvec, "mdrs": mdrs_done}
    if mdrs_done:
        params["mp_grid"] = [int(x) for x in mp_grid]
        params["ws_distance_tol"] = float(ws_distance_tol)
    if tau_source and conv == "II":
        params["positions_from"] = tau_source
    if win_data is not None:
        for key in ("fermi_energy", "scissors_shift", "num_valence_bands"):
            val = win_data.number(key)
            if val is not None:
                params[key] = int(val) if key == "num_valence_bands" else val
    base = TightBindingModel(R, t, lattice=lat, name=name or seed.name, parameters=params,
                             energy_unit="eV", length_unit="Å")
    if conv == "II":
        return OrbitalPositionModel(base, tau)
    return base


# ---------------------------------------------------------------------------------------------
# writers


def to_wannier90_hr(model: Model, path: str | Path, *, header: str | None = None) -> Path:
    """Write the hoppings of a tight-binding model as `SEED_hr.dat` (all degeneracies 1, full
    precision). For a convention-II model the hoppings t_ij(R) are written (phase convention is not
    part of the file) and the orbital positions go to `SEED_centres.xyz` next to it, which
    `from_wannier90` picks up again."""
    base = model.base if isinstance(model, OrbitalPositionModel) else model
    if not isinstance(base, TightBindingModel):
        raise QgeomInputError(f"to_wannier90_hr needs a tight-binding model, got {type(model).__name__}.")
    if base.dim != 3:
        R = np.zeros((len(base.R), 3), int)
        R[:, : base.dim] = base.R
    else:
        R = base.R
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    N, nR = base.nbands, len(R)
    stamp = datetime.now(timezone.utc).strftime("%d%b%Y at %H:%M:%S")
    lines = [header or f"written by qgeom on {stamp} (model {base.name})", f"{N:12d}", f"{nR:12d}"]
    for s in range(0, nR, 15):
        lines.append("".join(f"{1:5d}" for _ in range(min(15, nR - s))))
    n_idx, m_idx = np.meshgrid(np.arange(N), np.arange(N), indexing="ij")  # m fastest
    m_flat, n_flat = m_idx.ravel(), n_idx.ravel()
    for r, tr in zip(R, base.t):
        vals = tr[m_flat, n_flat]
        lines.extend(
            f"{r[0]:5d}{r[1]:5d}{r[2]:5d}{m + 1:5d}{n + 1:5d} {v.real:24.16e} {v.imag:24.16e}"
            for m, n, v in zip(m_flat, n_flat, vals)
        )
    path.write_text("\n".join(lines) + "\n")
    if isinstance(model, OrbitalPositionModel):
        stem = path.name[: -len("_hr.dat")] if path.name.endswith("_hr.dat") else path.stem
        pos = np.zeros((N, 3))
        pos[:, : base.dim] = model.positions
        xyz = [f"{N:6d}", "Wannier centres written by qgeom (Å)"]
        xyz += [f"X {p[0]:22.15f} {p[1]:22.15f} {p[2]:22.15f}" for p in pos]
        path.with_name(stem + "_centres.xyz").write_text("\n".join(xyz) + "\n")
    return path
