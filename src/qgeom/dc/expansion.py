"""Second-order DC conductivity in powers of Γ (seed [D] Eqs. 1–6, Table I).

σ_abc = σ^(−2)/Γ² + σ^(−1)/Γ + σ^(0) + O(Γ).  Every term of every mechanism is a linear
combination of a few Fermi-surface integrals Σ_{n,k} X_n(k) f0^(p)(ε_n), so one Bands per chunk
and one contraction with the occupation derivatives serve all terms, components, μ and
mechanisms at once. Computed with e = ħ = 1 in the model's energy E0 and length L0, i.e. in
e³ L0^(3−d)/(ħ E0) (for the seed model σ₂ = a(ħ/v)e³/ħ²), and converted to SI at the edge when the
model's units are physical (`units="auto"`, via `qgeom.units`).
"""

from __future__ import annotations

import dataclasses
import itertools
from types import MappingProxyType
from collections.abc import Sequence

import numpy as np
import xarray as xr

from .._validation import QgeomInputError
from ..bands import Bands
from ..kspace import integrate
from ..mu_sweep import BinnedMuSweep
from ..models.base import Model
from ..models.blocks import block_provenance
from ..occupation import weighted_fermi_derivatives
from ..accuracy import attach_error, error_tolerance
from ..options import Execution, Refinement, Sampling, Thermal, checked_keywords
from ..refinement import FlaggedIntegrand, attach_refinement, cell_widths, check_grid, refine as refine_sum
from ..results import make_result
from ..symmetry import NEUMANN, resolve as resolve_symmetry
from ..symmetry.results import SKIPPED_ERROR, attach_symmetry, forbids_everything, symmetrize_terms
from ..near_degeneracy import (NEAR_EFFECT, dc_tolerances, flag_near_degenerate, grouped_sums,
                               near_degenerate_variable, split_near)
from ..units import second_order_conductivity_scale
from .components import component_indices, parse_components
from .conventions import convention_scale, sigma_definition, term_units
from .mechanisms import MECHANISMS, assemble, check_mechanisms  # noqa: F401  (MECHANISMS re-exported)
from . import sums_over_states, two_band

# C_kin of σ^kin = C_kin Σ v^a v^b v^c f0'''' (= 2 C_kin Σ ∂a∂b∂c ε f0'' by parts).
# the seed is inconsistent (1/48 in Eq. 5; 1/24 ∂³ε f0'' in D-62; 1/48 with f = 2f0 − 1
# in D-61). The exact NESS evaluation (qgeom.dc.exact; Γ-scan fits on a 1-band and a 2-band model,
# docs/exact_ness.md, tests/dc/test_exact.py) gives C_kin = 1/24: Eq. 5 is low by 2, D-62 should
# read (1/12) ∂³ε f0'', D-61 (in f = 2f0 − 1) is right.
KINETIC_PREFACTOR = 1.0 / 24.0

TERMS = ("drude", "bcd", "geometric", "kinetic", "intrinsic")
# At the default resolution (None) the Γ⁻² and Γ⁻¹ coefficients are the sums over states with every pair
# resolved down to the accuracy of the bands (near_degeneracy.BAND_ACCURACY_EV: 1 meV for a model in eV, kT
# if lower; every pair for a model in its own units): the coefficients of the Γ → 0 expansion (any
# splitting is ≫ Γ in that limit), as seed Eqs. 2–3 and WannierBerri evaluate them, without the noise-split
# pairs of a Wannier model — and the Γ⁰ terms group pairs closer than kT (their 1/Δ³ interband terms). The
# diagnostic sigma_near_degenerate (the pairs between the two scales: ungrouped − grouped) is kept for every
# term; grouping the Drude below kT is no physical limit in its seed form either (docs/near_degeneracy.md).
RESOLVED_BY_DEFAULT = ("drude", "bcd")
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


