"""The integrands of the DC Γ-expansion and their Fermi-surface sums per k-chunk (`FermiSurfaceSums`).

Every term of every mechanism (seed [D] Eqs. 2–6, Table I) is Σ_{n,k} X_n(k) f0^(p)(ε_n − μ) for a few per-band
integrands X in one of two forms per term (the seed's, the integrated-by-parts one: `DRUDE_FORMS`, ...):
`integrands` builds them for the requested components only, from the closed two-band form (`two_band`) or the
sums over states (`sums_over_states`); `FermiSurfaceSums` contracts them with the occupation derivatives for all
μ at once (directly or through the binned μ sweep, `mu_sweep`) and evaluates both groupings of near-degenerate
pairs from one pass. `qgeom.dc.expansion` assembles the mechanisms and the Dataset.
"""

from __future__ import annotations

import itertools
from types import MappingProxyType

import numpy as np

from .._validation import QgeomInputError
from ..bands import Bands
from ..mu_sweep import BinnedMuSweep
from ..near_degeneracy import grouped_sums
from ..occupation import weighted_fermi_derivatives
from . import sums_over_states, two_band

# C_kin of σ^kin = C_kin Σ v^a v^b v^c f0'''' (= 2 C_kin Σ ∂a∂b∂c ε f0'' by parts).
# the seed is inconsistent (1/48 in Eq. 5; 1/24 ∂³ε f0'' in D-62; 1/48 with f = 2f0 − 1
# in D-61). The exact NESS evaluation (qgeom.dc.exact; Γ-scan fits on a 1-band and a 2-band model,
# docs/exact_ness.md, tests/dc/test_exact.py) gives C_kin = 1/24: Eq. 5 is low by 2, D-62 should
# read (1/12) ∂³ε f0'', D-61 (in f = 2f0 − 1) is right.
KINETIC_PREFACTOR = 1.0 / 24.0

# the forms of each term (equal in the continuum limit; the first is the default): the defaults carry
# the lowest occupation derivative and need the fewest k-points on smooth bands (the seed models: 10⁻⁹
# against 10⁻⁷–10⁻⁴ on 200²); the integrated-by-parts forms have no interband denominators in the
# Drude and kinetic terms (one fewer in the geometric) and need only ∂H (`derivative_order`): on a
# real material with avoided crossings near μ they converge on fewer k-points at ~half the cost per
# k-point (docs/dc_expansion.md, "Two forms of each term")
DRUDE_FORMS = ("velocity_derivative", "velocity_cubed")
GEOMETRIC_FORMS = ("metric_dipole", "metric_by_parts")
KINETIC_FORMS = ("third_derivative", "velocity_cubed")
# the integrated-by-parts form of every term, as the keywords of `expansion` (the one place)
BY_PARTS = MappingProxyType(dict(drude_form=DRUDE_FORMS[1], geometric_form=GEOMETRIC_FORMS[1],
                                 kinetic_form=KINETIC_FORMS[1]))


