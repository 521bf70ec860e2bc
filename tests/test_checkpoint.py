"""Resumable k-sums: chunk files written as they finish, reruns compute only missing chunks,
a checkpoint of another calculation is refused, and a SIGKILLed run resumes to the same result."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import pytest

from qgeom import QgeomInputError
from qgeom.dc import expansion
from qgeom.kspace import chunk_bounds, integrate, make_grid
from qgeom.models.library import pt_tilted_4band, tilted_dirac_2band

GRID, CHUNK = 24, 16  # 36 chunks


class CountingSum:
    """Σ_k w (ε_n, v^x_nn) per band; records which chunks it computed. The sleep does not enter
    the fingerprint, so a slow run and a fast rerun share one checkpoint."""

    def __init__(self, sleep: float = 0.0, scale: float = 1.0):
        self.sleep, self.scale, self.calls = sleep, scale, []

    def fingerprint(self):
        return {"integrand": "CountingSum", "scale": self.scale}

    def __call__(self, b, w):
        self.calls.append(float(b.k[0, 0]))
        if self.sleep:
            time.sleep(self.sleep)
        vx = np.diagonal(b.v[:, 0], axis1=-2, axis2=-1).real
        return {"energy": self.scale * w @ b.energies, "vx": self.scale * w @ vx}


def _run(directory=None, func=None, model=None, grid=GRID):
    func = func or CountingSum()
    out = integrate(model or tilted_dirac_2band(), grid, func, chunk_size=CHUNK, progress=False, checkpoint=directory)
    return out, func


def _chunks(directory) -> set[str]:
    return {p.name for p in Path(directory).glob("chunk_*.npz")}


def test_rerun_loads_every_chunk_and_gives_identical_result(tmp_path):
    reference, _ = _run()
    first, f1 = _run(tmp_path)
    n_chunks = len(chunk_bounds(make_grid(tilted_dirac_2band(), GRID), CHUNK))
    assert len(f1.calls) == n_chunks and len(_chunks(tmp_path)) == n_chunks
    second, f2 = _run(tmp_path)
    assert f2.calls == []
    for key in reference:
        assert np.array_equal(first[key], reference[key]) and np.array_equal(second[key], reference[key])
    assert not list(tmp_path.glob(".tmp*"))


def test_missing_chunks_are_recomputed(tmp_path):
    reference, _ = _run(tmp_path)
    removed = sorted(_chunks(tmp_path))[3:7]
    for name in removed:
        (tmp_path / name).unlink()
    again, f = _run(tmp_path)
    assert len(f.calls) == len(removed)
    for key in reference:
        assert np.array_equal(again[key], reference[key])


@pytest.mark.parametrize(
    "change",
    [
        dict(grid=GRID + 2),
        dict(model=tilted_dirac_2band(tilt=0.5)),
        dict(model=pt_tilted_4band()),
        dict(func=CountingSum(scale=2.0)),
    ],
    ids=["grid", "model-parameter", "model", "integrand-parameter"],
)
def test_checkpoint_of_another_calculation_is_refused(tmp_path, change):
    _run(tmp_path)
    before = {p: p.stat().st_mtime_ns for p in tmp_path.iterdir()}
    with pytest.raises(QgeomInputError, match="different calculation"):
        _run(tmp_path, **change)
    assert {p: p.stat().st_mtime_ns for p in tmp_path.iterdir()} == before


def test_expansion_checkpoint_refuses_other_mu(tmp_path):
    kw = dict(components="xyy", temperature=0.1, grid=16, chunk_size=64, progress=False, checkpoint=tmp_path)
    a = expansion(tilted_dirac_2band(), mu=[0.0, 0.5], **kw)
    b = expansion(tilted_dirac_2band(), mu=[0.0, 0.5], **kw)
    assert np.array_equal(a.sigma.values, b.sigma.values)
    with pytest.raises(QgeomInputError, match="different calculation"):
        expansion(tilted_dirac_2band(), mu=[0.0, 0.6], **kw)


KILL_SCRIPT = """
import sys
sys.path.insert(0, {tests!r})
from test_checkpoint import CountingSum, _run
_run({directory!r}, func=CountingSum(sleep=0.05))
print("finished")
"""


def test_killed_run_resumes_with_only_missing_chunks(tmp_path):
    reference, _ = _run()
    n_chunks = len(chunk_bounds(make_grid(tilted_dirac_2band(), GRID), CHUNK))
    ckpt = tmp_path / "ckpt"
    script = KILL_SCRIPT.format(tests=str(Path(__file__).parent), directory=str(ckpt))
    proc = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and (not ckpt.exists() or len(_chunks(ckpt)) < 5):
        time.sleep(0.01)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=10)
    assert proc.returncode == -signal.SIGKILL, proc.stderr.read().decode()
    survived = _chunks(ckpt)
    assert 5 <= len(survived) < n_chunks
    resumed, f = _run(ckpt)
    assert len(f.calls) == n_chunks - len(survived)
    assert len(_chunks(ckpt)) == n_chunks
    for key in reference:
        assert np.array_equal(resumed[key], reference[key])


def _closure(scale):
    def func(b, w):
        return scale * (w @ b.energies)

    return func


def test_closure_integrand_parameters_enter_the_manifest(tmp_path):
    a = integrate(tilted_dirac_2band(), 12, _closure(1.0), chunk_size=40, progress=False, checkpoint=tmp_path)
    b = integrate(tilted_dirac_2band(), 12, _closure(1.0), chunk_size=40, progress=False, checkpoint=tmp_path)
    assert np.array_equal(a, b)
    with pytest.raises(QgeomInputError, match="different calculation"):
        integrate(tilted_dirac_2band(), 12, _closure(2.0), chunk_size=40, progress=False, checkpoint=tmp_path)


# --- faults (issue 15 item 2) -----------------------------------------------------------------


@pytest.mark.parametrize("damage", ["truncate", "garbage", "empty", "foreign"])
def test_corrupt_chunk_is_reported_by_name_and_recomputed(tmp_path, damage):
    from qgeom.checkpoint import CheckpointWarning

    reference, _ = _run(tmp_path)
    victim = sorted(_chunks(tmp_path))[4]
    path = tmp_path / victim
    data = path.read_bytes()
    if damage == "truncate":
        path.write_bytes(data[: len(data) // 2])
    elif damage == "garbage":
        path.write_bytes(data[:100] + bytes(len(data) - 100))
    elif damage == "empty":
        path.write_bytes(b"")
    else:  # a valid chunk of another chunk index
        path.write_bytes((tmp_path / sorted(_chunks(tmp_path))[5]).read_bytes())
    with pytest.warns(CheckpointWarning, match=victim):
        again, f = _run(tmp_path)
    assert len(f.calls) == 1
    for key in reference:
        assert np.array_equal(again[key], reference[key])
    again, f = _run(tmp_path)  # repaired on disk
    assert f.calls == []


def test_checkpoint_of_other_code_is_refused(tmp_path, monkeypatch):
    from qgeom import checkpoint

    _run(tmp_path)
    manifest = (tmp_path / "manifest.json").read_text()
    assert checkpoint.code_identity()["source_sha256"] in manifest and '"qgeom"' in manifest
    changed = {**checkpoint.code_identity(), "source_sha256": "0" * 64}
    monkeypatch.setattr(checkpoint, "code_identity", lambda: changed)
    with pytest.raises(QgeomInputError, match="differs in: code"):
        _run(tmp_path)


def test_source_hash_sees_every_package_file(tmp_path, monkeypatch):
    """code_identity hashes the package's files: an edited kinetic prefactor changes it."""
    import shutil

    from qgeom import checkpoint

    pkg = Path(checkpoint.__file__).resolve().parent
    copy = tmp_path / "qgeom"
    shutil.copytree(pkg, copy, ignore=shutil.ignore_patterns("__pycache__"))

    def identity(root):
        monkeypatch.setattr(checkpoint, "__file__", str(root / "checkpoint.py"))
        checkpoint.code_identity.cache_clear()
        try:
            return checkpoint.code_identity()["source_sha256"]
        finally:
            monkeypatch.undo()
            checkpoint.code_identity.cache_clear()

    before = identity(copy)
    assert before == identity(copy)
    kernels = copy / "dc" / "psi_tables.py"  # the exact kernels (dc/kernels.py moved to the tests)
    kernels.write_text(kernels.read_text() + "\nKINETIC_PREFACTOR_EDIT = 0.5\n")
    assert identity(copy) != before


