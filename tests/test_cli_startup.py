"""`qgeom --version` / `qgeom --help` start without importing the heavy libraries (issue 14 item 8)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from qgeom.cli import COMMANDS, main

SRC = str(Path(__file__).resolve().parents[1] / "src")
HEAVY = ("numpy", "scipy", "xarray", "sympy", "matplotlib", "pydantic", "h5netcdf", "tqdm")
PROBE = """
import sys
from qgeom.cli import main
try:
    main([{arg!r}], prog_name="qgeom")
except SystemExit as e:
    assert e.code == 0, e.code
print("LOADED", *sorted(m for m in {heavy!r} if m in sys.modules))
"""


@pytest.mark.parametrize("arg", ["--version", "--help"])
def test_top_level_flags_import_no_heavy_library(arg):
    env = {**os.environ, "PYTHONPATH": SRC}
    out = subprocess.run([sys.executable, "-c", PROBE.format(arg=arg, heavy=HEAVY)], env=env,
                         capture_output=True, text=True, check=True).stdout
    assert out.splitlines()[-1] == "LOADED", out


def test_help_lists_every_command_with_its_own_docstring():
    ctx = click.Context(main)
    for name, (_, _, short) in COMMANDS.items():
        assert main.get_command(ctx, name).get_short_help_str(limit=1000) == short, name
    res = CliRunner().invoke(main, ["--help"])
    assert res.exit_code == 0 and all(name in res.output for name in COMMANDS)


def test_unknown_command_is_reported():
    res = CliRunner().invoke(main, ["dcc"])
    assert res.exit_code == 2 and "No such command 'dcc'" in res.output


@pytest.mark.parametrize("module", ["qgeom", "qgeom.cli.dc", "qgeom.models", "qgeom.dc"])
def test_sympy_only_for_kp_models(module):
    """SymPy (0.3 s of import, ~0.8 s of `qgeom dc --help`) is loaded by the k·p models only."""
    code = f"import sys, {module}; print('sympy' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], env={**os.environ, "PYTHONPATH": SRC},
                         capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False", out
    code = "import sys; from qgeom.models import KPModel; print('sympy' in sys.modules, KPModel.__name__)"
    out = subprocess.run([sys.executable, "-c", code], env={**os.environ, "PYTHONPATH": SRC},
                         capture_output=True, text=True, check=True).stdout
    assert out.strip() == "True KPModel", out
