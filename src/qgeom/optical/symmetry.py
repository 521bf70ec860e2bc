"""Point-group symmetry of optical responses of the current: the wedge and the group average of χ.

`optical.response` computes χ^{a;βγ}(ω) for ONE current component a. A unitary operation R of
the crystal relates χ^{a;βγ} to the other current components unless it maps e_a onto ±e_a, so
only the stabilizer H_a = {R : R e_a = s e_a} of the current direction is used: the irreducible
wedge of H_a and the average χ^{a;βγ} → (1/|H_a|) Σ_h s_h R_ββ' R_γγ' χ^{a;β'γ'} (a polar
rank-3 tensor with its first index fixed). Antiunitary operations are not used for the wedge and
the average: they relate χ(ω) to the complex conjugate response with the kinds' own time-reversal
parities (injection and shift differ). The result equals the full-grid one when the model has the
symmetry. Time reversal itself gives the default's zeros per kind (`time_reversal_zeros`): T maps
χ of the current onto ±χ*, so one part of each kind vanishes (`terms.Term.time_reversal_forbids`).
"""

from __future__ import annotations

import json
import warnings

import numpy as np

from .._validation import QgeomInputError, user_stacklevel
from .report import PARTS

__all__ = ["neumann_zeros", "stabilizes", "symmetrize_chi", "time_reversal_zeros"]


def stabilizes(direction: int):
    """Predicate: does the (unitary) operation map e_direction onto ±e_direction?"""
    def keep(op) -> bool:
        return bool(np.isclose(abs(op.R[direction, direction]), 1.0, atol=1e-9))
    return keep


def _signed_reps(ops, direction: int, dim: int) -> list[tuple[float, np.ndarray]]:
    return [(float(np.sign(g.R[direction, direction])), g.R[:dim, :dim]) for g in ops]


def _projector(ops, direction: int, dim: int) -> np.ndarray:
    """P [(β, γ), (β', γ')]: the H_a average of χ^{a;βγ} as a matrix on the field pairs."""
    reps = _signed_reps(ops, direction, dim)
    return sum(s * np.kron(R, R) for s, R in reps) / len(reps)


def symmetrize_chi(chi: np.ndarray, ops, direction: int, dim: int) -> tuple[np.ndarray, np.ndarray]:
    """chi[..., β, γ] (last two axes the field indices) → (its H_a average, forbidden[β, γ])."""
    reps = _signed_reps(ops, direction, dim)
    out = sum(s * np.einsum("bi,cj,...ij->...bc", R, R, chi) for s, R in reps) / len(reps)
    forbidden = np.all(np.abs(_projector(ops, direction, dim)) < 1e-12, axis=1).reshape(dim, dim)
    return out, forbidden


def _part_zeros(ops, direction: int, dim: int) -> tuple[np.ndarray, np.ndarray]:
    """forbidden[β, γ] of the part of χ symmetric in the field indices (the linear response, Re χ) and of the
    antisymmetric one (the circular response, Im χ), each by itself: rows of P K that vanish, K the
    (anti)symmetrizer. A group can forbid one part of an allowed component — −43m the circular photogalvanic
    current (χ^{x;yz} = χ^{x;zy}), although it allows χ^{x;yz}."""
    P = _projector(ops, direction, dim)
    swap = np.eye(dim * dim).reshape(dim, dim, dim, dim).transpose(0, 1, 3, 2).reshape(dim * dim, dim * dim)
    return tuple(np.all(np.abs(0.5 * (np.eye(dim * dim) + sign * swap) @ P) < 1e-12, axis=1).reshape(dim, dim)
                 for sign in (1.0, -1.0))


def _pair_labels(pairs: list[str], weak: np.ndarray, zero: np.ndarray) -> list[str]:
    """Field-pair labels for the model-breaking record: "yz (circular part)" where only that part is
    allowed by the model alone and the other part stays, the bare pair where the whole component goes."""
    names = ("linear", "circular")
    return [f"{pair} ({names[0] if w[0] else names[1]} part)" if w.any() and not w.all() and not z[1 - int(w[1])]
            else pair for pair, w, z in zip(pairs, weak.reshape(2, -1).T, zero.reshape(2, -1).T)]


