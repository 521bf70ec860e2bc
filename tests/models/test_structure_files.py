"""Companion files of a Wannier90 _hr.dat: SEED.wout centres, WannierTools wt.in, POSCAR; compressed copies;
the _tb.dat-without-.win warning; malformed copies give errors with file and line."""

from __future__ import annotations

import shutil
import warnings
from pathlib import Path

import numpy as np
import pytest

from qgeom._validation import QgeomInputError
from qgeom.models import from_wannier90
from qgeom.models.structure_files import read_poscar, read_wout, read_wt_in

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
MOS2, FE, GAAS = EXAMPLES / "MoS2-1Tp", EXAMPLES / "Fe", EXAMPLES / "GaAs"
MOS2_LATTICE = [[3.177028, 0.0, 0.0], [0.0, 5.728169, -0.015712], [0.0, 0.375691, 30.215182]]


def test_wout_final_state_centres_and_lattice():
    w = read_wout(MOS2 / "wannier90.wout", 48)
    assert w.centres.shape == (48, 3) and w.spreads.shape == (48,)
    np.testing.assert_allclose(w.centres[0], [1.595691, 2.949042, -12.122169])
    np.testing.assert_allclose(w.centres[47], [1.591172, 4.437500, -13.726221])
    assert w.spreads[0] == pytest.approx(5.64593597)
    np.testing.assert_allclose(w.lattice, MOS2_LATTICE, atol=1e-6)


def test_wt_in_lattice_atoms_projectors():
    wt = read_wt_in(FE / "wt.in")
    np.testing.assert_allclose(wt.lattice, 1.435 * np.array([[1, 1, -1], [-1, 1, 1], [1, -1, 1]]))
    assert wt.hr_file == "wannier90_hr.dat" and wt.soc and wt.fermi_energy == pytest.approx(9.1839)
    assert wt.projectors == [["pz", "px", "py", "dz2", "dxz", "dyz", "dx2-y2", "dxy"]]
    assert wt.orbital_positions().shape == (16, 3)  # SOC: the projector list twice (up block, down block)
    assert wt.keywords["numoccupied"] == "8" and wt.keywords["by"] == "0"


def test_poscar_lattice_and_atoms():
    p = read_poscar(MOS2 / "POSCAR")
    np.testing.assert_allclose(p.lattice, MOS2_LATTICE, atol=1e-6)
    assert [s for s, _ in p.atoms] == ["Mo", "Mo", "S", "S", "S", "S"]
    np.testing.assert_allclose(p.atoms[0][1], [1.5885140, 2.6199122, 17.7388446], atol=1e-5)  # = .win atoms_cart


def test_fe_lattice_and_fermi_energy_from_wt_in():
    fe = from_wannier90(FE)  # compressed wannier90_hr.dat.xz + wt.in, no .win
    assert fe.nbands == 16 and len(fe.R) == 1367 and fe.dim == 3
    assert fe.parameters["lattice_from"] == "wt.in" and fe.parameters["fermi_energy"] == pytest.approx(9.1839)
    assert fe.parameters["spinor_ordering"] == "block"
    np.testing.assert_allclose(fe.lattice, read_wt_in(FE / "wt.in").lattice)


@pytest.fixture(scope="module")
def mos2_hr(tmp_path_factory):
    """The MoS2 _hr.dat alone in a directory (decompressed once), to add companions one at a time."""
    from qgeom.models.wannier90_files import _Lines

    d = tmp_path_factory.mktemp("mos2")
    (d / "wannier90_hr.dat").write_text("\n".join(_Lines(MOS2 / "wannier90_hr.dat.xz").lines) + "\n")
    return d


def _only(src_dir: Path, dst: Path, *names: str) -> Path:
    dst.mkdir()
    (dst / "wannier90_hr.dat").symlink_to(src_dir / "wannier90_hr.dat")
    for n in names:
        shutil.copy(MOS2 / n, dst / n)
    return dst


def test_mos2_centres_from_wout(mos2_hr, tmp_path):
    m = from_wannier90(_only(mos2_hr, tmp_path / "a", "wannier90.win", "wannier90.wout"), dimension=3)
    assert m.parameters["positions_from"] == "wannier90.wout (Final State)" and m.parameters["convention"] == "II"
    np.testing.assert_allclose(m.positions, read_wout(MOS2 / "wannier90.wout").centres)
    assert m.parameters["mdrs"] and m.parameters["mp_grid"] == [8, 4, 1]


