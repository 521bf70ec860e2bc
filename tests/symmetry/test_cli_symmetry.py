"""qgeom dc --symmetry: forbidden components in the table, wedge size reported."""

import numpy as np
from click.testing import CliRunner

from qgeom.cli import main
from qgeom.models.wannier90 import to_wannier90_hr
from qgeom.symmetry import from_symbol

from .models import symmetric_model


def test_dc_cli_symmetry(tmp_path):
    model = symmetric_model(from_symbol("m'-3'"), np.eye(3))
    hr = to_wannier90_hr(model, tmp_path / "cubic_hr.dat")
    (tmp_path / "cubic.win").write_text("begin unit_cell_cart\nang\n1 0 0\n0 1 0\n0 0 1\nend unit_cell_cart\n")
    args = ["dc", "--wannier90", str(hr), "--grid", "6", "--mu", "0.3", "--temperature", "0.4",
            "--components", "xyz,xxx", "--out", str(tmp_path / "dc.nc")]
    res = CliRunner().invoke(main, args + ["--symmetry", "m'-3'"])
    assert res.exit_code == 0, res.output
    assert "forbidden" in res.output and "22 of 216 k-points" in res.output
    # m'-3' forbids xxx in every term: one line instead of a table of "forbidden"; xyz keeps its table
    assert "component xxx:" not in res.output and "component xyz:" in res.output
    assert "forbidden by symmetry in every term (exact zeros): xxx" in res.output
    bad = CliRunner().invoke(main, args + ["--symmetry", "6mm", "--overwrite"])
    assert bad.exit_code != 0 and "not a symmetry" in bad.output
    # the same group by operation labels (generators of m'-3': 2[0,0,1], 3[1,1,1], -1')
    labels = CliRunner().invoke(main, args + ["--symmetry", "2[0,0,1],3[1,1,1],-1'", "--overwrite"])
    assert labels.exit_code == 0 and "22 of 216 k-points" in labels.output, labels.output
    unreadable = CliRunner().invoke(main, args + ["--symmetry", "2[0,0,1],3[1,1]", "--overwrite"])
    assert unreadable.exit_code != 0 and "cannot read the symmetry operation at '3[1,1]'" in unreadable.output


def test_dc_exact_cli_symmetry_equals_full_grid(tmp_path):
    """qgeom dc-exact --symmetry: the wedge result equals the full-grid result (unitary operations)."""
    import xarray as xr

    model = symmetric_model(from_symbol("m'-3'"), np.eye(3))
    hr = to_wannier90_hr(model, tmp_path / "cubic_hr.dat")
    (tmp_path / "cubic.win").write_text("begin unit_cell_cart\nang\n1 0 0\n0 1 0\n0 0 1\nend unit_cell_cart\n")
    args = ["dc-exact", "--wannier90", str(hr), "--grid", "4", "--mu", "0.3", "--temperature", "0.4",
            "--components", "xyz,xxx", "--gamma", "0.05", "--no-fit"]
    full = CliRunner().invoke(main, args + ["--out", str(tmp_path / "full.nc")])
    wedge = CliRunner().invoke(main, args + ["--out", str(tmp_path / "wedge.nc"), "--symmetry", "m'-3'"])
    assert full.exit_code == 0 and wedge.exit_code == 0, full.output + wedge.output
    a, b = (xr.open_dataset(tmp_path / f, engine="h5netcdf").sigma.values for f in ("full.nc", "wedge.nc"))
    assert np.abs(a).max() > 0 and np.abs(a - b).max() <= 1e-10 * np.abs(a).max()
    bad = CliRunner().invoke(main, args + ["--out", str(tmp_path / "o.nc"), "--symmetry", "auto", "--observable", "spin_z"])
    assert bad.exit_code != 0 and "current" in bad.output
    # --omega: the frequency file is symmetrized alike (it was the model's full-grid sums, no zeros, no estimate)
    omega = ["--omega=0.1,0.5"]
    full = CliRunner().invoke(main, args + omega + ["--out", str(tmp_path / "f_full.nc"), "--symmetry", "none"])
    wedge = CliRunner().invoke(main, args + omega + ["--out", str(tmp_path / "f_wedge.nc"), "--symmetry", "m'-3'"])
    assert full.exit_code == 0 and wedge.exit_code == 0, full.output + wedge.output
    a, b = (xr.open_dataset(tmp_path / f, engine="h5netcdf") for f in ("f_full_frequency.nc", "f_wedge_frequency.nc"))
    scale = np.abs(a.sigma.values).max()
    assert scale > 0 and np.abs(a.sigma.values - b.sigma.values).max() <= 1e-10 * scale
    assert b.forbidden.sel(component="xxx").item() and not np.any(b.sigma.sel(component="xxx").values)
    assert "sigma_error" in a and "symmetry" in b.attrs


