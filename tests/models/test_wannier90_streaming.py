"""Wannier90 hopping files read in pieces (`wannier90_streaming`): the line readers' exact result, in memory bounded
by the arrays returned (issue 13 item 5); irregular files go to the line readers, whose messages name the line."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from qgeom._validation import QgeomInputError
from qgeom.models import from_wannier90
from qgeom.models import wannier90_streaming as ws
from qgeom.models.replicas import WsvecImages
from qgeom.models.wannier90_files import read_hr_lines, read_tb_lines, read_wsvec

GAAS = Path(__file__).resolve().parents[2] / "examples" / "GaAs"


def write_hr(path, N: int, nrpts: int, *, blank_inside=False, fortran=False, shuffled=False, seed=3) -> None:
    """A Wannier90-style `_hr.dat` (`(5I5,2F12.6)` rows, m fastest) of random Hermitian hoppings."""
    rng = np.random.default_rng(seed)
    half = [(i - nrpts // 2, (i * 7) % 5 - 2, i % 3 - 1) for i in range(nrpts // 2)]
    R = sorted(set(half) | {tuple(-x for x in r) for r in half} | {(0, 0, 0)})
    t = {r: np.round(rng.normal(size=(N, N)) + 1j * rng.normal(size=(N, N)), 6) for r in R}
    for r in R:
        t[tuple(-x for x in r)] = t[r].conj().T
    lines = ["written by a test", f"{N:12d}", f"{len(R):12d}"]
    lines += ["".join(f"{1:5d}" for _ in R[i:i + 15]) for i in range(0, len(R), 15)]
    n, m = np.meshgrid(np.arange(N), np.arange(N), indexing="ij")
    order = np.arange(N * N)
    for r in R:
        if shuffled:
            rng.shuffle(order)
        fmt = "{:16.8E}" if fortran else "{:12.6f}"
        lines += [f"{r[0]:5d}{r[1]:5d}{r[2]:5d}{a + 1:5d}{b + 1:5d}" + fmt.format(t[r][a, b].real)
                  + fmt.format(t[r][a, b].imag) for a, b in zip(m.ravel()[order], n.ravel()[order])]
        if blank_inside:
            lines.append("")
    text = "\n".join(lines) + "\n"
    path.write_text(text.replace("E", "D") if fortran else text)


@pytest.fixture
def small_pieces(monkeypatch):
    """Pieces of 4 KiB and groups of 3000 numbers: records, rows and R blocks straddle the pieces."""
    monkeypatch.setattr(ws, "PIECE_BYTES", 4096)
    monkeypatch.setattr(ws, "GROUP_NUMBERS", 3000)


def _same(a, b, positions=False):
    assert np.array_equal(a.R, b.R) and np.array_equal(a.H, b.H) and np.array_equal(a.ndegen, b.ndegen)
    assert a.header == b.header
    if positions:
        assert np.array_equal(a.positions, b.positions) and np.array_equal(a.lattice, b.lattice)


@pytest.mark.parametrize("variant", [{}, {"fortran": True}, {"blank_inside": True}, {"shuffled": True}])
def test_hr_in_pieces_equals_the_line_reader(tmp_path, small_pieces, variant):
    path = tmp_path / "x_hr.dat"
    write_hr(path, N=5, nrpts=9, **variant)
    fast = ws.stream_hr(path)
    assert fast is not None and fast.lines is None
    slow = read_hr_lines(path)
    _same(fast, slow)
    assert np.array_equal(fast.line_numbers(), slow.lines)  # found again by the line reader when asked


def test_hr_in_pieces_takes_the_hoppings_memory_not_the_files(tmp_path, monkeypatch, traced_peak):
    monkeypatch.setattr(ws, "PIECE_BYTES", 1 << 16)
    monkeypatch.setattr(ws, "GROUP_NUMBERS", 1 << 14)
    path = tmp_path / "big_hr.dat"
    write_hr(path, N=40, nrpts=41)  # 65600 rows, 3.3 MB; H 1.0 MB
    fast, fast_peak = traced_peak(lambda: ws.read_hr(path))
    slow, slow_peak = traced_peak(lambda: read_hr_lines(path))
    _same(fast, slow)
    size = path.stat().st_size
    print(f"peak / H: in pieces {fast_peak / fast.H.nbytes:.2f}, line reader {slow_peak / fast.H.nbytes:.2f}; "
          f"file / H {size / fast.H.nbytes:.2f}")
    assert fast_peak < 1.6 * fast.H.nbytes, fast_peak / fast.H.nbytes
    assert slow_peak > 5 * fast_peak


@pytest.mark.parametrize("edit", ["letters", "short", "long", "index", "R", "twice"])
def test_irregular_hr_files_go_to_the_line_reader(tmp_path, edit):
    path = tmp_path / "x_hr.dat"
    write_hr(path, N=3, nrpts=5)
    lines = path.read_text().splitlines()
    row = 8  # a hopping row
    if edit == "letters":
        lines[row] = lines[row][:-3] + "abc"
    elif edit == "short":
        del lines[-1]
    elif edit == "long":
        lines.append(lines[-1])
    elif edit == "index":
        lines[row] = lines[row][:15] + "    9" + lines[row][20:]
    elif edit == "R":
        lines[row] = "   99" + lines[row][5:]
    else:  # one R block listed twice: the last block's R set to the first's
        first, last = lines[4][:15], lines[-1][:15]
        lines = [s.replace(last, first, 1) if s.startswith(last) else s for s in lines]
    path.write_text("\n".join(lines) + "\n")
    assert ws.stream_hr(path) is None
    with pytest.raises(QgeomInputError, match=r"line \d+"):
        ws.read_hr(path)


def test_tb_in_pieces_equals_the_line_reader_and_keeps_the_centres_alone(small_pieces):
    tb = GAAS / "GaAs_tb.dat"
    fast, slow = ws.stream_tb(tb), read_tb_lines(tb)
    _same(fast, slow, positions=True)
    lean = ws.read_tb(tb, position_matrix=False)
    assert lean.positions is None and np.array_equal(lean.H, slow.H)
    assert np.array_equal(lean.centres(), slow.centres())


def test_model_from_a_tb_without_its_position_matrix_is_the_same_model():
    a = from_wannier90(GAAS / "GaAs_tb.dat")
    b = from_wannier90(GAAS / "GaAs_tb.dat", position_operator="full")
    assert np.array_equal(a.R, b.R) and np.array_equal(a.base.t, b.base.t)
    assert np.array_equal(a.positions, b.positions)


def test_non_hermitian_streamed_hr_names_the_lines(tmp_path):
    path = tmp_path / "x_hr.dat"
    write_hr(path, N=3, nrpts=5)
    lines = path.read_text().splitlines()
    row = next(i for i, s in enumerate(lines) if s.split()[:5] == ["0", "0", "0", "1", "2"])
    lines[row] = lines[row][:25] + f"{float(lines[row][25:37]) + 0.5:12.6f}" + lines[row][37:]
    path.write_text("\n".join(lines) + "\n")
    assert ws.stream_hr(path) is not None  # well formed: read in pieces
    with pytest.raises(QgeomInputError, match=rf"\(line (\d+ vs line {row + 1}|{row + 1} vs line \d+)\).*not Hermitian"):
        from_wannier90(path, lattice=np.eye(3))


# ------------------------------------------------------------------ _wsvec.dat


def write_wsvec(path, R, N: int, rng, *, header="## written by a test with use_ws_distance=.true.") -> dict:
    """Random images (1–3 per hopping, some shared between hoppings) in Wannier90's layout; returns the table."""
    table = {}
    lines = [header]
    for r in R:
        for i in range(N):
            for j in range(N):
                n = int(rng.choice([1, 1, 1, 2, 3]))
                T = rng.integers(-1, 2, size=(n, 3)) * 4
                T = np.unique(T, axis=0)
                table[(*map(int, r), i + 1, j + 1)] = T
                lines += [f"{r[0]:5d}{r[1]:5d}{r[2]:5d}{i + 1:5d}{j + 1:5d}", f"{len(T):5d}"]
                lines += [f"{a:5d}{b:5d}{c:5d}" for a, b, c in T]
    path.write_text("\n".join(lines) + "\n")
    return table


