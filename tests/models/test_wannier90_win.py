"""The .win against the files it accompanies: its lattice must be the _tb.dat's (or the .wout's of an _hr.dat),
its num_wann the hopping file's; malformed blocks and singular lattices are refused at their line. Corrupted
copies of the shipped GaAs and 1T'-MoS2 files in a temporary directory."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

from qgeom._validation import QgeomInputError
from qgeom.models import from_wannier90, read_tb, read_win
from qgeom.models.structure_files import read_wt_in

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
GAAS, MOS2, FE = EXAMPLES / "GaAs", EXAMPLES / "MoS2-1Tp", EXAMPLES / "Fe"
CELL_BOHR = "bohr\n-5.342256    0           5.342256\n0            5.342256    5.342256\n-5.342256    5.342256    0\n"


def _gaas(tmp_path: Path, old: str = "", new: str = "") -> Path:
    """A copy of the GaAs files whose .win has `old` replaced by `new`; returns the _tb.dat."""
    for f in ("GaAs.win", "GaAs_tb.dat"):
        shutil.copy(GAAS / f, tmp_path / f)
    win = tmp_path / "GaAs.win"
    text = win.read_text()
    assert old in text
    win.write_text(text.replace(old, new))
    return tmp_path / "GaAs_tb.dat"


def test_gaas_win_in_bohr_agrees_with_its_tb_and_gives_the_crystal():
    """Wannier90 converts the bohr .win with its own constant: the two lattices agree and the atoms are placed."""
    m = from_wannier90(GAAS / "GaAs_tb.dat")
    np.testing.assert_allclose(read_win(GAAS / "GaAs.win").lattice, read_tb(GAAS / "GaAs_tb.dat").lattice, rtol=1e-12)
    assert [a[0] for a in m.parameters["crystal_structure"]["atoms"]] == ["Ga", "As"]


@pytest.mark.parametrize("unit, cause", [
    ("ang", r"1\.89 times larger.*units line of unit_cell_cart says 'ang'.*should say 'bohr'"),
    ("", r"1\.89 times larger.*or is missing, which means Å"),
])
def test_win_lattice_in_the_wrong_units_is_refused_naming_both_files(tmp_path, unit, cause):
    """The audit's case: 'bohr' → 'ang' left the crystal group null and the atoms misplaced, silently."""
    tb = _gaas(tmp_path, "begin unit_cell_cart\nbohr\n", f"begin unit_cell_cart\n{unit}\n" if unit else
               "begin unit_cell_cart\n")
    with pytest.raises(QgeomInputError, match=r"GaAs\.win, line 50: the lattice of unit_cell_cart, \[-5\.342256 .*"
                                              r"disagrees with GaAs_tb\.dat's, \[-2\.827000 .*" + cause):
        from_wannier90(tb)


def test_win_lattice_in_angstrom_marked_bohr_is_refused(tmp_path):
    cell = CELL_BOHR.replace("5.342256", "2.827000")
    with pytest.raises(QgeomInputError, match=r"0\.529 times smaller.*says 'bohr' where it should say 'ang'"):
        from_wannier90(_gaas(tmp_path, CELL_BOHR, cell))


def test_win_lattice_of_another_cell_is_refused_against_the_wout(tmp_path):
    """An _hr.dat takes its lattice from the .win: it must be the lattice of the run (SEED.wout)."""
    for f in MOS2.iterdir():
        shutil.copy(f, tmp_path / f.name)
    win = tmp_path / "wannier90.win"
    win.write_text(win.read_text().replace("5.7281689", "5.7381689"))
    with pytest.raises(QgeomInputError, match=r"wannier90\.win, line 24: .* disagrees with wannier90\.wout's.*"
                                              r"a different cell"):
        from_wannier90(tmp_path)


def test_win_num_wann_must_be_the_hopping_files(tmp_path):
    with pytest.raises(QgeomInputError, match=r"GaAs\.win, line 3: num_wann = 15, but GaAs_tb\.dat holds 16 Wannier"):
        from_wannier90(_gaas(tmp_path, "num_wann        =   16", "num_wann        =   15"))


