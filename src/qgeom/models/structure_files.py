"""Lattice and Wannier centres from the files that accompany a Wannier90 `_hr.dat` when there is no
`.win`/`_centres.xyz`: `SEED.wout` (centres from "Final State", lattice), a WannierTools `wt.in`
(lattice, atoms, projectors, Fermi energy) and a VASP `POSCAR` (lattice, atoms).

Every reader reports malformed input with the file name and line number. Lengths in Å.
"""

from __future__ import annotations

import re
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .._validation import QgeomInputError, QgeomWarning, user_stacklevel
from .wannier90_files import WANNIER90_BOHR_ANGSTROM, _Lines, _to_floats, checked_lattice

_NUMBER = r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eEdD][-+]?\d+)?"
_CENTRE = re.compile(
    rf"WF centre and spread\s+(\d+)\s+\(\s*({_NUMBER})\s*,\s*({_NUMBER})\s*,\s*({_NUMBER})\s*\)\s+({_NUMBER})"
)


def _vector(src: _Lines, lineno: int, text: str, what: str, scale: float = 1.0) -> np.ndarray:
    vals = _to_floats(text.split()[:3])
    if vals is None or len(text.split()) < 3:
        raise src.error(lineno, f"expected three numbers ({what}), found {text.strip()!r}.")
    return np.array(vals) * scale


# ---------------------------------------------------------------------------------------------
# SEED.wout


@dataclass
class WoutFile:
    """What qgeom uses from `SEED.wout`: the lattice (Å, rows; None if absent) and the Wannier centres
    (Å) and spreads (Å²) of the last "Final State" block."""

    path: Path
    lattice: np.ndarray | None
    centres: np.ndarray | None  # None: no "Final State" (the run did not finish)
    spreads: np.ndarray | None


def read_wout(path: str | Path, num_wann: int | None = None) -> WoutFile:
    """Parse `SEED.wout`: the lattice (`a_1 … a_3` under "Lattice Vectors (Ang)") and the centres of the
    last "Final State" block (a file appended to by a restart holds several; the last one wins)."""
    src = _Lines(path)
    lines = src.lines
    lattice = None
    for i, text in enumerate(lines):
        if "Lattice Vectors" in text:
            unit = WANNIER90_BOHR_ANGSTROM if "Bohr" in text else 1.0
            rows = []
            for j in range(i + 1, min(i + 4, len(lines))):
                parts = lines[j].split()
                if len(parts) < 4 or not re.fullmatch(r"a_[123]", parts[0]):
                    raise src.error(j + 1, f"expected 'a_{len(rows) + 1} x y z' below 'Lattice Vectors', found {lines[j].strip()!r}.")
                rows.append(_vector(src, j + 1, " ".join(parts[1:4]), f"lattice vector {parts[0]}", unit))
            lattice = checked_lattice(src, i + 1, np.array(rows))
            break
    finals = [i for i, text in enumerate(lines) if text.strip() == "Final State"]
    if not finals:
        return WoutFile(src.path, lattice, None, None)
    centres, spreads = [], []
    for j in range(finals[-1] + 1, len(lines)):
        text = lines[j]
        if "WF centre and spread" not in text:
            break
        m = _CENTRE.search(text)
        if m is None:
            raise src.error(j + 1, f"malformed 'WF centre and spread' line: {text.strip()!r} (expected "
                                   f"'WF centre and spread  i  ( x, y, z )  spread').")
        if int(m.group(1)) != len(centres) + 1:
            raise src.error(j + 1, f"Wannier function {m.group(1)} where {len(centres) + 1} was expected.")
        centres.append([float(m.group(k).replace("D", "E").replace("d", "e")) for k in (2, 3, 4)])
        spreads.append(float(m.group(5).replace("D", "E").replace("d", "e")))
    if not centres:
        raise src.error(finals[-1] + 2, "the 'Final State' block lists no 'WF centre and spread' lines.")
    if num_wann is not None and len(centres) != num_wann:
        raise src.error(finals[-1] + 1, f"'Final State' lists {len(centres)} Wannier centres, the Hamiltonian has "
                                        f"num_wann = {num_wann}: the .wout belongs to another run.")
    return WoutFile(src.path, lattice, np.array(centres), np.array(spreads))


# ---------------------------------------------------------------------------------------------
# WannierTools wt.in