def _spread_reference(R, t, table):
    """The former dictionary loop (Wannier90's own): each t_ij(R) split equally over its images R + T."""
    acc = {}
    N = t.shape[1]
    for r, tr in zip(map(tuple, R), t):
        for i in range(N):
            for j in range(N):
                shifts = table[(*r, i + 1, j + 1)]
                for T in shifts:
                    key = (r[0] + T[0], r[1] + T[1], r[2] + T[2])
                    acc.setdefault(key, np.zeros((N, N), complex))[i, j] += tr[i, j] / len(shifts)
    keys = sorted(acc)
    return np.array(keys), np.array([acc[k] for k in keys])


def test_wsvec_in_pieces_equals_the_dictionary_spread(tmp_path, small_pieces, rng):
    N = 4
    R = np.array([(a, b, c) for a in (-1, 0, 1) for b in (-1, 0, 1) for c in (0,)])
    t = rng.normal(size=(len(R), N, N)) + 1j * rng.normal(size=(len(R), N, N))
    path = tmp_path / "x_wsvec.dat"
    table = write_wsvec(path, R, N, rng)
    images = WsvecImages(R, N, path)
    assert ws.stream_wsvec(path, images)
    assert images.ties  # hoppings with several images were met
    got_R, got_t = images.hoppings(t)
    ref_R, ref_t = _spread_reference(R, t, table)
    assert np.array_equal(got_R, ref_R) and np.abs(got_t - ref_t).max() < 1e-15
    assert {k: v.tolist() for k, v in read_wsvec(path).items()} == {k: v.tolist() for k, v in table.items()}


def test_irregular_or_incomplete_wsvec(tmp_path, rng):
    N = 2
    R = np.array([(0, 0, 0), (1, 0, 0), (-1, 0, 0)])
    path = tmp_path / "x_wsvec.dat"
    write_wsvec(path, R, N, rng)
    lines = path.read_text().splitlines()
    cut = lines[:-1]  # the last image line missing: the record's count no longer matches
    path.write_text("\n".join(cut) + "\n")
    assert not ws.stream_wsvec(path, WsvecImages(R, N, path))
    head = max(i for i, s in enumerate(lines) if len(s.split()) == 5)
    path.write_text("\n".join(lines[:head]) + "\n")  # the last hopping's record missing
    images = WsvecImages(R, N, path)
    assert ws.stream_wsvec(path, images)
    with pytest.raises(QgeomInputError, match=r"no entry for R = \(-1, 0, 0\), i = 2, j = 2"):
        images.hoppings(np.zeros((3, N, N), complex))
