"""Band geometry by sum over states against independent oracles."""

from __future__ import annotations

import numpy as np
import pytest

from qgeom import geometry
from qgeom.bands import Bands
from qgeom.models import library
from qgeom.summary import band_geometry

QUANTITIES = {
    "velocity": geometry.band_velocity,
    "metric": geometry.quantum_metric,
    "curvature": geometry.berry_curvature,
    "normalized_metric": geometry.energy_normalized_metric,
    "inverse_mass": geometry.inverse_mass,
    "third_derivative": geometry.energy_third_derivative,
    "metric_dipole": geometry.quantum_metric_dipole,
    "curvature_dipole": geometry.berry_curvature_dipole,
}


@pytest.fixture(scope="module")
def mnbi():
    return library.mnbi2te4_bilayer()


def _model(name, mnbi):
    return mnbi if name == "mnbi2te4_bilayer" else getattr(library, name)()


def _kpoints(name, rng, n=4):
    if name == "mnbi2te4_bilayer":  # k ~ 0.1 Å⁻¹, inside the default cutoff
        r = rng.uniform(0.05, 0.14, n)
        phi = rng.uniform(0, 2 * np.pi, n)
        return np.stack([r * np.cos(phi), r * np.sin(phi)], axis=1)
    return rng.uniform(-np.pi, np.pi, size=(n, 2))


def _all(b: Bands) -> dict[str, np.ndarray]:
    return {name: f(b) for name, f in QUANTITIES.items()}


# ---------------------------------------------------------------- finite differences of lower orders

# (analytic derivative, lower-order quantity, Bands order needed for the lower quantity)
FD_PAIRS = [
    ("velocity", lambda b: b.energies, 1),
    ("inverse_mass", geometry.band_velocity, 1),
    ("third_derivative", geometry.inverse_mass, 2),
    ("metric_dipole", geometry.quantum_metric, 1),
    ("curvature_dipole", geometry.berry_curvature, 1),
]
STEP = {"tilted_dirac_2band": 1e-3, "pt_tilted_4band": 1e-3, "mnbi2te4_bilayer": 1e-4}


def fd_along_axes(model, k, lower, order, h, degen_tol=1e-6):
    """∂_a of `lower(Bands)` for every axis a (new leading tensor index), Richardson-extrapolated
    central differences (error O(h⁴))."""

    def central(step):
        cols = []
        for a in range(model.dim):
            e = np.zeros(model.dim)
            e[a] = step
            plus = lower(Bands.from_model(model, k + e, order=order, degen_tol=degen_tol))
            minus = lower(Bands.from_model(model, k - e, order=order, degen_tol=degen_tol))
            cols.append((plus - minus) / (2 * step))
        return np.stack(cols, axis=1)

    return (4 * central(h / 2) - central(h)) / 3


@pytest.mark.parametrize("name", ["tilted_dirac_2band", "pt_tilted_4band", "mnbi2te4_bilayer"])
@pytest.mark.parametrize("quantity, lower, order", FD_PAIRS, ids=[p[0] for p in FD_PAIRS])
def test_sum_over_states_matches_finite_differences(name, quantity, lower, order, mnbi, rng, close):
    model = _model(name, mnbi)
    k = _kpoints(name, rng)
    b = Bands.from_model(model, k, order=3)
    exact = QUANTITIES[quantity](b)
    approx = fd_along_axes(model, k, lower, order, STEP[name])
    # PT-symmetric models have zero pair-averaged curvature: measure against the metric dipole
    floor = np.abs(geometry.quantum_metric_dipole(b)).max() if quantity == "curvature_dipole" else 0.0
    assert max(np.abs(exact).max(), floor) > 1e-6  # the comparison has a nonzero scale
    close(exact, approx, rtol=1e-6, floor=floor, what=f"{name} {quantity}")


