"""Wannier90 tight-binding models: `seedname_hr.dat`, `_wsvec.dat`, `_tb.dat`, `.win`, `_centres.xyz`.

Two Bloch-sum conventions (docs/conventions.md, docs/wannier90.md):

- **convention I** (Wannier90's default, `H_ij(k) = Σ_R e^{ik·R} H_ij(R)`): every orbital sits at
  the cell origin as far as the phases are concerned. Band energies are exact; the Berry
  connection/curvature of the eigenvectors misses the intra-cell positions τ_i.
- **convention II** (tight-binding convention, `H_ij(k) = Σ_R e^{ik·(R+τ_j−τ_i)} H_ij(R)`) with
  τ_i the Wannier centres (diagonal of the position matrix at R = 0). This is the
  tight-binding approximation of the position operator (r_mn(R) = τ_m δ_mn δ_R0) and is the choice
  for geometric quantities: Berry curvature, metric and their dipoles then transform correctly
  under the crystal's symmetries (e.g. the GaAs Berry-curvature dipole vanishes by Td only here).
  Off-diagonal position matrix elements r_mn(R) in `_tb.dat` are read but not used by the
  Hamiltonian model; they stay available through `read_tb`.

Both share the band energies. `from_wannier90(..., convention="auto")` picks II whenever orbital
positions are known (a `_tb.dat`, a `_centres.xyz`, or `positions=`), else I; the choice is
recorded in `model.parameters["convention"]` and hence in every result's metadata.

Hoppings are divided by the Wigner–Seitz degeneracies (`ndegen`); with a `_wsvec.dat` file
(`use_ws_distance = true`, MDRS) each H_ij(R)/ndegen(R) is further split equally over the
ndeg_ij(R) images R + T_ij, exactly as postw90 does. Units: energies in eV, lengths in Å.
"""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

import numpy as np

from .._validation import QgeomInputError, QgeomWarning, as_finite_array, both_spellings, user_stacklevel
from ..options import checked_keywords
from .base import Model
from .orbital_positions import CONVENTIONS, OrbitalPositionModel, check_convention, with_convention
from .structure_files import (companion_centres, companion_lattice, companion_parameters, companion_structure,
                              crystal_structure, read_wout)
from .tight_binding import TightBindingModel, conjugate_partners, hermiticity_pairs
from .two_dimensional import as_two_dimensional, vacuum_axis
from .wannier90_files import (  # re-exported: the file readers are part of this module's API
    WANNIER90_BOHR_ANGSTROM,
    WannierHoppings,
    compressed_variant,
    read_wsvec,
)
from .wannier90_win import (LATTICE_RTOL, WinFile, check_lattice, check_num_wann, lattices_agree, read_centres,
                            read_win, rows_text)
from .replicas import WsvecImages, mdrs_hoppings, nearest_images, spread_over_images
from .wannier90_streaming import read_hr, read_tb, stream_wsvec  # the hopping files in pieces, else line by line
from .wannier90_writer import to_wannier90_hr

BOHR_ANGSTROM = WANNIER90_BOHR_ANGSTROM  # former name, kept importable; not CODATA-current on purpose
DEFAULT_HERMITICITY_TOL = 1e-5  # eV; Wannier90 prints hoppings with 6 decimals in _hr.dat
DEFAULT_WS_DISTANCE_TOL = 1e-3  # Å
POSITION_OPERATORS = ("centres", "full")


# ---------------------------------------------------------------------------------------------
# from_wannier90


def _plain_name(name: str) -> str:
    """A file name without its compression suffix (.gz/.xz/.bz2, read transparently)."""
    for ext in (".gz", ".xz", ".bz2"):
        if name.endswith(ext):
            return name[: -len(ext)]
    return name


def _model_name(seed: Path) -> str:
    """The seedname, or for Wannier90's default seedname "wannier90" the folder that holds the files
    (examples/Fe/wannier90_hr.dat → "Fe"): result files are named after the model (results/dc_Fe.nc), and
    every material run with the default seedname would otherwise be "wannier90"."""
    folder = seed.resolve().parent.name
    return folder if seed.name == "wannier90" and folder else seed.name


