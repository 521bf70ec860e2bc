"""Resumable integrations: finished chunk sums on disk, one .npz per chunk, atomically written.

A checkpoint directory holds `manifest.json` (a SHA-256 over the model's data, the grid, the
chunking, the Bands options and the integrand's identity/parameters) and `chunk_NNNNNN.npz` files.
A rerun with the same inputs loads the finished chunks and computes only the missing ones; a
directory written for different inputs is refused (QgeomInputError), never mixed.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import tempfile
import types
from pathlib import Path
from typing import Any

import numpy as np

from ._validation import QgeomInputError

MANIFEST = "manifest.json"
FORMAT = 1


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
    elif isinstance(obj, (list, tuple)):
        h.update(b"[" if isinstance(obj, list) else b"(")
        for item in obj:
            _update(h, item, depth + 1)
        h.update(b"]")
    elif isinstance(obj, (np.generic, int, float, complex, str, bool, bytes)) or obj is None:
        h.update(repr(obj.item() if isinstance(obj, np.generic) else obj).encode())
    elif isinstance(obj, types.ModuleType):
        h.update(f"module {obj.__name__}".encode())
    elif isinstance(obj, (types.FunctionType, types.MethodType)):
        fn = obj.__func__ if isinstance(obj, types.MethodType) else obj
        h.update(f"fn {fn.__module__}.{fn.__qualname__}".encode())
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
        self.manifest = json.loads(json.dumps({"format": FORMAT, **manifest}, default=str))
        self.key = digest(self.manifest)
        self.dir.mkdir(parents=True, exist_ok=True)
        path = self.dir / MANIFEST
        if path.exists():
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
        else:
            self._write_atomic(path, json.dumps({"key": self.key, "inputs": self.manifest}, indent=1, default=str).encode())

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
        fd, tmp = tempfile.mkstemp(dir=self.dir, prefix=".tmp_chunk_", suffix=".npz")
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
        with np.load(self._chunk_path(index), allow_pickle=False) as data:
            if str(data["__key__"]) != self.key or tuple(data["__bounds__"]) != tuple(bounds):
                raise QgeomInputError(
                    f"checkpoint chunk {self._chunk_path(index)} does not belong to this calculation; "
                    f"delete the directory {self.dir} and rerun."
                )
            if "a:" in data.files:
                return data["a:"]
            return {k[2:]: data[k] for k in data.files if k.startswith("d:")}

    @staticmethod
    def _write_atomic(path: Path, payload: bytes) -> None:
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp_", suffix=path.suffix)
        with os.fdopen(fd, "wb") as fh:
            fh.write(payload)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
