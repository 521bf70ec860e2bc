"""Executors: serial, process pool and Dask give identical k-sums (same chunks, chunk-order reduction)."""

from __future__ import annotations

import logging

import numpy as np
import pytest

from qgeom import QgeomInputError
from qgeom.dc import expansion
from qgeom.kspace import integrate
from qgeom.models.library import mnbi2te4_bilayer, pt_tilted_4band, tilted_dirac_2band

from dc_reference import fast_raw_integrands, raw_integrands

MU = np.linspace(-3.6, -2.6, 7)
KW = dict(components="xyy,yxx,xxx", mu=MU, temperature=0.08, grid=36, chunk_size=150,
          mechanisms=["fermionic_bath", "constant_gamma", "rta"], rta=(1.0, 1.0), progress=False)


def _curvature_sum(b, w):
    """A plain-function integrand returning an array: Σ_k w v^x_nn per band."""
    return np.einsum("k,kn->n", w, np.diagonal(b.v[:, 0], axis1=-2, axis2=-1).real)


def assert_identical(a, b, rtol=1e-12):
    scale = np.abs(a).max()
    assert np.abs(a - b).max() <= rtol * scale


@pytest.fixture(scope="module")
def serial():
    return expansion(pt_tilted_4band(), **KW).sigma.values


def test_process_pool_matches_serial(serial):
    pooled = expansion(pt_tilted_4band(), workers=2, **KW).sigma.values
    assert_identical(pooled, serial)


def test_process_pool_array_integrand_and_kp_model():
    # k·p models hold lambdified functions that do not pickle: the pool inherits the task by fork
    m = mnbi2te4_bilayer()
    a = integrate(m, 24, _curvature_sum, chunk_size=100, progress=False)
    b = integrate(m, 24, _curvature_sum, chunk_size=100, workers=2, progress=False)
    assert a.shape == (8,)
    assert_identical(b, a)


def test_dask_local_cluster_matches_serial(serial):
    distributed = pytest.importorskip("distributed")
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=False,
                                  dashboard_address=":0", silence_logs=logging.ERROR) as cluster:
        with distributed.Client(cluster) as client:
            via_client = expansion(pt_tilted_4band(), scheduler=client, **KW).sigma.values
    assert_identical(via_client, serial)
    started = expansion(pt_tilted_4band(), scheduler="local-threads", workers=2, **KW).sigma.values
    assert_identical(started, serial)


def test_dask_local_process_cluster_matches_serial(serial):
    pytest.importorskip("distributed")
    # one worker process: the task travels with cloudpickle (the production path of a real cluster)
    remote = expansion(pt_tilted_4band(), scheduler="local", workers=1, **KW).sigma.values
    assert_identical(remote, serial)


def test_progress_is_reported_with_workers(capsys):
    integrate(tilted_dirac_2band(), 20, _curvature_sum, chunk_size=50, workers=2, progress=True)
    assert "chunk" in capsys.readouterr().err


@pytest.mark.parametrize("bad", [0, -1, 1.5, "2"])
def test_bad_workers_are_refused(bad):
    with pytest.raises(QgeomInputError, match="workers"):
        integrate(tilted_dirac_2band(), 8, _curvature_sum, workers=bad, progress=False)


def test_bad_scheduler_is_refused():
    pytest.importorskip("distributed")
    with pytest.raises(QgeomInputError, match="scheduler"):
        integrate(tilted_dirac_2band(), 8, _curvature_sum, scheduler=3.5, progress=False)


def test_chunk_size_does_not_change_result():
    m = tilted_dirac_2band()
    a = integrate(m, 30, _curvature_sum, chunk_size=7, progress=False)
    b = integrate(m, 30, _curvature_sum, chunk_size=900, progress=False)
    np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-15)


# --- the fast paths that keep the whole run near the eigensolve floor agree with their references


def test_fast_integrands_match_reference_formulas():
    import importlib

    from qgeom.bands import Bands
    from qgeom.dc.components import component_indices, parse_components

    E = importlib.import_module("qgeom.dc.expansion")
    rng = np.random.default_rng(3)
    for model, scale in [(tilted_dirac_2band(), 1.0), (pt_tilted_4band(), 1.0), (mnbi2te4_bilayer(), 0.1)]:
        k = scale * rng.normal(size=(300, 2))
        comps = component_indices(parse_components("all", 2))
        for gf in E.GEOMETRIC_FORMS:
            for kf in E.KINETIC_FORMS:
                order = 3 if kf == "third_derivative" else 2
                ref = raw_integrands(Bands.from_model(model, k, order=order), comps, geometric_form=gf, kinetic_form=kf)
                fast = fast_raw_integrands(Bands.from_model(model, k, order=order), comps, geometric_form=gf, kinetic_form=kf)
                assert ref.keys() == fast.keys()
                scale_all = max(np.abs(x).max() for x, _ in ref.values())
                for name in ref:
                    assert ref[name][1] == fast[name][1]
                    np.testing.assert_allclose(fast[name][0], ref[name][0], rtol=0, atol=1e-12 * scale_all, err_msg=name)