def _spin_operators(nbands: int, ordering: str | None) -> dict[str, np.ndarray]:
    """spin_x|y|z = ½σ ⊗ 1 (units of ħ) on spinor Wannier functions whose spin order the files give
    (a WannierTools wt.in: all spin-up first): exact for Wannier functions that are spin eigenstates of
    their projections, the usual approximation without a .spn file. None for other bases (spinor
    hybrids such as GaAs's sp3 functions have no orbital-independent σ)."""
    if ordering not in ("block", "interleaved"):
        return {}
    from .onsite import spin_matrix

    return {f"spin_{a}": 0.5 * spin_matrix(nbands, a, ordering) for a in "xyz"}


def hopping_file(path: str | Path) -> Path:
    """The `_tb.dat` or `_hr.dat` that `from_wannier90(path)` reads (a file, a seedname, its .win or a directory)."""
    kind, tb, hr, _ = _resolve(path)
    return tb if kind == "tb" else hr


def _resolve(path: str | Path) -> tuple[str, Path | None, Path | None, Path]:
    """(kind 'tb'|'hr', tb path, hr path, seed prefix path) from a file or a seedname; `_tb.dat`/`_hr.dat`
    may be compressed (`.gz`, `.xz`, `.bz2`)."""
    p = Path(path)
    name = _plain_name(p.name)
    if p.is_file() and name.endswith("_tb.dat"):
        return "tb", p, None, p.with_name(name[: -len("_tb.dat")])
    if p.is_file() and name.endswith("_hr.dat"):
        return "hr", None, p, p.with_name(name[: -len("_hr.dat")])
    if p.is_file() and name.endswith(".win"):
        p = p.with_name(name[:-4])
    if p.is_dir():
        wins = sorted(p.glob("*.win")) + sorted(p.glob("*_tb.dat*")) + sorted(p.glob("*_hr.dat*"))
        if not wins:
            raise QgeomInputError(f"directory {str(p)!r} holds no seedname.win, seedname_tb.dat or seedname_hr.dat.")
        n = _plain_name(wins[0].name)
        seed = n[:-4] if n.endswith(".win") else n[:-7]
        p = p / seed
    tb = compressed_variant(p.with_name(p.name + "_tb.dat"))
    hr = compressed_variant(p.with_name(p.name + "_hr.dat"))
    if tb is not None:
        return "tb", tb, None, p
    if hr is not None:
        return "hr", None, hr, p
    raise QgeomInputError(
        f"no Wannier90 model at {str(path)!r}: expected a file SEED_tb.dat or SEED_hr.dat (or the seedname "
        f"SEED / its .win next to them)."
    )


def _hermitian_hoppings(R: np.ndarray, t: np.ndarray, line_numbers, path, tol: float) -> np.ndarray:
    """Check t_{−R} = t_R† to `tol` (eV; the file's print precision) and symmetrize t in place, t_R ← ½(t_R +
    t_{−R}†) (a vector without its −R must be zero to `tol`; it is set to 0). `line_numbers`: a callable giving
    [nR, N, N] file lines for the message (`WannierHoppings.line_numbers`), or None."""
    partner = conjugate_partners(R)
    for i in np.flatnonzero(partner < 0):
        if np.abs(t[i]).max() > tol:
            raise QgeomInputError(
                f"{path}: R = {tuple(int(x) for x in R[i])} has no partner −R: the Hamiltonian is not Hermitian."
            )
        t[i] = 0.0
    for ii, jj, dev in hermiticity_pairs(t, partner):
        worst = dev.max(axis=(1, 2))
        if worst.max() > tol:
            p = int(np.argmax(worst > tol))
            _not_hermitian(R, t, ii[p], jj[p], dev[p], line_numbers, path, tol)
        sym = 0.5 * (t[ii] + t[jj].conj().swapaxes(1, 2))
        t[ii] = sym
        t[jj] = sym.conj().swapaxes(1, 2)
    return t


