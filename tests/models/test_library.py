"""Library models: exact derivatives vs finite differences, Hermiticity, degeneracies, seed numbers."""

from __future__ import annotations

import numpy as np
import pytest

from qgeom import QgeomInputError
from qgeom.models import MODELS, Model, library


def fd_derivative(model: Model, k: np.ndarray, order: int, h: float) -> np.ndarray:
    """Central difference of ∂^(order−1)H along every axis, Richardson-extrapolated (error O(h⁴)),
    laid out like model.hamiltonian(k, order): [nk, a, (lower-order indices), N, N]."""

    def central(step):
        out = []
        for a in range(model.dim):
            e = np.zeros(model.dim)
            e[a] = step
            out.append((model.hamiltonian(k + e, order - 1) - model.hamiltonian(k - e, order - 1)) / (2 * step))
        return np.stack(out, axis=1)

    return (4 * central(h / 2) - central(h)) / 3


def check_derivatives(model: Model, k: np.ndarray, h: float, rtol: float = 1e-7) -> None:
    for order in (1, 2, 3):
        exact = model.hamiltonian(k, order)
        assert exact.shape == (len(k),) + (model.dim,) * order + (model.nbands,) * 2
        approx = fd_derivative(model, k, order, h)
        # ∂³H vanishes identically for the quadratic k·p model: compare against the order-1 scale
        scale = max(np.abs(exact).max(), np.abs(model.hamiltonian(k, 1)).max())
        err = np.abs(exact - approx).max()
        assert err <= rtol * scale, f"{model.name} order {order}: FD mismatch {err:.2e} (scale {scale:.2e})"
        # the leading index is the new derivative; all indices must be symmetric
        if order >= 2:
            np.testing.assert_allclose(exact, exact.swapaxes(1, 2), atol=1e-12 * scale)


LATTICE_CASES = [
    ("pt_tilted_4band", {}),
    ("pt_tilted_2band", {}),
    ("pt_tilted_2band", {"conjugate": True}),
    ("tilted_dirac_2band", {}),
    ("qi_wu_zhang", {"u": 1.3}),
    ("asymmetric_chain", {}),
    ("asymmetric_chain", {"phi": 0.7}),
    ("split_pair_2band", {"delta": 0.3}),
]


def test_split_pair_is_the_textured_pair_split_by_delta(rng):
    """H = ε(k) + (Δ/2) n·σ with the unit vector n = (sin q cos kx, sin q sin kx, cos q), q = ky + α."""
    m = library.split_pair_2band(delta=0.3, t=1.0, t2=0.5, phi=1.0, alpha=0.7)
    k = rng.uniform(-np.pi, np.pi, size=(20, 2))
    kx, ky = k.T
    q = ky + 0.7
    eps = -2 * (np.cos(kx) + np.cos(ky)) - np.cos(2 * kx + 1.0)
    n = np.stack([np.sin(q) * np.cos(kx), np.sin(q) * np.sin(kx), np.cos(q)], -1)
    pauli = np.array([[[0, 1], [1, 0]], [[0, -1j], [1j, 0]], [[1, 0], [0, -1]]])
    ref = eps[:, None, None] * np.eye(2) + 0.15 * np.einsum("ki,iab->kab", n, pauli)
    np.testing.assert_allclose(m.hamiltonian(k), ref, atol=1e-14)
    np.testing.assert_allclose(np.diff(np.linalg.eigvalsh(ref), axis=1), 0.3, atol=1e-13)


@pytest.mark.parametrize("name, params", LATTICE_CASES, ids=lambda x: str(x))
def test_lattice_model_derivatives_match_finite_differences(name, params, rng):
    model = MODELS[name](**params)
    k = rng.uniform(-np.pi, np.pi, size=(6, model.dim))
    check_derivatives(model, k, h=1e-3)


@pytest.mark.parametrize("neel", [+1, -1])
def test_mnbi2te4_derivatives_match_finite_differences(neel, rng):
    model = library.mnbi2te4_bilayer(neel=neel)
    k = rng.uniform(-0.1, 0.1, size=(6, 2))
    check_derivatives(model, k, h=1e-3)


def test_hamiltonians_are_hermitian(rng):
    for name, factory in MODELS.items():
        model = factory()
        k = rng.uniform(-0.2, 0.2, size=(5, model.dim)) * (1 if model.is_periodic else 0.5)
        for order in range(4):
            H = model.hamiltonian(k, order)
            np.testing.assert_allclose(H, H.conj().swapaxes(-1, -2), atol=1e-13, err_msg=f"{name} order {order}")


