"""Resumable integrations: finished chunk sums on disk, one .npz per chunk, atomically written.

A checkpoint directory holds `manifest.json` (a SHA-256 over the model's data — `model_fingerprint`:
its state, nested models included, and H(k), ∂H(k) at fixed k-points —, the grid, the
chunking, the Bands options, the integrand's identity/parameters/bytecode, and the code: qgeom's
version, a hash of every source file of the package, the numpy/scipy versions) and
`chunk_NNNNNN.npz` files (each chunk's sum and the seconds it took, so a resumed run reports the whole
calculation's compute time: `progress.ComputeTime`). A rerun with the same inputs loads the finished chunks
and computes only the missing ones; a directory written for different inputs or by different code is refused
(QgeomInputError), never mixed.

Concurrency and faults: the manifest is published with an exclusive hard link (the first writer
wins; a second run with other inputs then sees the winner's manifest and is refused). Chunks are
written to `.tmp_chunk_<pid>_*` files and renamed; temporary files of dead processes are removed
when a store opens. A chunk that cannot be read (truncated, corrupt, foreign) is reported by name
(`CheckpointWarning`), deleted and recomputed.
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import hashlib
import json
import os
import re
import types
import warnings
import zipfile
from pathlib import Path
from typing import Any

import numpy as np

from ._validation import QgeomInputError, user_stacklevel
from .outputs import remove_stale_temporaries, signals_deferred, temporary_file, temporary_tag

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
    elif _is_model(obj):  # a model held by an integrand: what it computes, never its caches
        _update(h, model_fingerprint(obj), depth + 1)
    elif hasattr(obj, "__dict__"):
        h.update(f"obj {type(obj).__module__}.{type(obj).__qualname__}".encode())
        _update(h, {k: v for k, v in vars(obj).items() if not k.startswith("__")}, depth + 1)
    else:
        h.update(repr(obj).encode())


def _is_model(obj) -> bool:
    from .models.base import Model

    return isinstance(obj, Model)


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


PROBE_POINTS = 3  # fixed k-points at which H and ∂H enter the fingerprint
PROBE_SUMS = 16  # ... through this many weighted sums of their entries
PROBE_BITS = 32  # ... each rounded to 2^-32 of its natural size (entry scale × √(entries per sum))


def model_fingerprint(model) -> dict[str, Any]:
    """What a model's chunk sums depend on: its description, a hash of its state (`model_state`:
    every public attribute, nested models — a Wannier model's `base`, its hoppings — and
    containers, dataclasses, SymPy expressions included) and a hash of H(k), ∂H(k) at fixed
    k-points (`hamiltonian_probe`), which catches a change of the Hamiltonian however the model
    keeps its parameters (private attributes, closures). Both are needed: the probe misses what H
    does not show at a few k-points (operators, position matrices, changes below its rounding),
    the state misses what a model computes from hidden data. Stable between runs and processes:
    arrays by their bytes, dicts by sorted key, sets by sorted repr, no ids or addresses."""
    return {"describe": json.loads(json.dumps(model.describe(), default=str)), "data": model_state(model),
            "hamiltonian": hamiltonian_probe(model)}


def model_state(model) -> str:
    """SHA-256 of the model's public state, recursively (see `_update_state`)."""
    h = hashlib.sha256()
    _update_state(h, model, 0, ())
    return h.hexdigest()


_ADDRESS = re.compile(r" at 0x[0-9a-fA-F]+")


def _public(items) -> dict:
    """Attributes that describe the object: not private (`_fourier`, `_compiled`: caches, derived data)."""
    return {k: v for k, v in items if not str(k).startswith("_")}