def apply_plan(plan, chi: np.ndarray, direction: int, dim: int, label: str | None = None):
    """`symmetrize_chi` for a wedge plan; for the default Neumann plan (`plan.zeros_only`) the
    full-grid chi itself with only what the group forbids set to 0 (recorded under `label`): the forbidden
    field components, and the forbidden part — linear (symmetric in βγ) or circular (antisymmetric) — of the
    others (`_part_zeros`); by the group the model keeps, and by the crystal's group of its files
    (`plan.crystal`, its unitary operations that keep the current direction), recorded in
    `plan.model_breaking` as for the DC terms. Returns (chi, zero[part, β, γ], weak[part, β, γ]): the parts
    ("real" = linear, "imag" = circular, `report.PARTS`) that are 0 by symmetry, and those of them that
    only the crystal's group forbids (the model has them through its own breaking)."""
    if not plan.zeros_only:
        out, forbidden = symmetrize_chi(chi, plan.ops, direction, dim)
        zero = np.array(_part_zeros(plan.ops, direction, dim)) | forbidden
        return out, zero, np.zeros_like(zero)
    parts = 0.5 * (chi + np.swapaxes(chi, -1, -2)), 0.5 * (chi - np.swapaxes(chi, -1, -2))
    model = np.array(_part_zeros(plan.ops, direction, dim))
    # forbidden by the crystal of the model's files, allowed only through the model's own breaking
    crystal = np.array(_part_zeros(plan.crystal, direction, dim)) if plan.crystal else model
    zero, weak = model | crystal, crystal & ~model
    out = sum(np.where(z, 0.0, x) for x, z in zip(parts, zero))
    if label is not None:
        pairs = [a + b for a in "xyz"[:dim] for b in "xyz"[:dim]]
        flat = lambda x: np.abs(x).reshape(x.shape[:-2] + (-1,))  # noqa: E731
        plan.record_zeros(label, flat(out), _pair_labels(pairs, weak, zero), model.any(0).ravel(),
                          weak.any(0).ravel(), removed=flat(chi - out))
    return out, zero, weak


def forbids_everything(plan, direction: int, dim: int) -> bool:
    """Whether `plan` forbids every field component αβ of the current along `direction` (the model's group and
    the crystal's): then χ is exact zeros whatever the k-sum gives, and none is needed."""
    return bool(apply_plan(plan, np.zeros((1, dim, dim)), direction, dim)[1].all())


def check_observable(obs) -> int:
    """The current direction of `obs`; other observables are refused (their transformation law is
    not known to qgeom yet)."""
    if obs.source != "current":
        raise QgeomInputError(f"symmetry= in optical.response is implemented for the current (current_x|y|z); "
                              f"{obs.name!r} is not one: use symmetry=None.")
    return int(obs.direction)


def neumann_zeros(plan, chi: np.ndarray, direction: int, dim: int, kinds, kernels: dict, label: str | None = None):
    """The plan applied to chi[kind, ..., α, β]: `apply_plan` (the field components and their linear and
    circular parts), then `time_reversal_zeros` (a part of each kind). Returns (chi, {"forbidden_part": zero,
    "model_breaking_only": weak} of `apply_plan` ([part, α, β]), the time-reversal mask [kind, part] or None,
    its record)."""
    chi, zero, weak = apply_plan(plan, chi, direction, dim, label)
    chi, parts, record = time_reversal_zeros(plan, chi, kinds, kernels)
    return chi, {"forbidden_part": zero, "model_breaking_only": weak}, parts, record


