"""Internal consistency of the [K] formulas: Eq. 4 = S13 (KI); Eq. 4 = Eq. 1 for PT-even
O; Eqs. 6, 8 = S13, S14; S16 bracket = explicit covariant k-derivative; S11 = exact Liouville
solution at finite η; the S12 split (δ weight π/η) and KI + KFS → S11 as η → 0."""

import numpy as np
import pytest

from optical_refs import liouville_kramers
from qgeom.bands import Bands
from qgeom.occupation import fermi_dirac
from qgeom.optical import kernels, operator
from qgeom.observables import resolve
from qgeom.optical.terms import Chunk, Transition
from test_optical_properties import MBT_OMEGA, TZSX, chunk_chi


def _max_rel(a, b):
    return np.abs(a - b).max() / np.abs(b).max()


@pytest.mark.parametrize("case", ["mbt_pz", "mbt_sz", "pt4_odd", "pt4_current"])
def test_general_injection_equals_kramers_injection(case, mbt, pt4, mbt_bands):
    if case.startswith("mbt"):
        b, model, obs, om, mu, g = mbt_bands, mbt[1], {"mbt_pz": "layer_polarization", "mbt_sz": "spin_z"}[case], MBT_OMEGA, 0.01, 5e-3
    else:
        b = Bands.from_model(pt4, np.random.default_rng(2).uniform(-np.pi, np.pi, (150, 2)))
        model, om, mu, g = pt4, np.linspace(0.5, 4.0, 10), -1.0, 0.2
        obs = operator(TZSX) if case == "pt4_odd" else "current_y"
    chi = chunk_chi(b, model, obs, ["injection", "kramers_injection"], om, mu=mu, gamma=g)
    assert np.abs(chi["injection"]).max() > 1e-8
    assert _max_rel(chi["injection"], chi["kramers_injection"]) < 1e-12


@pytest.mark.parametrize("obs", ["current_x", "current_y", "even_matrix"])
def test_eq4_equals_textbook_for_pt_even(obs, pt4):
    b = Bands.from_model(pt4, np.random.default_rng(9).uniform(-np.pi, np.pi, (150, 2)))
    o = operator(np.kron(np.diag([1.0, -1.0]), np.eye(2)) + 0.3 * np.kron(np.array([[0, 1], [1, 0]]), np.array([[0, 1], [1, 0]]))) if obs == "even_matrix" else obs
    om = np.linspace(0.5, 4.0, 10)
    chi = chunk_chi(b, pt4, o, ["injection", "textbook_injection"], om, mu=-1.0, gamma=0.2)
    assert np.abs(chi["textbook_injection"]).max() > 1e-6
    assert _max_rel(chi["injection"], chi["textbook_injection"]) < 1e-12
    # for a PT-odd observable Eq. 1 misses the three-state terms entirely (can fail by construction)
    odd = chunk_chi(b, pt4, operator(TZSX), ["injection", "textbook_injection"], om, mu=-1.0, gamma=0.2)
    assert np.abs(odd["textbook_injection"]).max() < 1e-10 * np.abs(odd["injection"]).max()


@pytest.mark.parametrize("case", ["mbt_pz", "pt4_current", "pt4_odd"])
def test_geometric_forms_equal_S13_S14(case, mbt, pt4, mbt_bands):
    if case == "mbt_pz":
        b, model, obs, om, mu, g = mbt_bands, mbt[1], "layer_polarization", MBT_OMEGA, 0.01, 5e-3
    else:
        b = Bands.from_model(pt4, np.random.default_rng(4).uniform(-np.pi, np.pi, (150, 2)), order=2)
        model, om, mu, g = pt4, np.linspace(0.5, 4.0, 10), -1.0, 0.2
        obs = "current_x" if case == "pt4_current" else operator(TZSX)
    terms = ["kramers_injection", "kramers_injection_geometric", "kramers_fermi_sea", "kramers_fermi_sea_geometric"]
    chi = chunk_chi(b, model, obs, terms, om, mu=mu, gamma=g)
    assert _max_rel(chi["kramers_injection_geometric"], chi["kramers_injection"]) < 1e-10
    assert _max_rel(chi["kramers_fermi_sea_geometric"], chi["kramers_fermi_sea"]) < 1e-10


def _otilde_operator(model, obs, k, degen_tol=1e-6):
    """Õ_op(k) = Σ_{D≠D'} P_D O P_D' / (ε_D − ε_D'): gauge-invariant, so it can be differentiated
    by finite differences without any gauge fixing."""
    b = Bands.from_model(model, k, order=1, degen_tol=degen_tol)
    O = obs.eig(b)
    V = b.vectors
    return V @ (O * b.inv_de) @ V.conj().swapaxes(-1, -2)


