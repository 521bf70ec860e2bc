"""`--overwrite` for every command that writes files, and the run-wide safety context.

The command body sees no new argument: the flag sets `outputs.overwrite_policy` for the call, so
`check_output`, `save`, `save_figure` and `to_text` refuse to replace an existing file unless it
was given; SIGTERM/SIGHUP become exceptions so that temporary files and worker pools are cleaned
up when a run is killed.
"""

from __future__ import annotations

import functools

import click

from ..outputs import overwrite_policy, signals_as_exceptions


def safety_options(f):
    """Add --overwrite; run the command inside the overwrite policy and the signal guard."""

    @functools.wraps(f)
    def wrapper(*args, overwrite=False, **kwargs):
        with overwrite_policy(overwrite), signals_as_exceptions():
            return f(*args, **kwargs)

    return click.option(
        "--overwrite", is_flag=True, default=False,
        help="Replace existing output files (default: refuse, before computing anything).",
    )(wrapper)
