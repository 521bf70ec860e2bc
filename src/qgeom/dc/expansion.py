"""Second-order DC conductivity in powers of Γ (seed [D] Eqs. 1–6, Table I; SPEC §2.1–§2.2).

σ_abc = σ^(−2)/Γ² + σ^(−1)/Γ + σ^(0) + O(Γ).  Every term of every mechanism is a linear
combination of a few Fermi-surface integrals Σ_{n,k} X_n(k) f0^(p)(ε_n), so one Bands per chunk
and one contraction with the occupation derivatives serve all terms, components, μ and
mechanisms at once. Computed with e = ħ = 1 in the model's energy E0 and length L0, i.e. in
e³ L0^(3−d)/(ħ E0) (for the seed model σ₂ = a(ħ/v)e³/ħ²), and converted to SI at the edge when the
model's units are physical (`units="auto"`, via `qgeom.units`).
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence

import numpy as np
import xarray as xr

from .. import geometry
from .._validation import QgeomInputError, as_finite_array, chemical_potentials, positive_scalar
from ..bands import DEFAULT_DEGEN_TOL, Bands, _psum, symmetric_index
from ..kspace import BinnedMuSweep, integrate, make_grid
from ..models.base import Model
from ..models.blocks import block_provenance
from ..occupation import weighted_fermi_derivatives
from ..results import make_result
from ..units import second_order_conductivity_scale
from .components import component_indices, parse_components
from .conventions import convention_scale, sigma_definition
# bound at module level so that `_fast_raw_integrands` looks it up here: tests force the general
# path on two-band chunks by replacing this name
from .two_band import two_band_per_band as _two_band_per_band

# C_kin of σ^kin = C_kin Σ v^a v^b v^c f0'''' (= 2 C_kin Σ ∂a∂b∂c ε f0'' by parts).
# SPEC §2.1: the seed is inconsistent (1/48 in Eq. 5; 1/24 ∂³ε f0'' in D-62; 1/48 with f = 2f0 − 1
# in D-61). The exact NESS evaluation (qgeom.dc.exact; Γ-scan fits on a 1-band and a 2-band model,
# docs/exact_ness.md, tests/dc/test_exact.py) gives C_kin = 1/24: Eq. 5 is low by 2, D-62 should
# read (1/12) ∂³ε f0'', D-61 (in f = 2f0 − 1) is right.
KINETIC_PREFACTOR = 1.0 / 24.0

TERMS = ("drude", "bcd", "geometric", "kinetic", "intrinsic")
MECHANISMS = ("fermionic_bath", "constant_gamma", "rta")
GEOMETRIC_FORMS = ("metric_dipole", "metric_by_parts")
KINETIC_FORMS = ("third_derivative", "velocity_cubed")


def _raw_integrands(b: Bands, comps, *, geometric_form: str, kinetic_form: str) -> dict[str, tuple[np.ndarray, int]]:
    """Per-band integrands X[k, component, n] and the order p of f0^(p) each multiplies."""
    A, B, C = comps
    vel = geometry.band_velocity(b)
    mass = geometry.inverse_mass(b)
    Omega = geometry.berry_curvature(b)
    Gm = geometry.energy_normalized_metric(b)
    va, vb, vc = vel[:, A], vel[:, B], vel[:, C]
    out = {
        "drude": (-0.25 * (mass[:, A, B] * vc + vb * mass[:, A, C]), 1),
        "bcd": (0.5 * (vc * Omega[:, A, B] + vb * Omega[:, A, C]), 1),
        "G_ab_c": (Gm[:, A, B] * vc + Gm[:, A, C] * vb, 1),
        "G_bc_a": (Gm[:, B, C] * va, 1),
    }
    if geometric_form == "metric_dipole":
        out["metric_dipole"] = (geometry.quantum_metric_dipole(b)[:, A, B, C], 1)
    else:  # −½∂_a g^{bc}·2f0' = +g^{bc} v^a f0'' after integration by parts
        out["metric_velocity"] = (geometry.quantum_metric(b)[:, B, C] * va, 2)
    if kinetic_form == "third_derivative":
        out["kin"] = (2 * KINETIC_PREFACTOR * geometry.energy_third_derivative(b)[:, A, B, C], 2)
    else:
        out["kin"] = (KINETIC_PREFACTOR * va * vb * vc, 4)
    return out


def _bmm(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Batched x @ y; written out element by element for 2×2 blocks, where one BLAS call per
    tiny matrix costs more than the arithmetic."""
    if x.shape[-1] != 2:
        return x @ y
    out = np.empty(np.broadcast_shapes(x.shape, y.shape), np.result_type(x, y))
    for i in range(2):
        for j in range(2):
            np.multiply(x[..., i, 0], y[..., 0, j], out=out[..., i, j])
            out[..., i, j] += x[..., i, 1] * y[..., 1, j]
    return out


