"""The fast ω contraction (`optical.spectral`: pairs n < m, degenerate groups with a first-order
correction, real kernel tables and GEMMs) against the plain sum over every ordered transition
Σ_{k, n, m ∉ D(n)} W_nm g(ω + x_nm), and the kernel tables against the scalar kernels."""

import itertools

import numpy as np
import pytest

from qgeom.bands import Bands
from qgeom.optical import ALL_TERMS, chunk_response, kernels
from qgeom.observables import resolve
from qgeom.optical.scissors import Scissors
from qgeom.optical import spectral
from qgeom.optical.spectral import TIGHT
from qgeom.optical.terms import NUMERATOR_OF, PAIR_CUT, Chunk, Transition, kernel_of, prefactor


def kernel(name, x, gamma, kind):
    if name == "delta":
        return kernels.delta(x, gamma, kind)
    if name == "pf2":
        return kernels.finite_part2(x, gamma, kind)
    if name == "adiabatic":
        return kernels.adiabatic(x, gamma)
    if name == "resonant":
        return -1j * np.pi * kernels.delta(x, gamma, kind)
    return kernels.principal(x, gamma, kind) - 1j * np.pi * kernels.delta(x, gamma, kind)


def direct(b, wk, obs, omega_all, *, mu, kT, tau, gamma, kind, scissors=None):
    """Σ over all ordered transitions, one kernel evaluation per transition and frequency."""
    ch = Chunk(b, obs, mu, kT)
    k, n, m = np.nonzero(~b.same & (np.abs(ch.fnm) > PAIR_CUT))
    x = ch.enm[k, n, m]
    if scissors is not None:
        x = x + scissors.transition_shift(b.nbands)[n, m]
    out = {}
    for term in ALL_TERMS:
        W = prefactor(term, tau) * ch.numerator(NUMERATOR_OF[term], (k, n, m), wk).reshape(len(k), -1)
        g = kernel(kernel_of(term, obs), omega_all[:, None] + x[None, :], gamma, kind)
        out[term] = (g @ W).reshape(len(omega_all), b.dim, b.dim)
    return out


@pytest.fixture(params=["one_table", "blocked"])
def table_blocks(request, monkeypatch):
    """As configured (every frequency in one table, all groups in one batch here), or in blocks of 4 signed
    frequencies (of unequal lengths, 18 = 4 + 5 + 4 + 5 or 12 = 4 + 4 + 4) and batches of 16 groups: the
    sums must not depend on how the contraction is tiled."""
    if request.param == "blocked":
        monkeypatch.setattr(spectral, "FREQ_BLOCK", 4)
        monkeypatch.setattr(spectral, "TABLE_SIZE", 64)
    return request.param


def copy(tables: dict) -> dict:
    return {name: t.copy() for name, t in tables.items()}


def split_blocks(b, spread):
    """`b` with the second band of every degenerate block moved up by `spread` (still inside D(n))."""
    e = b.energies.copy()
    second = np.zeros(e.shape, bool)
    second[:, 1:] = b.labels[:, 1:] == b.labels[:, :-1]
    e[second] += spread
    return Bands(b.k, e, b.vectors, b.v, b.w, b.u, degen_tol=b.degen_tol)


