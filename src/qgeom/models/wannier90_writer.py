"""Writing a tight-binding model as Wannier90 files: `SEED_hr.dat` (all degeneracies 1, full precision) and, for
a convention-II model, its orbital positions as `SEED_centres.xyz` — what `from_wannier90` reads back."""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

import numpy as np

from .._validation import QgeomInputError
from .base import Model
from .orbital_positions import OrbitalPositionModel
from .tight_binding import TightBindingModel

WRITE_ROWS = 1 << 17  # hopping rows formatted at a time by `to_wannier90_hr`



def to_wannier90_hr(model: Model, path: str | Path, *, header: str | None = None) -> Path:
    """Write the hoppings of a tight-binding model as `SEED_hr.dat` (all degeneracies 1, full
    precision). For a convention-II model the hoppings t_ij(R) are written (phase convention is not
    part of the file) and the orbital positions go to `SEED_centres.xyz` next to it, which
    `from_wannier90` picks up again."""
    base = model.base if isinstance(model, OrbitalPositionModel) else model
    if not isinstance(base, TightBindingModel):
        raise QgeomInputError(f"to_wannier90_hr needs a tight-binding model, got {type(model).__name__}.")
    if base.dim != 3:
        R = np.zeros((len(base.R), 3), int)
        R[:, : base.dim] = base.R
    else:
        R = base.R
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    N, nR = base.nbands, len(R)
    stamp = datetime.now(timezone.utc).strftime("%d%b%Y at %H:%M:%S")
    lines = [header or f"written by qgeom on {stamp} (model {base.name})", f"{N:12d}", f"{nR:12d}"]
    lines += ["".join(f"{1:5d}" for _ in range(min(15, nR - s))) for s in range(0, nR, 15)]
    n_idx, m_idx = np.divmod(np.arange(N * N), N)  # m fastest, as Wannier90 writes
    row = "%5d%5d%5d%5d%5d %24.16e %24.16e\n"
    with open(path, "w") as fh:
        fh.write("\n".join(lines) + "\n")
        step = max(1, WRITE_ROWS // (N * N))
        for s in range(0, nR, step):  # rows of a few R blocks formatted at once: bounded memory, no loop per row
            block = np.empty((min(step, nR - s), N * N, 7))
            block[..., :3] = R[s:s + step, None, :]
            block[..., 3], block[..., 4] = m_idx + 1, n_idx + 1
            vals = base.t[s:s + step][:, m_idx, n_idx]
            block[..., 5], block[..., 6] = vals.real, vals.imag
            fh.write((row * (block.size // 7)) % tuple(block.ravel().tolist()))
    if isinstance(model, OrbitalPositionModel):
        stem = path.name[: -len("_hr.dat")] if path.name.endswith("_hr.dat") else path.stem
        pos = np.zeros((N, 3))
        pos[:, : base.dim] = model.positions
        xyz = [f"{N:6d}", "Wannier centres written by qgeom (Å)"]
        xyz += [f"X {p[0]:22.15f} {p[1]:22.15f} {p[2]:22.15f}" for p in pos]
        path.with_name(stem + "_centres.xyz").write_text("\n".join(xyz) + "\n")
    return path