@pytest.mark.parametrize("old, new, message", [
    ("end unit_cell_cart\n", "", r"line 50: 'begin unit_cell_cart' has no 'end unit_cell_cart' before line 56 "
                                 r"\('begin atoms_frac'\)"),
    ("end kpoints", "", r"line 63: 'begin kpoints' has no 'end kpoints': the file ends \(line 72\)"),
    ("end atoms_frac", "end atoms_cart", r"line 60: 'end atoms_cart' closes no block: the open block is "
                                         r"'begin atoms_frac' \(line 57\)"),
    ("mp_grid", "end projections\nmp_grid", r"line 62: 'end projections' closes no block: none is open"),
    ("begin kpoints", "begin unit_cell_cart\n1 0 0\n0 1 0\n0 0 1\nend unit_cell_cart\nbegin kpoints",
     r"line 63: block unit_cell_cart appears twice \(lines 50 and 63\)"),
    ("begin atoms_frac", "begin atoms_cart\nGa 0 0 0\nend atoms_cart\nbegin atoms_frac",
     r"line 57: both atoms_frac \(line 60\) and atoms_cart are given"),
])
def test_malformed_win_blocks_are_refused_at_their_line(tmp_path, old, new, message):
    with pytest.raises(QgeomInputError, match=r"GaAs\.win, " + message):
        from_wannier90(_gaas(tmp_path, old, new))


def test_atoms_frac_without_a_lattice_is_refused(tmp_path):
    tb = _gaas(tmp_path, "begin unit_cell_cart\n" + CELL_BOHR + "end unit_cell_cart\n", "")
    with pytest.raises(QgeomInputError, match=r"GaAs\.win, line 51: atoms_frac needs the lattice"):
        from_wannier90(tb)


def test_atoms_cart_in_bohr_are_converted(tmp_path):
    """atoms_cart's units line was skipped, not applied: bohr positions were read as Å."""
    bohr = 5.342256 / 2  # As at (-1/4, 1/4, 1/4) of the cube edge 2 × 5.342256 bohr
    tb = _gaas(tmp_path, "begin atoms_frac\nGa 0.00   0.00   0.00\nAs 0.25   0.25   0.25\nend atoms_frac",
               f"begin atoms_cart\nbohr\nGa 0 0 0\nAs {-bohr} {bohr} {bohr}\nend atoms_cart")
    atoms = from_wannier90(tb).parameters["crystal_structure"]["atoms"]
    reference = from_wannier90(GAAS / "GaAs_tb.dat").parameters["crystal_structure"]["atoms"]
    np.testing.assert_allclose(np.array([a[1:] for a in atoms]), np.array([a[1:] for a in reference]), atol=1e-6)


def test_a_singular_lattice_is_refused_by_every_reader(tmp_path):
    """One check (`wannier90_files.checked_lattice`) for the .win, _tb.dat and wt.in."""
    with pytest.raises(QgeomInputError, match=r"GaAs\.win, line 50: the three lattice vectors .* are linearly "
                                              r"dependent \(zero cell volume\)"):
        read_win(_gaas(tmp_path, "0            5.342256    5.342256", "-5.342256    0           5.342256")
                 .with_name("GaAs.win"))
    lines = (GAAS / "GaAs_tb.dat").read_text().splitlines()
    lines[2] = lines[1]
    (tmp_path / "s_tb.dat").write_text("\n".join(lines) + "\n")
    with pytest.raises(QgeomInputError, match=r"s_tb\.dat, line 2: the three lattice vectors .* linearly dependent"):
        read_tb(tmp_path / "s_tb.dat")
    wt = (FE / "wt.in").read_text().splitlines()
    n = wt.index("LATTICE") + 3  # 0-based a2: title, unit, a1, a2
    wt[n] = wt[n - 1]
    (tmp_path / "wt.in").write_text("\n".join(wt) + "\n")
    with pytest.raises(QgeomInputError, match=r"wt\.in, line \d+: the three lattice vectors .* linearly dependent"):
        read_wt_in(tmp_path / "wt.in")