def _update_state(h, obj, depth: int, path: tuple) -> None:
    """Feed a canonical encoding of a model's state into h: nested objects (models, dataclasses,
    plain classes) by class and public attributes, SymPy objects by their `srepr`, containers
    element-wise, arrays and scalars as in `_update`; functions by their code (`_update`).
    `path` holds the ids of the enclosing objects only to stop cycles; they are never hashed."""
    if depth > 24 or id(obj) in path:
        h.update(f"<{type(obj).__qualname__}>".encode())
        return
    path = path + (id(obj),)
    if isinstance(obj, np.ndarray) and obj.dtype == object:
        h.update(f"ndobject{obj.shape}".encode())
        for item in obj.ravel():
            _update_state(h, item, depth + 1, path)
    elif isinstance(obj, (np.ndarray, np.generic, int, float, complex, str, bool, bytes, types.ModuleType,
                          types.FunctionType, types.MethodType, functools.partial)) or obj is None:
        _update(h, obj)
    elif type(obj).__module__.split(".")[0] == "sympy":
        import sympy

        h.update(f"sympy {type(obj).__qualname__} {sympy.srepr(obj)}".encode())
    elif isinstance(obj, dict):
        h.update(b"{")
        for key in sorted(obj, key=repr):
            h.update(repr(key).encode())
            _update_state(h, obj[key], depth + 1, path)
        h.update(b"}")
    elif isinstance(obj, (set, frozenset)):
        _update(h, obj)
    elif isinstance(obj, (list, tuple)):
        h.update(b"[" if isinstance(obj, list) else b"(")
        for item in obj:
            _update_state(h, item, depth + 1, path)
        h.update(b"]")
    elif dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        h.update(f"dataclass {type(obj).__module__}.{type(obj).__qualname__}".encode())
        _update_state(h, _public((f.name, getattr(obj, f.name)) for f in dataclasses.fields(obj)), depth + 1, path)
    elif hasattr(obj, "__dict__") or hasattr(type(obj), "__slots__"):
        if callable(obj) and not hasattr(obj, "__dict__"):
            _update(h, obj)
            return
        h.update(f"obj {type(obj).__module__}.{type(obj).__qualname__}".encode())
        slots = [s for c in type(obj).__mro__ for s in getattr(c, "__slots__", ()) if hasattr(obj, s)]
        items = [*getattr(obj, "__dict__", {}).items(), *((s, getattr(obj, s)) for s in slots)]
        _update_state(h, _public(items), depth + 1, path)
    else:
        h.update(_ADDRESS.sub("", repr(obj)).encode())


def probe_points(model) -> np.ndarray:
    """PROBE_POINTS fixed Cartesian k-points in general position (no symmetry maps one onto another):
    the Kronecker sequence of the d-dimensional golden ratio in reduced coordinates, times the
    reciprocal lattice (a continuum model: in [−k_cutoff, k_cutoff], k_cutoff = 0.5 if unset)."""
    d = int(model.dim)
    phi = 2.0
    for _ in range(64):  # the root of x^(d+1) = x + 1
        phi = (1 + phi) ** (1.0 / (d + 1))
    alpha = phi ** -np.arange(1, d + 1)
    frac = np.mod(0.5 + np.arange(1, PROBE_POINTS + 1)[:, None] * alpha[None, :], 1.0)
    if model.lattice is None:
        return (2 * frac - 1) * (model.k_cutoff or 0.5)
    return frac @ model.reciprocal_lattice


def hamiltonian_probe(model) -> str:
    """SHA-256 of H(k) and ∂H(k) at `probe_points`, condensed to PROBE_SUMS weighted sums of their
    entries (fixed weights) rounded to PROBE_BITS bits of their natural size: a change of any
    entry by more than ~1e-9 of the largest changes the hash; the rounding keeps it the same
    for the same model when the last bits of H differ (other BLAS threads) except with a
    probability ~1e-4."""
    try:
        H = np.asarray(model.hamiltonian(probe_points(model), order=0), complex)
        dH = np.asarray(model.hamiltonian(probe_points(model), order=1), complex)
    except Exception as exc:  # noqa: BLE001 - any failure is reported by the run itself
        return f"unavailable ({type(exc).__name__})"
    v = np.concatenate([H.ravel(), dH.ravel()]).view(float)
    if not np.all(np.isfinite(v)):
        return "not finite"
    top = float(np.max(np.abs(v), initial=0.0))
    scale = 2.0 ** np.ceil(np.log2(top)) if top > 0 else 1.0
    # fixed weights in [0.5, 1.5), exact in binary (no libm: the same on every CPU)
    weights = 0.5 + (np.arange(len(v), dtype=np.int64) * 2654435761 % 4096) / 4096.0
    group = np.arange(len(v)) % PROBE_SUMS
    sums = np.bincount(group, weights=weights * v / scale, minlength=PROBE_SUMS)
    size = np.sqrt(max(1.0, len(v) / PROBE_SUMS))
    q = np.rint(sums / size * 2.0**PROBE_BITS).astype(np.int64)
    h = hashlib.sha256(f"{H.shape}{dH.shape}{scale!r}".encode())
    h.update(q.tobytes())
    return h.hexdigest()


