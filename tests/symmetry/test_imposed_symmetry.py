"""A crystal's group imposed on a Wannier model that breaks it (`symmetry_tol`), on bcc Fe.

The shipped bcc Fe model (WannierTools example) is read exactly as a direct Fourier sum reads it,
yet its spectrum breaks inversion by ~30 meV at random k and every rotation by ~0.2–0.3 eV: the
breaking is the Wannier model's, not the reader's. Inversion forbids every second-order DC term of
the crystal; imposing it gives the ideal crystal's exact zeros, with the breaking recorded.
"""

from __future__ import annotations

import json
import lzma
from pathlib import Path

import numpy as np
import pytest

from qgeom import QgeomInputError
from qgeom.dc import expansion
from qgeom.models import from_wannier90
from qgeom.symmetry import SymmetryWarning

FE = Path(__file__).resolve().parents[2] / "examples" / "Fe"


@pytest.fixture(scope="module")
def fe():
    return from_wannier90(FE)


def _direct_fourier(path: Path):
    """H(R) and degeneracies straight from the _hr.dat text (reference reading, convention I)."""
    lines = lzma.open(path, "rt").read().splitlines()
    nw, nR = int(lines[1]), int(lines[2])
    deg, i = [], 3
    while len(deg) < nR:
        deg += [int(x) for x in lines[i].split()]
        i += 1
    data = np.array([ln.split() for ln in lines[i:] if ln.strip()], float).reshape(nR, nw * nw, 7)
    H = np.zeros((nR, nw, nw), complex)
    H[:, data[0, :, 3].astype(int) - 1, data[0, :, 4].astype(int) - 1] = data[..., 5] + 1j * data[..., 6]
    return data[:, 0, :3].astype(int), np.array(deg), H


def test_fe_is_read_as_a_direct_fourier_sum_and_breaks_inversion_by_itself(fe):
    R, deg, H = _direct_fourier(FE / "wannier90_hr.dat.xz")
    kred = np.random.default_rng(0).random((12, 3))
    kc = kred @ fe.reciprocal_lattice
    direct = np.linalg.eigvalsh(np.einsum("kr,rmn->kmn", np.exp(2j * np.pi * kred @ R.T) / deg, H))
    ours = np.linalg.eigvalsh(fe.hamiltonian(kc))
    assert np.abs(ours - direct).max() < 1e-10
    # the model's own inversion breaking (both readings): tens of meV, not a reader defect
    breaking = np.abs(ours - np.linalg.eigvalsh(fe.hamiltonian(-kc))).max()
    assert 0.005 < breaking < 0.1


def test_imposed_inversion_gives_the_crystal_zeros_and_records_the_breaking(fe):
    kwargs = dict(components=["xyz", "xxx", "zzz", "xyy"], mu=[fe.parameters["fermi_energy"]], temperature=0.025,
                  grid=6)
    with pytest.raises(QgeomInputError, match="symmetry_tol"):
        expansion(fe, symmetry="-1", **kwargs)
    with pytest.warns(SymmetryWarning, match="breaks it"):
        ds = expansion(fe, symmetry="-1", symmetry_tol=0.5, **kwargs)
    assert bool(ds.forbidden.all())
    assert float(abs(ds.sigma).max()) == 0.0
    info = json.loads(ds.attrs["symmetry"])
    assert 0.05 < info["symmetry_imposed_breaking"]["-1"] < 0.5
    assert info["wedge_points"] < info["full_grid_points"]


def test_symmetry_tol_is_validated(fe):
    for bad in (0, 1.5, float("nan"), "x"):
        with pytest.raises(QgeomInputError, match="symmetry_tol"):
            expansion(fe, symmetry="-1", symmetry_tol=bad, components=["xyz"], mu=[9.0], temperature=0.05, grid=2)
