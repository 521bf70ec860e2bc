"""Progress reporting of long k-sums: a header with the size of the run before the work starts,
then a bar on an interactive terminal, or plain lines at a steady rate when stderr is not a
terminal (CI logs, batch jobs, `2> log`). Everything goes to stderr, so results on stdout stay
clean.

Library calls (`progress=None`) show only the bar, and only on an interactive terminal. Command-line
runs (`reporting()`, entered by every command that integrates over k) always print the header and
the progress (lines when piped), unless `--quiet`.
"""

from __future__ import annotations

import math
import os
import sys
import time
from contextlib import contextmanager

LINE_INTERVAL_S = 10.0  # plain progress lines: at most one per interval (plus the first and the last)
_MODE = {"cli": False, "quiet": False}


@contextmanager
def reporting(*, quiet: bool = False):
    """Command-line reporting for the duration of the block: header and progress on stderr
    (plain lines when it is not a terminal), or nothing with `quiet`."""
    old = dict(_MODE)
    _MODE.update(cli=True, quiet=quiet)
    try:
        yield
    finally:
        _MODE.update(old)


def _interactive() -> bool:
    return sys.stderr.isatty() and not os.environ.get("CI")


def progress_enabled(enabled: bool | None) -> bool:
    if _MODE["quiet"]:
        return False
    if enabled is not None:
        return enabled
    return _MODE["cli"] or _interactive()


def _duration(seconds: float) -> str:
    if seconds < 90:
        return f"{seconds:.1f} s"
    if seconds < 5400:
        return f"{seconds / 60:.1f} min"
    return f"{seconds / 3600:.1f} h"


class ChunkProgress:
    """Counts finished k-chunks (in any executor; resumed chunks count as done). `header` (the
    size of the run) is printed first; the time estimate follows the first finished chunk, with
    `parallel` chunks computed at once."""

    def __init__(self, total: int, enabled: bool | None, initial: int = 0, header: str | None = None,
                 parallel: int = 1):
        self.total, self.done, self.initial = total, initial, initial
        self.parallel = max(1, int(parallel))  # chunks computed at once (workers of a pool or cluster)
        self.on = progress_enabled(enabled)
        self._bar = None
        self._t0 = self._last = time.monotonic()
        if not self.on:
            return
        if header:
            print(header, file=sys.stderr, flush=True)
        if initial:  # a checkpoint's finished chunks: say so, or the time estimate looks off by them
            self._line(f"resumed: {initial} of {total} chunks from the checkpoint")
        if _interactive():
            from tqdm.auto import tqdm

            self._bar = tqdm(total=total, initial=initial, unit="chunk", leave=False, file=sys.stderr)

    def _line(self, text: str) -> None:
        print(f"  {text}", file=sys.stderr, flush=True)

    def update(self, n: int) -> None:
        self.done += n
        if not self.on:
            return
        if self._bar is not None:
            self._bar.update(n)
            return
        now = time.monotonic()
        computed = self.done - self.initial
        elapsed = now - self._t0
        left = elapsed / computed * (self.total - self.done) if computed else float("nan")
        if computed == n and self.done < self.total:  # first chunk: the time estimate
            # the others run `parallel` at a time (a pool's first chunk is not the first of N·workers in a row)
            todo = self.total - self.initial
            self._line(f"first chunk {_duration(elapsed)}: about {_duration(elapsed * math.ceil(todo / self.parallel))}"
                       f" for {todo} chunks")
            self._last = now
        elif now - self._last >= LINE_INTERVAL_S and self.done < self.total:
            self._line(f"{self.done}/{self.total} chunks ({100 * self.done / self.total:.0f} %), "
                       f"{_duration(elapsed)} elapsed, about {_duration(left)} left")
            self._last = now

    def __enter__(self):
        return self

    def __exit__(self, exc_type, *exc) -> None:
        if self._bar is not None:
            self._bar.close()
        elif self.on and exc_type is None:
            self._line(f"done: {self.total} chunks in {_duration(time.monotonic() - self._t0)}")
