"""Independent NumPy reference for the seed-[K] optical responses of any observable (not part of qgeom).

Written from the defining expressions, e = ħ = 1, k-sum = (1/N_k) Σ over a Monkhorst–Pack grid (a = 1):
  * `velocity_gauge`: the exact second-order rectified ⟨O(k + A(t))⟩ of H(k + A(t)), A = −∫E, for the
    adiabatically switched field E(t) = ½ Σ_ζ E_ζω e^{−iζωt + ηt} (no formula of the seed used);
  * `s9_nondegenerate`: seed S9 at finite η after the integration by parts, written covariantly as
    −i A^β_mn f_nm ⟨n|∂_α Õ_η|m⟩ / (ħω + ε_nm + iη) with Õ_η = Σ |n⟩ O_nm / (ε_nm + 2iη) ⟨m| over n ∉ D(m);
    its η → 0 inside Õ is S15, whose bracket is the covariant derivative ⟨n|∂_α Õ|m⟩ — here by central
    differences of the gauge-invariant operator Õ(k), independent of the S16 rearrangement;
  * `injection` (golden rule S4–S7, each transition once, three-state 𝕆 of Eq. 4) and `kramers` (S11
    numerator A^β_mn f_mn [O^D, A^α]_nm with any kernel).
χ is symmetrized as ½[χ^{αβ}(ω) + χ^{βα}(−ω)] (S10); arrays are (ω, α, β).
"""

from __future__ import annotations

import numpy as np

BONDS = [(1, 0), (0, 1), (1, 1), (1, -1), (2, 0)]
PT_U = np.kron(np.array([[0, 1], [-1, 0]], complex), np.eye(2))  # PT = (iσ_y ⊗ 1) K, (PT)² = −1


class Lattice:
    def __init__(self, hops):
        self.hops = hops
        self.R = np.array(list(hops), float)
        self.t = np.array(list(hops.values()), complex)

    def deriv(self, k, idx=()):
        """∂_{idx} H(k), H = Σ_R t_R e^{ik·R}."""
        c = np.prod([1j * self.R[:, a] for a in idx], axis=0) if idx else 1.0
        return np.einsum("kr,rij->kij", c * np.exp(1j * k @ self.R.T), self.t)


def random_model(seed, kind):
    """4-band insulators: "pt" (random PT-symmetric Kramers pairs, PT-odd O), "generic" (no symmetry),
    "spinless" (PT = K: H(k) real, no degeneracy, PT-odd O imaginary)."""
    rng = np.random.default_rng(seed)
    herm = lambda x: (x + x.conj().T) / 2  # noqa: E731
    cplx = lambda: rng.normal(size=(4, 4)) + 1j * rng.normal(size=(4, 4))  # noqa: E731
    hops = {(0, 0): 0.3 * herm(cplx()) + np.diag([-3.0, -2.5, 2.5, 3.0] if kind != "pt" else [-2.0, 2.0, -2.0, 2.0])}
    for R in BONDS:
        t = 0.12 * cplx()
        hops[R], hops[(-R[0], -R[1])] = t, t.conj().T
    O = herm(cplx())
    if kind in ("pt", "spinless"):
        U = PT_U if kind == "pt" else np.eye(4)
        hops = {R: 0.5 * (t + U @ hops[(-R[0], -R[1])].conj() @ U.conj().T) for R, t in hops.items()}
        O = 0.5 * (O - U @ O.conj() @ U.conj().T)
    return hops, O


def mp_grid(n):
    red = 2 * np.pi * (2 * np.arange(n) - n + 1) / (2 * n)
    kx, ky = np.meshgrid(red, red, indexing="ij")
    return np.stack([kx.ravel(), ky.ravel()], 1)