def integrands(b: Bands, comps, *, geometric_form: str, kinetic_form: str, drude_form: str = DRUDE_FORMS[0],
                bands: slice | None = None, finer: Bands | None = None):
    """The per-band integrands (drude, bcd, G_ab_c, G_bc_a, metric dipole or metric·velocity, kin) with
    the order p of f0^(p) each multiplies, for the requested components only, as [comp, nk, N] arrays (two-band
    closed form) or band-major [comp, n, nk] arrays for the bands n in `bands` (general path; whole
    subspaces, `Bands.fermi_surface_bands`; None: all); then band-major, and the bands the arrays hold.
    `finer` (the same eigensystem grouped more finely, b = finer.regrouped(tol)): the integrands of both
    groupings from one evaluation, (b's, the finer one's) — None for two bands (the closed form of
    `two_band` evaluates each grouping on its own).

    From the pair products P^{ab}_np = v^a_np v^b_pn, the covariant derivatives D_c v^a the terms
    use and Re<n|∂³H|n>: the formulas of `geometry` rearranged (reference: tests/dc_reference.py),
    several times cheaper. Non-degenerate two-band chunks take the closed form of
    `two_band.two_band_per_band`."""
    A, B, C = (np.asarray(x) for x in comps)
    d = b.nderiv
    pairs = list(itertools.combinations_with_replacement(range(d), 2))
    pidx = np.zeros((d, d), int)
    for i, (a, c) in enumerate(pairs):
        pidx[a, c] = pidx[c, a] = i
    order3 = kinetic_form == "third_derivative"
    dipole = geometric_form == "metric_dipole"
    mass = drude_form == "velocity_derivative"
    if finer is not None and b.nbands == 2:  # each grouping on its own (the closed form where it applies)
        return None
    out = two_band.two_band_per_band(b, A, B, C, dipole, order3, mass)
    if out is not None:
        return _terms(out, A, B, C, pidx, dipole, order3, mass), False, slice(0, 2)
    bands = slice(0, b.nbands) if bands is None else bands
    out = sums_over_states.general_per_band(b, A, B, C, pairs, pidx, dipole, order3, mass, bands,
                                              finer=finer)
    if finer is None:
        return _terms(out, A, B, C, pidx, dipole, order3, mass), True, bands
    return tuple(_terms(x, A, B, C, pidx, dipole, order3, mass) for x in out)


def _terms(out: dict, A, B, C, pidx, dipole: bool, order3: bool, mass: bool) -> dict:
    """The integrands of the terms (name → (X [comp, ...], order p of f0^(p))) from the per-band quantities."""
    # per-band arrays are [X, nk, N] or [X, N, nk], contiguous per component
    vel, G, curv = out["vel"], out["Gm"], out["curv"]
    va, vb, vc = vel[A], vel[B], vel[C]
    # v^a v^b v^c per band: a subspace's Re Tr_D[v^a v^b v^c] (general path), else the product
    vcube = out["vcube"] if "vcube" in out else va * vb * vc
    sAB = np.where(A <= B, 1.0, -1.0)[:, None, None]
    sAC = np.where(A <= C, 1.0, -1.0)[:, None, None]
    if mass:  # −¼ ∂_a(v^b v^c) f0′ (seed [D] Eq. 2 as printed)
        x = out["mass"][pidx[A, B]] * vc
        x += vb * out["mass"][pidx[A, C]]
        x *= -0.25
        drude = (x, 1)
    else:  # by parts: +¼ v^a v^b v^c f0″ (no interband terms, see DRUDE_FORMS)
        drude = (0.25 * vcube, 2)
    bcd = (vc * sAB) * curv[pidx[A, B]]
    bcd += (vb * sAC) * curv[pidx[A, C]]
    bcd *= 0.5
    g_ab_c = G[pidx[A, B]] * vc
    g_ab_c += G[pidx[A, C]] * vb
    res = {"drude": drude, "bcd": (bcd, 1), "G_ab_c": (g_ab_c, 1), "G_bc_a": (G[pidx[B, C]] * va, 1)}
    if dipole:
        res["metric_dipole"] = (out["dg"], 1)
    else:
        res["metric_velocity"] = (out["g"][pidx[B, C]] * va, 2)
    if order3:
        res["kin"] = (2 * KINETIC_PREFACTOR * out["third"], 2)
    else:
        res["kin"] = (KINETIC_PREFACTOR * vcube, 4)
    return res


# above this many μ values the μ sweep goes through the Taylor-moment energy histogram
# (mu_sweep.BinnedMuSweep: same sums to ~1e-15 relative, cost independent of nk × nμ)
BINNED_MU_THRESHOLD = 32
# ... unless its precomputed kernel (bins × Taylor terms × nμ per occupation order) would exceed this
# (very low kT over a wide μ range): then the direct sum, whose memory is bounded by the chunk size
BINNED_MU_MAX_BYTES = 256 * 2**20
# what each μ beyond BINNED_MU_THRESHOLD costs a binned sweep per k-point, in directly swept μ (its GEMM is per
# chunk, over bins rather than states): `FermiSurfaceSums.mu_sweep_points`
BINNED_MU_MARGINAL = 0.02
# time per k-point over `resources.estimate`'s eigensolve + Fourier + μ-sweep model (`relative_cost`):
# (a + b·components) for the default forms, a constant for the by-parts ones (∂H only, the Fermi window's rows)
RELATIVE_COST = (1.5, 0.06)
RELATIVE_COST_BY_PARTS = 0.9