def _not_hermitian(R, t, i: int, j: int, dev: np.ndarray, line_numbers, path, tol: float):
    a, b = np.unravel_index(np.argmax(dev), dev.shape)  # compares t_{-R}[a, b] with conj t_R[b, a]
    where = ""
    if line_numbers is not None:
        lines = line_numbers()
        where = f" (line {int(lines[i, b, a])} vs line {int(lines[j, a, b])})"
    Rt, mRt = tuple(int(x) for x in R[i]), tuple(int(x) for x in R[j])
    raise QgeomInputError(
        f"{path}{where}: the Hamiltonian is not Hermitian: H_{b + 1},{a + 1}(R={Rt}) = {t[i, b, a]:.6g} "
        f"but conj(H_{a + 1},{b + 1}(R={mRt})) = {np.conj(t[j, a, b]):.6g} "
        f"(deviation {dev.max():.3g} eV > hermiticity_tol = {tol:g})."
    )


@checked_keywords
def from_wannier90(
    path: str | Path,
    *,
    lattice=None,
    convention: str = "auto",
    positions=None,
    win: str | Path | None = None,
    use_wsvec: bool = True,
    mdrs: bool | None = None,
    mp_grid=None,
    ws_distance_tol: float = DEFAULT_WS_DISTANCE_TOL,
    name: str | None = None,
    hermiticity_tol: float = DEFAULT_HERMITICITY_TOL,
    position_operator: str = "centres",
    dimension: int | str = "auto",
) -> Model:
    """A qgeom model from Wannier90 output (energies eV, lengths Å).

    path : `SEED_tb.dat`, `SEED_hr.dat`, `SEED.win`, the seedname `SEED`, or a directory holding them
        (`_tb.dat` is preferred over `_hr.dat`).
    lattice : [3, 3] lattice vectors (rows, Å), for files that give none (an _hr.dat alone); default from
        `_tb.dat`, else `SEED.win`, `SEED.wout`, `wt.in` or `POSCAR`. One that differs from the files' cell
        (by > 1e-4 relative) is refused; the model records `lattice_from="argument"`.
    convention : "I" (e^{ik·R}, Wannier90 default), "II" (e^{ik·(R+τ_j−τ_i)}) or "auto" (II when
        positions are known: `positions=`, `_tb.dat` centres, or `SEED_centres.xyz`).
    positions : [N, 3] Cartesian orbital positions (Å), overriding the file's centres.
    use_wsvec : apply `SEED_wsvec.dat` (MDRS) when it exists next to an `_hr.dat`.
    mdrs : recompute the minimal-distance replica selection (Wannier90 `use_ws_distance`) from the
        centres and `mp_grid` when no `_wsvec.dat` is used. None (auto): yes when centres and
        mp_grid are known (mp_grid from `.win`) and the .win does not set use_ws_distance = false.
    ws_distance_tol : tie tolerance of the replica selection (Å); 1e-3 by default because file
        centres carry only ~1e-5 Å of symmetric precision (Wannier90's own default is 1e-5).
    hermiticity_tol : largest allowed |H_ij(R) − conj H_ji(−R)| in eV before the file is rejected.
    position_operator : "centres" (default: tight-binding position operator, only the Wannier centres) or
        "full" (experimental, `_tb.dat` and convention II only): also keep the whole position matrix
        r_ij(R) − τ_i δ_ij δ_R0 (MDRS-remapped like the hoppings, as WannierBerri does), which the optical
        response of the current then uses (WannierBerri's external terms, docs/optical.md).

    dimension : "auto" (default), 3 or 2. A monolayer in a slab cell has no hopping across the vacuum;
        "auto" then returns the d = 2 model on the in-plane lattice (`two_dimensional.as_two_dimensional`),
        so responses are per area and the vacuum thickness does not enter; 3 keeps the 3D model
        (responses per cell volume, vacuum included); 2 insists on the reduction.

    name : the model's name, which result files are named after (default: the seedname; for Wannier90's
        default seedname "wannier90", the folder that holds the files, e.g. "Fe").

    Without a `.win`, the lattice comes from `SEED.wout`, a WannierTools `wt.in` or a `POSCAR` beside the
    `_hr.dat`, and the centres (convention II) from `SEED.wout` ("Final State") or the wt.in projector
    sites (`structure_files`); `model.parameters` records where they came from. The `.win` keywords
    fermi_energy, scissors_shift and num_valence_bands (or wt.in's E_FERMI), when present, are kept
    in `model.parameters` (the scissors shift is *not* applied to H: it is an optics option).
    `_hr.dat`/`_tb.dat` may be compressed (`.gz`, `.xz`, `.bz2`).
    """
    if position_operator not in POSITION_OPERATORS:
        raise QgeomInputError(f"position_operator must be one of {POSITION_OPERATORS}, got {position_operator!r}.")
    if dimension not in ("auto", 2, 3):
        raise QgeomInputError(f"dimension must be 'auto', 2 or 3, got {dimension!r}.")
    kind, data, seed, win_data = _load(path, win, position_operator == "full")
    lat, lat_source = _lattice(lattice, data, win_data, seed)
    tol = _tolerance(hermiticity_tol, "hermiticity_tol")
    ws_distance_tol = _tolerance(ws_distance_tol, "ws_distance_tol")
    R, t, used_wsvec = _hoppings(kind, data, seed, use_wsvec, tol)
    tau, tau_source = _centres(positions, data, seed)
    mp_grid = _mp_grid(mp_grid, win_data)
    if mdrs is None:
        mdrs = (not used_wsvec) and tau is not None and mp_grid is not None and not _ws_distance_off(win_data)
        if kind == "tb" and win_data is None and mp_grid is None:
            _warn_tb_without_win(data.path)
        if tau is None and win_data is not None and not used_wsvec and not _ws_distance_off(win_data):
            _warn_hr_without_centres(data.path, seed)
    if mdrs:
        if used_wsvec:
            raise QgeomInputError("mdrs=True together with a _wsvec.dat: pass use_wsvec=False to recompute the replicas.")
        if tau is None or mp_grid is None:
            raise QgeomInputError("mdrs=True needs the Wannier centres (positions) and mp_grid (from the .win or mp_grid=...).")
        images = nearest_images(R, lat, tau, mp_grid, tol=float(ws_distance_tol))  # shared with the positions
        R, t = spread_over_images(R, t, *images)
        t = _hermitian_hoppings(R, t, None, "the replica-selected hoppings", tol)
    conv = _convention(convention, tau, data)

    params: dict[str, Any] = {"source": str(data.path.name), "convention": "I", "num_wann": data.num_wann,
                              "nrpts": int(len(data.R)), "wsvec": used_wsvec, "mdrs": bool(mdrs)}
    if lat_source:
        params["lattice_from"] = lat_source
    if kind == "hr":
        params.update({k: v for k, v in companion_parameters(seed, data.path.name).items()
                       if win_data is None or k != "fermi_energy"})
    if mdrs:
        params.update(mp_grid=[int(x) for x in mp_grid], ws_distance_tol=float(ws_distance_tol))
    if tau_source and conv == "II":
        params["positions_from"] = tau_source
    params.update(_win_parameters(win_data))
    structure = (crystal_structure(win_data.atoms, lat, win_data.path.name) if win_data is not None and win_data.atoms
                 else companion_structure(seed, data.path.name))
    if structure is not None:  # the crystal's point group: a notice when the model breaks it (symmetry.detect)
        params["crystal_structure"] = structure
    if position_operator == "full":
        params["position_operator"] = "full"
    base = TightBindingModel(R, t, lattice=lat, name=name or _model_name(seed), parameters=params,
                             operators=_spin_operators(t.shape[1], params.get("spinor_ordering")),
                             energy_unit="eV", length_unit="Å", copy=False)
    if position_operator == "full":
        wp = _wannier_positions(data, tau, conv, images if mdrs else None)
        model: Model = OrbitalPositionModel(base, tau, wannier_positions=wp)
    else:
        model = OrbitalPositionModel(base, tau) if conv == "II" else base
    if dimension == 2 or (dimension == "auto" and vacuum_axis(model) is not None):
        return as_two_dimensional(model)
    return model