class Bands:
    def __init__(self, model, k, O, mu, kT, degen_tol=1e-6, w=None):
        self.w = np.full(len(k), 1 / len(k)) if w is None else w  # k-sum weights
        self.e, self.U = np.linalg.eigh(model.deriv(k))
        self.f = 0.5 * (1 - np.tanh((self.e - mu) / (2 * kT)))
        self.de = self.e[:, :, None] - self.e[:, None, :]  # ε_nm
        self.D = np.abs(self.de) < degen_tol
        inv = np.where(self.D, 0.0, 1.0 / np.where(self.D, 1.0, self.de))
        self.v = [self.mat(model.deriv(k, (a,))) for a in range(2)]
        self.r = [-1j * v * inv for v in self.v]  # A_nm = v_nm / (i ε_nm), interband
        self.O = self.mat(O(k) if callable(O) else np.broadcast_to(O, self.U.shape))
        self.OD = np.where(self.D, self.O, 0)
        self.fnm = self.f[:, :, None] - self.f[:, None, :]

    def mat(self, X):
        return np.einsum("kin,kij,kjm->knm", self.U.conj(), X, self.U)


def _symmetrized(W, b, omega, kern):
    """S10 of χ^{αβ}(ω) = Σ_k w_k Σ_nm W^{αβ}_nm kern(ω + ε_nm), W of shape (k, α, β, n, m)."""
    def raw(om):
        return np.array([np.einsum("k,kabnm,knm->ab", b.w, W, kern(o + b.de)) for o in om])
    return 0.5 * (raw(omega) + np.swapaxes(raw(-omega), 1, 2))


def injection(b, omega, tau, gamma):
    """Golden rule: (πτ/4) r^α_nm 𝕆^β_mn f_nm δ_γ, 𝕆^β_mn = Σ_{i∈D(m)} O_mi r^β_in − Σ_{j∈D(n)} O_jn r^β_mj."""
    OO = [b.OD @ r - r @ b.OD for r in b.r]  # [m, n]
    W = np.stack([np.stack([b.r[a] * np.swapaxes(OO[c], 1, 2) * b.fnm for c in range(2)], 1) for a in range(2)], 1)
    return np.pi * tau / 4 * _symmetrized(W, b, omega, lambda x: gamma / np.pi / (x * x + gamma**2))


def kramers(b, omega, kern, prefactor):
    """S11 numerator A^β_mn f_mn [O^D, A^α]_nm (the D(n), D(m) sums) with `kern`(ħω + ε_nm)."""
    br = [b.OD @ r - r @ b.OD for r in b.r]
    W = np.stack([np.stack([np.swapaxes(b.r[c], 1, 2) * -b.fnm * br[a] for c in range(2)], 1) for a in range(2)], 1)
    return prefactor * _symmetrized(W, b, omega, kern)


def s9_nondegenerate(model, k, O, mu, kT, omega, eta, eta_inside, h=1e-4, w=None):
    """(1/4) × S9's non-Kramers part (eta_inside = η) or S15 (eta_inside = 0) with 1/(x + iη); the 1/4
    is this module's normalization of S9, fixed by `velocity_gauge`."""
    def resolvent_op(b):
        X = np.where(b.D, 0, b.O / np.where(b.D, 1.0, b.de + 2j * eta_inside))
        return np.einsum("kin,knm,kjm->kij", b.U, X, b.U.conj())
    b = Bands(model, k, O, mu, kT, w=w)
    dO = []
    for a in range(2):
        s = np.zeros(2); s[a] = h
        p1, m1, p2, m2 = (resolvent_op(Bands(model, k + x * s, O, mu, kT)) for x in (1, -1, 2, -2))
        dO.append(b.mat((8 * (p1 - m1) - (p2 - m2)) / (12 * h)))
    W = np.stack([np.stack([-0.25j * np.swapaxes(b.r[c], 1, 2) * b.fnm * dO[a] for c in range(2)], 1)
                  for a in range(2)], 1)
    return _symmetrized(W, b, omega, lambda x: 1 / (x + 1j * eta))


