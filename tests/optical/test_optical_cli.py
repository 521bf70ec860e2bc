"""`qgeom optical` end to end, Dataset round trip, and input validation."""

from pathlib import Path

import numpy as np
import pytest
import xarray as xr
from click.testing import CliRunner

from qgeom.cli import main
from qgeom.models.library import mnbi2te4_bilayer
from qgeom.optical import response
from qgeom.results import metadata
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


def test_cli_optical_full_position_operator(tmp_path):
    """--position-operator full reaches from_wannier90: recorded in the model, and it changes the GaAs shift
    current (the off-diagonal r_ij(R) are a ~10 % effect); refused for library models."""
    gaas = Path(__file__).resolve().parents[2] / "examples" / "GaAs"
    args = ["optical", "--wannier90", str(gaas), "--observable", "current_x", "--kind", "shift_like",
            "--omega", "1.5", "3.0", "4", "--grid", "4", "--broadening", "0.1", "--broadening-kind", "gaussian",
            "--mu", "7.9366", "--temperature", "0.01", "--degen-tol", "0.04", "--component", "yz"]
    chi = {}
    for choice in ("centres", "full"):
        out = tmp_path / f"{choice}.nc"
        r = CliRunner().invoke(main, args + ["--position-operator", choice, "--out", str(out)])
        assert r.exit_code == 0, r.output
        ds = load(out)
        chi[choice] = ds.chi.sel(kind="shift_like", alpha="y", beta="z").values
        assert metadata(ds, "model")["parameters"].get("position_operator", "centres") == choice
    scale = np.abs(chi["centres"]).max()
    assert scale > 0 and np.abs(chi["full"] - chi["centres"]).max() > 0.02 * scale
    bad = CliRunner().invoke(main, ["optical", "--model", "mnbi2te4_bilayer", "--observable", "layer_polarization",
                                    "--position-operator", "full", "--grid", "10,4", "--out", str(tmp_path / "x.nc")])
    assert bad.exit_code == 2 and "Wannier90" in bad.output


def test_cli_principal_part_flag(tmp_path):
    """--principal-part/--no-principal-part reach optical.response; unset keeps the physics default
    (a polarization keeps P(1/x)), recorded in the result's parameters."""
    base = ["optical", "--model", "mnbi2te4_bilayer", "--observable", "layer_polarization", "--mu", "0.01",
            "--kind", "shift_like", "--grid", "24,6", "--omega", "0.02", "0.3", "6", "--quiet"]
    runs = {}
    for name, extra in (("default", []), ("on", ["--principal-part"]), ("off", ["--no-principal-part"])):
        out = tmp_path / f"{name}.nc"
        r = CliRunner().invoke(main, base + extra + ["--out", str(out)])
        assert r.exit_code == 0, r.output
        runs[name] = load(out)
    assert [metadata(runs[n], "parameters")["principal_part"] for n in ("default", "on", "off")] == [True, True, False]
    assert np.array_equal(runs["default"].chi.values, runs["on"].chi.values)
    assert not np.allclose(runs["on"].chi.values, runs["off"].chi.values)


def test_cli_optical_labels_the_crystals_zeros_forbidden(tmp_path):
    """The raw GaAs's χ^{x;xz} is zero by the crystal's −43m (GaAs.win) at default settings: the table says
    "forbidden" (not a number), and the footnote names the kept group and the crystal's group."""
    gaas = Path(__file__).resolve().parents[2] / "examples" / "GaAs"
    r = CliRunner().invoke(main, ["optical", "--wannier90", str(gaas), "--observable", "current_x", "--mu", "7.94",
                                  "--tau", "0.1", "--grid", "3", "--omega", "1.5", "2.5", "2", "--component", "xz",
                                  "--out", str(tmp_path / "g.nc")])
    assert r.exit_code == 0, r.output
    rows = [line for line in r.output.splitlines() if line.strip().startswith(("kramers_", "shift_like"))]
    assert rows and all("forbidden" in line for line in rows[:6])
    assert "the crystal's group -43m" in r.output and "GaAs.win" in r.output


def test_cli_without_tau_leaves_the_default_tau_kinds_out(tmp_path):
    """No --kind and no --tau: the default kinds that need no τ are computed and a note names the ones left out
    and --tau; a τ-kind asked for explicitly without --tau stays an error."""
    base = ["optical", "--model", "mnbi2te4_bilayer", "--observable", "layer_polarization", "--mu", "0.01",
            "--grid", "12,4", "--omega", "0.02", "0.3", "3", "--quiet"]
    out = tmp_path / "o.nc"
    r = CliRunner().invoke(main, base + ["--out", str(out)])
    assert r.exit_code == 0, r.output
    assert "note: kramers_injection scales with the relaxation time and is left out; --tau T" in r.output
    assert list(load(out).kind.values) == ["kramers_fermi_sea", "shift_like"]
    bad = CliRunner().invoke(main, base + ["--kind", "kramers_injection", "--kind", "shift_like",
                                           "--out", str(tmp_path / "x.nc")])
    assert bad.exit_code == 2 and "--kind kramers_injection scales with the relaxation time: pass --tau" in bad.output
    assert "leave it out: --kind shift_like" in bad.output


GAAS = Path(__file__).resolve().parents[2] / "examples" / "GaAs"
MNBI = ["optical", "--model", "mnbi2te4_bilayer", "--observable", "layer_polarization", "--kind", "shift_like",
        "--grid", "8,4", "--quiet"]