def _wannier_positions(data: WannierHoppings, tau, conv: str, images):
    """(R, r [nR, N, N, 3]) of position_operator="full": <0i|r|Rj>/ndegen(R) with the centres taken off the
    R = 0 diagonal (they are already in the convention-II phases), on the same MDRS replicas as the hoppings
    (`images`: the hoppings' `replicas.nearest_images`, or None without MDRS)."""
    if data.positions is None or conv != "II":
        raise QgeomInputError(
            f"position_operator='full' needs a _tb.dat (it holds the position matrix) and convention II; "
            f"got {data.path.name} with convention {conv}."
        )
    r = data.positions  # divided in place: the file's matrix is not used again
    r /= data.ndegen[:, None, None, None]
    r0 = np.flatnonzero(~data.R.any(axis=1))[0]
    r[r0, np.arange(data.num_wann), np.arange(data.num_wann)] -= tau
    if images is None:
        return data.R, r
    comps = [spread_over_images(data.R, np.ascontiguousarray(r[..., c]), *images) for c in range(3)]
    return comps[0][0], np.stack([x for _, x in comps], axis=-1)


def _load(path, win, position_matrix: bool) -> tuple[str, WannierHoppings, Path, WinFile | None]:
    """(kind, hoppings file content, seed prefix path, parsed .win or None); a _tb.dat's position matrix only
    with `position_matrix` (else its centres)."""
    kind, tb_path, hr_path, seed = _resolve(path)
    win_path = Path(win) if win is not None else seed.with_name(seed.name + ".win")
    win_data = read_win(win_path) if win_path.is_file() else None  # first: a bad .win is named before a long read
    if win is not None and win_data is None:
        raise QgeomInputError(f"win file {str(win)!r} does not exist.")
    data = read_tb(tb_path, position_matrix=position_matrix) if kind == "tb" else read_hr(hr_path)
    if win_data is not None:
        check_num_wann(win_data, data.num_wann, data.path)
    return kind, data, seed, win_data


