"""Independent reference implementations and helpers for the optical tests (not part of qgeom)."""

from __future__ import annotations

import numpy as np

from qgeom.bands import Bands
from qgeom.models.tight_binding import TightBindingModel


def rotate_in_degenerate_blocks(b: Bands, seed: int = 1) -> Bands:
    """A copy of `b` whose eigenvectors are rotated by a random unitary inside every degenerate
    block (U(2) on each Kramers pair), with all matrix elements rotated consistently."""
    rng = np.random.default_rng(seed)
    nk, N = b.energies.shape
    U = np.zeros((nk, N, N), complex)
    for k in range(nk):
        lab = b.labels[k]
        for L in np.unique(lab):
            idx = np.nonzero(lab == L)[0]
            z = rng.normal(size=(len(idx), len(idx))) + 1j * rng.normal(size=(len(idx), len(idx)))
            q, r = np.linalg.qr(z)
            U[k][np.ix_(idx, idx)] = q * (np.diagonal(r) / np.abs(np.diagonal(r)))
    Ud = U.conj().swapaxes(-1, -2)

    def rot(x):
        if x is None:
            return None
        extra = x.ndim - 3
        sh = (nk,) + (1,) * extra + (N, N)
        return Ud.reshape(sh) @ x @ U.reshape(sh)

    return Bands(b.k, b.energies.copy(), b.vectors @ U, rot(b.v), rot(b.w), rot(b.u), degen_tol=b.degen_tol)


def spinless_real_3band() -> TightBindingModel:
    """PT-symmetric (PT = K) spinless model: H(k) real symmetric at every k, no degeneracy,
    no other symmetry. PT-odd observables are imaginary antisymmetric matrices."""
    h0 = np.array([[0.0, 0.3, 0.1], [0.3, 1.0, 0.2], [0.1, 0.2, 2.2]])
    tx = np.array([[0.4, 0.25, 0.0], [0.15, -0.3, 0.2], [0.05, 0.1, 0.5]])
    ty = np.array([[-0.2, 0.0, 0.3], [0.1, 0.35, 0.0], [0.2, -0.1, 0.25]])
    # real t_R with t_{-R} = t_R^T keeps H(k) = Σ t_R e^{ikR} Hermitian; real H needs t_R symmetric?
    # H(k)* = Σ t_R e^{-ikR} = H(-k); to have H(k) real for all k use H = Σ_R (a_R cos kR + b_R sin kR)
    # with a_R real symmetric and b_R real symmetric: t_R = (a_R - i b_R)/2, t_{-R} = t_R^†.
    a_x, b_x = (tx + tx.T) / 2, (ty + ty.T) / 2
    a_y, b_y = np.diag([0.3, -0.2, 0.1]) + 0.1, np.array([[0.2, 0.1, 0.0], [0.1, -0.1, 0.3], [0.0, 0.3, 0.15]])
    hop = {(0, 0): h0, (1, 0): (a_x - 1j * b_x) / 2, (0, 1): (a_y - 1j * b_y) / 2}
    lam2 = np.array([[0, -1j, 0], [1j, 0, 0], [0, 0, 0]])
    lam7 = np.array([[0, 0, 0], [0, 0, -1j], [0, 1j, 0]])
    return TightBindingModel.from_hoppings(hop, add_conjugates=True, name="spinless_real_3band",
                                           operators={"odd": lam2 + 0.5 * lam7,
                                                      "even": np.diag([1.0, -0.5, 0.2])})


def liouville_kramers(b: Bands, O: np.ndarray, f: np.ndarray, Evec: np.ndarray, omega: float, eta: float):
    """Rectified δ⟨O⟩ from the degenerate-outer part of the exact second-order density matrix at
    finite adiabatic η, solved independently from the Liouville equation i dρ/dt = [H0 + V, ρ]
    with V(t) = Σ_{ω1=±ω} ½ E_{ω1}·A e^{−iω1 t + ηt} (single k-point, interband dipole A):
        ρ1_pq = Σ V_pq(ω1) (f_q − f_p)/(ω1 − ε_pq + iη),   ρ2_nm = −Σ [V(ω1), ρ1(−ω1)]_nm/(ε_nm − 2iη),
    keeping n ∈ D(m) and summing δ⟨O⟩ = Σ O_mn ρ2_nm over k with the weights already in f? (one k).
    O, f, A for ONE k-point (index 0 of b). Returns a complex number (imaginary part ~ 0)."""
    e = b.energies[0]
    A = -1j * b.v[0] * b.inv_de[0][None]
    same = b.same[0]
    enm = e[:, None] - e[None, :]
    fqp = f[None, :] - f[:, None]  # at [p, q]: f_q − f_p
    fields = {+1: Evec, -1: Evec.conj()}
    total = 0.0
    for s1 in (+1, -1):
        V1 = 0.5 * np.einsum("a,anm->nm", fields[s1], A)
        V2 = 0.5 * np.einsum("a,anm->nm", fields[-s1], A)
        w2 = -s1 * omega
        R = V2 * fqp / (w2 - enm + 1j * eta)
        C = V1 @ R - R @ V1
        rho2 = -C / (enm - 2j * eta)
        total += np.sum(O.T * rho2 * same)  # Σ_{n∈D(m)} O_mn ρ2_nm
    return total