def test_cli_omega_range_is_checked(tmp_path):
    """MIN > MAX and a negative ħω are errors that give the fix; ħω = 0 (the static limit) is computed."""
    out = str(tmp_path / "o.nc")
    r = CliRunner().invoke(main, MNBI + ["--omega", "3", "1", "5", "--out", out])
    assert r.exit_code == 2 and "MIN 3 is above MAX 1" in r.output and "--omega 1 3 5" in r.output
    r = CliRunner().invoke(main, MNBI + ["--omega", "-0.1", "0.3", "4", "--out", out])
    assert r.exit_code == 2 and "MIN -0.1 is negative" in r.output and "--omega 0 0.3 4" in r.output
    r = CliRunner().invoke(main, MNBI + ["--omega", "0", "0.3", "4", "--out", out])
    assert r.exit_code == 0, r.output
    assert load(out).omega.values[0] == 0 and np.isfinite(load(out).chi.values).all()


def test_cli_omega_takes_the_start_stop_num_spelling_of_mu(tmp_path):
    """`--omega MIN:MAX:N` and `--omega=MIN:MAX:N` (how --mu is written) are MIN MAX N; a wrong count says both forms."""
    for i, spelling in enumerate((["--omega", "0.1:0.3:4"], ["--omega=0.1:0.3:4"], ["--omega", "0.1", "0.3", "4"])):
        out = str(tmp_path / f"o{i}.nc")
        r = CliRunner().invoke(main, MNBI + spelling + ["--out", out])
        assert r.exit_code == 0, r.output
        np.testing.assert_allclose(load(out).omega.values, [0.1, 0.1 + 0.2 / 3, 0.1 + 0.4 / 3, 0.3])
    r = CliRunner().invoke(main, MNBI + ["--omega", "0.1:0.3", "--out", str(tmp_path / "x.nc")])
    assert r.exit_code == 2 and "MIN:MAX:N" in r.output and "MIN MAX N" in r.output
    r = CliRunner().invoke(main, MNBI + ["--omega", "0.3:0.1:4", "--out", str(tmp_path / "x.nc")])
    assert r.exit_code == 2 and "MIN 0.3 is above MAX 0.1" in r.output
    from qgeom.cli.optical import OpticalConfig

    assert OpticalConfig(observable="current_x", omega="0.1:0.3:4").omega == (0.1, 0.3, 4)  # a config file's string
    with pytest.raises(ValueError, match="MIN:MAX:N"):
        OpticalConfig(observable="current_x", omega="0.1:0.3")


def test_cli_mu_outside_the_bands_is_noted(tmp_path):
    r = CliRunner().invoke(main, MNBI + ["--mu", "50", "--omega", "0.1", "0.3", "2", "--out", str(tmp_path / "o.nc")])
    assert r.exit_code == 0, r.output
    assert "note: mu = 50 eV is above every band of the model" in r.output and "all bands are filled" in r.output
    r = CliRunner().invoke(main, MNBI + ["--mu", "0.01", "--omega", "0.1", "0.3", "2", "--overwrite",
                                         "--out", str(tmp_path / "o.nc")])
    assert r.exit_code == 0 and "every band" not in r.output


def test_cli_scissors_of_the_win_is_noted_and_a_closing_shift_refused(tmp_path):
    """GaAs.win's scissors_shift (1.117 eV) is not applied by default: a note gives the flag that applies it;
    a negative shift that closes the 0.40 eV gap at Gamma (which a 2x2x2 MP grid never samples) is refused."""
    base = ["optical", "--wannier90", str(GAAS), "--observable", "current_x", "--kind", "shift_like", "--grid", "2",
            "--omega", "1.5", "2", "2", "--quiet", "--overwrite", "--out", str(tmp_path / "o.nc")]
    r = CliRunner().invoke(main, base)
    assert r.exit_code == 0, r.output
    assert "note: the model's .win gives scissors_shift = 1.117 eV; it is not applied" in r.output
    assert "--scissors 1.117" in r.output
    r = CliRunner().invoke(main, base + ["--scissors", "1.117"])
    assert r.exit_code == 0 and "scissors_shift = 1.117" not in r.output
    r = CliRunner().invoke(main, base + ["--scissors=-0.5"])
    assert r.exit_code == 2 and "--scissors -0.5 closes the gap between bands 8 and 9" in r.output
    assert "as small as 0.40" in r.output and "pass a shift above -0.40" in r.output


def test_cli_kind_takes_a_comma_list_or_repeats(tmp_path):
    """--kind a,b is --kind a --kind b (as --components takes a comma list); a misspelt item is named with the
    closest kind."""
    base = ["optical", "--model", "mnbi2te4_bilayer", "--observable", "layer_polarization", "--mu", "0.01", "--tau",
            "0.25", "--grid", "20,4", "--omega", "0.05", "0.1", "3"]
    kinds = []
    for i, flags in enumerate((["--kind", "shift_like,kramers_injection"],
                               ["--kind", "shift_like", "--kind", "kramers_injection"])):
        r = CliRunner().invoke(main, base + flags + ["--out", str(tmp_path / f"k{i}.nc")])
        assert r.exit_code == 0, r.output
        with xr.open_dataset(tmp_path / f"k{i}.nc") as ds:
            kinds.append(list(ds.kind.values))
    assert kinds[0] == kinds[1] == ["shift_like", "kramers_injection"]
    r = CliRunner().invoke(main, base + ["--kind", "shift_like,kramers_injektion", "--out", str(tmp_path / "x.nc")])
    assert r.exit_code != 0 and "'kramers_injektion' is not one of" in r.output
    assert "did you mean 'kramers_injection'?" in r.output
