"""`qgeom.optical.response`: second-order rectified responses of any observable (seed [K]).

See `terms.py` for the formulas and `units.py` for the field and unit conventions.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

import numpy as np

from .._validation import QgeomInputError, nonempty_1d, positive_scalar
from ..accuracy import attach_error, error_tolerance
from ..bands import Bands
from ..kspace import chunk_size_for, integrate
from ..resources import bytes_per_point
from ..models.base import Model
from ..near_degeneracy import (flag_near_degenerate, grouped_sums, near_degenerate_variable, optical_tolerance,
                               split_near)
from ..options import Execution, Sampling, Thermal, checked_keywords
from ..progress import compute_time
from ..results import make_result
from ..symmetry import NEUMANN, resolve as resolve_symmetry
from ..symmetry.results import SKIPPED_ERROR, attach_symmetry
from . import kernels, spectral
from . import symmetry as _optsym
from . import scissors as _scissors
from ..observables import AXES, resolve
from .terms import DEFAULT_KINDS, PUBLIC_KINDS, TERMS, Chunk, kernel_of, principal_part_default  # noqa: F401
from ..units import checked_units, energy_unit_ev
from .units import chi_units, tau_to_model

# Converged defaults (docs/optical.md, "Convergence"): continuum disk (n_r, n_phi); lattice MP grid.
DEFAULT_DISK_GRID = (480, 12)
DEFAULT_LATTICE_GRID = 200
DEFAULT_TEMPERATURE = {"eV": 1e-3}  # kT; other units: 1e-3 of the model energy unit
DEFAULT_BROADENING = {"eV": 2e-3}  # Lorentzian half width; other units: 1e-2 model units
CHUNK_MEMORY = 512 * 2**20  # bytes per chunk at most (`resources.bytes_per_point`) before the 64 k-points


def chunk_response(b: Bands, wk: np.ndarray, obs, terms: Sequence[str], omega_all: np.ndarray, *,
                   mu: float, temperature: float, tau: float | None, gamma: float, bkind: str,
                   scissors=None, position=None, principal_part: bool | None = None, only=None, first=None):
    """Unsymmetrized Σ_k w_k Σ_nm W^{αβ}_nm g(ω + ε_nm) for every term: {term: [nω, d, d]}.
    With `scissors` (a `scissors.Scissors`) the weights stay those of the unscissored bands and ε_nm → ε'_nm
    (exact for the current observable, see scissors.py). The ω contraction is `spectral.contract`.
    `position`: the eigenbasis Wannier position matrix of a full-position model (see `Chunk`).
    `principal_part`: keep the non-resonant P(1/x) of shift_like (None: `terms.principal_part_default`).
    `only`: None, or [nk, N] bool — the sums over the transitions from or to these states only (`Chunk`).
    `first`: None, or [nk, N] bool — returns (the sums, their part over the transitions from or to these
    states): what `only=first` gives, from the same evaluation (`spectral.Transitions`)."""
    ch = Chunk(b, obs, mu, temperature, position, only)
    if scissors is not None:
        scissors.check_gap(b)
    tr = spectral.Transitions(ch, gamma, scissors, first)
    kk = tr.pairs[0]
    numerators = {name: ch.numerator(name, tr.pairs, wk).reshape(len(kk), b.dim**2)
                  for name in dict.fromkeys(TERMS[term].numerator for term in terms)}
    weights = {term: (TERMS[term].numerator, TERMS[term].prefactor(tau), kernel_of(term, obs, principal_part))
               for term in terms}
    sums, part = spectral.contract(tr, omega_all, numerators, weights, gamma, bkind)
    shape = (len(omega_all), b.dim, b.dim)
    sums = {term: s.reshape(shape) for term, s in sums.items()}
    return sums if part is None else (sums, {term: s.reshape(shape) for term, s in part.items()})


def symmetrize(chi_pm: np.ndarray, n: int) -> np.ndarray:
    """S10: χ^{αβ}(ω) → ½[χ^{αβ}(ω) + χ^{βα}(−ω)] from values on [ω…, −ω…] (axis 0)."""
    return 0.5 * (chi_pm[:n] + chi_pm[n:].swapaxes(-1, -2))


@checked_keywords
def response(
    model: Model,
    observable,
    *,
    kinds: Sequence[str] = DEFAULT_KINDS,
    omega,
    mu: float = 0.0,
    temperature: float | None = None,
    tau: float | None = None,
    broadening: float | None = None,
    broadening_kind: str = "lorentzian",
    grid=None,
    cutoff: float | None = None,
    offset: str = Sampling.offset,
    degen_tol: float = Sampling.degen_tol,
    chunk_size: int | None = None,
    progress: bool | None = None,
    units: str = "auto",
    si: bool | None = None,
    scissors=None,
    principal_part: bool | None = None,
    workers: int | None = None,
    scheduler=None,
    checkpoint=None,
    error_tol: float | None = None,
    resolution: float | None = None,
    symmetry=NEUMANN,
    symmetry_tol: float | None = None,
):
    """Second-order rectified response χ^{αβ}(ω) of `observable` (seed [K]), symmetrized (S10).

    Parameters (for eV/Å models such as `mnbi2te4_bilayer`: ħω, μ, kT, broadening in eV, τ in ps,
    k and `cutoff` in Å⁻¹; for other models everything in model units, τ in ħ/E0):
      observable : name of a model operator ("layer_polarization", "spin_z"), "current_x|y|z",
                   an `Observable` (`current`, `operator`), a Hermitian matrix or a callable of k.
      kinds      : any of "injection" (Eq. 4), "kramers_injection" (S13), "kramers_fermi_sea" (S14),
                   "shift_like" (S15/S16); also "textbook_injection" (Eq. 1), "kramers_unsplit" (S11
                   at η = broadening), "kramers_injection_geometric" (Eq. 6),
                   "kramers_fermi_sea_geometric" (Eq. 8).
      tau        : relaxation time, required by the injection-type kinds.
      broadening : width γ of δ_γ and of the consistent P_γ, Pf_γ (`broadening_kind` "lorentzian"
                   or "gaussian"); default 2 meV for eV models.
      grid       : lattice models: points per direction (default 200); continuum: (n_r, n_phi)
                   on a disk of radius `cutoff` (default (480, 12), cutoff = model.k_cutoff).
      offset     : lattice grids: "mp" (Monkhorst–Pack, default) or "gamma" (Γ-centred).
      scissors   : None (default) | "model" | "auto" | shift | (shift, n_valence): rigid shift of the
                   conduction bands (n ≥ n_valence) with the interband position r_nm unchanged
                   (postw90/WannierBerri, v_nm → v_nm ε'_nm/ε_nm); "model" reads `scissors_shift` and
                   `num_valence_bands` from `model.parameters` (Wannier90 .win). Current observables only;
                   see `optical/scissors.py`.
      principal_part : keep the non-resonant principal value P(1/x) of the shift_like resolvent. Default
                   (None): no for the current — a DC current needs absorption; the exact NESS's rectified
                   current vanishes below the gap and P(1/x) is cancelled there by the injection terms'
                   non-resonant remainder — and yes for other observables (optical rectification of a
                   polarization is physical). See docs/optical.md, "Resonant and non-resonant parts".
      units      : "auto" (SI for eV/Å models, model units otherwise), "si" (an error for a model without
                   physical units) or "model", as in `qgeom.dc.expansion`; `si` (True/False) is the older
                   spelling of "auto"/"model" (refused together with a units= other than "auto").
      workers, scheduler, checkpoint : executor (process pool, Dask) and resumable run, see
                   `kspace.integrate`.

    `chi_error` (same dims, real) is the estimated k-grid discretization error (`qgeom.accuracy`); an
    AccuracyWarning is issued when it exceeds `error_tol` relative to max |χ| of a kind.
    `resolution`: pairs with |ε_n − ε_m| < max(degen_tol, resolution) are one subspace (energy). Default
    (None): min(broadening, 1 meV) for models in eV — a splitting below the accuracy of Wannier-interpolated
    bands is not the material's, and the numerators' 1/Δ, 1/Δ² would let it dominate — and degen_tol for
    models in their own units (`near_degeneracy.optical_tolerance`); 0 keeps every pair apart, as the
    sum-over-states formulas of WannierBerri and postw90 with their degeneracy thresholds at zero.
    `chi_near_degenerate` (same dims as chi): the part of chi that pairs kept apart although closer than
    the broadening carry (χ minus χ with them grouped); large values: the result depends on how
    transitions within unresolved pairs are treated (docs/near_degeneracy.md); `chi_near_degenerate_fraction[kind]`
    is its max relative to the kind's, and a NearDegeneracyWarning names the kinds where it exceeds 0.1.
    `symmetry`, `symmetry_tol`: as in `qgeom.dc.expansion`, for current observables: the unitary
    operations that map the current direction onto itself give the irreducible wedge and the group
    average of χ^{αβ} (`optical/symmetry.py`); `forbidden[alpha, beta]` marks the components that are
    Neumann zeros whole, `forbidden_part[part, alpha, beta]` also the linear (part "real") or circular
    ("imag") part of an allowed one that is. The default "neumann" keeps the full grid and sets to 0 only
    what those operations of the group the model keeps to a Wannierization's accuracy forbid, and of the
    crystal's group from the model's files (`model_breaking_only[part, alpha, beta]`: what only the latter
    forbids); other observables: none.

    Returns an xarray Dataset with complex `chi` over (kind, alpha, beta, omega); δ⟨O⟩ =
    2e² Σ χ^{αβ}(ω) E^α_ω* E^β_ω for E(t) = ½(E_ω e^{−iωt} + c.c.). Units in `chi.attrs["units"]`.
    """
    error_tol = error_tolerance(error_tol)
    units = checked_units(model, _legacy_si(si, units))
    obs = resolve(model, observable)
    sc = _scissors.resolve(model, scissors, obs)
    kinds = _check_kinds(kinds)
    omega = _check_omega(omega)
    settings = _settings(model, kinds, mu=mu, temperature=temperature, tau=tau, broadening=broadening,
                         broadening_kind=broadening_kind)
    settings["principal_part"] = principal_part_default(obs) if principal_part is None else bool(principal_part)
    sampling = Sampling(_default_grid(model, grid), cutoff=cutoff, offset=offset,
                        degen_tol=degen_tol)
    Execution(chunk_size, progress, workers, scheduler, checkpoint)
    kgrid, degen_tol = sampling.kgrid(model), sampling.degen_tol
    plan = None
    if isinstance(symmetry, str) and symmetry == NEUMANN and obs.source != "current":
        symmetry = None  # the default Neumann zeros need the response's transformation law: the current's only
    if symmetry is not None:
        direction = _optsym.check_observable(obs)
        plan = resolve_symmetry(model, symmetry, kgrid, time_reversal="per kind", tol=symmetry_tol,
                                keep=_optsym.stabilizes(direction))
    settings["group_tol"] = optical_tolerance(model, degen_tol, settings["broadening"], resolution)
    order = obs.bands_order(max(TERMS[k].derivative_order for k in kinds) > 1)
    with compute_time() as cost:
        if plan and _optsym.forbids_everything(plan, direction, model.dim):  # exact zeros: no k-sum can change them
            plan = dataclasses.replace(plan, skipped=True)  # recorded in attrs["symmetry"]["k_sum"]
            chi = np.zeros((len(kinds), len(omega), model.dim, model.dim), complex)
            near, coarse = np.zeros_like(chi), None
        else:
            chi, near, coarse = _integrate_chi(model, obs, kinds, omega, plan.grid if plan else kgrid, settings, sc,
                                               order=order, degen_tol=degen_tol, chunk_size=chunk_size,
                                               progress=progress, subgrid=True,
                                               executor={"workers": workers, "scheduler": scheduler,
                                                         "checkpoint": checkpoint})
    forbidden, part_masks, t_parts, t_record = None, {}, None, {}
    if plan:
        kernels = {k: kernel_of(k, obs, settings["principal_part"]) for k in kinds}
        chi, near, coarse, part_masks, t_parts, t_record = _symmetrized(plan, direction, model.dim, kinds, kernels,
                                                                        chi, near, coarse)
        forbidden = part_masks["forbidden_part"].all(axis=0)
    factor, unit = chi_units(model, obs) if units != "model" else (1.0, "model units (e = hbar = 1)")
    chi, near = (np.moveaxis(x, 1, 3) * factor for x in (chi, near))  # [kind, α, β, ω]
    params = {
        "observable": obs.name, "observable_source": obs.source, "observable_unit": obs.unit,
        "pt_parity": obs.parity, "kinds": kinds, **{k: v for k, v in settings.items() if k != "group_tol"},
        "degen_tol": degen_tol, "resolution": settings["group_tol"],
        "order": order,
        **cost.attrs(), "si_factor": factor,
        "scissors_shift": sc.shift if sc else 0.0, "num_valence_bands": sc.n_valence if sc else -1,
    }
    ds = _dataset(model, obs, kinds, omega, plan.grid if plan else kgrid, chi, unit, params)
    ds = attach_symmetry(ds, plan, forbidden, dims=("alpha", "beta"), parts=part_masks)
    if t_parts is not None:
        _optsym.attach_time_reversal(ds, t_parts, t_record, plan.time_reversal_note())
    ds["chi_near_degenerate"] = near_degenerate_variable(ds["chi"], near, max(settings["group_tol"], settings["broadening"]))
    ds = flag_near_degenerate(ds, "chi", ("alpha", "beta", "omega"), ("kind",), scale_name="the broadening",
                              effect="carry", advice="Transitions within unresolved pairs dominate: check with a "
                              "smaller broadening, or group them with resolution=broadening")
    coarse = None if coarse is None else np.moveaxis(coarse, 1, 3) * factor
    if plan and plan.skipped:
        return attach_error(ds, "chi", None, grid=kgrid, tol=error_tol, exact=SKIPPED_ERROR)
    return attach_error(ds, "chi", coarse, grid=kgrid, tol=error_tol, over=("alpha", "beta", "omega"))


def _legacy_si(si, units: str) -> str:
    """`units` from the older `si=True/False` spelling; both given would let one contradict the other
    (si=True, units="model" labelled the result SI), so an explicit `units` with `si` is refused."""
    if si is None:
        return units
    if units != "auto":
        raise QgeomInputError(
            f"si={si!r} together with units={units!r}: `si` is the older spelling of `units` (si=True is "
            f"units='auto', si=False is units='model'); pass units= only."
        )
    if not isinstance(si, (bool, np.bool_)):
        raise QgeomInputError(f"si must be True or False (the older spelling of units=), got {si!r}.")
    return "auto" if si else "model"


def _symmetrized(plan, direction, dim: int, kinds, kernels, chi, near, coarse):
    """χ, its near-degenerate part and the coarse sub-grid's χ (or None) averaged over the group's orbits with
    the Neumann zeros set, and the masks and time-reversal parts of χ (`optical.symmetry.neumann_zeros`)."""
    zeros = dict(direction=direction, dim=dim, kinds=kinds, kernels=kernels)
    chi, part_masks, t_parts, t_record = _optsym.neumann_zeros(plan, chi, label="chi", **zeros)
    near = _optsym.neumann_zeros(plan, near, **zeros)[0]
    if coarse is not None:  # the coarse sub-grid's orbits of a wedge, averaged alike
        coarse = _optsym.neumann_zeros(plan, coarse, **zeros)[0]
    return chi, near, coarse, part_masks, t_parts, t_record


class _ChunkResponse:
    """Chunk integrand of `response`: `chunk_response` with fixed settings. Module-level, so it pickles
    (process pool, Dask) whenever the observable does (always for currents, operators and matrices)."""

    def __init__(self, obs, kinds, omega_all, settings: dict, scissors, position=None):
        self.obs, self.kinds, self.omega_all, self.scissors = obs, list(kinds), np.asarray(omega_all, float), scissors
        self.position = position  # model.position_matrix of a full-position model, else None
        self.mu, self.temperature = settings["mu"], settings["temperature"]
        self.tau, self.gamma, self.bkind = settings["tau_model"], settings["broadening"], settings["broadening_kind"]
        self.principal_part = settings.get("principal_part")  # None: terms.principal_part_default
        self.group_tol = settings.get("group_tol", 0.0)  # pairs closer than this: one subspace

    @property
    def relative_cost(self) -> float:
        """Time per k-point over `resources.point_ops` (eigensolve, Fourier sums, ω contraction): the numerators,
        the rotation of ∂H and ∂∂H and the near-degenerate diagnostic — 2 (GaAs and 1T′-MoS₂ at 50–4000 ω: 1.0–1.3
        of it, measured / estimated) — and 5 with Gaussian broadening, whose tables evaluate Dawson's function
        (GaAs 14³ at 50 / 500 / 2000 ω: 0.72 / 1.67 / 2.11 s measured, 2.0–3.0× the Lorentzian estimate)."""
        return 5.0 if self.bkind == "gaussian" else 2.0

    def fingerprint(self):
        """What the chunk sums depend on (checkpoint manifests)."""
        o, sc = self.obs, self.scissors
        observable = [o.name, o.source, o.matrix, o.func, o.derivative, o.direction, o.fd_step]
        return ["_ChunkResponse", observable, self.kinds, self.omega_all, float(self.mu), float(self.temperature),
                None if self.tau is None else float(self.tau), float(self.gamma), self.bkind,
                None if sc is None else [float(sc.shift), int(sc.n_valence)], self.principal_part, self.group_tol]

    def __call__(self, b: Bands, wk: np.ndarray) -> dict:
        """{kind: [nω, d, d]} with pairs below the resolution grouped, and their `near:` parts."""
        return grouped_sums(self._sums, b, wk, self.group_tol, scale=self.gamma, touched=True)

    def _sums(self, b: Bands, wk: np.ndarray, only=None, first=None):
        position = None
        if self.position is not None:  # Ā = U†Ā^W U, ∂Ā = U†(∂Ā^W)U (Wang et al. 2006)
            Vd, V = b.vectors.conj().swapaxes(-1, -2), b.vectors
            Abar, dAbar = self.position(b.k)
            position = (Vd[:, None] @ Abar @ V[:, None], Vd[:, None, None] @ dAbar @ V[:, None, None])
        return chunk_response(b, wk, self.obs, self.kinds, self.omega_all, mu=self.mu, temperature=self.temperature,
                              tau=self.tau, gamma=self.gamma, bkind=self.bkind, scissors=self.scissors,
                              position=position, principal_part=self.principal_part, only=only, first=first)


def optical_chunk_size(nbands: int, dim: int, n_omega: int) -> int:
    """k-points per chunk of an optical k-sum: ~40 000 transition pairs (~N²/4 per k-point), at least 64
    k-points (the per-chunk work outside the k-points) unless those would hold more than CHUNK_MEMORY
    (`resources.bytes_per_point`: N ≳ 90; at N = 300 the 64 k-points were estimated at 8.7 GiB, 2.4 GiB measured)."""
    per_k = bytes_per_point(nbands=nbands, dim=dim, n_omega=2 * n_omega)
    return chunk_size_for(max(1, nbands**2 // 4), budget=40_000, lo=min(64, max(1, CHUNK_MEMORY // per_k)), hi=4096)


def _integrate_chi(model: Model, obs, kinds, omega, kgrid, settings: dict, sc, *, order, degen_tol, chunk_size,
                   progress, executor=None, subgrid: bool = False):
    """Σ_k over `kgrid` of every kind on [ω…, −ω…], symmetrized (S10): [kind, ω, α, β] in model units,
    and its near-degenerate part (zeros when nothing is grouped). `executor`: workers/scheduler/checkpoint
    for `integrate`. `subgrid=True`: (χ, near, χ on the coarse sub-grid or None), see `kspace`."""
    func = _ChunkResponse(obs, kinds, np.concatenate([omega, -omega]), settings, sc, _position(model, obs, kinds))
    size = chunk_size or optical_chunk_size(model.nbands, model.dim, len(omega))
    # a current's (or spin current's) ∂_a O needs only ∂_a∂_γ H, γ its direction (Observable.deig)
    along = obs.direction if order == 2 else None
    res, coarse = integrate(model, kgrid, func, order=order, degen_tol=degen_tol, chunk_size=size, progress=progress,
                            along=along, subgrid=True, **(executor or {}))
    res, near = split_near(res)
    chi = np.stack([symmetrize(res[k], len(omega)) for k in kinds])
    near = np.stack([symmetrize(near[k], len(omega)) for k in kinds]) if near else np.zeros_like(chi)
    if not subgrid:
        return chi, near
    coarse = None if coarse is None else split_near(coarse)[0]
    return chi, near, None if coarse is None else np.stack([symmetrize(coarse[k], len(omega)) for k in kinds])


def _position(model: Model, obs, kinds):
    """model.position_matrix when the model carries the full Wannier position operator, else None. Implemented
    for the current observable and the terms built from A, O^D and B (not the geometric v^{a;λ} forms)."""
    if not model.has_position_matrix:
        return None
    unsupported = [k for k in kinds if not TERMS[k].full_position]
    if obs.source != "current" or unsupported:
        raise QgeomInputError(
            f"the full Wannier position operator (position_operator='full') is implemented for the current "
            f"observable and the kinds {[k for k, t in TERMS.items() if t.full_position]} only; got "
            f"{obs.name!r} with kinds {kinds}. Load the model with position_operator='centres'."
        )
    return model.position_matrix


def _check_kinds(kinds) -> list[str]:
    kinds = [kinds] if isinstance(kinds, str) else list(kinds)
    if not kinds:
        raise QgeomInputError("kinds must name at least one response kind.")
    bad = [k for k in kinds if k not in TERMS]
    if bad:
        raise QgeomInputError(f"unknown response kind(s) {bad}; allowed: {list(TERMS)}.")
    if len(set(kinds)) != len(kinds):
        raise QgeomInputError(f"kinds contains duplicates: {kinds}.")
    return kinds


def _check_omega(omega) -> np.ndarray:
    return nonempty_1d(omega, "omega", "frequencies")


def _settings(model: Model, kinds: list[str], *, mu, temperature, tau, broadening, broadening_kind) -> dict:
    """Validated μ, kT, τ (as given and in model units ħ/E0) and broadening, with their defaults.
    τ is in ps when the model's energy unit is physical (eV, meV), else in ħ/E0."""
    E = model.energy_unit
    e0 = energy_unit_ev(model)
    thermal = Thermal(temperature if temperature is not None else DEFAULT_TEMPERATURE.get(E, 1e-3), mu)
    mu, temperature = thermal.single_mu("qgeom.optical.response"), thermal.temperature
    gamma = positive_scalar(broadening if broadening is not None else DEFAULT_BROADENING.get(E, 1e-2), "broadening")
    bkind = kernels.check_kind(broadening_kind)
    tau_model = None
    if any(TERMS[k].needs_tau for k in kinds):
        if tau is None:
            raise QgeomInputError(
                f"kinds {[k for k in kinds if TERMS[k].needs_tau]} scale with the relaxation time: pass tau=... "
                f"({'ps' if e0 is not None else 'in units of hbar/' + E})."
            )
        tau = positive_scalar(tau, "tau")
        tau_model = tau_to_model(tau, e0) if e0 is not None else tau
    return {
        "mu": mu, "temperature": temperature, "tau": tau, "tau_unit": "ps" if e0 is not None else f"hbar/{E}",
        "tau_model": tau_model, "broadening": gamma, "broadening_kind": bkind,
    }


def _default_grid(model: Model, grid):
    if grid is None:
        return DEFAULT_LATTICE_GRID if model.is_periodic else DEFAULT_DISK_GRID
    return grid


def _dataset(model: Model, obs, kinds, omega, kgrid, chi, unit: str, params: dict):
    """The result Dataset: complex `chi` over (kind, alpha, beta, omega) with the metadata."""
    axes = list(AXES[: model.dim])
    return make_result(
        {"chi": (("kind", "alpha", "beta", "omega"), chi)},
        {"kind": kinds, "alpha": axes, "beta": axes, "omega": omega},
        model=model, grid=kgrid, parameters=params,
        units={"chi": unit, "omega": f"{model.energy_unit} (hbar omega)"},
        title=f"second-order optical response of {obs.name} ({', '.join(kinds)})",
        extra_attrs={"field_convention": (
            "E(t) = (E_w e^{-iwt} + c.c.)/2; d<O> = e^2 sum_{zeta=+-} chi^{ab}(zeta w) E^a_{-zeta w} E^b_{zeta w} "
            "= 2 e^2 chi^{ab}(w) conj(E^a_w) E^b_w; chi symmetrized chi^{ab}(w) = [chi^{ab}(w) + chi^{ba}(-w)]/2 (S10)"
        )},
    )
