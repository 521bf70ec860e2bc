"""Physical sanity of a model and its numerical settings, checked once before a computation.

A few k-points of the grid (or path) are diagonalized — negligible next to any k-sum — to refuse:

- H(k) or dH/dk that is not finite, or so large that products of matrix elements (v², v³ in the
  second-order responses) overflow: parameters such as v = 1e308 gave a NaN result file;
- a degeneracy tolerance comparable to the spread of the energies: with degen_tol = 10 eV every
  band joins one degenerate subspace and every interband term is silently zero;
- a degeneracy tolerance that is not a positive finite number.

The k-sum itself is checked afterwards (`check_finite_result`): a NaN or inf never reaches a file.
"""

from __future__ import annotations

import numpy as np

from ._validation import QgeomInputError
from .options import DEFAULT_DEGEN_TOL

MAX_ENTRY = 1e100  # |H|, |dH/dk| beyond this overflow in cubic products (1e100³ = 1e300)
DEGEN_FRACTION = 0.1  # degen_tol must stay below this fraction of the energy spread
SAMPLES = 8


def check_degen_tol(degen_tol) -> float:
    try:
        val = float(degen_tol)
    except (TypeError, ValueError):
        raise QgeomInputError(f"degen_tol must be a positive number (energy), got {degen_tol!r}.") from None
    if not (np.isfinite(val) and val > 0):
        raise QgeomInputError(f"degen_tol must be a positive finite energy (e.g. 1e-6), got {degen_tol!r}.")
    return val


def check_model(model, k: np.ndarray, *, degen_tol: float | None = None) -> None:
    """Evaluate H and dH/dk at (up to SAMPLES of) the points `k` [nk, d]; raise QgeomInputError
    naming the problem and the fix."""
    from .bands import derivative_block

    k = np.asarray(k, float)
    per_k = 16 * model.nbands**2 * (1 + model.dim)
    samples = int(np.clip(64 * 2**20 // per_k, 1, SAMPLES))  # a large model: fewer points
    if len(k) > samples:
        k = k[np.linspace(0, len(k) - 1, samples).astype(int)]
    with np.errstate(all="ignore"):
        block = derivative_block(model, k, 1)
        big = np.abs(block).max(initial=0.0) if np.all(np.isfinite(block)) else np.inf
        if not big <= MAX_ENTRY:
            raise QgeomInputError(
                f"model {model.name!r}: H(k) or dH/dk is {'not finite' if big == np.inf else f'{big:.3g}'} at "
                f"k = {np.round(k[0], 6).tolist()}…; check the model parameters ({_params(model)}): entries "
                f"beyond {MAX_ENTRY:g} overflow in the response's velocity products."
            )
        energies = np.linalg.eigvalsh(block[:, :, 0, :])
    if degen_tol is None:
        return
    tol = check_degen_tol(degen_tol)
    spread = float(energies.max() - energies.min())
    if model.nbands > 1 and tol >= DEGEN_FRACTION * spread:
        raise QgeomInputError(
            f"degen_tol = {tol:g} is comparable to the spread of the band energies ({spread:.3g} "
            f"{model.energy_unit} at sample k-points): every band would join one degenerate "
            f"subspace and all interband terms would vanish. Use a tolerance far below the level spacing "
            f"(default {DEFAULT_DEGEN_TOL:g})."
        )


def sample_points(model, n: int = SAMPLES) -> np.ndarray:
    """A few fixed pseudo-random k-points: over the BZ (lattice models) or within the cutoff."""
    rng = np.random.default_rng(7)
    if model.is_periodic:
        return rng.uniform(-0.5, 0.5, (n, model.dim)) @ model.reciprocal_lattice
    return rng.uniform(-1, 1, (n, model.dim)) * (model.k_cutoff or 1.0)


def _params(model) -> str:
    params = model.parameters or {}
    shown = {k: v for k, v in params.items() if isinstance(v, (int, float)) and not isinstance(v, bool)}
    return ", ".join(f"{k}={v:g}" for k, v in list(shown.items())[:8]) or "none"


def check_finite_result(total, what: str = "the k-sum") -> None:
    """Raise if a reduced k-sum holds NaN or inf (never write such a result silently)."""
    parts = total.items() if isinstance(total, dict) else [("", total)]
    for name, part in parts:
        arr = np.asarray(part)
        if not np.all(np.isfinite(arr)):
            raise QgeomInputError(
                f"{what}{f' ({name})' if name else ''} is not finite (NaN/inf): an overflow in the model or "
                "its parameters, or a temperature/broadening too small for float arithmetic; nothing was written."
            )