class FermiSurfaceSums:
    """Chunk integrand: Σ_k w Σ_n X[k, comp, n] f0^(p)(ε_n − μ) for every raw integrand; picklable.

    `mu_method`: "direct" (f0^(p) at every (k, n, μ), the reference), "binned" (energy histogram
    with Taylor moments, then one GEMM per order), or "auto" (binned above BINNED_MU_THRESHOLD μ)."""

    def __init__(self, comps, mu, temperature, geometric_form, kinetic_form, mu_method: str = "auto",
                 group_tol: float | None = None, drude_form: str = DRUDE_FORMS[0], fine_tol: float | None = None):
        self.comps, self.mu, self.temperature = comps, mu, temperature
        self.group_tol = group_tol  # pairs closer than this: one subspace (bands.resolved_tol)
        self.fine_tol = fine_tol  # ... and on the ungrouped side of the diagnostic (near_degeneracy.dc_tolerances)
        self.geometric_form, self.kinetic_form, self.drude_form = geometric_form, kinetic_form, drude_form
        if mu_method not in ("auto", "direct", "binned"):
            raise QgeomInputError(f"mu_method must be 'auto', 'direct' or 'binned', got {mu_method!r}.")
        self.mu_method = mu_method
        self._sweep = None

    @property
    def relative_cost(self) -> float:
        """Its time per k-point over `resources.estimate`'s model of the eigensolve, Fourier sums and μ sweep
        (the size guard's estimate): the sums over states grow with the components; fitted to GaAs, bcc Fe, a
        32-orbital Wannier-like model (4 and 27 components) and 1T′-MoS₂ (4 and 8), within ~1.5× of each."""
        ncomp = len(self.comps[0])
        if derivative_order(self.drude_form, self.geometric_form, self.kinetic_form) == 1:
            return RELATIVE_COST_BY_PARTS
        return RELATIVE_COST[0] + RELATIVE_COST[1] * ncomp

    @property
    def binned(self) -> bool:
        """Whether the μ sweep goes through `mu_sweep.BinnedMuSweep` (`mu_method`, BINNED_MU_THRESHOLD/MAX_BYTES)."""
        if "_binned" not in self.__dict__:
            mu = np.asarray(self.mu, float)
            self._binned = self.mu_method == "binned" or (
                self.mu_method == "auto" and mu.size > BINNED_MU_THRESHOLD
                and BinnedMuSweep.kernel_bytes(mu, self.temperature) <= BINNED_MU_MAX_BYTES)
        return self._binned

    @property
    def mu_sweep_points(self) -> float:
        """The number of μ the size guard's estimate charges per k-point (`resources.point_ops`' n_mu): all of
        them for the direct sweep, BINNED_MU_THRESHOLD + BINNED_MU_MARGINAL per further μ for the binned one.
        Measured / estimated on GaAs 12³ and 1T′-MoS₂ 40², 20–2000 μ: 0.5–1.5 (it was 0.03–0.3 above 200 μ)."""
        n = np.size(self.mu)
        if not self.binned:
            return float(n)
        return BINNED_MU_THRESHOLD + BINNED_MU_MARGINAL * max(0, n - BINNED_MU_THRESHOLD)

    def fingerprint(self):
        """What the chunk sums depend on (checkpoint manifests); excludes caches."""
        return ["_FermiSurfaceSums",  # its name before it moved here: earlier checkpoints stay valid
                *(np.asarray(c) for c in self.comps), np.asarray(self.mu, float),
                float(self.temperature), self.geometric_form, self.kinetic_form, self.group_tol, self.drude_form,
                self.fine_tol]

    def __call__(self, b: Bands, w: np.ndarray) -> dict[str, np.ndarray]:
        """The sums with near-degenerate pairs grouped, plus `near:NAME` = ungrouped − grouped
        (the part of each sum that pairs below the resolution would carry; the diagnostic), by
        `near_degeneracy.grouped_sums` (both groupings from one evaluation, `_both`)."""
        if self.group_tol is None:
            return self._sums(b, w)
        return grouped_sums(self._sums, b, w, self.group_tol, lower=self.fine_tol, both=self._both)

    def _both(self, fine: Bands, coarse: Bands, w: np.ndarray, changed: np.ndarray):
        """(the sums of the coarser grouping `coarse`, fine − coarse) from one evaluation of the chunk
        (`sums_over_states.general_per_band`'s `finer`); the difference contracted on the k-points `changed`
        (where the groupings differ) only. None for two bands or an empty window (then one evaluation per grouping)."""
        bands = coarse.fermi_surface_bands(self.mu, self.temperature)  # whole subspaces of both groupings
        if bands.stop == bands.start:
            return None
        got = integrands(coarse, self.comps, geometric_form=self.geometric_form, kinetic_form=self.kinetic_form,
                          drude_form=self.drude_form, bands=bands, finer=fine)
        if got is None:
            return None
        raw_coarse, raw_fine = got
        kept = self._contract(fine.energies[:, bands], w, raw_coarse, True)
        diff = {name: (raw_fine[name][0][..., changed] - x[..., changed], p) for name, (x, p) in raw_coarse.items()}
        return kept, self._contract(fine.energies[changed, bands], w[changed], diff, True)

    def _sums(self, b: Bands, w: np.ndarray) -> dict[str, np.ndarray]:
        raw, band_major, bands = integrands(b, self.comps, geometric_form=self.geometric_form,
                                             kinetic_form=self.kinetic_form, drude_form=self.drude_form,
                                             bands=b.fermi_surface_bands(self.mu, self.temperature))
        return self._contract(b.energies[:, bands], w, raw, band_major)

    def _contract(self, energies: np.ndarray, w: np.ndarray, raw: dict, band_major: bool) -> dict[str, np.ndarray]:
        """Σ_k w Σ_n X f0^(p)(ε_n − μ) for every integrand (X, p) of `integrands` (`energies` [nk, n]: of
        its bands)."""
        # the occupations in the order of the integrands' (k, n) columns
        energies, weights = (energies.T, w) if band_major else (energies, w[:, None])
        mu = np.asarray(self.mu, float)
        orders = sorted({p for _, p in raw.values()})
        binned = self.binned
        if binned:
            if self._sweep is None:
                self._sweep = BinnedMuSweep(mu, self.temperature)
            contract = lambda X, p: self._sweep(energies, X, p)  # noqa: E731
        else:
            occ, scale = weighted_fermi_derivatives(energies, weights, mu, self.temperature, orders)
            contract = lambda X, p: (X @ occ[p]) * scale[p]  # noqa: E731
        out = {}
        for p in orders:  # one contraction per occupation order for all integrands that share it
            names = [name for name, (_, q) in raw.items() if q == p]
            X = np.concatenate([raw[name][0] for name in names], axis=0)  # [names·comps, nk, N] or [.., N, nk]
            if binned:
                X *= weights
            sums = contract(X.reshape(X.shape[0], -1), p)  # [comps·names, mu]
            out.update(zip(names, np.split(sums, len(names))))
        return {name: out[name] for name in raw}


def derivative_axes(comps) -> tuple[tuple[int, ...], tuple[np.ndarray, ...]]:
    """The Cartesian axes the components (A, B, C) involve — every term of σ_ABC differentiates
    H only along A, B and C — and the components as positions among them (`Bands.from_model(axes=)`:
    e.g. in-plane components of a 3D model need 10 of the 20 derivative columns)."""
    axes = tuple(sorted(set(np.concatenate([np.asarray(c).ravel() for c in comps]).tolist())))
    return axes, tuple(np.searchsorted(axes, np.asarray(c)) for c in comps)


def derivative_order(drude_form: str, geometric_form: str, kinetic_form: str) -> int:
    """The highest derivative of H the forms need: ∂³H for ∂³ε, ∂²H for the inverse mass and ∂g, else ∂H."""
    if kinetic_form == "third_derivative":
        return 3
    return 2 if drude_form == "velocity_derivative" or geometric_form == "metric_dipole" else 1