def _fast_raw_integrands(b: Bands, comps, *, geometric_form: str, kinetic_form: str) -> dict[str, tuple[np.ndarray, int]]:
    """`_raw_integrands` for the requested components only, from the pair products
    P^{ab}_np = v^a_np v^b_pn, the covariant derivatives D_c v^a the terms use and Re<n|∂³H|n>:
    the formulas of `geometry` rearranged (reference: `_raw_integrands`), several times cheaper.
    Non-degenerate two-band chunks take the closed form of `two_band.two_band_per_band`."""
    A, B, C = (np.asarray(x) for x in comps)
    d = b.dim
    pairs = list(itertools.combinations_with_replacement(range(d), 2))
    pidx = np.zeros((d, d), int)
    for i, (a, c) in enumerate(pairs):
        pidx[a, c] = pidx[c, a] = i
    order3 = kinetic_form == "third_derivative"
    dipole = geometric_form == "metric_dipole"
    out = _two_band_per_band(b, A, B, C, dipole, order3)
    if out is None:
        out = _general_per_band(b, A, B, C, pairs, pidx, dipole, order3)
    # per-band arrays are [X, nk, N] (contiguous per component); results are returned as [nk, X, N] views
    vel, mass, G, curv = out["vel"], out["mass"], out["Gm"], out["curv"]
    va, vb, vc = vel[A], vel[B], vel[C]
    sAB = np.where(A <= B, 1.0, -1.0)[:, None, None]
    sAC = np.where(A <= C, 1.0, -1.0)[:, None, None]
    drude = mass[pidx[A, B]] * vc
    drude += vb * mass[pidx[A, C]]
    drude *= -0.25
    bcd = (vc * sAB) * curv[pidx[A, B]]
    bcd += (vb * sAC) * curv[pidx[A, C]]
    bcd *= 0.5
    g_ab_c = G[pidx[A, B]] * vc
    g_ab_c += G[pidx[A, C]] * vb
    res = {"drude": (drude, 1), "bcd": (bcd, 1), "G_ab_c": (g_ab_c, 1), "G_bc_a": (G[pidx[B, C]] * va, 1)}
    if dipole:
        res["metric_dipole"] = (out["dg"], 1)
    else:
        res["metric_velocity"] = (out["g"][pidx[B, C]] * va, 2)
    if order3:
        res["kin"] = (2 * KINETIC_PREFACTOR * out["third"], 2)
    else:
        res["kin"] = (KINETIC_PREFACTOR * va * vb * vc, 4)
    return {name: (x.swapaxes(0, 1), p) for name, (x, p) in res.items()}


def _derivative_triples(A, B, C, dipole: bool, order3: bool) -> list[tuple[int, int, int]]:
    """The distinct (c, a, b) of the products Re(D_c v^a_np v^b_pn) that ∂_A g^{BC} (`dipole`) and
    ∂_A∂_B∂_C ε (`order3`) use, sorted."""
    triples = []
    if dipole:
        triples += list(zip(A.tolist(), B.tolist(), C.tolist())) + list(zip(A.tolist(), C.tolist(), B.tolist()))
    if order3:
        triples += list(zip(C.tolist(), A.tolist(), B.tolist())) + list(zip(C.tolist(), B.tolist(), A.tolist()))
    return sorted(set(triples))


def _covariant_products(b: Bands, f: np.ndarray, vconj: np.ndarray, triples) -> np.ndarray:
    """Re(D_c v^a_np v^b_pn) for the given (c, a, b), [nk, triple, N, N]; D_c v^a = w^{ca} + L + L†,
    L = (v^c ∘ f) @ v^a, only for the (c, a) pairs the triples use."""
    v, d = b.v, b.dim
    ca = sorted({t[:2] for t in triples})
    cidx = {p: i for i, p in enumerate(ca)}
    cc, aa = np.array(ca).T
    if v.shape[-1] == 2:
        L = _bmm(v[:, cc] * f[:, None], v[:, aa])
    else:  # every (c, a) block from one matmul per k: [v^c ∘ f]_c stacked on rows @ [v^a]_a on columns
        nk, N = v.shape[0], v.shape[-1]
        rows = (v * f[:, None]).reshape(nk, d * N, N)
        cols = v.transpose(0, 2, 1, 3).reshape(nk, N, d * N)
        L = (rows @ cols).reshape(nk, d, N, d, N).transpose(0, 1, 3, 2, 4)[:, cc, aa]
    Dv = b.w[:, cc, aa] + L + L.conj().swapaxes(-1, -2)  # [nk, ca, N, N]
    t_ca = [cidx[t[:2]] for t in triples]
    t_b = [t[2] for t in triples]
    return (Dv[:, t_ca] * vconj[:, t_b]).real


