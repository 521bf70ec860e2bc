"""Wannier90 readers/writer, conventions I/II, MDRS, malformed files, and the GaAs example."""

from __future__ import annotations

import itertools
import warnings
from pathlib import Path

import numpy as np
import pytest

from qgeom._validation import QgeomInputError
from qgeom.models import TightBindingModel, from_wannier90, read_hr, read_tb, read_win, to_wannier90_hr
from qgeom.models.wannier90 import OrbitalPositionModel, read_wsvec

GAAS = Path(__file__).resolve().parents[2] / "examples" / "GaAs"
LATTICE = np.array([[1.0, 0.1, 0.0], [0.2, 1.3, 0.0], [0.0, 0.3, 0.9]])


def random_model(rng, N=3):
    hop = {}
    for R in [(0, 0, 0), (1, 0, 0), (0, 1, 0), (0, 0, 1), (1, -1, 0), (2, 1, 1)]:
        hop[R] = rng.normal(size=(N, N)) + 1j * rng.normal(size=(N, N))
    hop[(0, 0, 0)] = hop[(0, 0, 0)] + hop[(0, 0, 0)].conj().T
    return TightBindingModel.from_hoppings(hop, add_conjugates=True, lattice=LATTICE, name="rand")


def kpts(rng, n=7):
    return rng.normal(size=(n, 3)) * 2.0


# ------------------------------------------------------------------ round trip and conventions


def test_hr_round_trip_identical_hamiltonian(tmp_path, rng):
    m = random_model(rng)
    path = to_wannier90_hr(m, tmp_path / "rand_hr.dat")
    back = from_wannier90(path, lattice=LATTICE)
    assert back.parameters["convention"] == "I" and isinstance(back, TightBindingModel)
    k = kpts(rng)
    for order in range(4):
        np.testing.assert_allclose(back.hamiltonian(k, order), m.hamiltonian(k, order), rtol=0, atol=1e-12)


def test_round_trip_convention_ii_restores_centres(tmp_path, rng):
    tau = rng.normal(size=(3, 3))
    m = OrbitalPositionModel(random_model(rng), tau)
    path = to_wannier90_hr(m, tmp_path / "rand_hr.dat")
    assert (tmp_path / "rand_centres.xyz").is_file()
    back = from_wannier90(path, lattice=LATTICE)
    assert isinstance(back, OrbitalPositionModel)
    np.testing.assert_allclose(back.positions, tau, atol=1e-12)
    k = kpts(rng)
    np.testing.assert_allclose(back.hamiltonian(k, 1), m.hamiltonian(k, 1), atol=1e-11)


def test_convention_ii_phases_and_exact_derivatives(rng):
    base = random_model(rng)
    tau = rng.normal(size=(3, 3))
    m = OrbitalPositionModel(base, tau)
    k = kpts(rng, 4)
    ph = np.exp(1j * k @ tau.T)
    expected = ph.conj()[:, :, None] * base.hamiltonian(k) * ph[:, None, :]
    np.testing.assert_allclose(m.hamiltonian(k), expected, atol=1e-12)
    np.testing.assert_allclose(np.linalg.eigvalsh(m.hamiltonian(k)), np.linalg.eigvalsh(base.hamiltonian(k)), atol=1e-12)
    h = 1e-5
    for order in (1, 2, 3):
        D = m.hamiltonian(k, order)
        for a in range(3):
            dk = np.zeros(3)
            dk[a] = h
            fd = (m.hamiltonian(k + dk, order - 1) - m.hamiltonian(k - dk, order - 1)) / (2 * h)
            np.testing.assert_allclose(D[(Ellipsis, a, slice(None), slice(None))], fd, atol=1e-6 * max(1, np.abs(fd).max()))


def test_degeneracy_weights_divide_hoppings(tmp_path):
    # one orbital, R = ±1 written with ndegen 2 and doubled values: H(k) = 2 cos(k_x) · 1.0 + 0.5
    rows = ["hdr", "1", "3", "    2    1    2"]
    rows += ["   -1    0    0    1    1   2.0   0.0", "    0    0    0    1    1   0.5   0.0", "    1    0    0    1    1   2.0   0.0"]
    p = tmp_path / "c_hr.dat"
    p.write_text("\n".join(rows) + "\n")
    m = from_wannier90(p, lattice=np.eye(3))
    k = np.array([[0.3, 0.0, 0.0]])
    assert m.hamiltonian(k)[0, 0, 0].real == pytest.approx(0.5 + 2 * np.cos(0.3))