def test_mnbi2te4_k0_levels_each_twice():
    """−0.12627, −0.03463, +0.03096, +0.12994 eV, each twice, for both Néel orders."""
    expected = np.repeat([-0.12627, -0.03463, 0.03096, 0.12994], 2)
    for neel in (+1, -1):
        e = np.linalg.eigvalsh(library.mnbi2te4_bilayer(neel=neel).hamiltonian(np.zeros((1, 2))))[0]
        np.testing.assert_allclose(e, expected, atol=6e-6)
        np.testing.assert_allclose(e[0::2], e[1::2], atol=1e-12)


def test_mnbi2te4_doubly_degenerate_at_random_k(rng):
    k = rng.uniform(-0.25, 0.25, size=(40, 2))
    for neel in (+1, -1):
        e = np.linalg.eigvalsh(library.mnbi2te4_bilayer(neel=neel).hamiltonian(k))
        np.testing.assert_allclose(e[:, 0::2], e[:, 1::2], atol=1e-10)
        # pairs are genuinely separated (not an accidental 8-fold collapse)
        assert np.all(np.diff(e[:, 0::2], axis=1) > 1e-3)


def test_mnbi2te4_metadata_and_operators():
    m = library.mnbi2te4_bilayer(neel=-1)
    assert m.dim == 2 and m.nbands == 8 and not m.is_periodic
    assert m.parameters["neel"] == -1
    assert m.k_cutoff == pytest.approx(library.MNBI2TE4_DEFAULT_CUTOFF)
    assert 0.15 <= m.k_cutoff <= 0.18
    np.testing.assert_array_equal(np.diag(m.operators["layer_polarization"]).real, [1] * 4 + [-1] * 4)
    np.testing.assert_array_equal(np.diag(m.operators["spin_z"]).real, [0.5, -0.5] * 4)
    # the two Néel orders differ only by the sign of h_AFM
    k = np.array([[0.05, -0.03]])
    dH = library.mnbi2te4_bilayer(neel=1).hamiltonian(k) - m.hamiltonian(k)
    p = library.MNBI2TE4_PARAMETERS
    # h_l = h_N − x(−1)^l h_AFM: difference (x=+1) − (x=−1) = −2(−1)^l h_AFM
    hafm = 0.5 * np.array([p["m1"], -p["m2"], p["m2"], -p["m1"]])
    np.testing.assert_allclose(np.diag(dH[0]).real, np.concatenate([2 * hafm, -2 * hafm]), atol=1e-14)


def test_mnbi2te4_bad_arguments():
    with pytest.raises(QgeomInputError, match="neel"):
        library.mnbi2te4_bilayer(neel=0)
    with pytest.raises(QgeomInputError, match="bogus"):
        library.mnbi2te4_bilayer(bogus=1.0)


def test_pt_tilted_4band_doubly_degenerate_and_blocks(rng):
    """Eq. (7) commutes with S = τzσz and splits into h(k) and h*(k); bands doubly degenerate."""
    k = rng.uniform(-np.pi, np.pi, size=(30, 2))
    m4 = library.pt_tilted_4band()
    e4 = np.linalg.eigvalsh(m4.hamiltonian(k))
    np.testing.assert_allclose(e4[:, 0::2], e4[:, 1::2], atol=1e-12)
    ea = np.linalg.eigvalsh(library.pt_tilted_2band().hamiltonian(k))
    eb = np.linalg.eigvalsh(library.pt_tilted_2band(conjugate=True).hamiltonian(k))
    np.testing.assert_allclose(np.sort(np.concatenate([ea, eb], 1), 1), e4, atol=1e-12)
    S = np.diag([1, -1, -1, 1]).astype(complex)
    H = m4.hamiltonian(k)
    np.testing.assert_allclose(S @ H - H @ S, 0, atol=1e-13)
    # the block h(k) = [[M, v−], [v+, −M]] with the seed's formula
    kx, ky = k.T
    M = -3.9 + np.cos(kx) + np.cos(ky) + 0.9 * np.sin(kx)
    h = library.pt_tilted_2band().hamiltonian(k)
    np.testing.assert_allclose(h[:, 0, 0].real, M, atol=1e-13)
    np.testing.assert_allclose(h[:, 0, 1], np.sin(kx) - 1j * np.sin(ky), atol=1e-13)
    np.testing.assert_allclose(library.pt_tilted_2band(conjugate=True).hamiltonian(k), h.conj(), atol=1e-13)


