"""The batched kernel tables behind `qgeom.dc.exact` (ψ tabulated once per (k, band, shift), divided
differences assembled from pair and triple tables, (IV) contracted through W = T4/d) against the
plain broadcasting kernels `rho0`, `rho1`, `rho2` and a direct contraction with them."""

from __future__ import annotations

import mpmath
import numpy as np
import pytest

from qgeom.bands import Bands
import kernel_refs as K
from qgeom.dc import psi_tables as PT
from qgeom.dc.components import component_indices
from qgeom.dc.exact import _with_swapped, contour_nodes, contour_radius
from qgeom.dc.exact_sums import FamilySums, matrix_tensors, middle_band_bytes, middle_slabs, triple_tensor
from qgeom.models.library import pt_tilted_4band

MU, KT, GAMMA = 0.1, 0.1, 0.03


def test_psi_series_matches_mpmath():
    z = np.array([0.5 + 0j, 0.53 + 0.4j, 1.7 - 6.2j, 0.51 + 19.9j, 0.5 + 20.1j, 3.0 + 45j, 0.7 - 3e5j])
    c = PT.psi_series(z)
    for j, zz in enumerate(z):
        for q in range(PT.SERIES_ORDER + 1):
            ref = complex(mpmath.polygamma(q, mpmath.mpc(zz.real, zz.imag)) / mpmath.factorial(q))
            assert abs(c[q, j] - ref) <= 1e-14 * abs(ref), (q, zz)


def _energies(nk=60, seed=0):
    """[N = 4, k]: separated bands, exact and rounding-level (1e-15) degeneracies (the first-order
    'near' series), and bands 0.02 apart (clustered but distinct: the per-element Taylor branch)."""
    e = np.sort(np.random.default_rng(seed).uniform(-1.5, 1.5, (nk, 4)), axis=1)
    e[::3, 1] = e[::3, 0]
    e[1::3, 3] = e[1::3, 2] * (1 + 2e-15)
    e[2::5, 2] = e[2::5, 1] + 0.02
    e[4::7] = -2.5 + np.array([0.0, 1e-3, 2e-3, 0.5])  # far below μ: large |z|, wide close branches
    return np.ascontiguousarray(e.T)


def _family(name):
    """(ω1, ω2) node pairs of the contour families of `exact`/`exact_frequency`."""
    zc = contour_nodes(contour_radius(GAMMA, KT, 0.25), 24)
    far = np.array([0.004, 0.05, 0.3])
    if name == "dc":
        return zc, -zc
    if name == "dc_wide":  # β|ω|/2π = 0.09 > SHIFT_RATIO·|z| near μ: ψ there by digamma, not the series
        z = contour_nodes(0.055, 16)
        return z, -z
    if name == "rectification":
        w = np.concatenate([zc, far, -far])
        return w, -w
    w = np.concatenate([zc, far])  # second harmonic: ω1 + ω2 = 2ω, shifted-shifted pairs
    return w, w


@pytest.mark.parametrize("family", ["dc", "dc_wide", "rectification", "second_harmonic"])
def test_kernel_tables_equal_plain_kernels(family):
    """To 1e-12 of the largest ρ̃²: bands 0.02 apart near μ take the far branch of ψ[·,·,·] at the
    edge of its range (|p − q| ≈ τ|z|), where the plain kernels, which difference rounded z values,
    are off by up to 2e-11 relative (mpmath); the tables, built from μ-free differences, by ≤ 6e-13."""
    eps = _energies()
    w1, w2 = _family(family)
    plan = PT.NodePlan.build(w1, w2)
    layout = plan.layout(eps, KT, GAMMA, [MU])
    t = PT.PsiTable.at(eps, plan.shifts, [MU], KT, GAMMA)[0]
    r0, r1, T, _ = PT.kernel_tables(t, eps, plan, layout, KT, GAMMA)
    r2 = PT.rho2_table(eps, plan, layout, r1, T, KT, GAMMA)
    ref0 = K.rho0(eps, MU, KT, GAMMA)
    ref1 = K.rho1(plan.freqs[:, None, None, None], eps[None, :, None], eps[None, None], MU, KT, GAMMA)
    W1, W2 = (w[:, None, None, None, None] for w in (w1, w2))
    ref2 = K.rho2(W1, W2, eps[None, :, None, None], eps[None, None, :, None], eps[None, None, None], MU, KT, GAMMA)
    assert np.abs(r0 - ref0).max() <= 1e-15
    assert np.abs(r1 - ref1).max() <= 1e-13 * np.abs(ref1).max()
    assert np.abs(r2 - ref2).max() <= 1e-12 * np.abs(ref2).max()


