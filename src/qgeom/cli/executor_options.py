"""`--workers`, `--scheduler`, `--checkpoint`: one reusable decorator for every command that
integrates over k (they map to the keywords of `kspace.integrate`)."""

from __future__ import annotations

from typing import Any

import click


def executor_options(f):
    """Add --workers N, --scheduler ADDRESS, --checkpoint DIR and --quiet; the command receives the
    first three as the keyword `executor` (a dict to pass on as **executor to integrate/expansion)
    and runs inside `progress.reporting` (size of each k-sum and its progress on stderr)."""
    f = click.option(
        "--quiet", "quiet", is_flag=True, default=False,
        help="No run header and no progress on stderr (default: shown; plain lines when not a terminal).",
    )(f)
    f = click.option(
        "--checkpoint", "checkpoint", type=click.Path(file_okay=False), default=None, metavar="DIR",
        help="Write finished k-chunk sums to DIR; rerunning the same command resumes from them.  [default: none]",
    )(f)
    f = click.option(
        "--scheduler", "scheduler", default=None, metavar="ADDRESS", callback=_scheduler,
        help="Dask scheduler address (tcp://host:8786), or 'local' to start a local Dask cluster.  [default: none]",
    )(f)
    f = click.option(
        "--workers", "workers", type=click.IntRange(min=1), default=None, metavar="N",
        help="Parallel worker processes for the k-sum.  [default: in-process]",
    )(f)
    return _collect(f)


def _scheduler(ctx, param, value):
    """--scheduler checked while the command line is read, before the model (`executors.check_scheduler`)."""
    if value is not None:
        from .._validation import QgeomInputError
        from ..executors import check_scheduler

        try:
            check_scheduler(value)
        except QgeomInputError as exc:
            raise click.BadParameter(str(exc)) from None
    return value


def _collect(f):
    import functools

    from ..outputs import Terminated
    from ..progress import reporting

    @functools.wraps(f)
    def wrapper(*args, workers=None, scheduler=None, checkpoint=None, quiet=False, **kwargs: Any):
        try:
            with reporting(quiet=quiet):
                return f(*args, executor=executor_kwargs(workers, scheduler, checkpoint), **kwargs)
        except (KeyboardInterrupt, Terminated):  # Ctrl-C, or SIGTERM/SIGHUP (a batch system's time limit)
            if checkpoint is not None:  # click then prints "Aborted!" (Ctrl-C): say what the interrupted run kept
                click.echo(f"\ninterrupted: {interrupted_note(checkpoint)}", err=True)
            raise

    return wrapper


def interrupted_note(checkpoint: str) -> str:
    """What an interrupted run with --checkpoint DIR leaves: its finished chunks, and how to resume."""
    from ..checkpoint import saved_chunks

    n = saved_chunks(checkpoint)
    return (f"{n} finished k-chunk{'' if n == 1 else 's'} saved in {checkpoint}; rerunning the same command "
            "resumes from them.")


def executor_kwargs(workers: int | None, scheduler: str | None, checkpoint: str | None) -> dict[str, Any]:
    return {"workers": workers, "scheduler": scheduler, "checkpoint": checkpoint}
