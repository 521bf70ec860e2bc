"""Long runs speak: a header with the size of each k-sum before it starts, plain progress lines at
a steady rate when stderr is not a terminal, nothing with --quiet (issue 14 item 3)."""

from __future__ import annotations

import re

import pytest
from click.testing import CliRunner

from qgeom import progress
from qgeom.cli import main
from qgeom.kspace import integrate
from qgeom.models.library import qi_wu_zhang
from qgeom.progress import ChunkProgress, reporting

DC = ["dc", "--model", "pt_tilted_4band", "--components", "xyy", "--mu=-4,-3.6", "--temperature", "0.05",
      "--grid", "60", "--mechanisms", "fermionic_bath"]


def test_cli_prints_the_run_header_and_progress_to_stderr(tmp_path):
    res = CliRunner().invoke(main, DC + ["--out", str(tmp_path / "a.nc")])
    assert res.exit_code == 0, res.output
    header = re.search(r"k-sum: pt_tilted_4band \(4 bands, 2 orbital blocks\), grid 60×60 = 3600 k-points in "
                       r"(\d+) chunks of <= (\d+), in-process; estimated ~[\d.]+ [KMG]?i?B memory, ~[\d.]+ (s|min)", res.stderr)
    assert header, res.stderr
    assert f"done: {header.group(1)} chunks in" in res.stderr
    assert "k-sum" not in res.stdout  # the table on stdout stays clean


def test_quiet_silences_header_and_progress(tmp_path):
    res = CliRunner().invoke(main, DC + ["--quiet", "--out", str(tmp_path / "b.nc")])
    assert res.exit_code == 0, res.output
    assert "k-sum" not in res.stderr and "chunks" not in res.stderr  # (warnings about the result stay)


def test_library_calls_stay_silent_when_not_interactive(capsys):
    integrate(qi_wu_zhang(u=1.0), 8, lambda b, w: w.sum())
    assert capsys.readouterr().err == ""


class _Clock:
    def __init__(self):
        self.t = 0.0

    def __call__(self):
        return self.t


def _lines(monkeypatch, capsys, total: int, rounds, *, per_round: int = 1, **kwargs) -> list[str]:
    """The progress lines of a run of `total` chunks on a fake clock: after each of the seconds in `rounds`,
    `per_round` chunks finish (`kwargs`: ChunkProgress's header, initial, parallel)."""
    clock = _Clock()
    monkeypatch.setattr(progress.time, "monotonic", clock)
    with reporting(), ChunkProgress(total, None, **kwargs) as bar:
        for seconds in rounds:
            clock.t += seconds
            for _ in range(per_round):
                bar.update(1)
    return capsys.readouterr().err.splitlines()


def test_plain_lines_come_at_a_steady_rate(monkeypatch, capsys):
    err = _lines(monkeypatch, capsys, 100, [1.0] * 100, header="k-sum: test")  # one chunk per second: 100 s
    assert err[0] == "k-sum: test"
    assert err[1] == "  first chunk 1.0 s: about 1.7 min for 100 chunks"
    periodic = [line for line in err if "elapsed" in line]
    assert len(periodic) == 9  # every LINE_INTERVAL_S = 10 s of the 100 s, not per chunk
    assert periodic[0] == "  11/100 chunks (11 %), 11.0 s elapsed, about 89.0 s left"
    assert err[-1] == "  done: 100 chunks in 1.7 min"
    assert progress.LINE_INTERVAL_S == 10.0


def test_the_estimate_drops_the_first_chunks_start_up(monkeypatch, capsys):
    """The first chunk carries the run's start-up (here 60 s: a pool, imports, first-call caches) before chunks
    that take 1 s: its estimate (61 s × 100) is revised after the second chunk to the 98 s really left, and the
    periodic lines extrapolate the start-up-free rate (they said 72 s / 12 × 88 = 8.8 min left)."""
    err = _lines(monkeypatch, capsys, 100, [61.0] + [1.0] * 99)
    assert err[0] == "  first chunk 61.0 s: about 1.7 h for 100 chunks"
    assert err[1] == "  revised: 1.0 s per chunk after the first (61.0 s, start-up included): about 1.6 min left"
    assert err[2] == "  12/100 chunks (12 %), 72.0 s elapsed, about 88.0 s left"
    assert err[-1] == "  done: 100 chunks in 2.7 min"


def test_a_resumed_run_extrapolates_its_remaining_chunks_without_start_up(monkeypatch, capsys):
    """60 of 100 chunks from the checkpoint, 30 s of start-up, then 0.5 s per chunk: the first estimate covers the
    40 chunks left (30.5 s × 40), the revised one the 38 left after the second (19 s, as they then take)."""
    err = _lines(monkeypatch, capsys, 100, [30.5] + [0.5] * 39, initial=60)
    assert err[:3] == ["  resumed: 60 of 100 chunks from the checkpoint",
                       "  first chunk 30.5 s: about 20.3 min for 40 chunks",
                       "  revised: 0.5 s per chunk after the first (30.5 s, start-up included): about 19.0 s left"]
    assert err[-1] == "  done: 100 chunks (60 from the checkpoint) in 50.0 s"