def compared_with_direct(case, mbt, mbt_kpoints, omega, gamma=4e-3):
    """chunk_response of the case's chunk (Kramers pairs of the MnBi2Te4 bilayer; Lorentzian or Gaussian,
    scissors, blocks split inside or beyond the grouping tolerance) against `direct`, to 1e-12 of each term's
    scale: (bands, weights, observable, keywords, the fast sums)."""
    model = mbt[1]
    obs = resolve(model, "current_x" if case == "current_scissors" else "layer_polarization")
    b = Bands.from_model(model, mbt_kpoints, order=2)
    if case == "pz_slope":  # spread well inside TIGHT·γ: one kernel per group plus the slope term
        b = split_blocks(b, 1e-3 * TIGHT * gamma)
    if case == "pz_split":  # spread beyond TIGHT·γ (but in D(n)): the blocks are split into bands
        b = split_blocks(b, 1e-8)
    assert np.all(b.labels[:, -1] == 3)  # four Kramers pairs at every k
    kind = "gaussian" if case.startswith("pz_gaussian") else "lorentzian"
    sc = Scissors(0.03, 4) if case == "current_scissors" else None
    wk = np.linspace(0.5, 1.5, b.nk) / b.nk
    kw = dict(mu=0.01, tau=0.25, gamma=gamma, scissors=sc)
    fast = chunk_response(b, wk, obs, ALL_TERMS, omega, temperature=2e-3, bkind=kind, **kw)
    ref = direct(b, wk, obs, omega, kT=2e-3, kind=kind, **kw)
    for term in ALL_TERMS:
        scale = np.abs(ref[term]).max()
        assert scale > 0, term
        assert np.abs(fast[term] - ref[term]).max() < 1e-12 * scale, term
    return b, wk, obs, dict(temperature=2e-3, bkind=kind, **kw), fast


@pytest.mark.parametrize("case", ["pz_lorentzian", "pz_gaussian", "current_scissors", "pz_slope", "pz_split"])
def test_contraction_equals_direct_sum(case, mbt, mbt_kpoints, table_blocks):
    omega = np.array([-0.2, -0.05, 0.0, 0.01, 0.066, 0.07, 0.13, 0.256, 0.3])  # not of the form [ω, −ω]
    compared_with_direct(case, mbt, mbt_kpoints, omega)


@pytest.mark.parametrize("kind", ["lorentzian", "gaussian"])
def test_kernel_tables_and_slopes(kind):
    gamma, h = 3e-3, 1e-7
    x0, freq = np.linspace(-0.05, 0.05, 101), np.linspace(-0.02, 0.02, 9)
    x = x0[:, None] + freq[None, :]
    ref = {"delta": kernels.delta(x, gamma, kind), "principal": kernels.principal(x, gamma, kind),
           "finite_part2": kernels.finite_part2(x, gamma, kind), "adiabatic": kernels.adiabatic(x, gamma)}
    if kind == "lorentzian":  # the building blocks r = 1/(x² + γ²) and r² (`kernels.real_parts`)
        ref.update(r=1.0 / (x * x + gamma * gamma), r2=1.0 / (x * x + gamma * gamma) ** 2)
    for names in itertools.chain.from_iterable(itertools.combinations(ref, r) for r in range(1, len(ref) + 1)):
        tables = kernels.Tables(names, gamma, kind, 64, freq)
        for s in range(0, len(x0), 64):  # two batches, the second one partial
            rows = slice(s, s + 64)
            val, der = (copy(t) for t in tables(x0[rows], slopes=True))  # views of buffers that get reused
            assert tables(x0[rows])[0].keys() == val.keys()  # without slopes (r alone: one buffer), the same values
            for name, t in tables(x0[rows])[0].items():
                np.testing.assert_array_equal(t, val[name])
            plus, minus = (copy(tables(x0[rows] + d)[0]) for d in (h, -h))
            assert set(val) == set(der) == set(names)
            for name in names:
                scale = np.abs(ref[name]).max()
                assert np.abs(val[name] - ref[name][rows]).max() < 1e-14 * scale, name
                assert np.allclose(der[name], (plus[name] - minus[name]) / (2 * h), rtol=1e-6, atol=1e-6 * scale / gamma)
                flipped = kernels.Tables([name], gamma, kind, 64, -freq)(-x0[rows])[0][name]
                assert np.array_equal(flipped, kernels.PARITY[name] * val[name]), name


