"""Readers of the Wannier90 hopping files: `seedname_hr.dat`, `_tb.dat`, `_wsvec.dat` (the `.win` and
`_centres.xyz` readers are in `wannier90_win`).

Every reader reports errors with the file name and line number. The model construction from these
files (ndegen, MDRS, conventions I/II) lives in `qgeom.models.wannier90`, which re-exports these names.
Units as written by Wannier90: energies in eV, lengths in Å.
"""

from __future__ import annotations

import bz2
import gzip
import lzma
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .._validation import QgeomInputError

# Wannier90's internal bohr → Å factor (CODATA 2006, `bohr` in w90 constants.F90). Deliberately not
# scipy's current CODATA value: Wannier90 converts a `unit_cell_cart bohr` block with this number when it
# writes `_tb.dat`, so using it reproduces the _tb.dat lattice from the .win to all printed digits.
WANNIER90_BOHR_ANGSTROM = 0.52917720859  # Å per bohr, Wannier90 internal (CODATA 2006)

# ---------------------------------------------------------------------------------------------
# line-numbered reading

# Largest |value| a Wannier90 file can plausibly hold: hoppings (eV) and position-matrix elements (Å); beyond them
# (a corrupted exponent, 1e300) a finite number would overflow the k-sums into NaN long after reading
MAX_HOPPING_EV = 1e6
MAX_POSITION_A = 1e6


# compressed copies are read transparently (a 17 MB _hr.dat ships as a 1.4 MB .xz)
_COMPRESSED = {".gz": gzip.open, ".xz": lzma.open, ".bz2": bz2.open}


def compressed_variant(path: Path) -> Path | None:
    """`path` itself if it exists, else its first existing compressed copy (path.gz/.xz/.bz2), else None."""
    if path.is_file():
        return path
    for ext in _COMPRESSED:
        alt = path.with_name(path.name + ext)
        if alt.is_file():
            return alt
    return None


class _Lines:
    """A text file as numbered lines, with errors that name file and line."""

    def __init__(self, path: str | Path):
        self.path = Path(path)
        if not self.path.is_file():
            raise QgeomInputError(f"Wannier90 file {str(self.path)!r} does not exist.")
        opener = _COMPRESSED.get(self.path.suffix.lower())
        try:
            if opener is None:
                self.lines = self.path.read_text().splitlines()
            else:
                with opener(self.path, "rt") as fh:
                    self.lines = fh.read().splitlines()
        except (UnicodeDecodeError, OSError, EOFError, lzma.LZMAError) as exc:
            raise QgeomInputError(f"{self.path}: not a readable text file ({exc}).") from None
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

    def first_blank(self, start: int, stop: int) -> int | None:
        """Line number of the first blank line among lines start..stop-1 (line numbers), if any."""
        for i in range(max(start, 1) - 1, min(stop - 1, len(self.lines))):
            if not self.lines[i].strip():
                return i + 1
        return None

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


def checked_lattice(src: _Lines, lineno: int | None, lattice: np.ndarray) -> np.ndarray:
    """`lattice` (rows), refused at `lineno` when its vectors are linearly dependent (zero cell volume: two equal
    vectors, a zero row): every reader of a lattice (_tb.dat, .win, .wout, wt.in, POSCAR) checks it here, before a
    singular reciprocal lattice fails far from the file."""
    if abs(np.linalg.det(lattice)) < 1e-8:
        rows = "; ".join(" ".join(f"{x:g}" for x in row) for row in np.asarray(lattice, float))
        raise src.error(lineno, f"the three lattice vectors ({rows} Å) are linearly dependent (zero cell volume): "
                                "each must be one of the cell's three independent lattice vectors.")
    return lattice


def _read_count(src: _Lines, what: str) -> int:
    lineno, (n,) = src.ints(what, 1)
    if n <= 0:
        raise src.error(lineno, f"{what} must be a positive integer, got {n}.")
    return n


