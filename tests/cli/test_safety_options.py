"""The command line prints qgeom's warnings as one `warning:` line each, not as Python source locations."""

import warnings

import click
from click.testing import CliRunner

from qgeom.cli.safety_options import safety_options
from qgeom.symmetry import SymmetryWarning


@click.command()
@safety_options(accuracy=False)
def noisy():
    warnings.warn("symmetry: the model keeps the group mm2", SymmetryWarning, stacklevel=2)
    warnings.warn("a library's own warning", DeprecationWarning, stacklevel=2)
    click.echo("done")


def test_qgeom_warnings_are_single_lines_and_others_keep_their_format():
    with warnings.catch_warnings():
        warnings.simplefilter("always")
        res = CliRunner().invoke(noisy, [])
    assert res.exit_code == 0, res.output
    assert "warning: symmetry: the model keeps the group mm2\n" in res.output
    assert "SymmetryWarning" not in res.output
    assert "warning: a library's own warning" not in res.output  # not qgeom's: left to Python's handler