def _integrands(b: Bands, comps, *, geometric_form: str, kinetic_form: str, drude_form: str = DRUDE_FORMS[0],
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
# chunk, over bins rather than states): `_FermiSurfaceSums.mu_sweep_points`
BINNED_MU_MARGINAL = 0.02
# time per k-point over `resources.estimate`'s eigensolve + Fourier + μ-sweep model (`relative_cost`):
# (a + b·components) for the default forms, a constant for the by-parts ones (∂H only, the Fermi window's rows)
RELATIVE_COST = (1.5, 0.06)
RELATIVE_COST_BY_PARTS = 0.9


class _FermiSurfaceSums:
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
        return ["_FermiSurfaceSums", *(np.asarray(c) for c in self.comps), np.asarray(self.mu, float),
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
        got = _integrands(coarse, self.comps, geometric_form=self.geometric_form, kinetic_form=self.kinetic_form,
                          drude_form=self.drude_form, bands=bands, finer=fine)
        if got is None:
            return None
        raw_coarse, raw_fine = got
        kept = self._contract(fine.energies[:, bands], w, raw_coarse, True)
        diff = {name: (raw_fine[name][0][..., changed] - x[..., changed], p) for name, (x, p) in raw_coarse.items()}
        return kept, self._contract(fine.energies[changed, bands], w[changed], diff, True)

    def _sums(self, b: Bands, w: np.ndarray) -> dict[str, np.ndarray]:
        raw, band_major, bands = _integrands(b, self.comps, geometric_form=self.geometric_form,
                                             kinetic_form=self.kinetic_form, drude_form=self.drude_form,
                                             bands=b.fermi_surface_bands(self.mu, self.temperature))
        return self._contract(b.energies[:, bands], w, raw, band_major)

    def _contract(self, energies: np.ndarray, w: np.ndarray, raw: dict, band_major: bool) -> dict[str, np.ndarray]:
        """Σ_k w Σ_n X f0^(p)(ε_n − μ) for every integrand (X, p) of `_integrands` (`energies` [nk, n]: of
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


def near_degenerate_advice(flagged: Sequence[str], drude_form: str, *, exact: str = "qgeom.dc.exact",
                           resolution: str = "resolution=Gamma",
                           drude: str = f"drude_form={BY_PARTS['drude_form']!r}") -> str:
    """The advice of the near-degeneracy warning for the terms `flagged` ("mechanism/term: fraction"),
    in the API's spelling or, with the other keywords, the command line's."""
    hint = ""
    if drude_form != BY_PARTS["drude_form"] and any("/drude:" in x for x in flagged):
        hint = f" (the Drude with {drude}: its grouped pairs follow the exact NESS)"
    return (f"The series holds for these terms only where Gamma << those splittings: compare with {exact}, "
            f"or evaluate at {resolution}{hint}")


def derivative_order(drude_form: str, geometric_form: str, kinetic_form: str) -> int:
    """The highest derivative of H the forms need: ∂³H for ∂³ε, ∂²H for the inverse mass and ∂g, else ∂H."""
    if kinetic_form == "third_derivative":
        return 3
    return 2 if drude_form == "velocity_derivative" or geometric_form == "metric_dipole" else 1


def _check_other_observable(refinement: Refinement, symmetry, current_options: tuple) -> None:
    """`expansion`'s options that only the current's terms have, refused for another observable;
    `current_options`: (rta, drude_form, geometric_form, kinetic_form)."""
    if refinement.levels:
        raise QgeomInputError("refine= is implemented for the current (observable='current'); use refine=0 "
                              "and a finer grid for other observables.")
    if symmetry is not None and not (isinstance(symmetry, str) and symmetry == NEUMANN):
        raise QgeomInputError("symmetry= is implemented for the current (observable='current'); use symmetry=None.")
    if current_options != (None, DRUDE_FORMS[0], GEOMETRIC_FORMS[0], KINETIC_FORMS[0]):
        raise QgeomInputError("rta, drude_form, geometric_form and kinetic_form belong to the current's terms; the "
                              "expansion of another observable has no such options (Γ⁰: use qgeom.dc.exact).")


def _grid_advice(forms: dict) -> str:
    """What the accuracy warning adds for an unconverged grid: the integrated-by-parts forms, unless in use
    (the seed forms' sharp interband terms are what a many-band material's grid has to resolve)."""
    if forms == dict(BY_PARTS):
        return ""
    return (", or use the integrated-by-parts forms at resolution=0: "
            f"{', '.join(f'{k}={v!r}' for k, v in BY_PARTS.items())} "
            "(fewer k-points where bands have avoided crossings near mu; docs/dc_expansion.md)")


def _validated(model, components, mechanisms, rta, drude_form, geometric_form, kinetic_form, convention, units):
    """The checked inputs of `expansion` (in the order they are checked, so the first bad one is
    reported): components, mechanisms, rta, convention scale, unit factor and label."""
    comps = parse_components(components, model.dim)
    mechanisms, rta = check_mechanisms(mechanisms, rta)
    scale = convention_scale(convention)
    unit_factor, unit = second_order_conductivity_scale(model, units)
    if geometric_form not in GEOMETRIC_FORMS:
        raise QgeomInputError(f"geometric_form must be one of {GEOMETRIC_FORMS}, got {geometric_form!r}.")
    if drude_form not in DRUDE_FORMS:
        raise QgeomInputError(f"drude_form must be one of {DRUDE_FORMS}, got {drude_form!r}.")
    if kinetic_form not in KINETIC_FORMS:
        raise QgeomInputError(f"kinetic_form must be one of {KINETIC_FORMS}, got {kinetic_form!r}.")
    return comps, mechanisms, rta, scale, unit_factor, unit


def _relative_change(to_sigma, unit_factor: float):
    """change(total, delta) of `refinement.refine`: the largest relative change of a term, judged as
    the error estimate judges a grid (`accuracy.relative_error`, over components and μ)."""
    from ..accuracy import relative_error

    def change(total: dict, delta: dict) -> float:
        dims = ("mechanism", "term", "component", "mu")
        value = xr.DataArray(to_sigma(total), dims=dims)
        return float(relative_error(value, xr.DataArray(np.abs(to_sigma(delta)), dims=dims),
                                    ("component", "mu"), unit_factor).max())

    return change


def _k_sums(model, grid, func, refinement: Refinement, change, *, mu, temperature, operations=None, **kwargs):
    """The chunk sums of `func` over `grid` → (sums, the less accurate sums the error estimate compares
    them with or None, the `refinement.RefinementResult` or None). Without refinement the second is
    the coarse sub-grid's sum; with it, the sum before the last level (every velocity axis is then
    needed: cells are judged along all of them). `operations`: the group of a symmetry wedge `grid`."""
    if not refinement.levels:
        return (*integrate(model, grid, func, subgrid=True, **kwargs), None)
    check_grid(grid)
    kwargs["axes"] = None
    flagged = FlaggedIntegrand(func, grid.basis, cell_widths(grid), mu, temperature, refinement.tol)
    base, coarse = integrate(model, grid, flagged, subgrid=True, **kwargs)
    refined = refine_sum(model, grid, func, base, mu=mu, temperature=temperature, levels=refinement.levels,
                         tol=refinement.tol, change=change, operations=operations, **kwargs)
    return refined.total, coarse if refined.previous is None else refined.previous, refined


def _dataset(model, kgrid, sigma, mechanisms, comps, mu_arr, parameters, unit, convention) -> xr.Dataset:
    """`sigma[mechanism, term, component, mu]` with its provenance, the meaning of the terms and their units
    (`units`: the Γ⁰ terms'; `units_by_term`: every term's, the Drude and BCD being coefficients of Γ⁻², Γ⁻¹)."""
    ds = make_result(
        {"sigma": (("mechanism", "term", "component", "mu"), sigma)},
        {"mechanism": mechanisms, "term": list(TERMS), "component": comps, "mu": mu_arr},
        model=model,
        grid=kgrid,
        parameters=parameters,
        units={"sigma": unit, "mu": model.energy_unit},
        title="second-order DC conductivity, Gamma expansion",
        extra_attrs={
            "term_meaning": "drude: coefficient of Gamma^-2 (seed [D] Eq. 2); bcd: coefficient of Gamma^-1 "
            "(Eq. 3); geometric, kinetic, intrinsic = geometric + kinetic: Gamma^0 (Eqs. 4-6, Table I). "
            "Drude and BCD are the same for all mechanisms with Gamma the bath/self-energy rate, "
            "in the model energy unit (eV for SI results).",
            "sigma_definition": sigma_definition(convention),
        },
    )
    ds["sigma"].attrs["units_by_term"] = term_units(unit, model.energy_unit, TERMS)
    return ds


@checked_keywords
def expansion(
    model: Model,
    *,
    components="xyy",
    mu,
    temperature: float,
    grid=Sampling.grid,
    kind: str | None = None,
    cutoff: float | None = None,
    offset: str = Sampling.offset,
    mechanisms: Sequence[str] | None = None,
    rta: tuple[float, float] | None = None,
    drude_form: str = DRUDE_FORMS[0],
    geometric_form: str = GEOMETRIC_FORMS[0],
    kinetic_form: str = KINETIC_FORMS[0],
    convention: str = "seed",
    units: str = "auto",
    degen_tol: float = Sampling.degen_tol,
    chunk_size: int | None = None,
    progress: bool | None = None,
    workers: int | None = None,
    scheduler=None,
    checkpoint=None,
    blocks: bool = Sampling.blocks,
    error_tol: float | None = None,
    observable="current",
    symmetry=NEUMANN,
    symmetry_tol: float | None = None,
    resolution: float | None = None,
    refine: int = Refinement.levels,
    refine_tol: float = Refinement.tol,
) -> xr.Dataset:
    """Γ-expansion coefficients of the second-order DC conductivity, per dissipation mechanism.

    Returns a Dataset with `sigma[mechanism, term, component, mu]`; terms: `drude` (Γ⁻² coefficient,
    Eq. 2), `bcd` (Γ⁻¹ coefficient, Eq. 3), `geometric` (Eq. 6 / Table I), `kinetic` (Eq. 5) and
    `intrinsic` = geometric + kinetic (Γ⁰). Mechanisms: `fermionic_bath` (this seed),
    `constant_gamma` (white-noise disorder, Table I), `rta` (Table I with user `rta=(c1, c2)`).
    `temperature` is kT in the model's energy unit; `mu` a scalar or 1D array in the same unit.
    `convention`: "seed" (Eqs. 2–6 as printed; a static field gives j_a = ½ Σ σ_abc E_b E_c) or
    "physical" (σ/2, j_a = Σ σ_abc E_b E_c); see `qgeom.dc.conventions`. `units`: "auto" (SI when
    the model's units are physical, e.g. eV/Å Wannier models; otherwise model units), "si", "model".
    `drude_form`, `geometric_form`, `kinetic_form`: the form of each term (`DRUDE_FORMS`, ...; the
    same k-integral, docs/dc_expansion.md): the defaults converge first on smooth bands; the
    integrated-by-parts forms (`BY_PARTS`) on many-band materials with avoided crossings near μ, at
    about half the cost per k-point (they need only ∂H); compare forms at `resolution=0`, and where
    pairs closer than Γ carry the Drude use the by-parts Drude with `resolution` = Γ (its grouped
    pairs follow the exact NESS; docs/near_degeneracy.md).
    `workers`, `scheduler`, `checkpoint`: executor and resumable run, see `kspace.integrate`.
    `blocks`: split H(k) into its exactly decoupled orbital blocks (`qgeom.models.blocks`; e.g. the
    h ⊕ h* of a PT-symmetric model) and sum their responses — exact, and cheaper; False forces
    the dense N-band sum over states (with degenerate-subspace averaging).
    `sigma_error` (same dims) is the estimated k-grid discretization error (`qgeom.accuracy`); an
    AccuracyWarning is issued when it exceeds `error_tol` relative to max |σ| of a term (over
    components and μ).
    `observable`: "current" (this function's σ_abc) or any other observable (a model operator name, a
    Hermitian matrix, current_x|y|z, an Observable): its Γ⁻² and Γ⁻¹ coefficients, fermionic bath only,
    field labels "bc" (`qgeom.dc.observable_expansion`; Γ⁰ not derived: use the exact Γ-scan).
    `symmetry`: "neumann" (the default: the full grid; the components forbidden by the group the
    model keeps to a Wannierization's accuracy — a crystal's group, not a perturbation's — are set
    to 0 and marked in `forbidden`, with a SymmetryWarning when they were not already rounding
    noise), None (the model's full-grid sums, nothing zeroed), "auto" (detect the exact magnetic
    point group), a Hermann–Mauguin symbol (primes for time reversal) or a list of Cartesian
    operations: for the last three only the irreducible wedge of the grid is evaluated and each term
    is symmetrized by its time-reversal parity (`qgeom.symmetry`); `forbidden[term, component]`
    marks Neumann zeros.
    `symmetry_tol`: the relative breaking of the given group the model may have (None: exact
    symmetries only, 1e-9). A Wannier model of a real crystal breaks its group slightly (or, for a
    poor Wannierization, a lot): a larger value imposes the crystal's group — the result is that of
    the ideal crystal, Neumann zeros exact — with a SymmetryWarning and the measured breaking in
    attrs["symmetry"] (docs/symmetry.md).
    `resolution`: the smallest band splitting the expansion resolves (energy): pairs closer than
    max(degen_tol, resolution) are one subspace — the Γ ≫ |Δ| limit of the exact NESS — instead of terms
    that grow as 1/Δ³ (docs/near_degeneracy.md). Set it to the Γ you evaluate the series at (with the
    by-parts Drude), or 0 for the plain sums over states. Default (None): the Drude and BCD resolve every
    splitting above the accuracy of the bands (min(kT, 1 meV) for a model in eV, every one for a model in
    its own units: the Γ → 0 coefficients, as seed Eqs. 2–3 and WannierBerri define them, without a Wannier
    model's noise-split pairs), the Γ⁰ terms group pairs closer than kT (`RESOLVED_BY_DEFAULT`;
    parameters["resolved_terms"], ["resolution_of_resolved_terms"]). `sigma_near_degenerate` (same dims as
    sigma) is the ungrouped minus the grouped value of the pairs between the lower scale and the resolution
    (what they carry in the resolved terms, would add to the grouped ones): large values mean the result
    depends on Γ/Δ beyond the series;
    `sigma_near_degenerate_fraction[mechanism, term]` is its max over components and μ relative to the
    term's, and a NearDegeneracyWarning names the terms where it exceeds 0.1.
    `refine`: up to this many levels of adaptive k-grid refinement (0: off) where a band crosses the
    μ range faster than the grid resolves kT (`qgeom.refinement`); stops when a level changes no term
    by more than `refine_tol` (relative, per term, over components and μ). attrs["refinement"] records
    the levels, points and changes; `sigma_error` is then the last level's change.
    """
    refinement = Refinement(refine, refine_tol)
    if not (isinstance(observable, str) and observable == "current"):
        _check_other_observable(refinement, symmetry, (rta, drude_form, geometric_form, kinetic_form))
        from .observable_expansion import observable_expansion

        return observable_expansion(
            model, observable=observable, components=components, mu=mu, temperature=temperature, grid=grid,
            kind=kind, cutoff=cutoff, offset=offset, mechanisms=mechanisms, convention=convention, units=units,
            degen_tol=degen_tol, chunk_size=chunk_size, progress=progress, workers=workers, scheduler=scheduler,
            checkpoint=checkpoint, blocks=blocks, error_tol=error_tol, resolution=resolution)
    thermal = Thermal(temperature, mu)
    sampling = Sampling(grid, kind=kind, cutoff=cutoff, offset=offset, degen_tol=degen_tol, blocks=blocks)
    execution = Execution(chunk_size, progress, workers, scheduler, checkpoint)
    comps, mechanisms, rta, scale, unit_factor, unit = _validated(
        model, components, mechanisms, rta, drude_form, geometric_form, kinetic_form, convention, units,
    )
    mu_arr, kT, degen_tol = thermal.mu, thermal.temperature, sampling.degen_tol
    kgrid = sampling.kgrid(model)
    order = derivative_order(drude_form, geometric_form, kinetic_form)
    plan = resolve_symmetry(model, symmetry, kgrid, tol=symmetry_tol)
    computed = plan.needed(comps) if plan else comps
    fine_tol, group_tol, split = dc_tolerances(model, degen_tol, kT, resolution)
    resolved = RESOLVED_BY_DEFAULT if split else ()
    axes, local = derivative_axes(component_indices(computed))
    func = _FermiSurfaceSums(local, mu_arr, kT, geometric_form, kinetic_form, group_tol=group_tol,
                             drude_form=drude_form, fine_tol=fine_tol)
    error_tol = error_tolerance(error_tol)
    base_grid = plan.grid if plan else kgrid
    to_sigma = lambda sums: scale * unit_factor * assemble(split_near(sums, resolved)[0], mechanisms, rta)  # noqa: E731
    if forbids_everything(plan, computed, comps, TERMS):  # exact zeros: no k-sum can change them
        plan = dataclasses.replace(plan, skipped=True)  # recorded in attrs["symmetry"]["k_sum"]
        sigma = np.zeros((len(mechanisms), len(TERMS), len(computed), len(mu_arr)))
        near, coarse, refined = np.zeros_like(sigma), None, None
    else:
        raw, raw_coarse, refined = _k_sums(model, base_grid, func, refinement, _relative_change(to_sigma, unit_factor),
                                           mu=mu_arr, temperature=kT, order=order,
                                           operations=plan.ops if plan and not plan.zeros_only else None,
                                           degen_tol=degen_tol, axes=axes,
                                           blocks=sampling.blocks, **execution.kwargs())
        raw, near = split_near(raw, resolved)
        sigma = scale * unit_factor * assemble(raw, mechanisms, rta)
        near = scale * unit_factor * assemble(near, mechanisms, rta) if near else np.zeros_like(sigma)
        coarse = None if raw_coarse is None else to_sigma(raw_coarse)
    sigma, near, coarse, forbidden = _symmetrized(plan, sigma, near, coarse, computed, comps)
    forms = dict(drude_form=drude_form, geometric_form=geometric_form, kinetic_form=kinetic_form)
    parameters = {
        "temperature": kT, "degen_tol": degen_tol, "resolution": group_tol, "resolved_terms": list(resolved),
        "resolution_of_resolved_terms": fine_tol, "rta_c1_c2": list(rta) if rta else None, **forms,
        "kinetic_prefactor": KINETIC_PREFACTOR, "convention": convention, "units": units, "unit_factor": unit_factor,
        "orbital_blocks": block_provenance(model, blocks), "refine": refinement.levels, "refine_tol": refinement.tol,
    }
    ds = _dataset(model, plan.grid if plan else kgrid, sigma, mechanisms, comps, mu_arr, parameters, unit, convention)
    ds = attach_symmetry(ds, plan, forbidden)
    ds["sigma_near_degenerate"] = near_degenerate_variable(ds["sigma"], near, group_tol, resolved, fine_tol)
    ds = flag_near_degenerate(ds, "sigma", ("component", "mu"), ("mechanism", "term"), scale_name="the resolution",
                              effect=NEAR_EFFECT, advice=lambda big: near_degenerate_advice(big, drude_form))
    if plan is not None and plan.skipped:
        return attach_error(ds, "sigma", None, grid=kgrid, tol=error_tol, exact=SKIPPED_ERROR)
    method = None  # the coarse sub-grid's sum, unless refined: then the sum before the last level
    if refined is not None:
        attach_refinement(ds, refined, refinement, base_grid)
        if refined.history:
            method = f"change made by the last refinement level ({len(refined.history)}) (qgeom.refinement)"
    return attach_error(ds, "sigma", coarse, grid=kgrid, tol=error_tol, over=("component", "mu"),
                        advice=_grid_advice(forms), method=method)


def _symmetrized(plan, sigma, near, coarse, computed, comps):
    """(σ, its near-degenerate part, the coarse or previous-level σ, forbidden) averaged over the symmetry
    plan's group by each term's parity, the forbidden components recorded (all unchanged without a plan)."""
    if not plan:
        return sigma, near, coarse, None
    sigma, forbidden = symmetrize_terms(plan, sigma, computed, comps, TERMS, record=True)
    near = symmetrize_terms(plan, near, computed, comps, TERMS)[0]
    if coarse is not None:  # the result before the last refinement level, averaged alike
        coarse = symmetrize_terms(plan, coarse, computed, comps, TERMS)[0]
    return sigma, near, coarse, forbidden

