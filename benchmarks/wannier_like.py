"""Seeded generator of Wannier-like tight-binding models for the benchmarks (and tests).

N orbitals at random positions in an fcc cell (a = 4 Å), hoppings between every lattice vector
inside a sphere chosen so that there are about `n_R` of them, random complex matrices decaying
as e^{−|R + τ_j − τ_i|/ξ} (ξ = 1.5 Å; Hermitian: t_{−R} = t_R†), on-site energies spread over
±3 eV. Convention II (the orbital positions are the Wannier centres), as a default
`from_wannier90` model with centres is.
"""

from __future__ import annotations

import itertools

import numpy as np

FCC = 2.0 * np.array([[0.0, 1.0, 1.0], [1.0, 0.0, 1.0], [1.0, 1.0, 0.0]])  # Å, a = 4 Å
DECAY = 1.5  # Å


def wannier_like(N: int, n_R: int, *, seed: int = 0):
    """(R [nR, 3] int, t [nR, N, N], lattice [3, 3] Å, positions [N, 3] Å): the ~n_R lattice vectors
    of smallest length (a full shell structure, symmetric under R → −R)."""
    rng = np.random.default_rng(seed)
    span = int(np.ceil((3 * n_R / (4 * np.pi) * 2) ** (1 / 3))) + 2
    box = np.array(list(itertools.product(range(-span, span + 1), repeat=3)))
    length = np.linalg.norm(box @ FCC, axis=1)
    radius = np.sort(length)[min(n_R, len(box)) - 1] + 1e-9
    R = box[length <= radius]
    tau = rng.random((N, 3)) @ FCC
    t = np.empty((len(R), N, N), complex)
    # built in pieces of R (the same random stream as one draw of each part): a 100-orbital model with 2000 R
    # vectors then peaks at its 335 MB of hoppings, not at the ~1.4 GB of whole-array temporaries
    pieces = [slice(s, s + max(1, (1 << 21) // (N * N))) for s in range(0, len(R), max(1, (1 << 21) // (N * N)))]
    for part in (t.real, t.imag):
        for sl in pieces:
            part[sl] = rng.normal(size=part[sl].shape)
    for sl in pieces:
        d = np.linalg.norm((R[sl] @ FCC)[:, None, None, :] + tau[None, None, :, :] - tau[None, :, None, :], axis=-1)
        t[sl] *= np.exp(-d / DECAY)
    index = {tuple(r): i for i, r in enumerate(R.tolist())}
    for i, r in enumerate(R.tolist()):  # t_R ← ½(t_R + t_−R†), pair by pair (each pair once)
        j = index[tuple(-x for x in r)]
        if i <= j:
            sym = 0.5 * (t[i] + t[j].conj().T)
            t[i], t[j] = sym, sym.conj().T
    t[index[(0, 0, 0)]] += np.diag(rng.uniform(-3.0, 3.0, N))
    return R, t, FCC.copy(), tau


def model(N: int, n_R: int, *, seed: int = 0):
    """The generated hoppings as a qgeom convention-II model (eV, Å)."""
    from qgeom.models.tight_binding import TightBindingModel
    from qgeom.models.wannier90 import OrbitalPositionModel

    R, t, lattice, tau = wannier_like(N, n_R, seed=seed)
    base = TightBindingModel(R, t, lattice=lattice, name=f"wannier_like_N{N}_R{len(R)}",
                             parameters={"seed": seed}, energy_unit="eV", length_unit="Å", copy=False)
    return OrbitalPositionModel(base, tau)
