"""Progress reporting of long k-sums: a header with the size of the run before the work starts,
then a bar on an interactive terminal, or plain lines at a steady rate when stderr is not a
terminal (CI logs, batch jobs, `2> log`). Everything goes to stderr, so results on stdout stay
clean.

Library calls (`progress=None`) show only the bar, and only on an interactive terminal. Command-line
runs (`reporting()`, entered by every command that integrates over k) always print the header and
the progress (lines when piped), unless `--quiet`.
"""

from __future__ import annotations

import contextvars
import dataclasses
import os
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager

LINE_INTERVAL_S = 10.0  # plain progress lines: at most one per interval (plus the first and the last)
REVISED_BY = 1.25  # the start-up-free rate revises the first chunk's estimate when off by more than this factor
_MODE = {"cli": False, "quiet": False}
_RECORDS: contextvars.ContextVar[tuple] = contextvars.ContextVar("qgeom_compute_time", default=())


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
    if seconds < 0.95:  # a chunk's rate: two significant digits, not "0.0 s"
        return f"{seconds:.2g} s"
    if seconds < 90:
        return f"{seconds:.1f} s"
    if seconds < 5400:
        return f"{seconds / 60:.1f} min"
    return f"{seconds / 3600:.1f} h"


class ChunkProgress:
    """Counts finished k-chunks (in any executor; resumed chunks count as done). `header` (the
    size of the run) is printed first; the time estimate follows the first finished chunk. That chunk
    also carries the run's one-off start-up (a pool's workers, imports, a model's or an integrand's
    first-call caches), which can exceed the chunks' own cost many times over: once `parallel` (the
    chunks the executor runs at once) more chunks have finished, the rate since the first one — free
    of start-up — revises the estimate (said when it moves by more than REVISED_BY) and makes every
    later "left". Only the chunks still to compute are extrapolated (a resumed run's are done)."""

    def __init__(self, total: int, enabled: bool | None, initial: int = 0, header: str | None = None,
                 parallel: int = 1):
        self.total, self.done, self.initial = total, initial, initial
        self.parallel = max(1, int(parallel))
        self.on = progress_enabled(enabled)
        self._bar = None
        self._t0 = self._last = time.monotonic()
        self._first = None  # (time, chunks done) when the first computed chunk finished
        self._steady = False  # `parallel` chunks have finished since the first: its start-up is out of the rate
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
        if self.done >= self.total:  # the last chunk: the "done" line follows
            return
        if self._first is None:  # the first chunk, start-up included: the only rate there is yet
            self._first = (now, self.done)
            todo = self.total - self.initial
            self._say(now, f"first chunk {_duration(now - self._t0)}: about {_duration(self._first_rate() * todo)} "
                           f"for {todo} chunks")
            return
        if not self._steady and self.done - self._first[1] >= self.parallel:
            self._steady = True
            if self._revised(now):
                return
        if now - self._last >= LINE_INTERVAL_S:
            self._say(now, f"{self.done}/{self.total} chunks ({100 * self.done / self.total:.0f} %), "
                           f"{_duration(now - self._t0)} elapsed, about {_duration(self._left(now))} left")

    def _per_chunk(self, now: float) -> float:
        """Seconds per chunk: since the first chunk once `parallel` more have finished (free of start-up),
        until then over every chunk computed."""
        if self._steady:
            return (now - self._first[0]) / (self.done - self._first[1])
        return (now - self._t0) / (self.done - self.initial)

    def _first_rate(self) -> float:
        """Seconds per chunk as the first chunk says: its time (start-up included) over the chunks it finished, the
        others running `parallel` at a time (a pool's first chunk is the first of `parallel` finishing together)."""
        return (self._first[0] - self._t0) / (self._first[1] - self.initial) / self.parallel

    def _left(self, now: float) -> float:
        return self._per_chunk(now) * (self.total - self.done)

    def _revised(self, now: float) -> bool:
        """Say the start-up-free estimate if it is off the first chunk's by more than REVISED_BY; True if said."""
        first = self._first[0] - self._t0
        said = self._first_rate() * (self.total - self._first[1])  # time left, as said then
        if said / REVISED_BY <= now - self._first[0] + self._left(now) <= said * REVISED_BY:
            return False
        self._say(now, f"revised: {_duration(self._per_chunk(now))} per chunk after the first ({_duration(first)}, "
                       f"start-up included): about {_duration(self._left(now))} left")
        return True

    def _say(self, now: float, text: str) -> None:
        self._line(text)
        self._last = now

    def __enter__(self):
        return self

    def __exit__(self, exc_type, *exc) -> None:
        if self._bar is not None:
            self._bar.close()
        elif self.on and exc_type is None:
            resumed = f" ({self.initial} from the checkpoint)" if self.initial else ""
            self._line(f"done: {self.total} chunks{resumed} in {_duration(time.monotonic() - self._t0)}")


@dataclasses.dataclass
class ComputeTime:
    """The cost of the k-sums run inside `compute_time()`, a result's attributes (docs/results.md):
    `elapsed_s`: this call's wall time; `compute_s`: the seconds their chunks took, summed over the chunks —
    those loaded from a checkpoint count with the time they took when an earlier, interrupted run computed
    them (stored with each chunk), so a resumed run reports the whole calculation's cost, not only its last
    part (with a process pool or Dask: worker-seconds, about the workers times the wall time);
    `resumed_compute_s`: the part of `compute_s` that earlier runs did."""

    elapsed_s: float = 0.0
    compute_s: float = 0.0
    resumed_compute_s: float = 0.0

    def attrs(self) -> dict[str, float]:
        return dataclasses.asdict(self)


@contextmanager
def compute_time() -> Iterator[ComputeTime]:
    """A `ComputeTime` that every k-sum (`kspace.integrate`) inside the block adds its chunks' time to; its
    elapsed_s is set when the block ends."""
    record, start = ComputeTime(), time.perf_counter()
    token = _RECORDS.set(_RECORDS.get() + (record,))
    try:
        yield record
    finally:
        _RECORDS.reset(token)
        record.elapsed_s = time.perf_counter() - start


def add_compute_time(computed_s: float, resumed_s: float) -> None:
    """One k-sum's chunk seconds (computed by this call, and loaded from its checkpoint) to every open
    `compute_time()` record."""
    for record in _RECORDS.get():
        record.compute_s += computed_s + resumed_s
        record.resumed_compute_s += resumed_s
