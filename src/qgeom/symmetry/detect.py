"""Checking operations on a model, and detecting its magnetic point group.

An operation (R, θ) is a symmetry of the Bloch bands when, at random k and k' = ±R k (− with
time reversal), the energies agree, v(k') = ±R v(k), and the Berry curvature and quantum metric
transform as rank-2 tensors (Ω T-odd, g T-even) — all gauge-invariant, subspace-averaged over
degeneracies, so the test sees exactly what the response integrands see (including the
orbital-position convention). Candidates for `"auto"` are the point-group operations of the
lattice (spglib), each with and without time reversal.
"""

from __future__ import annotations

import math
import warnings

import numpy as np

from .. import geometry
from .._validation import QgeomInputError, user_stacklevel
from ..bands import Bands
from .group import Operation, closure, restrict

DETECT_TOL = 1e-9  # relative to the largest value of each quantity
# What a Wannier model of a crystal keeps of the crystal's symmetry, relative (energies, velocities,
# Berry curvature, quantum metric): the shipped GaAs keeps time reversal to 6.6e-6, 5.2e-4, 0.11,
# 0.05 (two sets of random k); a physical 0.1 meV exchange field on it breaks the curvature by 0.66
# and 1 meV by 0.96, so the curvature and metric bounds separate a Wannierization's noise from a
# real perturbation.
MODEL_ACCURACY = np.array([1e-4, 3e-3, 0.2, 0.2])
# Restoring time reversal in real space (models.symmetrize.restore_time_reversal) changes a non-magnetic
# crystal's Wannier model by its Wannierization's error and a magnet's by its exchange field, max |ΔH(R)|:
# the shipped 1T′-MoS₂ 0.014 eV (its bands break T by 2.3e-3 relative, beyond MODEL_ACCURACY), GaAs
# 1.5e-4 eV, bcc Fe 1.36 eV. A model read from a crystal's files whose change stays below this is non-magnetic.
NONMAGNETIC_CHANGE_EV = 0.1
BATCH_BYTES = 64 << 20  # images of k-points evaluated together (`_batches`)
FIT_BUDGET = 1e10  # complex multiply-adds a default run may spend fitting a spinor-hybrid time reversal (~5 s)


def _fingerprint(model, k: np.ndarray) -> list[np.ndarray]:
    b = Bands.from_model(model, k, order=1)
    return [b.energies, geometry.band_velocity(b), geometry.berry_curvature(b), geometry.quantum_metric(b)]


def _transformed(q: list[np.ndarray], R: np.ndarray, tr: bool) -> list[np.ndarray]:
    e, v, om, g = q
    s = -1.0 if tr else 1.0
    return [e, s * np.einsum("ab,kbn->kan", R, v), s * np.einsum("ac,bd,kcdn->kabn", R, R, om),
            np.einsum("ac,bd,kcdn->kabn", R, R, g)]


def mismatch(model, op: Operation, k: np.ndarray, base=None) -> float:
    """Largest relative deviation of the bands at ±R k from the transformed bands at k."""
    return float(np.max(mismatches(model, op, k, base)))


def mismatches(model, op: Operation, k: np.ndarray, base=None, got=None) -> np.ndarray:
    """[4] relative deviations of energies, velocities, Berry curvature and metric at ±R k from
    the transformed ones at k (`got`: the fingerprint at ±R k when already computed)."""
    d = model.dim
    R = op.R[:d, :d]
    base = base if base is not None else _fingerprint(model, k)
    want = _transformed(base, R, op.time_reversal)
    got = got if got is not None else _fingerprint(model, image(op, k, d))
    # natural scales (energy span E, lattice length L: ε ~ E, v ~ E L, Ω and g ~ L²) floor the
    # denominators, so quantities that vanish by symmetry (Ω under PT) compare as equal
    E = max(float(np.ptp(base[0])), 1e-300)
    L = float(np.max(np.linalg.norm(model.lattice, axis=1)))
    floors = [E, E * L, L * L, L * L]
    return np.array([float(np.max(abs(a - b)) / (max(np.max(abs(a)), np.max(abs(b))) + 1e-3 * f))
                     for a, b, f in zip(got, want, floors)])


