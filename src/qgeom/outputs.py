"""Safe output files: checked before computing, written atomically, never overwritten unless asked.

- `check_output(path, ...)` validates a destination *before* the computation: not a directory, a
  known figure format, an existing file only with `overwrite=True`, a parent directory that can be
  created and written (probed with a real temporary file, which also catches read-only mounts).
- `write_atomic(path, data, ...)` writes the bytes to a temporary file in the same directory,
  fsyncs it and renames it into place: a reader never sees a half-written file, and a failed write
  (full disk, quota, kill) leaves an existing file untouched and no temporary behind. Without
  `overwrite` the final step is a hard link, which fails if the file appeared in the meantime.
- `signals_as_exceptions()` turns SIGTERM/SIGHUP into `SystemExit`, so that every `finally`
  (temporary files, worker pools) runs when a run is killed politely; `signals_deferred()` holds that
  exit (and Ctrl-C's KeyboardInterrupt) back until a write that must not be cut (a checkpoint chunk, a
  command's results file and figure together) is complete.

Results are serialized in memory first (result files are small next to the k-space work), so a
full disk is an ordinary `OSError` from `write`, never a crash inside the HDF5 library.
"""

from __future__ import annotations

import contextlib
import contextvars
import os
import re
import signal
import socket
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path

from ._validation import QgeomInputError

# matplotlib's savefig formats (listed here so that checking a path does not import matplotlib)
FIGURE_FORMATS = ("png", "pdf", "svg", "svgz", "eps", "ps", "jpg", "jpeg", "tif", "tiff", "webp", "pgf")
TEMP_PREFIX = ".qgeom-tmp-"
# temporary files are tagged <host>-<pid>: a file of a dead process on this host is stale, one of another host (a
# directory shared by machines) may be in use there and is left alone
_HOST = re.sub(r"[^A-Za-z0-9.-]", "-", socket.gethostname()) or "host"


def _process_umask() -> int:
    """The process umask (os has no getter: set and restored once, at import)."""
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


# mkstemp creates private (0600) files; a result or checkpoint published from one gets the mode a plain open()
# would give it, so that collaborators on a shared machine can read the results as they can read their inputs
FILE_MODE = 0o666 & ~_process_umask()


def temporary_tag() -> str:
    """This process's tag in the names of its temporary files, "<host>-<pid>" (`stale_temporaries`)."""
    return f"{_HOST}-{os.getpid()}"


def stale_temporaries(directory, prefix: str) -> list[Path]:
    """Temporary files "<prefix><host>-<pid>_…" in `directory` left by killed processes of this host (their pid no
    longer exists); names without a host (earlier versions: "<prefix><pid>_…", "<prefix><pid>-…") count as this
    host's."""
    out = []
    for p in Path(directory).glob(f"{prefix}*"):
        m = _TAGGED.match(p.name[len(prefix):])
        if m and (m["host"] or _HOST) == _HOST and not _alive(int(m["pid"])):
            out.append(p)
    return out


_TAGGED = re.compile(r"(?:(?P<host>[A-Za-z0-9.-]+)-)?(?P<pid>\d+)[_-]")


def remove_stale_temporaries(directory, prefix: str) -> None:
    """Remove `stale_temporaries` (quietly: a read-only directory keeps them)."""
    for p in stale_temporaries(directory, prefix):
        with contextlib.suppress(OSError):
            p.unlink()


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process
        return True
    return True


def temporary_file(directory, prefix: str, suffix: str) -> tuple[int, str]:
    """`tempfile.mkstemp` in `directory`, with the mode of an ordinary file (`FILE_MODE`): (fd, path)."""
    fd, tmp = tempfile.mkstemp(dir=directory, prefix=prefix, suffix=suffix)
    if hasattr(os, "fchmod"):
        with contextlib.suppress(OSError):  # a file system without modes (some network mounts) keeps its own
            os.fchmod(fd, FILE_MODE)
    return fd, tmp


class OutputError(QgeomInputError):
    """An output path that cannot or must not be written; the message names the path and the fix."""


# Whether writers may replace an existing file when the caller does not say: True for the Python
# API (like `to_netcdf`), False inside a CLI command unless --overwrite was given.
_OVERWRITE = contextvars.ContextVar("qgeom_overwrite", default=True)


@contextlib.contextmanager
def overwrite_policy(overwrite: bool) -> Iterator[None]:
    """Within the block, `save`/`save_figure`/`to_text` without an explicit `overwrite` use this."""
    token = _OVERWRITE.set(bool(overwrite))
    try:
        yield
    finally:
        _OVERWRITE.reset(token)


def resolve_overwrite(overwrite: bool | None) -> bool:
    return _OVERWRITE.get() if overwrite is None else bool(overwrite)


def check_output(path, *, option: str = "--out", overwrite: bool | None = None, figure: bool = False) -> Path:
    """Validate an output destination before any computation; returns it as a Path.

    Creates missing parent directories (so that the probe, and later the write, can happen)."""
    if path is None or str(path).strip() == "":
        raise OutputError(f"{option}: empty path; pass a file name.")
    p = Path(path)
    overwrite = resolve_overwrite(overwrite)
    if p.is_dir() or str(path).endswith(os.sep):
        raise OutputError(f"{option} {path}: is a directory; pass a file name, e.g. {p / 'result.nc'}.")
    if figure and p.suffix.lower().lstrip(".") not in FIGURE_FORMATS:
        raise OutputError(
            f"{option} {path}: unknown figure format {p.suffix or '(none)'!r}; use a file name ending in "
            f"{', '.join('.' + f for f in FIGURE_FORMATS[:3])} (or {', '.join(FIGURE_FORMATS[3:])})."
        )
    if p.exists() and not overwrite:
        raise OutputError(f"{option} {path}: file exists; pass --overwrite to replace it, or choose another name.")
    try:
        p.parent.mkdir(parents=True, exist_ok=True)
        # tagged like every temporary file, so that `stale_temporaries` reads a killed run's probe right
        fd, probe = tempfile.mkstemp(dir=p.parent, prefix=f"{TEMP_PREFIX}{temporary_tag()}_")
        os.close(fd)
        os.unlink(probe)
    except OSError as exc:
        raise OutputError(
            f"{option} {path}: cannot write in {p.parent} ({exc.strerror or exc}); choose a writable location."
        ) from None
    return p


