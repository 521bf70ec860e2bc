"""One configuration style for every command: shared model loader, one validated table per command,
defaults in --help, unknown keys/parameters rejected with the allowed names, generated reference."""

from __future__ import annotations

from pathlib import Path

import click
import numpy as np
import pytest
from click.testing import CliRunner

from qgeom.cli import main
from qgeom.cli.config_reference import render
from qgeom.cli.dc import auto_mu
from qgeom.dc import expansion
from qgeom.models.library import pt_tilted_4band
from qgeom.models.wannier90 import from_wannier90
from qgeom.results import load, metadata

ROOT = Path(__file__).resolve().parents[2]
GAAS = ROOT / "examples" / "GaAs"
COMMANDS = ["dc", "dc-exact", "geometry", "optical", "bands"]


def run(*args):
    return CliRunner().invoke(main, list(args))


def test_config_reference_is_up_to_date():
    assert (ROOT / "docs" / "config.md").read_text(encoding="utf-8") == render(), \
        "regenerate with: qgeom config-reference --out docs/config.md"


@pytest.mark.parametrize("name", COMMANDS)
def test_every_option_shows_its_default(name):
    cmd = main.get_command(click.Context(main), name)
    for opt in cmd.params:
        if isinstance(opt, click.Option) and opt.name != "help":
            assert "default" in (opt.help or "").lower(), (name, opt.opts)
    for opt in ("--model", "--param", "--wannier90", "--bloch-convention", "--position-operator", "--config"):
        assert opt in run(name, "--help").output


@pytest.mark.parametrize("name", COMMANDS)
def test_unknown_model_parameter_lists_the_allowed_ones(name, tmp_path):
    res = run(name, "--model", "pt_tilted_4band", "--param", "q=1", "--out", str(tmp_path / "x.nc"))
    assert res.exit_code == 2, res.output
    assert "q" in res.output and "allowed: v (default 1.0), b (default 1.0), m (default -3.9), t (default 0.9)" \
        in " ".join(res.output.split())
    assert not (tmp_path / "x.nc").exists()


@pytest.mark.parametrize("name, table, key, allowed", [
    ("optical", "optical", "temprature", "temperature"),
    ("dc-exact", "dc-exact", "gama", "gamma"),
    ("dc", "dc", "degen_tool", "degen_tol"),
    ("geometry", "geometry", "gird", "grid"),
    ("bands", "bands", "npts", "npoints"),
])
def test_misspelt_key_is_an_error_with_the_allowed_keys(name, table, key, allowed, tmp_path):
    cfg = tmp_path / "run.toml"
    cfg.write_text(f'[model]\nname = "qi_wu_zhang"\n["{table}"]\n{key} = 1\n')
    res = run(name, "--config", str(cfg), "--out", str(tmp_path / "x.nc"))
    assert res.exit_code == 2, res.output
    assert key in res.output and "allowed keys" in res.output and allowed in res.output
    assert f"(did you mean {allowed!r}?)" in res.output
    assert res.exception is None or isinstance(res.exception, SystemExit)


def test_invalid_values_are_named_in_the_users_words(tmp_path):
    """One line per key with its flag, the value given and what the key takes — not pydantic's per-branch
    paths (`mu.str`, `grid.list[constrained-int].1`, `mechanisms.0`) — and the closest allowed name."""
    cfg = tmp_path / "run.toml"
    cfg.write_text('[model]\nname = "pt_tilted_4band"\n[dc]\nmu = {a = 1}\ngrid = [10, "a"]\n'
                   'mechanisms = ["constant_gamma", "fermionic_bth"]\n')
    res = run("dc", "--config", str(cfg))
    out = " ".join(res.output.split())
    assert res.exit_code == 2, res.output
    assert "- mu (--mu): got {'a': 1}; expected a number, a list of numbers, 'start:stop:num' or 'a,b,c'" in out
    assert "- grid (--grid): got [10, 'a']; expected integer or list of integer" in out
    assert "- mechanisms (--mechanisms), item 2:" in out and "(got 'fermionic_bth') (did you mean 'fermionic_bath'?)" in out
    assert not any(x in out for x in ("mu.str", "list[", "mechanisms.1", "constrained-int"))
    # a union's branch that has the value's type names its own constraint; a nested value its path
    res = run("geometry", "--model", "qi_wu_zhang", "--grid", "0")
    assert "- grid (--grid): Input should be greater than 0 (got 0)" in res.output
    cfg.write_text('[model]\nname = "qi_wu_zhang"\nparameters = { u = "abc" }\n')
    assert "- parameters.u (--param): got 'abc'; expected a valid number" in run("geometry", "--config", str(cfg)).output
    res = run("dc", "--model", "pt_tilted_4bnd", "--components", "xyy")
    assert res.exit_code == 2 and "name (--model): unknown model 'pt_tilted_4bnd' (did you mean 'pt_tilted_4band'?)" \
        in " ".join(res.output.split())


