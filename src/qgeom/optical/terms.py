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

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from ..bands import Bands
from ..geometry import berry_connection
from ..occupation import fermi_dirac_kT

PAIR_CUT = 1e-14  # |f_nm| at or below this: the transition is dropped


@dataclass(frozen=True)
class Term:
    """One response kind: W^{αβ}_nm = prefactor · N^{αβ}_nm (the numerator function registered under
    `numerator`), summed against the kernel g(ω + ε_nm).

    prefactor = coefficient · τ / divisor (needs_tau) or coefficient / divisor; derivative_order 2 when
    the numerator needs ∂v (the S16 bracket B, v^{α;λ}); unit: that of χ ([O] V^-2 per unit area in
    2D), times τ for the injection kinds; default/public: in DEFAULT_KINDS / PUBLIC_KINDS."""

    numerator: str
    kernel: str
    coefficient: complex
    divisor: float
    equation: str
    help: str
    needs_tau: bool = False
    derivative_order: int = 1
    default: bool = False
    public: bool = False
    full_position: bool = True  # implemented with the full Wannier position operator (not the v^{α;λ} forms)
    # the part of a current's χ that time reversal forbids with the kind's default kernel ("real": linear
    # light, "imag": circular; none with the full resolvent of shift_like, principal_part=True, whose P(1/x)
    # part has the other parity) — tests/optical/test_time_reversal_parts.py checks every kind on a
    # T-symmetric Wannier model
    time_reversal_forbids: str = "real"

    @property
    def unit(self) -> str:
        return "chi x tau (grows with the relaxation time)" if self.needs_tau else "chi"

    def prefactor(self, tau: float | None) -> complex:
        return self.coefficient * tau / self.divisor if self.needs_tau else self.coefficient / self.divisor


# The registry of response kinds: adding one is one entry here (+ a numerator function below if its
# product of matrix elements is new). The CLI's choices and help derive from it.
TERMS: dict[str, Term] = {
    "injection": Term("AK", "delta", np.pi, 4, "Eq. 4 / S7", "injection current (golden rule)",
                      needs_tau=True, public=True),
    "textbook_injection": Term("AA", "delta", np.pi, 4, "Eq. 1", "textbook injection with block-averaged O",
                               needs_tau=True),
    "kramers_injection": Term("KA", "delta", np.pi, 4, "S13", "Kramers injection", needs_tau=True,
                              default=True, public=True),
    "kramers_fermi_sea": Term("KA", "pf2", 1, 8, "S14", "Kramers Fermi-sea term", default=True, public=True),
    "kramers_unsplit": Term("KA", "adiabatic", 1, 8, "S11", "Kramers term at eta = broadening, unsplit"),
    "shift_like": Term("BA", "resolvent", 1j, 4, "S15 + S16", "shift-like term", derivative_order=2,
                       default=True, public=True, time_reversal_forbids="imag"),
    "kramers_injection_geometric": Term("G", "delta", np.pi, 4, "Eq. 6", "Kramers injection, geometric form",
                                        needs_tau=True, derivative_order=2, full_position=False),
    "kramers_fermi_sea_geometric": Term("G", "pf2", 1, 8, "Eq. 8", "Kramers Fermi sea, geometric form",
                                        derivative_order=2, full_position=False),
}

# Views of the registry under the names the rest of the package (and its tests) use.
ALL_TERMS = tuple(TERMS)
KERNEL_OF = {name: t.kernel for name, t in TERMS.items()}
TAU_TERMS = tuple(name for name, t in TERMS.items() if t.needs_tau)
NEEDS_DERIVATIVE = tuple(name for name, t in TERMS.items() if t.derivative_order > 1)
# W = prefactor · N: terms with the same numerator N (the f_nm-carrying product of matrix elements) share it
# and its sums over k. Every N satisfies N_mn = (N_nm)* (O, A, v^{α;λ} Hermitian; K = [O^D, A] and B
# anti-Hermitian; f_mn = −f_nm): the reverse transitions need no numerators of their own.
NUMERATOR_OF = {name: t.numerator for name, t in TERMS.items()}
DEFAULT_KINDS = tuple(name for name, t in TERMS.items() if t.default)
PUBLIC_KINDS = tuple(name for name, t in TERMS.items() if t.public)