def test_patched_integrand_function_is_another_calculation(tmp_path):
    def make(flag):
        if flag:
            def func(b, w):
                return w @ b.energies
        else:
            def func(b, w):
                return 2.0 * (w @ b.energies)
        return func

    integrate(tilted_dirac_2band(), 12, make(True), chunk_size=40, progress=False, checkpoint=tmp_path)
    with pytest.raises(QgeomInputError, match="different calculation"):
        integrate(tilted_dirac_2band(), 12, make(False), chunk_size=40, progress=False, checkpoint=tmp_path)


def _open_store(args):
    directory, value, barrier = args
    from qgeom.checkpoint import ChunkStore

    barrier.wait()
    try:
        ChunkStore(directory, {"calculation": value})
        return value
    except QgeomInputError:
        return None


def test_sigterm_in_the_middle_of_a_chunk_write_keeps_the_chunk_and_exits_143(tmp_path, monkeypatch):
    """A polite kill (SIGTERM under the CLI's `signals_as_exceptions`) that lands inside np.savez of a checkpoint
    chunk: raised there, it left the zip archive unclosable and exited 1 with a ValueError (a flaky CI failure of
    the killed-pool test); now the chunk is completed and kept, no temporary is left, then SystemExit(143)."""
    from qgeom import checkpoint
    from qgeom.outputs import signals_as_exceptions

    real = np.savez
    calls = []

    def savez_killed(fh, **arrays):
        calls.append(1)
        if len(calls) == 3:  # the third chunk: the signal arrives mid-write
            os.kill(os.getpid(), signal.SIGTERM)
            time.sleep(0.05)  # the handler runs here, as it would between two bytecodes of the write
        return real(fh, **arrays)

    monkeypatch.setattr(checkpoint.np, "savez", savez_killed)
    with pytest.raises(SystemExit) as exit_info, signals_as_exceptions():
        _run(tmp_path)
    assert exit_info.value.code == 128 + signal.SIGTERM and len(calls) == 3
    assert len(_chunks(tmp_path)) == 3 and not list(tmp_path.glob(".tmp*"))
    monkeypatch.setattr(checkpoint.np, "savez", real)
    out, func = _run(tmp_path)  # the kept chunks are valid: the rerun loads them
    assert len(func.calls) == 36 - 3