@dataclass
class WannierToolsInput:
    """What qgeom uses from a WannierTools `wt.in`: `Hrfile`, the lattice (Å, rows), atoms (symbol,
    Cartesian Å), projectors per atom, and the &SYSTEM keywords (lower-case; `e_fermi`, `soc`, ...)."""

    path: Path
    lattice: np.ndarray
    hr_file: str | None
    keywords: dict[str, str]
    atoms: list[tuple[str, np.ndarray]] = field(default_factory=list)
    projectors: list[list[str]] = field(default_factory=list)

    @property
    def soc(self) -> bool:
        return self.keywords.get("soc", "0").strip().lower() in ("1", "t", ".true.", "true")

    @property
    def fermi_energy(self) -> float | None:
        raw = self.keywords.get("e_fermi")
        if raw is None:
            return None
        vals = _to_floats([raw.split()[0]])
        if vals is None:
            raise QgeomInputError(f"{self.path}: E_FERMI = {raw!r} is not a number.")
        return vals[0]

    def orbital_positions(self) -> np.ndarray | None:
        """[N, 3] projector sites (Å) in WannierTools' orbital order: atom by atom, projector by projector,
        and with SOC = 1 the whole list twice (all spin-up orbitals first, then all spin-down)."""
        if not self.projectors:
            return None
        sites = [pos for (_, pos), orbs in zip(self.atoms, self.projectors) for _ in orbs]
        out = np.array(sites, float).reshape(-1, 3)
        return np.concatenate([out, out]) if self.soc else out


def _namelist_keywords(src: _Lines) -> dict[str, str]:
    """key = value pairs inside the &NAME … / namelists (several per line, comma separated)."""
    out: dict[str, str] = {}
    inside = False
    for text in src.lines:
        text = text.split("!", 1)[0].strip()
        if text.startswith("&"):
            inside, text = True, text[1:].partition(" ")[2]
        if not inside:
            continue
        if text.startswith("/"):
            inside = False
            continue
        for piece in text.split(","):
            key, eq, value = piece.partition("=")
            if eq and key.strip():
                out[key.strip().lower()] = value.strip().strip("'\"")
    return out


def _card(src: _Lines, name: str) -> int | None:
    """Index of the line after the card title `name` (outside namelists), or None."""
    for i, text in enumerate(src.lines):
        if text.split("!", 1)[0].strip().upper() == name:
            return i + 1
    return None


def _card_line(src: _Lines, i: int, what: str) -> tuple[int, str]:
    while i < len(src.lines) and not src.lines[i].split("!", 1)[0].strip():
        i += 1
    if i >= len(src.lines):
        raise src.error(len(src.lines), f"file ends while reading {what}.")
    return i + 1, src.lines[i].split("!", 1)[0].strip()


def read_wt_in(path: str | Path) -> WannierToolsInput:
    """Parse a WannierTools `wt.in`: &TB_FILE Hrfile, &SYSTEM keywords, the LATTICE card (Angstrom or
    Bohr), ATOM_POSITIONS (Direct or Cartesian) and PROJECTORS."""
    src = _Lines(path)
    keys = _namelist_keywords(src)
    start = _card(src, "LATTICE")
    if start is None:
        raise src.error(None, "no LATTICE card: WannierTools needs one (unit line 'Angstrom' or 'Bohr', then three vectors).")
    lineno, unit = _card_line(src, start, "the LATTICE unit")
    if unit.lower().startswith(("ang", "bohr")):
        scale = WANNIER90_BOHR_ANGSTROM if unit.lower().startswith("bohr") else 1.0
        nxt = lineno
    else:
        raise src.error(lineno, f"LATTICE: expected the unit 'Angstrom' or 'Bohr', found {unit!r}.")
    rows = []
    for a in range(3):
        lineno, text = _card_line(src, nxt, f"lattice vector a{a + 1}")
        rows.append(_vector(src, lineno, text, f"lattice vector a{a + 1}", scale))
        nxt = lineno
    lattice = checked_lattice(src, lineno, np.array(rows))
    atoms = _wt_atoms(src, lattice, scale)
    return WannierToolsInput(src.path, lattice, keys.get("hrfile"), keys, atoms, _wt_projectors(src, len(atoms)))


