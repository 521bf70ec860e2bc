"""The command tables' values: true/false is not a number (nor a number true/false), and the value lists
(--mu, --gamma, dc-exact --omega) are read by one parser when the options are validated, before any k-sum."""

from __future__ import annotations

import numpy as np
import pytest
from click.testing import CliRunner

from qgeom.cli import main
from qgeom.cli.tables import parse_values
from qgeom.results import load

MODEL = ["--model", "pt_tilted_4band"]


def run(*args):
    return CliRunner().invoke(main, [str(a) for a in args])


def flat(res) -> str:
    return " ".join(res.output.split())


def test_true_false_where_a_number_is_expected_and_back(tmp_path):
    """pydantic's lax mode ran `grid = true` on a [1, 1] grid and `blocks = 1` as true."""
    cfg, out = tmp_path / "run.toml", tmp_path / "x.nc"
    cfg.write_text('[model]\nname = "pt_tilted_4band"\n[dc]\ngrid = true\nmu = [0.1, false]\nblocks = 1\n'
                   "temperature = true\n")
    res = run("dc", "--config", cfg, "--out", out)
    text = flat(res)
    assert res.exit_code == 2, res.output
    assert "- grid (--grid): got True; expected integer or list of integer, and true/false is not a number" in text
    assert "- mu (--mu): got [0.1, False]; expected number or list of number or string, and true/false" in text
    assert "- temperature (--temperature): got True; expected number, and true/false is not a number" in text
    assert "- blocks (--blocks): got 1; expected true/false" in text
    assert not out.exists()


def test_dc_mu_in_a_config_may_be_one_number_and_a_bad_entry_is_named(tmp_path):
    cfg, out = tmp_path / "run.toml", tmp_path / "x.nc"
    cfg.write_text('[model]\nname = "pt_tilted_4band"\n[dc]\nmu = -4\ngrid = 4\n')
    res = run("dc", "--config", cfg, "--out", out)
    assert res.exit_code == 0, res.output
    np.testing.assert_array_equal(load(out).mu.values, [-4.0])
    cfg.write_text('[model]\nname = "pt_tilted_4band"\n[dc]\nmu = [-4.0, -3.9, "x"]\n')
    res = run("dc", "--config", cfg, "--out", tmp_path / "y.nc")
    assert res.exit_code == 2, res.output
    assert "- mu (--mu): got [-4.0, -3.9, 'x']: item 3, 'x', is not a number" in flat(res)
    assert not (tmp_path / "y.nc").exists()


@pytest.mark.parametrize("omega, message", [
    ("abc", "got 'abc': use 'start:stop:num' (e.g. -1:1:21), a comma list (e.g. -0.5,0,0.5)"),
    ("nan", "got 'nan': nan is not a finite number"),
    ("1:-1:0", "got '1:-1:0', which gives no values: pass at least one (num >= 1 in start:stop:num)"),
])
def test_dc_exact_omega_is_checked_before_the_gamma_scan(omega, message, tmp_path):
    """--omega was read after the Γ scan had run and written its .nc and .png (and 1:-1:0 wrote an empty axis)."""
    out = tmp_path / "e.nc"
    res = run("dc-exact", *MODEL, "--grid", 4, "--mu", 0, f"--omega={omega}", "--out", out)
    assert res.exit_code == 2, res.output
    assert f"- omega (--omega): {message}" in flat(res)
    assert list(tmp_path.iterdir()) == [], "nothing is written"


def test_zero_mu_points_and_text_are_refused_like_the_other_lists(tmp_path):
    res = run("dc", *MODEL, "--grid", 4, "--mu=-3:-4:0", "--out", tmp_path / "x.nc")
    assert res.exit_code == 2, res.output
    assert "- mu (--mu): got '-3:-4:0', which gives no values" in flat(res)
    res = run("dc", *MODEL, "--grid", 4, "--mu=x", "--out", tmp_path / "x.nc")
    assert "- mu (--mu): got 'x': use 'start:stop:num' (e.g. -1:1:21), a comma list (e.g. -0.5,0,0.5) or auto" \
        in flat(res)


@pytest.mark.parametrize("fit", [[], ["--no-fit"]])
def test_a_negative_gamma_is_named_before_the_fit_count(fit, tmp_path):
    """With the fit, two Γ values reported the fit's count, not the negative Γ."""
    res = run("dc-exact", *MODEL, "--grid", 4, "--mu", 0, "--gamma=-0.01,0.02", *fit, "--out", tmp_path / "e.nc")
    assert res.exit_code == 2, res.output
    assert "- gamma (--gamma): got '-0.01,0.02': -0.01 is not positive; every value must be > 0" in flat(res)
    assert "fit" not in res.output and list(tmp_path.iterdir()) == []


def test_the_value_parser():
    assert parse_values("-1:1:3") == [-1.0, 0.0, 1.0]
    assert parse_values(" 0.5, 1 ") == [0.5, 1.0]
    assert parse_values(2) == [2.0] and parse_values([1, 2.5]) == [1.0, 2.5]
    assert parse_values("auto", keywords=("auto",)) == "auto"
    for bad in (True, [1, True], "auto", "1:2", "1:2:-1", "1:2:1.5", [], "inf", None):
        with pytest.raises(ValueError):
            parse_values(bad)
    with pytest.raises(ValueError, match="0 is not positive"):
        parse_values([0.01, 0], positive=True)