def test_concurrent_writers_of_different_runs_first_wins(tmp_path):
    """Two runs with different inputs start on one directory at the same instant: exactly one
    gets it, in every trial (the check-then-write race let both through)."""
    import multiprocessing

    ctx = multiprocessing.get_context("fork")
    with ctx.Manager() as manager, ctx.Pool(4) as pool:
        for trial in range(15):
            barrier = manager.Barrier(4)
            d = str(tmp_path / f"t{trial}")
            winners = [v for v in pool.map(_open_store, [(d, v, barrier) for v in range(4)]) if v is not None]
            assert len(winners) == 1, winners
            assert not list(Path(d).glob(".tmp*"))


def test_a_resumed_run_says_how_many_chunks_it_loaded(tmp_path, capsys):
    """The progress lines name the chunks taken from the checkpoint (the time estimate counts only the
    others), with progress on; nothing of it when there is no checkpoint to resume."""
    _run(tmp_path)
    for name in sorted(_chunks(tmp_path))[:4]:
        (tmp_path / name).unlink()
    n_chunks = len(chunk_bounds(make_grid(tilted_dirac_2band(), GRID), CHUNK))
    integrate(tilted_dirac_2band(), GRID, CountingSum(), chunk_size=CHUNK, progress=True, checkpoint=tmp_path)
    assert f"resumed: {n_chunks - 4} of {n_chunks} chunks from the checkpoint" in capsys.readouterr().err
    integrate(tilted_dirac_2band(), GRID, CountingSum(), chunk_size=CHUNK, progress=True)
    assert "resumed" not in capsys.readouterr().err


# --- the model's fingerprint sees every parameter (nested models, hidden state) ----------------


def _shifted(base, delta: float = 0.1):
    """`base` with H_11(R = 0) += delta: the same description, other hoppings."""
    from qgeom.models.tight_binding import TightBindingModel

    t = base.t.copy()
    t[np.flatnonzero(~base.R.any(axis=1))[0], 0, 0] += delta
    return TightBindingModel(base.R, t, lattice=base.lattice, name=base.name, parameters=base.parameters,
                             operators=base.operators, energy_unit=base.energy_unit, length_unit=base.length_unit)


def _wannier_like(base):
    """A convention-II model (what from_wannier90 returns): the hoppings live in `model.base`."""
    from qgeom.models.wannier90 import OrbitalPositionModel

    return OrbitalPositionModel(base, [[0.0, 0.0], [0.3, 0.1]])


def _field_wrapped(base):
    from qgeom.models.two_dimensional import with_displacement_field

    return with_displacement_field(_wannier_like(base), 0.2, heights=[0.0, 1.0])


