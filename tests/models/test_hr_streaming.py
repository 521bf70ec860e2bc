"""Large `_hr.dat` files are read in bounded memory (issue 15 item 5): the streaming reader gives
the line reader's exact result at a peak of ~3x the file size (the line reader: ~10x)."""

from __future__ import annotations

import tracemalloc

import numpy as np
import pytest

from qgeom.models import wannier90_files as wf


def _write_hr(path, N: int, nrpts: int, *, blank_inside: bool = False, fortran: bool = False) -> None:
    rng = np.random.default_rng(3)
    R = np.array([(i - nrpts // 2, (i * 7) % 5 - 2, 0) for i in range(nrpts)])
    lines = ["written by a test", f"{N:12d}", f"{nrpts:12d}"]
    deg = [1] * nrpts
    lines += ["".join(f"{d:5d}" for d in deg[i:i + 15]) for i in range(0, nrpts, 15)]
    m, n = np.meshgrid(np.arange(1, N + 1), np.arange(1, N + 1), indexing="xy")
    for r in R:
        vals = rng.normal(size=(N * N, 2))
        fmt = "{:16.8E}" if fortran else "{:12.6f}"
        block = [f"{r[0]:5d}{r[1]:5d}{r[2]:5d}{a:5d}{b:5d}" + fmt.format(x) + fmt.format(y)
                 for a, b, (x, y) in zip(m.ravel(), n.ravel(), vals)]
        lines += block
        if blank_inside:
            lines.append("")
    text = "\n".join(lines) + "\n"
    path.write_text(text.replace("E", "D") if fortran else text)


def _peak(fn) -> tuple[object, int]:
    tracemalloc.start()
    try:
        out = fn()
        return out, tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_streaming_reader_matches_the_line_reader_in_bounded_memory(tmp_path, monkeypatch):
    path = tmp_path / "big_hr.dat"
    _write_hr(path, N=40, nrpts=40)  # 64000 rows, ~4 MB
    size = path.stat().st_size
    fast, fast_peak = _peak(lambda: wf.read_hr(path))
    monkeypatch.setattr(wf, "_read_hr_streaming", lambda p: None)
    slow, slow_peak = _peak(lambda: wf.read_hr(path))
    assert np.array_equal(fast.R, slow.R) and np.array_equal(fast.H, slow.H)
    assert np.array_equal(fast.lines, slow.lines) and np.array_equal(fast.ndegen, slow.ndegen)
    print(f"peak memory / file size: streaming {fast_peak / size:.2f}, line reader {slow_peak / size:.2f}")
    assert fast_peak < 3.5 * size, (fast_peak / size)
    assert slow_peak > 2 * fast_peak, (slow_peak / size, fast_peak / size)


@pytest.mark.parametrize("variant", ["blank_inside", "fortran"])
def test_irregular_files_fall_back_to_the_line_reader(tmp_path, variant):
    path = tmp_path / "x_hr.dat"
    _write_hr(path, N=3, nrpts=3, **{variant: True})
    assert wf._read_hr_streaming(path) is None or variant == "blank_inside"
    out = wf.read_hr(path)
    assert out.H.shape == (3, 3, 3) and np.isfinite(out.H).all()
