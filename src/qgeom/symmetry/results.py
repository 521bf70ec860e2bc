"""Symmetrized response tensors in result Datasets: the time-reversal parity of each term, the
group average, and the Neumann zeros recorded as `forbidden` and in the attributes.

Parities of the second-order DC terms (j T-odd, E T-even, Γ T-odd: the coefficient of Γ^n is
invariant under a primed operation up to (−1)^(n+1)): Drude (Γ⁻²) T-odd, BCD (Γ⁻¹) T-even, the
Γ⁰ geometric/kinetic/intrinsic terms T-odd. Pointwise, each integrand obeys the same law
(v, ∂Ω… T-odd; Ω T-odd; g, ε T-even), which is what makes the wedge sum exact.
"""

from __future__ import annotations

import json
import warnings

import numpy as np
import xarray as xr

from .._validation import user_stacklevel
from ..results import metadata
from .detect import SymmetryWarning
from .group import unitary

ZEROED_NOTICE = 1e-6  # zeroed values above this fraction of the largest |value|: say so (SymmetryWarning)
DC_TERM_PARITY = {"drude": -1, "bcd": 1, "geometric": -1, "kinetic": -1, "intrinsic": -1}
# each term's form, which forbids more than the group does for a general rank-3 tensor (tensors.structure):
# BCD from v_c Ω_ab (antisymmetric in ab); Drude = Σ f ∂a∂b∂c ε (fully symmetric after integration by parts),
# kinetic ∂³ε or v^a v^b v^c (fully symmetric at every k-point); the geometric and intrinsic terms (and every
# DC σ_abc of the seed convention, dc.exact's too) symmetric in the field indices b ↔ c
DC_FIELD_FORM = "field_symmetric"
DC_TERM_FORM = {"drude": "symmetric", "bcd": "curvature_dipole", "geometric": DC_FIELD_FORM, "kinetic": "symmetric",
                "intrinsic": DC_FIELD_FORM}