def _hidden_state_model(gap: float):
    """A model that keeps its parameter where no structural hash looks (a private attribute)."""
    from qgeom.models.base import Model

    class Hidden(Model):
        def __init__(self, gap):
            self._gap = gap
            self.dim, self.nbands, self.lattice, self.name = 2, 2, np.eye(2), "hidden"
            self.parameters, self.operators, self.energy_unit, self.length_unit = {}, {}, "eV", "a"

        def _hamiltonian(self, k, order):
            s = np.sin(k)
            H = np.zeros((len(k),) + (2,) * order + (2, 2), complex)
            if order == 0:
                H[:, 0, 1] = s[:, 0] - 1j * s[:, 1]
                H[:, 1, 0] = s[:, 0] + 1j * s[:, 1]
                H[:, 0, 0], H[:, 1, 1] = self._gap, -self._gap
                return H
            if order == 1:
                c = np.cos(k)
                H[:, 0, 0, 1], H[:, 0, 1, 0] = c[:, 0], c[:, 0]
                H[:, 1, 0, 1], H[:, 1, 1, 0] = -1j * c[:, 1], 1j * c[:, 1]
                return H
            raise NotImplementedError("this test model gives H and ∂H only: all the fingerprint's probe asks for")

    return Hidden(gap)


@pytest.mark.parametrize("wrap", [_wannier_like, _field_wrapped], ids=["wannier-base", "displacement-field"])
def test_changed_hopping_of_a_nested_model_is_refused(tmp_path, wrap):
    from qgeom.checkpoint import model_fingerprint

    a, b = wrap(tilted_dirac_2band()), wrap(_shifted(tilted_dirac_2band()))
    assert a.describe() == b.describe()  # only the nested hoppings differ
    fa, fb = model_fingerprint(a), model_fingerprint(b)
    assert fa["data"] != fb["data"] and fa["hamiltonian"] != fb["hamiltonian"]
    assert model_fingerprint(wrap(tilted_dirac_2band())) == fa
    _run(tmp_path, model=a)
    with pytest.raises(QgeomInputError, match="differs in: model"):
        _run(tmp_path, model=b)
    again, f = _run(tmp_path, model=wrap(tilted_dirac_2band()))  # the same model still resumes
    assert f.calls == []


def test_exchange_field_and_wannier_files_enter_the_fingerprint():
    from qgeom.checkpoint import model_fingerprint
    from qgeom.models import from_wannier90
    from qgeom.models.onsite import with_exchange_field

    gaas = from_wannier90(Path(__file__).parents[1] / "examples" / "GaAs")
    shifted = type(gaas)(_shifted(gaas.base, 1.0), gaas.positions)
    assert model_fingerprint(gaas) != model_fingerprint(shifted)
    assert model_fingerprint(gaas)["describe"] == model_fingerprint(shifted)["describe"]
    a = with_exchange_field(gaas, 0.1, spinor_ordering="block")
    b = with_exchange_field(shifted, 0.1, spinor_ordering="block")
    assert model_fingerprint(a)["data"] != model_fingerprint(b)["data"]
    assert model_fingerprint(a)["hamiltonian"] != model_fingerprint(b)["hamiltonian"]


def test_hidden_model_state_is_caught_by_the_hamiltonian_probe(tmp_path):
    from qgeom.checkpoint import model_fingerprint

    a, b = model_fingerprint(_hidden_state_model(0.3)), model_fingerprint(_hidden_state_model(0.3 + 1e-6))
    assert a["data"] == b["data"] and a["hamiltonian"] != b["hamiltonian"]
    _run(tmp_path, model=_hidden_state_model(0.3))
    with pytest.raises(QgeomInputError, match="differs in: model"):
        _run(tmp_path, model=_hidden_state_model(0.4))


def test_fingerprint_ignores_caches():
    """Evaluating a model (its Fourier tables, thread-local buffers) does not change its fingerprint."""
    from qgeom.checkpoint import model_fingerprint

    m = _field_wrapped(tilted_dirac_2band())
    before = model_fingerprint(m)
    m.hamiltonian(make_grid(m, 8).points(0, 64)[0], order=3)
    assert model_fingerprint(m) == before