def _wt_atoms(src: _Lines, lattice: np.ndarray, scale: float) -> list[tuple[str, np.ndarray]]:
    start = _card(src, "ATOM_POSITIONS")
    if start is None:
        return []
    lineno, text = _card_line(src, start, "the number of atoms")
    try:
        natoms = int(text.split()[0])
    except (ValueError, IndexError):
        raise src.error(lineno, f"ATOM_POSITIONS: expected the number of atoms, found {text!r}.") from None
    lineno, kind = _card_line(src, lineno, "'Direct' or 'Cartesian'")
    direct = kind.lower().startswith("d")
    if not (direct or kind.lower().startswith("c")):
        raise src.error(lineno, f"ATOM_POSITIONS: expected 'Direct' or 'Cartesian', found {kind!r}.")
    atoms = []
    for _ in range(natoms):
        lineno, text = _card_line(src, lineno, f"atom {len(atoms) + 1} of {natoms}")
        parts = text.split()
        xyz = _vector(src, lineno, " ".join(parts[1:4]), f"'Symbol x y z' of atom {len(atoms) + 1}")
        atoms.append((parts[0], xyz @ lattice if direct else xyz * scale))
    return atoms


def _wt_projectors(src: _Lines, natoms: int) -> list[list[str]]:
    start = _card(src, "PROJECTORS")
    if start is None:
        return []
    lineno, text = _card_line(src, start, "the projector counts")
    try:
        counts = [int(x) for x in text.split()[:natoms]]
    except ValueError:
        raise src.error(lineno, f"PROJECTORS: expected {natoms} integer counts (one per atom), found {text!r}.") from None
    if len(counts) != natoms:
        raise src.error(lineno, f"PROJECTORS: expected {natoms} counts (one per atom), found {text!r}.")
    out = []
    for a, n in enumerate(counts):
        lineno, text = _card_line(src, lineno, f"the projectors of atom {a + 1}")
        names = text.split()[1:]
        if len(names) != n:
            raise src.error(lineno, f"PROJECTORS: atom {a + 1} should list {n} projectors, found {len(names)}: {text!r}.")
        out.append(names)
    return out


# ---------------------------------------------------------------------------------------------
# POSCAR


@dataclass
class PoscarFile:
    """A VASP POSCAR/CONTCAR: lattice (Å, rows, scale applied) and atoms (symbol, Cartesian Å)."""

    path: Path
    lattice: np.ndarray
    atoms: list[tuple[str, np.ndarray]]


def read_poscar(path: str | Path) -> PoscarFile:
    """Parse a POSCAR (VASP 5 format with a species line, or VASP 4 without: symbols then 'X')."""
    src = _Lines(path)
    src.next("the comment line", skip_blank=False)
    lineno, (scale,) = src.floats("the scale factor", 1)
    rows = [_vector(src, *src.next(f"lattice vector a{a + 1}"), f"lattice vector a{a + 1}") for a in range(3)]
    lattice = np.array(rows)
    if scale < 0:  # VASP: a negative scale is the cell volume
        scale = (-scale / abs(np.linalg.det(lattice))) ** (1 / 3)
    elif scale == 0:
        raise src.error(lineno, "the scale factor must not be zero.")
    lattice = checked_lattice(src, lineno + 3, lattice * scale)
    lineno, text = src.next("the species or counts line")
    species = None
    if not text.split()[0].lstrip("+-").isdigit():
        species = text.split()
        lineno, text = src.next("the atom counts")
    try:
        counts = [int(x) for x in text.split()]
    except ValueError:
        raise src.error(lineno, f"expected integer atom counts, found {text.strip()!r}.") from None
    if species is not None and len(species) != len(counts):
        raise src.error(lineno, f"{len(species)} species but {len(counts)} counts.")
    lineno, kind = src.next("'Direct' or 'Cartesian'")
    if kind.strip()[:1].lower() == "s":  # Selective dynamics
        lineno, kind = src.next("'Direct' or 'Cartesian'")
    if kind.strip()[:1].lower() not in "dck":
        raise src.error(lineno, f"expected 'Direct' or 'Cartesian', found {kind.strip()!r}.")
    direct = kind.strip()[:1].lower() == "d"
    symbols = [s for s, n in zip(species or [f"X{i + 1}" for i in range(len(counts))], counts) for _ in range(n)]
    atoms = []
    for sym in symbols:
        ln, text = src.next(f"atom {len(atoms) + 1} of {len(symbols)}")
        xyz = _vector(src, ln, text, f"position of atom {len(atoms) + 1}")
        atoms.append((sym, xyz @ lattice if direct else xyz * scale))
    return PoscarFile(src.path, lattice, atoms)




# ---------------------------------------------------------------------------------------------
# companions of SEED_hr.dat: what `from_wannier90` falls back on


