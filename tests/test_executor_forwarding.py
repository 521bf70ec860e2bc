"""workers / scheduler / checkpoint reach the k-sums of `dc.exact`, `optical.response` and
`summary.band_geometry` (and their CLI commands): every executor gives the serial result, and a
checkpointed rerun loads every chunk instead of recomputing it."""

from __future__ import annotations

import pickle
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

import qgeom.kspace as kspace
from qgeom import QgeomInputError
from qgeom.checkpoint import integrand_fingerprint
from qgeom.cli import main
from qgeom.dc.exact import exact, exact_frequency
from qgeom.models.library import qi_wu_zhang, tilted_dirac_2band
from qgeom.optical import current, response
from qgeom.results import load
from qgeom.summary import band_geometry


def _exact(**kw):
    return exact(tilted_dirac_2band(), components="xyy,yxx", mu=[0.0, 0.4], temperature=0.1, gamma=0.02,
                 grid=8, nodes=8, chunk_size=16, progress=False, **kw).sigma.values


def _optical(**kw):
    kw.setdefault("mu", 0.4)
    return response(tilted_dirac_2band(), current("x"), kinds=["kramers_fermi_sea", "shift_like"],
                    omega=np.linspace(0.4, 1.6, 4), temperature=0.05, broadening=0.05, grid=12,
                    chunk_size=32, progress=False, si=False, **kw).chi.values


def _geometry(**kw):
    ds = band_geometry(qi_wu_zhang(u=1.0), grid=12, chunk_size=32, progress=False, **kw)
    return np.concatenate([ds[v].values.ravel() for v in ("berry_curvature_integral", "quantum_metric_integral",
                                                          "energy_mean", "chern_number")])


RUNS = {"exact": _exact, "optical": _optical, "geometry": _geometry}


def assert_close(a, b, rtol=1e-12):
    assert a.shape == b.shape
    assert np.abs(a - b).max() <= rtol * np.abs(a).max(), np.abs(a - b).max()


@pytest.fixture(scope="module")
def serial():
    return {name: run() for name, run in RUNS.items()}


@pytest.mark.parametrize("name", list(RUNS))
def test_process_pool_matches_serial(serial, name):
    assert np.abs(serial[name]).max() > 0
    assert_close(RUNS[name](workers=2), serial[name])


def test_dask_threads_match_serial(serial):
    pytest.importorskip("distributed")
    for name, run in RUNS.items():
        assert_close(run(scheduler="local-threads", workers=2), serial[name])


def test_integrands_pickle():
    """Dask process clusters send the integrand by pickle: module-level classes/functions only."""
    from qgeom.dc.exact_sums import FamilySums
    from qgeom.optical.response import _ChunkResponse
    from qgeom.summary import _band_integrals

    fam = FamilySums((np.array([0]), np.array([1]), np.array([1])), [np.exp(1j * np.arange(4))], -1,
                      np.array([0.0]), 0.1, np.array([0.02]))
    settings = dict(mu=0.0, temperature=0.05, tau_model=None, broadening=0.05, broadening_kind="lorentzian")
    resp = _ChunkResponse(current("x"), ["shift_like"], np.array([0.5, -0.5]), settings, None)
    for func in (fam, resp, _band_integrals):
        again = pickle.loads(pickle.dumps(func))
        assert integrand_fingerprint(again) == integrand_fingerprint(func)
    assert "fingerprint" in integrand_fingerprint(fam) and "fingerprint" in integrand_fingerprint(resp)


@pytest.fixture
def computed(monkeypatch):
    """Counts the chunks computed in this process (serial runs)."""
    calls = []
    original = kspace.chunk_sum

    def counting(*args, **kwargs):
        calls.append(args[3])
        return original(*args, **kwargs)

    monkeypatch.setattr(kspace, "chunk_sum", counting)
    return calls


def _mtimes(directory: Path) -> dict[str, int]:
    return {str(p.relative_to(directory)): p.stat().st_mtime_ns for p in directory.rglob("chunk_*.npz")}


@pytest.mark.parametrize("name", list(RUNS))
def test_checkpoint_rerun_loads_every_chunk(serial, name, tmp_path, computed):
    ckpt = tmp_path / "ckpt"
    first = RUNS[name](checkpoint=ckpt)
    n_chunks = len(computed)
    assert n_chunks > 1 and len(_mtimes(ckpt)) == n_chunks
    before = _mtimes(ckpt)
    computed.clear()
    second = RUNS[name](checkpoint=ckpt)
    assert computed == []
    assert _mtimes(ckpt) == before
    assert np.array_equal(second, first)
    assert_close(first, serial[name])


def test_checkpoint_written_by_pool_resumes_serially(serial, tmp_path, computed):
    first = _optical(checkpoint=tmp_path, workers=2)
    assert computed == []  # the chunks ran in the pool's processes
    again = _optical(checkpoint=tmp_path)
    assert computed == [] and np.array_equal(again, first)
    assert_close(first, serial["optical"])