def test_wsvec_moves_hoppings(tmp_path):
    a = 0.3 + 0.4j
    rows = ["hdr", "1", "3", "    1    1    1"]
    rows += [f"   -1    0    0    1    1   {a.real}   {-a.imag}", "    0    0    0    1    1   0.0   0.0",
             f"    1    0    0    1    1   {a.real}   {a.imag}"]
    (tmp_path / "c_hr.dat").write_text("\n".join(rows) + "\n")
    ws = ["## written on ... with use_ws_distance=.true.",
          "   -1    0    0    1    1", "    1", "    2    0    0",
          "    0    0    0    1    1", "    1", "    0    0    0",
          "    1    0    0    1    1", "    1", "   -2    0    0"]
    (tmp_path / "c_wsvec.dat").write_text("\n".join(ws) + "\n")
    assert read_wsvec(tmp_path / "c_wsvec.dat")[(1, 0, 0, 1, 1)].tolist() == [[-2, 0, 0]]
    m = from_wannier90(tmp_path / "c_hr.dat", lattice=np.eye(3))
    assert m.parameters["wsvec"] is True
    t = {tuple(r): v[0, 0] for r, v in zip(m.R, m.t)}
    assert t[(-1, 0, 0)] == pytest.approx(a) and t[(1, 0, 0)] == pytest.approx(np.conj(a))
    plain = from_wannier90(tmp_path / "c_hr.dat", lattice=np.eye(3), use_wsvec=False)
    assert {tuple(r): v[0, 0] for r, v in zip(plain.R, plain.t)}[(1, 0, 0)] == pytest.approx(a)


# ------------------------------------------------------------------ malformed files


@pytest.fixture
def hr_file(tmp_path, rng):
    return to_wannier90_hr(random_model(rng, N=2), tmp_path / "m_hr.dat")


def _rewrite(path, edit):
    lines = path.read_text().splitlines()
    edit(lines)
    path.write_text("\n".join(lines) + "\n")


def test_truncated_hr(hr_file):
    _rewrite(hr_file, lambda L: L.__delitem__(slice(-3, None)))
    with pytest.raises(QgeomInputError, match=r"line \d+.*truncated"):
        read_hr(hr_file)


def test_blank_line_inside_the_hr_table(hr_file):
    """A blank line in place of a row is named (it was reported as 'file ends ... truncated' at the last line);
    a blank line between complete rows is read without complaint."""
    lines = hr_file.read_text().splitlines()
    mid = 3 + (len(lines) - 3) // 2  # inside the hoppings table
    _rewrite(hr_file, lambda L: L.__setitem__(mid, ""))
    with pytest.raises(QgeomInputError, match=rf"line {mid + 1}: blank line inside the hoppings.*a row is missing "
                                              r"at this line"):
        read_hr(hr_file)
    hr_file.write_text("\n".join(lines[:mid] + [""] + lines[mid:]) + "\n")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert read_hr(hr_file).H.shape[0] > 0


def test_wrong_nrpts_or_missing_degeneracy_line_names_nrpts(hr_file):
    lines = hr_file.read_text().splitlines()
    nrpts = int(lines[2])
    _rewrite(hr_file, lambda L: L.__setitem__(2, f"{nrpts + 1}"))
    with pytest.raises(QgeomInputError, match=rf"expected integer degeneracies, found .* after {nrpts} of them.*"
                                              rf"the header gives nrpts = {nrpts + 1}: is nrpts wrong, or a line"):
        read_hr(hr_file)
    hr_file.write_text("\n".join(lines[:3] + [""] + lines[4:]) + "\n")  # the first degeneracy line blanked
    with pytest.raises(QgeomInputError, match=r"line 5: expected integer degeneracies, .* before any "
                                              r"\(line 4 is blank\); the header gives nrpts"):
        read_hr(hr_file)


def test_wrong_num_wann_hr(hr_file):
    _rewrite(hr_file, lambda L: L.__setitem__(1, "           1"))
    with pytest.raises(QgeomInputError, match=r"line \d+.*num_wann"):
        read_hr(hr_file)
    _rewrite(hr_file, lambda L: L.__setitem__(1, "           3"))
    with pytest.raises(QgeomInputError, match=r"line \d+"):
        read_hr(hr_file)


def test_non_numeric_field_hr(hr_file):
    def edit(L):
        L[9] = L[9].rsplit(None, 1)[0] + " abc"

    _rewrite(hr_file, edit)
    with pytest.raises(QgeomInputError, match=r"line 10: non-numeric"):
        read_hr(hr_file)