def test_unknown_table_and_wannier_only_options(tmp_path):
    cfg = tmp_path / "run.toml"
    cfg.write_text('[model]\nname = "qi_wu_zhang"\n[optcal]\nmu = 1\n')
    res = run("geometry", "--config", str(cfg))
    assert res.exit_code == 2 and "optcal" in res.output and "allowed tables" in res.output
    assert "(did you mean 'optical'?)" in res.output
    res = run("geometry", "--model", "qi_wu_zhang", "--position-operator", "full")
    assert res.exit_code == 2 and "Wannier90 models" in res.output
    res = run("geometry", "--wannier90", str(GAAS), "--param", "u=1")
    assert res.exit_code == 2 and "library models only" in res.output


def test_dc_on_a_wannier90_model_matches_the_api(tmp_path):
    """`qgeom dc --wannier90` (issue 12 item 3) gives the API's numbers on the shipped GaAs model."""
    out = tmp_path / "gaas.nc"
    res = run("dc", "--wannier90", str(GAAS), "--components", "xyz,xxx", "--mu", "7.6,8.2",
              "--temperature", "0.025", "--grid", "4", "--symmetry", "none", "--out", str(out))
    assert res.exit_code == 0, res.output
    ds = load(out)
    api = expansion(from_wannier90(GAAS), components="xyz,xxx", mu=[7.6, 8.2], temperature=0.025, grid=4,
                    progress=False, symmetry=None)  # the model's own sums (at defaults every GaAs term is 0)
    assert metadata(ds, "model")["name"] == "GaAs"
    assert np.abs(api.sigma.values).max() > 0
    np.testing.assert_allclose(ds.sigma.values, api.sigma.values, rtol=1e-12, atol=0)


def test_model_table_can_name_a_wannier90_model(tmp_path):
    cfg = tmp_path / "run.toml"
    cfg.write_text(f'[model]\nwannier90 = "{GAAS.as_posix()}"\n[geometry]\ngrid = 3\n')
    res = run("geometry", "--config", str(cfg), "--out", str(tmp_path / "g.nc"))
    assert res.exit_code == 0, res.output
    assert metadata(load(tmp_path / "g.nc"), "grid")["shape"] == [3, 3, 3]
    # --model on the command line replaces the file's Wannier90 model
    res = run("geometry", "--config", str(cfg), "--model", "qi_wu_zhang", "--out", str(tmp_path / "q.nc"))
    assert res.exit_code == 0, res.output
    assert metadata(load(tmp_path / "q.nc"), "model")["name"] == "qi_wu_zhang"


def test_dc_default_mu_meets_the_bands(tmp_path):
    """The default μ spans the model's bands: on pt_tilted_4band (gap |E| < ~1) the old default
    -1:1:21 gave only ~1e-9 values; now the Drude coefficient is O(1) inside the bands."""
    model = pt_tilted_4band()
    mu, _ = auto_mu(model)
    assert len(mu) == 21 and mu.min() < -2 and mu.max() > 2
    out = tmp_path / "d.nc"
    res = run("dc", "--model", "pt_tilted_4band", "--components", "xxx", "--grid", "24", "--out", str(out))
    assert res.exit_code == 0, res.output
    ds = load(out)
    np.testing.assert_allclose(ds.mu.values, mu, rtol=1e-12)
    drude = ds.sigma.sel(mechanism="fermionic_bath", term="drude", component="xxx").values
    assert np.abs(drude).max() > 1e-2


