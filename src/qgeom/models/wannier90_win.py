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
from .wannier90_files import WANNIER90_BOHR_ANGSTROM, _Lines, _to_floats, checked_lattice


UNITS = {"bohr": WANNIER90_BOHR_ANGSTROM, "ang": 1.0, "angstrom": 1.0}  # a block's units line → Å
# Lattices of two files of one run agree to their printed digits (.wout: 6 decimals in Å; _tb.dat: 16 digits;
# a bohr .win converted with WANNIER90_BOHR_ANGSTROM reproduces the _tb.dat to 1e-16), relative to the longest vector
LATTICE_RTOL = 1e-4


@dataclass
class WinFile:
    """What qgeom uses from `seedname.win`: the lattice (Å, rows), atoms, and scalar keywords
    (lower-case names; values as strings), e.g. `fermi_energy`, `scissors_shift`, `num_valence_bands`;
    `lines`: the line of each keyword and of each block's `begin`, for messages."""

    path: Path
    lattice: np.ndarray | None
    keywords: dict[str, str]
    atoms: list[tuple[str, np.ndarray]] = field(default_factory=list)
    lines: dict[str, int] = field(default_factory=dict)

    def where(self, key: str) -> str:
        """'path, line N' of a keyword or block (the path alone when unknown)."""
        return f"{self.path}, line {self.lines[key]}" if key in self.lines else str(self.path)

    def number(self, key: str) -> float | None:
        if key not in self.keywords:
            return None
        raw = self.keywords[key].split()[0].replace("d", "e").replace("D", "E")
        try:
            return float(raw)
        except ValueError:
            raise QgeomInputError(f"{self.where(key)}: keyword {key} = {self.keywords[key]!r} is not a number.") \
                from None


def read_win(path: str | Path) -> WinFile:
    """Parse the lattice (`unit_cell_cart`, bohr or Å), atoms (`atoms_frac` or `atoms_cart`, bohr or Å) and
    `key = value` keywords of a .win file; a block without its `end`, a stray `end`, a repeated block or a
    singular lattice is refused at its line."""
    src = _Lines(path)
    keywords, blocks, lines = _sections(src)
    lattice = _cell(src, blocks["unit_cell_cart"], lines["unit_cell_cart"]) if "unit_cell_cart" in blocks else None
    return WinFile(src.path, lattice, keywords, _atoms(src, blocks, lines, lattice), lines)


def _sections(src: _Lines) -> tuple[dict[str, str], dict[str, list[tuple[int, str]]], dict[str, int]]:
    """(keywords, blocks {name: [(line, text)]}, line of each keyword and block). Every `begin X` must be closed
    by `end X` before the next block and the file's end: a missing `end` would swallow the keywords after it."""
    keywords: dict[str, str] = {}
    blocks: dict[str, list[tuple[int, str]]] = {}
    lines: dict[str, int] = {}
    current = None  # the open block's name
    for lineno, raw in enumerate(src.lines, start=1):
        text = re.split(r"[!#]", raw, maxsplit=1)[0].strip()
        if not text:
            continue
        mark = re.match(r"(begin|end)\b\s*(\S*)", text.lower())
        if mark and mark.group(1) == "begin":
            name = mark.group(2)
            if current is not None:
                raise src.error(lines[current], f"'begin {current}' has no 'end {current}' before line {lineno} "
                                                f"({text!r}): add 'end {current}' after the block's last line.")
            if not name or name in blocks:
                raise src.error(lineno, f"block {name} appears twice (lines {lines[name]} and {lineno}): keep one."
                                if name else "'begin' names no block (e.g. 'begin unit_cell_cart').")
            current, blocks[name], lines[name] = name, [], lineno
        elif mark:
            if current is None or mark.group(2) != current:
                opened = f"the open block is 'begin {current}' (line {lines[current]})" if current else "none is open"
                raise src.error(lineno, f"{text!r} closes no block: {opened}; a block is 'begin NAME' ... 'end NAME'.")
            current = None
        elif current is not None:
            blocks[current].append((lineno, text))
        else:
            kv = re.split(r"\s*[=:]\s*|\s+", text, maxsplit=1)
            if len(kv) == 2:
                keywords[kv[0].lower()], lines[kv[0].lower()] = kv[1].strip(), lineno
    if current is not None:
        raise src.error(lines[current], f"'begin {current}' has no 'end {current}': the file ends (line "
                                        f"{len(src.lines)}) inside the block; add 'end {current}' after its last line.")
    return keywords, blocks, lines


def _units(rows: list[tuple[int, str]]) -> tuple[float, list[tuple[int, str]]]:
    """(Å per unit, the rows after it) of a block that may start with a units line (`bohr`, `ang`; default Å)."""
    if rows and rows[0][1].lower() in UNITS:
        return UNITS[rows[0][1].lower()], rows[1:]
    return 1.0, rows