def velocity_gauge(model, k, O, mu, kT, omega, eta):
    """Exact rectified second-order ⟨O⟩ (constant O) of H(k + A(t)): the coefficient M^{αβ} of
    E^α_{−ω} E^β_ω at t = 0 is e²[χ^{αβ}(ω) + χ^{βα}(−ω)], so this returns M/2 (the symmetrized χ)."""
    e, U = np.linalg.eigh(model.deriv(k))
    f = 0.5 * (1 - np.tanh((e - mu) / (2 * kT)))
    mat = lambda X: np.einsum("kin,kij,kjm->knm", U.conj(), X, U)  # noqa: E731
    h1 = [mat(model.deriv(k, (a,))) for a in range(2)]
    Oe, de, fmn = mat(np.broadcast_to(O, U.shape)), e[:, :, None] - e[:, None, :], f[:, None, :] - f[:, :, None]
    out = np.zeros((len(omega), 2, 2), complex)
    for i, om in enumerate(omega):
        Wp, Wm = om + 1j * eta, -om + 1j * eta
        Ap, Am = 1 / (2j * Wp), 1 / (2j * Wm)  # A_ζ = E_ζ / (2iΩ_ζ)
        for a in range(2):  # E_{−ω} = e_a, E_ω = e_b
            for c in range(2):
                H1p, H1m = Ap * h1[c], Am * h1[a]
                r1p, r1m = H1p * fmn / (Wp - de), H1m * fmn / (Wm - de)
                src = H1m @ r1p - r1p @ H1m + H1p @ r1m - r1m @ H1p + Ap * Am * mat(model.deriv(k, (a, c))) * fmn
                out[i, a, c] = np.einsum("knm,kmn->", Oe, src / (2j * eta - de)) / len(k) / 2
    return out


class MnBi2Te4:
    """Seed [K] Eq. S21 (bilayer MnBi2Te4, eV and Å), Néel order `neel`; ∂_a H by central differences."""

    P = dict(gamma=17.0, m0=-0.04, beta0=9.40, alpha=3.20, m1=0.05, m2=0.09, t1=-0.0533, t2=0.0463, lam=0.0577)
    LP = np.diag([1.0] * 4 + [-1.0] * 4)  # p_z / e
    SZ = 0.5 * np.diag([1.0, -1.0, 1.0, -1.0] * 2)  # s_z / ħ in the basis (Bi+↑, Te−↓, Te−↑, Bi+↓) per layer

    def __init__(self, neel):
        self.neel = neel

    def deriv(self, k, idx=(), h=1e-5):
        if idx:
            s = np.zeros(2); s[idx[0]] = h
            return (self.deriv(k + s) - self.deriv(k - s)) / (2 * h)
        p, kx, ky = self.P, k[:, 0], k[:, 1]
        k2 = kx**2 + ky**2
        m, H = p["m0"] + p["beta0"] * k2, np.zeros((len(k), 8, 8), complex)
        for layer, o in ((1, 0), (2, 4)):
            s = -self.neel * (-1) ** layer  # h_l = h_N − x(−1)^l h_AFM, h_AFM = ½ diag[m1, −m2, m2, −m1]
            for i, (sm, afm) in enumerate(zip((1, -1, -1, 1), (p["m1"], -p["m2"], p["m2"], -p["m1"]))):
                H[:, o + i, o + i] = p["gamma"] * k2 + sm * m + 0.5 * s * afm
            for i in (0, 2):
                H[:, o + i, o + i + 1] = 1j * p["alpha"] * (kx - 1j * ky)
                H[:, o + i + 1, o + i] = -1j * p["alpha"] * (kx + 1j * ky)
        T = np.array([[p["t1"], 0, -p["lam"], 0], [0, p["t2"], 0, p["lam"]], [p["lam"], 0, p["t2"], 0],
                      [0, -p["lam"], 0, p["t1"]]])
        H[:, :4, 4:] += T
        H[:, 4:, :4] += T.T
        return H


def disk(n_r, n_phi, cutoff):
    """Gauss–Legendre radius × midpoint angle on |k| < cutoff; weights of ∫d²k/(2π)²."""
    x, wx = np.polynomial.legendre.leggauss(n_r)
    r, phi = 0.5 * cutoff * (x + 1), 2 * np.pi * (np.arange(n_phi) + 0.5) / n_phi
    R, PHI = np.meshgrid(r, phi, indexing="ij")
    w = np.repeat(0.5 * cutoff * wx * r / (2 * np.pi * n_phi), n_phi)
    return np.stack([(R * np.cos(PHI)).ravel(), (R * np.sin(PHI)).ravel()], 1), w
