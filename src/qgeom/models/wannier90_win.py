"""Readers of the Wannier90 structure files: `seedname.win` (lattice, atoms, keywords) and `_centres.xyz`.

Errors name the file and line (the line reader `wannier90_files._Lines`); lengths in Å (a `bohr`
block converted with Wannier90's own factor, `WANNIER90_BOHR_ANGSTROM`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .._validation import QgeomInputError
from .wannier90_files import WANNIER90_BOHR_ANGSTROM, _Lines, _to_floats


@dataclass
class WinFile:
    """What qgeom uses from `seedname.win`: the lattice (Å, rows), atoms, and scalar keywords
    (lower-case names; values as strings), e.g. `fermi_energy`, `scissors_shift`, `num_valence_bands`."""

    path: Path
    lattice: np.ndarray | None
    keywords: dict[str, str]
    atoms: list[tuple[str, np.ndarray]] = field(default_factory=list)

    def number(self, key: str) -> float | None:
        if key not in self.keywords:
            return None
        raw = self.keywords[key].split()[0].replace("d", "e").replace("D", "E")
        try:
            return float(raw)
        except ValueError:
            raise QgeomInputError(f"{self.path}: keyword {key} = {self.keywords[key]!r} is not a number.") from None


def read_win(path: str | Path) -> WinFile:
    """Parse the lattice (`unit_cell_cart`, bohr or Å), atoms and `key = value` keywords of a .win file."""
    src = _Lines(path)
    keywords: dict[str, str] = {}
    blocks: dict[str, list[tuple[int, str]]] = {}
    current = None
    for lineno, raw in enumerate(src.lines, start=1):
        text = re.split(r"[!#]", raw, maxsplit=1)[0].strip()
        if not text:
            continue
        low = text.lower()
        m = re.match(r"begin\s+(\w+)", low)
        if m:
            current = m.group(1)
            blocks[current] = []
            continue
        if re.match(r"end\s+(\w+)", low):
            current = None
            continue
        if current is not None:
            blocks[current].append((lineno, text))
            continue
        kv = re.split(r"\s*[=:]\s*|\s+", text, maxsplit=1)
        if len(kv) == 2:
            keywords[kv[0].lower()] = kv[1].strip()
    lattice = None
    if "unit_cell_cart" in blocks:
        rows = blocks["unit_cell_cart"]
        scale = 1.0
        if rows and rows[0][1].lower() in ("bohr", "ang", "angstrom"):
            scale = WANNIER90_BOHR_ANGSTROM if rows[0][1].lower() == "bohr" else 1.0
            rows = rows[1:]
        if len(rows) != 3:
            raise src.error(rows[0][0] if rows else None, "unit_cell_cart must hold three lattice vectors.")
        vecs = []
        for lineno, text in rows:
            vals = _to_floats(text.split()[:3])
            if vals is None or len(text.split()) < 3:
                raise src.error(lineno, f"expected three numbers in unit_cell_cart, found {text!r}.")
            vecs.append(vals)
        lattice = np.array(vecs) * scale
    atoms = []
    frac = "atoms_frac" in blocks
    for lineno, text in blocks.get("atoms_frac", blocks.get("atoms_cart", [])):
        parts = text.split()
        if parts[0].lower() in ("bohr", "ang", "angstrom"):
            continue
        vals = _to_floats(parts[1:4])
        if vals is None or len(parts) < 4:
            raise src.error(lineno, f"expected 'Symbol x y z', found {text!r}.")
        xyz = np.array(vals)
        atoms.append((parts[0], xyz @ lattice if (frac and lattice is not None) else xyz))
    return WinFile(src.path, lattice, keywords, atoms)


def read_centres(path: str | Path, num_wann: int | None = None) -> np.ndarray:
    """Wannier centres (Å) from `seedname_centres.xyz` (lines `X x y z`, before the atoms)."""
    src = _Lines(path)
    src.next("the atom count")
    src.next("the comment line", skip_blank=False)
    out = []
    while src.pos < len(src.lines):
        lineno, text = src.next("a centre")
        parts = text.split()
        if parts[0] != "X":
            break
        vals = _to_floats(parts[1:4])
        if vals is None or len(parts) < 4:
            raise src.error(lineno, f"expected 'X x y z', found {text.strip()!r}.")
        out.append(vals)
        if not src.rest_nonblank():
            break
    arr = np.array(out, float).reshape(-1, 3)
    if num_wann is not None and len(arr) != num_wann:
        raise src.error(None, f"found {len(arr)} Wannier centres, the Hamiltonian has num_wann = {num_wann}.")
    return arr


__all__ = ["WinFile", "read_centres", "read_win"]
