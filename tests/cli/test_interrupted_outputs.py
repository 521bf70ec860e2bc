"""A command killed while it writes its outputs, or between them, and rerun as it was: the results file and its
figure are written together (a signal during the writes waits for both), and `dc-exact --omega --checkpoint`
writes its DC file only at the end, so that rerunning the same command resumes instead of refusing the DC file
an interrupted run had left as existing."""

from __future__ import annotations

import os
import re
import signal

import pytest
from click.testing import CliRunner

from qgeom.cli import dc as dc_cli
from qgeom.cli import dc_exact as dc_exact_cli
from qgeom.cli import main


def invoke(args):
    return CliRunner().invoke(main, [str(a) for a in args])


@pytest.mark.parametrize("signum, exit_code", [(signal.SIGTERM, 128 + signal.SIGTERM), (signal.SIGINT, 1)])
def test_signal_during_the_results_write_still_writes_the_figure(tmp_path, monkeypatch, signum, exit_code):
    """The signal arrives while the .nc is written: it waited for that write only, so the figure was never made
    (and a rerun of the same command was refused: --out exists); now both files are complete, then the exit."""
    save = dc_cli.save

    def signalled_save(ds, path):
        os.kill(os.getpid(), signum)
        return save(ds, path)

    monkeypatch.setattr(dc_cli, "save", signalled_save)
    out = tmp_path / "d.nc"
    res = invoke(["dc", "--model", "qi_wu_zhang", "--grid", "8", "--mu", "0", "--symmetry", "none", "--quiet",
                  "--out", out])
    assert res.exit_code == exit_code, res.output
    assert out.stat().st_size > 0 and out.with_suffix(".png").stat().st_size > 0
    assert sorted(p.name for p in tmp_path.iterdir()) == ["d.nc", "d.png"]  # no temporary file left


def test_dc_exact_interrupted_in_the_frequency_sums_resumes_when_rerun(tmp_path, monkeypatch):
    ckpt, out = tmp_path / "ck", tmp_path / "e.nc"
    args = ["dc-exact", "--model", "qi_wu_zhang", "--grid", "10", "--mu", "0", "--gamma", "0.1", "--no-fit",
            "--omega", "0.1", "--symmetry", "none", "--checkpoint", ckpt, "--out", out]

    def interrupted(*a, **kw):
        raise KeyboardInterrupt

    with monkeypatch.context() as m:
        m.setattr(dc_exact_cli, "exact_frequency", interrupted)
        res = invoke(args)
    assert res.exit_code == 1 and "Aborted!" in res.output
    assert not out.exists()  # the DC sums are in the checkpoint
    res = invoke(args)
    assert res.exit_code == 0, res.output
    assert re.search(r"resumed: (\d+) of \1 chunks from the checkpoint", res.output), res.output
    assert out.exists() and (tmp_path / "e_frequency.nc").exists()


def test_dc_exact_without_checkpoint_writes_the_dc_file_before_the_frequency_sums(tmp_path, monkeypatch):
    """Nothing to resume from: an interrupted frequency scan keeps the finished DC result."""
    out = tmp_path / "e.nc"

    def interrupted(*a, **kw):
        raise KeyboardInterrupt

    monkeypatch.setattr(dc_exact_cli, "exact_frequency", interrupted)
    res = invoke(["dc-exact", "--model", "qi_wu_zhang", "--grid", "10", "--mu", "0", "--gamma", "0.1", "--no-fit",
                  "--omega", "0.1", "--symmetry", "none", "--quiet", "--out", out])
    assert res.exit_code == 1
    assert out.stat().st_size > 0 and not (tmp_path / "e_frequency.nc").exists()