def _projector(model, k, bands_slice):
    _, vecs = np.linalg.eigh(model.hamiltonian(k))
    V = vecs[:, :, bands_slice]
    return V @ V.conj().swapaxes(-1, -2)


@pytest.mark.parametrize("name", ["tilted_dirac_2band", "pt_tilted_4band", "mnbi2te4_bilayer"])
def test_metric_and_curvature_match_projector_finite_differences(name, mnbi, rng, close):
    """Independent oracle: Σ_{n∈D} g^{ab}_n = ½ Tr ∂aP ∂bP and Σ_{n∈D} Ω^n_ab = i Tr P[∂aP, ∂bP],
    with P the projector on the (degenerate) subspace D, differentiated numerically."""
    model = _model(name, mnbi)
    k = _kpoints(name, rng, 3)
    h = STEP[name]
    b = Bands.from_model(model, k, order=1)
    g, Om = geometry.quantum_metric(b), geometry.berry_curvature(b)
    deg = 2 if name != "tilted_dirac_2band" else 1
    for start in range(0, model.nbands, deg):
        sl = slice(start, start + deg)
        P = _projector(model, k, sl)
        dP = []
        for a in range(2):
            e = np.zeros(2)
            e[a] = h
            d1 = (_projector(model, k + e, sl) - _projector(model, k - e, sl)) / (2 * h)
            e /= 2
            d2 = (_projector(model, k + e, sl) - _projector(model, k - e, sl)) / h
            dP.append((4 * d2 - d1) / 3)
        g_ref = np.array([[0.5 * np.trace(dP[a] @ dP[c], axis1=-2, axis2=-1).real for c in range(2)] for a in range(2)])
        O_ref = np.array([[(1j * np.trace(P @ (dP[a] @ dP[c] - dP[c] @ dP[a]), axis1=-2, axis2=-1)).real
                           for c in range(2)] for a in range(2)])
        g_sum = np.moveaxis(g[..., sl].sum(-1), 0, -1)
        O_sum = np.moveaxis(Om[..., sl].sum(-1), 0, -1)
        close(g_sum, g_ref, rtol=1e-6, what=f"{name} metric bands {sl}")
        close(O_sum, O_ref, rtol=1e-6, floor=np.abs(g_ref).max(), what=f"{name} curvature bands {sl}")


# ---------------------------------------------------------------- Chern numbers and two-band identities

@pytest.mark.parametrize("u, chern", [(1.0, -1), (-1.0, +1), (3.0, 0)])
def test_qi_wu_zhang_chern_number(u, chern):
    ds = band_geometry(library.qi_wu_zhang(u=u), grid=36, progress=False)
    C = ds["chern_number"].values
    assert C.shape == (2,)
    assert abs(C[0] - chern) < 1e-6, C
    assert abs(C[1] + chern) < 1e-6, C