def test_model_table_restores_and_symmetrizes_a_wannier90_model(tmp_path):
    """[model] restore_time_reversal / symmetrize (and their flags) build the T_d-symmetric GaAs: every DC term
    is then a Neumann zero at default settings; the removed breaking travels with the result; library models
    refuse the options."""
    cfg = tmp_path / "run.toml"
    cfg.write_text(f'[model]\nwannier90 = "{GAAS.as_posix()}"\nrestore_time_reversal = true\nsymmetrize = "-43m"\n')
    out = tmp_path / "gaas.nc"
    res = run("dc", "--config", str(cfg), "--components", "xyz,zxy", "--mu", "7.6,8.2", "--temperature", "0.025",
              "--grid", "4", "--out", str(out))
    assert res.exit_code == 0, res.output
    ds = load(out)
    assert ds.forbidden.values.all() and np.all(ds.sigma.values == 0)
    params = metadata(ds, "model")["parameters"]
    assert params["point_group_symmetrized"]["representation"] == "fitted"
    assert params["time_reversal_restored"]["spinor_ordering"] == "fitted"
    res = run("geometry", "--wannier90", str(GAAS), "--symmetrize-model", "-43m", "--grid", "3", "--out",
              str(tmp_path / "g.nc"))
    assert res.exit_code == 0, res.output
    res = run("geometry", "--model", "qi_wu_zhang", "--restore-time-reversal")
    assert res.exit_code == 2 and "restore_time_reversal applies to Wannier90 models" in res.output
    res = run("geometry", "--model", "qi_wu_zhang", "--displacement-field", "0.1", "--exchange-field", "0.1")
    assert res.exit_code == 2 and "displacement_field, exchange_field apply to Wannier90 models" in res.output


def test_restoring_time_reversal_of_a_magnet_needs_allow_magnetic(tmp_path):
    """--restore-time-reversal on bcc Fe (changed by 1.36 eV: magnetic) is refused with the flag that forces it;
    --allow-magnetic does, and alone (without the restoring it allows) is refused."""
    fe = ROOT / "examples" / "Fe"
    args = ["geometry", "--wannier90", str(fe), "--grid", "2", "--quiet"]
    res = run(*args, "--restore-time-reversal", "--out", str(tmp_path / "a.nc"))
    assert res.exit_code != 0 and "by up to 1.36 eV" in res.output and "the model is magnetic" in res.output
    assert "--allow-magnetic" in res.output and not (tmp_path / "a.nc").exists()
    res = run(*args, "--restore-time-reversal", "--allow-magnetic", "--out", str(tmp_path / "b.nc"))
    assert res.exit_code == 0, res.output
    restored = metadata(load(tmp_path / "b.nc"), "model")["parameters"]["time_reversal_restored"]
    assert restored["max_abs_change_eV"] > 1
    res = run(*args, "--allow-magnetic", "--out", str(tmp_path / "c.nc"))
    assert res.exit_code == 2 and "give restore_time_reversal (--restore-time-reversal) too" in res.output


def test_single_mu_commands_default_to_the_models_fermi_energy(tmp_path):
    """optical and dc-exact take μ = the Fermi energy of the model's files (GaAs.win: 7.9366 eV) unless
    given — 0 eV is deep in GaAs's valence bands; an asked-for τ-kind without --tau names the flag and the kinds
    without it."""
    gaas = str(GAAS)
    res = run("optical", "--wannier90", gaas, "--observable", "current_x", "--grid", "2", "--kind", "kramers_injection",
              "--kind", "kramers_fermi_sea", "--kind", "shift_like", "--out", str(tmp_path / "t.nc"))
    assert res.exit_code != 0
    assert "pass --tau (ps, e.g. --tau 0.1), or leave it out: --kind kramers_fermi_sea --kind shift_like" in res.output
    res = run("optical", "--wannier90", gaas, "--observable", "current_x", "--grid", "2", "--tau", "0.1",
              "--omega", "1", "2", "3", "--out", str(tmp_path / "o.nc"), "--quiet")
    assert res.exit_code == 0, res.output
    assert "mu = 7.9366 eV (the model's Fermi energy)" in res.output
    # GaAs (−43m) forbids chi^xy of the x current; the default shows the largest component, yz (σ^xyz)
    assert "chi^yz (the largest component; --component for another)" in res.output
    assert metadata(load(tmp_path / "o.nc"), "parameters")["mu"] == pytest.approx(7.9366)
    res = run("dc-exact", "--wannier90", gaas, "--grid", "2", "--gamma", "0.05", "--no-fit", "--symmetry", "none",
              "--out", str(tmp_path / "e.nc"), "--quiet")
    assert res.exit_code == 0, res.output
    np.testing.assert_allclose(load(tmp_path / "e.nc").mu.values, [7.9366])
    res = run("optical", "--model", "qi_wu_zhang", "--observable", "current_x", "--kind", "shift_like", "--grid", "4",
              "--out", str(tmp_path / "q.nc"), "--quiet")
    assert res.exit_code == 0 and "mu = 0 " in res.output and "gives no Fermi energy" in res.output
    np.testing.assert_allclose(load(tmp_path / "q.nc").omega.values, np.linspace(0.01, 0.3, 59))  # model units
    # a material's default ħω range covers its interband transitions: 0.1-4 eV
    res = run("optical", "--wannier90", gaas, "--observable", "current_x", "--kind", "shift_like", "--grid", "2",
              "--out", str(tmp_path / "w.nc"), "--quiet")
    assert res.exit_code == 0, res.output
    np.testing.assert_allclose(load(tmp_path / "w.nc").omega.values, np.linspace(0.1, 4.0, 79))