@pytest.mark.parametrize("kind", ["lorentzian", "gaussian"])
def test_kernels_as_sums_of_tables(kind):
    """`kernels.real_parts`: every kernel equals Σ coefficient · table (the Lorentzian's δ and Pf from r and
    r², each table of the kernel's parity), so the ω contraction may sum over tables instead of kernels."""
    gamma = 3e-3
    x = np.linspace(-0.05, 0.05, 401)
    for name, scalar in (("delta", lambda: kernels.delta(x, gamma, kind)),
                         ("principal", lambda: kernels.principal(x, gamma, kind)),
                         ("finite_part2", lambda: kernels.finite_part2(x, gamma, kind)),
                         ("adiabatic", lambda: kernels.adiabatic(x, gamma))):
        parts = kernels.real_parts(name, kind, gamma)
        if kind == "lorentzian" and name != "principal":
            assert {table for table, _ in parts} <= {"r", "r2"}, name
        tables = kernels.Tables({table for table, _ in parts}, gamma, kind, len(x), np.zeros(1))(x)[0]
        got = sum(c * tables[table][:, 0] for table, c in parts)
        ref = scalar()
        assert np.abs(got - ref).max() < 1e-13 * np.abs(ref).max(), name
        assert all(kernels.PARITY[table] == kernels.PARITY[name] for table, _ in parts), name


def test_gaussian_finite_part_far_from_resonance_matches_mpmath():
    """Pf_γ(1/x²) = −(2/γ²)(1 − 2uD(u)): the direct formula loses u²·eps (1e-10 at u = 1000); the asymptotic
    branch keeps full precision, continuously across its threshold, in the scalar kernel and the tables."""
    mpmath = pytest.importorskip("mpmath")
    mpmath.mp.dps = 40
    u = np.array([0.3, 3.0, 7.99, 8.0, 8.01, 20.0, -50.0, 1000.0, 1e5])

    def exact(x):
        x = mpmath.mpf(x)
        return float(-2 * (1 - 2 * x * mpmath.sqrt(mpmath.pi) / 2 * mpmath.exp(-x * x) * mpmath.erfi(x)))

    ref = np.array([exact(x) for x in u])
    got = kernels.finite_part2(u, 1.0, "gaussian")
    assert np.max(np.abs(got - ref) / np.abs(ref)) < 1e-13
    table, _ = kernels.Tables({"finite_part2"}, 1.0, "gaussian", len(u), np.zeros(1))(u)
    assert np.max(np.abs(table["finite_part2"][:, 0] - ref) / np.abs(ref)) < 1e-13


def test_gaussian_finite_part_slope_far_from_resonance_matches_mpmath():
    """Pf_γ' = (4/γ³)(D + u(1 − 2uD)): the direct formula's two terms cancel to O(u⁻³) (relative error ~u⁴·eps:
    2e-12 just below the asymptotic branch at u = 8, 1e-4 at u = 1000 before it was used); the asymptotic branch
    keeps full precision (the far transitions of a Gaussian spectrum are interpolated from these slopes)."""
    mpmath = pytest.importorskip("mpmath")
    mpmath.mp.dps = 40
    u = np.array([0.3, 3.0, 7.99, 8.0, 8.01, 20.0, -50.0, 1000.0, 1e5])

    def exact(x):
        x = mpmath.mpf(x)
        D = mpmath.sqrt(mpmath.pi) / 2 * mpmath.exp(-x * x) * mpmath.erfi(x)
        return float(4 * (D + x * (1 - 2 * x * D)))

    ref = np.array([exact(x) for x in u])
    _, slope = kernels.Tables({"finite_part2"}, 1.0, "gaussian", len(u), np.zeros(1))(u, slopes=True)
    err = np.abs(slope["finite_part2"][:, 0] - ref) / np.abs(ref)
    assert err[np.abs(u) >= kernels.ASYMPTOTIC_U].max() < 1e-14 and err.max() < 5e-12


