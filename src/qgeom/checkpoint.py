"""Resumable integrations: finished chunk sums on disk, one .npz per chunk, atomically written.

A checkpoint directory holds `manifest.json` (a SHA-256 over the model's data, the grid, the
chunking, the Bands options, the integrand's identity/parameters/bytecode, and the code: qgeom's
version, a hash of every source file of the package, the numpy/scipy versions) and
`chunk_NNNNNN.npz` files. A rerun with the same inputs loads the finished chunks and computes only
the missing ones; a directory written for different inputs or by different code is refused
(QgeomInputError), never mixed.

Concurrency and faults: the manifest is published with an exclusive hard link (the first writer
wins; a second run with other inputs then sees the winner's manifest and is refused). Chunks are
written to `.tmp_chunk_<pid>_*` files and renamed; temporary files of dead processes are removed
when a store opens. A chunk that cannot be read (truncated, corrupt, foreign) is reported by name
(`CheckpointWarning`), deleted and recomputed.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import tempfile
import types
import warnings
import zipfile
from pathlib import Path
from typing import Any

import numpy as np

from ._validation import QgeomInputError

MANIFEST = "manifest.json"
FORMAT = 2
TMP_PREFIX = ".tmp_chunk_"


class CheckpointWarning(UserWarning):
    """A checkpoint chunk could not be used (it is recomputed)."""


@functools.lru_cache(maxsize=1)
def code_identity() -> dict[str, str]:
    """What the code that computes chunks is: qgeom's version, a SHA-256 of every source file of
    the installed package (any edit, e.g. another kinetic prefactor, changes it) and the versions
    of numpy/scipy."""
    import scipy

    from . import __version__

    root = Path(__file__).resolve().parent
    h = hashlib.sha256()
    for path in sorted(root.rglob("*.py")):
        h.update(str(path.relative_to(root)).encode())
        h.update(path.read_bytes())
    return {"qgeom": __version__, "source_sha256": h.hexdigest(), "numpy": np.__version__, "scipy": scipy.__version__}


def _update(h, obj, depth: int = 0) -> None:
    """Feed a canonical encoding of obj into the hash: arrays by dtype/shape/bytes, containers
    element-wise, functions by name + closure + defaults, other objects by class + attributes."""
    if depth > 6:
        h.update(f"<{type(obj).__qualname__}>".encode())
        return
    if isinstance(obj, np.ndarray):
        a = np.ascontiguousarray(obj)
        h.update(f"nd{a.dtype.str}{a.shape}".encode())
        h.update(a.tobytes())
    elif isinstance(obj, dict):
        h.update(b"{")
        for key in sorted(obj, key=str):
            h.update(repr(key).encode())
            _update(h, obj[key], depth + 1)
        h.update(b"}")
    elif isinstance(obj, (set, frozenset)):  # iteration order varies between processes
        h.update(b"<set>")
        for item in sorted(repr(x) for x in obj):
            h.update(item.encode())
    elif isinstance(obj, (list, tuple)):
        h.update(b"[" if isinstance(obj, list) else b"(")
        for item in obj:
            _update(h, item, depth + 1)
        h.update(b"]")
    elif isinstance(obj, (np.generic, int, float, complex, str, bool, bytes)) or obj is None:
        h.update(repr(obj.item() if isinstance(obj, np.generic) else obj).encode())
    elif isinstance(obj, types.ModuleType):
        h.update(f"module {obj.__name__}".encode())
    elif isinstance(obj, types.CodeType):  # the function's body, so a patched function differs
        h.update(obj.co_code)
        _update(h, [obj.co_names, [c for c in obj.co_consts]], depth + 1)
    elif isinstance(obj, (types.FunctionType, types.MethodType)):
        fn = obj.__func__ if isinstance(obj, types.MethodType) else obj
        h.update(f"fn {fn.__module__}.{fn.__qualname__}".encode())
        _update(h, fn.__code__, depth + 1)
        cells = [c.cell_contents for c in (fn.__closure__ or ()) if _has_contents(c)]
        _update(h, [cells, fn.__defaults__, fn.__kwdefaults__], depth + 1)
        if isinstance(obj, types.MethodType):
            _update(h, obj.__self__, depth + 1)
    elif isinstance(obj, functools.partial):
        _update(h, ["partial", obj.func, obj.args, obj.keywords], depth + 1)
    elif callable(obj) and not hasattr(obj, "__dict__"):  # builtins, ufuncs
        h.update(f"callable {getattr(obj, '__module__', '')}.{getattr(obj, '__qualname__', repr(obj))}".encode())
    elif hasattr(obj, "__dict__"):
        h.update(f"obj {type(obj).__module__}.{type(obj).__qualname__}".encode())
        _update(h, {k: v for k, v in vars(obj).items() if not k.startswith("__")}, depth + 1)
    else:
        h.update(repr(obj).encode())


def _has_contents(cell) -> bool:
    try:
        cell.cell_contents
    except ValueError:
        return False
    return True


def digest(obj) -> str:
    h = hashlib.sha256()
    _update(h, obj)
    return h.hexdigest()


def model_fingerprint(model) -> dict[str, Any]:
    """The model's description plus a hash of every array/scalar it holds (hoppings, lattice…)."""
    state = {
        k: v for k, v in sorted(vars(model).items())
        if not k.startswith("__") and isinstance(v, (np.ndarray, int, float, complex, str, bool, tuple, list))
    }
    return {"describe": json.loads(json.dumps(model.describe(), default=str)), "data": digest(state)}