def test_dc_auto_mu_centres_on_the_fermi_energy_of_a_wannier_model(tmp_path):
    """`--mu auto` on a model whose files give E_F (GaAs.win: 7.9366 eV): E_F ± 0.5 eV, said in the output;
    the library models (no E_F) keep the range across their bands."""
    out = tmp_path / "g.nc"
    res = run("dc", "--wannier90", str(GAAS), "--grid", "2", "--out", str(out), "--quiet")
    assert res.exit_code == 0, res.output
    np.testing.assert_allclose(load(out).mu.values, np.linspace(7.4366, 8.4366, 21), rtol=1e-12)
    assert "mu: auto, 21 values 7.4366 ... 8.4366 eV (the model's Fermi energy 7.9366 ± 0.5 eV)" in res.output


def test_field_flags_build_the_models_of_the_api(tmp_path):
    """--restore-time-reversal --displacement-field F --exchange-field J (or the [model] keys) build
    with_exchange_field(with_displacement_field(restore_time_reversal(model), F), J): the same σ as the API;
    library models refuse them."""
    from qgeom.models.onsite import with_exchange_field
    from qgeom.models.symmetrize import restore_time_reversal
    from qgeom.models.two_dimensional import with_displacement_field

    mos2 = ROOT / "examples" / "MoS2-1Tp"
    kw = ["--components", "yxx,xxx", "--mu", "-3.8,-3.6", "--temperature", "0.025", "--grid", "12,8"]
    out = tmp_path / "f.nc"
    res = run("dc", "--wannier90", str(mos2), "--restore-time-reversal", "--displacement-field", "0.1",
              "--exchange-field", "0.05", *kw, "--out", str(out), "--quiet")
    assert res.exit_code == 0, res.output
    model = with_exchange_field(with_displacement_field(restore_time_reversal(from_wannier90(mos2)), 0.1), 0.05)
    api = expansion(model, components="yxx,xxx", mu=[-3.8, -3.6], temperature=0.025, grid=(12, 8), progress=False)
    ds = load(out)
    assert metadata(ds, "model")["parameters"]["exchange_field"]["J"] == 0.05
    assert np.abs(api.sigma.sel(term="drude").values).max() > 0
    np.testing.assert_allclose(ds.sigma.values, api.sigma.values, rtol=1e-12, atol=0)
    cfg = tmp_path / "run.toml"
    cfg.write_text(f'[model]\nwannier90 = "{mos2.as_posix()}"\nrestore_time_reversal = true\n'
                   'displacement_field = 0.1\nexchange_field = 0.05\n')
    res = run("dc", "--config", str(cfg), *kw, "--out", str(tmp_path / "c.nc"), "--quiet")
    assert res.exit_code == 0, res.output
    np.testing.assert_allclose(load(tmp_path / "c.nc").sigma.values, api.sigma.values, rtol=1e-12, atol=0)
    res = run("dc", "--model", "qi_wu_zhang", "--exchange-field", "0.1", "--out", str(tmp_path / "q.nc"))
    assert res.exit_code != 0 and "Wannier90 models" in res.output
    res = run("dc", "--wannier90", str(mos2), "--exchange-axis", "x", "--out", str(tmp_path / "a.nc"))
    assert res.exit_code != 0 and "give exchange_field (--exchange-field J) too" in res.output


