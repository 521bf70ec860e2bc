"""`qgeom optical` end to end, Dataset round trip, and input validation."""

import numpy as np
import pytest
from click.testing import CliRunner

from qgeom.cli import main
from qgeom.models.library import mnbi2te4_bilayer
from qgeom.optical import response
from qgeom.results import load
from qgeom import QgeomInputError


def test_cli_optical(tmp_path):
    out = tmp_path / "o.nc"
    r = CliRunner().invoke(main, ["optical", "--model", "mnbi2te4_bilayer", "--observable", "layer_polarization",
                                  "--mu", "0.01", "--tau", "0.25", "--grid", "40,8", "--omega", "0.02", "0.3", "8",
                                  "--out", str(out)])
    assert r.exit_code == 0, r.output
    assert "kramers_injection" in r.output and "e V^-2" in r.output
    ds = load(out)
    assert ds.chi.dtype.kind == "c" and list(ds.chi.dims) == ["kind", "alpha", "beta", "omega"]
    assert list(ds.alpha.values) == ["x", "y"]
    assert out.with_suffix(".png").exists()
    bad = CliRunner().invoke(main, ["optical", "--model", "mnbi2te4_bilayer", "--observable", "layer_polarization",
                                    "--kind", "injection", "--grid", "10,4", "--out", str(tmp_path / "x.nc")])
    assert bad.exit_code == 2 and "tau" in bad.output


def test_input_validation():
    m = mnbi2te4_bilayer()
    om = np.linspace(0.05, 0.1, 3)
    with pytest.raises(QgeomInputError, match="unknown response kind"):
        response(m, "layer_polarization", kinds=["shift"], omega=om)
    with pytest.raises(QgeomInputError, match="tau"):
        response(m, "layer_polarization", kinds=["kramers_injection"], omega=om)
    with pytest.raises(QgeomInputError, match="no observable"):
        response(m, "polarization", omega=om, kinds=["kramers_fermi_sea"])
    with pytest.raises(QgeomInputError, match="direction"):
        response(m, "current_z", omega=om, kinds=["kramers_fermi_sea"])
    with pytest.raises(QgeomInputError, match="broadening"):
        response(m, "spin_z", omega=om, kinds=["kramers_fermi_sea"], broadening=-1)
