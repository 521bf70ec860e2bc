"""Checks of user input, done once at the edge, with messages that name the problem and the fix."""

from __future__ import annotations

import difflib
import os
import sys

import numpy as np


class QgeomInputError(ValueError):
    """Raised when user input is malformed; the message names the field and the fix."""


def did_you_mean(word: str, allowed) -> str:
    """' (did you mean 'X'?)' for the allowed name closest to a misspelt `word`, else ''."""
    close = difflib.get_close_matches(str(word), [str(a) for a in allowed], n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else ""


def both_spellings(api: str, cli: str | None = None) -> str:
    """A setting named in a message as the Python API writes it and as the command line does: the library's
    messages reach both (`units='model' (command line: --units model)`); `cli` None: no flag sets it."""
    return f"{api} ({'command line: ' + cli if cli else 'Python API only'})"


def as_finite_array(x, name: str, *, dtype=float) -> np.ndarray:
    raw = np.asarray(x)
    # a complex value cast to float drops its imaginary part with only a ComplexWarning (a lattice,
    # k-point or frequency with an imaginary part is a mistake, not a number to round)
    if np.iscomplexobj(raw) and not np.issubdtype(np.dtype(dtype), np.complexfloating):
        bad = np.argwhere(np.imag(raw) != 0)
        where = f" (first non-zero imaginary part at index {tuple(int(i) for i in bad[0])})" if len(bad) else ""
        raise QgeomInputError(f"{name} must be real, got complex values{where}; pass real numbers (e.g. .real, "
                              f"if the imaginary parts are meant to be zero).")
    arr = np.asarray(raw, dtype=dtype)
    if not np.all(np.isfinite(arr)):
        bad = np.argwhere(~np.isfinite(arr))
        raise QgeomInputError(
            f"{name} contains NaN or inf (first at index {tuple(int(i) for i in bad[0])}); "
            f"pass finite numbers only."
        )
    return arr


def positive_scalar(x, name: str) -> float:
    # float(True) is 1.0: temperature=True would run at kT = 1 (a flag passed where a number belongs)
    if isinstance(x, (bool, np.bool_)):
        raise QgeomInputError(f"{name} must be a positive number, got the boolean {x!r}; pass the number itself.")
    try:
        val = float(x)
    except (TypeError, ValueError):
        raise QgeomInputError(f"{name} must be a positive number, got {x!r}.") from None
    if not np.isfinite(val) or val <= 0.0:
        hint = " (kT in the model's energy unit)" if name == "temperature" else ""
        raise QgeomInputError(f"{name}{hint} must be a positive finite number, got {x!r}.")
    return val


def k_points(k, dim: int) -> np.ndarray:
    """Validate a batch of k-points of shape [nk, dim]."""
    arr = as_finite_array(k, "k")
    if arr.ndim == 1 and dim == 1:
        arr = arr[:, None]
    if arr.ndim != 2 or arr.shape[1] != dim:
        raise QgeomInputError(
            f"k must have shape [nk, {dim}] for this {dim}D model, got {arr.shape}."
        )
    return arr


def nonempty_1d(x, name: str, what: str = "values") -> np.ndarray:
    """`x` as a non-empty 1D array of finite numbers (a scalar becomes a 1-element array): an empty axis
    would otherwise fail deep in a reduction (max of an empty array, a division by its length)."""
    arr = np.atleast_1d(as_finite_array(x, name))
    if arr.ndim != 1 or arr.size == 0:
        raise QgeomInputError(f"{name} must be a scalar or a non-empty 1D array of {what}, got shape {arr.shape}.")
    return arr


def data_variable(ds, var: str, where: str):
    """`ds[var]` of an xarray Dataset, or an error listing its variables (xarray's KeyError names none)."""
    names = [str(n) for n in ds.data_vars]
    if var not in names:
        raise QgeomInputError(f"{where}: the result has no variable {var!r}{did_you_mean(var, names)}; its variables: "
                              f"{', '.join(names) or 'none'}.")
    return ds[var]


def checked_model(model, where: str):
    """`model` if it is a qgeom Model; else an error naming how to build one (a library name passed as a string,
    None, a file path) instead of an AttributeError deep in the k-sum."""
    from .models.base import Model  # late: models import this module

    if isinstance(model, Model):
        return model
    if isinstance(model, str):
        from .models import library

        call = f"{model}()" if model.isidentifier() and hasattr(library, model) else "<name>()"
        hint = (f" A string is not a model: build it first, with qgeom.models.library.{call} for a library model "
                f"or qgeom.models.from_wannier90(path) for Wannier90 files.")
    else:
        hint = (" Build one with qgeom.models.library.<name>(), qgeom.models.from_wannier90(path), TightBindingModel "
                "or KPModel.")
    raise QgeomInputError(f"{where} needs a qgeom model as its first argument, got {type(model).__name__} "
                          f"{model!r}.{hint}")


def chemical_potentials(mu) -> np.ndarray:
    """μ as a non-empty 1D array of finite numbers (a scalar becomes a 1-element array)."""
    return nonempty_1d(mu, "mu", "chemical potentials")


class QgeomWarning(UserWarning):
    """A warning about the user's input or model (a UserWarning): with a category defined in qgeom, the CLI prints
    it as a `warning:` line wherever `user_stacklevel` points it."""


_PACKAGE_DIR = os.path.dirname(os.path.abspath(__file__)) + os.sep


def user_stacklevel() -> int:
    """`stacklevel` for `warnings.warn` that attributes a warning to the first frame outside qgeom — the
    user's line that called the public function — however deep in the package (and through wrappers such
    as `options.checked_keywords`) it was raised. Call it in the `warnings.warn(...)` call itself."""
    frame, level = sys._getframe(1), 1
    while frame is not None and frame.f_code.co_filename.startswith(_PACKAGE_DIR):
        frame, level = frame.f_back, level + 1
    return level
