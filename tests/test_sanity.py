"""Input sanity and size guards (issue 15 items 4, 5): absurd values are refused before computing,
with the numbers and the fix; NaN tolerances never accept anything; k·p parser bounds."""

from __future__ import annotations

import shutil
import time
from pathlib import Path

import numpy as np
import pytest
import sympy as sp
from click.testing import CliRunner

from qgeom import QgeomInputError, resources
from qgeom.cli import main
from qgeom.dc import expansion
from qgeom.kspace import integrate
from qgeom.models.kp import KPModel
from qgeom.models.library import pt_tilted_4band, tilted_dirac_2band
from qgeom.models.wannier90 import from_wannier90

GAAS = Path(__file__).resolve().parents[1] / "examples" / "GaAs"


def _cli(*args):
    return CliRunner().invoke(main, list(args))


def test_degen_tol_comparable_to_the_bandwidth_is_refused():
    with pytest.raises(QgeomInputError, match="degen_tol = 10 is comparable to the spread"):
        expansion(pt_tilted_4band(), mu=0.0, temperature=0.1, grid=6, degen_tol=10)
    res = _cli("dc", "--model", "pt_tilted_4band", "--grid", "6", "--degen-tol", "10")
    assert res.exit_code == 2 and "comparable to the spread" in res.output


def test_overflowing_parameters_are_refused_before_computing(tmp_path):
    out = tmp_path / "r.nc"
    res = _cli("dc", "--model", "pt_tilted_4band", "--grid", "6", "--param", "v=1e308", "--out", str(out))
    assert res.exit_code == 2 and "v=1e+308" in res.output and "overflow" in res.output, res.output
    assert not out.exists()
    with pytest.raises(QgeomInputError, match="overflow"):
        expansion(pt_tilted_4band(v=1e308), mu=0.0, temperature=0.1, grid=6)


def test_a_non_finite_k_sum_is_never_returned():
    def nan_sum(b, w):
        return np.full(2, np.nan) * w.sum()

    with pytest.raises(QgeomInputError, match="not finite"):
        integrate(tilted_dirac_2band(), 6, nan_sum, progress=False)


@pytest.mark.parametrize("grid", ["0 0 0", "4 0 4", "4 4"])
def test_mp_grid_with_zeros_is_refused(tmp_path, grid):
    for f in GAAS.glob("GaAs*"):
        shutil.copy(f, tmp_path)
    win = tmp_path / "GaAs.win"
    win.write_text(win.read_text().replace("mp_grid =      2      2      2", f"mp_grid = {grid}"))
    with pytest.raises(QgeomInputError, match="mp_grid.*three positive integers"):
        from_wannier90(tmp_path / "GaAs_tb.dat")


@pytest.mark.parametrize("tol", [float("nan"), 0.0, -1e-6, float("inf")])
def test_nan_or_non_positive_hermiticity_tol_is_refused(tol):
    with pytest.raises(QgeomInputError, match="hermiticity_tol must be a positive finite number"):
        from_wannier90(GAAS / "GaAs_tb.dat", hermiticity_tol=tol)


def test_zero_is_never_replaced_by_a_default():
    for args in (["geometry", "--model", "qi_wu_zhang", "--grid", "0"],
                 ["geometry", "--model", "qi_wu_zhang", "--degen-tol", "0"],
                 ["bands", "--model", "qi_wu_zhang", "--npoints", "0"]):
        res = _cli(*args)
        assert res.exit_code == 2 and "greater than 0" in res.output, (args, res.output)


# --- size guards -------------------------------------------------------------------------------


def test_estimate_scales_and_is_a_small_dataclass():
    small = resources.estimate(nbands=4, dim=2, npoints=200**2)
    assert isinstance(small.bytes, int) and isinstance(small.seconds, float)
    assert 1e6 < small.bytes < 1e9 and small.seconds < 60
    big_mu = resources.estimate(nbands=4, dim=2, npoints=144, n_mu=10**6)
    assert big_mu.bytes > 10 * 2**30  # occupations [k, N, μ] of one chunk
    wide = resources.estimate(nbands=2000, dim=3, npoints=4, nR=1367)
    assert wide.bytes > 10 * 2**30  # the 2000-orbital model: 13.3 GB for 4 k-points
    assert "GiB" in wide.describe()
    # on a grid the Fourier sums cost the R box's extent per k-point, not #R: bcc Fe (N = 16, 1367 R
    # vectors) on 100³ runs ~3 min on one core, and a 25-R model of the same size is not much cheaper
    fe, few = (resources.estimate(nbands=16, dim=3, npoints=100**3, nR=n, n_mu=20) for n in (1367, 25))
    assert 30 < fe.seconds < 600 and fe.seconds < 2 * few.seconds


