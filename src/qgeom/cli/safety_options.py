"""`--overwrite`, `--error-tol` and `--force` for the commands that write results, and the run-wide safety context.

The command body sees no new argument: the flags set `outputs.overwrite_policy`,
`accuracy.tolerance_policy` and `resources.force_policy` for the call, so `check_output`, `save`,
`save_figure` and `to_text` refuse to replace an existing file unless --overwrite was given,
every result judges its error estimate against --error-tol, and the size guard refuses
computations beyond the machine unless --force. SIGTERM/SIGHUP become exceptions so that temporary files and
worker pools are cleaned up when a run is killed; accuracy and checkpoint warnings are printed
as one `warning:` line each on stderr — as is every other warning qgeom issues (symmetry, model files):
a user of the command line reads the message, not the Python source line that raised it.
"""

from __future__ import annotations

import contextlib
import functools
import warnings
from pathlib import Path

import click

from ..accuracy import DEFAULT_ERROR_TOL, AccuracyWarning, tolerance_policy
from ..outputs import overwrite_policy, signals_as_exceptions
from ..resources import force_policy


def _tolerance(ctx, param, value):
    if value is not None and not value > 0:  # also NaN
        raise click.BadParameter(f"must be a positive number (relative error, e.g. 0.05), got {value}.")
    return value


_PACKAGE_DIR = str(Path(__file__).resolve().parents[1])


def _from_qgeom(category, filename: str) -> bool:
    """Whether a warning is qgeom's own: its category is defined in qgeom, or it was raised from qgeom's code."""
    return category.__module__.split(".")[0] == "qgeom" or str(filename).startswith(_PACKAGE_DIR)


@contextlib.contextmanager
def _warnings_as_lines():
    from ..checkpoint import CheckpointWarning
    from ..near_degeneracy import NearDegeneracyWarning

    with warnings.catch_warnings():  # restores the filters and showwarning on exit
        warnings.simplefilter("always", AccuracyWarning)
        warnings.simplefilter("always", CheckpointWarning)
        # the commands print their own line, with the command line's options (common.warn_near_degenerate)
        warnings.simplefilter("ignore", NearDegeneracyWarning)
        previous = warnings.showwarning

        def show(message, category, filename, lineno, file=None, line=None):
            if issubclass(category, UserWarning) and _from_qgeom(category, filename):
                click.echo(f"warning: {message}", err=True)
            else:
                previous(message, category, filename, lineno, file, line)

        warnings.showwarning = show
        yield


def safety_options(f=None, *, accuracy: bool = True):
    """Add --overwrite (and, for commands that integrate over k, --error-tol and --force); run the
    command inside their policies and the signal guard. `@safety_options(accuracy=False)` for commands
    that only write files."""
    if f is None:
        return functools.partial(safety_options, accuracy=accuracy)

    @functools.wraps(f)
    def wrapper(*args, overwrite=False, error_tol=None, force=False, **kwargs):
        with overwrite_policy(overwrite), tolerance_policy(error_tol or DEFAULT_ERROR_TOL), force_policy(force), \
                signals_as_exceptions(), _warnings_as_lines():
            return f(*args, **kwargs)

    if accuracy:
        wrapper = click.option(
            "--force", is_flag=True, default=False,
            help="Run even when the size estimate exceeds the available memory or a month of compute (default: refuse).",
        )(wrapper)
        wrapper = click.option(
            "--error-tol", "error_tol", type=float, default=None, callback=_tolerance, metavar="REL",
            help=f"Warn when a result's estimated k-grid discretization error exceeds REL relative to its "
                 f"scale (default {DEFAULT_ERROR_TOL}; the estimate is stored as <variable>_error).",
        )(wrapper)
    return click.option(
        "--overwrite", is_flag=True, default=False,
        help="Replace existing output files (default: refuse, before computing anything).",
    )(wrapper)
