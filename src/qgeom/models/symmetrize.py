"""Restore time reversal of a spinor Wannier model in real space (opt-in).

Θ = U K with U = iσ_y on each spin pair: Θ|i↑⟩ = |i↓⟩, Θ|i↓⟩ = −|i↑⟩ for Wannier functions made as
(orbital ⊗ spin) pairs with real orbital parts. Time reversal holds when H(R) = U H(R)* U† for every R
(convention I or II: the centres are real and Kramers partners share one). The symmetrized model has
H(R) → ½(H(R) + U H(R)* U†) and the partners' centres averaged; the size of what was removed is
returned with it. Spin order: "block" (all spin-up orbitals first: VASP2Wannier90, WannierTools) or
"interleaved" (↑↓ per orbital: pw2wannier90); "fitted": Wannier functions that are not (orbital ⊗ spin)
products, e.g. spinor sp³ hybrids (the shipped GaAs model): U is fitted to the hoppings, block diagonal
over the Wannier functions that share a centre (Θ keeps centres), as the null vector of
U ↦ {U H(R)* − H(R) U}_R, made unitary, and accepted only when it is one (U U* = −1, the next singular
value ≥ FIT_GAP times larger). "auto" takes the model's `spinor_ordering` parameter, else the order whose
partners share their Wannier centres, else "fitted" when the centres are known and the fit is accepted,
else the order that breaks T least.

Point groups: `symmetrize_point_group(model, operations, ...)` averages over the unitary operations g of
a point group (a Hermann–Mauguin symbol or Cartesian matrices, read by qgeom.symmetry.group):
H(R) → (1/|G|) Σ_g D(g) H(g⁻¹R) D(g)† in convention I, with each Wannier function's centre τ_j carried
to S τ_j + t = τ_p(j) + L_j (the lattice shift L enters the new R; the translation t is 0, or the screw, glide or
off-origin part of the space-group operation {S|t}, found from the centres: `_site_map`). D(g) is either given, or built from the
Wannier projections `orbitals` (names as in Wannier90: s, pz, px, py, dz2, dxz, dyz, dx2-y2, dxy, one per
spatial orbital): real-harmonic rotation × the SU(2) spin rotation of the proper part for spinor models
(`orbital_representations`);
or "fitted" to the hoppings (hybrid or spinor-rotated Wannier functions whose projections do not say how
they transform): the linear problem D H(g⁻¹R) = H(R) D over the entries the site map allows, refitted on
the averaged model until it is invariant. The centres are averaged over the group as well. The result
holds H(k) = D(g) H(S⁻¹k) D(g)† for every g exactly; the change is recorded.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np

from .._validation import QgeomInputError, QgeomWarning, user_stacklevel
from .base import Model
from .orbital_positions import OrbitalPositionModel
from .orbital_representations import SITE_TOL, harmonic_rotation, orbital_representation, same_centre, spin_rotation
from .tight_binding import TightBindingModel

SPINOR_ORDERINGS = ("auto", "block", "interleaved", "fitted")
LARGE_CHANGE = 0.01  # symmetrize_point_group warns above this fraction of the largest |H(R)|
FIT_GAP = 100.0  # the fitted U must be separated from other near-solutions by this singular-value ratio
# a point-group D(g) fitted to a model that breaks g by more (GaAs's C3 by 12 meV in the energies: ratio
# 26) is still isolated at a ratio of 10; below it another matrix fits about as well
PG_FIT_GAP = 10.0
FIT_ROUNDS = 8  # refits of D(g) on the averaged model (each squares the breaking; GaAs converges in 2)
SYMMETRIC = 1e-12  # breaking, relative to the largest hopping, below which a model counts as invariant
FIT_CHUNK = 4_000_000  # complex entries of the fitting problem held at once (64 MB)
PIECE_BYTES = 32 << 20  # hoppings averaged at a time (`restore_time_reversal`)
ZERO_BLOCK = 1e-14  # an averaged H(R) block this small (relative) is an artefact of the index shifts: dropped


def time_reversal_matrix(nbands: int, ordering: str) -> np.ndarray:
    """U of Θ = U K (real orbital parts) for `nbands` spinor Wannier functions in `ordering`."""
    if nbands % 2:
        raise QgeomInputError(f"time reversal of spinor Wannier functions needs an even number of orbitals, got {nbands}.")
    M = nbands // 2
    up = np.arange(M) if ordering == "block" else 2 * np.arange(M)
    dn = up + M if ordering == "block" else up + 1
    U = np.zeros((nbands, nbands))
    U[dn, up], U[up, dn] = 1.0, -1.0
    return U


def _breaking(t: np.ndarray, U: np.ndarray) -> float:
    """max |t(R) − U t(R)* Uᵀ|, in pieces of R vectors."""
    step = max(1, PIECE_BYTES // max(1, t[0].nbytes))
    return max(float(np.abs(t[s:s + step] - U @ t[s:s + step].conj() @ U.T).max(initial=0.0))
               for s in range(0, len(t), step))


def _intertwiner(target: np.ndarray, source: np.ndarray, I: np.ndarray, J: np.ndarray, *,
                 conjugate: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """The unitary X (nonzero only at the entries (I, J)) nearest the best solution of X source(R) =
    target(R) X for every R ([nR, N, N] each; with `conjugate`, of X source(R)* = target(R) X), and the singular
    values of that linear problem (ascending order's last two decide whether the solution is isolated)."""
    N, n = target.shape[1], len(I)
    c = np.arange(n)
    gram = np.zeros((n, n), complex)
    step = max(1, FIT_CHUNK // (N * N * n))
    for r0 in range(0, len(target), step):  # the normal matrix Σ_R A_Rᴴ A_R, chunked over R to bound memory
        t, src = target[r0:r0 + step], source[r0:r0 + step]
        if conjugate:
            src = src.conj()
        # (X s)_il = Σ_j X_ij s_jl and (t X)_lj = Σ_i t_li X_ij, linear in the allowed entries X_IJ
        A = np.zeros((len(t), N, N, n), complex)
        A[:, I, :, c] = src[:, J, :].transpose(1, 0, 2)  # separated advanced indices: [n, nR, N]
        A[:, :, J, c] -= t[:, :, I]  # adjacent advanced indices stay in place: [nR, N, n]
        A = A.reshape(-1, n)
        gram += A.conj().T @ A
    lam, vec = np.linalg.eigh(gram)  # the null vector's accuracy is set by the gap, not by λ_min
    X = np.zeros((N, N), complex)
    X[I, J] = vec[:, 0]
    W, _, V = np.linalg.svd(X)
    return W @ V, np.sqrt(np.clip(lam[::-1], 0.0, None))


def fitted_time_reversal(t: np.ndarray, centres: np.ndarray) -> tuple[np.ndarray | None, str]:
    """U of Θ = U K fitted to the hoppings t [nR, N, N], block diagonal over equal `centres` (Å), or
    (None, why) when no unitary U with U U* = −1 fits clearly better than any other matrix."""
    N = t.shape[1]
    I, J = np.nonzero(same_centre(centres))
    U, s = _intertwiner(t, t, I, J, conjugate=True)  # X t(R)* = t(R) X, the conjugate taken per piece
    if len(s) < 2 or s[-2] < FIT_GAP * s[-1]:
        return None, f"no isolated solution (singular values {s[-2]:.3g}, {s[-1]:.3g})"
    if np.abs(U @ U.conj() + np.eye(N)).max() > 1e-6:
        return None, "the fitted operator does not square to -1 (not a spinor time reversal)"
    return U, ""


def known_ordering(model: Model) -> str | None:
    """The spin order the model states, or the one whose Kramers partners share their Wannier centres
    (None when neither says: "auto" then fits U to the hoppings, `fitted_time_reversal`)."""
    if model.parameters.get("spinor_ordering") in ("block", "interleaved"):
        return model.parameters["spinor_ordering"]
    tau = getattr(model, "positions", None)
    if tau is not None and len(tau) % 2 == 0:
        M = len(tau) // 2
        gaps = {"block": np.abs(tau[:M] - tau[M:]).max(), "interleaved": np.abs(tau[0::2] - tau[1::2]).max()}
        best = min(gaps, key=gaps.get)
        if gaps[best] < 0.1 < max(gaps.values()):
            return best
    return None


def fit_cost(t: np.ndarray, centres: np.ndarray) -> float:
    """Complex multiply-adds of `fitted_time_reversal` (its normal matrix: per R, N² rows of n unknowns, n the
    pairs of Wannier functions that share a centre)."""
    n = int(same_centre(centres).sum())
    return float(len(t)) * t.shape[1] ** 2 * n * n


def _ordering(model: Model, t: np.ndarray, ordering: str) -> str:
    if ordering not in SPINOR_ORDERINGS:
        raise QgeomInputError(f"spinor_ordering must be one of {SPINOR_ORDERINGS}, got {ordering!r}.")
    if ordering != "auto":
        return ordering
    known = known_ordering(model)
    if known is not None:
        return known
    tau = getattr(model, "positions", None)
    if tau is not None:
        if fitted_time_reversal(t, np.asarray(tau))[0] is not None:
            return "fitted"
    return min(("block", "interleaved"), key=lambda o: _breaking(t, time_reversal_matrix(t.shape[1], o)))


def change_record(change: float, energy_unit: str) -> dict[str, Any]:
    """max |ΔH(R)| as recorded in a model's parameters: `max_abs_change` in `energy_unit`, plus the older
    `max_abs_change_eV` for eV models only (a model in meV or its own units must not be labelled eV)."""
    record: dict[str, Any] = {"max_abs_change": float(change), "energy_unit": energy_unit}
    if energy_unit == "eV":
        record["max_abs_change_eV"] = float(change)
    return record


def restore_time_reversal(model: Model, *, spinor_ordering: str = "auto", allow_magnetic: bool = False) -> Model:
    """The model with H(R) → ½(H(R) + U H(R)* U†) (and Kramers partners' centres averaged). The removed
    breaking is recorded in `parameters["time_reversal_restored"]`: the spin order used, max |ΔH(R)|
    (`max_abs_change` in `energy_unit`; also `max_abs_change_eV` for eV models) and the largest centre shift (Å).
    For non-magnetic models only: a magnet's exchange splitting is T-odd, so a change
    above a Wannierization's error (`NONMAGNETIC_CHANGE_EV`, 0.1 eV; Fe: 1.36 eV) is refused unless `allow_magnetic`."""

    base = getattr(model, "base", model)
    if not isinstance(base, TightBindingModel):
        raise QgeomInputError(f"restore_time_reversal needs a tight-binding model, got {type(model).__name__}.")
    order = _ordering(model, base.t, spinor_ordering)
    tau = getattr(model, "positions", None)
    if order == "fitted":
        if tau is None:
            raise QgeomInputError("spinor_ordering='fitted' needs the Wannier centres (a model read with from_wannier90).")
        U, why = fitted_time_reversal(base.t, np.asarray(tau))
        if U is None:
            raise QgeomInputError(f"no time-reversal operator fits the hoppings of {model.name!r}: {why}. "
                                  "Pass spinor_ordering='block' or 'interleaved' if the basis is (orbital x spin).")
    else:
        U = time_reversal_matrix(base.nbands, order)
    t_sym = np.empty_like(base.t)
    change = 0.0
    step = max(1, PIECE_BYTES // max(1, base.t[0].nbytes))
    for s in range(0, len(base.t), step):  # in pieces of R vectors: a 100-orbital model's hoppings are 335 MB
        t = base.t[s:s + step]
        t_sym[s:s + step] = 0.5 * (t + U @ t.conj() @ U.conj().T)
        change = max(change, float(np.abs(t_sym[s:s + step] - t).max(initial=0.0)))
    _refuse_magnet(model, change, order, allow_magnetic)
    report = {"spinor_ordering": order, **change_record(change, base.energy_unit)}
    if tau is not None:
        partner = np.abs(U).argmax(axis=0)
        tau_sym = 0.5 * (tau + tau[partner])
        report["max_centre_shift_A"] = float(np.abs(tau_sym - tau).max())
    params = {**base.parameters, "time_reversal_restored": report}
    if "orbital_heights" in params:  # 2D models: the heights a displacement field acts on are centres too
        h = np.asarray(params["orbital_heights"], float)
        params["orbital_heights"] = (0.5 * (h + h[np.abs(U).argmax(axis=0)])).tolist()
    sym = TightBindingModel(base.R, t_sym, lattice=base.lattice, name=base.name, parameters=params,
                            operators=base.operators, energy_unit=base.energy_unit, length_unit=base.length_unit,
                            copy=False)
    if isinstance(model, OrbitalPositionModel):
        return OrbitalPositionModel(sym, tau_sym)
    return sym


def _refuse_magnet(model: Model, change: float, order: str, allow_magnetic: bool) -> None:
    """Beyond a Wannierization's error the change is a magnet's exchange splitting (or a wrong spin order): restoring
    T would silently make another, non-magnetic material. The bound is in eV: other units are not judged."""
    from ..symmetry.detect import NONMAGNETIC_CHANGE_EV  # (symmetry imports the models: not at module level)

    if not allow_magnetic and model.energy_unit == "eV" and change > NONMAGNETIC_CHANGE_EV:
        raise QgeomInputError(
            f"restore_time_reversal would change the hoppings of {model.name!r} by up to {change:.3g} eV (max |ΔH(R)|"
            f", spin order {order!r}), more than a Wannierization's error ({NONMAGNETIC_CHANGE_EV:g} eV): the model is "
            f"magnetic (its exchange splitting is odd under time reversal; or {order!r} is not its basis's spin order) "
            f"and restoring time reversal would remove the magnetism. Use the model as read, or pass "
            f"allow_magnetic=True (CLI --allow-magnetic) for its non-magnetic counterpart.")


def _site_map(S: np.ndarray, tau: np.ndarray, lattice: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The space-group operation {S|t} of the point operation S on the Wannier centres: p(j) (first Wannier function
    on the site S τ_j + t lands on, within SITE_TOL), the lattice shift L_j (integers: S τ_j + t = τ_p(j) + L_j) and
    the translation t (Cartesian). t = 0 when S maps the centres by itself (symmorphic, origin on the point group's
    centre), else the shortest of the τ_i − S τ_0 that maps every centre: a screw axis or a glide plane, or a
    centre of inversion off the origin (diamond with an atom at the origin)."""
    inv = np.linalg.inv(lattice)
    rot = tau @ S.T
    shifts = tau - rot[0]
    candidates = [np.zeros(tau.shape[1])] + sorted(shifts, key=lambda x: float(np.linalg.norm(
        (x @ inv - np.round(x @ inv)) @ lattice)))
    worst = np.inf
    for t in candidates:
        d = ((rot + t) @ inv)[:, None] - (tau @ inv)[None]  # [j, i], reduced
        off = np.linalg.norm((d - np.round(d)) @ lattice, axis=-1)  # Å
        hit = off < SITE_TOL
        if hit.any(axis=1).all():
            p = hit.argmax(axis=1)
            return p, np.round(d[np.arange(len(tau)), p]).astype(np.int64), t
        worst = min(worst, float(off.min(axis=1).max()))
    raise QgeomInputError(f"the Wannier centres are not mapped onto each other by the operation {np.round(S, 3).tolist()} "
                          f"with any translation (the best leaves a centre {worst:.2g} Å from every other; tolerance "
                          f"{SITE_TOL:g} Å): the Wannier functions do not sit where the crystal's space group puts "
                          "them, or the operation is not one of it.")


def _transformed(R, t, W, L, D) -> tuple[np.ndarray, np.ndarray]:
    """(R', t') of D H(g⁻¹ ·) D†: t entry (R, i, j) moves to R W + L_j − L_i, then D t' D†."""
    RW = np.rint(R @ W).astype(np.int64)
    if np.abs(R @ W - RW).max() > 1e-6:
        raise QgeomInputError("a point-group operation does not map the lattice onto itself: check the "
                              "operations' Cartesian frame against the model's lattice vectors.")
    if not L.any():
        return RW, D @ t @ D.conj().T
    Rn = RW[:, None, None] + L[None, None, :] - L[None, :, None]  # [nR, i, j, d]
    keys, inv = np.unique(Rn.reshape(-1, R.shape[1]), axis=0, return_inverse=True)
    out = np.zeros((len(keys), *t.shape[1:]), complex)
    N = t.shape[1]
    ii, jj = np.broadcast_to(np.arange(N)[:, None], (N, N)), np.broadcast_to(np.arange(N)[None], (N, N))
    np.add.at(out, (inv.ravel(), np.broadcast_to(ii, t.shape).ravel(), np.broadcast_to(jj, t.shape).ravel()), t.ravel())
    return keys, D @ out @ D.conj().T


def _operations(operations) -> list:
    from ..symmetry import group

    ops = group.from_symbol(operations) if isinstance(operations, str) else group.from_matrices(list(operations))
    if any(g.time_reversal for g in ops):
        raise QgeomInputError("symmetrize_point_group averages over unitary operations only: drop the primed "
                              "(time-reversal) ones, or use restore_time_reversal for a non-magnetic model.")
    return ops


def _average(R, t, ops, Ds, tau, A) -> tuple[np.ndarray, np.ndarray]:
    """(R', t') of (1/|G|) Σ_g D(g) H(g⁻¹ ·) D(g)†, without R vectors whose block is zero."""
    Rs, ts = [], []
    for g, D in zip(ops, Ds):  # |G| ≤ 48; each term vectorized over R and orbitals
        Rg, tg = _transformed(R, t, _lattice_map(g.R, A), _site_map(g.R, tau, A)[1], D)
        Rs.append(Rg)
        ts.append(tg)
    keys, inv = np.unique(np.concatenate(Rs), axis=0, return_inverse=True)
    t_sym = np.zeros((len(keys), *t.shape[1:]), complex)
    np.add.at(t_sym, inv.ravel(), np.concatenate(ts) / len(ops))
    keep = np.abs(t_sym).max(axis=(1, 2)) > ZERO_BLOCK * np.abs(t_sym).max()
    return keys[keep], t_sym[keep]


def _lattice_map(S: np.ndarray, A: np.ndarray) -> np.ndarray:
    return A @ S.T @ np.linalg.inv(A)  # R (integer row vectors) ↦ R W: the Cartesian S R in lattice units


def _fitted_representation(R, t, S, tau, A) -> tuple[np.ndarray, float]:
    """D(g) fitted to the hoppings — D H(g⁻¹R) D† = H(R), D nonzero only from each Wannier function to
    those on the site its centre is carried to — and the largest remaining |D H(g⁻¹R) D† − H(R)| (eV)."""
    N = t.shape[1]
    p, L, _ = _site_map(S, tau, A)
    Rg, tg = _transformed(R, t, _lattice_map(S, A), L, np.eye(N))
    keys, inv = np.unique(np.concatenate([R, Rg]), axis=0, return_inverse=True)
    target, source = np.zeros((2, len(keys), N, N), complex)
    target[inv.ravel()[:len(R)]] = t
    source[inv.ravel()[len(R):]] = tg
    I, J = np.nonzero(same_centre(tau)[:, p])
    D, sv = _intertwiner(target, source, I, J)
    if len(sv) < 2 or sv[-2] < PG_FIT_GAP * sv[-1]:
        raise QgeomInputError(
            f"no representation of the operation {np.round(S, 3).tolist()} fits the hoppings clearly "
            f"(singular values {sv[-2]:.3g}, {sv[-1]:.3g}): the model breaks it by more than noise, or it has an "
            "extra symmetry that makes D ambiguous; pass orbitals= or representation= explicitly.")
    return D, float(np.abs(D @ source @ D.conj().T - target).max())


def _fitted_average(R, t, ops, tau, A) -> tuple[np.ndarray, np.ndarray, dict]:
    """Average with fitted D(g), refitted on the averaged model until it is invariant (the fitted D are
    a representation only approximately; each round squares the breaking: GaAs T_d 2.5e-3 → 1.8e-8 →
    1.4e-14 eV). `breaking_fitted`: the first fit's residual, in the model's energy unit (as `energy_unit`)."""
    scale = float(np.abs(t).max())
    for rounds in range(FIT_ROUNDS):
        fits = [_fitted_representation(R, t, g.R, tau, A) for g in ops]
        residual = max(r for _, r in fits)
        if rounds == 0:
            breaking = residual
        if residual <= SYMMETRIC * scale:
            return R, t, {"representation": "fitted", "fit_rounds": rounds, "breaking_fitted": breaking}
        R, t = _average(R, t, ops, [D for D, _ in fits], tau, A)
    raise QgeomInputError(f"the fitted symmetrization did not converge in {FIT_ROUNDS} rounds (remaining breaking "
                          f"{residual:.3g}, model energy unit): pass orbitals= or representation= explicitly.")


def _symmetric_centres(ops, tau: np.ndarray, A: np.ndarray) -> np.ndarray:
    """τ_j → (1/|G|) Σ_g S⁻¹(τ_p(j) + L_j − t_g): the centres made exactly invariant (they enter convention II)."""
    out = np.zeros_like(tau)
    for g in ops:
        p, L, t = _site_map(g.R, tau, A)
        out += (tau[p] + L @ A - t) @ g.R  # S⁻¹ x = Sᵀ x, row vectors
    return out / len(ops)


LAYER_VACUUM = 1e4  # Å: the normal lattice vector of a 2D model lifted to 3D, so far that no site maps across it


def _lifted_layer(base: TightBindingModel, tau: np.ndarray, ops) -> tuple[np.ndarray, np.ndarray, list]:
    """A 2D model's centres and lattice in 3D — heights from `parameters["orbital_heights"]` (the layer frame of
    `two_dimensional.as_two_dimensional`), a normal lattice vector LAYER_VACUUM long — and each operation as the
    layer's 3D operation: as given when it maps the centres, else with the normal reversed (in the plane m_y and
    2_x act alike; the heights tell which one the layer has, and D(g) of p_z or spin depends on it)."""
    from ..symmetry.group import Operation

    heights = np.asarray(base.parameters.get("orbital_heights", np.zeros(base.nbands)), float)
    tau3 = np.column_stack([tau[:, :2], heights])
    A = np.zeros((3, 3))
    A[:2, :2], A[2, 2] = np.asarray(base.lattice, float), LAYER_VACUUM
    layer_ops = []
    for g in ops:
        S = np.asarray(g.R, float)
        if np.abs(S[2, :2]).max() > 1e-9 or np.abs(S[:2, 2]).max() > 1e-9:
            raise QgeomInputError(f"the operation {g.label()} does not keep the layer's plane: a 2D model takes "
                                  "operations that map z onto ±z.")
        flipped = S.copy()
        flipped[2, 2] *= -1
        fits = [x for x in (S, flipped) if _maps_centres(x, tau3, A)]
        layer_ops.append(Operation(fits[0] if fits else S, g.time_reversal))
    return tau3, A, layer_ops


def _maps_centres(S: np.ndarray, tau: np.ndarray, A: np.ndarray) -> bool:
    try:
        _site_map(S, tau, A)
    except QgeomInputError:
        return False
    return True


def _representations(ops, orbitals, representation, nbands: int, ordering: str, tau, A) -> list[np.ndarray]:
    """D(g) for each operation from `orbitals` or a callable `representation`, checked unitary."""
    Ds = []
    for g in ops:
        D = np.asarray(representation(g.R) if representation is not None else orbital_representation(
            g.R, list(orbitals), nbands, ordering, _site_map(g.R, tau, A)[0], tau), complex)
        if not np.allclose(D @ D.conj().T, np.eye(nbands), atol=1e-8):
            raise QgeomInputError(f"D(g) for {g.label()} is not unitary: check the orbitals / representation.")
        Ds.append(D)
    return Ds


def symmetrize_point_group(model: Model, operations, *, orbitals=None, representation=None,
                           spinor_ordering: str | None = None) -> Model:
    """The model averaged over a point group G in real space, H(R) → (1/|G|) Σ_g D(g) H(g⁻¹R) D(g)†.

    `operations`: a Hermann–Mauguin symbol ("-1", "4/m", "m-3m") or Cartesian 3×3 matrices (closed into
    their group). D(g) from `orbitals` (Wannier90 projection names per spatial orbital, e.g. for bcc Fe
    ["pz", "px", "py", "dz2", "dxz", "dyz", "dx2-y2", "dxy"]; spin order from `spinor_ordering` or the
    model's parameters), or `representation`: a callable S ↦ D (N×N unitary, atom mapping included), or
    "fitted": D(g) fitted to the hoppings (any Wannier functions, e.g. spinor hybrids: only the centres
    are used), refitted until the averaged model is invariant. Each operation must map the centres onto each
    other, with a translation where the crystal's is a screw, a glide or has its centre off the origin; the
    centres are averaged too. A 2D model (a monolayer, `two_dimensional.as_two_dimensional`) takes the
    operations that keep its plane, in its layer frame (z the normal): the same symbol `symmetry=` takes for it
    (1T′-MoS₂: "mm2"); the orbital heights decide whether an in-plane mirror is the layer's mirror or its
    2-fold axis. The removed breaking, max |ΔH(R)| (eV), is in `parameters["point_group_symmetrized"]`."""

    base = getattr(model, "base", model)
    if not isinstance(base, TightBindingModel) or base.R.shape[1] not in (2, 3):
        raise QgeomInputError(f"symmetrize_point_group needs a 2D or 3D tight-binding model, got "
                              f"{type(model).__name__}.")
    if (orbitals is None) == (representation is None):
        raise QgeomInputError("pass exactly one of orbitals= (projection names) or representation= "
                              "(S -> D, or 'fitted').")
    if isinstance(representation, str) and representation != "fitted":
        raise QgeomInputError(f"representation must be a callable S -> D or 'fitted', got {representation!r}.")
    ops, dim = _operations(operations), base.R.shape[1]
    positions = getattr(model, "positions", None)
    tau = np.asarray(positions if positions is not None else np.zeros((base.nbands, dim)), float)
    A = np.asarray(base.lattice, float)
    if dim == 2:
        tau, A, ops = _lifted_layer(base, tau, ops)
    R0 = np.column_stack([base.R, np.zeros(len(base.R), base.R.dtype)]) if dim == 2 else base.R
    report = {"operations": [g.label() for g in ops]}
    if representation == "fitted":
        R, t_sym, fit = _fitted_average(R0, base.t, ops, tau, A)
        report.update(fit)
    else:
        ordering = spinor_ordering or base.parameters.get("spinor_ordering", "block")
        R, t_sym = _average(R0, base.t, ops, _representations(ops, orbitals, representation, base.nbands, ordering,
                                                              tau, A), tau, A)
    union = np.unique(np.concatenate([R, R0]), axis=0)
    old, new = np.zeros((2, len(union), base.nbands, base.nbands), complex)
    old[_rows(union, R0)] = base.t
    new[_rows(union, R)] = t_sym
    tau_sym = _symmetric_centres(ops, tau, A)
    report.update({**change_record(float(np.abs(new - old).max()), base.energy_unit), "nR_before": len(base.R),
                   "nR_after": len(R),
                   "max_centre_shift_A": float(np.abs(tau_sym - tau).max())})
    scale = float(np.abs(base.t).max())
    if report["max_abs_change"] > LARGE_CHANGE * scale:
        warnings.warn(
            f"symmetrize_point_group changed H(R) by {report['max_abs_change']:.3g} {base.energy_unit} "
            f"({report['max_abs_change'] / scale:.0%} of the largest hopping): more than a Wannierization's "
            "noise, so the representation is probably not that of this basis (e.g. projection labels of hybrid "
            "Wannier functions) and the result is another band structure; compare the bands.",
            QgeomWarning, stacklevel=user_stacklevel())
    params = {**base.parameters, "point_group_symmetrized": report}
    if dim == 2:  # back to the layer: no hopping along the normal, the averaged heights kept
        params["orbital_heights"] = tau_sym[:, 2].tolist()
        R, tau_sym = R[:, :2], tau_sym[:, :2]
    sym = TightBindingModel(R, t_sym, lattice=base.lattice, name=base.name, parameters=params,
                            operators=base.operators, energy_unit=base.energy_unit, length_unit=base.length_unit)
    return OrbitalPositionModel(sym, tau_sym) if isinstance(model, OrbitalPositionModel) else sym


def _rows(keys: np.ndarray, R: np.ndarray) -> np.ndarray:
    """Index of each row of R in the sorted unique `keys`."""
    return np.unique(np.concatenate([keys, R]), axis=0, return_inverse=True)[1].ravel()[len(keys):]


__all__ = ["SPINOR_ORDERINGS", "fitted_time_reversal", "harmonic_rotation", "restore_time_reversal",
           "spin_rotation", "symmetrize_point_group", "time_reversal_matrix"]