def check_distinct(paths: dict[str, Path | None]) -> None:
    """Two outputs of one command must not be the same file (the second would replace the first)."""
    seen: dict[Path, str] = {}
    for option, p in paths.items():
        if p is None:
            continue
        key = Path(os.path.abspath(p))
        if key in seen:
            raise OutputError(f"{option} and {seen[key]} are the same file {p}; give them different names.")
        seen[key] = option


def write_atomic(path, data: bytes, *, overwrite: bool | None = None) -> Path:
    """Write `data` to `path` through a temporary file in the same directory and a rename.

    Raises OutputError (with the OS reason) when it cannot write; an existing file is then unchanged
    and the temporary file removed."""
    path = Path(path)
    overwrite = resolve_overwrite(overwrite)
    existed = path.exists()
    if existed and not overwrite:
        raise OutputError(f"{path}: file exists; pass --overwrite to replace it, or choose another name.")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        remove_stale_temporaries(path.parent, TEMP_PREFIX)  # a run killed (SIGKILL) in the middle of its write
        fd, tmp = temporary_file(path.parent, f"{TEMP_PREFIX}{temporary_tag()}_", path.suffix)
    except OSError as exc:
        raise OutputError(f"cannot write {path}: {exc.strerror or exc}; nothing was written.") from None
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        _publish(tmp, path, overwrite)
    except OSError as exc:
        state = "the existing file is unchanged" if existed else "nothing was written"
        raise OutputError(f"cannot write {path}: {exc.strerror or exc}; {state}.") from None
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
    return path


def _publish(tmp: str, path: Path, overwrite: bool) -> None:
    if overwrite:
        os.replace(tmp, path)
        return
    try:
        os.link(tmp, path)  # atomic and exclusive: fails if `path` appeared meanwhile
    except FileExistsError:
        raise OutputError(f"{path}: file appeared while computing; pass --overwrite or choose another name.") from None
    except OSError:  # file systems without hard links
        if path.exists():
            raise OutputError(f"{path}: file exists; pass --overwrite or choose another name.") from None
        os.replace(tmp, path)


def figure_bytes(fig, path, *, dpi: int = 130) -> bytes:
    """A matplotlib figure rendered in memory in the format of `path`'s suffix."""
    import io

    buf = io.BytesIO()
    fig.savefig(buf, format=Path(path).suffix.lstrip(".").lower() or "png", dpi=dpi)
    return buf.getvalue()


# the main thread's deferred-exit state: the depth of `signals_deferred` blocks and the signal that arrived in one
_DEFERRED = {"depth": 0, "pending": None}


def _raise_exit(signum, frame):  # noqa: ARG001
    if _DEFERRED["depth"]:  # within `signals_deferred`: exit when it ends
        _DEFERRED["pending"] = signum
        return
    _exit_for(signum)


class Terminated(SystemExit):
    """The exit of a run killed by SIGTERM/SIGHUP (code 128 + signal), told apart from other exits."""


def _exit_for(signum):
    if signum == signal.SIGINT:  # Ctrl-C stays a KeyboardInterrupt (click's "Aborted!", the checkpoint note)
        raise KeyboardInterrupt
    raise Terminated(128 + signum)


@contextlib.contextmanager
def signals_deferred() -> Iterator[None]:
    """Within the block (main thread), SIGTERM, SIGHUP and SIGINT under `signals_as_exceptions` exit only when it
    ends: an exception raised in the middle of a write can leave it unusable (np.savez's zip archive then fails to
    close and replaces the exit with a ValueError) — the write completes, then SystemExit(128 + signal)
    (KeyboardInterrupt for SIGINT). A command's final writes (results file and figure) are one block, so a kill
    there leaves both or, before it, neither. Elsewhere (other threads, no handler installed) a no-op."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    _DEFERRED["depth"] += 1
    try:
        yield
    finally:
        _DEFERRED["depth"] -= 1
        signum = _DEFERRED["pending"]
        if not _DEFERRED["depth"] and signum is not None:
            _DEFERRED["pending"] = None
            _exit_for(signum)


@contextlib.contextmanager
def signals_as_exceptions() -> Iterator[None]:
    """Within the block, SIGTERM and SIGHUP raise SystemExit(128 + signal) in the main thread, so
    that cleanup code runs (temporary files removed, worker pools terminated); SIGINT raises
    KeyboardInterrupt as before, but can be held back by `signals_deferred` too (unless it is ignored,
    e.g. in a background job). No-op outside the main thread."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    sigs = [signal.SIGTERM] + ([signal.SIGHUP] if hasattr(signal, "SIGHUP") else [])
    if signal.getsignal(signal.SIGINT) is signal.default_int_handler:
        sigs.append(signal.SIGINT)
    old = {s: signal.signal(s, _raise_exit) for s in sigs}
    try:
        yield
    finally:
        for s, handler in old.items():
            signal.signal(s, handler)