FINGERPRINT_SCRIPT = """
import json, sys
sys.path.insert(0, {tests!r})
from test_checkpoint import _field_wrapped
from qgeom.checkpoint import model_fingerprint
from qgeom.models import from_wannier90
from qgeom.models.library import mnbi2te4_bilayer, tilted_dirac_2band
models = [from_wannier90({gaas!r}), _field_wrapped(tilted_dirac_2band()), mnbi2te4_bilayer()]
print(json.dumps([model_fingerprint(m) for m in models]))
"""


def test_identical_models_have_identical_fingerprints_in_two_processes():
    """Other hash seeds (dict/set order), other processes (addresses): the same fingerprint."""
    script = FINGERPRINT_SCRIPT.format(tests=str(Path(__file__).parent),
                                       gaas=str(Path(__file__).parents[1] / "examples" / "GaAs"))
    outs = []
    for seed in ("1", "2"):
        env = {**os.environ, "PYTHONHASHSEED": seed}
        proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env, timeout=120)
        assert proc.returncode == 0, proc.stderr
        outs.append(proc.stdout)
    assert outs[0] == outs[1]
    assert len({fp["hamiltonian"] for fp in json.loads(outs[0])}) == 3


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM, signal.SIGHUP])
def test_cli_interrupt_says_what_the_checkpoint_kept(tmp_path, monkeypatch, signum):
    """Ctrl-C (was only click's 'Aborted!'), a batch system's time limit (SIGTERM) or a closed terminal (SIGHUP;
    both ended the run silently) during a run with --checkpoint DIR: one line with the chunks saved in DIR and
    that rerunning resumes; the rerun resumes from them."""
    from click.testing import CliRunner

    from qgeom import kspace, progress
    from qgeom.cli import main

    monkeypatch.setattr(kspace, "auto_chunk_size", lambda model: 10)
    ckpt = tmp_path / "ck"
    args = ["dc", "--model", "qi_wu_zhang", "--grid", "10", "--mu", "0", "--refine", "0", "--symmetry", "none",
            "--checkpoint", str(ckpt), "--out", str(tmp_path / "d.nc")]
    update = progress.ChunkProgress.update

    def interrupted_after_three(self, n):
        update(self, n)
        if self.done == 3:
            if signum == signal.SIGINT:
                raise KeyboardInterrupt
            os.kill(os.getpid(), signum)

    with monkeypatch.context() as m:
        m.setattr(progress.ChunkProgress, "update", interrupted_after_three)
        res = CliRunner().invoke(main, args)
    if signum == signal.SIGINT:
        assert res.exit_code == 1 and "Aborted!" in res.output
    else:
        assert res.exit_code == 128 + signum, res.output
    assert f"interrupted: 3 finished k-chunks saved in {ckpt}; rerunning the same command resumes" in res.output
    res = CliRunner().invoke(main, args)
    assert res.exit_code == 0, res.output
    assert re.search(r"resumed: 3 of \d+ chunks from the checkpoint", res.output), res.output


class _ChunkClock:
    """kspace's clock, advanced 1 s at each reading: every chunk takes exactly 1 s (it reads it twice)."""

    def __init__(self):
        self.t = 0.0

    def perf_counter(self):
        self.t += 1.0
        return self.t


@pytest.mark.parametrize("calculation", ["dc.expansion", "dc.expansion(observable)", "dc.exact", "dc.exact_frequency",
                                         "optical.response"])
def test_a_resumed_run_reports_the_whole_compute_time(tmp_path, monkeypatch, calculation):
    """Each chunk takes 1 s (a fake clock): the first run computes n chunks, compute_s = n s. With k chunk files
    deleted, the rerun computes k and loads n − k with the seconds stored in them: compute_s is still n s (the
    whole calculation's cost), resumed_compute_s n − k, and elapsed_s this call's wall time (an optical result's
    only time was that, and a dc result had none)."""
    import types

    from qgeom import kspace
    from qgeom.dc.exact import exact, exact_frequency
    from qgeom.optical.response import response
    from qgeom.results import metadata

    monkeypatch.setattr(kspace, "time", types.SimpleNamespace(perf_counter=_ChunkClock().perf_counter))
    kw = dict(grid=12, chunk_size=24, progress=False, checkpoint=tmp_path)
    dc = dict(components="xyy", mu=0.3, temperature=0.1, **kw)
    run = {"dc.expansion": lambda: expansion(tilted_dirac_2band(), **dc),
           "dc.expansion(observable)": lambda: expansion(tilted_dirac_2band(), **{**dc, "components": "xy"},
                                                         observable=np.diag([1.0, -1.0])),
           "dc.exact": lambda: exact(tilted_dirac_2band(), gamma=0.05, **dc),
           "dc.exact_frequency": lambda: exact_frequency(tilted_dirac_2band(), gamma=0.05, omega=[0.2],
                                                         processes="second_harmonic", **dc),
           "optical.response": lambda: response(tilted_dirac_2band(), "current_x", kinds=["shift_like"], omega=[0.5], **kw)}[calculation]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the small grid's error estimate
        first = metadata(run(), "parameters")
        files = sorted(tmp_path.rglob("chunk_*.npz"))
        n, deleted = len(files), files[1::2]
        for path in deleted:
            path.unlink()
        resumed = metadata(run(), "parameters")
    assert n >= 6 and first["compute_s"] == n and first["resumed_compute_s"] == 0
    assert resumed["compute_s"] == n and resumed["resumed_compute_s"] == n - len(deleted)
    assert 0 < resumed["elapsed_s"] < 60  # the wall clock: not the chunks' fake seconds