@pytest.mark.parametrize("case", ["mbt_pz", "mbt_sz", "pt4_current", "pt4_odd"])
def test_S16_bracket_is_covariant_derivative(case, mbt, pt4, mbt_kpoints):
    if case.startswith("mbt"):
        model, k, h = mbt[1], mbt_kpoints[:10], 1e-4
        obs = resolve(model, {"mbt_pz": "layer_polarization", "mbt_sz": "spin_z"}[case])
    else:
        model, k, h = pt4, np.random.default_rng(1).uniform(-np.pi, np.pi, (10, 2)), 1e-3
        obs = resolve(model, "current_x" if case == "pt4_current" else operator(TZSX))
    b = Bands.from_model(model, k, order=2)
    ch = Chunk(b, obs, mu=0.0, temperature=1e-3)
    kk, n, m = np.nonzero(ch.pair_mask())  # where the numerators read it: the transitions, both orientations
    t = Transition(ch, (kk, n, m), np.ones(b.nk))
    B = np.zeros(b.v.shape, complex)  # B^a_nm = <n|∂_a Õ_op|m>
    B[kk, :, n, m], B[kk, :, m, n] = ch._B_at(t, "nm"), ch._B_at(t, "mn")
    mask = np.zeros(b.same.shape, bool)
    mask[kk, n, m] = mask[kk, m, n] = True
    assert mask.sum() > 4 * b.nk
    for a in range(2):
        e = np.zeros(2)
        e[a] = h
        f = lambda s: _otilde_operator(model, obs, k + s * e)  # noqa: E731
        dop = (8 * (f(1) - f(-1)) - (f(2) - f(-2))) / (12 * h)
        V = b.vectors
        fd = V.conj().swapaxes(-1, -2) @ dop @ V
        err = np.abs((fd - B[:, a]) * mask).max() / np.abs(B[:, a] * mask).max()
        assert err < 1e-6, (a, err)


def test_S11_equals_exact_liouville_at_finite_eta(mbt, mbt_bands):
    """The unsplit Kramers term (S11, our normalization 1/8) against an independent solution of
    the Liouville equation with adiabatic switching, for circular, linear and elliptic light."""
    b, model = mbt_bands, mbt[1]
    obs = resolve(model, "layer_polarization")
    mu, kT = 0.01, 1e-3
    for eta in (2e-3, 1e-2):
        om = np.array([0.05, 0.07, 0.12, 0.2])
        wk = np.full(b.nk, 1.0 / b.nk)
        chi = chunk_chi(b, model, obs, ["kramers_unsplit"], om, mu=mu, gamma=eta, kT=kT, wk=wk)["kramers_unsplit"]
        O = obs.eig(b)
        f = fermi_dirac(b.energies, mu, kT)
        for E in (np.array([1, 1j]) / np.sqrt(2), np.array([1, -1j]) / np.sqrt(2), np.array([0.6, 0.8]),
                  np.array([0.8, 0.3 + 0.52j])):
            for iw, w in enumerate(om):
                exact = 0.0
                for ik in range(b.nk):
                    bk = Bands(b.k[ik:ik + 1], b.energies[ik:ik + 1], b.vectors[ik:ik + 1], b.v[ik:ik + 1], None, None, b.degen_tol)
                    exact += wk[ik] * liouville_kramers(bk, O[ik], f[ik], E, w, eta)
                ours = 2 * np.einsum("a,ab,b->", E.conj(), chi[iw], E)  # δ⟨O⟩ = 2 Σ χ^{αβ} E^α* E^β
                scale = np.abs(chi).max()
                assert abs(exact.imag) < 1e-10 * scale
                assert abs(ours - exact) < 1e-9 * scale, (eta, w, E)
                assert abs(ours.imag) < 1e-12 * scale


def test_S12_delta_weight_is_pi_over_eta():
    """1/(x²+η²) = 2η²/(x²+η²)² + (x²−η²)/(x²+η²)² → (π/η) δ(x) + Pf 1/x²: the δ weight is π/η
    (S12 as printed has π/(2η); its 'P 1/x²' = x²/(x²+η²)² still hides (π/2η) δ)."""
    L = 40.0
    x = np.linspace(-L, L, 800_001)
    dx = x[1] - x[0]
    fphi = lambda y: np.exp(-((y - 0.3) ** 2)) * (1 + 0.2 * y)  # noqa: E731
    phi = fphi(x)
    phi0, dphi0 = fphi(0.0), (fphi(1e-5) - fphi(-1e-5)) / 2e-5
    # Hadamard finite part: Pf∫φ/x² = ∫(φ − φ0 − x φ0')/x² dx − 2φ0/L on [−L, L]
    xs = np.where(x == 0, 1.0, x)
    sub = np.where(x == 0, (fphi(1e-4) + fphi(-1e-4) - 2 * phi0) / 2e-8 / 2, (phi - phi0 - x * dphi0) / xs**2)
    pf = np.sum(sub) * dx - 2 * phi0 / L
    # the consistent broadened kernel Pf_γ converges to it
    assert abs(np.sum(phi * kernels.finite_part2(x, 2e-3)) * dx - pf) < 0.01 * abs(pf)
    for eta in (0.02, 0.01, 0.005):
        total = np.sum(phi * kernels.adiabatic(x, eta)) * dx
        assert abs(total - (np.pi / eta * phi0 + pf)) < 0.05 * abs(pf) + 20 * eta  # O(η) remainder
        printed = np.pi / (2 * eta) * phi0 + pf  # S12 as printed
        assert abs(total - printed) > 0.5 * np.pi / (2 * eta) * phi0
        half = np.sum(phi * x**2 / (x**2 + eta**2) ** 2) * dx  # S12's "P 1/x²" term
        assert abs(half - pf - np.pi / (2 * eta) * phi0) < 0.05 * abs(pf) + 20 * eta