def test_estimate_counts_the_first_fourier_levels_of_a_grid():
    """The separable Fourier sums pay one GEMM over the whole R box per grid plane (`resources.first_level_ops`):
    most of a wide model's time on a small grid (N = 100 with 2093 R vectors on 12³: 30 s measured, 14 s estimated
    without it, 24 s with it), ~1 % on 100³; nothing for a model without lattice vectors to sum."""
    kw = dict(nbands=100, dim=3, nR=2093)
    for n, share in ((12, (0.3, 0.7)), (100, (0.0, 0.02))):
        total = resources.estimate(npoints=n**3, n_mu=20, **kw).seconds
        first = resources.first_level_ops(npoints=n**3, **kw) / resources.RATE
        assert share[0] < first / total < share[1], n
    assert resources.first_level_ops(nbands=16, dim=3, nR=1, npoints=10**3) == 0.0


def test_estimate_follows_the_integrands_work(monkeypatch):
    """The size guard's time includes the integrand's `relative_cost`: dc.expansion's sums over states grow with
    the components (27 on a 3D model cost ~2× the 4 of the benchmarks, measured on GaAs, Fe and a 32-orbital
    model), and the by-parts forms cost less than the default ones."""
    seen = []
    monkeypatch.setattr(resources, "check", lambda res, what: seen.append(res.seconds) or res)
    from qgeom.models import TightBindingModel

    rng = np.random.default_rng(7)
    hop = {(0, 0, 0): np.diag([-1.0, 0.0, 1.0]).astype(complex)}
    for R in [(1, 0, 0), (0, 1, 0), (0, 0, 1)]:
        hop[R] = 0.3 * (rng.normal(size=(3, 3)) + 1j * rng.normal(size=(3, 3)))
    model = TightBindingModel.from_hoppings(hop, add_conjugates=True)
    kw = dict(mu=0.2, temperature=0.1, grid=4, symmetry=None, error_tol=1e9, progress=False)
    expansion(model, components="xyy", **kw)
    expansion(model, components="all", **kw)
    expansion(model, components="xyy", drude_form="velocity_cubed", geometric_form="metric_by_parts",
              kinetic_form="velocity_cubed", **kw)
    one, every, by_parts = seen
    assert every > 1.5 * one and by_parts < 0.7 * one
    plain = resources.estimate(nbands=2, dim=3, npoints=64)
    assert resources.estimate(nbands=2, dim=3, npoints=64, relative_cost=3.0).seconds == pytest.approx(3 * plain.seconds)


def test_guard_refuses_with_the_numbers_and_force_overrides(monkeypatch):
    monkeypatch.setattr(resources, "available_memory", lambda: 8 * 2**30)
    kw = dict(mu=np.linspace(-4, -3, 10**6), temperature=0.05, grid=12)
    t0 = time.perf_counter()
    with pytest.raises(QgeomInputError, match=r"needs ~.* GiB of memory, more than the 6.4 GiB usable.*--force"):
        expansion(pt_tilted_4band(), **kw)
    assert time.perf_counter() - t0 < 5
    res = _cli("dc", "--model", "pt_tilted_4band", "--grid", "12", "--mu=-4:-3:1000000")
    assert res.exit_code == 2 and "1000000 μ" in res.output and "--force" in res.output
    monkeypatch.setattr(resources, "available_memory", lambda: 2**50)
    res = _cli("dc", "--model", "pt_tilted_4band", "--grid", str(10**12))
    assert res.exit_code == 2 and "k-points" in res.output and ("years" in res.output or "PiB" in res.output)


def test_override_lets_an_oversized_run_through(monkeypatch):
    monkeypatch.setattr(resources, "available_memory", lambda: 1024)
    with pytest.raises(QgeomInputError, match="memory"):
        expansion(tilted_dirac_2band(), mu=0.3, temperature=0.1, grid=6)
    with resources.override():
        ds = expansion(tilted_dirac_2band(), mu=0.3, temperature=0.1, grid=6, error_tol=1e9)
    assert np.isfinite(ds.sigma.values).all()


# --- k·p parser bounds and the Hermiticity check --------------------------------------------------


