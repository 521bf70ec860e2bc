"""Safe outputs (issue 15 item 1): existing files are never replaced without --overwrite, bad
destinations are refused before computing, writes are atomic (a full disk leaves the old file),
and a killed run leaves neither temporary files nor worker processes."""

from __future__ import annotations

import errno
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import xarray as xr
from click.testing import CliRunner

from qgeom import outputs
from qgeom.cli import main
from qgeom.outputs import OutputError, check_output, write_atomic
from qgeom.results import load, save

SRC = str(Path(__file__).resolve().parents[1] / "src")
DC_ARGS = ["dc", "--model", "tilted_dirac_2band", "--grid", "16", "--mu", "0.1", "--temperature", "0.1"]


@pytest.fixture
def runner():
    return CliRunner()


@pytest.fixture
def no_compute(monkeypatch):
    """Fail the test if the command starts the k-space work."""
    import qgeom.cli.dc

    def boom(*a, **k):
        raise AssertionError("computation started before the output check")

    monkeypatch.setattr(qgeom.cli.dc, "expansion", boom)


def _tree(d: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in d.iterdir() if p.is_file()}


def test_existing_output_is_refused_before_computing(runner, tmp_path, no_compute):
    out = tmp_path / "old.nc"
    out.write_text("precious")
    res = runner.invoke(main, [*DC_ARGS, "--out", str(out)])
    assert res.exit_code == 2 and "file exists" in res.output and "--overwrite" in res.output
    assert out.read_text() == "precious"


def test_overwrite_replaces_and_default_run_writes_both_files(runner, tmp_path):
    out = tmp_path / "r.nc"
    res = runner.invoke(main, [*DC_ARGS, "--out", str(out)])
    assert res.exit_code == 0, res.output
    first = load(out).sigma.values
    res = runner.invoke(main, [*DC_ARGS, "--out", str(out)])
    assert res.exit_code == 2 and "file exists" in res.output
    res = runner.invoke(main, [*DC_ARGS, "--temperature", "0.2", "--out", str(out), "--overwrite"])
    assert res.exit_code == 0, res.output
    assert not np.allclose(load(out).sigma.values, first)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["r.nc", "r.png"]


@pytest.mark.parametrize(
    "args, message",
    [
        (["--figure", "{tmp}/fig.xyz"], "unknown figure format"),
        (["--out", "{tmp}/afile/r.nc"], "cannot write"),  # parent is a file
        (["--out", "{tmp}"], "is a directory"),
        (["--out", "/proc/qgeom_test/r.nc"], "cannot write"),
        # --out x.png --figure x.png was the same file; --out is now NetCDF (.nc) only, so never a figure's name
        (["--out", "{tmp}/x.png", "--figure", "{tmp}/x.png"], "must end in .nc"),
    ],
)
def test_bad_output_paths_fail_before_computing(runner, tmp_path, no_compute, args, message):
    (tmp_path / "afile").write_text("")
    res = runner.invoke(main, [*DC_ARGS, *[a.format(tmp=tmp_path) for a in args]])
    assert res.exit_code == 2, res.output
    assert message in res.output and "Traceback" not in res.output


def _fail_fsync(fd):
    raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))


def test_full_disk_keeps_the_existing_file_and_leaves_no_temporary(tmp_path, monkeypatch):
    target = tmp_path / "r.nc"
    ds = xr.Dataset({"a": ("x", np.arange(4.0))})
    save(ds, target)
    before = target.read_bytes()
    monkeypatch.setattr(outputs.os, "fsync", _fail_fsync)
    with pytest.raises(OutputError, match="No space left on device; the existing file is unchanged"):
        save(ds * 2, target, overwrite=True)
    assert target.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["r.nc"]


def test_full_disk_in_the_cli_is_a_clean_error(runner, tmp_path, monkeypatch):
    out = tmp_path / "r.nc"
    out.write_bytes(b"old result")
    monkeypatch.setattr(outputs.os, "fsync", _fail_fsync)
    res = runner.invoke(main, [*DC_ARGS, "--out", str(out), "--overwrite"])
    assert res.exit_code == 2 and "No space left on device" in res.output, res.output
    assert out.read_bytes() == b"old result"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["r.nc"]


def test_write_without_overwrite_never_replaces_a_file_that_appeared(tmp_path):
    target = tmp_path / "t.txt"
    target.write_text("other process")
    with pytest.raises(OutputError, match="exists"):
        write_atomic(target, b"mine", overwrite=False)
    assert target.read_text() == "other process"
    assert check_output(tmp_path / "new" / "f.png", figure=True, overwrite=False).parent.is_dir()


def test_plot_and_export_refuse_to_overwrite(runner, tmp_path):
    result = tmp_path / "r.nc"
    save(xr.Dataset({"a": ("x", np.arange(3.0))}), result)
    (tmp_path / "r.txt").write_text("keep")
    res = runner.invoke(main, ["export", str(result)])
    assert res.exit_code == 2 and "file exists" in res.output
    assert (tmp_path / "r.txt").read_text() == "keep"
    res = runner.invoke(main, ["export", str(result), "--out", str(result), "--overwrite"])
    assert res.exit_code == 2 and "same file" in res.output