@pytest.mark.parametrize("text", ["[]", "null", '"manifest"', '{"key": "abc", "inputs": []}'])
def test_manifest_that_is_not_a_qgeom_manifest_is_a_clear_error(tmp_path, text):
    """Valid JSON of another shape (a list, null, inputs not an object) was an AttributeError traceback."""
    _run(tmp_path)
    (tmp_path / "manifest.json").write_text(text)
    with pytest.raises(QgeomInputError, match=r"unreadable manifest\.json .*delete .*manifest\.json to reuse"):
        _run(tmp_path)


def test_deleting_an_unreadable_manifest_reuses_the_chunks(tmp_path):
    """What the message above advises: the chunks carry the run's key, so they are reused, none recomputed."""
    reference, _ = _run(tmp_path)
    (tmp_path / "manifest.json").write_text("[]")
    (tmp_path / "manifest.json").unlink()
    again, f = _run(tmp_path)
    assert f.calls == []
    for key in reference:
        assert np.array_equal(again[key], reference[key])


@pytest.mark.parametrize("state", ["empty", "partial", "complete"])
def test_unwritable_checkpoint_directory_is_refused_before_any_chunk(tmp_path, monkeypatch, state):
    """A read-only --checkpoint (mount, permissions) was an OSError traceback, in a partial checkpoint only after
    the first missing chunk had been computed; a complete one is still read."""
    import errno

    from qgeom import checkpoint

    reference, _ = _run()
    if state != "empty":
        _run(tmp_path)
    if state == "partial":
        for name in sorted(_chunks(tmp_path))[5:9]:
            (tmp_path / name).unlink()

    def read_only(directory, prefix, suffix):
        raise OSError(errno.EROFS, "Read-only file system")

    monkeypatch.setattr(checkpoint, "temporary_file", read_only)
    func = CountingSum()
    if state == "complete":
        again, _ = _run(tmp_path, func=func)
        assert func.calls == [] and all(np.array_equal(again[k], reference[k]) for k in reference)
        return
    with pytest.raises(QgeomInputError, match=r"cannot write there \(Read-only file system\); choose a writable"):
        _run(tmp_path, func=func)
    assert func.calls == []


def test_convergence_study_keeps_one_checkpoint_per_grid(tmp_path):
    """converge(..., checkpoint=DIR) passed DIR to every grid, so the second grid was refused ('differs in: grid')
    after the first had been computed; each grid now has DIR/grid_<N>, and a rerun reads them all."""
    from qgeom.dc import converge

    kw = dict(model=tilted_dirac_2band(), components="xyy", mu=[-0.5, 0.5], temperature=0.2, chunk_size=40,
              progress=False)
    reference = converge(expansion, [20, 28], **kw)
    first = converge(expansion, [20, 28], checkpoint=tmp_path, **kw)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["grid_20", "grid_28"]
    n_saved = [len(_chunks(tmp_path / name)) for name in ("grid_20", "grid_28")]
    assert n_saved == [len(chunk_bounds(make_grid(kw["model"], n), 40)) for n in (20, 28)]
    mtimes = {p: p.stat().st_mtime_ns for p in tmp_path.rglob("chunk_*.npz")}
    again = converge(expansion, [20, 28], checkpoint=tmp_path, **kw)
    assert {p: p.stat().st_mtime_ns for p in tmp_path.rglob("chunk_*.npz")} == mtimes  # nothing recomputed
    for ds in (first, again):
        assert np.array_equal(ds.sigma.values, reference.sigma.values)
        assert np.array_equal(ds.convergence.values, reference.convergence.values)