@pytest.mark.parametrize(
    "expr, message",
    [
        ("(((kx**16)**16)**16)**16", "degree"),
        ("((kx + 1)**8)**4", "degree"),
        ("*".join(["kx"] * 20), "degree"),
        ("((9**16)**16)**16", "exceeds"),
        ("-" * 200000 + "1", "longer than"),
        ("+".join(["kx"] * 50000), "longer than"),
        ("+".join(["kx"] * 4000), "syntax nodes|nests deeper"),
        ("+".join(["kx*ky"] * 1200), "syntax nodes|nests deeper"),
        ("1" * 20000, "longer than|cannot parse"),
        ("9" * 60, "too large"),
        ("(" * 100 + "kx" + ")" * 100, "deeper"),
        ("-" * 1000 + "kx", "deeper"),
    ],
)
def test_kp_parser_bounds(expr, message):
    t0 = time.perf_counter()
    with pytest.raises(QgeomInputError, match=message):
        KPModel([[expr]], dim=2)
    assert time.perf_counter() - t0 < 2


def test_kp_true_degree_allows_low_orders_and_long_sums():
    m = KPModel([["(kx**2 + ky**2)**4 + sin(kx)**2 + " + " + ".join(f"{i}*kx*ky" for i in range(100))]], dim=2)
    assert m.nbands == 1  # degree 8, a sum of 102 terms


def test_float_rotated_kp_matrix_passes_quickly_and_non_hermitian_fails():
    kx, ky = sp.symbols("kx ky", real=True)
    c, s = np.cos(0.3), np.sin(0.3)
    U = sp.Matrix([[c, -s], [s, c]])
    H = U * sp.Matrix([[kx**2 + 1, kx - sp.I * ky], [kx + sp.I * ky, -kx**2 - 1]]) * U.T
    H[0, 1] += 5e-17 * kx  # |H − H†| = 5e-17 |kx|: float round-off of a rotation
    t0 = time.perf_counter()
    m = KPModel(H, dim=2)
    assert time.perf_counter() - t0 < 5
    Hk = m.hamiltonian(np.array([[0.3, -0.2]]), 0)[0]
    assert np.array_equal(Hk, Hk.conj().T)  # symmetrized exactly
    with pytest.raises(QgeomInputError, match="not Hermitian"):
        KPModel([["kx", "I*ky"], ["I*ky", "-kx"]], dim=2)


def test_optical_estimate_is_per_chunk_in_the_frequencies():
    """The optical ω sums are contracted in batches of transition groups, so the memory estimate has no
    ω × N² term per k-point (GaAs 20³ at 2000 ω: 283 MB measured, 19 GiB estimated before) and many ω are not
    refused; the batch size it assumes is the spectral module's."""
    from qgeom.optical import spectral

    assert resources.OPTICAL_TABLE == spectral.TABLE_SIZE
    many = resources.estimate(nbands=16, dim=3, npoints=20**3, nR=19, n_omega=2000)
    few = resources.estimate(nbands=16, dim=3, npoints=20**3, nR=19, n_omega=5)
    assert many.bytes < 2**30 and many.bytes < 2 * few.bytes
    # the contraction's time still grows with ω, slowly beyond a few hundred (far transitions interpolated)
    assert 1.5 * few.seconds < many.seconds < 3 * few.seconds


def test_optical_estimate_follows_the_broadening_kind(monkeypatch):
    """Gaussian tables evaluate Dawson's function: the estimate of a Gaussian run is 2.5× the Lorentzian one (GaAs
    14³: measured 2.0–3.0× at 50–2000 ω)."""
    from qgeom.models import mnbi2te4_bilayer
    from qgeom.optical import response

    seen = []
    monkeypatch.setattr(resources, "check", lambda res, what: seen.append(res.seconds) or res)
    for kind in ("lorentzian", "gaussian"):
        response(mnbi2te4_bilayer(), "current_x", omega=[0.1, 0.2], mu=0.0, temperature=0.01, tau=0.1, grid=(4, 4),
                 broadening_kind=kind, progress=False, symmetry=None)
    assert seen[1] == pytest.approx(2.5 * seen[0], rel=1e-12)


def test_optical_chunks_of_large_models_stay_within_the_chunk_memory():
    """An optical chunk holds at least 64 k-points unless its estimated working set would pass CHUNK_MEMORY:
    at N = 300 the 64 k-points were estimated at 8.7 GiB (2.4 GiB measured); small models keep their chunks."""
    from qgeom.optical.response import CHUNK_MEMORY, optical_chunk_size

    assert optical_chunk_size(16, 3, 50) == 625 and optical_chunk_size(64, 3, 50) == 64
    assert optical_chunk_size(600, 3, 200) == 1
    for N in (100, 200, 300):
        size = optical_chunk_size(N, 3, 200)
        assert 1 <= size < 64
        est = resources.estimate(nbands=N, dim=3, npoints=10**6, n_omega=400, chunk_size=size)
        assert size * resources.bytes_per_point(nbands=N, dim=3, n_omega=400) <= CHUNK_MEMORY
        assert est.bytes < 2**30  # nR = 0: the k-sum's own memory, without the hoppings
