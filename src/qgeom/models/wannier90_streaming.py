"""Wannier90 hopping files of real size read in pieces: `_hr.dat` and `_tb.dat` in bounded memory.

A 100-orbital model with 2093 lattice vectors is a 1.6 GB `_hr.dat` whose hoppings H [nR, N, N] take 335 MB; its
`_tb.dat` adds a position matrix three times that size. Read as lines and tokens, or as one float table, such a file
takes several times its own size (3.3 GB, 44 s). Here every number after the header line(s) is parsed by numpy's C
parser in pieces of `PIECE_BYTES` and placed straight into H (and the position matrix when it is asked for): the
peak is the arrays returned plus one group of R blocks.

These readers check what the line readers of `wannier90_files` check (integer lattice vectors and orbital indices,
every (m, n) pair once per block, each R once, finite values within bounds, nothing after the table) but do not
say where a problem is: on anything irregular they return None and `read_hr` / `read_tb` read the file again line by
line, which names the file and line. The line numbers of a streamed file's hoppings are found the same way when a
message needs them (`WannierHoppings.line_numbers`).
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np

from .tight_binding import vector_index
from .wannier90_files import (_COMPRESSED, MAX_HOPPING_EV, MAX_POSITION_A, WannierHoppings,
                              read_hr_lines, read_tb_lines)

PIECE_BYTES = 4 << 20  # text parsed at a time
GROUP_NUMBERS = 1 << 19  # numbers placed at a time (whole R blocks; at least one block)


def read_hr(path: str | Path) -> WannierHoppings:
    """Read `seedname_hr.dat` (header, num_wann, nrpts, degeneracies, rows `R1 R2 R3 m n Re Im`): in pieces, at a
    peak of H plus one group of R blocks; an irregular file (which `read_hr_lines` then describes) line by line."""
    return _streamed(path, stream_hr) or read_hr_lines(path)


def read_tb(path: str | Path, *, position_matrix: bool = True) -> WannierHoppings:
    """Read `seedname_tb.dat` (header, lattice, num_wann, nrpts, degeneracies, the hopping blocks, the position
    blocks) in pieces like `read_hr`. `position_matrix=False` keeps only the Wannier centres of its position
    section (what the tight-binding position operator uses; the whole matrix is 3× the hoppings)."""
    data = _streamed(path, lambda p: stream_tb(p, position_matrix=position_matrix)) or read_tb_lines(path)
    if not position_matrix and data.positions is not None:  # read line by line
        r0 = np.flatnonzero(~data.R.any(axis=1))
        if len(r0) == 1:
            data.centre_diagonal = np.diagonal(data.positions[r0[0]].real, axis1=0, axis2=1).T.copy()
            data.positions = None
    return data


def _streamed(path, reader) -> WannierHoppings | None:
    p = Path(path)
    return reader(p) if p.is_file() else None


class _Irregular(Exception):
    """The file needs the line reader (which says what is wrong and where)."""


class _Numbers:
    """The whitespace-separated numbers of a binary text stream from its current position, parsed in pieces."""

    def __init__(self, fh):
        self.fh, self.tail = fh, b""
        self.buf, self.pos = np.empty(0), 0

    def take(self, n: int) -> np.ndarray:
        """The next n numbers (float), or _Irregular where the file ends first."""
        pieces = []
        while n > 0:
            if self.pos == len(self.buf) and not self._refill():
                raise _Irregular("the file ends inside the table")
            m = min(n, len(self.buf) - self.pos)
            pieces.append(self.buf[self.pos:self.pos + m])
            self.pos += m
            n -= m
        return pieces[0] if len(pieces) == 1 else np.concatenate(pieces)

    def integers(self, n: int) -> np.ndarray:
        x = self.take(n)
        if not np.all(x == np.round(x)):
            raise _Irregular("not an integer")
        return x.astype(np.int64)

    def at_end(self) -> bool:
        """Whether nothing but whitespace is left."""
        return self.pos == len(self.buf) and not self._refill()

    def _refill(self) -> bool:
        text = b""
        while True:  # whole numbers only: cut after the piece's last whitespace, keep the rest for the next
            raw = self.fh.read(PIECE_BYTES)
            text = self.tail + raw
            if not raw:
                self.tail = b""
                break
            cut = max(text.rfind(b"\n"), text.rfind(b" ")) + 1
            if cut:
                text, self.tail = text[:cut], text[cut:]
                break
            self.tail = text  # a piece without whitespace: not a table of numbers, but read on to decide
        if not text.strip():
            return False
        with warnings.catch_warnings():  # numpy warns (and stops) at text that is not a number
            warnings.simplefilter("error")
            try:
                vals = np.fromstring(text.replace(b"D", b"E").replace(b"d", b"e"), dtype=float, sep=" ")
            except (DeprecationWarning, ValueError) as exc:
                raise _Irregular(str(exc)) from None
        if not np.all(np.isfinite(vals)):
            raise _Irregular("a value is not finite")
        self.buf, self.pos = vals, 0
        return True


def _open(path: Path):
    opener = _COMPRESSED.get(path.suffix.lower())
    return opener(path, "rb") if opener is not None else open(path, "rb")


def _place(R: np.ndarray, mn: np.ndarray, vals: np.ndarray, N: int, bound: float) -> tuple[np.ndarray, np.ndarray]:
    """Lattice vectors (int [B, 3]) and values [B, N, N, nv] (rows m, columns n) of B blocks of N² rows (m, n, values)."""
    if not (np.all(R == np.round(R)) and np.all(mn == np.round(mn))):
        raise _Irregular("a lattice vector or orbital index is not an integer")
    if np.abs(vals).max(initial=0.0) > bound:
        raise _Irregular("an implausible value")
    B, nv = len(R), vals.shape[-1]
    m, n = mn[..., 0].astype(np.int64) - 1, mn[..., 1].astype(np.int64) - 1
    standard = np.arange(N * N)  # Wannier90's order: m fastest, then n
    if np.array_equal(n * N + m, np.broadcast_to(standard, n.shape)):
        return R.astype(np.int64), vals.reshape(B, N, N, nv).swapaxes(1, 2)
    if m.min() < 0 or n.min() < 0 or m.max() >= N or n.max() >= N:
        raise _Irregular("an orbital index outside 1..num_wann")
    flat = np.arange(B)[:, None] * N * N + m * N + n
    if np.any(np.bincount(flat.ravel(), minlength=B * N * N) != 1):
        raise _Irregular("an orbital pair twice in a block")
    out = np.empty((B * N * N, nv))
    out[flat.ravel()] = vals.reshape(-1, nv)
    return R.astype(np.int64), out.reshape(B, N, N, nv)


def _groups(nrpts: int, per_block: int):
    """(first, count) of groups of whole R blocks of `per_block` numbers each, ~GROUP_NUMBERS a group."""
    size = max(1, GROUP_NUMBERS // per_block)
    for b0 in range(0, nrpts, size):
        yield b0, min(size, nrpts - b0)


def _unique(R: np.ndarray) -> None:
    if len(np.unique(R, axis=0)) != len(R):
        raise _Irregular("a lattice vector twice")


def _counts(nums: _Numbers) -> tuple[int, int, np.ndarray]:
    N, nrpts = (int(x) for x in nums.integers(2))
    if N <= 0 or nrpts <= 0:
        raise _Irregular("num_wann or nrpts not positive")
    ndegen = nums.integers(nrpts)
    if np.any(ndegen <= 0):
        raise _Irregular("a degeneracy not positive")
    return N, nrpts, ndegen


def stream_hr(path: Path) -> WannierHoppings | None:
    """`seedname_hr.dat` read in pieces (`read_hr`), or None when it needs the line reader."""
    try:
        with _open(path) as fh:
            header = fh.readline().decode()
            nums = _Numbers(fh)
            N, nrpts, ndegen = _counts(nums)
            R = np.empty((nrpts, 3), np.int64)
            H = np.empty((nrpts, N, N), complex)
            for b0, B in _groups(nrpts, 7 * N * N):
                rows = nums.take(B * N * N * 7).reshape(B, N * N, 7)
                if np.any(rows[:, :, :3] != rows[:, :1, :3]):
                    raise _Irregular("R changes inside a block")
                R[b0:b0 + B], vals = _place(rows[:, 0, :3], rows[:, :, 3:5], rows[:, :, 5:], N, MAX_HOPPING_EV)
                H.real[b0:b0 + B], H.imag[b0:b0 + B] = vals[..., 0], vals[..., 1]
            _unique(R)
            if not nums.at_end():
                raise _Irregular("data after the table")
    except (_Irregular, OSError, UnicodeDecodeError, EOFError, ValueError):
        return None
    return WannierHoppings(path, header.strip(), R, H, ndegen, None)


def stream_tb(path: Path, *, position_matrix: bool = True) -> WannierHoppings | None:
    """`seedname_tb.dat` read in pieces (`read_tb`), or None when it needs the line reader. Without
    `position_matrix` only the Wannier centres (the diagonal of the R = 0 block) are kept of its position section."""
    try:
        with _open(path) as fh:
            header = fh.readline().decode()
            nums = _Numbers(fh)
            lattice = nums.take(9).reshape(3, 3)
            if abs(np.linalg.det(lattice)) < 1e-8:
                raise _Irregular("singular lattice")
            N, nrpts, ndegen = _counts(nums)
            R = np.empty((nrpts, 3), np.int64)
            H = np.empty((nrpts, N, N), complex)
            for b0, B in _groups(nrpts, 3 + 4 * N * N):
                a = nums.take(B * (3 + 4 * N * N)).reshape(B, -1)
                rows = a[:, 3:].reshape(B, N * N, 4)
                R[b0:b0 + B], vals = _place(a[:, :3], rows[..., :2], rows[..., 2:], N, MAX_HOPPING_EV)
                H.real[b0:b0 + B], H.imag[b0:b0 + B] = vals[..., 0], vals[..., 1]
            _unique(R)
            positions, diagonal = _position_section(nums, R, N, position_matrix)
            if not nums.at_end():
                raise _Irregular("data after the position matrix")
    except (_Irregular, OSError, UnicodeDecodeError, EOFError, ValueError):
        return None
    return WannierHoppings(path, header.strip(), R, H, ndegen, None, lattice=lattice, positions=positions,
                           centre_diagonal=diagonal)


def _position_section(nums: _Numbers, R: np.ndarray, N: int, keep: bool):
    """The position matrix [nR, N, N, 3] in the hoppings' order of R (or None unless `keep`), and Re <i0|r|i0> [N, 3]."""
    positions = np.empty((len(R), N, N, 3), complex) if keep else None
    diagonal, seen = None, np.zeros(len(R), bool)
    for _, B in _groups(len(R), 3 + 8 * N * N):
        a = nums.take(B * (3 + 8 * N * N)).reshape(B, -1)
        rows = a[:, 3:].reshape(B, N * N, 8)
        Rp, vals = _place(a[:, :3], rows[..., :2], rows[..., 2:], N, MAX_POSITION_A)
        where = vector_index(Rp, R)
        if np.any(where < 0) or np.any(seen[where]):
            raise _Irregular("the position matrix lists other lattice vectors than the hoppings")
        seen[where] = True
        if keep:
            positions.real[where], positions.imag[where] = vals[..., 0::2], vals[..., 1::2]
        origin = np.flatnonzero(~Rp.any(axis=1))
        if len(origin):
            diagonal = np.diagonal(vals[origin[0], :, :, 0::2], axis1=0, axis2=1).T.copy()  # Re <i0|r_c|i0>: [N, 3]
    if not seen.all() or diagonal is None:
        raise _Irregular("the position matrix misses a lattice vector")
    return positions, diagonal