def test_parallel_chunks_revise_the_estimate_once_each_worker_has_finished_another(monkeypatch, capsys):
    """4 workers, 10 s of start-up, chunks of 2 s: chunks 1–4 finish together at 12 s, 5–8 at 14 s. The rate from
    chunk 1 to chunk 2 (0 s) would promise nothing left; from chunk 1 to chunk 5 it is the pool's 0.5 s per chunk:
    35 chunks, 17.5 s (they finish at 14 + 2 · 35/4 s)."""
    err = _lines(monkeypatch, capsys, 40, [12.0] + [2.0] * 9, per_round=4, parallel=4)
    assert err[0] == "  first chunk 12.0 s: about 2.0 min for 40 chunks"  # 12 s a round of 4
    assert err[1] == "  revised: 0.5 s per chunk after the first (12.0 s, start-up included): about 17.5 s left"
    from qgeom.executors import make_executor

    assert make_executor(workers=4).parallel == 4 and make_executor().parallel == 1  # what integrate passes


def test_first_estimate_counts_the_chunks_running_at_once(monkeypatch, capsys):
    """With 4 workers the 40 chunks take 10 rounds of the first chunk's second, not 40 (the estimate was
    `workers` times too long): the steady-rate lines that follow agree with it."""
    err = _lines(monkeypatch, capsys, 40, [1.0] * 10, per_round=4, parallel=4)  # four chunks finish each second
    assert err[0] == "  first chunk 1.0 s: about 10.0 s for 40 chunks"
    assert err[-1] == "  done: 40 chunks in 10.0 s"


def test_integrate_tells_the_progress_how_many_chunks_run_at_once(monkeypatch):
    from qgeom import kspace

    seen = []

    class Recording(ChunkProgress):
        def __init__(self, *args, parallel=1, **kwargs):
            seen.append(parallel)
            super().__init__(*args, parallel=parallel, **kwargs)

    monkeypatch.setattr(kspace, "ChunkProgress", Recording)
    for workers in (None, 2):
        integrate(qi_wu_zhang(), 6, lambda b, w: w @ b.energies, chunk_size=9, progress=False, workers=workers)
    assert seen == [1, 2]


def test_resumed_chunks_count_as_done(capsys):
    with reporting(), ChunkProgress(4, None, initial=3) as bar:
        bar.update(1)
    err = capsys.readouterr().err
    assert "first chunk" not in err and "done: 4 chunks" in err


@pytest.mark.parametrize("quiet", [True, False])
def test_enabled_flag(quiet):
    with reporting(quiet=quiet):
        assert progress.progress_enabled(None) is (not quiet)
        assert progress.progress_enabled(True) is (not quiet)


def test_headers_name_a_wedge_and_a_refinement_level(tmp_path):
    """A refinement level or an irreducible wedge is not the grid: its header says what it is (a level
    once read "grid 24×24 = 2880 k-points")."""
    # (every σ of qi_wu_zhang is forbidden by its C2: that result is exact zeros without a k-sum)
    res = CliRunner().invoke(main, ["dc", "--model", "tilted_dirac_2band", "--mu=0.3", "--grid", "12",
                                    "--components", "xxx,xyy", "--refine", "1", "--symmetry", "auto",
                                    "--out", str(tmp_path / "r.nc")])
    assert res.exit_code == 0, res.output
    assert re.search(r"k-sum: tilted_dirac_2band \(2 bands\), irreducible wedge \(group \S+\) of the grid 12×12 = \d+ k-points",
                     res.stderr), res.stderr
    level = re.search(r"refinement level 1 of the grid 12×12 \((\d+) cells\) = (\d+) k-points", res.stderr)
    assert level and int(level.group(2)) == 5 * int(level.group(1)), res.stderr  # 4 sub-cells + the centre


def test_model_repr_summarizes_long_parameters():
    """The one-line model description (every CLI result's first line) names a per-orbital list by its
    length instead of printing it (48 orbital heights of 1T′-MoS₂)."""
    from pathlib import Path

    from qgeom.models import from_wannier90

    mos2 = from_wannier90(Path(__file__).resolve().parents[1] / "examples" / "MoS2-1Tp")
    text = repr(mos2)
    assert "orbital_heights=[48 values]" in text and len(text) < 400
    assert len(mos2.parameters["orbital_heights"]) == 48  # the values stay in the parameters