def image(op: Operation, k: np.ndarray, d: int) -> np.ndarray:
    """±R k (− with time reversal)."""
    return k @ op.R[:d, :d].T * (-1.0 if op.time_reversal else 1.0)


def _batches(model, ops: list[Operation], k: np.ndarray):
    """The operations in batches whose images of k (evaluated together: one Bands per batch, not per operation)
    take ~BATCH_BYTES of matrices: a 100-orbital model's 96 cubic candidates at 6 k-points would be 576 points,
    ~1 GB of eigenvectors and rotated ∂H at once."""
    per_op = len(k) * model.nbands ** 2 * 16 * 8  # H, its eigenvectors and ∂H of one operation's images
    step = max(1, BATCH_BYTES // per_op)
    for s in range(0, len(ops), step):
        yield ops[s:s + step], np.concatenate([image(op, k, model.dim) for op in ops[s:s + step]])


def _all_mismatches(model, ops: list[Operation], k: np.ndarray) -> list[np.ndarray]:
    """`mismatches` of every operation at k, from one Bands evaluation of the images of a batch of them."""
    base = _fingerprint(model, k)
    n, out = len(k), []
    for batch, points in _batches(model, ops, k):
        images = _fingerprint(model, points)
        out += [mismatches(model, op, k, base, [x[i * n:(i + 1) * n] for x in images]) for i, op in enumerate(batch)]
    return out


def _energy_mismatches(model, ops: list[Operation], k: np.ndarray) -> np.ndarray:
    """The energy part of `mismatches` for every operation (eigenvalues only: a cheap first screen)."""
    base = np.linalg.eigvalsh(model.hamiltonian(k))
    images = np.concatenate([np.linalg.eigvalsh(model.hamiltonian(points)) for _, points in _batches(model, ops, k)])
    floor = 1e-3 * max(float(np.ptp(base)), 1e-300)
    got = images.reshape(len(ops), *base.shape)
    scale = np.maximum(np.abs(got).max(axis=(1, 2)), np.abs(base).max()) + floor
    return np.abs(got - base).max(axis=(1, 2)) / scale


def _random_k(model, n: int = 6, seed: int = 7) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return rng.random((n, model.dim)) @ model.reciprocal_lattice


class SymmetryWarning(UserWarning):
    """A given group was imposed on a model that breaks it (within `symmetry_tol`)."""


def symmetry_tolerance(tol) -> float:
    """`symmetry_tol`: None → DETECT_TOL (exact symmetries only); else a relative breaking in (0, 1)."""
    if tol is None:
        return DETECT_TOL
    try:
        val = float(tol)
    except (TypeError, ValueError):
        raise QgeomInputError(f"symmetry_tol must be a number in (0, 1) (relative breaking), got {tol!r}.") from None
    if not 0 < val < 1:  # also NaN
        raise QgeomInputError(f"symmetry_tol must be a number in (0, 1) (relative breaking), got {tol!r}.")
    return val


def check(model, ops: list[Operation], tol: float = DETECT_TOL, *, group: str | None = None) -> dict[str, float]:
    """Refuse operations that are not symmetries of the model to `tol` (they would change the
    result); return {operation: measured breaking} for those beyond DETECT_TOL that `tol` admits
    (the group is then imposed, with a SymmetryWarning naming the breaking). `group`: the symbol the
    operations came from, named in the advice to symmetrize the model."""
    k = _random_k(model)
    base = _fingerprint(model, k)
    imposed = {}
    for op in ops:
        err = mismatch(model, op, k, base)
        if err > tol:
            raise QgeomInputError(
                f"symmetry operation {op.label()} is not a symmetry of model {model.name!r} (bands, velocities, "
                f"Berry curvature or metric differ by {err:.2g} relative at random k): pass the model's actual "
                "group, symmetry='auto' to detect it, or symmetry=None; " + _imposing_advice(err, group, model.dim))
        if err > DETECT_TOL:
            imposed[op.label()] = err
    if imposed:
        worst = max(imposed, key=imposed.get)
        warnings.warn(
            f"symmetry imposed on model {model.name!r}, which breaks it: {len(imposed)} operations beyond "
            f"{DETECT_TOL:g}, the worst {worst} by {imposed[worst]:.2g} relative; the result is symmetrized as "
            "for the ideal crystal (Neumann zeros exact), not the model's own (see attrs['symmetry']).",
            SymmetryWarning, stacklevel=user_stacklevel())
    return imposed


def _imposing_advice(err: float, group: str | None, dim: int = 3) -> str:
    """How to impose a group the model breaks by `err` (relative, in [0, 2]): symmetry_tol (< 1) when it admits
    err — rounded up, so the value given passes; else averaging the model itself over the group. A breaking of
    1 or more is as large as the quantities compared (e.g. a Berry curvature of the wrong sign): no longer a
    Wannierization's slight breaking that averaging the result may remove, so no tolerance admits it."""
    digits = 10.0 ** (math.floor(math.log10(err)) - 1)
    needed = math.ceil(err / digits - 1e-9) * digits
    if needed < 1:
        return (f"to impose the crystal's group on a Wannier model that breaks it, symmetry_tol >= {needed:.2g} "
                f"(CLI --symmetry-tol {needed:.2g}; the result is then symmetrized by a group the model does not "
                "have: the breaking is recorded).")
    name = group or "GROUP"
    from ..models.orbital_representations import SITE_TOL

    layer = (" (a monolayer's model in its layer frame; it needs Wannier centres where the layer group puts them, "
             f"within {SITE_TOL * 1e3:g} mÅ)") if dim == 2 else ""
    return (f"a breaking of {err:.2g} is as large as the quantities themselves, beyond any symmetry_tol (< 1): to "
            f"impose the group, symmetrize the model first, qgeom.models.symmetrize.symmetrize_point_group(model, "
            f"'{name}', representation='fitted') (CLI --symmetrize-model={name}){layer}.")


def lattice_operations(model) -> list[Operation]:
    """The point group of the Bravais lattice (holohedry) as Cartesian operations."""
    import spglib

    d = model.dim
    A = np.eye(3)
    A[:d, :d] = model.lattice
    if d < 3:  # a long perpendicular axis: only operations that keep the plane survive `restrict`
        A[2, 2] = 17.3 * float(np.max(np.linalg.norm(model.lattice, axis=1)))
    with warnings.catch_warnings():  # spglib's notice about its old error handling
        warnings.simplefilter("ignore", DeprecationWarning)
        sym = spglib.get_symmetry((A, [[0.0, 0.0, 0.0]], [1]), symprec=1e-5)
    if sym is None:
        raise QgeomInputError("spglib could not find the lattice symmetry of the model.")
    Ainv = np.linalg.inv(A)
    ops = [Operation(A.T @ W @ Ainv.T) for W in sym["rotations"]]
    return restrict(ops, d)


def _structure_symmetry(model, cs: dict | None = None):
    """(lattice rows, fractional atom positions, spglib's symmetry operations) of the crystal the model was
    read for (`parameters["crystal_structure"]`, or `cs`: atoms of the .win, wt.in or POSCAR, in the model's
    frame; spglib at 1e-3 Å), or None when the files gave no atoms."""
    import spglib

    cs = model.parameters.get("crystal_structure") if cs is None else cs
    if not cs:
        return None
    A = np.asarray(cs["lattice"], float)
    symbols = [a[0] for a in cs["atoms"]]
    frac = np.array([a[1:] for a in cs["atoms"]], float) @ np.linalg.inv(A)
    numbers = [sorted(set(symbols)).index(x) for x in symbols]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        sym = spglib.get_symmetry((A, frac, numbers), symprec=1e-3)
    return None if sym is None else (A, frac, sym)


def crystal_group(model, cs: dict | None = None, fields=(), time_reversal: bool = False) -> list[Operation] | None:
    """The crystal's point group (`_structure_symmetry`) as unitary Cartesian operations (`time_reversal`:
    × {1, T}) — those that keep every field of `fields` (`_keeps_field`, on the 3D operations) —; for a 2D
    model those that keep its plane. None when unknown."""
    found = _structure_symmetry(model, cs)
    if found is None:
        return None
    A, _, sym = found
    Ainv = np.linalg.inv(A)
    ops = closure([Operation(A.T @ W @ Ainv.T) for W in np.unique(sym["rotations"], axis=0)])
    if time_reversal:
        ops = ops + [Operation(g.R, True) for g in ops]
    ops = [g for g in ops if all(_keeps_field(g, f) for f in fields)]
    return restrict(ops, model.dim) if model.dim < 3 else ops


def field_crystal_group(model, time_reversal: bool = False) -> list[Operation] | None:
    """The operations of the crystal's point group (`time_reversal`: × {1, T}, for a non-magnetic crystal) that
    keep every uniform field applied to its model (`models.onsite.FIELD_CRYSTAL`: a displacement field along the
    normal keeps the operations that fix the normal, e.g. the mirror x → −x of 1T′-MoS₂; an exchange field along
    z turns that mirror into its product with T); None without such a record."""
    from ..models.onsite import FIELD_CRYSTAL

    record = model.parameters.get(FIELD_CRYSTAL)
    return crystal_group(model, record["crystal_structure"], record["fields"], time_reversal) if record else None


def magnetic_field_crystal_group(model) -> list[Operation] | None:
    """For a model whose only time-reversal breaking beyond a Wannierization's is its exchange fields (the model
    without them, `models.onsite.without_time_reversal_odd_fields`, changes by ≤ NONMAGNETIC_CHANGE_EV when time
    reversal is restored): the crystal's magnetic group in those fields (`field_crystal_group` with T). None
    otherwise (no exchange-field record, a magnetic base, no spinor time reversal fits)."""
    from ..models.onsite import FIELD_CRYSTAL, without_time_reversal_odd_fields

    base = without_time_reversal_odd_fields(model)
    if base is None or model.energy_unit != "eV":
        return None
    order = next(f["onsite"]["spinor_ordering"] for f in model.parameters[FIELD_CRYSTAL]["fields"] if "onsite" in f)
    change = _restoring_change(base, order)
    if change is None or change > NONMAGNETIC_CHANGE_EV:
        return None
    return field_crystal_group(model, time_reversal=True)


def _keeps_field(g: Operation, field: dict) -> bool:
    """g maps the field onto itself: R v for a polar vector, det(R) R v for an axial one, reversed by time
    reversal for a T-odd one."""
    R = g.R
    image = R @ np.asarray(field["vector"], float) * (np.linalg.det(R) if field["axial"] else 1.0)
    if g.time_reversal and field["time_reversal_odd"]:
        image = -image
    return bool(np.allclose(image, field["vector"], atol=1e-8))


def inversion_keeps_every_site(model) -> bool:
    """Whether −r (about some inversion centre of the structure) maps every atom of the model's files
    onto itself modulo the lattice: then any magnetic order of that cell keeps inversion (moments are
    axial vectors), so a magnet's model must keep it too (bcc Fe)."""
    found = _structure_symmetry(model)
    if found is None:
        return False
    _, frac, sym = found
    for W, t in zip(sym["rotations"], sym["translations"]):
        if np.array_equal(W, -np.eye(3, dtype=int)):
            d = (frac @ W.T + t) - frac  # each atom's image minus itself
            if np.abs(d - np.round(d)).max() < 1e-3:
                return True
    return False


def time_reversal_restoring_change(model) -> float | None:
    """max |ΔH(R)| (eV) that restoring time reversal removes from a spinor Wannier model as read from a
    crystal's files (`parameters["crystal_structure"]`), or changed since only by time-reversal-even on-site
    terms (a displacement field: `models.onsite.TIME_REVERSAL_REFERENCE`) — any other on-site term (an
    exchange field) drops both records, so a user's magnet is never measured here; None where that does
    not apply (no such record, not a tight-binding model in eV, no spinor time reversal fits its hoppings)."""
    from ..models.onsite import files_record
    from ..models.symmetrize import fit_cost, known_ordering

    if not files_record(model.parameters) or model.energy_unit != "eV":
        return None
    order = known_ordering(model)
    tau = getattr(model, "positions", None)
    base = getattr(model, "base", model)
    if order is None and tau is not None and getattr(base, "t", None) is not None \
            and fit_cost(base.t, np.asarray(tau)) > FIT_BUDGET:
        return None  # a basis of spinor hybrids too large to fit U to in a default run: no inference
    return _restoring_change(model, order or "auto")


def _restoring_change(model, order: str) -> float | None:
    """max |ΔH(R)| (model energy unit) of `restore_time_reversal(model, spinor_ordering=order)`; None where no spinor time
    reversal fits (odd orbital count, no fitted operator, not a tight-binding model)."""
    from ..models.symmetrize import restore_time_reversal

    try:
        restored = restore_time_reversal(model, spinor_ordering=order, allow_magnetic=True)  # measures a magnet too
    except QgeomInputError:
        return None
    return float(restored.parameters["time_reversal_restored"]["max_abs_change"])


def detect_at_model_accuracy(model) -> tuple[list[Operation], dict[str, list[float]]]:
    """The operations a Wannier model keeps to the accuracy of a Wannierization (MODEL_ACCURACY,
    per quantity, at random k of two seeds) — the crystal's, not a perturbation's: the group grown
    from the best-kept operations, each added only when the group it generates still passes (the
    passing operations need not close; time reversal is tried first). Returns the group and the
    measured breaking of each of its operations beyond DETECT_TOL (E, v, Ω, g)."""
    candidates = [op for R in lattice_operations(model) for op in (Operation(R.R, False), Operation(R.R, True))]
    ks = [_random_k(model, 6, seed) for seed in (7, 29)]
    # energies first (eigenvalues only): a random Wannier model fails every operation there
    energy = np.max([_energy_mismatches(model, candidates, k) for k in ks], axis=0)
    measured = {op.key(): (op, np.array([e, np.inf, np.inf, np.inf])) for op, e in zip(candidates, energy)}
    screened = [op for op, e in zip(candidates, energy) if e <= MODEL_ACCURACY[0]]
    if screened:
        errors = np.max([_all_mismatches(model, screened, k) for k in ks], axis=0)
        measured.update({op.key(): (op, err) for op, err in zip(screened, errors)})
    passing = {key: op for key, (op, err) in measured.items() if np.all(err <= MODEL_ACCURACY)}
    # the passing operations need not close (a product of two may be broken beyond the accuracy):
    # grow a group — time reversal first (a non-magnetic crystal's most robust symmetry), then the
    # best-kept operations — adding one only if the group it generates still passes
    def order(g: Operation) -> tuple:
        pure_t = g.time_reversal and np.allclose(g.R, np.eye(3))
        return (not pure_t, float(np.max(measured[g.key()][1] / MODEL_ACCURACY)))

    group = closure([])
    for op in sorted(passing.values(), key=order):
        larger = closure(group + [op])
        if all(g.key() in passing for g in larger):
            group = larger
    breaking = {g.label(): [float(x) for x in measured[g.key()][1]] for g in group
                if g.key() in measured and np.max(measured[g.key()][1]) > DETECT_TOL}
    return group, breaking


def detect(model, tol: float = DETECT_TOL) -> list[Operation]:
    """The magnetic point group of the model: the lattice operations, with and without time
    reversal, that pass `mismatch` at random k (they form a group)."""
    k = _random_k(model)
    base = _fingerprint(model, k)
    found = [op for R in lattice_operations(model) for op in (Operation(R.R, False), Operation(R.R, True))
             if mismatch(model, op, k, base) <= tol]
    return closure(found)
