"""`qgeom dc-exact --observable`: the exact Γ-scan of an observable's response from the command line."""

import numpy as np
from click.testing import CliRunner

from qgeom.cli import main
from qgeom.dc.exact import exact
from qgeom.models.library import mnbi2te4_bilayer_lattice
from qgeom.results import load, metadata


def test_dc_exact_observable_scan_table_file_and_figure(tmp_path):
    out = tmp_path / "lp.nc"
    res = CliRunner().invoke(main, [
        "dc-exact", "--model", "mnbi2te4_bilayer_lattice", "--param", "tilt=1.0", "--observable", "layer_polarization",
        "--components", "xy", "--mu", "0.06", "--temperature", "0.03",
        "--gamma", "0.0006,0.0009,0.0012,0.00165,0.00225,0.003", "--grid", "10", "--nodes", "8", "--out", str(out)])
    assert res.exit_code == 0, res.output
    assert "response of layer_polarization" in res.output and "not derived" in res.output
    ds = load(out)
    assert metadata(ds, "parameters")["observable"] == "layer_polarization"
    assert list(ds.component.values) == ["xy"] and out.with_suffix(".png").stat().st_size > 1000
    ref = exact(mnbi2te4_bilayer_lattice(tilt=1.0), components="xy", observable="layer_polarization", mu=0.06,
                temperature=0.03, gamma=ds.gamma.values, grid=10, nodes=8)
    assert np.allclose(ds.sigma.values, ref.sigma.values, rtol=1e-12, atol=0)
    B, exp_B = float(ds.fit.sel(coefficient="B")[0, 0]), float(ds.expansion.sel(coefficient="B")[0, 0])
    assert abs(B - exp_B) < 1e-3 * abs(exp_B)


def test_dc_exact_observable_rejects_current_labels():
    res = CliRunner().invoke(main, ["dc-exact", "--model", "tilted_dirac_2band", "--observable", "current_x",
                                    "--components", "xyy", "--no-fit", "--gamma", "0.02", "--grid", "6"])
    assert res.exit_code != 0 and "two field" in res.output


def test_dc_observable_closed_forms(tmp_path):
    """`qgeom dc --observable`: the Γ⁻², Γ⁻¹ table of the closed forms, as `expansion(observable=...)`."""
    from qgeom.dc.expansion import expansion

    out = tmp_path / "lp.nc"
    res = CliRunner().invoke(main, ["dc", "--model", "mnbi2te4_bilayer_lattice", "--param", "tilt=1.0",
                                    "--observable", "layer_polarization", "--components", "xy", "--mu", "0.04,0.06",
                                    "--temperature", "0.03", "--grid", "12", "--out", str(out)])
    assert res.exit_code == 0, res.output
    assert "interband(G^-1)" in res.output and "Gamma^0 not derived" in res.output
    ref = expansion(mnbi2te4_bilayer_lattice(tilt=1.0), observable="layer_polarization", components="xy",
                    mu=[0.04, 0.06], temperature=0.03, grid=12)
    assert np.allclose(load(out).sigma.values, ref.sigma.values, rtol=1e-12, atol=0)
    res = CliRunner().invoke(main, ["dc", "--model", "tilted_dirac_2band", "--observable", "current_x",
                                    "--mechanisms", "constant_gamma", "--grid", "6", "--out", str(tmp_path / "x.nc")])
    assert res.exit_code != 0 and "fermionic bath only" in res.output
