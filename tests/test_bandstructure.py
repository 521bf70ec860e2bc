"""Band-structure paths: continuum models get points at their cutoff; hints match the model's dimension."""

from __future__ import annotations

import numpy as np
import pytest
from click.testing import CliRunner

from qgeom import QgeomInputError
from qgeom.bandstructure import band_structure, special_points
from qgeom.cli import main
from qgeom.models.library import mnbi2te4_bilayer, qi_wu_zhang


def test_continuum_model_has_points_at_its_cutoff():
    m = mnbi2te4_bilayer()
    pts = special_points(m)
    np.testing.assert_allclose(pts["X"], [m.k_cutoff, 0.0])
    np.testing.assert_allclose(pts["Y"], [0.0, m.k_cutoff])
    ds = band_structure(m, "X-G-Y", npoints=21)
    assert ds["distance"].values[-1] == pytest.approx(2 * m.k_cutoff)
    # the middle of the path is Γ
    np.testing.assert_allclose(ds["energy"].values[10], np.linalg.eigvalsh(m.hamiltonian(np.zeros((1, 2))))[0])


def test_bands_cli_default_path_on_a_continuum_model(tmp_path):
    res = CliRunner().invoke(main, ["bands", "--model", "mnbi2te4_bilayer", "--npoints", "11",
                                    "--out", str(tmp_path / "b.nc")])
    assert res.exit_code == 0, res.output
    assert (tmp_path / "b.nc").is_file()


@pytest.mark.parametrize(("model", "coords", "kind"), [
    (mnbi2te4_bilayer(), "NAME=k1,k2 ", "Cartesian, 1/Å"),
    (qi_wu_zhang(u=1.0), "NAME=k1,k2 ", "reduced coordinates"),
])
def test_unknown_label_hint_matches_the_dimension(model, coords, kind):
    with pytest.raises(QgeomInputError) as err:
        band_structure(model, "G-Q", npoints=11)
    assert coords in str(err.value) and kind in str(err.value) and "k3" not in str(err.value)
