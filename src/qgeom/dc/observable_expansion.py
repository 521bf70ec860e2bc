"""Γ-expansion of the DC second-order response of any observable O (fermionic bath; Γ⁻² and Γ⁻¹ orders).

For a BZ sum, Tr[O(k − A) ρ_S(k)] = Tr[O(k) ρ_L(k)] with ρ_L the length-gauge density matrix (shift k by
A), so the expansion follows from the length-gauge equation with k̇ = E and the bath's relaxation rate
2Γ of (A-8), (A-10): (2Γ + iε_nm) ρ⁽ʲ⁺¹⁾_nm = −E_b (D_b ρ⁽ʲ⁾)_nm, D_b = ∂_b − i[A^b, ·]. Solving it
order by order in Γ (populations ∝ 1/Γ per order; interband coherences regular) gives, in the seed
convention (⟨O⟩ = ½ Σ σ_bc E_b E_c, symmetric in b ↔ c), σ_bc = σ⁽⁻²⁾/Γ² + σ⁽⁻¹⁾/Γ + O(Γ⁰) with

    σ⁽⁻²⁾_bc = ½ Σ_k Σ_D Tr_D[O_D ∂_b∂_c f0(H_D)]
             = −¼ Σ_k Σ_D f0'(ε_D) Tr_D[(∂_b O)_D v^c_D + (∂_c O)_D v^b_D]     (by parts),
      (∂_b O)_nm = ∂_b<n|Ô|m> = <n|∂_b Ô|m> + i[A^b, O]_nm,  A^b_nm = −i v^b_nm/(ε_n − ε_m) (m ∉ D(n)),

    σ⁽⁻¹⁾_bc = −½ Σ_k Σ_D f0'(ε_D) Tr_D[v^b_D Y^c_D + v^c_D Y^b_D],
      Y^c = −i[(O∘G) v^c − v^c (O∘G)],  G_nm = 1/(ε_n − ε_m)² for m ∉ D(n), else 0,

(D: the degenerate subspaces, e.g. Kramers pairs; Tr_D makes both U(N) invariant). σ⁽⁻²⁾ is the
population (Drude) term; σ⁽⁻¹⁾ is the field-shifted Fermi surface times the interband polarizability
Tr_D Y^c of O. For O = ∂_a H they reduce to seed [D] Eq. (2) (nonlinear Drude) and Eq. (3) (Berry-
curvature dipole), which checks the signs; for any O both are verified against the exact Γ-scan
(`qgeom.dc.exact`, tests/dc/test_observable_expansion.py).

Not derived here: the Γ⁰ coefficient of a general O. It holds bath-specific population corrections
(for the current the kinetic f0'''' term, Eq. 5 with C_kin = 1/24; for O = 1 and one band
(1/12) Σ v^b v^c f0'''' — the bath is a particle reservoir) and interband terms. For Γ⁰, use the
exact Γ-scan (`qgeom.dc.gamma_fit.gamma_scan(..., observable=O)`, coefficient C).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import xarray as xr

from ..accuracy import attach_error, error_tolerance
from .._validation import QgeomInputError
from ..bands import Bands
from ..kspace import integrate
from ..models.base import Model
from ..models.blocks import block_provenance
from ..near_degeneracy import (NEAR_EFFECT, dc_tolerances, flag_near_degenerate, grouped_sums,
                               near_degenerate_variable, split_near)
from ..occupation import fermi_dirac
from ..refinement import flag_missed_fermi_surface
from ..results import make_result
from .conventions import check_convention, convention_scale, sigma_definition, term_units
from ..observables import Observable
from ..options import Execution, Sampling, Thermal, checked_keywords
from ..progress import compute_time
from .observable_terms import (block_observables, dc_observable, field_indices, observable_attrs, observable_unit,
                               parse_field_components)

OBSERVABLE_TERMS = ("drude", "interband")
OBSERVABLE_MECHANISMS = ("fermionic_bath",)


def _restricted(X: np.ndarray, same: np.ndarray) -> np.ndarray:
    """X_D: the blocks of X [nk, …, N, N] inside the degenerate subspaces."""
    return X * same.reshape((len(same),) + (1,) * (X.ndim - 3) + same.shape[1:])


def per_band_traces(b: Bands, obs: Observable, comps, bands: slice = slice(None)) -> tuple[np.ndarray, np.ndarray]:
    """Diagonals [nk, comp, n] whose sums over a subspace D are Tr_D[(D_b O)_D v^c_D] and
    Tr_D[v^b_D Y^c_D + v^c_D Y^b_D] (both × f0'), for the field components (b, c), for the bands n
    in `bands` (whole subspaces, `Bands.fermi_surface_bands`; default all). Only the blocks [bands, bands]
    of the products are formed (Tr_D stays inside a subspace): n_w² N work per product instead of N³."""
    B, C = comps
    w = bands
    same, inv = b.same[:, w, w], b.inv_de
    O = obs.eig(b)
    v = b.v
    vD = _restricted(v[:, :, w, w], same)
    dirs = sorted(set(np.asarray(B).tolist()))
    conn = -1j * v[:, dirs] * inv[:, None]  # interband Berry connection A^a_nm = −i v^a_nm/(ε_n − ε_m)
    # ∂_a<n|O|m> = i[A^a, O]_nm for a constant O, on the window's block
    dO = 1j * (conn[:, :, w] @ O[:, None, :, w] - O[:, None, w] @ conn[..., w])
    dO_bands = obs.deig(b)
    if dO_bands is not None:
        dO = dO + dO_bands[:, dirs][:, :, w, w]
    OG = O * inv**2

    def Y(c):  # −i[(O∘G) v^c − v^c (O∘G)] on the window's block
        return -1j * (OG[:, None, w] @ v[:, c, :, w] - v[:, c, w] @ OG[:, None, :, w])

    diag = lambda X: np.diagonal(X, axis1=-2, axis2=-1).real  # noqa: E731
    p1 = diag(_restricted(dO[:, np.searchsorted(dirs, B)], same) @ vD[:, C])
    q1 = diag(vD[:, B] @ _restricted(Y(C), same) + vD[:, C] @ _restricted(Y(B), same))
    return p1, q1


class _ObservableSums:
    """Chunk integrand: Σ_k w Σ_n f0'(ε_n) (p1, q1) [2, comp, μ]; picklable."""

    def __init__(self, comps, mu, temperature, observable, group_tol: float = 0.0, fine_tol: float | None = None):
        self.comps, self.mu, self.temperature, self.observable = comps, mu, temperature, observable
        self.group_tol = group_tol  # pairs closer than this: one subspace (bands.resolved_tol)
        self.fine_tol = fine_tol  # ... and on the ungrouped side of the diagnostic (near_degeneracy.dc_tolerances)

    def fingerprint(self):
        o = self.observable
        return ["_ObservableSums", *(np.asarray(c) for c in self.comps), np.asarray(self.mu, float),
                float(self.temperature), o.name, o.source, o.matrix, o.direction, self.group_tol, self.fine_tol]

    def __call__(self, b: Bands, w: np.ndarray) -> dict[str, np.ndarray]:
        """{"sums": [2, comp, μ]} with pairs below the resolution grouped, and their `near:` part."""
        return grouped_sums(lambda bands, wk: {"sums": self._sums(bands, wk)}, b, w, self.group_tol,
                            lower=self.fine_tol)

    def _sums(self, b: Bands, w: np.ndarray) -> np.ndarray:
        bands = b.fermi_surface_bands(self.mu, self.temperature)
        p1, q1 = per_band_traces(b, self.observable, self.comps, bands)
        f1 = fermi_dirac(b.energies[:, bands, None], self.mu, self.temperature, 1) * w[:, None, None]
        return np.stack([np.einsum("kcn,knm->cm", p1, f1), np.einsum("kcn,knm->cm", q1, f1)])


def _check_mechanisms(mechanisms) -> list[str]:
    mechs = list(OBSERVABLE_MECHANISMS) if mechanisms is None else (
        [mechanisms] if isinstance(mechanisms, str) else list(mechanisms))
    for mech in mechs:
        if mech not in OBSERVABLE_MECHANISMS:
            raise QgeomInputError(
                f"the Γ-expansion of an observable other than the current is derived for the fermionic bath only "
                f"(got mechanism {mech!r}); for other mechanisms no closed form is implemented. The exact "
                "fermionic-bath response at finite Γ is qgeom.dc.exact(..., observable=O).")
    return mechs


@checked_keywords
def _block_sums(model: Model, obs, sampling: Sampling, execution: Execution, kgrid, fields, thermal: Thermal,
                tolerances: tuple[float, float], resolved: tuple[str, ...]):
    """The pair sums [2, field, μ] of every decoupled orbital block added up: (the resolved grid's sums, the
    coarse subgrid's for the error estimate or None, the near-degenerate pairs' share)."""
    parts = block_observables(model, obs, sampling.blocks)
    checkpoint = execution.checkpoint
    total, coarse, near = 0.0, 0.0, 0.0
    for i, (idx, part_obs) in enumerate(parts):
        part = model if len(parts) == 1 else model.restricted(idx, name=f"{model.name}[block {i}]")
        func = _ObservableSums(fields, thermal.mu, thermal.temperature, part_obs.validate_for(part), *tolerances)
        ex = execution.kwargs()
        if checkpoint is not None and len(parts) > 1:
            ex["checkpoint"] = Path(checkpoint) / f"block_{i}"
        fine, rough = integrate(part, kgrid, func, order=func.observable.bands_order(True),
                                degen_tol=sampling.degen_tol, subgrid=True, **ex)
        fine, fine_near = split_near(fine, resolved)
        total, near = total + fine["sums"], near + fine_near.get("sums", 0.0)
        coarse = None if rough is None or coarse is None else coarse + split_near(rough, resolved)[0]["sums"]
    return total, coarse, near


def observable_expansion(
    model: Model,
    *,
    observable,
    components="xx",
    mu,
    temperature: float,
    grid=Sampling.grid,
    kind: str | None = None,
    cutoff: float | None = None,
    offset: str = Sampling.offset,
    mechanisms=None,
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
    resolution: float | None = None,
) -> xr.Dataset:
    """Γ⁻² (`drude`) and Γ⁻¹ (`interband`) coefficients of the DC response of `observable` (a model
    operator name, a Hermitian matrix, current_x|y|z or an Observable), fermionic bath, field labels
    "bc". Returns `sigma[mechanism, term, component, mu]` in the units of `exact(..., observable=)`.
    The Γ⁰ coefficient is not derived: take it from the exact Γ-scan (`gamma_scan(..., observable=)`).
    `sigma_error`, `error_tol`: the k-grid error estimate; `resolution` and `sigma_near_degenerate`: pairs
    below it grouped, and what they would add — as in `expansion`; by default (None) both coefficients
    resolve every splitting above the bands' accuracy (`near_degeneracy.dc_tolerances`), with the diagnostic
    of the pairs between it and kT."""
    obs = dc_observable(model, observable)
    if obs is None:
        raise QgeomInputError("observable='current' is qgeom.dc.expansion's own path (labels 'abc'); "
                              "use current_x|y|z here, or call expansion().")
    comps = parse_field_components(components, model.dim)
    thermal = Thermal(temperature, mu)
    sampling = Sampling(grid, kind=kind, cutoff=cutoff, offset=offset, degen_tol=degen_tol, blocks=blocks)
    execution = Execution(chunk_size, progress, workers, scheduler, checkpoint)
    mu_arr, kT, degen_tol = thermal.mu, thermal.temperature, sampling.degen_tol
    # both coefficients (Γ⁻², Γ⁻¹) resolved above the bands' accuracy by default, as the current's
    fine_tol, group_tol, split = dc_tolerances(model, degen_tol, kT, resolution)
    resolved = ("sums",) if split else ()
    mechs = _check_mechanisms(mechanisms)
    check_convention(convention)
    factor, unit = observable_unit(model, obs, units)
    error_tol = error_tolerance(error_tol)
    kgrid = sampling.kgrid(model)
    swapped = [c[::-1] for c in comps]
    allc = list(dict.fromkeys(comps + swapped))
    with compute_time() as cost:
        total, coarse, near = _block_sums(model, obs, sampling, execution, kgrid, field_indices(allc), thermal,
                                          (group_tol, fine_tol), resolved)

    def assemble(sums):  # [2, allc, μ] → [term, comp, μ]
        sums = np.asarray(sums)
        sym = 0.5 * (sums[:, [allc.index(c) for c in comps]] + sums[:, [allc.index(c) for c in swapped]])
        # seed convention χ_bc = T_bc + T_cb, populations 1/(2Γ) per order: Drude −¼(S_bc + S_cb), interband −½ q
        return -0.5 * convention_scale(convention) * factor * sym

    sigma = assemble(total)
    params = {"temperature": kT, "degen_tol": degen_tol, "resolution": group_tol,
              "resolved_terms": list(OBSERVABLE_TERMS) if resolved else [], "resolution_of_resolved_terms": fine_tol,
              "convention": convention, "units": units,
              "unit_factor": factor, "observable": obs.name, "orbital_blocks": block_provenance(model, blocks),
              **cost.attrs()}
    ds = make_result(
        {"sigma": (("mechanism", "term", "component", "mu"), np.repeat(sigma[None], len(mechs), axis=0))},
        {"mechanism": mechs, "term": list(OBSERVABLE_TERMS), "component": comps, "mu": mu_arr},
        model=model, grid=kgrid, parameters=params, units={"sigma": unit, "mu": model.energy_unit},
        title=f"second-order DC response of {obs.name}, Gamma expansion (fermionic bath)",
        extra_attrs={
            **observable_attrs(obs),
            "term_meaning": "drude: coefficient of Gamma^-2, 1/2 sum Tr_D[O_D d_b d_c f0] (seed [D] Eq. 2 for the "
            "current); interband: coefficient of Gamma^-1, Fermi-surface shift times the interband polarizability "
            "of O (Eq. 3, the Berry-curvature dipole, for the current). Gamma^0: not derived, use the exact "
            "Gamma-scan (qgeom.dc.gamma_fit.gamma_scan(..., observable=O)).",
            "sigma_definition": sigma_definition(convention),
        },
    )
    ds["sigma"].attrs["units_by_term"] = term_units(unit, model.energy_unit, OBSERVABLE_TERMS)
    near = np.zeros_like(sigma) if np.isscalar(near) else assemble(near)
    ds["sigma_near_degenerate"] = near_degenerate_variable(ds["sigma"], np.repeat(near[None], len(mechs), axis=0),
                                                           group_tol, OBSERVABLE_TERMS if resolved else (), fine_tol)
    ds = flag_near_degenerate(ds, "sigma", ("component", "mu"), ("mechanism", "term"), scale_name="the resolution",
                              effect=NEAR_EFFECT, advice="The series holds for these terms only where Gamma << "
                              "those splittings: compare with qgeom.dc.exact(observable=...), or evaluate at "
                              "resolution=Gamma")
    rough = None if coarse is None else np.repeat(assemble(coarse)[None], len(mechs), axis=0)
    ds = attach_error(ds, "sigma", rough, grid=kgrid, tol=error_tol, over=("component", "mu"))
    # both coefficients are f0'-weighted Fermi-surface sums: a surface between the k-points gives ~0 on the grid
    # and its sub-grid alike, which only the check of the bands against μ sees
    return flag_missed_fermi_surface(ds, model, kgrid, kT, convention_scale(convention) * factor)