def _lattice(lattice, data: WannierHoppings, win_data: WinFile | None, seed: Path) -> tuple[np.ndarray, str | None]:
    """(lattice vectors (rows, Å), source): `lattice=` (source "argument"), else the files' (`_files_lattice`).
    An explicit lattice that differs from the files' is refused: overriding the cell the hoppings were
    computed in is almost always a mistake, and it would go unrecorded in the result."""
    if lattice is None:
        found = _files_lattice(data, win_data, seed)
        if found is None:
            raise QgeomInputError(
                f"{data.path}: an _hr.dat holds no lattice: put SEED.win (unit_cell_cart), SEED.wout, a WannierTools "
                f"wt.in or a POSCAR next to it, or pass {both_spellings('lattice=[[...], [...], [...]]')}, rows in Å."
            )
        return found
    lat = as_finite_array(lattice, "lattice")
    if lat.shape != (3, 3):
        raise QgeomInputError(f"lattice must be [3, 3] (rows = lattice vectors in Å), got {lat.shape}.")
    found = _files_lattice(data, win_data, seed)
    if found is not None and not lattices_agree(lat, found[0]):
        where = found[1] or (data.path.name if data.lattice is not None else win_data.path.name)
        raise QgeomInputError(
            f"lattice= {rows_text(lat)} Å disagrees with the lattice {where} gives, {rows_text(found[0])} Å, by more "
            f"than {LATTICE_RTOL:g} relative. Drop lattice= to use the files' cell: the hoppings were computed in it, "
            f"so an explicit different cell is almost always a mistake (if it is intended, edit the files)."
        )
    return lat, "argument"


def _files_lattice(data: WannierHoppings, win_data: WinFile | None, seed: Path) -> tuple[np.ndarray, str | None] | None:
    """(lattice, source) the files give: the _tb.dat's, else the .win's unit_cell_cart, else SEED.wout, a
    WannierTools wt.in or a POSCAR beside the _hr.dat (`structure_files.companion_lattice`); None if none does.
    The .win's lattice must agree with the _tb.dat's, or with the SEED.wout's of an _hr.dat (`check_lattice`)."""
    if data.lattice is not None:
        if win_data is not None:
            check_lattice(win_data, data.lattice, data.path.name)
        return data.lattice, None
    if win_data is not None and win_data.lattice is not None:
        wout = seed.with_name(seed.name + ".wout")
        run = read_wout(wout).lattice if wout.is_file() else None  # the lattice the Wannierization used
        if run is not None:
            check_lattice(win_data, run, wout.name)
        return win_data.lattice, None
    return companion_lattice(seed, data.path.name)