def test_non_hermitian_hr(hr_file):
    lines = hr_file.read_text().splitlines()
    target = next(i for i, s in enumerate(lines) if s.split()[:5] == ["1", "0", "0", "1", "2"])

    def edit(L):
        f = L[target].split()
        L[target] = " ".join(f[:5] + [str(float(f[5]) + 0.1), f[6]])

    _rewrite(hr_file, edit)
    with pytest.raises(QgeomInputError, match=rf"line {target + 1}.*not Hermitian"):
        from_wannier90(hr_file, lattice=LATTICE)


def test_hr_without_lattice_is_an_error(hr_file):
    with pytest.raises(QgeomInputError, match="lattice"):
        from_wannier90(hr_file)


def test_corrupted_tb(tmp_path):
    lines = (GAAS / "GaAs_tb.dat").read_text().splitlines()
    bad = list(lines)
    bad[20] = bad[20].replace("E", "X", 1)
    (tmp_path / "x_tb.dat").write_text("\n".join(bad) + "\n")
    with pytest.raises(QgeomInputError, match=r"line 21: non-numeric"):
        read_tb(tmp_path / "x_tb.dat")
    (tmp_path / "y_tb.dat").write_text("\n".join(lines[:5000]) + "\n")
    with pytest.raises(QgeomInputError, match=r"line \d+.*truncated"):
        read_tb(tmp_path / "y_tb.dat")
    bad = list(lines)
    bad[4] = "          15"
    (tmp_path / "z_tb.dat").write_text("\n".join(bad) + "\n")
    with pytest.raises(QgeomInputError, match=r"line \d+"):
        read_tb(tmp_path / "z_tb.dat")


def test_implausibly_large_values_are_refused_at_their_line(tmp_path, hr_file):
    """A finite but absurd number (a corrupted exponent) is named at its line when the file is read — not
    left to overflow a k-sum into NaN with numpy's RuntimeWarnings first."""
    lines = (GAAS / "GaAs_tb.dat").read_text().splitlines()
    bad = list(lines)
    f = bad[8999].split()
    bad[8999] = " ".join(f[:3] + ["1e300"] + f[4:])  # a position-matrix row (x_im)
    (tmp_path / "p_tb.dat").write_text("\n".join(bad) + "\n")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(QgeomInputError, match=r"line 9000: implausible value 1e\+300 Å in the position matrix"):
            from_wannier90(tmp_path / "p_tb.dat", position_operator="full")

    def edit(L):
        f = L[9].split()
        L[9] = " ".join(f[:5] + ["3e7", f[6]])

    _rewrite(hr_file, edit)
    with pytest.raises(QgeomInputError, match=r"line 10: implausible value 3e\+07 eV in the hoppings"):
        read_hr(hr_file)


# ------------------------------------------------------------------ GaAs


@pytest.fixture(scope="module")
def gaas():
    return from_wannier90(GAAS / "GaAs_tb.dat")


def test_gaas_reads(gaas):
    assert gaas.nbands == 16 and gaas.parameters["convention"] == "II" and gaas.parameters["mdrs"]
    assert gaas.parameters["scissors_shift"] == pytest.approx(1.117)
    assert gaas.parameters["num_valence_bands"] == 8
    win = read_win(GAAS / "GaAs.win")
    np.testing.assert_allclose(win.lattice, read_tb(GAAS / "GaAs_tb.dat").lattice, atol=1e-7)
    e = np.linalg.eigvalsh(gaas.hamiltonian(np.zeros((1, 3))))[0]
    assert e[8] - e[7] == pytest.approx(0.40277, abs=2e-4)  # DFT gap at Γ; + scissors 1.117 → 1.52 eV
    assert np.ptp(e[4:8]) < 1e-5  # Γ8 quartet
    conv1 = from_wannier90(GAAS / "GaAs_tb.dat", convention="I")
    k = np.random.default_rng(3).normal(size=(6, 3))
    np.testing.assert_allclose(np.linalg.eigvalsh(conv1.hamiltonian(k)), np.linalg.eigvalsh(gaas.hamiltonian(k)), atol=1e-10)


def _cubic_ops():
    for perm in itertools.permutations(range(3)):
        for signs in itertools.product((1, -1), repeat=3):
            g = np.zeros((3, 3))
            g[range(3), perm] = signs
            yield g


def test_gaas_mdrs_restores_cubic_symmetry(gaas):
    """With the replica selection the Wannier bands obey Td (+T → O_h) to ~10 meV; without it a
    2×2×2 Wannier model is off by ~1 eV."""
    k = np.random.default_rng(1).normal(size=(10, 3)) * 0.6
    raw = from_wannier90(GAAS / "GaAs_tb.dat", mdrs=False)
    for model, lo, hi in ((gaas, 0.0, 0.02), (raw, 0.5, np.inf)):
        e = np.linalg.eigvalsh(model.hamiltonian(k))
        dev = max(np.abs(np.linalg.eigvalsh(model.hamiltonian(k @ g.T)) - e).max() for g in _cubic_ops())
        assert lo <= dev < hi