def _children(pid: int) -> list[int]:
    out = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        text = (task / "children").read_text().split() if (task / "children").exists() else []
        out += [int(c) for c in text]
    return out


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    stat = Path(f"/proc/{pid}/stat")
    return not (stat.exists() and stat.read_text().split(")")[-1].split()[0] == "Z")


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGKILL])
def test_killed_pool_run_leaves_no_workers_and_no_temporaries(tmp_path, sig):
    ckpt, out = tmp_path / "ckpt", tmp_path / "r.nc"
    cmd = [sys.executable, "-c", "from qgeom.cli import main; main()", "dc", "--model", "pt_tilted_4band",
           "--grid", "400", "--mu", "0", "--workers", "2", "--checkpoint", str(ckpt), "--out", str(out)]
    env = {**os.environ, "PYTHONPATH": SRC, "MPLBACKEND": "Agg"}
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 60
    workers: list[int] = []
    while time.monotonic() < deadline and not list(ckpt.glob("chunk_*.npz")):
        workers = _children(proc.pid) or workers
        time.sleep(0.02)
    workers = _children(proc.pid) or workers
    assert workers, "the pool never started"
    proc.send_signal(sig)
    proc.wait(timeout=30)
    assert proc.returncode in (128 + sig, -sig), proc.stderr.read().decode()[-2000:]
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and any(_alive(w) for w in workers):
        time.sleep(0.05)
    assert not [w for w in workers if _alive(w)], "orphaned pool workers"
    assert not out.exists()
    if sig == signal.SIGTERM:  # cleaned on the way out
        assert not list(ckpt.glob(".tmp*")) and not list(tmp_path.glob(".qgeom-tmp*"))
    else:  # SIGKILL cannot clean up: the next run on this directory removes what the dead one left
        from qgeom import QgeomInputError
        from qgeom.checkpoint import ChunkStore

        (ckpt / f".tmp_chunk_{outputs._HOST}-{2**22 + 12345}_x.npz").write_bytes(b"left by a dead run")
        (ckpt / f".tmp_chunk_elsewhere-{2**22 + 12345}_x.npz").write_bytes(b"another host's, maybe in use")
        with pytest.raises(QgeomInputError, match="different calculation"):
            ChunkStore(ckpt, {"another": "calculation"})
        assert [p.name for p in ckpt.glob(".tmp*")] == [f".tmp_chunk_elsewhere-{2**22 + 12345}_x.npz"]


@pytest.mark.skipif(not hasattr(os, "fchmod"), reason="no file modes on this platform")
def test_results_and_checkpoints_get_the_mode_of_an_ordinary_file(tmp_path):
    """mkstemp's private 0600 is not what a result should have: a colleague reads it like any file the
    user writes (0666 less the umask; the umask at import, e.g. 022 → 0644)."""
    from qgeom.dc import expansion
    from qgeom.models import tilted_dirac_2band

    expected = 0o666 & ~outputs._process_umask()
    assert outputs.FILE_MODE == expected and expected & 0o044  # a usual umask leaves group/other read
    path = write_atomic(tmp_path / "r.bin", b"x")
    assert path.stat().st_mode & 0o777 == expected
    expansion(tilted_dirac_2band(), mu=[0.5], temperature=0.1, grid=8, progress=False, checkpoint=tmp_path / "ck")
    chunks = [p for p in (tmp_path / "ck").rglob("*") if p.is_file()]
    assert chunks and all(p.stat().st_mode & 0o777 == expected for p in chunks)


def test_temporaries_of_dead_processes_on_this_host_are_removed_and_other_hosts_kept(tmp_path):
    """A SIGKILL mid-write leaves "<prefix><host>-<pid>_…": the next write in that directory removes it when the
    pid is dead on this host; another host's (a directory shared by machines) may be in use there and stays, as
    does a live process's. Untagged names of earlier versions count as this host's."""
    host, me = outputs._HOST, os.getpid()
    dead = 2**22 + 12345  # above Linux's pid_max default (4194304): no such process
    names = {f".qgeom-tmp-{host}-{dead}_abc.nc": True, f".qgeom-tmp-{dead}-abc.nc": True,
             f".qgeom-tmp-{host}-{me}_abc.nc": False, f".qgeom-tmp-other-node-7-{dead}_abc.nc": False,
             f".qgeom-tmp-other-node-7-{dead}_abc.nc": False, "results.nc": False}
    for name in names:
        (tmp_path / name).write_bytes(b"x")
    write_atomic(tmp_path / "new.nc", b"result")
    left = {p.name for p in tmp_path.iterdir()}
    assert left == {name for name, stale in names.items() if not stale} | {"new.nc"}
    assert outputs.temporary_tag() == f"{host}-{me}" and "_" not in host