def _warn_tb_without_win(path: Path) -> None:
    """A _tb.dat holds the plain Wigner–Seitz vectors; the replica selection (MDRS) needs mp_grid from its .win."""
    warnings.warn(
        f"{path.name} read without its .win: mp_grid is unknown, so the minimal-distance replica selection "
        f"(Wannier90's use_ws_distance, the default since Wannier90 3.0) is not applied. If the model was made "
        f"with it, the interpolated bands are wrong away from the Wannier k-grid (for the GaAs example the band "
        f"gap along L-G-X-W-K-G becomes -0.51 eV instead of +0.40 eV). Put SEED.win beside the file, or pass mp_grid=[n1, n2, n3] "
        f"(or mdrs=False to silence this warning if the model was made without use_ws_distance).",
        category=QgeomWarning, stacklevel=user_stacklevel(),
    )


def _warn_hr_without_centres(path: Path, seed: Path) -> None:
    """An _hr.dat beside its .win but without the Wannier centres (they are in SEED.wout): neither convention II
    nor the replica selection (MDRS), which needs them, can be applied."""
    warnings.warn(
        f"{path.name} read without the Wannier centres (no {seed.name}.wout with its 'Final State', "
        f"{seed.name}_centres.xyz or wt.in beside it): convention I (every orbital at its cell's origin) and no "
        f"minimal-distance replica selection (MDRS, Wannier90's use_ws_distance, the default since Wannier90 3.0) "
        f"were used. If the model was made with it, the interpolated bands are wrong away from the Wannier k-grid "
        f"(by up to 0.21 eV for the MoS2-1Tp example). Put {seed.name}.wout beside the file, or pass "
        f"positions=[[x, y, z], ...] (Å) (or mdrs=False to silence this warning if the model was made without "
        f"use_ws_distance).",
        category=QgeomWarning, stacklevel=user_stacklevel(),
    )


def _hoppings(kind: str, data: WannierHoppings, seed: Path, use_wsvec: bool, tol: float):
    """(R, t, used_wsvec): H(R)/ndegen(R), Hermiticity-checked, spread over the _wsvec.dat images if used.
    Divides and symmetrizes `data.H` in place (a large model's hoppings are not copied)."""
    t = data.H
    t /= data.ndegen[:, None, None]
    t = _hermitian_hoppings(data.R, t, data.line_numbers, data.path, tol)
    R = data.R
    wsvec_path = seed.with_name(seed.name + "_wsvec.dat")
    if kind == "hr" and use_wsvec and wsvec_path.is_file():
        images = _wsvec_images(R, t.shape[1], wsvec_path)
        if images is not None:
            R, t = images.hoppings(t)
            t = _hermitian_hoppings(R, t, None, wsvec_path, tol)
            return R, t, True
    return R, t, False


def _wsvec_images(R, N: int, path: Path) -> WsvecImages | None:
    """The images of the hoppings in a `_wsvec.dat` (in pieces; an irregular file line by line, whose errors name
    the line), or None when it holds none or says use_ws_distance = .false."""
    images = WsvecImages(R, N, path)
    if not stream_wsvec(path, images):
        images = WsvecImages(R, N, path)
        table = read_wsvec(path)
        if table:
            T = np.concatenate([np.asarray(v, np.int64).reshape(-1, 3) for v in table.values()])
            images.add(np.array(list(table), np.int64), np.array([len(v) for v in table.values()]), T)
    with open(path, "rb") as fh:
        off = b"use_ws_distance=.false." in fh.readline().replace(b" ", b"").lower()
    return None if off or images.entries == 0 else images