@pytest.mark.parametrize("command", ["dc", "dc-exact"])
def test_empty_components_is_an_error_not_the_default(command, tmp_path):
    """--components '' (or a TOML components = []) named nothing and silently became the default."""
    res = run(command, "--model", "qi_wu_zhang", "--components", "", "--out", str(tmp_path / "x.nc"))
    assert res.exit_code == 2 and "components (--components)" in res.output
    assert "is empty: name at least one" in res.output and not (tmp_path / "x.nc").exists()
    cfg = tmp_path / "c.toml"
    cfg.write_text(f'[model]\nname = "qi_wu_zhang"\n[{command}]\ncomponents = []\n')
    res = run(command, "--config", str(cfg), "--out", str(tmp_path / "x.nc"))
    assert res.exit_code == 2 and "is empty" in res.output


def test_plot_empty_components_is_an_error(tmp_path):
    out = tmp_path / "d.nc"
    assert run("dc", "--model", "qi_wu_zhang", "--grid", "8", "--mu", "0", "--refine", "0", "--quiet",
               "--out", str(out)).exit_code == 0
    res = run("plot", str(out), "--components", ",", "--out", str(tmp_path / "p.png"))
    assert res.exit_code == 2 and "--components is empty: name at least one" in res.output


def test_config_model_path_is_relative_to_the_config_file(tmp_path, monkeypatch):
    """`wannier90 = "GaAs"` in a config file names the GaAs beside the file, wherever the command runs; a path
    that is not there keeps meaning the working directory's."""
    from qgeom.cli.model_loader import load

    here = tmp_path / "project"
    (here / "GaAs").mkdir(parents=True)
    for name in ("GaAs_tb.dat", "GaAs.win"):
        (here / "GaAs" / name).write_bytes((GAAS / name).read_bytes())
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    for entry in ("GaAs", "GaAs/GaAs", "GaAs/GaAs_tb.dat"):  # directory, seedname, file
        (here / "c.toml").write_text(f'[model]\nwannier90 = "{entry}"\n')
        model = load({"config": str(here / "c.toml")}).model
        assert model.name == "GaAs" and model.parameters["source"] == "GaAs_tb.dat"
    (tmp_path / "configs").mkdir()
    (tmp_path / "configs" / "c.toml").write_text('[model]\nwannier90 = "../project/GaAs"\n')
    assert load({"config": str(tmp_path / "configs" / "c.toml")}).model.name == "GaAs"
    monkeypatch.chdir(here)  # not beside the config: the working directory's, as before
    (elsewhere / "c.toml").write_text('[model]\nwannier90 = "GaAs"\n')
    assert load({"config": str(elsewhere / "c.toml")}).model.name == "GaAs"
    monkeypatch.chdir(tmp_path)
    res = run("bands", "--config", str(elsewhere / "c.toml"))
    assert res.exit_code != 0 and "GaAs" in res.output


def test_a_large_hopping_file_is_announced_before_it_is_read(tmp_path, monkeypatch):
    """A hopping file that takes a while to read (a 100-orbital model's 1.5 GB `_hr.dat`: ~40 s) gets a line on
    stderr first, naming it with its size and the time it takes; a small one reads silently."""
    from qgeom.cli import model_loader

    args = ("bands", "--wannier90", str(GAAS), "--npoints", "20", "--overwrite", "--out", str(tmp_path / "b.nc"))
    runner = CliRunner(mix_stderr=False) if "mix_stderr" in CliRunner.__init__.__code__.co_varnames else CliRunner()
    res = runner.invoke(main, list(args))
    assert res.exit_code == 0, res.output
    assert "reading GaAs_tb.dat" not in res.stderr
    monkeypatch.setattr(model_loader, "LARGE_FILE_BYTES", 1)
    res = runner.invoke(main, list(args))
    assert res.exit_code == 0, res.output
    size = (GAAS / "GaAs_tb.dat").stat().st_size
    assert f"reading GaAs_tb.dat ({size / 1e9:.1f} GB, about {size / model_loader.READ_BYTES_PER_S:.0f} s) ..." in res.stderr