@pytest.mark.parametrize("factory", [
    library.tilted_dirac_2band, library.qi_wu_zhang, library.pt_tilted_2band,
    lambda: library.pt_tilted_2band(conjugate=True), lambda: library.qi_wu_zhang(u=-1.7),
], ids=["tilted_dirac", "qwz", "pt2", "pt2_conj", "qwz_u-1.7"])
def test_two_band_identities(factory, rng, close):
    """Two bands: det g = Ω²/4 per k and band; g, Ω equal and opposite between the bands;
    G_n = g_n/(ε_n − ε_m); and g = ¼ ∂a d̂·∂b d̂ from the d-vector."""
    model = factory()
    k = rng.uniform(-np.pi, np.pi, size=(25, 2))
    b = Bands.from_model(model, k, order=1)
    g, Om, G = geometry.quantum_metric(b), geometry.berry_curvature(b), geometry.energy_normalized_metric(b)
    det = g[:, 0, 0] * g[:, 1, 1] - g[:, 0, 1] * g[:, 1, 0]
    close(det, Om[:, 0, 1] ** 2 / 4, rtol=1e-10, what="det g vs Ω²/4")
    assert np.abs(Om[:, 0, 1]).max() > 1e-3  # a nontrivial check
    close(g[..., 0], g[..., 1], rtol=1e-12, what="g_0 = g_1")
    close(Om[..., 0], -Om[..., 1], rtol=1e-12, what="Ω_0 = −Ω_1")
    close(Om, -Om.swapaxes(1, 2), rtol=1e-14, what="Ω antisymmetric")
    gap = b.energies[:, 0] - b.energies[:, 1]
    close(G[..., 0], g[..., 0] / gap[:, None, None], rtol=1e-12, what="G_0")
    close(G[..., 1], -g[..., 1] / gap[:, None, None], rtol=1e-12, what="G_1")
    # d-vector formula: H = d0 + d·σ, g_ab = ¼ ∂a d̂ · ∂b d̂
    H, dH = model.hamiltonian(k), model.hamiltonian(k, 1)
    sig = [np.array([[0, 1], [1, 0]]), np.array([[0, -1j], [1j, 0]]), np.diag([1, -1])]
    d = np.stack([0.5 * np.trace(H @ s, axis1=-2, axis2=-1).real for s in sig], -1)
    dd = np.stack([0.5 * np.trace(dH @ s, axis1=-2, axis2=-1).real for s in sig], -1)  # [nk, a, 3]
    dn = np.linalg.norm(d, axis=-1)
    dhat_d = dd / dn[:, None, None] - d[:, None, :] * np.einsum("ki,kai->ka", d, dd)[..., None] / dn[:, None, None] ** 3
    g_ref = 0.25 * np.einsum("kai,kbi->kab", dhat_d, dhat_d)
    close(g[..., 0], g_ref, rtol=1e-10, what="g vs d-vector")


# ---------------------------------------------------------------- Eq. (7) = its two 2×2 blocks

def test_pt_tilted_4band_equals_sum_of_blocks(rng, close):
    k = rng.uniform(-np.pi, np.pi, size=(20, 2))
    b4 = Bands.from_model(library.pt_tilted_4band(), k, order=3)
    ba = Bands.from_model(library.pt_tilted_2band(conjugate=False), k, order=3)
    bb = Bands.from_model(library.pt_tilted_2band(conjugate=True), k, order=3)
    np.testing.assert_allclose(b4.energies[:, 0::2], b4.energies[:, 1::2], atol=1e-12)  # doubly degenerate
    np.testing.assert_allclose(b4.energies[:, 0::2], ba.energies, atol=1e-12)
    np.testing.assert_allclose(b4.energies[:, 0::2], bb.energies, atol=1e-12)
    q4, qa, qb = _all(b4), _all(ba), _all(bb)
    metric_scale = np.abs(q4["metric"]).max()
    for name in QUANTITIES:
        pair_sum = q4[name][..., 0::2] + q4[name][..., 1::2]
        block_sum = qa[name] + qb[name]
        floor = metric_scale if name in ("curvature", "curvature_dipole") else 0.0
        assert max(np.abs(block_sum).max(), floor) > 1e-6  # the comparison has a nonzero scale
        close(pair_sum, block_sum, rtol=1e-10, floor=floor, what=name)
    # the blocks are PT partners: opposite curvature, so the 4-band pair carries none
    assert np.abs(qa["curvature"]).max() > 1e-3
    close(qa["curvature"], -qb["curvature"], rtol=1e-10, what="block curvatures opposite")


# ---------------------------------------------------------------- U(N) gauge invariance, degen_tol