def test_checkpoint_of_other_parameters_is_refused(tmp_path):
    _optical(checkpoint=tmp_path / "opt")
    with pytest.raises(QgeomInputError, match="different calculation"):
        _optical(checkpoint=tmp_path / "opt", mu=0.5)
    _exact(checkpoint=tmp_path / "exact")
    with pytest.raises(QgeomInputError, match="different calculation"):
        exact(tilted_dirac_2band(), components="xyy,yxx", mu=[0.0, 0.4], temperature=0.1, gamma=0.03,
              grid=8, nodes=8, chunk_size=16, progress=False, checkpoint=tmp_path / "exact")


def test_exact_frequency_checkpoints_each_process(tmp_path, computed):
    kw = dict(components="xyy", mu=0.2, temperature=0.1, gamma=0.02, omega=[0.005, 0.05], grid=8, nodes=8,
              chunk_size=32, progress=False)
    plain = exact_frequency(tilted_dirac_2band(), **kw).sigma.values
    computed.clear()
    first = exact_frequency(tilted_dirac_2band(), checkpoint=tmp_path, **kw).sigma.values
    assert sorted(p.name for p in tmp_path.iterdir()) == ["rectification", "second_harmonic"]
    computed.clear()
    second = exact_frequency(tilted_dirac_2band(), checkpoint=tmp_path, workers=2, **kw).sigma.values
    assert computed == []
    assert np.array_equal(first, plain) and np.array_equal(second, plain)


def test_cli_geometry_with_workers(tmp_path):
    args = ["geometry", "--model", "qi_wu_zhang", "--param", "u=1", "--grid", "12"]
    plain = CliRunner().invoke(main, args + ["--out", str(tmp_path / "a.nc")])
    assert plain.exit_code == 0, plain.output
    res = CliRunner().invoke(main, args + ["--workers", "2", "--checkpoint", str(tmp_path / "ck"),
                                           "--out", str(tmp_path / "b.nc")])
    assert res.exit_code == 0, res.output
    assert "Chern" in res.output
    assert list((tmp_path / "ck").glob("chunk_*.npz"))
    a, b = load(tmp_path / "a.nc"), load(tmp_path / "b.nc")
    for var in ("chern_number", "quantum_metric_integral"):
        assert_close(b[var].values, a[var].values)


def test_cli_optical_and_dc_exact_accept_executor_options(tmp_path):
    res = CliRunner().invoke(main, ["optical", "--model", "tilted_dirac_2band", "--observable", "current_x",
                                    "--kind", "shift_like", "--omega", "0.4", "1.2", "3", "--broadening", "0.05",
                                    "--grid", "8", "--workers", "2", "--checkpoint", str(tmp_path / "opt"),
                                    "--out", str(tmp_path / "o.nc")])
    assert res.exit_code == 0, res.output
    assert list((tmp_path / "opt").glob("chunk_*.npz"))
    res = CliRunner().invoke(main, ["dc-exact", "--model", "tilted_dirac_2band", "--mu", "0.4", "--gamma", "0.02", "--no-fit",
                                    "--grid", "8", "--nodes", "8", "--omega", "0.01,0.05", "--workers", "2",
                                    "--checkpoint", str(tmp_path / "ex"), "--out", str(tmp_path / "e.nc")])
    assert res.exit_code == 0, res.output
    assert list((tmp_path / "ex").glob("chunk_*.npz"))
    assert list((tmp_path / "ex" / "frequency" / "rectification").glob("chunk_*.npz"))


def test_gamma_scan_forwards_executor_to_its_expansion(tmp_path, computed):
    from qgeom.dc.gamma_fit import gamma_scan

    kw = dict(components="xyy", mu=[0.3], temperature=0.1, gammas=np.linspace(0.01, 0.03, 6), grid=8, nodes=8,
              chunk_size=16, progress=False)
    plain = gamma_scan(tilted_dirac_2band(), **kw)
    first = gamma_scan(tilted_dirac_2band(), checkpoint=tmp_path, **kw)
    assert list((tmp_path / "expansion").glob("chunk_*.npz"))  # the comparison expansion checkpointed too
    computed.clear()
    second = gamma_scan(tilted_dirac_2band(), checkpoint=tmp_path, workers=2, **kw)
    assert computed == []
    for var in ("sigma", "expansion"):
        assert np.array_equal(second[var].values, first[var].values)
        assert_close(first[var].values, plain[var].values)


def test_gamma_scan_takes_every_keyword_of_exact():
    """gamma_scan forwards to exact: a keyword exact gains must reach the scan too (symmetry,
    symmetry_tol and observable were added to exact after gamma_scan was written)."""
    import inspect

    from qgeom.dc import exact
    from qgeom.dc.gamma_fit import gamma_scan

    of_exact = {n for n, p in inspect.signature(exact).parameters.items() if p.kind is p.KEYWORD_ONLY}
    of_scan = set(inspect.signature(gamma_scan).parameters)
    assert of_exact - {"gamma"} <= of_scan, sorted(of_exact - {"gamma"} - of_scan)
