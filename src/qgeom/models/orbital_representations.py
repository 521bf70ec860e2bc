"""How a point-group operation acts on Wannier functions made from atomic projections: the rotation of the real
harmonics s, p, d (`harmonic_rotation`), the SU(2) rotation of the spin (`spin_rotation`) and the representation
D(g) that carries the orbitals of one site onto those of its image (`orbital_representation`); used by
`models.symmetrize` (`symmetrize_point_group(orbitals=...)`), which also finds where each site goes (`_site_map`).
"""

from __future__ import annotations

import numpy as np

from .._validation import QgeomInputError

SITE_TOL = 1e-3  # Å: Wannier centres this close are one site (an operation carries a centre onto another within it)


def same_centre(tau: np.ndarray) -> np.ndarray:
    """[i, j]: the Wannier functions i and j share a centre (within SITE_TOL): one site."""
    return np.linalg.norm(tau[:, None] - tau[None], axis=-1) < SITE_TOL


_HARMONICS = {  # real harmonics of equal norm on the sphere, as functions of unit vectors [n, 3]
    "s": lambda r: np.ones(len(r)), "pz": lambda r: r[:, 2], "px": lambda r: r[:, 0], "py": lambda r: r[:, 1],
    "dz2": lambda r: (3 * r[:, 2] ** 2 - 1) / (2 * np.sqrt(3)), "dxz": lambda r: r[:, 0] * r[:, 2],
    "dyz": lambda r: r[:, 1] * r[:, 2], "dx2-y2": lambda r: (r[:, 0] ** 2 - r[:, 1] ** 2) / 2,
    "dxy": lambda r: r[:, 0] * r[:, 1],
}
_L = {"s": 0, "pz": 1, "px": 1, "py": 1, "dz2": 2, "dxz": 2, "dyz": 2, "dx2-y2": 2, "dxy": 2}


def harmonic_rotation(S: np.ndarray) -> np.ndarray:
    """D[m', m] with f_m(S⁻¹r) = Σ_m' f_m'(r) D[m', m] over the real harmonics in _HARMONICS order (9×9)."""
    r = np.random.default_rng(0).normal(size=(40, 3))
    r /= np.linalg.norm(r, axis=1)[:, None]
    F = np.stack([f(r) for f in _HARMONICS.values()], axis=1)
    Fg = np.stack([f(r @ S) for f in _HARMONICS.values()], axis=1)  # row n: r_n S = (Sᵀ r_n)ᵀ = (S⁻¹ r_n)ᵀ
    D = np.linalg.lstsq(F, Fg, rcond=None)[0]
    return np.where(np.abs(D) < 1e-12, 0.0, D)


def spin_rotation(S: np.ndarray) -> np.ndarray:
    """SU(2) matrix of the proper part det(S)·S (inversion leaves spin alone); the sign drops out of D H D†."""
    from scipy.spatial.transform import Rotation

    v = Rotation.from_matrix(np.linalg.det(S) * S).as_rotvec()
    theta = np.linalg.norm(v)
    n = v / theta if theta > 1e-12 else np.zeros(3)
    sig = np.array([[[0, 1], [1, 0]], [[0, -1j], [1j, 0]], [[1, 0], [0, -1]]])
    return np.cos(theta / 2) * np.eye(2) - 1j * np.sin(theta / 2) * np.einsum("a,aij->ij", n, sig)


def orbital_representation(S, orbitals, nbands, ordering, p, tau) -> np.ndarray:
    """D(g) [N, N] from the projections: harmonic rotation within each site, site a ← site of b."""
    names = list(_HARMONICS)
    bad = [o for o in orbitals if o not in _HARMONICS]
    if bad:
        raise QgeomInputError(f"unknown orbital names {bad}: use {names}.")
    M = len(orbitals)
    if nbands not in (M, 2 * M):
        raise QgeomInputError(f"{M} orbitals given for {nbands} Wannier functions: pass one name per spatial orbital.")
    spin = nbands == 2 * M
    w = np.arange(nbands)
    orb = (w % M if ordering == "block" else w // 2) if spin else w
    sp = (w // M if ordering == "block" else w % 2) if spin else np.zeros(nbands, int)
    idx = np.array([names.index(o) for o in orbitals])[orb]
    Y = harmonic_rotation(S)[idx[:, None], idx[None, :]]  # [a, b]
    U = spin_rotation(S)[sp[:, None], sp[None, :]] if spin else 1.0
    site = same_centre(tau)  # [a, b]
    target = site[:, p]  # a sits where b is carried
    same_l = np.array([_L[o] for o in orbitals])[orb]
    mask = target & (same_l[:, None] == same_l[None, :])
    return np.where(mask, Y * U, 0.0)
