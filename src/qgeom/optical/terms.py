"""Per-k, per-transition weights of the second-order responses of seed [K] (e = ħ = 1).

Every response has the form   χ^{αβ}(ω) = Σ_k Σ_{n∉D(m)} W^{αβ}_nm(k) · g(ω + ε_nm(k))
with a kernel g (δ, Pf 1/x², P 1/x − iπδ or 1/(x²+η²)); the symmetrization (S10) is applied
afterwards. Notation: ε_nm = ε_n − ε_m, f_nm = f_n − f_m, A^a_nm = i v^a_nm/(ε_m − ε_n) for
m ∉ D(n) (0 inside D(n)), O^D = O restricted to the degenerate blocks (O_nc, c ∈ D(n)).

  injection  (Eq. 4 / S7):  W = (πτ/4)  A^α_nm 𝕆^β_mn f_nm,   𝕆^β = [O^D, A^β]            g = δ
  textbook   (Eq. 1):       W = (πτ/4)  A^α_nm A^β_mn (Ō_m − Ō_n) f_nm  (Ō: block average)  g = δ
  kramers_injection (S13):  W = (πτ/4)  A^β_mn f_mn K^α_nm,   K^α = [O^D, A^α]              g = δ
  kramers_fermi_sea (S14):  W = (1/8)   A^β_mn f_mn K^α_nm                                 g = Pf 1/x²
  kramers_unsplit   (S11):  W = (1/8)   A^β_mn f_mn K^α_nm                                 g = 1/(x²+η²)
  shift_like  (S15 + S16):  W = (i/4)   A^β_mn f_mn B^α_nm                                 g = P 1/x − iπδ
with the S16 bracket (the full covariant k-derivative of Õ_nm = O_nm/ε_nm, i.e. <n|∂_α Õ_op|m>):
  B^α = F∘[∂_αO + Õ v^α − v^α Õ] + F²∘[v^α O^D − O^D v^α],   F_nm = 1/ε_nm (0 in D), Õ = O∘F.

Prefactors are those of the field convention in `units.py` (the one of Eq. 6 and of the golden
rule S4–S7, which counts each transition once: Eq. 4 as printed sums over all ordered pairs (m, n)
*and* over ζ = ±, which counts every transition twice; our "injection" is S7, i.e. Eq. 4 / 2). The seed's
S11–S15 are written for ∫dω/2π E_{−ω}E_ω, which is 4× ours; the KI weight is π/η·(1/8) → (πτ/4)
with 1/η = 2τ (golden rule, Eq. 4), twice what S12–S13 as printed give (see docs/optical.md).
Geometric forms (Eqs. 6, 8), with v^{α;λ} = [Õ, v^α] (+ ∂_αO for k-dependent O) and
A^{β;λ} = −i B^β (λ → 0; zero curvature of the (k, λ) connection):
  G^{αβ}_nm = i(v^{α;λ}_nm A^β_mn − v^α_nm A^{β;λ}_mn);  KI_geo: (πτ/4) f_nm G δ(ω+ε_nm), KFS_geo: (1/8) f_nm G Pf.
"""

from __future__ import annotations

import numpy as np

from ..bands import Bands
from ..geometry import berry_connection
from ..occupation import fermi_dirac

ALL_TERMS = (
    "injection", "textbook_injection", "kramers_injection", "kramers_fermi_sea", "kramers_unsplit",
    "shift_like", "kramers_injection_geometric", "kramers_fermi_sea_geometric",
)
KERNEL_OF = {
    "injection": "delta", "textbook_injection": "delta", "kramers_injection": "delta",
    "kramers_fermi_sea": "pf2", "kramers_unsplit": "adiabatic", "shift_like": "resolvent",
    "kramers_injection_geometric": "delta", "kramers_fermi_sea_geometric": "pf2",
}
TAU_TERMS = ("injection", "textbook_injection", "kramers_injection", "kramers_injection_geometric")
NEEDS_DERIVATIVE = ("shift_like", "kramers_injection_geometric", "kramers_fermi_sea_geometric")