def _wt_in_beside(seed: Path, hr_name: str | None) -> WannierToolsInput | None:
    path = seed.parent / "wt.in"
    if not path.is_file():
        return None
    wt = read_wt_in(path)
    plain = hr_name and re.sub(r"\.(gz|xz|bz2)$", "", hr_name)
    if plain and wt.hr_file and Path(wt.hr_file).name != plain:
        warnings.warn(f"{path} names Hrfile = {wt.hr_file!r}, not {hr_name!r}: using its lattice anyway; pass "
                      f"lattice= (and positions=) if it describes another model.", category=QgeomWarning, stacklevel=user_stacklevel())
    return wt


def companion_lattice(seed: Path, hr_name: str | None = None) -> tuple[np.ndarray, str] | None:
    """(lattice, source) from the files beside SEED_hr.dat, in this order: `SEED.wout` (the Wannier90 run
    itself), a WannierTools `wt.in`, a `POSCAR`; None if none of them exists."""
    wout = seed.with_name(seed.name + ".wout")
    if wout.is_file():
        lat = read_wout(wout).lattice
        if lat is not None:
            return lat, wout.name
    wt = _wt_in_beside(seed, hr_name)
    if wt is not None:
        return wt.lattice, "wt.in"
    poscar = seed.parent / "POSCAR"
    if poscar.is_file():
        return read_poscar(poscar).lattice, "POSCAR"
    return None


def companion_centres(seed: Path, num_wann: int, hr_name: str | None = None) -> tuple[np.ndarray, str] | None:
    """(centres [N, 3] Å, source) from `SEED.wout` ("Final State"), else the projector sites of a WannierTools
    `wt.in` (atom-centred orbitals, its spin order); None if neither gives them."""
    wout = seed.with_name(seed.name + ".wout")
    if wout.is_file():
        out = read_wout(wout, num_wann)
        if out.centres is not None:
            return out.centres, f"{wout.name} (Final State)"
        warnings.warn(f"{wout} has no 'Final State' block (the Wannier90 run did not finish): its centres are not "
                      f"used.", category=QgeomWarning, stacklevel=user_stacklevel())
    wt = _wt_in_beside(seed, hr_name)
    if wt is not None:
        tau = wt.orbital_positions()
        if tau is not None:
            if len(tau) != num_wann:
                raise QgeomInputError(
                    f"{wt.path}: its PROJECTORS give {len(tau)} orbitals (SOC = {int(wt.soc)}), the Hamiltonian has "
                    f"num_wann = {num_wann}; fix wt.in or pass positions=... (Å)."
                )
            return tau, "wt.in (projector sites, atom-centred)"
    return None


def crystal_structure(atoms, lattice, source: str) -> dict | None:
    """The crystal as read (for the crystal-group notice, `symmetry.detect.crystal_group`): lattice
    rows and atoms (symbol, Cartesian Å), JSON-ready; None without atoms or lattice."""
    if not atoms or lattice is None:
        return None
    return {"from": source, "lattice": np.asarray(lattice, float).tolist(),
            "atoms": [[str(sym), *np.asarray(pos, float).tolist()] for sym, pos in atoms]}


def companion_structure(seed: Path, hr_name: str | None = None) -> dict | None:
    """`crystal_structure` from a WannierTools `wt.in`, else a `POSCAR`, beside SEED_hr.dat."""
    wt = _wt_in_beside(seed, hr_name)
    if wt is not None and wt.atoms:
        return crystal_structure(wt.atoms, wt.lattice, "wt.in")
    poscar = seed.parent / "POSCAR"
    if poscar.is_file():
        pos = read_poscar(poscar)
        return crystal_structure(pos.atoms, pos.lattice, "POSCAR")
    return None


def companion_parameters(seed: Path, hr_name: str | None = None) -> dict:
    """Metadata a WannierTools `wt.in` adds: fermi_energy (E_FERMI) and spinor_ordering ('block' for
    SOC = 1: all spin-up orbitals first)."""
    wt = _wt_in_beside(seed, hr_name)
    if wt is None:
        return {}
    out: dict = {}
    if wt.fermi_energy is not None:
        out["fermi_energy"] = wt.fermi_energy
    if wt.soc:
        out["spinor_ordering"] = "block"
    return out


__all__ = [
    "PoscarFile", "WannierToolsInput", "WoutFile", "companion_centres", "companion_lattice", "companion_parameters",
    "companion_structure", "crystal_structure",
    "read_poscar", "read_wout", "read_wt_in",
]