def _read_degeneracies(src: _Lines, nrpts: int) -> tuple[np.ndarray, int]:
    vals: list[int] = []
    first, start = None, src.pos + 1  # the first degeneracy line read, and where they should start
    while len(vals) < nrpts:
        lineno, text = src.next(f"the {nrpts} Wigner-Seitz degeneracies")
        first = first or lineno
        try:
            vals += [int(x) for x in text.split()]
        except ValueError:
            # typically the first hopping row, reached early: nrpts too large or a degeneracy line missing
            blank = src.first_blank(start, lineno)
            where = ([f"lines {start}-{lineno - 1}"] if vals else []) + ([f"line {blank} is blank"] if blank else [])
            read = (f"after {len(vals)} of them" if vals else "before any") + (f" ({'; '.join(where)})" if where else "")
            raise src.error(
                lineno, f"expected integer degeneracies, found {text.strip()!r} {read}; the header gives nrpts = "
                        f"{nrpts}: is nrpts wrong, or a line of degeneracies (15 per line) missing?") from None
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
    start = src.pos + 1
    src.pos = i
    if len(rows) < nrows:
        # a blank line inside the table (not after its last row) is where a row went missing, more likely
        # than a truncated file
        blank = src.first_blank(start, linenos[-1]) if linenos else None
        if blank:
            raise src.error(
                blank, f"blank line inside {what}: the file ends (line {len(lines)}) after {len(rows)} of its "
                       f"{nrows} rows (from nrpts and num_wann in the header), so a row is missing at this line, "
                       "or nrpts/num_wann in the header are too large.")
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
    src: _Lines, data: np.ndarray, linenos: np.ndarray, R: np.ndarray, num_wann: int, what: str, *,
    bound: float = MAX_HOPPING_EV, unit: str = "eV",
) -> tuple[np.ndarray, np.ndarray]:
    """Place rows (m, n, values...) of nrpts blocks of num_wann² rows into [nrpts, N, N, nv] by index; values
    beyond `bound` (`unit`) are refused."""
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
    size = np.abs(data[:, 2:]).max(axis=1)
    if np.any(size > bound):  # finite but absurd (a corrupted digit, 1e300): refused before it overflows a k-sum
        bad = np.argmax(size > bound)
        raise src.error(int(linenos[bad]), f"implausible value {size[bad]:.3g} {unit} in {what} (|value| > {bound:g} "
                                           f"{unit}): the file is corrupted, or not a Wannier90 file in eV and Å.")
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
    ndegen : [nR] Wigner–Seitz degeneracies; lines : [nR, N, N] line number of each entry, or None for a
    file read in pieces (`line_numbers` finds them when a message needs them);
    lattice : [3, 3] rows in Å (from `_tb.dat`) or None; positions : [nR, N, N, 3] complex
    position matrix <i 0|r|j R> in Å (from `_tb.dat`) or None; centre_diagonal : Re <i 0|r|i 0> [N, 3] in Å
    (from `_tb.dat`, as written: not divided by ndegen) where the position matrix itself was not kept.
    """

    path: Path
    header: str
    R: np.ndarray
    H: np.ndarray
    ndegen: np.ndarray
    lines: np.ndarray | None
    lattice: np.ndarray | None = None
    positions: np.ndarray | None = None
    centre_diagonal: np.ndarray | None = None

    @property
    def num_wann(self) -> int:
        return self.H.shape[1]

    def centres(self) -> np.ndarray | None:
        """Wannier centres τ_i = Re <i 0|r|i 0> in Å (diagonal of the position matrix at R = 0)."""
        r0 = _origin_index(self.R, self.path)
        if self.positions is not None:
            return self.positions[r0].diagonal(axis1=0, axis2=1).T.real / self.ndegen[r0]
        return None if self.centre_diagonal is None else self.centre_diagonal / self.ndegen[r0]

    def line_numbers(self) -> np.ndarray:
        """[nR, N, N] the line of each hopping in the file; a file read in pieces is read again line by line
        for them (only an error message needs them)."""
        if self.lines is None:
            again = read_hr_lines(self.path) if self.lattice is None else read_tb_lines(self.path)
            self.lines = again.lines
        return self.lines


def _origin_index(R: np.ndarray, path) -> int:
    hits = np.flatnonzero(np.all(R == 0, axis=1))
    if len(hits) != 1:
        raise QgeomInputError(f"{path}: the list of lattice vectors must contain R = (0, 0, 0) exactly once.")
    return int(hits[0])


def read_hr_lines(path: str | Path) -> WannierHoppings:
    """`seedname_hr.dat` (header, num_wann, nrpts, degeneracies, rows `R1 R2 R3 m n Re Im`) read line by line:
    the reader of irregular files (`wannier90_streaming.read_hr` tries the file in pieces first), whose errors
    name the file and line."""
    src = _Lines(path)
    _, header = src.next("the header line", skip_blank=False)
    N = _read_count(src, "num_wann")
    nrpts = _read_count(src, "nrpts")
    ndegen, _ = _read_degeneracies(src, nrpts)
    data, linenos = _parse_table(src, nrpts * N * N, 7, "the hoppings (R1 R2 R3 m n Re Im)")
    return _hr_from_table(src, header, N, nrpts, ndegen, data, linenos)


def _hr_from_table(src, header: str, N: int, nrpts: int, ndegen, data: np.ndarray, linenos) -> WannierHoppings:
    """Checks and assembly of the hoppings table of `read_hr_lines`."""
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


def read_tb_lines(path: str | Path) -> WannierHoppings:
    """`seedname_tb.dat` read line by line (header, lattice (Å, rows), num_wann, nrpts, degeneracies, then per R a
    block `R` + num_wann² rows `m n Re Im`, then per R a block `R` + rows `m n x_re x_im y_re y_im z_re z_im`): the
    reader of irregular files (`wannier90_streaming.read_tb`), whose errors name the file and line."""
    src = _Lines(path)
    _, header = src.next("the header line", skip_blank=False)
    lattice = checked_lattice(src, 2, np.array([src.floats(f"lattice vector a{i + 1} (Å)", 3)[1] for i in range(3)]))
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
        vals, where = _fill_blocks(src, np.concatenate(blocks), np.concatenate(lines), R, N, what,
                                   **({"bound": MAX_POSITION_A, "unit": "Å"} if nfields == 8 else {}))
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


__all__ = ["WANNIER90_BOHR_ANGSTROM", "WannierHoppings", "checked_lattice", "read_hr_lines", "read_tb_lines",
           "read_wsvec"]
