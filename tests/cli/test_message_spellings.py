"""Messages of the library that reach both the Python API and the command line name a setting in both spellings
(`_validation.both_spellings`), so that neither reader is told to type syntax that does not exist for them."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from qgeom import QgeomInputError
from qgeom.cli import main
from qgeom.dc import expansion
from qgeom.models.library import pt_tilted_4band

ROOT = Path(__file__).resolve().parents[2]
MODEL = ["--model", "pt_tilted_4band", "--grid", "4"]


def run(*args):
    return CliRunner().invoke(main, [str(a) for a in args])


@pytest.mark.parametrize("args, message", [
    (["dc", *MODEL, "--mu", "0", "--units", "si"],
     "no SI value; use units='model' (command line: --units model) (or give the model eV/Å units)."),
    (["dc", *MODEL, "--mu", "0", "--mechanisms", "rta"],
     "mechanism 'rta' needs rta=(c1, c2) (command line: --rta C1,C2), the Table I coefficients."),
    (["dc", *MODEL, "--mu", "0", "--mechanisms", "constant_gamma", "--rta", "1,2"],
     "rta=(c1, c2) (command line: --rta C1,C2) was given but 'rta' is not in mechanisms; add it or drop rta."),
    (["optical", *MODEL, "--observable", "current_x", "--scissors", "0.5"],
     "scissors=0.5 (command line: --scissors 0.5) needs the number of valence bands: pass scissors=(shift, "
     "n_valence) (Python API only); model 'pt_tilted_4band' has no num_valence_bands (a Wannier90 model's .win "
     "gives it)."),
])
def test_command_line_messages_name_the_flag(args, message, tmp_path):
    out = tmp_path / "x.nc"
    res = run(*args, "--out", out)
    assert res.exit_code == 2, res.output
    assert message in " ".join(res.output.split())
    assert not out.exists()


def test_the_api_messages_keep_the_keyword():
    with pytest.raises(QgeomInputError, match=r"use units='model' \(command line: --units model\)"):
        expansion(pt_tilted_4band(), mu=0.0, temperature=0.1, grid=4, units="si", progress=False)


def test_an_hr_file_without_a_lattice_names_the_command_line_fix(tmp_path):
    shutil.copy(ROOT / "examples" / "Fe" / "wannier90_hr.dat.xz", tmp_path)
    out = tmp_path / "fe.nc"
    res = run("geometry", "--wannier90", tmp_path / "wannier90_hr.dat.xz", "--grid", 2, "--out", out)
    assert res.exit_code == 2, res.output
    assert ("an _hr.dat holds no lattice: put SEED.win (unit_cell_cart), SEED.wout, a WannierTools wt.in or a POSCAR "
            "next to it, or pass lattice=[[...], [...], [...]] (Python API only), rows in Å.") \
        in " ".join(res.output.split())
    assert not out.exists()
