"""A low-symmetry variant of the shipped GaAs Wannier90 model, written as a `_tb.dat` (+ the `.win`) that
qgeom and WannierBerri both read: H(R = 0) += V with V a seeded random Hermitian 16×16 matrix (|V_ij| ~ 50
meV), which breaks time reversal and every point-group operation of Td while keeping the hoppings, the
Wannier position matrix r_ij(R) and the MDRS replicas of the original. Used by the shift-current
comparison on all 18 independent components (make_reference.py `lowsym`, tests/optical/test_lowsym_shift.py)."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np

SEED, SCALE = 7, 0.05  # eV


def onsite_perturbation(n: int = 16, seed: int = SEED, scale: float = SCALE) -> np.ndarray:
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, n)) + 1j * rng.normal(size=(n, n))
    return scale * (X + X.conj().T) / 2


def write_lowsym_gaas(source_dir: Path, target_dir: Path, seed: int = SEED, scale: float = SCALE) -> Path:
    """Copy GaAs.win and GaAs_tb.dat from `source_dir` to `target_dir` with H(R = 0) += V; returns the _tb.dat."""
    source_dir, target_dir = Path(source_dir), Path(target_dir)
    target_dir.mkdir(parents=True, exist_ok=True)
    lines = (source_dir / "GaAs_tb.dat").read_text().splitlines()
    n = int(lines[4].split()[0])
    V = onsite_perturbation(n, seed, scale)
    start = next(i for i, ln in enumerate(lines) if ln.split() == ["0", "0", "0"])  # first block: H(R = 0)
    for line_no in range(start + 1, start + 1 + n * n):
        i, j, re, im = lines[line_no].split()
        h = complex(float(re), float(im)) + V[int(i) - 1, int(j) - 1]
        lines[line_no] = f"{int(i):5d}{int(j):5d}  {h.real: .8E}  {h.imag: .8E}"
    out = target_dir / "GaAs_tb.dat"
    out.write_text("\n".join(lines) + "\n")
    shutil.copy(source_dir / "GaAs.win", target_dir / "GaAs.win")
    return out