def time_reversal_zeros(plan, chi: np.ndarray, kinds, kernels: dict) -> tuple[np.ndarray, np.ndarray | None, dict]:
    """For the default Neumann plan of a model that keeps time reversal (to a Wannierization's accuracy,
    `plan.crystal_magnet` False), or a given group that holds time reversal itself (`plan.time_reversal_given`:
    e.g. "-43m1'", or "auto" on a T-symmetric model — its unitary operations average χ, T acts per kind):
    chi[kind, ...] with each kind's T-forbidden part (Re or Im) set to 0,
    the mask [kind, part ("real", "imag")] of those parts, and per kind (part, largest zeroed |value|,
    largest kept |value|). Unchanged, None and {} otherwise. `kernels`: each kind's kernel
    (`terms.kernel_of`): with the full resolvent (shift_like with principal_part=True) no part is
    forbidden — its P(1/x) part has the other time-reversal parity than its δ part."""
    from .terms import TERMS

    if plan is None or not (plan.zeros_only and not plan.crystal_magnet or plan.time_reversal_given):
        return chi, None, {}
    out, mask, record = chi.copy(), np.zeros((len(kinds), 2), bool), {}
    for i, kind in enumerate(kinds):
        if kernels[kind] == "resolvent":
            continue
        part = TERMS[kind].time_reversal_forbids
        zeroed, kept = (chi[i].real, chi[i].imag) if part == "real" else (chi[i].imag, chi[i].real)
        record[kind] = (part, float(np.abs(zeroed).max(initial=0.0)), float(np.abs(kept).max(initial=0.0)))
        out[i] = 1j * chi[i].imag if part == "real" else chi[i].real
        mask[i, list(PARTS).index(part)] = True
    return out, mask, record


def attach_time_reversal(ds, parts: np.ndarray, record: dict, note: str = "") -> None:
    """`forbidden_by_time_reversal[kind, part]` and the attribute `time_reversal_zeros` (per kind: the part set
    to 0, the largest zeroed and kept |χ| in model units), and a SymmetryWarning when a zeroed part was more
    than ZEROED_NOTICE of its kind's kept part (the model breaks T beyond rounding: those values were its
    artefacts). `note`: why a model whose bands break time reversal gets it (`SymmetryPlan.time_reversal_note`)."""
    from ..symmetry.detect import SymmetryWarning
    from ..symmetry.results import ZEROED_NOTICE

    ds["forbidden_by_time_reversal"] = (("kind", "part"), parts)
    ds.coords["part"] = list(PARTS)
    ds["forbidden_by_time_reversal"].attrs["long_name"] = (
        "part of chi forbidden by time reversal, which the model keeps (to a Wannierization's accuracy) or the given "
        "group holds: set to 0 (symmetry=None keeps the model's values)")
    ds.attrs["time_reversal_zeros"] = json.dumps({k: {"part": p, "largest_zeroed": z, "largest_kept": m}
                                                  for k, (p, z, m) in record.items()})
    notable = {k: (p, z, m) for k, (p, z, m) in record.items() if z > ZEROED_NOTICE * m and z > 0}
    if notable:
        # a kept part at rounding level (the crystal's group forbids it): the whole kind is zero, no ratio
        listed = ", ".join(f"{PARTS[p][0]} chi of {k} ({PARTS[p][1]}, up to {z / m:.2g} of the kept part)"
                           if m > 1e-9 * z else f"{PARTS[p][0]} chi of {k} ({PARTS[p][1]})"
                           for k, (p, z, m) in notable.items())
        kept = (f"the crystal is non-magnetic ({note}), and time reversal" if note
                else "the model keeps time reversal to a Wannierization's accuracy, which")
        warnings.warn(f"symmetry: {kept} forbids {listed}: "
                      "they came from the model's own breaking and are set to 0 (`forbidden_by_time_reversal`; "
                      "symmetry=None keeps the model's values; qgeom.models.symmetrize.restore_time_reversal removes "
                      "the breaking from the model).", SymmetryWarning, stacklevel=user_stacklevel())