def prefactor(term: str, tau: float | None) -> complex:
    """W / N of `term`: πτ/4 (injection-type), i/4 (shift-like) or 1/8 (Fermi-sea, unsplit)."""
    return TERMS[term].prefactor(tau)


def principal_part_default(obs) -> bool:
    """Whether the resolvent kernel of shift_like keeps its non-resonant principal value P(1/x) by default.
    Not for the current: j = dP/dt, so a reactive (non-absorbing) process cannot rectify a DC current; the
    clean-limit (Γ → 0) rectified current of the exact NESS vanishes below the gap, and the P(1/x) part that
    shift_like alone would give there cancels against the non-resonant remainder of the injection-type
    terms (docs/optical.md, "Resonant and non-resonant parts"; tests/optical/test_shift_resonant.py). For
    other observables (layer/spin polarizations) the non-resonant part is physical: optical rectification
    and inverse-Faraday-type static responses below the gap."""
    return obs.source != "current"


def kernel_of(term: str, obs, principal_part: bool | None = None) -> str:
    """Kernel of `term` for observable `obs`: its registry kernel, with the resolvent reduced to its resonant part
    −iπδ unless `principal_part` (None: `principal_part_default(obs)`)."""
    kern = TERMS[term].kernel
    keep = principal_part_default(obs) if principal_part is None else principal_part
    return "resonant" if kern == "resolvent" and not keep else kern


class _Connection:
    """The interband Berry connection A^a_nm = −i v^a_nm F_nm as read by the numerators: only at given elements
    (`at`), from v and F there, never formed whole — the numerators read P·d of its nk·d·N² elements."""

    def __init__(self, v: np.ndarray, F: np.ndarray):
        self._v, self._F = v.reshape(-1), F.reshape(-1)

    def at(self, index: np.ndarray, flat: np.ndarray) -> np.ndarray:
        """A at the flat indices `index` [P, d] of [nk, d, N, N] whose rows are the (k, n, m) at the flat
        indices `flat` [P] of [nk, N, N] (e.g. a Transition's at_nm and flat_nm)."""
        return -1j * self._v[index] * self._F[flat][:, None]