def _cell(src: _Lines, rows: list[tuple[int, str]], begin: int) -> np.ndarray:
    scale, rows = _units(rows)
    if len(rows) != 3:
        raise src.error(rows[0][0] if rows else begin, "unit_cell_cart must hold three lattice vectors.")
    vecs = []
    for lineno, text in rows:
        vals = _to_floats(text.split()[:3])
        if vals is None or len(text.split()) < 3:
            raise src.error(lineno, f"expected three numbers in unit_cell_cart, found {text!r}.")
        vecs.append(vals)
    return checked_lattice(src, begin, np.array(vecs) * scale)


def _atoms(src: _Lines, blocks, lines: dict[str, int], lattice: np.ndarray | None) -> list[tuple[str, np.ndarray]]:
    """(symbol, Cartesian Å) of `atoms_frac` (in the lattice) or `atoms_cart` (its units line: bohr or Å)."""
    if "atoms_frac" in blocks and "atoms_cart" in blocks:
        raise src.error(lines["atoms_cart"], f"both atoms_frac (line {lines['atoms_frac']}) and atoms_cart are given: "
                                             "keep one (Wannier90 refuses both too).")
    frac = "atoms_frac" in blocks
    if frac and lattice is None:
        raise src.error(lines["atoms_frac"], "atoms_frac needs the lattice: add the unit_cell_cart block, or give the "
                                             "atoms in Cartesian coordinates (atoms_cart).")
    scale, rows = _units(blocks.get("atoms_frac", blocks.get("atoms_cart", [])))
    atoms = []
    for lineno, text in rows:
        parts = text.split()
        vals = _to_floats(parts[1:4])
        if vals is None or len(parts) < 4:
            raise src.error(lineno, f"expected 'Symbol x y z', found {text!r}.")
        xyz = np.array(vals)
        atoms.append((parts[0], xyz @ lattice if frac else xyz * scale))
    return atoms


def check_num_wann(win: WinFile, num_wann: int, other: Path) -> None:
    """A .win whose num_wann differs from the hopping file's belongs to another Wannierization: its atoms, lattice
    and mp_grid would be applied to the wrong model."""
    value = win.number("num_wann")
    if value is not None and value != num_wann:
        raise QgeomInputError(
            f"{win.where('num_wann')}: num_wann = {win.keywords['num_wann']}, but {other.name} holds {num_wann} "
            f"Wannier functions: this .win is not the one of the Wannierization that wrote {other.name}. Put that "
            f"run's .win beside it (or pass win=PATH to it)."
        )


def lattices_agree(a: np.ndarray, b: np.ndarray) -> bool:
    """Two cells (rows, Å) are the same to LATTICE_RTOL relative to b's largest component."""
    return bool(np.abs(np.asarray(a) - np.asarray(b)).max() <= LATTICE_RTOL * float(np.abs(b).max()))


def check_lattice(win: WinFile, lattice: np.ndarray, other: str) -> None:
    """The .win's unit_cell_cart must be the lattice of `other` (the _tb.dat or .wout of the same run) to
    LATTICE_RTOL: else the .win's atoms (the crystal's point group) would sit in the wrong cell."""
    if win.lattice is None or lattices_agree(win.lattice, lattice):
        return
    scale = float(np.abs(lattice).max())
    ratio = float(np.sum(win.lattice * lattice) / np.sum(lattice * lattice))  # least-squares factor
    if np.abs(win.lattice - ratio * lattice).max() > LATTICE_RTOL * scale * abs(ratio):
        cause = "a different cell: the .win belongs to another structure or run (or a vector was mistyped)"
    elif abs(ratio * WANNIER90_BOHR_ANGSTROM - 1) < 1e-3:
        cause = ("1.89 times larger, as if its numbers were in bohr: the units line of unit_cell_cart says 'ang' "
                 "(or is missing, which means Å) where it should say 'bohr'")
    elif abs(ratio / WANNIER90_BOHR_ANGSTROM - 1) < 1e-3:
        cause = ("0.529 times smaller, as if its numbers were in Å: the units line of unit_cell_cart says 'bohr' "
                 "where it should say 'ang'")
    else:
        cause = f"{ratio:.6g} times {other}'s: a scaled cell (wrong lattice constant or units line)"
    raise QgeomInputError(
        f"{win.where('unit_cell_cart')}: the lattice of unit_cell_cart, {rows_text(win.lattice)} Å, disagrees with "
        f"{other}'s, {rows_text(lattice)} Å, by more than {LATTICE_RTOL:g} relative: it is {cause}. Fix unit_cell_cart "
        f"to the lattice of the Wannierization ({other}'s): the .win's atoms give the crystal's point group."
    )


def rows_text(a: np.ndarray) -> str:
    return "[" + "; ".join(" ".join(f"{x:.6f}" for x in row) for row in a) + "]"


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


__all__ = ["LATTICE_RTOL", "WinFile", "check_lattice", "check_num_wann", "read_centres", "read_win"]