def _centres(positions, data: WannierHoppings, seed: Path) -> tuple[np.ndarray | None, str | None]:
    """(Wannier centres τ [N, 3] in Å or None, where they came from): `positions=`, the _tb.dat
    position matrix, SEED_centres.xyz, SEED.wout ("Final State") or the projector sites of a wt.in."""
    tau = tau_source = None
    if positions is not None:
        tau, tau_source = as_finite_array(positions, "positions"), "user"
    elif data.positions is not None or data.centre_diagonal is not None:
        tau, tau_source = data.centres(), "tb.dat position matrix (diagonal, R = 0)"
    else:
        xyz = seed.with_name(seed.name + "_centres.xyz")
        if xyz.is_file():
            tau, tau_source = read_centres(xyz, data.num_wann), str(xyz.name)
        else:
            tau, tau_source = companion_centres(seed, data.num_wann, data.path.name) or (None, None)
    if tau is not None and tau.shape != (data.num_wann, 3):
        raise QgeomInputError(f"positions must have shape ({data.num_wann}, 3), got {tau.shape}.")
    return tau, tau_source


def _tolerance(value, name: str) -> float:
    """A positive finite tolerance (a NaN one would accept every file: nan > x is False)."""
    try:
        tol = float(value)
    except (TypeError, ValueError):
        tol = float("nan")
    if not (np.isfinite(tol) and tol > 0):
        raise QgeomInputError(f"{name} must be a positive finite number (eV), got {value!r}.")
    return tol


def _mp_grid(mp_grid, win_data: WinFile | None):
    """`mp_grid=` or the .win's mp_grid (three integers), else None."""
    source = "mp_grid="
    if mp_grid is None and win_data is not None and "mp_grid" in win_data.keywords:
        source = f"{win_data.path}: mp_grid"
        try:
            mp_grid = [int(x) for x in win_data.keywords["mp_grid"].replace(",", " ").split()]
        except ValueError:
            raise QgeomInputError(f"{win_data.path}: mp_grid = {win_data.keywords['mp_grid']!r} is not three integers.") from None
    if mp_grid is not None:
        try:
            values = [int(x) for x in mp_grid]
        except (TypeError, ValueError):
            values = []
        if len(values) != 3 or min(values) < 1 or any(int(x) != x for x in mp_grid):
            raise QgeomInputError(f"{source} = {list(mp_grid)!r}: need three positive integers (the k-grid of the "
                                  "Wannierization, e.g. 8 8 8); zeros would select the wrong hopping replicas.")
        return values
    return mp_grid


def _ws_distance_off(win_data: WinFile | None) -> bool:
    """True when the .win sets use_ws_distance = false (no replica selection)."""
    return win_data is not None and win_data.keywords.get("use_ws_distance", "true").strip(".").lower() in ("false", "f")


def _convention(convention: str, tau, data: WannierHoppings) -> str:
    """"I" or "II" ("auto": II when the orbital positions are known)."""
    conv = ("II" if tau is not None else "I") if str(convention).lower() == "auto" else check_convention(convention)
    if conv == "II" and tau is None:
        raise QgeomInputError(
            f"convention II needs orbital positions: {data.path.name} has none; pass positions=... (Å), use a "
            f"_tb.dat, or put SEED_centres.xyz next to it."
        )
    return conv


def _win_parameters(win_data: WinFile | None) -> dict[str, Any]:
    """The .win keywords kept in model.parameters: fermi_energy, scissors_shift, num_valence_bands."""
    params: dict[str, Any] = {}
    if win_data is not None:
        for key in ("fermi_energy", "scissors_shift", "num_valence_bands"):
            val = win_data.number(key)
            if val is not None:
                params[key] = int(val) if key == "num_valence_bands" else val
    return params


__all__ = [
    "BOHR_ANGSTROM", "CONVENTIONS", "DEFAULT_HERMITICITY_TOL", "DEFAULT_WS_DISTANCE_TOL", "WANNIER90_BOHR_ANGSTROM",
    "OrbitalPositionModel", "WannierHoppings", "WinFile", "from_wannier90", "hopping_file", "mdrs_hoppings", "read_centres", "read_hr",
    "read_tb", "read_win", "read_wsvec", "to_wannier90_hr", "with_convention",
]
