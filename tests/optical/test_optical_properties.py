"""[K] properties: PT structure, vanishing without degeneracy, Néel-order signs,
U(2) gauge invariance inside Kramers pairs, independence of degen_tol."""

import numpy as np
import pytest

from optical_refs import rotate_in_degenerate_blocks, spinless_real_3band
from qgeom.bands import Bands
from qgeom.geometry import berry_curvature
from qgeom.optical import chunk_response, detect_parity, operator, response, symmetrize
from qgeom.observables import resolve
from qgeom.optical.units import tau_to_model

KRAMERS = ["kramers_injection", "kramers_fermi_sea"]
ALL = ["injection", "textbook_injection", "kramers_injection", "kramers_fermi_sea", "kramers_unsplit",
       "shift_like", "kramers_injection_geometric", "kramers_fermi_sea_geometric"]
_s = {"0": np.eye(2), "x": np.array([[0, 1], [1, 0]]), "y": np.array([[0, -1j], [1j, 0]]), "z": np.diag([1.0, -1.0])}
# PT-odd (P = τz, T = iσy K) and commuting with the conserved S = τz σz (an S-odd observable would
# give zero Kramers terms by symmetry): σz + ½ τy σy
TZSX = np.kron(_s["0"], _s["z"]) + 0.5 * np.kron(_s["y"], _s["y"])
MBT_OMEGA = np.linspace(0.02, 0.3, 15)


def chunk_chi(b, model, obs, terms, omega, *, mu, tau=1.0, gamma=5e-3, kT=1e-3, wk=None):
    wk = np.full(b.nk, 1.0 / b.nk) if wk is None else wk
    o = resolve(model, obs)
    om = np.concatenate([omega, -omega])
    res = chunk_response(b, wk, o, terms, om, mu=mu, temperature=kT, tau=tau, gamma=gamma, bkind="lorentzian")
    return {t: symmetrize(res[t], len(omega)) for t in terms}


def test_parity_detection(mbt, pt4):
    assert detect_parity(mbt[1], "layer_polarization") == "odd"
    assert detect_parity(mbt[1], "spin_z") == "odd"
    assert detect_parity(pt4, operator(TZSX)) == "odd"
    assert detect_parity(pt4, "current_x") == "even"
    assert detect_parity(pt4, operator(np.kron(np.diag([1.0, -1.0]), np.eye(2)))) == "even"


@pytest.mark.parametrize("case", ["mbt_pz", "mbt_sz", "pt4_odd"])
def test_pt_kramers_terms_imaginary_and_antisymmetric(case, mbt, pt4, mbt_bands):
    if case.startswith("mbt"):
        b, model, obs, om, mu = mbt_bands, mbt[1], {"mbt_pz": "layer_polarization", "mbt_sz": "spin_z"}[case], MBT_OMEGA, 0.01
        gamma = 5e-3
    else:
        rng = np.random.default_rng(3)
        b = Bands.from_model(pt4, rng.uniform(-np.pi, np.pi, (200, 2)))
        model, obs, om, mu, gamma = pt4, operator(TZSX), np.linspace(0.5, 4.0, 12), -1.0, 0.2
    chi = chunk_chi(b, model, obs, KRAMERS + ["injection"], om, mu=mu, gamma=gamma)
    for t, c in chi.items():
        scale = np.abs(c).max()
        assert scale > 1e-6, t
        assert np.abs(c.real).max() < 1e-10 * scale, t  # purely imaginary
        assert np.abs(c + c.swapaxes(1, 2)).max() < 1e-10 * scale, t  # antisymmetric in α ↔ β
        assert np.abs(c[:, 0, 1]).max() > 0.1 * scale


def test_kramers_terms_vanish_without_degeneracy():
    model = spinless_real_3band()
    rng = np.random.default_rng(5)
    b = Bands.from_model(model, rng.uniform(-np.pi, np.pi, (300, 2)), order=1)
    assert not np.any(b.same & ~np.eye(3, dtype=bool)[None])  # no degeneracy at all
    assert np.abs(berry_curvature(b)).max() < 1e-12  # PT = K without degeneracy: Ω_n = 0 at every k
    H = model.hamiltonian(b.k)
    assert np.abs(H.imag).max() < 1e-14  # real Hamiltonian: PT = K
    assert detect_parity(model, "odd") == "odd"
    om = np.linspace(0.3, 3.0, 10)
    chi = chunk_chi(b, model, "odd", KRAMERS + ["injection", "shift_like"], om, mu=0.5, gamma=0.1)
    ref = np.abs(chi["shift_like"]).max()
    assert ref > 1e-3  # shift-like survives without degeneracy (S20)
    for t in KRAMERS + ["injection"]:
        assert np.abs(chi[t]).max() < 1e-10 * ref, t
    # a PT-even observable does give an injection response in the same model: the test can fail
    chi_even = chunk_chi(b, model, "even", ["injection"], om, mu=0.5, gamma=0.1)
    assert np.abs(chi_even["injection"]).max() > 1e-3 * ref


def test_mnbi2te4_kramers_finite_and_neel_signs(mbt):
    om = np.linspace(0.02, 0.3, 29)
    out = {}
    for x in (+1, -1):
        for obs in ("layer_polarization", "spin_z"):
            ds = response(mbt[x], obs, kinds=["kramers_injection", "kramers_fermi_sea", "shift_like"], omega=om,
                          mu=0.01, tau=0.25, grid=(120, 8), broadening=4e-3)
            out[x, obs] = ds.chi.sel(alpha="x", beta="y").imag.values
    pz, sz = out[1, "layer_polarization"], out[1, "spin_z"]
    assert np.abs(pz[0]).max() > 5.0 and np.abs(pz[1]).max() > 0.5  # e/V²: finite KI, KFS
    assert np.abs(sz[0]).max() > 0.5
    for i in range(3):
        s = np.abs(pz[i]).max()
        assert np.abs(out[-1, "layer_polarization"][i] + pz[i]).max() < 1e-8 * s  # p_z flips with x
        assert np.abs(out[-1, "spin_z"][i] - sz[i]).max() < 1e-8 * np.abs(sz[i]).max()  # s_z does not