@pytest.mark.parametrize("name", ["pt_tilted_4band", "mnbi2te4_bilayer"])
def test_gauge_invariance_inside_degenerate_subspaces(name, mnbi, rng, rotate, close):
    model = _model(name, mnbi)
    k = _kpoints(name, rng, 6)
    b = Bands.from_model(model, k, order=3)
    ref = _all(b)
    floor = np.abs(ref["metric_dipole"]).max()
    for _ in range(2):
        rb, U = rotate(b, rng)
        # the rotation is a genuine change of gauge: eigenvectors still diagonalize H, v changes
        H = model.hamiltonian(k)
        np.testing.assert_allclose(H @ rb.vectors, rb.vectors * b.energies[:, None, :], atol=1e-12)
        assert np.abs(rb.v - b.v).max() > 1e-3 * np.abs(b.v).max()
        new = _all(rb)
        for q in QUANTITIES:
            fl = floor if q in ("curvature", "curvature_dipole") else 0.0
            close(new[q], ref[q], rtol=1e-10, floor=fl, what=f"{name} {q}")


def test_degen_tol_independence_on_mnbi2te4(mnbi, rng, close):
    k = _kpoints("mnbi2te4_bilayer", rng, 8)
    names = ["metric", "curvature", "normalized_metric", "metric_dipole", "curvature_dipole",
             "velocity", "inverse_mass", "third_derivative"]
    ref = _all(Bands.from_model(mnbi, k, order=3, degen_tol=1e-6))
    floor = np.abs(ref["metric_dipole"]).max()
    for tol in (1e-9, 1e-8, 1e-7, 1e-5):
        b = Bands.from_model(mnbi, k, order=3, degen_tol=tol)
        assert np.all(b.labels[:, 0::2] == b.labels[:, 1::2])  # pairs recognised as degenerate
        out = _all(b)
        for q in names:
            fl = floor if q in ("curvature", "curvature_dipole") else 0.0
            close(out[q], ref[q], rtol=1e-8, floor=fl, what=f"{q} at degen_tol={tol:g}")


# ---------------------------------------------------------------- symmetry and sum rules

def test_tensor_symmetries_and_sum_rules(rng, close):
    model = library.tilted_dirac_2band()
    b = Bands.from_model(model, rng.uniform(-np.pi, np.pi, size=(10, 2)), order=3)
    q = _all(b)
    close(q["metric"], q["metric"].swapaxes(1, 2), rtol=1e-14, what="g symmetric")
    close(q["curvature"], -q["curvature"].swapaxes(1, 2), rtol=1e-14, what="Ω antisymmetric")
    close(q["inverse_mass"], q["inverse_mass"].swapaxes(1, 2), rtol=1e-12, what="mass symmetric")
    t = q["third_derivative"]
    for perm in [(0, 2, 1, 3, 4), (0, 1, 3, 2, 4), (0, 3, 2, 1, 4)]:
        close(t, t.transpose(perm), rtol=1e-10, what=f"∂³ε symmetric {perm}")
    close(q["metric_dipole"], q["metric_dipole"].swapaxes(2, 3), rtol=1e-12, what="∂g symmetric in bc")
    close(q["curvature"].sum(-1), 0 * q["curvature"][..., 0], rtol=1e-12,
          floor=np.abs(q["curvature"]).max(), what="Σ_n Ω_n = 0")
    # Σ_n ∂a∂b ε_n = Tr ∂a∂b H (trace is basis independent)
    close(q["inverse_mass"].sum(-1), np.trace(b.w, axis1=-2, axis2=-1).real, rtol=1e-12, what="Σ mass")


def test_berry_connection_definition(rng, close):
    b = Bands.from_model(library.tilted_dirac_2band(), rng.uniform(-3, 3, size=(5, 2)))
    A = geometry.berry_connection(b)
    e = b.energies
    ref = 1j * b.v / (e[:, None, None, :] - e[:, None, :, None] + np.eye(2))  # off-diagonal part
    ref = ref * (1 - np.eye(2))
    close(A, ref, rtol=1e-13, what="A^a_nm = i v^a_nm/(ε_m − ε_n)")
    g = np.einsum("kanm,kbmn->kabn", A, A).real
    close(geometry.quantum_metric(b), g, rtol=1e-12, what="g = Re A A")