class Chunk:
    """Shared intermediate quantities of one Bands chunk for one observable."""

    def __init__(self, b: Bands, obs, mu: float, temperature: float, position=None, only=None):
        """position: None (tight-binding position operator), or the eigenbasis Wannier position matrix
        (Ā [nk, d(c), N, N], ∂_a Ā^c [nk, d(a), d(c), N, N]) of a full-position model, current observable only.
        only: None, or [nk, N] bool: only the transitions from or to these states contribute (`pair_mask`)."""
        self.b = b
        self.only = only
        self.e = b.energies
        self.enm = self.e[:, :, None] - self.e[:, None, :]  # ε_nm at [n, m]
        f = fermi_dirac_kT(self.e, mu, temperature)  # kT validated once in response()
        self.fnm = f[:, :, None] - f[:, None, :]  # f_nm
        self.F = b.inv_de  # 1/ε_nm, 0 inside D
        self.position = position
        if position is None:  # A^a_nm = i v_nm/(ε_m − ε_n) = −i v_nm F_nm, read at the transitions only
            self.A = _Connection(b.v, self.F)
        else:  # full connection A^H = Ā + iD (Wang et al. 2006, Eq. 25), off the blocks; whole (`_external`)
            self.A = berry_connection(b) + position[0] * ~b.same[:, None]
        self.O = obs.eig(b)
        self.OD = self.O * b.same
        self.obs = obs
        self._cache = {}

    def _cached(self, key: str, compute):
        if key not in self._cache:
            self._cache[key] = compute()
        return self._cache[key]

    def _OD_commutator_at(self, X: np.ndarray, t: "Transition", orientation: str) -> np.ndarray:
        """[O^D, X]_rc at the transitions, (r, c) = (n, m) or (m, n) by `orientation`, [P, d], for X
        [nk, d, N, N]: the numerators read the commutator only there, so it is never formed whole.
        Degenerate subspaces are runs of adjacent bands (ascending spectrum): O^D_{r,r+j} ≠ 0 only inside
        r's run, so
            [O^D, X]_rc = (O^D_rr − O^D_cc) X_rc + Σ_{j≠0} O^D_{r,r+j} X_{r+j,c} − Σ_{j≠0} X_{r,c+j} O^D_{c+j,c},
        the sums only over the transitions whose r or c lies in a subspace of more than |j| states. Flat
        gathers: X_{r+j,c} is j·N after X_rc, O^D_{r,r+j} j after O^D_rr."""
        diagonal, inner = t.commutator_plan(self, orientation)
        out = diagonal * (t.nm(X) if orientation == "nm" else t.mn(X))
        for i, gather, flat, od in inner:
            out[i] += od * (X.at(gather, flat) if isinstance(X, _Connection) else X.reshape(-1)[gather])
        return out

    def _commutator_plan(self, t: "Transition", orientation: str):
        """What `_OD_commutator_at` gathers for any X at the transitions `t`: the diagonal factor
        O^D_rr − O^D_cc [P, 1] and, per band offset j, (transitions i, flat indices of X_{r+j,c} or X_{r,c+j}
        [len(i), d] and of their (k, r, c) in [nk, N, N] [len(i)], ±O^D_{r,r+j} or −O^D_{c+j,c} [len(i), 1]) —
        shared by the numerators of one chunk."""
        N = self.b.nbands
        r, c, at, flat = (t.n, t.m, t.at_nm, t.flat_nm) if orientation == "nm" else (t.m, t.n, t.at_mn, t.flat_mn)
        ODf = self.OD.reshape(-1)
        kN = t.k * N
        diag_r, diag_c = kN * N + r * (N + 1), kN * N + c * (N + 1)  # flat O^D_rr, O^D_cc
        diagonal = (ODf[diag_r] - ODf[diag_c])[:, None]
        size = self._cached("subspace_size", lambda: self.b.same.sum(axis=2).ravel())  # [nk·N]
        labels = self.b.labels.ravel()
        inner = []
        for end, sign in ((r, 1), (c, -1)):  # O^D X (rows r + j), X O^D (columns c + j)
            wide = size[kN + end]
            for lag in range(1, int(wide.max(initial=1))):
                inside = np.flatnonzero(wide > lag)
                for j in (-lag, lag):
                    i = inside
                    moved = end[i] + j
                    i = i[(moved >= 0) & (moved < N)]
                    i = i[labels[kN[i] + end[i] + j] == labels[kN[i] + end[i]]]  # r + j (c + j) in the same subspace
                    if sign > 0:
                        inner.append((i, at[i] + j * N, flat[i] + j * N, ODf[diag_r[i] + j][:, None]))
                    else:
                        inner.append((i, at[i] + j, flat[i] + j, -ODf[diag_c[i] + j * N][:, None]))
        return diagonal, inner

    def pair_mask(self) -> np.ndarray:
        """[nk, N, N] bool: the transitions n < m that contribute, m ∉ D(n) and |f_nm| > PAIR_CUT (and n or m
        in `only`, if given)."""
        def compute():
            mask = (~self.b.same) & (np.abs(self.fnm) > PAIR_CUT)
            if self.only is not None:
                mask &= self.only[:, :, None] | self.only[:, None, :]
            return np.triu(mask, 1)
        return self._cached("pair_mask", compute)

    def pair_bands(self) -> tuple[slice, slice]:
        """(lower, upper): the band ranges that hold the lower state n and the upper state m of every
        contributing transition (`pair_mask`) of the chunk. With |f_nm| > PAIR_CUT the lower state
        lies below μ + 32 kT and the upper above μ − 32 kT: far bands drop out of both."""
        def compute():
            mask = self.pair_mask()
            lower, upper = np.flatnonzero(mask.any(axis=(0, 2))), np.flatnonzero(mask.any(axis=(0, 1)))
            if len(lower) == 0:
                return slice(0, 0), slice(0, 0)
            return slice(lower[0], lower[-1] + 1), slice(upper[0], upper[-1] + 1)
        return self._cached("pair_bands", compute)

    def _o_tilde(self) -> np.ndarray:
        """Õ = O ∘ F (anti-Hermitian), the factor of v^{a;λ} = [Õ, v^a] + ∂_a O (cached)."""
        return self._cached("O_tilde", lambda: self.O * self.F)

    def _v_lam_block(self, rows: slice, cols: slice) -> np.ndarray:
        """v^{a;λ} on the band block [rows, cols], [nk, d, n, m]: (Õ v^a − v^a Õ)[rows, cols] + ∂_a O."""
        Ot, v = self._o_tilde(), self.b.v
        out = Ot[:, None, rows] @ v[..., cols] - v[:, :, rows] @ Ot[:, None, :, cols]
        dO = self.obs.deig(self.b, rows, cols)  # a current rotates only this block of ∂_a∂_γ H
        return out if dO is None else out + dO

    def _v_lam_at(self, t: "Transition", orientation: str) -> np.ndarray:
        """v^{a;λ}_rc at the transitions, (r, c) = (n, m) or (m, n), [P, d]: gathered from the block
        [lower, upper] of `pair_bands` (`_v_lam_block`, cached: of a contributing pair the lower state is in
        lower and the upper one in upper; v^{a;λ}_cr = conj v^{a;λ}_rc, Õ anti-Hermitian, v^a and ∂_a O
        Hermitian), or, for a chunk restricted to the transitions of a few states (`only`: the near-degenerate
        difference, whose band blocks would span nearly every band), summed at each transition,
        Σ_l Õ_rl v_lc − v_rl Õ_lc + ∂O_rc — P·d·N products instead of the block's nk·d·|lower|·|upper|·N."""
        lower, upper = self.pair_bands()
        r, c = (t.n, t.m) if orientation == "nm" else (t.m, t.n)
        if self.only is None:
            block = self._cached("v_lam_block", lambda: self._v_lam_block(lower, upper))  # [nk, d, nl, nu]
            d, nl, nu = block.shape[1:]
            flip = r > c  # read at (c, r) and conjugated
            low, high = np.where(flip, c, r), np.where(flip, r, c)
            at = (t.k * (d * nl * nu) + (low - lower.start) * nu + (high - upper.start))[:, None]
            x = block.reshape(-1)[at + np.arange(d) * (nl * nu)]  # flat gathers (`Transition`)
            if flip.all():
                return x.conj()
            if flip.any():
                x[flip] = x[flip].conj()
            return x
        Ot, v = self._o_tilde(), self.b.v
        # columns as conjugated rows (contiguous gathers): v^a Hermitian, Õ anti-Hermitian
        out = (np.einsum("pl,pal->pa", Ot[t.k, r], v[t.k, :, c].conj())
               + np.einsum("pal,pl->pa", v[t.k, :, r], Ot[t.k, c].conj()))
        dO = self.obs.deig(self.b, lower, upper)  # within the whole chunk's: its rotated block serves (`Bands.subset`)
        if dO is None:
            return out
        x = dO[t.k, :, t.n - lower.start, t.m - upper.start]  # ∂_a O_nm; ∂_a O_mn = its conjugate (Hermitian)
        return out + (x if orientation == "nm" else x.conj())

    def _external(self) -> np.ndarray:
        """i X^a: what the full position operator adds to the generalized derivative r^a_{;γ} of the
        connection along the field direction a, taken along the current direction γ,
        X^a = ∂_γĀ^a + [Ā^a, D^γ] − i[Ā^{γ,D}, A^{H,a}]  (D^γ = −v^γ∘F, A^H the full connection),
        [nk, d, N, N].
        The derivative index is the current's: the shift current is Σ f_nm Im[r^b_mn r^a_{nm;γ}] δ (Sipe and
        Shkrebtii, PRB 61, 5337 (2000), Eq. 57), the generalized derivative of the *field* connection along
        the *current* direction. With a tight-binding position operator r^a_{;γ} = r^γ_{;a} + i Σ_{l∉{n,m}}
        (r^γ_nl r^a_lm − r^a_nl r^γ_lm), a difference that cancels in the shift current (the internal part
        agrees with WannierBerri on every component, tests/optical/test_lowsym_shift.py); the Wannier
        position matrix Ā carries its own curvature and the order matters (2–13 % on a low-symmetry model).
        This is WannierBerri 26.10's ShiftCurrent external part A_Hbar_der + AD_bit + sum_AD − i AA_bit, whose
        (Ā_nn − Ā_mm)D terms cancel; the diagonal Ā_nn − Ā_mm is taken block-covariantly (Ā^D)."""
        def compute():
            Abar, dAbar = self.position
            g = self.obs.direction
            Dg = (-self.b.v[:, g] * self.F)[:, None]
            ADg = (Abar[:, g] * self.b.same)[:, None]
            X = dAbar[:, g] + Abar @ Dg - Dg @ Abar - 1j * (ADg @ self.A - self.A @ ADg)
            return 1j * X
        return self._cached("external", compute)

    def _B_at(self, t: "Transition", orientation: str) -> np.ndarray:
        """The S16 bracket B^a_rc = <r|∂_a Õ_op|c> = F∘v^{a;λ} + F²∘[v^a, O^D] (+ the full-position part
        `_external`) at the transitions, (r, c) = (n, m) or (m, n) by `orientation`, [P, d]: the products
        only where they are needed."""
        at, flat = (t.at_nm, t.flat_nm) if orientation == "nm" else (t.at_mn, t.flat_mn)
        F = self.F.reshape(-1)[flat][:, None]
        B = F * (self._v_lam_at(t, orientation) - F * self._OD_commutator_at(self.b.v, t, orientation))
        return B if self.position is None else B + self._external().reshape(-1)[at]

    def numerator(self, name: str, pairs, scale: np.ndarray) -> np.ndarray:
        """N^{αβ}_nm (the function registered under `name` in NUMERATORS; W = prefactor · N) times
        scale[k] at the transitions pairs = (k, n, m): [P, α, β]. The numerators of one set of transitions
        share its gathers (`Transition`)."""
        last = self._cache.get("transition")
        if last is None or last.pairs is not pairs or last.scale is not scale:
            last = self._cache["transition"] = Transition(self, pairs, scale)
        return NUMERATORS[name](self, last)