def symmetrize_terms(plan, sigma: np.ndarray, computed: list[str], comps: list[str], terms,
                     record: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """sigma[mechanism, term, computed, μ] → (sigma[mechanism, term, comps, μ], forbidden[term, comps]).
    `record`: this is the result (not its error or a diagnostic): zeroed values are reported."""
    out = np.empty(sigma.shape[:2] + (len(comps),) + sigma.shape[3:], sigma.dtype)
    forbidden = np.zeros((len(terms), len(comps)), bool)
    for t, name in enumerate(terms):
        out[:, t], forbidden[t] = plan.symmetrize(sigma[:, t], computed, comps, DC_TERM_PARITY[name], axis=1,
                                                  label=name if record else None, form=DC_TERM_FORM[name])
    return out, forbidden


SKIPPED_ERROR = "none: every value is zero by symmetry (no k-sum)"


def forbids_everything(plan, computed: list[str], comps: list[str], terms) -> bool:
    """Whether `plan` forbids every component `comps` of every DC term (Neumann zeros and the crystal's, each
    term's parity and form): then the result is exact zeros whatever the k-sum gives, and none is needed."""
    return plan is not None and all(plan.forbids_all(computed, comps, DC_TERM_PARITY[name], DC_TERM_FORM[name])
                                    for name in terms)


def attach_symmetry(ds: xr.Dataset, plan, forbidden: np.ndarray | None, dims=("term", "component"),
                    parts: dict | None = None) -> xr.Dataset:
    """`forbidden[dims]` (True: zero by Neumann's principle) and the group in attrs. `parts` (optics):
    `forbidden_part` and `model_breaking_only` as [part, *dims] masks of χ's linear ("real") and circular
    ("imag") parts (`optical.symmetry.apply_plan`)."""
    if plan is None:
        ds.attrs["symmetry"] = "none (full grid)"
        return ds
    ds["forbidden"] = (tuple(dims), forbidden)
    ds["forbidden"].attrs["long_name"] = "component forbidden by the magnetic point group (Neumann's principle)"
    if parts:
        ds["forbidden_part"] = (("part", *dims), parts["forbidden_part"])
        ds.coords["part"] = ["real", "imag"]
        ds["forbidden_part"].attrs["long_name"] = (
            "part of the component forbidden by the magnetic point group (Neumann's principle): real = the linear "
            "part (symmetric in the field indices, Re chi), imag = the circular one (antisymmetric, Im chi)")
    info = plan.describe()
    ds.attrs["symmetry"] = json.dumps(info)
    if plan.zeros_only:
        _notice_zeroed(plan, info, float(metadata(ds).get("parameters", {}).get("unit_factor", 1.0) or 1.0))
    if plan.model_breaking:
        _mark_model_breaking(ds, plan, dims, parts)
    return ds


def _mark_model_breaking(ds: xr.Dataset, plan, dims, parts: dict | None = None) -> None:
    """`model_breaking_only[dims]` (optics: [part, *dims], from `parts`): components (parts) the crystal's group
    (from the model's files) forbids but the group the model keeps allows — the model had them only through its
    own symmetry breaking; they are set to 0 like every forbidden one — and a SymmetryWarning naming them when
    they were more than ZEROED_NOTICE of their term's largest value."""
    records = plan.model_breaking
    if parts:
        dims, mask = ("part", *dims), parts["model_breaking_only"]
    else:  # a record per term (DC), or one for the component axis
        names = list(ds[dims[0]].values) if len(dims) == 2 else [next(iter(records))]
        comps = list(ds[dims[-1]].values)
        mask = np.zeros((len(names), len(comps)), bool)
        for i, name in enumerate(names):
            if name in records:
                rc, weak, _, _ = records[name]
                mask[i] = [c in {x for x, w in zip(rc, weak) if w} for c in comps]
        mask = mask if len(dims) == 2 else mask[0]
    ds["model_breaking_only"] = (tuple(dims), mask)
    ds["model_breaking_only"].attrs["long_name"] = (
        "component (for an optical chi: its linear, real, or circular, imag, part) the crystal's point group "
        "(atoms of the model's files) forbids but the Wannier model, which breaks that group beyond a Wannierization's accuracy, "
        "allowed: set to 0 (symmetry=None keeps the model's own value)")
    if plan.skipped:  # no k-sum: the components are named, their sizes unknown
        notable = {n: r for n, r in records.items() if np.any(r[1])}
    else:
        notable = {n: r for n, r in records.items() if r[2] > ZEROED_NOTICE * max(r[3], 0.0) and r[2] > 0}
    if notable:
        _warn_model_breaking(plan, notable)


def _warn_model_breaking(plan, notable: dict) -> None:
    """The SymmetryWarning of `_mark_model_breaking` for the terms `notable` (name → (components, weak, largest
    zeroed value, the term's largest kept value)): what the crystal's group is, which terms and components the
    model had only through its own breaking, how large, and how to remove the breaking."""
    name, (rc, weak, largest, kept) = (next(iter(notable.items())) if plan.skipped else max(
        notable.items(), key=lambda kv: kv[1][2] / kv[1][3] if kv[1][3] else np.inf))
    # every term with such values, the largest (relative to its term) first — its size is the one quoted —, terms
    # with the same components named together
    order = [name] + [n for n in notable if n != name]
    groups: dict[str, list[str]] = {}
    for n in order:
        groups.setdefault(", ".join(c for c, w in zip(notable[n][0], notable[n][1]) if w), []).append(n)
    listed = "; ".join(f"{'/'.join(names)}[{comps}]" for comps, names in groups.items())
    size = ("not computed" if plan.skipped else
            f"up to {largest:.2g}, " + ("the term's largest value" if largest >= 0.99 * kept
                                        else f"{largest / kept:.2g} of the term's largest value"))
    unitary_name = plan.crystal_unitary  # the remedies impose or average over the unitary operations
    note = plan.time_reversal_note()
    spatial = len(unitary(list(plan.crystal))) > len(unitary(list(plan.ops)))  # not only time reversal missing
    # a layer's 3D group acts on its plane with z kept (`group.restrict`): P2₁/m's 2/m there is mm2, so say where
    layer = ", as it acts on the layer," if plan.grid.dim == 2 else ""
    if plan.crystal_magnet and plan.crystal_in_fields:
        what = f"the non-magnetic crystal's magnetic point group from {plan.crystal_from}{layer} is {plan.crystal_name}"
    elif plan.crystal_magnet:
        what = (f"the structure in {plan.crystal_from} has inversion mapping every atom onto itself, which any "
                "magnetic order of that cell keeps")
    elif spatial:
        what = f"the crystal's point group from {plan.crystal_from}{layer} is {plan.crystal_name}" + (f"; {note}" if note else "")
    else:
        what = f"time reversal holds for the crystal of {plan.crystal_from}: {note}"
    remedies = _breaking_remedies(plan, note, spatial, unitary_name)
    warnings.warn(
        f"symmetry: {what}, but the Wannier model "
        f"keeps only {plan.group} to a Wannierization's accuracy: {listed} ({size}{'' if len(order) == 1 or plan.skipped else ' in ' + name}) "
        "can come only from the model's own symmetry breaking and is set to 0 (`model_breaking_only` in the result; "
        "symmetry=None keeps the model's values)."
        + ("" if not remedies else (" To impose the group on the result, or remove the breaking from the model "
                                    "itself: " if plan.grid.dim == 2 and spatial else
                                    " To remove the breaking from the model itself: ") + "; ".join(remedies) + "."),
        SymmetryWarning, stacklevel=user_stacklevel())


def _breaking_remedies(plan, note: str, spatial: bool, unitary_name: str) -> list[str]:
    """The ways out `_warn_model_breaking` names: restore time reversal (when only the model breaks it), impose the
    group on the result (monolayers), symmetrize the model in real space (a spatial group)."""
    from ..models.orbital_representations import SITE_TOL

    remedies = []
    if note:
        remedies.append("qgeom.models.symmetrize.restore_time_reversal(model) (CLI --restore-time-reversal)")
    if spatial and plan.grid.dim == 2:  # a monolayer's Wannier centres are often off its atoms (1T'-MoS2: 0.2 Å)
        remedies.append(f"symmetry='{unitary_name}' with a symmetry_tol above its breaking imposes the group on the "
                        f"result (CLI --symmetry {unitary_name} --symmetry-tol TOL; the error names the TOL needed)")
    if spatial:
        remedies.append(("or, " if remedies else "") +
                        f"qgeom.models.symmetrize.symmetrize_point_group(model, '{unitary_name}', "
                        f"representation='fitted') (CLI --symmetrize-model={unitary_name}), where a representation "
                        "of the group fits the model's hoppings and its Wannier centres sit where the crystal's space "
                        f"group puts them, within {SITE_TOL * 1e3:g} mÅ (docs/materials.md)")
    return remedies


def _notice_zeroed(plan, info: dict, unit_factor: float) -> None:
    """SymmetryWarning when the default Neumann zeros removed more than rounding noise: a zeroed
    value above ZEROED_NOTICE of the term's largest kept value (or, with none kept, above the
    numerical-zero floor ABS_ZERO in model units). None for a model that keeps the group exactly
    (to the detection's 1e-9): its forbidden values are rounding, e.g. 2e-13 model units for the
    Γ⁰ terms of the T_d-symmetrized GaAs, above ABS_ZERO."""
    from ..accuracy import ABS_ZERO

    if not info["symmetry_breaking_measured"]:  # the model keeps the group to 1e-9: what was zeroed is rounding
        return
    notable = [(name, zeroed, kept) for name, zeroed, kept in plan.zeroed
               if zeroed > (ZEROED_NOTICE * kept if kept > 0 else ABS_ZERO * abs(unit_factor))]
    if not notable:
        return
    name, zeroed, kept = max(notable, key=lambda z: z[1] / z[2] if z[2] > 0 else np.inf)
    size = f"{zeroed / kept:.2g} of its largest allowed value" if kept > 0 else f"{zeroed:.2g} (no allowed component)"
    warnings.warn(
        f"symmetry: the model keeps the group {plan.group} to the accuracy of a Wannierization (largest breaking "
        f"{_worst_breaking(info)}); the components it forbids are set to 0. In the model they were up to {size} "
        f"({name}): artefacts of its symmetry breaking. symmetry=None keeps the model's own values.",
        SymmetryWarning, stacklevel=user_stacklevel())


def _worst_breaking(info: dict) -> str:
    measured = info["symmetry_breaking_measured"]
    if not measured:
        return "none beyond 1e-9"
    op, errs = max(measured.items(), key=lambda kv: max(kv[1]))
    return f"{op}: " + ", ".join(f"{q} {e:.1g}" for q, e in zip(("E", "v", "Omega", "g"), errs))
