"""Shared fixtures: a seeded random generator, a gauge-rotation helper for degenerate subspaces, a loader of
the benchmark scripts and the traced peak memory of a call."""

from __future__ import annotations

import importlib.util
import sys
import tracemalloc
from pathlib import Path

import numpy as np
import pytest

BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"


@pytest.fixture
def load_benchmark(monkeypatch):
    """load_benchmark(name): the script benchmarks/NAME.py as a module, with benchmarks/ on sys.path and the
    module registered under its name (a dataclass resolves its annotations through its module)."""
    monkeypatch.syspath_prepend(str(BENCHMARKS))

    def load(name: str):
        spec = importlib.util.spec_from_file_location(name, BENCHMARKS / f"{name}.py")
        module = importlib.util.module_from_spec(spec)
        monkeypatch.setitem(sys.modules, name, module)
        spec.loader.exec_module(module)
        return module

    return load


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(20240611)


def random_unitary(n: int, rng: np.random.Generator) -> np.ndarray:
    """Haar-random U(n) (QR of a complex Gaussian matrix with the phase fix)."""
    z = (rng.standard_normal((n, n)) + 1j * rng.standard_normal((n, n))) / np.sqrt(2)
    q, r = np.linalg.qr(z)
    d = np.diagonal(r)
    return q * (d / np.abs(d))


def rotate_degenerate(bands, rng: np.random.Generator, *, require_degenerate: bool = True):
    """A new Bands whose eigenvectors are rotated by a random unitary inside every degenerate
    subspace (as defined by `bands.labels`), with v, w, u rotated consistently (U† X U)."""
    from qgeom.bands import Bands

    nk, N = bands.nk, bands.nbands
    U = np.zeros((nk, N, N), complex)
    n_degenerate = 0
    for ik in range(nk):
        for lab in np.unique(bands.labels[ik]):
            idx = np.flatnonzero(bands.labels[ik] == lab)
            n_degenerate += len(idx) > 1
            U[ik][np.ix_(idx, idx)] = random_unitary(len(idx), rng)
    if require_degenerate:
        assert n_degenerate > 0, "no degenerate subspace to rotate in"

    def rot(x):
        if x is None:
            return None
        Ur = U.reshape((nk,) + (1,) * (x.ndim - 3) + (N, N))
        return Ur.conj().swapaxes(-1, -2) @ x @ Ur

    return Bands(
        bands.k, bands.energies, bands.vectors @ U, rot(bands.v), rot(bands.w), rot(bands.u),
        degen_tol=bands.degen_tol,
    ), U


@pytest.fixture
def rotate():
    """`rotate(bands, rng)` -> (rotated Bands, U); see `rotate_degenerate`."""
    return rotate_degenerate


def assert_close(actual, expected, *, rtol: float, floor: float = 0.0, what: str = ""):
    """max|actual − expected| ≤ rtol · max(max|expected|, floor)."""
    actual, expected = np.asarray(actual), np.asarray(expected)
    assert actual.shape == expected.shape, f"{what}: shape {actual.shape} != {expected.shape}"
    scale = max(float(np.abs(expected).max(initial=0.0)), floor)
    err = float(np.abs(actual - expected).max(initial=0.0))
    assert err <= rtol * scale, f"{what}: max error {err:.3e} > {rtol:.1e} x scale {scale:.3e}"


@pytest.fixture
def close():
    """`close(actual, expected, rtol=..., floor=..., what=...)`: scaled max-norm comparison."""
    return assert_close



@pytest.fixture
def traced_peak():
    """traced_peak(run): run() and the peak of its traced (numpy and Python) allocations in bytes."""

    def peak(run):
        tracemalloc.start()
        try:
            return run(), tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()

    return peak
