"""Executors for the chunked map-reduce of `kspace.integrate`: in-process, a process pool, Dask.

Every executor maps the same pure task (one chunk index -> that chunk's weighted sum) and yields
(index, result) pairs as chunks finish; `integrate` reduces them in chunk order, so the result is
identical (bit for bit) whichever executor ran the chunks and in whatever order they finished.

- `SerialExecutor` (default): chunks one after another in this process.
- `ProcessExecutor(workers)`: a local process pool. On POSIX the task is inherited through fork
  (models that do not pickle, e.g. k·p models with lambdified derivatives, work); elsewhere it is
  sent once per worker with cloudpickle.
- `DaskExecutor(scheduler)`: a Dask distributed cluster (`scheduler` an address such as
  "tcp://10.0.0.1:8786", "local" to start a LocalCluster of processes, "local-threads" for a
  threaded one, or a `distributed.Client`). Needs the `distributed` extra.

Trust model: a local cluster listens on 127.0.0.1 only (scheduler and dashboard). A remote
`scheduler` address must be trusted as much as this machine: Dask sends tasks and results as
pickles, so whoever controls the scheduler or its workers can run code in this process (chunk
results are unpickled here). Use it only on a private network or over TLS (`tls://` addresses
with a `distributed.Security` configuration), never on a cluster shared with untrusted users.

Interrupts: when the run stops early (an exception, Ctrl-C, SIGTERM turned into SystemExit by the
CLI) the pool's workers are killed, not waited for; a worker also dies with its parent (Linux
parent-death signal), so a SIGKILLed run leaves no orphan processes.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import pickle
import signal
import sys
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from typing import Any

from ._validation import QgeomInputError

Task = Callable[[int], Any]  # chunk index -> chunk result

_INHERITED: dict[int, Task] = {}  # tasks handed to forked workers, by token


class _Executor:
    """Context-manager protocol shared by the executors; `close` releases what they hold. `parallel`: how many
    chunks run at once (the progress estimate's steady rate needs that many chunks after the first)."""

    parallel = 1

    def close(self) -> None:
        pass

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self.close()


class SerialExecutor(_Executor):
    """Run chunks in this process, in order."""

    name = "serial"

    def map_unordered(self, task: Task, indices: Sequence[int]) -> Iterator[tuple[int, Any]]:
        for i in indices:
            yield i, task(i)



def _worker_init(parent: int, payload: bytes | None = None) -> None:
    """In each pool worker: default SIGTERM (the CLI's handler would be inherited through fork),
    SIGINT left to the parent (which kills the pool), death with the parent (Linux prctl)."""
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    if sys.platform.startswith("linux"):
        try:
            import ctypes

            PR_SET_PDEATHSIG = 1
            ctypes.CDLL("libc.so.6", use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
        except (OSError, AttributeError):
            pass
    if os.getppid() != parent:  # the parent died before prctl took effect
        os._exit(1)
    if payload is not None:
        _init_pickled(payload)


def _kill_workers(pool: ProcessPoolExecutor) -> None:
    """Kill the pool's processes now (shutdown(wait=True) would first finish the running chunks)."""
    procs = list((getattr(pool, "_processes", None) or {}).values())
    for p in procs:
        if p.is_alive():
            p.kill()
    for p in procs:
        p.join(5)


def _run_inherited(token: int, index: int):
    return index, _INHERITED[token](index)


_WORKER_TASK: list[Task] = []


def _init_pickled(payload: bytes) -> None:
    _WORKER_TASK[:] = [pickle.loads(payload)]


def _run_pickled(index: int):
    return index, _WORKER_TASK[0](index)


def _dumps(obj) -> bytes:
    try:
        import cloudpickle

        return cloudpickle.dumps(obj)
    except ImportError:
        return pickle.dumps(obj)


class ProcessExecutor(_Executor):
    """A pool of `workers` processes; at most 2·workers chunks in flight (bounded memory)."""

    name = "processes"

    def __init__(self, workers: int):
        if not isinstance(workers, int) or workers < 1:
            raise QgeomInputError(f"workers must be a positive integer, got {workers!r}.")
        self.workers = self.parallel = workers

    def map_unordered(self, task: Task, indices: Sequence[int]) -> Iterator[tuple[int, Any]]:
        indices = list(indices)
        if not indices:
            return
        if "fork" in multiprocessing.get_all_start_methods():
            token = id(task)
            _INHERITED[token] = task
            pool = ProcessPoolExecutor(self.workers, mp_context=multiprocessing.get_context("fork"),
                                       initializer=_worker_init, initargs=(os.getpid(),))
            submit = lambda i: pool.submit(_run_inherited, token, i)  # noqa: E731
        else:
            token = None
            pool = ProcessPoolExecutor(
                self.workers, mp_context=multiprocessing.get_context("spawn"),
                initializer=_worker_init, initargs=(os.getpid(), _dumps(task)),
            )
            submit = lambda i: pool.submit(_run_pickled, i)  # noqa: E731
        try:
            todo = iter(indices)
            running = set()
            for i in todo:
                running.add(submit(i))
                if len(running) >= 2 * self.workers:
                    break
            while running:
                done, running = wait(running, return_when=FIRST_COMPLETED)
                for fut in done:
                    yield fut.result()
                    nxt = next(todo, None)
                    if nxt is not None:
                        running.add(submit(nxt))
        except BaseException:  # error, interrupt or the consumer closing early: no waiting
            _kill_workers(pool)
            raise
        finally:
            pool.shutdown(wait=True, cancel_futures=True)
            if token is not None:
                _INHERITED.pop(token, None)



def _dask_run(task: Task, index: int):
    return index, task(index)


class DaskExecutor(_Executor):
    """Chunks as Dask futures on a distributed cluster; the task is scattered to workers once."""

    name = "dask"

    def __init__(self, scheduler, *, workers: int | None = None):
        try:
            import distributed
        except ImportError:
            raise QgeomInputError(
                "scheduler=... needs Dask distributed: pip install 'qgeom[distributed]'."
            ) from None
        self._owned: list = []
        if isinstance(scheduler, distributed.Client):
            self.client = scheduler
        elif scheduler in LOCAL_SCHEDULERS:
            n = workers or os.cpu_count() or 1
            cluster = distributed.LocalCluster(
                n_workers=n, threads_per_worker=1, processes=scheduler == "local",
                dashboard_address="127.0.0.1:0", silence_logs=logging.ERROR,
                # processes talk over TCP: loopback only (threads use in-process comms)
                **({"host": "127.0.0.1"} if scheduler == "local" else {}),
            )
            self.client = distributed.Client(cluster)
            self._owned = [self.client, cluster]
        elif isinstance(scheduler, str):
            try:
                self.client = distributed.Client(scheduler, timeout="20s")
            except OSError as exc:
                raise QgeomInputError(f"cannot reach the Dask scheduler at {scheduler!r}: {exc}") from None
            self._owned = [self.client]
        else:
            raise QgeomInputError(
                f"scheduler must be an address ('tcp://host:8786'), 'local', 'local-threads' or a "
                f"distributed.Client, got {scheduler!r}."
            )

    @property
    def parallel(self) -> int:
        """The cluster's worker threads now (at least 1)."""
        return max(1, sum(self.client.nthreads().values()))

    def map_unordered(self, task: Task, indices: Sequence[int]) -> Iterator[tuple[int, Any]]:
        import distributed

        indices = list(indices)
        if not indices:
            return
        remote_task = self.client.scatter(task, broadcast=True)
        futures = [self.client.submit(_dask_run, remote_task, i, pure=False) for i in indices]
        try:
            for fut in distributed.as_completed(futures):
                yield fut.result()
                fut.release()
        finally:
            self.client.cancel(futures)

    def close(self) -> None:
        for obj in self._owned:
            obj.close()
        self._owned = []



LOCAL_SCHEDULERS = ("local", "local-threads")
SCHEDULER_PROTOCOLS = ("tcp", "tls", "ws", "wss", "ucx")  # distributed's network backends


def check_scheduler(scheduler) -> None:
    """Refuse a scheduler string that is neither 'local', 'local-threads' nor a Dask address [protocol://]host:port,
    naming what is wrong: distributed itself raises a bare ValueError for it (missing port, port not a number) only
    when it connects, after the work before the k-sum. A Client or None passes."""
    if not isinstance(scheduler, str) or scheduler in LOCAL_SCHEDULERS:
        return
    protocol, sep, location = scheduler.partition("://")
    if not sep:
        protocol, location = "tcp", scheduler
    host, colon, port = location.rpartition(":")
    if not scheduler.strip() or any(c.isspace() for c in scheduler):
        problem = "it contains spaces" if scheduler.strip() else "it is empty"
    elif protocol not in SCHEDULER_PROTOCOLS:
        problem = f"unknown protocol {protocol + '://'!r} (Dask's are {', '.join(SCHEDULER_PROTOCOLS)})"
    elif not colon or not host or location.endswith("]") or "/" in location:
        problem = "it has no port (host:port)"
    elif not port.isdigit() or not 0 < int(port) < 65536:
        problem = f"the port {port!r} is not a number from 1 to 65535"
    else:
        return
    raise QgeomInputError(f"scheduler {scheduler!r} is not a Dask scheduler address: {problem}; pass tcp://HOST:PORT "
                          f"(e.g. tcp://10.0.0.1:8786), HOST:PORT, 'local' or 'local-threads'.")


def make_executor(*, workers: int | None = None, scheduler=None):
    """The executor for these options: Dask if `scheduler` is given, else a process pool if
    `workers` > 1, else serial."""
    if scheduler is not None:
        return DaskExecutor(scheduler, workers=workers)
    if workers is None or workers == 1:
        if workers is not None and not isinstance(workers, int):
            raise QgeomInputError(f"workers must be a positive integer, got {workers!r}.")
        return SerialExecutor()
    return ProcessExecutor(workers)
