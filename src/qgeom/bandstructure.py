"""Band structures along high-symmetry paths (a Result like every other output)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import xarray as xr

from ._validation import QgeomInputError
from .models.base import Model
from .results import make_result

# Cartesian high-symmetry points in units of 2π/a_cubic (cubic axes along x, y, z)
_FCC = {"G": (0, 0, 0), "X": (0, 1, 0), "L": (0.5, 0.5, 0.5), "W": (0.5, 1, 0), "K": (0.75, 0.75, 0),
        "U": (0.25, 1, 0.25)}
_BCC = {"G": (0, 0, 0), "H": (0, 0, 1), "N": (0, 0.5, 0.5), "P": (0.5, 0.5, 0.5)}
_SC = {"G": (0, 0, 0), "X": (0, 0.5, 0), "M": (0.5, 0.5, 0), "R": (0.5, 0.5, 0.5)}
ALIASES = {"GAMMA": "G", "Γ": "G", "\\GAMMA": "G"}
# the usual paths through them (Setyawan–Curtarolo), and for other lattices through the zone-face
# centres ½b_i
DEFAULT_PATHS = {"fcc": "G-X-W-K-G-L-U-W-L-K", "bcc": "G-H-N-G-P-H", "sc": "G-X-M-G-R-X", None: "X-G-Y-G-Z"}


def lattice_kind(lattice: np.ndarray) -> tuple[str | None, float]:
    """('fcc'|'bcc'|'sc'|None, cubic constant a) for a 3D lattice whose cubic axes are x, y, z."""
    lat = np.asarray(lattice, float)
    if lat.shape != (3, 3):
        return None, 0.0
    absl = np.abs(lat)
    scale = absl.max()
    rel = absl / scale
    if np.allclose(np.sort(rel, axis=1), [[0, 1, 1]] * 3, atol=1e-6):
        return "fcc", 2 * scale
    if np.allclose(rel, 1, atol=1e-6):
        return "bcc", 2 * scale
    if np.allclose(np.sort(rel, axis=1), [[0, 0, 1]] * 3, atol=1e-6):
        return "sc", scale
    return None, 0.0


def special_points(model: Model) -> dict[str, np.ndarray]:
    """Named Cartesian k-points known for the model's lattice (always at least Γ = 'G'); continuum
    models with a `k_cutoff`: X, Y (, Z) at the cutoff along each axis."""
    d = model.dim
    pts = {"G": np.zeros(d)}
    if model.lattice is None:
        # continuum (k·p) models: the integration cutoff along each Cartesian axis
        kc = model.k_cutoff
        if kc:
            pts.update({name: kc * np.eye(d)[i] for i, name in enumerate("XYZ"[:d])})
        return pts
    if d == 3:
        kind, a = lattice_kind(model.lattice)
        table = {"fcc": _FCC, "bcc": _BCC, "sc": _SC}.get(kind)
        if table:
            pts.update({k: 2 * np.pi / a * np.array(v, float) for k, v in table.items()})
            return pts
    B = model.reciprocal_lattice
    pts.update({name: 0.5 * B[i] for i, name in enumerate("XYZ"[:d])})  # zone-face centres ½b_i
    if d == 2:
        pts["M"] = 0.5 * (B[0] + B[1])
    return pts


def default_path(model: Model) -> str:
    """The k-path `qgeom bands` takes without --path: the usual one of a cubic lattice (fcc, bcc, sc with
    the cubic axes along x, y, z), else Γ and the zone-face centres ½b_i (X, Y, Z; M = ½(b1 + b2) in 2D);
    continuum models: Γ to the cutoff along x."""
    if model.lattice is not None and model.dim == 3:
        return DEFAULT_PATHS[lattice_kind(model.lattice)[0]]
    return "G-X-M-G-Y" if model.lattice is not None and model.dim == 2 else "G-X"


def parse_path(spec: str | Sequence[str]) -> list[str]:
    labels = spec.replace(",", "-").split("-") if isinstance(spec, str) else list(spec)
    labels = [ALIASES.get(x.strip().upper(), x.strip()) for x in labels if x.strip()]
    if len(labels) < 2:
        raise QgeomInputError(f"a k-path needs at least two points, e.g. 'L-G-X', got {spec!r}.")
    return labels


def kpath(model: Model, path: str | Sequence[str], npoints: int = 200,
          points: Mapping[str, Sequence[float]] | None = None) -> tuple[np.ndarray, np.ndarray, list[str], np.ndarray]:
    """Cartesian k along straight segments through the labelled points.

    `points` adds/overrides labels, in *reduced* coordinates of the reciprocal lattice (or Cartesian
    for continuum models). Returns (k [nk, d], distance [nk], labels, label positions)."""
    labels = parse_path(path)
    known = special_points(model)
    for key, val in (points or {}).items():
        v = np.asarray(val, float)
        if v.shape != (model.dim,):
            raise QgeomInputError(f"k-point {key!r} must have {model.dim} components, got {list(val)}.")
        known[ALIASES.get(key.upper(), key)] = v @ model.reciprocal_lattice if model.is_periodic else v
    missing = [x for x in labels if x not in known]
    if missing:
        coords = ",".join(f"k{i + 1}" for i in range(model.dim))
        kind = "reduced coordinates" if model.is_periodic else f"Cartesian, 1/{model.length_unit}"
        raise QgeomInputError(
            f"unknown k-point label(s) {missing}; known for this model: {sorted(known)}; define others with "
            f"--point NAME={coords} ({kind}; API: points={{'NAME': [{coords}]}})."
        )
    if int(npoints) < len(labels):
        raise QgeomInputError(f"npoints must be at least the number of path points ({len(labels)}).")
    corners = np.array([known[x] for x in labels])
    seg = np.linalg.norm(np.diff(corners, axis=0), axis=1)
    total = seg.sum()
    if total == 0:
        raise QgeomInputError("the k-path has zero length.")
    cum = np.concatenate([[0.0], np.cumsum(seg)])
    # points per segment ∝ its length (largest remainders, so that they add up to npoints); every corner is
    # sampled exactly
    share = (int(npoints) - 1) * seg / total
    n_seg = np.maximum(1, np.floor(share).astype(int))
    n_seg[np.argsort(np.floor(share) - share, kind="stable")[:max(0, int(npoints) - 1 - n_seg.sum())]] += 1
    ks, ds = [], []
    for s_, n in enumerate(n_seg):
        f = np.arange(n) / n
        ks.append(corners[s_] + f[:, None] * (corners[s_ + 1] - corners[s_]))
        ds.append(cum[s_] + f * seg[s_])
    k = np.concatenate(ks + [corners[-1:]])
    dist = np.concatenate(ds + [cum[-1:]])
    return k, dist, labels, cum


def band_structure(model: Model, path: str | Sequence[str] = "G-X", npoints: int = 200,
                   points: Mapping[str, Sequence[float]] | None = None) -> xr.Dataset:
    """ε_n(k) along a path: Dataset with `energy` (k, band), coords `distance` (1/length) and the
    Cartesian k; tick labels in attrs `path_labels` / `path_ticks`."""
    k, dist, labels, ticks = kpath(model, path, npoints, points)
    energies = np.linalg.eigvalsh(model.hamiltonian(k))
    comps = list("xyz"[: model.dim])
    display = ["Γ" if x == "G" else x for x in labels]
    return make_result(
        {"energy": (("k", "band"), energies)},
        {"k": np.arange(len(k)), "band": np.arange(model.nbands), "distance": ("k", dist),
         "kvec": (("k", "a"), k), "a": comps},
        model=model,
        grid={"kind": "path", "labels": labels, "npoints": int(npoints)},
        parameters={"path": "-".join(labels)},
        units={"energy": model.energy_unit, "distance": f"1/{model.length_unit}", "kvec": f"1/{model.length_unit}"},
        title="band structure",
        extra_attrs={"path_labels": display, "path_ticks": ticks.tolist(), "plot_kind": "bands"},
    )