def stream_wsvec(path: Path, images) -> bool:
    """Feed the records of `seedname_wsvec.dat` to `images.add(keys, counts, T)` (`replicas.WsvecImages`) in pieces;
    False when the file needs the line reader (then nothing useful was added: start again with fresh `images`).
    A record is a line `R1 R2 R3 i j`, a line `ndeg` and ndeg lines `T1 T2 T3`: the lines' token counts (5, 1, 3)
    say where each record's numbers are, so a piece is parsed without a loop over records."""
    try:
        with _open(path) as fh:
            fh.readline()  # the comment line (whether it says use_ws_distance=.false. is `wannier90._wsvec_images`'s)
            tail = b""
            while True:
                raw = fh.read(PIECE_BYTES)
                text, tail = tail + raw, b""
                if raw:
                    cut = text.rfind(b"\n") + 1
                    text, tail = text[:cut], text[cut:]
                lines, counts = _token_counts(text)
                heads = np.flatnonzero(counts == 5)
                if raw and len(heads):  # the last record may continue in the next piece
                    keep = int(lines[heads[-1]])
                    text, tail = text[:keep], text[keep:] + tail
                    counts = counts[: heads[-1]]
                if len(counts):
                    images.add(*_records(text, counts))
                if not raw:
                    return True
    except (_Irregular, OSError, UnicodeDecodeError, EOFError, ValueError):
        return False