def test_fused_hamiltonian_block_matches_per_order_derivatives():
    from qgeom.bands import Bands

    model = pt_tilted_4band()
    k = np.random.default_rng(4).normal(size=(50, 2))
    b = Bands.from_model(model, k, order=3)
    V = b.vectors
    for order, name in [(1, "v"), (2, "w"), (3, "u")]:
        D = model.hamiltonian(k, order)
        Vr = V.reshape((len(k),) + (1,) * order + V.shape[1:])
        ref = Vr.conj().swapaxes(-1, -2) @ D @ Vr
        np.testing.assert_allclose(getattr(b, name), ref, atol=1e-13)
    np.testing.assert_allclose(b.diagonal(3), np.stack(
        [np.diagonal(b.u[:, a, c, e], axis1=-2, axis2=-1).real for a, c, e in [(0, 0, 0), (0, 0, 1), (0, 1, 1), (1, 1, 1)]], 1),
        atol=1e-13)


@pytest.mark.parametrize("kinetic_form", ["third_derivative", "velocity_cubed"])
def test_binned_mu_sweep_matches_direct_sum(kinetic_form):
    kw = dict(KW, mu=np.linspace(-3.7, -2.5, 60), kinetic_form=kinetic_form,
              geometric_form="metric_by_parts" if kinetic_form == "velocity_cubed" else "metric_dipole")
    import importlib

    F = importlib.import_module("qgeom.dc.fermi_surface_sums")
    from qgeom.dc.components import component_indices, parse_components
    from qgeom.kspace import integrate as integ

    comps = component_indices(parse_components(kw["components"], 2))
    order = 3 if kinetic_form == "third_derivative" else 2
    res = {}
    for method in ("direct", "binned"):
        f = F.FermiSurfaceSums(comps, kw["mu"], kw["temperature"], kw["geometric_form"], kinetic_form, mu_method=method)
        res[method] = integ(pt_tilted_4band(), 36, f, order=order, chunk_size=200, progress=False)
    for name, direct in res["direct"].items():
        assert np.abs(res["binned"][name] - direct).max() <= 1e-11 * np.abs(direct).max(), name


def test_fermi_derivative_any_order_matches_occupation_module():
    from qgeom.occupation import fermi_derivative_any_order as fermi_derivative
    from qgeom.occupation import fermi_dirac

    x = np.concatenate([np.linspace(-60, 60, 1201), [-1e6, 1e6]])
    for p in range(1, 5):
        np.testing.assert_allclose(fermi_derivative(x, p), fermi_dirac(x, 0.0, 1.0, p), rtol=0, atol=1e-15)
    # orders beyond 4: the finite difference of order n−1
    h = 1e-4
    for p in (5, 8):
        fd = (fermi_derivative(x[:-2] + h, p - 1) - fermi_derivative(x[:-2] - h, p - 1)) / (2 * h)
        np.testing.assert_allclose(fermi_derivative(x[:-2], p), fd, rtol=0, atol=1e-5 * np.abs(fd).max())


def test_executor_cli_options_reach_the_command(tmp_path):
    import click
    from click.testing import CliRunner

    from qgeom.cli.executor_options import executor_options

    @click.command()
    @executor_options
    def cmd(executor):
        s = integrate(tilted_dirac_2band(), 10, _curvature_sum, chunk_size=30, progress=False, **executor)
        click.echo(f"{executor['workers']} {executor['scheduler']} {s.sum():.12e}")

    plain = CliRunner().invoke(cmd, [])
    assert plain.exit_code == 0, plain.output
    run = CliRunner().invoke(cmd, ["--workers", "2", "--checkpoint", str(tmp_path / "ck")])
    assert run.exit_code == 0, run.output
    assert run.output.split()[0] == "2" and run.output.split()[2] == plain.output.split()[2]
    assert list((tmp_path / "ck").glob("chunk_*.npz"))
    assert CliRunner().invoke(cmd, ["--workers", "0"]).exit_code == 2