def test_gaas_berry_curvature_dipole_vanishes_by_td(gaas):
    """D_abc = Σ_n ∫[dk] ∂_a Ω^n_bc f0 is forbidden by Td. Control: a C3v (polar) perturbation —
    +0.2 eV on the As hybrids along [-1,1,1] — gives a much larger D on the same grid."""
    from qgeom import geometry
    from qgeom.kspace import integrate
    from qgeom.occupation import fermi_dirac

    tau = gaas.positions
    off = tau - np.array([0.25, 0.25, 0.25]) @ gaas.lattice
    pick = (np.linalg.norm(off, axis=1) < 1.0) & (off @ np.array([-1, 1, 1]) / np.linalg.norm(off, axis=1) / np.sqrt(3) > 0.99)
    assert pick.sum() == 2
    t = gaas.base.t.copy()
    r0 = np.flatnonzero(np.all(gaas.base.R == 0, axis=1))[0]
    t[r0][pick, pick] += 0.2
    polar = OrbitalPositionModel(TightBindingModel(gaas.base.R, t, lattice=gaas.lattice), tau)
    mu, kT = 7.5, 0.1

    def bcd(b, w):
        f0 = fermi_dirac(b.energies, mu, kT)
        df = fermi_dirac(b.energies, mu, kT, 1)
        return {"sea": np.einsum("k,kabcn,kn->abc", w, geometry.berry_curvature_dipole(b), f0),
                "surface": -np.einsum("k,kbcn,kan,kn->abc", w, geometry.berry_curvature(b), geometry.band_velocity(b), df)}

    out = {}
    for label, model in (("GaAs", gaas), ("C3v", polar)):
        r = integrate(model, 8, bcd, order=2, offset="gamma", degen_tol=0.05, progress=False)
        out[label] = {key: np.abs(v).max() for key, v in r.items()}
    assert out["GaAs"]["sea"] < 0.3 * out["C3v"]["sea"], out
    assert out["GaAs"]["surface"] < 0.15 * out["C3v"]["surface"], out


def test_default_seedname_takes_the_folder_name():
    """Files with Wannier90's default seedname `wannier90` name the model after their folder (result files
    results/dc_Fe.nc, results/dc_MoS2-1Tp.nc instead of two results/dc_wannier90.nc); another seedname and
    an explicit name= are kept."""
    examples = Path(__file__).resolve().parents[2] / "examples"
    assert from_wannier90(examples / "Fe").name == "Fe"
    assert from_wannier90(examples / "MoS2-1Tp" / "wannier90_hr.dat.xz").name == "MoS2-1Tp"
    assert from_wannier90(examples / "GaAs").name == "GaAs"
    assert from_wannier90(examples / "Fe", name="iron").name == "iron"


def test_spin_operators_of_a_spinor_model_with_known_spin_order():
    """bcc Fe (WannierTools wt.in: spinors, all spin-up first) gets spin_x|y|z = ½σ ⊗ 1 in units of ħ:
    Hermitian, [S_x, S_y] = i S_z, and Σ_occupied ⟨σ_z⟩ = the spin moment, 2.33 μB per atom on a 16³ grid
    (bcc Fe: ~2.2 μB; the interleaved order would give −0.65). GaAs's sp3 spinor hybrids have no
    orbital-independent σ: no spin operators."""
    examples = Path(__file__).resolve().parents[2] / "examples"
    fe = from_wannier90(examples / "Fe")
    Sx, Sy, Sz = (fe.operators[f"spin_{a}"] for a in "xyz")
    np.testing.assert_allclose(Sx @ Sy - Sy @ Sx, 1j * Sz, atol=1e-15)
    assert np.allclose(Sz, Sz.conj().T) and np.allclose(Sz @ Sz, 0.25 * np.eye(16))
    n = 16
    k = (np.stack(np.meshgrid(*[np.arange(n) / n] * 3, indexing="ij"), -1).reshape(-1, 3)) @ fe.reciprocal_lattice
    e, V = np.linalg.eigh(fe.hamiltonian(k, 0))
    sz = np.einsum("kin,ij,kjn->kn", V.conj(), 2 * Sz, V).real
    moment = (sz * (e < fe.parameters["fermi_energy"])).sum() / len(k)
    assert 2.2 < moment < 2.45, moment
    assert not any(name.startswith("spin_") for name in from_wannier90(examples / "GaAs").operators)