def test_commutators_with_the_diagonal_observable_block_elementwise_where_nondegenerate():
    """[O^D, A] and [O^D, v] are taken elementwise at k-points without a degenerate pair and banded at
    the others (GaAs: degenerate at Γ only): at every element both equal the matmul definition."""
    from pathlib import Path

    from qgeom.models.wannier90 import from_wannier90

    model = from_wannier90(Path(__file__).resolve().parents[2] / "examples" / "GaAs")
    k = np.array([[0.0, 0.0, 0.0], [0.1, 0.2, 0.3], [0.3, -0.1, 0.05]])
    b = Bands.from_model(model, k, order=1)
    assert b.same.sum(axis=2).max(axis=1).tolist()[0] > 1 and b.same.sum(axis=2).max() > 1
    ch = Chunk(b, resolve(model, "current_x"), 8.0, 0.01)
    OD = ch.OD[:, None]
    k, r, c = (x.ravel() for x in np.indices(b.same.shape))
    t = Transition(ch, (k, r, c), np.ones(b.nk))
    from qgeom.geometry import berry_connection

    for X, whole in ((ch.A, berry_connection(b)), (b.v, b.v)):  # ch.A: read at the transitions only
        ref = OD @ whole - whole @ OD
        for got, want in ((ch._OD_commutator_at(X, t, "nm"), ref[k, :, r, c]),
                          (ch._OD_commutator_at(X, t, "mn"), ref[k, :, c, r])):
            np.testing.assert_allclose(got, want, rtol=0, atol=1e-13 * np.abs(ref).max())


@pytest.mark.parametrize("observable", ["current_x", "matrix"])
def test_v_lam_on_the_transition_blocks_equals_the_full_commutator(observable):
    """The numerators read v^{a;λ} only on the band blocks of the contributing transitions
    (`Chunk.pair_bands`): there (both orientations) it equals the full [Õ, v^a] + ∂_a O; on GaAs with
    μ at the conduction-band bottom and kT = 20 meV the blocks leave bands out."""
    from pathlib import Path

    from qgeom.models.wannier90 import from_wannier90

    model = from_wannier90(Path(__file__).resolve().parents[2] / "examples" / "GaAs")
    k = np.random.default_rng(1).uniform(-1, 1, size=(20, 3))
    b = Bands.from_model(model, k, order=2)
    X = np.random.default_rng(2).normal(size=(16, 16))
    obs = resolve(model, "current_x" if observable == "current_x" else X + X.T)
    ch = Chunk(b, obs, 8.0, 0.02)
    lower, upper = ch.pair_bands()
    assert (lower.stop - lower.start) * (upper.stop - upper.start) < 16 * 16 / 2
    full = Chunk(b, obs, 8.0, 0.02)._v_lam_block(slice(None), slice(None))
    kk, n, m = np.nonzero(ch.pair_mask())
    t = Transition(ch, (kk, n, m), np.ones(b.nk))
    for got, ref in ((ch._v_lam_at(t, "nm"), full[kk, :, n, m]), (ch._v_lam_at(t, "mn"), full[kk, :, m, n])):
        np.testing.assert_allclose(got, ref, rtol=0, atol=1e-13 * np.abs(full).max())