def test_asymmetric_chain_dispersion(rng):
    k = rng.uniform(-np.pi, np.pi, size=(20, 1))
    m = library.asymmetric_chain(t1=1.0, t2=0.5, phi=0.7)
    e = m.hamiltonian(k)[:, 0, 0]
    np.testing.assert_allclose(e.real, -2 * np.cos(k[:, 0]) - 2 * 0.5 * np.cos(2 * k[:, 0] + 0.7), atol=1e-13)
    np.testing.assert_allclose(e.imag, 0, atol=1e-14)
    assert np.abs(e.real - m.hamiltonian(-k)[:, 0, 0].real).max() > 0.1  # ε(k) ≠ ε(−k)


def test_qi_wu_zhang_and_tilted_dirac_formulas(rng):
    k = rng.uniform(-np.pi, np.pi, size=(10, 2))
    kx, ky = k.T
    H = library.qi_wu_zhang(u=-0.7).hamiltonian(k)
    np.testing.assert_allclose(H[:, 0, 0].real, -0.7 + np.cos(kx) + np.cos(ky), atol=1e-13)
    np.testing.assert_allclose(H[:, 0, 1], np.sin(kx) - 1j * np.sin(ky), atol=1e-13)
    H = library.tilted_dirac_2band(v=1.0, m=0.3, b=1.0, tilt=0.4).hamiltonian(k)
    tr = 0.5 * (H[:, 0, 0] + H[:, 1, 1]).real
    dz = 0.5 * (H[:, 0, 0] - H[:, 1, 1]).real
    np.testing.assert_allclose(tr, 0.4 * np.sin(kx), atol=1e-13)
    np.testing.assert_allclose(dz, 0.3 + 2 - np.cos(kx) - np.cos(ky), atol=1e-13)


def test_models_registry_and_describe():
    assert set(MODELS) == {
        "pt_tilted_4band", "pt_tilted_2band", "tilted_dirac_2band", "qi_wu_zhang",
        "asymmetric_chain", "mnbi2te4_bilayer", "mnbi2te4_bilayer_lattice", "split_pair_2band",
    }
    import json

    for name, factory in MODELS.items():
        d = factory().describe()
        assert d["name"] == name
        json.dumps(d)  # JSON-serializable


def test_mnbi2te4_lattice_is_the_kp_model_near_gamma_pt_symmetric_and_neel_time_reversed():
    """k_i → sin(k_i a)/a, k² → 2(2 − cos k_x a − cos k_y a)/a²: equal to the k·p model to O(k³); every band
    a Kramers pair; the −neel model (with its Néel-locked tilt) has the spectrum of the +neel one at −k."""
    from qgeom.models.library import mnbi2te4_bilayer, mnbi2te4_bilayer_lattice
    from qgeom.observables import detect_parity

    lat, kp = mnbi2te4_bilayer_lattice(), mnbi2te4_bilayer()
    k = 0.01 * np.array([[1.0, 0.0], [0.6, -0.8]])
    diff = np.abs(lat.hamiltonian(k) - kp.hamiltonian(k)).max()
    assert diff == pytest.approx(3.20 * 4.33**2 * 0.01**3 / 6, rel=0.01)  # α(k − sin(ka)/a) = αk³a²/6 leads
    assert np.abs(lat.hamiltonian(np.zeros((1, 2))) - kp.hamiltonian(np.zeros((1, 2)))).max() < 1e-14
    up, down = mnbi2te4_bilayer_lattice(neel=1, tilt=0.7), mnbi2te4_bilayer_lattice(neel=-1, tilt=0.7)
    k = np.random.default_rng(1).uniform(-0.7, 0.7, (20, 2))
    e_up, e_down = np.linalg.eigvalsh(up.hamiltonian(k)), np.linalg.eigvalsh(down.hamiltonian(-k))
    assert np.abs(e_up - e_down).max() < 1e-12
    assert np.abs(e_up[:, ::2] - e_up[:, 1::2]).max() < 1e-12  # Kramers pairs
    assert np.abs(np.linalg.eigvalsh(up.hamiltonian(k)) - np.linalg.eigvalsh(up.hamiltonian(-k))).max() > 1e-3
    assert detect_parity(up, "layer_polarization") == "odd" and detect_parity(up, "spin_z") == "odd"