def integrand_fingerprint(func) -> dict[str, Any]:
    """`func.fingerprint()` when the integrand defines it; else a hash of what it is (class or
    function name) and what it holds (attributes, closure variables, defaults: e.g. components,
    μ, temperature, forms), so that a changed parameter never reuses old chunks."""
    if hasattr(func, "fingerprint"):
        return {"fingerprint": digest(func.fingerprint())}
    name = getattr(func, "__qualname__", type(func).__qualname__)
    return {"name": f"{getattr(func, '__module__', type(func).__module__)}.{name}", "state": digest(func)}


class ChunkStore:
    """The chunk files of one integration in `directory`, guarded by a manifest."""

    def __init__(self, directory, manifest: dict[str, Any]):
        self.dir = Path(directory)
        self.manifest = json.loads(json.dumps({"format": FORMAT, "code": code_identity(), **manifest}, default=str))
        self.key = digest(self.manifest)
        try:
            self.dir.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise QgeomInputError(f"checkpoint directory {self.dir}: {exc.strerror or exc}; choose another --checkpoint.") from None
        self._remove_stale_temporaries()
        path = self.dir / MANIFEST
        payload = json.dumps({"key": self.key, "inputs": self.manifest}, indent=1, default=str).encode()
        if not self._publish_exclusive(path, payload):  # another run made it first: it must match
            try:
                old = json.loads(path.read_text())
            except (OSError, ValueError) as exc:
                raise QgeomInputError(f"checkpoint {self.dir}: unreadable {MANIFEST} ({exc}); use a new directory.") from None
            if old.get("key") != self.key:
                diff = sorted(
                    k for k in set(old.get("inputs", {})) | set(self.manifest)
                    if digest(old.get("inputs", {}).get(k)) != digest(self.manifest.get(k))
                )
                raise QgeomInputError(
                    f"checkpoint directory {self.dir} was written for a different calculation "
                    f"(differs in: {', '.join(diff) or 'inputs'}); pass a new --checkpoint directory "
                    f"or delete this one. Chunks of different runs are never mixed."
                )

    def _chunk_path(self, index: int) -> Path:
        return self.dir / f"chunk_{index:06d}.npz"

    def done(self) -> set[int]:
        out = set()
        for p in self.dir.glob("chunk_*.npz"):
            try:
                out.add(int(p.stem.split("_")[1]))
            except ValueError:
                pass
        return out

    def save(self, index: int, bounds: tuple[int, int], part) -> None:
        arrays = {"__bounds__": np.array(bounds), "__key__": np.array(self.key)}
        if isinstance(part, dict):
            arrays.update({f"d:{k}": np.asarray(v) for k, v in part.items()})
        else:
            arrays["a:"] = np.asarray(part)
        fd, tmp = tempfile.mkstemp(dir=self.dir, prefix=f"{TMP_PREFIX}{os.getpid()}_", suffix=".npz")
        try:
            with os.fdopen(fd, "wb") as fh:
                np.savez(fh, **arrays)
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(tmp, self._chunk_path(index))
        except BaseException:
            if os.path.exists(tmp):
                os.unlink(tmp)
            raise

    def load(self, index: int, bounds: tuple[int, int]):
        """The stored chunk sum, or None (with a CheckpointWarning naming the file, which is
        deleted) when it cannot be read or was not written for this calculation."""
        path = self._chunk_path(index)
        try:
            with np.load(path, allow_pickle=False) as data:
                if str(data["__key__"]) != self.key or tuple(data["__bounds__"]) != tuple(bounds):
                    raise ValueError("written for another calculation")
                if "a:" in data.files:
                    return data["a:"]
                return {k[2:]: data[k] for k in data.files if k.startswith("d:")}
        except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile) as exc:
            warnings.warn(f"checkpoint chunk {path} is unusable ({type(exc).__name__}: {exc}); recomputing it.",
                          CheckpointWarning, stacklevel=2)
            path.unlink(missing_ok=True)
            return None

    def _publish_exclusive(self, path: Path, payload: bytes) -> bool:
        """Write `path` atomically unless it exists; True if this call created it."""
        if path.exists():
            return False
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f"{TMP_PREFIX}{os.getpid()}_", suffix=path.suffix)
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(payload)
                fh.flush()
                os.fsync(fh.fileno())
            try:
                os.link(tmp, path)  # atomic and exclusive
            except FileExistsError:
                return False
            except OSError:  # no hard links on this file system: exclusive create, then fill
                try:
                    out = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
                except FileExistsError:
                    return False
                with os.fdopen(out, "wb") as fh:
                    fh.write(payload)
            return True
        finally:
            Path(tmp).unlink(missing_ok=True)

    def remove_own_temporaries(self) -> None:
        """Temporary files of this process: a signal can arrive between `mkstemp` creating a file
        and `save` knowing its name, so the caller sweeps them when the integration ends."""
        for p in self.dir.glob(f"{TMP_PREFIX}{os.getpid()}_*"):
            p.unlink(missing_ok=True)

    def _remove_stale_temporaries(self) -> None:
        """Temporary files left by killed runs (their pid no longer exists)."""
        for p in self.dir.glob(f"{TMP_PREFIX}*"):
            pid = p.name[len(TMP_PREFIX):].split("_", 1)[0]
            if not pid.isdigit() or not _alive(int(pid)):
                p.unlink(missing_ok=True)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