def test_band_reach():
    """The largest index distance of a pair closer than the separation at any k; N − 1 if unsorted."""
    eps = np.array([[0.0, 0.0, 0.0], [0.005, 1.0, 0.3], [0.2, 1.1, 0.35], [2.0, 1.15, 3.0]])  # [N = 4, k = 3]
    assert PT.band_reach(eps, 0.01) == 1  # the pair 0.005 apart at k = 0 only
    assert PT.band_reach(eps, 0.06) == 1
    assert PT.band_reach(eps, 0.16) == 2  # bands 1..3 at k = 1 lie within 0.15
    assert PT.band_reach(eps, 10.0) == 3
    assert PT.band_reach(np.array([[0.0], [1.0], [0.5], [2.0]]), 0.1) == 3  # unsorted: every pair counts as near


def _mnbi2te4_lattice():
    from qgeom.models.library import mnbi2te4_bilayer_lattice

    return mnbi2te4_bilayer_lattice(tilt=0.3)


@pytest.mark.parametrize("sign, model, separation, slab", [
    (-1, pt_tilted_4band, None, None), (1, pt_tilted_4band, None, None),
    # 8 bands: most pairs beyond the band reach (their triples and ρ̃¹ differences from the pair tables),
    # at separations that put the reach at 1, in between and at N − 1
    (-1, _mnbi2te4_lattice, 0.002, None), (-1, _mnbi2te4_lattice, 0.05, None), (-1, _mnbi2te4_lattice, 100.0, None),
    # (IV) over slabs of 3, 2 and 3 intermediate bands (as a large model's), both families
    (-1, _mnbi2te4_lattice, 0.05, 3), (1, _mnbi2te4_lattice, None, 3), (-1, _mnbi2te4_lattice, 100.0, 3)])
def test_family_sums_equal_direct_contraction(sign, model, separation, slab, monkeypatch):
    """Kramers-degenerate chunks: the GEMM contraction (through W = T4/d for the DC family, with the pairs of
    bands beyond the band reach through the pair tables; over slabs of the intermediate bands) equals
    Σ_k w [Σ V V ρ̃² J + Σ V ρ̃¹ J + Σ V ρ̃¹ J + Σ ρ̃⁰ J] with the plain kernels."""
    import importlib

    exact_module = importlib.import_module("qgeom.dc.exact_sums")
    if separation is not None:
        monkeypatch.setattr(exact_module, "FAR_SEPARATION", separation / (np.pi * KT + 0.02))
    k = np.random.default_rng(1).uniform(-np.pi, np.pi, (50, 2))
    if model is not pt_tilted_4band:
        k *= 0.08  # Å⁻¹: the lattice model's k near Γ, where its 8 bands cluster in pairs
    b = Bands.from_model(model(), k, order=3)
    w = np.random.default_rng(2).uniform(0.5, 1.5, len(k))
    comps, _, _ = _with_swapped(["xyy", "yxx", "xxy"])
    if slab is not None:  # the working memory of `slab` intermediate bands of the 50-point chunk
        harmonic = sign > 0
        per_band = middle_band_bytes(8, 12, len(comps), harmonic=harmonic)
        monkeypatch.setattr(exact_module, "SLAB_BYTES", slab * 50 * per_band)
        assert [s.stop - s.start for s in middle_slabs(8, 50, 12, len(comps), harmonic=harmonic)] == [3, 2, 3]
    mus, gammas = (np.array([-3.2, 0.4]) if model is pt_tilted_4band else np.array([-0.05, 0.06])), np.array([0.02, 0.05])
    if separation is not None:
        reach = PT.band_reach(b.energies.T, separation)
        assert reach == {0.002: 1, 0.05: 3, 100.0: b.nbands - 1}[separation], reach
    nodes = [contour_nodes(contour_radius(G, KT), 12) for G in gammas]
    got = FamilySums(component_indices(comps), nodes, sign, mus, KT, gammas)(b, w)
    T4, T3, T2, T1 = matrix_tensors(b, component_indices(comps))
    T4 = triple_tensor(T4)
    e = b.energies
    em, el, en = e[:, None, :, None, None], e[:, None, None, :, None], e[:, None, None, None, :]
    for ig, (G, z) in enumerate(zip(gammas, nodes)):
        w1, w2 = z[None, :, None, None], sign * z[None, :, None, None]
        for im, mu in enumerate(mus):
            r0 = K.rho0(e, mu, KT, G)
            r1 = K.rho1(w1, e[:, None, :, None], e[:, None, None, :], mu, KT, G)
            r12 = K.rho1(w1 + w2, e[:, None, :, None], e[:, None, None, :], mu, KT, G)
            r2 = K.rho2(w1[..., None], w2[..., None], em, el, en, mu, KT, G)
            ref = (np.einsum("k,kcmln,kjmln->cj", w, T4, r2) + np.einsum("k,kcmn,kjmn->cj", w, T3, r12)
                   + np.einsum("k,kcmn,kjmn->cj", w, T2, r1) + np.einsum("k,kcn,kn->c", w, T1, r0)[:, None])
            assert np.abs(got[ig, im] - ref).max() <= 1e-12 * np.abs(ref).max(), (G, mu)
