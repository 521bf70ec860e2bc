"""The refusal of a group the model breaks gives advice that works: a symmetry_tol the validator accepts and
the check then passes, or — for a breaking of 1 or more, beyond any symmetry_tol — symmetrizing the model."""

import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from qgeom import QgeomInputError
from qgeom.cli import main
from qgeom.kspace import make_grid
from qgeom.models.wannier90 import from_wannier90
from qgeom.symmetry import SymmetryWarning, resolve

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def test_advised_symmetry_tol_is_accepted_and_passes():
    fe = from_wannier90(EXAMPLES / "Fe")  # breaks inversion by ~0.19 relative (docs/materials.md)
    grid = make_grid(fe, 4)
    with pytest.raises(QgeomInputError, match="not a symmetry") as err:
        resolve(fe, "-1", grid, tol=1e-3)
    advised = float(re.search(r"symmetry_tol >= ([0-9.e-]+) \(CLI --symmetry-tol \1;", str(err.value)).group(1))
    assert 0 < advised < 1
    with pytest.warns(SymmetryWarning):
        assert resolve(fe, "-1", grid, tol=advised) is not None  # rounded up: the advised value admits the breaking


def test_breaking_beyond_any_tolerance_advises_symmetrizing_the_model(tmp_path):
    """GaAs breaks the 3-fold axes of -43m by 1.2 relative: the advice was symmetry_tol >= 1.2, which the
    validator refuses (< 1); it now names --symmetrize-model, which works."""
    args = ["optical", "--wannier90", str(EXAMPLES / "GaAs"), "--observable", "current_x", "--kind", "shift_like",
            "--symmetry=-43m", "--grid", "4", "--offset", "gamma", "--omega", "1.5", "2", "2", "--quiet",
            "--out", str(tmp_path / "o.nc")]
    res = CliRunner().invoke(main, args + ["--symmetry-tol", "0.5"])
    assert res.exit_code == 2 and "beyond any symmetry_tol (< 1)" in res.output
    assert "(CLI --symmetrize-model=-43m)" in res.output and "symmetry_tol >=" not in res.output
    res = CliRunner().invoke(main, args + ["--symmetrize-model=-43m"])
    assert res.exit_code == 0, res.output