@pytest.mark.parametrize("case", ["pz_degenerate", "current_scissors", "nondegenerate", "none_flagged"])
def test_first_returns_the_part_over_the_flagged_states(case, mbt, mbt_kpoints, table_blocks):
    """chunk_response(first=flags): the same sums as without, and beside them the part over the
    transitions from or to the flagged states — what only=flags evaluates on its own (the optical
    near-degenerate diagnostic reads it from the main evaluation). With degenerate groups (Kramers
    pairs), with scissors, without any degenerate subspace (one transition per group), and nothing flagged."""
    model, gamma = mbt[1], 4e-3
    obs = resolve(model, "current_x" if case == "current_scissors" else "layer_polarization")
    b = Bands.from_model(model, mbt_kpoints, order=2)
    if case == "nondegenerate":  # Kramers pairs split far beyond the degeneracy tolerance
        b = split_blocks(b, 1e-3)
        assert np.all(b.labels[:, -1] == b.nbands - 1)
    rng = np.random.default_rng(7)
    flags = rng.random((b.nk, b.nbands)) < 0.3
    flags |= flags[:, np.arange(b.nbands) ^ 1]  # whole Kramers pairs (a grouping changes whole subspaces)
    if case == "none_flagged":
        flags[:] = False
    sc = Scissors(0.03, 4) if case == "current_scissors" else None
    omega = np.array([-0.2, -0.05, 0.0, 0.066, 0.13, 0.3])
    wk = np.linspace(0.5, 1.5, b.nk) / b.nk
    kw = dict(mu=0.01, temperature=2e-3, tau=0.25, gamma=gamma, bkind="lorentzian", scissors=sc)
    plain = chunk_response(b, wk, obs, ALL_TERMS, omega, **kw)
    whole, part = chunk_response(b, wk, obs, ALL_TERMS, omega, first=flags, **kw)
    only = chunk_response(b, wk, obs, ALL_TERMS, omega, only=flags, **kw)
    for term in ALL_TERMS:
        scale = np.abs(plain[term]).max()
        assert scale > 0, term
        assert np.abs(whole[term] - plain[term]).max() <= 1e-13 * scale, term
        assert np.abs(part[term] - only[term]).max() <= 1e-13 * scale, term
        if case == "none_flagged":
            assert not part[term].any(), term
        else:  # a genuine part: neither nothing nor everything
            assert 1e-3 * scale < np.abs(part[term]).max() and np.abs(whole[term] - part[term]).max() > 1e-3 * scale, term


@pytest.mark.parametrize("case", ["pz_lorentzian", "current_scissors", "pz_slope", "pz_gaussian", "pz_gaussian_wide"])
def test_far_groups_interpolated_from_chebyshev_points_equal_the_direct_sum(case, mbt, mbt_kpoints, monkeypatch):
    """Hundreds of frequencies in blocks of ~60: the groups whose resonance lies far from a block are summed at
    its Chebyshev points and interpolated (`spectral._far_from`) — the direct sum to 1e-12, with slopes (spread
    groups), scissors, the Gaussian (its δ dropped far away, Dawson's P and Pf interpolated; with γ = 0.05 the
    8.3 γ rather than the blocks' widths decide what is far) and the part over flagged states; most (group, block)
    pairs are far."""
    assert spectral.GAUSSIAN_FAR >= kernels.ASYMPTOTIC_U  # far Gaussian groups: Dawson's parts on one smooth branch
    monkeypatch.setattr(spectral, "FREQ_BLOCK", 64)
    far = []
    orig = spectral._far_from
    monkeypatch.setattr(spectral, "_far_from", lambda *args: far.append(orig(*args)) or far[-1])
    omega = np.linspace(-0.25, 0.35, 241)  # 367 distinct ±ω: 6 blocks
    b, wk, obs, kw, fast = compared_with_direct(case, mbt, mbt_kpoints, omega, 0.05 if case.endswith("wide") else 4e-3)
    assert len(far) == 6 and (0.2 if case.endswith("wide") else 0.5) < np.concatenate(far).mean() < 1.0
    flags = np.random.default_rng(7).random((b.nk, b.nbands)) < 0.3
    flags |= flags[:, np.arange(b.nbands) ^ 1]
    whole, part = chunk_response(b, wk, obs, ALL_TERMS, omega, first=flags, **kw)
    only = chunk_response(b, wk, obs, ALL_TERMS, omega, only=flags, **kw)
    for term in ALL_TERMS:
        scale = np.abs(fast[term]).max()
        assert np.abs(whole[term] - fast[term]).max() <= 1e-13 * scale, term
        assert np.abs(part[term] - only[term]).max() <= 1e-12 * scale, term
        assert 1e-3 * scale < np.abs(part[term]).max(), term