@pytest.mark.parametrize("companion", ["POSCAR", "wannier90.wout"])
def test_lattice_from_poscar_or_wout_without_win(mos2_hr, tmp_path, companion):
    m = from_wannier90(_only(mos2_hr, tmp_path / "b", companion), dimension=3)
    assert m.parameters["lattice_from"] == companion
    np.testing.assert_allclose(m.lattice, MOS2_LATTICE, atol=1e-6)


def test_hr_without_any_lattice_names_the_companions(mos2_hr, tmp_path):
    with pytest.raises(QgeomInputError, match="wt.in or a POSCAR"):
        from_wannier90(_only(mos2_hr, tmp_path / "c"))


def test_tb_without_win_warns_what_changes(tmp_path):
    shutil.copy(GAAS / "GaAs_tb.dat", tmp_path / "GaAs_tb.dat")
    with pytest.warns(UserWarning, match=r"without its \.win.*-0\.51 eV"):
        bare = from_wannier90(tmp_path / "GaAs_tb.dat")
    assert not bare.parameters["mdrs"]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        from_wannier90(tmp_path / "GaAs_tb.dat", mp_grid=[2, 2, 2])  # told the grid: no warning
        from_wannier90(GAAS / "GaAs_tb.dat")  # .win beside it: no warning


# ------------------------------------------------------------------ malformed copies


def _edit(src: Path, dst: Path, line: int, text: str | None) -> Path:
    lines = src.read_text().splitlines()
    if text is None:
        del lines[line - 1:]
    else:
        lines[line - 1] = text
    dst.write_text("\n".join(lines) + "\n")
    return dst


def test_malformed_wout(tmp_path):
    bad = _edit(MOS2 / "wannier90.wout", tmp_path / "x.wout", 700, "  WF centre and spread    3  (  1.588542,  oops,-12.449699 )     1.8")
    with pytest.raises(QgeomInputError, match=r"x\.wout, line 700: malformed 'WF centre"):
        read_wout(bad)
    short = _edit(MOS2 / "wannier90.wout", tmp_path / "y.wout", 745, None)  # 47 centres
    with pytest.raises(QgeomInputError, match=r"y\.wout, line 697: 'Final State' lists 47 .* num_wann = 48"):
        read_wout(short, 48)
    lat = _edit(MOS2 / "wannier90.wout", tmp_path / "z.wout", 112, "                    a_2     0.000000   five   -0.015712")
    with pytest.raises(QgeomInputError, match=r"z\.wout, line 112: expected three numbers"):
        read_wout(lat)


def test_malformed_wt_in(tmp_path):
    src = FE / "wt.in"
    lines = src.read_text().splitlines()
    n = lines.index("LATTICE") + 4  # 1-based line of a2: title, unit, a1, a2
    with pytest.raises(QgeomInputError, match=rf"w1\.in, line {n}: expected three numbers \(lattice vector a2\)"):
        read_wt_in(_edit(src, tmp_path / "w1.in", n, "  -1.4350000     x     1.4350000"))
    p = lines.index("PROJECTORS") + 3
    with pytest.raises(QgeomInputError, match=rf"w2\.in, line {p}: PROJECTORS: atom 1 should list 8 projectors, found 7"):
        read_wt_in(_edit(src, tmp_path / "w2.in", p, "Fe pz px py dz2 dxz dyz dx2-y2"))
    u = lines.index("LATTICE") + 2
    with pytest.raises(QgeomInputError, match=rf"w3\.in, line {u}: LATTICE: expected the unit"):
        read_wt_in(_edit(src, tmp_path / "w3.in", u, "   1.4350000     1.4350000    -1.4350000"))


def test_malformed_poscar(tmp_path):
    with pytest.raises(QgeomInputError, match=r"P1, line 4: expected three numbers \(lattice vector a2\)"):
        read_poscar(_edit(MOS2 / "POSCAR", tmp_path / "P1", 4, "  0.0  5.72  "))
    with pytest.raises(QgeomInputError, match=r"P2, line 7: expected integer atom counts"):
        read_poscar(_edit(MOS2 / "POSCAR", tmp_path / "P2", 7, "     2     four"))
    with pytest.raises(QgeomInputError, match=r"P3, line 13: file ends .* atom 6 of 6"):
        read_poscar(_edit(MOS2 / "POSCAR", tmp_path / "P3", 14, None))