class Transition:
    """Gathers of [nk, (d,) N, N] arrays at the transitions pairs = (k, n, m), and f_nm·scale[k] [P, 1].
    Flat gathers X.ravel()[i] are ~7× faster than X[k, ..., n, m]; the scalar factors go on a [P, d]
    factor before the outer product."""

    def __init__(self, ch: Chunk, pairs, scale: np.ndarray):
        self.pairs, self.scale = pairs, scale
        self._plans, self._connection = {}, {}
        k, n, m = pairs
        d, N = ch.b.dim, ch.b.nbands
        inner_nm, inner_mn = n * N + m, m * N + n
        self.k, self.n, self.m = k, n, m
        self.flat_nm, self.flat_mn = k * N * N + inner_nm, k * N * N + inner_mn  # into [nk, N, N]
        block = ((k * d)[:, None] + np.arange(d)) * (N * N)  # where matrix (k, a) of [nk, d, N, N] starts
        self.at_nm, self.at_mn = block + inner_nm[:, None], block + inner_mn[:, None]
        self.f = (ch.fnm.reshape(-1)[self.flat_nm] * scale[k])[:, None]

    def commutator_plan(self, ch: Chunk, orientation: str):
        """`Chunk._commutator_plan` of these transitions (cached: every numerator's [O^D, X] reads it)."""
        if orientation not in self._plans:
            self._plans[orientation] = ch._commutator_plan(self, orientation)
        return self._plans[orientation]

    def nm(self, X: np.ndarray) -> np.ndarray:
        """X^a_nm at the transitions, [P, d] (not to be modified in place: the connection's is shared)."""
        return self._gather(X, self.at_nm, self.flat_nm, "nm")

    def mn(self, X: np.ndarray) -> np.ndarray:
        """X^a_mn at the transitions, [P, d] (not to be modified in place: the connection's is shared)."""
        return self._gather(X, self.at_mn, self.flat_mn, "mn")

    def _gather(self, X, at: np.ndarray, flat: np.ndarray, orientation: str) -> np.ndarray:
        if not isinstance(X, _Connection):
            return X.reshape(-1)[at]
        # the tight-binding connection, read by most numerators: once per orientation for all of them
        if orientation not in self._connection:
            self._connection[orientation] = X.at(at, flat)
        return self._connection[orientation]