def test_kernels_consistent():
    x = np.linspace(-3, 3, 601) + 1e-3
    for kind in ("lorentzian", "gaussian"):
        g = 0.05
        h = 1e-5
        dP = (kernels.principal(x + h, g, kind) - kernels.principal(x - h, g, kind)) / (2 * h)
        assert np.allclose(kernels.finite_part2(x, g, kind), -dP, rtol=1e-6, atol=1e-6)
        xx = np.linspace(-60, 60, 1_200_001)
        assert abs(np.sum(kernels.delta(xx, g, kind)) * (xx[1] - xx[0]) - 1) < 2e-3
        far = np.array([2.0, -3.0])
        assert np.allclose(kernels.principal(far, 1e-3, kind), 1 / far, rtol=1e-5)
        assert np.allclose(kernels.finite_part2(far, 1e-3, kind), 1 / far**2, rtol=1e-5)


@pytest.mark.slow
def test_kramers_split_reproduces_S11_as_eta_to_zero(mbt):
    """k-integrated MnBi2Te4: S11(η) − KI(τ = ħ/2η) → KFS linearly in η (the S12 decomposition with
    δ weight π/η). With the printed S12 weight π/(2η) the difference would grow like 1/η."""
    from qgeom.optical import response
    from qgeom.units import HBAR_EV_S, PICOSECOND as PS

    om = np.array([0.03, 0.05, 0.09, 0.14, 0.2])
    kw = dict(omega=om, mu=0.01, temperature=1e-3, grid=(2400, 8))
    ref = response(mbt[1], "layer_polarization", kinds=["kramers_injection", "kramers_fermi_sea"], tau=1.0,
                   broadening=5e-4, broadening_kind="gaussian", **kw).chi.sel(alpha="x", beta="y").values
    ki_per_tau, kfs = ref[0] / 1.0, ref[1]
    errs = []
    for eta in (4e-3, 2e-3, 1e-3):
        s11 = response(mbt[1], "layer_polarization", kinds=["kramers_unsplit"], broadening=eta, **kw).chi.sel(alpha="x", beta="y").values[0]
        tau_ps = HBAR_EV_S / (2 * eta) / PS
        d = s11 - ki_per_tau * tau_ps
        errs.append(np.abs(d - kfs).max() / np.abs(kfs).max())
        wrong = s11 - ki_per_tau * tau_ps / 2  # the printed S12/S13 weight
        assert np.abs(wrong - kfs).max() > 5 * np.abs(d - kfs).max()
    assert errs[2] < 0.7 * errs[0] and errs[2] < 0.15, errs


@pytest.mark.parametrize("kind, reach, tol", [("gaussian", 60, 1e-11), ("lorentzian", 4000, 1e-7)])
def test_principal_part_is_the_hilbert_transform_of_the_delta(kind, reach, tol):
    """P_γ(x) = PV ∫ δ_γ(y) / (x − y) dy by QUADPACK's Cauchy-weight quadrature (independent of the closed forms:
    Dawson's function for the Gaussian, x/(x² + γ²) for the Lorentzian, whose 1/y² tails beyond `reach`·γ set the
    tolerance): the δ and P of one broadening are one regularized resolvent, so KI/KFS/shift stay consistent."""
    from scipy.integrate import quad

    g = 0.05
    for x in (-0.3, -0.07, -0.01, 0.0, 0.02, 0.05, 0.11, 0.4, 1.5):
        pv = quad(lambda y: kernels.delta(np.array([y]), g, kind)[0], -reach * g, reach * g, weight="cauchy",
                  wvar=x, limit=2000)[0]  # PV ∫ f(y)/(y − x) dy
        got = kernels.principal(np.array([x]), g, kind)[0]
        assert abs(got + pv) <= tol * max(abs(pv), 1e-3), (kind, x, got, -pv)