def swap(x: np.ndarray) -> np.ndarray:
    return x.swapaxes(-1, -2)


class Chunk:
    """Shared intermediate quantities of one Bands chunk for one observable."""

    def __init__(self, b: Bands, obs, mu: float, temperature: float):
        self.b = b
        self.e = b.energies
        self.enm = self.e[:, :, None] - self.e[:, None, :]  # ε_nm at [n, m]
        f = fermi_dirac(self.e, mu, temperature)
        self.fnm = f[:, :, None] - f[:, None, :]  # f_nm
        self.F = b.inv_de  # 1/ε_nm, 0 inside D
        self.A = berry_connection(b)  # A^a_nm = i v_nm/(ε_m − ε_n) = −i v_nm F_nm (shared, read-only)
        self.O = obs.eig(b)
        self.OD = self.O * b.same
        self.obs = obs
        self._dO = None
        self._B = None

    def K(self) -> np.ndarray:
        """K^a = [O^D, A^a], [nk, d, N, N]."""
        OD = self.OD[:, None]
        return OD @ self.A - self.A @ OD

    def B(self) -> np.ndarray:
        """S16 bracket B^a_nm = <n|∂_a Õ_op|m>, [nk, d, N, N]."""
        if self._B is None:
            v, F = self.b.v, self.F[:, None]
            Ot = (self.O * self.F)[:, None]
            OD = self.OD[:, None]
            inner = Ot @ v - v @ Ot
            dO = self.obs.deig(self.b)
            if dO is not None:
                inner = inner + dO
            self._B = F * inner + F * F * (v @ OD - OD @ v)
        return self._B

    def weights(self, term: str, tau: float | None) -> np.ndarray:
        """W^{αβ}_nm of `term`, [nk, d, d, N, N] (α, β then n, m)."""
        A, fnm = self.A, self.fnm[:, None, None]
        AT = swap(A)  # A^a_mn at [n, m]
        if term == "injection":
            KT = swap(self.K())  # [O^D, A^β]_mn at [n, m]
            return (np.pi * tau / 4) * A[:, :, None] * KT[:, None, :] * fnm
        if term == "textbook_injection":
            diag = np.diagonal(self.O, axis1=-2, axis2=-1).real
            obar = self.b.subspace_average(diag)
            dO = obar[:, None, :] - obar[:, :, None]  # Ō_m − Ō_n at [n, m]
            return (np.pi * tau / 4) * A[:, :, None] * AT[:, None, :] * (dO * self.fnm)[:, None, None]
        if term in ("kramers_injection", "kramers_fermi_sea", "kramers_unsplit"):
            pref = np.pi * tau / 4 if term == "kramers_injection" else 1 / 8
            K = self.K()
            return pref * AT[:, None, :] * (-fnm) * K[:, :, None]  # [k, α(K), β(A)]
        if term == "shift_like":
            B = self.B()
            return 0.25j * AT[:, None, :] * (-fnm) * B[:, :, None]
        if term in ("kramers_injection_geometric", "kramers_fermi_sea_geometric"):
            pref = np.pi * tau / 4 if term == "kramers_injection_geometric" else 1 / 8
            Ot = (self.O * self.F)[:, None]
            v = self.b.v
            v_lam = Ot @ v - v @ Ot  # v^{α;λ} = [Õ, v^α] (+ ∂_α O: v̂^α of H + λÔ(k) depends on λ)
            dO = self.obs.deig(self.b)
            if dO is not None:
                v_lam = v_lam + dO
            A_lam = -1j * self.B()  # A^{β;λ}
            G = 1j * (v_lam[:, :, None] * AT[:, None, :] - v[:, :, None] * swap(A_lam)[:, None, :])
            return pref * fnm * G
        raise ValueError(term)