NUMERATORS: dict[str, Callable[[Chunk, Transition], np.ndarray]] = {}


def numerator(name: str):
    """Register the numerator function N^{αβ}_nm of the terms whose `Term.numerator` is `name`."""

    def register(func):
        NUMERATORS[name] = func
        return func

    return register


@numerator("AK")
def _injection(ch: Chunk, t: Transition) -> np.ndarray:
    """A^α_nm K^β_mn f_nm, K^a = [O^D, A^a] (`Chunk._OD_commutator_at`)."""
    return (t.nm(ch.A) * t.f)[:, :, None] * ch._OD_commutator_at(ch.A, t, "mn")[:, None, :]


@numerator("AA")
def _textbook(ch: Chunk, t: Transition) -> np.ndarray:
    """A^α_nm A^β_mn (Ō_m − Ō_n) f_nm."""
    obar = ch.b.subspace_average(np.diagonal(ch.O, axis1=-2, axis2=-1).real)
    return (t.nm(ch.A) * ((obar[t.k, t.m] - obar[t.k, t.n])[:, None] * t.f))[:, :, None] * t.mn(ch.A)[:, None, :]


@numerator("KA")
def _kramers(ch: Chunk, t: Transition) -> np.ndarray:
    """A^β_mn f_mn K^α_nm."""
    return ch._OD_commutator_at(ch.A, t, "nm")[:, :, None] * (t.mn(ch.A) * -t.f)[:, None, :]


@numerator("BA")
def _shift(ch: Chunk, t: Transition) -> np.ndarray:
    """A^β_mn f_mn B^α_nm."""
    return ch._B_at(t, "nm")[:, :, None] * (t.mn(ch.A) * -t.f)[:, None, :]


@numerator("G")
def _geometric(ch: Chunk, t: Transition) -> np.ndarray:
    """f_nm G^{αβ}_nm, G = i(v^{α;λ}_nm A^β_mn − v^α_nm A^{β;λ}_mn), A^{β;λ} = −iB^β."""
    fi = 1j * t.f
    A_lam = -1j * ch._B_at(t, "mn")  # A^{β;λ}_mn
    return ((ch._v_lam_at(t, "nm") * fi)[:, :, None] * t.mn(ch.A)[:, None, :]
            - (t.nm(ch.b.v) * fi)[:, :, None] * A_lam[:, None, :])