@pytest.mark.parametrize("case", ["mbt_pz", "pt4_current", "pt4_odd"])
def test_u2_rotation_inside_kramers_pairs(case, mbt, pt4, mbt_bands):
    if case == "mbt_pz":
        b, model, obs, om, mu, gamma = mbt_bands, mbt[1], "layer_polarization", MBT_OMEGA, 0.01, 5e-3
        b = Bands.from_model(model, b.k, order=1)
    else:
        rng = np.random.default_rng(11)
        b = Bands.from_model(pt4, rng.uniform(-np.pi, np.pi, (60, 2)), order=2)
        obs = "current_x" if case == "pt4_current" else operator(TZSX)
        model, om, mu, gamma = pt4, np.linspace(0.5, 4.0, 8), -1.0, 0.2
    rb = rotate_in_degenerate_blocks(b, seed=4)
    assert np.abs(rb.vectors - b.vectors).max() > 0.1  # the rotation is not trivial
    chi0 = chunk_chi(b, model, obs, ALL, om, mu=mu, gamma=gamma)
    chi1 = chunk_chi(rb, model, obs, ALL, om, mu=mu, gamma=gamma)
    overall = max(np.abs(c).max() for c in chi0.values())
    assert overall > 1e-3
    for t in ALL:  # (textbook_injection of a PT-odd observable is ~0: compare on the common scale)
        s = max(np.abs(chi0[t]).max(), 1e-6 * overall)
        assert np.abs(chi1[t] - chi0[t]).max() <= 1e-10 * s, t


def test_independent_of_degen_tol(mbt):
    om = np.linspace(0.02, 0.3, 8)
    kinds = ["injection", "kramers_injection", "kramers_fermi_sea", "shift_like"]
    res = [response(mbt[1], "layer_polarization", kinds=kinds, omega=om, mu=0.01, tau=0.25, grid=(40, 8),
                    degen_tol=tol).chi.values for tol in (1e-9, 1e-8, 1e-7, 1e-6, 1e-5)]
    for r in res[1:]:
        for i in range(len(kinds)):
            assert np.abs(r[i] - res[0][i]).max() < 1e-8 * np.abs(res[0][i]).max()


def test_tau_scaling(mbt_bands, mbt):
    a = chunk_chi(mbt_bands, mbt[1], "layer_polarization", ["kramers_injection", "kramers_fermi_sea"], MBT_OMEGA, mu=0.01, tau=tau_to_model(0.25))
    b = chunk_chi(mbt_bands, mbt[1], "layer_polarization", ["kramers_injection", "kramers_fermi_sea"], MBT_OMEGA, mu=0.01, tau=tau_to_model(0.5))
    assert np.allclose(b["kramers_injection"], 2 * a["kramers_injection"], rtol=1e-12, atol=0)
    assert np.allclose(b["kramers_fermi_sea"], a["kramers_fermi_sea"], rtol=1e-12, atol=0)
    assert abs(tau_to_model(0.25) - 379.817) < 1e-3  # τ/ħ in eV⁻¹


@pytest.mark.parametrize("N", [4, 12])
def test_degenerate_block_commutator_equals_the_matrix_products(N):
    """[O^D, X] at given elements from the band structure of O^D (subspaces are runs of adjacent bands:
    banded) equals O^D X − X O^D by matmul, for subspaces of 1 to 3 states mixed over the k-points of a chunk, and
    for a chunk without any degeneracy."""
    from types import SimpleNamespace

    from qgeom.optical.terms import Chunk, Transition

    rng = np.random.default_rng(N)
    nk, d = 7, 2
    for sizes in ([1, 2, 3], [1]):
        labels = np.array([np.repeat(np.arange(N), rng.choice(sizes, N))[:N] for _ in range(nk)])
        labels[0] = np.arange(N)  # one k-point without a degenerate subspace
        same = labels[:, :, None] == labels[:, None, :]
        O = rng.normal(size=(nk, N, N)) + 1j * rng.normal(size=(nk, N, N))
        O = O + O.conj().swapaxes(-1, -2)
        X = rng.normal(size=(nk, d, N, N)) + 1j * rng.normal(size=(nk, d, N, N))
        ch = SimpleNamespace(OD=O * same, b=SimpleNamespace(same=same, labels=labels, nbands=N, dim=d),
                             fnm=np.zeros((nk, N, N)), _cached=lambda key, f: f())
        ch._commutator_plan = lambda t, orientation: Chunk._commutator_plan(ch, t, orientation)
        ref = (O * same)[:, None] @ X - X @ (O * same)[:, None]
        k, r, c = (x.ravel() for x in np.indices((nk, N, N)))  # every element, inside subspaces too
        t = Transition(ch, (k, r, c), np.ones(nk))
        for got, want in ((Chunk._OD_commutator_at(ch, X, t, "nm"), ref[k, :, r, c]),
                          (Chunk._OD_commutator_at(ch, X, t, "mn"), ref[k, :, c, r])):
            assert np.abs(got - want).max() < 1e-12 * np.abs(ref).max()