def _subspace_averaged(b: Bands, per_band: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Each [nk, X, N] integrand averaged over degenerate subspaces (one call for all), as [X, nk, N]."""
    names = list(per_band)
    sizes = [per_band[n].shape[1] for n in names]
    avg = b.subspace_average(np.concatenate([per_band[n] for n in names], axis=1))
    avg = np.ascontiguousarray(avg.transpose(1, 0, 2))  # [X, nk, N]
    return dict(zip(names, np.split(avg, np.cumsum(sizes)[:-1], axis=0)))


def _general_per_band(b: Bands, A, B, C, pairs, pidx, dipole: bool, order3: bool) -> dict[str, np.ndarray]:
    """Subspace-averaged per-band integrands [X, nk, N] for any N (sums over states)."""
    v, f = b.v, b.inv_de
    f2 = f * f
    f3 = f2 * f
    vel_raw = np.diagonal(v, axis1=-2, axis2=-1).real  # [nk, d, N]
    pa, pb = np.array(pairs).T
    vconj = v.conj()
    P = v[:, pa] * vconj[:, pb]  # v^a_np v^b_pn, [nk, pair, N, N]
    Q = P.real
    per_band = {
        "vel": vel_raw,
        "mass": b.diagonal(2) + 2.0 * _psum(Q * f[:, None]),
        "curv": -2.0 * _psum(P.imag * f2[:, None]),  # Ω_{ab}, a ≤ b (0 on the diagonal)
        "Gm": _psum(Q * f3[:, None]),
    }
    if dipole or order3:
        triples = _derivative_triples(A, B, C, dipole, order3)
        tidx = {t: i for i, t in enumerate(triples)}
        R = _covariant_products(b, f, vconj, triples)  # [nk, triple, N, N]
        delta = vel_raw[:, :, :, None] - vel_raw[:, :, None, :]  # Δ^c_np, [nk, c, N, N]
        if dipole:
            # ∂_A g^{BC} = Σ_m f² Re(D_A v^B_nm v^C_mn + D_A v^C_nm v^B_mn) − 2 Q^{BC} Δ^A f³
            i1 = [tidx[t] for t in zip(A.tolist(), B.tolist(), C.tolist())]
            i2 = [tidx[t] for t in zip(A.tolist(), C.tolist(), B.tolist())]
            two_delta_f3 = 2.0 * delta * f3[:, None]  # per derivative index, gathered per component below
            per_band["dg"] = _psum((R[:, i1] + R[:, i2]) * f2[:, None] - Q[:, pidx[B, C]] * two_delta_f3[:, A])
        if order3:
            # ∂_A∂_B∂_C ε_n = Re u^{ABC}_nn + 2Σ_p f Re[v^C w^{AB} + D_C v^A v^B + D_C v^B v^A]_np,pn − 2Σ_p f² Δ^C Q^{AB}
            j1 = [tidx[t] for t in zip(C.tolist(), A.tolist(), B.tolist())]
            j2 = [tidx[t] for t in zip(C.tolist(), B.tolist(), A.tolist())]
            X = (v[:, C] * b.w[:, A, B].conj()).real + R[:, j1] + R[:, j2]
            u_diag = b.diagonal(3)[:, symmetric_index(b.dim, 3)[A, B, C]]
            two_delta_f2 = 2.0 * delta * f2[:, None]
            per_band["third"] = u_diag + _psum(X * (2.0 * f)[:, None] - Q[:, pidx[A, B]] * two_delta_f2[:, C])
    if not dipole:
        per_band["g"] = _psum(Q * f2[:, None])
    return _subspace_averaged(b, per_band)


# above this many μ values the μ sweep goes through the Taylor-moment energy histogram
# (kspace.BinnedMuSweep: same sums to ~1e-15 relative, cost independent of nk × nμ)
BINNED_MU_THRESHOLD = 32
# ... unless its precomputed kernel (bins × Taylor terms × nμ per occupation order) would exceed this
# (very low kT over a wide μ range): then the direct sum, whose memory is bounded by the chunk size
BINNED_MU_MAX_BYTES = 256 * 2**20


class _FermiSurfaceSums:
    """Chunk integrand: Σ_k w Σ_n X[k, comp, n] f0^(p)(ε_n − μ) for every raw integrand; picklable.

    `mu_method`: "direct" (f0^(p) at every (k, n, μ), the reference), "binned" (energy histogram
    with Taylor moments, then one GEMM per order), or "auto" (binned above BINNED_MU_THRESHOLD μ)."""

    def __init__(self, comps, mu, temperature, geometric_form, kinetic_form, mu_method: str = "auto"):
        self.comps, self.mu, self.temperature = comps, mu, temperature
        self.geometric_form, self.kinetic_form = geometric_form, kinetic_form
        if mu_method not in ("auto", "direct", "binned"):
            raise QgeomInputError(f"mu_method must be 'auto', 'direct' or 'binned', got {mu_method!r}.")
        self.mu_method = mu_method
        self._sweep = None

    def fingerprint(self):
        """What the chunk sums depend on (checkpoint manifests); excludes caches."""
        return ["_FermiSurfaceSums", *(np.asarray(c) for c in self.comps), np.asarray(self.mu, float),
                float(self.temperature), self.geometric_form, self.kinetic_form]

    def __call__(self, b: Bands, w: np.ndarray) -> dict[str, np.ndarray]:
        raw = _fast_raw_integrands(b, self.comps, geometric_form=self.geometric_form, kinetic_form=self.kinetic_form)
        mu = np.asarray(self.mu, float)
        orders = sorted({p for _, p in raw.values()})
        binned = self.mu_method == "binned" or (
            self.mu_method == "auto" and len(mu) > BINNED_MU_THRESHOLD
            and BinnedMuSweep.kernel_bytes(mu, self.temperature) <= BINNED_MU_MAX_BYTES
        )
        if binned:
            if self._sweep is None:
                self._sweep = BinnedMuSweep(mu, self.temperature)
            contract = lambda X, p: self._sweep(b.energies, X, p)  # noqa: E731
        else:
            occ, scale = weighted_fermi_derivatives(b.energies, w, mu, self.temperature, orders)
            contract = lambda X, p: (X @ occ[p]) * scale[p]  # noqa: E731
        out = {}
        for p in orders:  # one contraction per occupation order for all integrands that share it
            names = [name for name, (_, q) in raw.items() if q == p]
            # [names·comps, nk, N] (the integrands are [nk, comp, N] views of [comp, nk, N] arrays)
            X = np.concatenate([raw[name][0].swapaxes(0, 1) for name in names], axis=0)
            if binned:
                X *= w[:, None]
            sums = contract(X.reshape(X.shape[0], -1), p)  # [comps·names, mu]
            out.update(zip(names, np.split(sums, len(names))))
        return {name: out[name] for name in raw}


def _assemble(raw: dict[str, np.ndarray], mechanisms: Sequence[str], rta) -> np.ndarray:
    """Combine raw integrals into sigma[mechanism, term, component, mu] (seed Table I)."""
    G_ab_c, G_bc_a = raw["G_ab_c"], raw["G_bc_a"]
    dipole = raw["metric_dipole"] if "metric_dipole" in raw else -raw["metric_velocity"]
    interband = G_ab_c - 2 * G_bc_a
    zero = np.zeros_like(G_ab_c)
    rows = []
    for mech in mechanisms:
        if mech == "fermionic_bath":
            geo, kin = 2 * (interband - 0.5 * dipole), raw["kin"]
        elif mech == "constant_gamma":
            geo, kin = interband - 0.5 * dipole, zero
        else:
            c1, c2 = rta
            geo, kin = c1 * G_ab_c - c2 * G_bc_a, zero
        rows.append([raw["drude"], raw["bcd"], geo, kin, geo + kin])
    return np.array(rows)


def _check_mechanisms(mechanisms, rta):
    if mechanisms is None:
        mechanisms = ["fermionic_bath", "constant_gamma"] + (["rta"] if rta is not None else [])
    mechanisms = [mechanisms] if isinstance(mechanisms, str) else list(mechanisms)
    if not mechanisms:
        raise QgeomInputError(f"mechanisms is empty; choose from {', '.join(MECHANISMS)}.")
    if rta is not None and "rta" not in mechanisms:
        raise QgeomInputError("rta=(c1, c2) was given but 'rta' is not in mechanisms; add it or drop rta.")
    for mech in mechanisms:
        if mech not in MECHANISMS:
            raise QgeomInputError(f"unknown mechanism {mech!r}; allowed: {', '.join(MECHANISMS)}.")
    if "rta" in mechanisms:
        if rta is None or len(rta) != 2:
            raise QgeomInputError("mechanism 'rta' needs rta=(c1, c2), the Table I coefficients.")
        rta = tuple(float(x) for x in as_finite_array(rta, "rta"))
    return mechanisms, rta


def _validated(model, components, mu, temperature, degen_tol, mechanisms, rta, geometric_form, kinetic_form,
               convention, units):
    """The checked inputs of `expansion` (in the order they are checked, so the first bad one is
    reported): components, μ, kT, degen_tol, mechanisms, rta, convention scale, unit factor and label."""
    comps = parse_components(components, model.dim)
    mu_arr = chemical_potentials(mu)
    kT = positive_scalar(temperature, "temperature")
    degen_tol = positive_scalar(degen_tol, "degen_tol")
    mechanisms, rta = _check_mechanisms(mechanisms, rta)
    scale = convention_scale(convention)
    unit_factor, unit = second_order_conductivity_scale(model, units)
    if geometric_form not in GEOMETRIC_FORMS:
        raise QgeomInputError(f"geometric_form must be one of {GEOMETRIC_FORMS}, got {geometric_form!r}.")
    if kinetic_form not in KINETIC_FORMS:
        raise QgeomInputError(f"kinetic_form must be one of {KINETIC_FORMS}, got {kinetic_form!r}.")
    return comps, mu_arr, kT, degen_tol, mechanisms, rta, scale, unit_factor, unit


def _dataset(model, kgrid, sigma, mechanisms, comps, mu_arr, parameters, unit, convention) -> xr.Dataset:
    """`sigma[mechanism, term, component, mu]` with its provenance and the meaning of the terms."""
    return make_result(
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


def expansion(
    model: Model,
    *,
    components="xyy",
    mu,
    temperature: float,
    grid=200,
    mechanisms: Sequence[str] | None = None,
    rta: tuple[float, float] | None = None,
    geometric_form: str = "metric_dipole",
    kinetic_form: str = "third_derivative",
    convention: str = "seed",
    units: str = "auto",
    degen_tol: float = DEFAULT_DEGEN_TOL,
    chunk_size: int | None = None,
    progress: bool | None = None,
    workers: int | None = None,
    scheduler=None,
    checkpoint=None,
    blocks: bool = True,
    **grid_kwargs,
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
    `workers`, `scheduler`, `checkpoint`: executor and resumable run, see `kspace.integrate`.
    `blocks`: split H(k) into its exactly decoupled orbital blocks (`qgeom.models.blocks`; e.g. the
    h ⊕ h* of a PT-symmetric model) and sum their responses — exact, and cheaper; False forces
    the dense N-band sum over states (with degenerate-subspace averaging).
    """
    comps, mu_arr, kT, degen_tol, mechanisms, rta, scale, unit_factor, unit = _validated(
        model, components, mu, temperature, degen_tol, mechanisms, rta, geometric_form, kinetic_form, convention, units,
    )
    kgrid = make_grid(model, grid, **grid_kwargs)
    order = 3 if kinetic_form == "third_derivative" else 2
    func = _FermiSurfaceSums(component_indices(comps), mu_arr, kT, geometric_form, kinetic_form)
    raw = integrate(
        model, kgrid, func, order=order, degen_tol=degen_tol, chunk_size=chunk_size, progress=progress,
        workers=workers, scheduler=scheduler, checkpoint=checkpoint, blocks=blocks,
    )
    sigma = scale * unit_factor * _assemble(raw, mechanisms, rta)
    parameters = {
        "temperature": kT, "degen_tol": degen_tol, "rta_c1_c2": list(rta) if rta else None,
        "geometric_form": geometric_form, "kinetic_form": kinetic_form,
        "kinetic_prefactor": KINETIC_PREFACTOR, "convention": convention, "units": units,
        "unit_factor": unit_factor,
        "orbital_blocks": block_provenance(model, blocks),
    }
    return _dataset(model, kgrid, sigma, mechanisms, comps, mu_arr, parameters, unit, convention)