def integrand_fingerprint(func) -> dict[str, Any]:
    """`func.fingerprint()` when the integrand defines it; else a hash of what it is (class or
    function name) and what it holds (attributes, closure variables, defaults: e.g. components,
    μ, temperature, forms), so that a changed parameter never reuses old chunks."""
    if hasattr(func, "fingerprint"):
        return {"fingerprint": digest(func.fingerprint())}
    name = getattr(func, "__qualname__", type(func).__qualname__)
    return {"name": f"{getattr(func, '__module__', type(func).__module__)}.{name}", "state": digest(func)}


def saved_chunks(directory) -> int:
    """How many finished chunk files a checkpoint directory holds, its subdirectories included (the commands
    keep one per integration there, e.g. DIR/block_0, DIR/frequency); 0 when it cannot be read."""
    try:
        return sum(1 for _ in Path(directory).rglob("chunk_*.npz"))
    except OSError:
        return 0


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
        try:
            created = self._publish_exclusive(path, payload)
        except OSError as exc:  # read-only mount, no permission: before any chunk is computed
            raise self.unwritable(exc) from None
        if not created:  # another run made it first: it must match
            try:
                old = json.loads(path.read_text())
                if not isinstance(old, dict) or not isinstance(old.get("inputs", {}), dict):
                    raise ValueError("not a qgeom checkpoint manifest")
            except (OSError, ValueError) as exc:
                raise QgeomInputError(
                    f"checkpoint {self.dir}: unreadable {MANIFEST} ({exc}); use a new directory, or delete "
                    f"{path} to reuse the chunks there (each is checked against this run)."
                ) from None
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

    def unwritable(self, exc: OSError) -> QgeomInputError:
        return QgeomInputError(f"checkpoint directory {self.dir}: cannot write there ({exc.strerror or exc}); choose "
                               "a writable --checkpoint directory.")

    def check_writable(self) -> None:
        """Refuse a directory where chunks cannot be saved (read-only mount, permissions) before any is computed:
        its manifest may already exist, so that opening the store wrote nothing."""
        try:
            fd, probe = temporary_file(self.dir, f"{TMP_PREFIX}{temporary_tag()}_", ".probe")
            os.close(fd)
            os.unlink(probe)
        except OSError as exc:
            raise self.unwritable(exc) from None

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

    def save(self, index: int, bounds: tuple[int, int], part, seconds: float) -> None:
        """Chunk `index`'s sum and the `seconds` it took (a resumed run's cost counts them, `progress.ComputeTime`)."""
        arrays = {"__bounds__": np.array(bounds), "__key__": np.array(self.key), "__seconds__": np.array(seconds)}
        if isinstance(part, dict):
            arrays.update({f"d:{k}": np.asarray(v) for k, v in part.items()})
        else:
            arrays["a:"] = np.asarray(part)
        with signals_deferred():  # a polite kill mid-write: the chunk is completed and kept, then the run exits
            try:
                fd, tmp = temporary_file(self.dir, f"{TMP_PREFIX}{temporary_tag()}_", ".npz")
            except OSError as exc:
                raise self.unwritable(exc) from None
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
        """(the stored chunk sum, the seconds it took), or None (with a CheckpointWarning naming the file, which
        is deleted) when it cannot be read or was not written for this calculation."""
        path = self._chunk_path(index)
        try:
            with np.load(path, allow_pickle=False) as data:
                if str(data["__key__"]) != self.key or tuple(data["__bounds__"]) != tuple(bounds):
                    raise ValueError("written for another calculation")
                seconds = float(data["__seconds__"])
                if "a:" in data.files:
                    return data["a:"], seconds
                return {k[2:]: data[k] for k in data.files if k.startswith("d:")}, seconds
        except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile) as exc:
            warnings.warn(f"checkpoint chunk {path} is unusable ({type(exc).__name__}: {exc}); recomputing it.",
                          CheckpointWarning, stacklevel=user_stacklevel())
            with contextlib.suppress(OSError):  # read-only: the recomputed chunk's save says so
                path.unlink(missing_ok=True)
            return None

    def _publish_exclusive(self, path: Path, payload: bytes) -> bool:
        """Write `path` atomically unless it exists; True if this call created it."""
        if path.exists():
            return False
        fd, tmp = temporary_file(path.parent, f"{TMP_PREFIX}{temporary_tag()}_", path.suffix)
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
        for p in self.dir.glob(f"{TMP_PREFIX}{temporary_tag()}_*"):
            p.unlink(missing_ok=True)

    def _remove_stale_temporaries(self) -> None:
        """Temporary files left by killed runs of this host (`outputs.stale_temporaries`; another host's, in a
        directory shared by machines, may be in use there)."""
        remove_stale_temporaries(self.dir, TMP_PREFIX)