def test_cli_offset_gamma_gives_the_wedge_its_error_estimate(tmp_path):
    """--offset gamma (dc, dc-exact, optical): a Γ-centred grid, recorded in the result; with --symmetry on an
    even count its wedge keeps the coarse sub-grid, so the error estimate is there — on the Monkhorst–Pack
    grid of the same count it is unavailable, and the result says why."""
    import json

    import xarray as xr

    common = ["--model", "pt_tilted_4band", "--grid", "16", "--temperature", "0.3", "--symmetry", "auto"]
    runs = {
        "dc": ["dc", "--mu", "-4.0", "--components", "xyy"],
        "dc-exact": ["dc-exact", "--mu", "-4.0", "--components", "xyy", "--gamma", "0.05,0.1", "--no-fit"],
        "optical": ["optical", "--observable", "current_x", "--mu", "-4.0", "--omega", "1.0", "2.0", "3",
                    "--broadening", "0.2", "--kind", "shift_like"],
    }
    for name, args in runs.items():
        for offset in ("gamma", "mp"):
            out = tmp_path / f"{name}_{offset}.nc"
            res = CliRunner().invoke(main, args + common + ["--offset", offset, "--out", str(out)])
            assert res.exit_code == 0, res.output
            with xr.open_dataset(out) as ds:
                assert json.loads(ds.attrs["grid"])["offset"] == offset
                variable = "chi" if name == "optical" else "sigma"
                method = json.loads(ds.attrs["error_estimate"])[variable]["method"]
                assert (f"{variable}_error" in ds) == (offset == "gamma"), (name, offset, method)
                assert offset == "gamma" or "Monkhorst-Pack" in method


def test_a_subgroup_used_names_the_group_it_comes_from(tmp_path):
    """optical (unitary operations keeping the current's direction) and dc-exact (unitary operations) use a subgroup
    of the detected m'm2' of pt_tilted_4band: the footnote and symmetry_source name both (it printed "1m1 (auto)",
    as if that were what was detected); dc uses the whole group and says nothing more."""
    common = ["--model", "pt_tilted_4band", "--grid", "12", "--temperature", "0.3", "--symmetry", "auto", "--quiet"]
    runs = {
        "optical": (["optical", "--observable", "current_x", "--mu", "-4.0", "--omega", "1.0", "2.0", "2",
                     "--broadening", "0.2", "--kind", "shift_like"],
                    "1m1 (2 operations, 0 with time reversal) (auto; of its group m'm2' (4 operations, 2 with time "
                    "reversal), the operations without time reversal (the optical kinds apply it themselves) and that "
                    "keep the response's fixed index)"),
        "dc-exact": (["dc-exact", "--mu", "-4.0", "--components", "xyy", "--gamma", "0.05,0.1", "--no-fit"],
                     "(auto; of its group m'm2' (4 operations, 2 with time reversal), the operations without time "
                     "reversal)"),
        "dc": (["dc", "--mu", "-4.0", "--components", "xyy"], "m'm2' (4 operations, 2 with time reversal) (auto):"),
    }
    import json

    import xarray as xr

    for name, (args, said) in runs.items():
        res = CliRunner().invoke(main, args + common + ["--out", str(tmp_path / f"{name}.nc")])
        assert res.exit_code == 0, res.output
        with xr.open_dataset(tmp_path / f"{name}.nc") as ds:
            info = json.loads(ds.attrs["symmetry"])
        assert said in " ".join(res.output.split()), (name, res.output)  # dc-exact had no footnote
        assert info["symmetry_source"] in said, info["symmetry_source"]