def test_wt_in_projector_count_must_match(tmp_path):
    d = tmp_path / "fe"
    d.mkdir()
    from qgeom.models.wannier90_files import _Lines

    (d / "wannier90_hr.dat").write_text("\n".join(_Lines(FE / "wannier90_hr.dat.xz").lines[:1]) + "\n")
    src = (FE / "wt.in").read_text().replace("SOC = 1 ", "SOC = 0 ")
    (d / "wt.in").write_text(src)
    # an _hr.dat header alone is malformed (truncated) — the reader says so with the line
    with pytest.raises(QgeomInputError, match=r"wannier90_hr\.dat, line 1: file ends"):
        from_wannier90(d)


# ------------------------------------------------------------------ 2D models from a slab cell


def test_mos2_is_two_dimensional_per_area():
    """No hopping across the vacuum: the model becomes d = 2 on the in-plane lattice; the cell 'volume' is the
    area |a1 × a2| (18.20 Å²), not the 550 Å³ slab cell, and H(k_∥) equals the 3D model's at k_z = 0."""
    m2 = from_wannier90(MOS2)
    m3 = from_wannier90(MOS2, dimension=3)
    assert m2.dim == 2 and m3.dim == 3
    lat = np.array(MOS2_LATTICE)
    assert m2.cell_volume == pytest.approx(np.linalg.norm(np.cross(lat[0], lat[1])), rel=1e-6)
    assert m2.cell_volume == pytest.approx(18.1986, abs=1e-3) and m3.cell_volume == pytest.approx(549.891, abs=1e-2)
    info = m2.parameters["two_dimensional"]
    assert info["vacuum_axis"] == "a3" and info["cell_height"] == pytest.approx(30.216, abs=1e-3)
    frame = np.array(info["in_plane_frame"])
    f = np.random.default_rng(0).uniform(-0.5, 0.5, (5, 2))
    k2 = f @ m2.reciprocal_lattice
    e2 = np.linalg.eigvalsh(m2.hamiltonian(k2))
    e3 = np.linalg.eigvalsh(m3.hamiltonian(k2 @ frame))
    np.testing.assert_allclose(e2, e3, atol=1e-10)
    heights = np.array(m2.parameters["orbital_heights"])
    np.testing.assert_allclose(heights, m3.positions @ np.array(info["normal"]), atol=1e-12)
    with pytest.raises(QgeomInputError, match="not a single layer"):
        from_wannier90(GAAS, dimension=2)


def test_hr_with_win_without_wout_warns_what_changes(mos2_hr, tmp_path):
    """Without the centres (wannier90.wout) the _hr.dat is read in convention I and without MDRS: warned, naming
    the missing file and the fix; the bands then differ from the model with its centres by ~0.2 eV."""
    with pytest.warns(UserWarning, match=r"without the Wannier centres \(no wannier90\.wout.*convention I.*"
                                         r"no minimal-distance replica selection.*Put wannier90\.wout beside"):
        bare = from_wannier90(_only(mos2_hr, tmp_path / "a", "wannier90.win"))
    assert bare.parameters["convention"] == "I" and not bare.parameters["mdrs"]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        full = from_wannier90(_only(mos2_hr, tmp_path / "b", "wannier90.win", "wannier90.wout"))
        from_wannier90(_only(mos2_hr, tmp_path / "c", "wannier90.win"), mdrs=False)  # said so: no warning
    k = np.random.default_rng(3).uniform(-0.5, 0.5, (40, 2)) @ full.reciprocal_lattice
    diff = np.abs(np.linalg.eigvalsh(bare.hamiltonian(k)) - np.linalg.eigvalsh(full.hamiltonian(k))).max()
    assert 0.1 < diff < 0.3


def test_lattice_argument_differing_from_the_files_is_refused():
    # lattice= used to replace the files' cell without a word, and nothing recorded it
    cell = read_wt_in(FE / "wt.in").lattice
    with pytest.raises(QgeomInputError, match=r"lattice= \[.*disagrees with the lattice wt\.in gives.*Drop lattice="):
        from_wannier90(FE, lattice=1.01 * cell)
    with pytest.raises(QgeomInputError, match=r"GaAs_tb\.dat gives.*Drop lattice= to use the files' cell"):
        from_wannier90(GAAS / "GaAs_tb.dat", lattice=np.eye(3))


def test_lattice_argument_agreeing_with_the_files_is_recorded(mos2_hr, tmp_path):
    cell = read_wt_in(FE / "wt.in").lattice
    fe = from_wannier90(FE, lattice=cell * (1 + 3e-5))  # within 1e-4 relative: the same cell
    assert fe.parameters["lattice_from"] == "argument"
    bare = from_wannier90(_only(mos2_hr, tmp_path / "d"), lattice=MOS2_LATTICE, dimension=3)  # files give none
    assert bare.parameters["lattice_from"] == "argument"