def dirac2_injection_analytic(params: dict, k: np.ndarray, wk: np.ndarray, omega, gamma, mu, kT, tau, direction):
    """Injection current χ^{αβ}_γ(ω) of H = d0 + d·σ (tilted_dirac_2band) from the d-vector alone:
        χ^{αβ} = (πτ/4) Σ_k (f_− − f_+) ∂_γ(2|d|) [Q^{αβ} δ(ω − 2|d|) + Q^{βα} δ(ω + 2|d|)],
    Q^{αβ} = ¼[∂_α n·∂_β n − i n·(∂_α n × ∂_β n)] (quantum geometric tensor of the lower band,
    = A^α_{−+} A^β_{+−}), n = d/|d|; δ is the Lorentzian of width γ."""
    v, m, bb, tilt = params["v"], params["m"], params["b"], params["tilt"]
    kx, ky = k[:, 0], k[:, 1]
    d = np.stack([v * np.sin(kx), v * np.sin(ky), m + bb * (2 - np.cos(kx) - np.cos(ky))], 1)
    dd = np.zeros((len(k), 2, 3))  # ∂_a d_i
    dd[:, 0] = np.stack([v * np.cos(kx), 0 * kx, bb * np.sin(kx)], 1)
    dd[:, 1] = np.stack([0 * kx, v * np.cos(ky), bb * np.sin(ky)], 1)
    dnorm = np.linalg.norm(d, axis=1)
    n = d / dnorm[:, None]
    dn = (dd - np.einsum("kai,ki->ka", dd, n)[:, :, None] * n[:, None, :]) / dnorm[:, None, None]
    gmet = np.einsum("kai,kbi->kab", dn, dn)
    Om = np.einsum("ki,kabi->kab", n, np.cross(dn[:, :, None, :], dn[:, None, :, :]))
    Q = 0.25 * (gmet - 1j * Om)
    d0 = tilt * np.sin(kx)
    ep, em = d0 + dnorm, d0 - dnorm
    fermi = lambda x: 0.5 * (1 - np.tanh((x - mu) / (2 * kT)))  # noqa: E731
    wfac = (np.pi * tau / 4) * wk * (fermi(em) - fermi(ep)) * 2 * np.einsum("kai,ki->ka", dd, n)[:, direction]
    L = lambda x: (gamma / np.pi) / (x**2 + gamma**2)  # noqa: E731
    gap = ep - em
    omega = np.asarray(omega, float)[:, None]
    return (np.einsum("wk,kab->wab", L(omega - gap) * wfac, Q)
            + np.einsum("wk,kba->wab", L(omega + gap) * wfac, Q))


def scissor_bands(b: Bands, sc: Scissors) -> Bands:
    """postw90's transformation of a chunk: ε'_n = ε_n + Δθ_n, v'_nm = v_nm ε'_nm/ε_nm between the
    groups (w, u are dropped: the second derivative of H' = H + ΔP_c is not Δ-independent). The
    Berry connection −i v'_nm/ε'_nm of the result equals the unscissored one."""
    sc.check_gap(b)
    N = b.nbands
    dsh = sc.transition_shift(N)
    e = b.energies + sc.shift * sc.theta(N)[None]
    enm = b.energies[:, :, None] - b.energies[:, None, :]
    inter = dsh != 0
    ratio = np.where(inter[None], (enm + dsh[None]) / np.where(inter[None], enm, 1.0), 1.0)
    v = b.v * ratio[:, None]
    out = Bands(b.k, e, b.vectors, v, None, None, degen_tol=b.degen_tol)
    return out