def _token_counts(text: bytes) -> tuple[np.ndarray, np.ndarray]:
    """(byte offset where each non-blank line starts, its number of whitespace-separated tokens)."""
    b = np.frombuffer(text, np.uint8)
    space = (b == 32) | (b == 9) | (b == 13) | (b == 10)
    start = ~space
    start[1:] &= space[:-1]
    ends = np.flatnonzero(b == 10)
    if len(b) and b[-1] != 10:
        ends = np.r_[ends, len(b)]
    counts = np.bincount(np.searchsorted(ends, np.flatnonzero(start)), minlength=len(ends))
    begins = np.r_[0, ends[:-1] + 1]
    filled = counts > 0
    return begins[filled], counts[filled]


def _records(text: bytes, counts: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(keys [e, 5], counts [e], shifts [Σ counts, 3]) of whole records whose lines have `counts` tokens."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        try:
            nums = np.fromstring(text, dtype=np.int64, sep=" ")  # stops (warns) at anything but an integer
        except (DeprecationWarning, ValueError) as exc:
            raise _Irregular(str(exc)) from None
    if len(nums) != counts.sum():
        raise _Irregular("not a table of integers")
    offset = np.cumsum(counts) - counts
    heads = np.flatnonzero(counts == 5)
    if len(heads) == 0 or heads[0] != 0 or np.any(counts[np.minimum(heads + 1, len(counts) - 1)] != 1):
        raise _Irregular("a record does not start with 'R1 R2 R3 i j' and 'ndeg'")
    ndeg = nums[offset[heads + 1]]
    if np.any(np.diff(np.r_[heads, len(counts)]) != 2 + ndeg) or np.count_nonzero(counts == 3) != ndeg.sum():
        raise _Irregular("a record's image count does not match its lines")
    keys = nums[offset[heads][:, None] + np.arange(5)]
    shift_lines = offset[counts == 3]
    return keys, ndeg, nums[shift_lines[:, None] + np.arange(3)]
