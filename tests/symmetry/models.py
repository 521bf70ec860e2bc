"""Exactly symmetric test models: s + p orbitals (p along the model's axes), random complex
hoppings averaged over a magnetic point group (t_{gR} = U t_R U† or U t_R* U† with time reversal),
so the Bloch bands have exactly that group (and generically no more)."""

from __future__ import annotations

import itertools

import numpy as np

from qgeom.models.tight_binding import TightBindingModel

HEXAGONAL = np.array([[1.0, 0.0], [-0.5, np.sqrt(3) / 2]])


def symmetric_model(ops, lattice, *, reach: int = 1, seed: int = 0) -> TightBindingModel:
    lattice = np.asarray(lattice, float)
    dim = len(lattice)
    rng = np.random.default_rng(seed)
    N = 1 + dim
    inv = np.linalg.inv(lattice)
    hop: dict = {}
    for R in itertools.product(range(-reach, reach + 1), repeat=dim):
        t = rng.normal(size=(N, N)) + 1j * rng.normal(size=(N, N))
        for g in ops:
            Rc = g.R[:dim, :dim]
            U = np.eye(N)
            U[1:, 1:] = Rc
            image = tuple(np.rint(np.asarray(R) @ lattice @ Rc.T @ inv).astype(int))
            hop[image] = hop.get(image, 0) + U @ (np.conj(t) if g.time_reversal else t) @ U.T / len(ops)
    keys = list(hop)
    t = np.array([0.5 * (hop[k] + hop[tuple(-x for x in k)].conj().T) for k in keys])  # Hermitian H(k)
    return TightBindingModel(np.array(keys), t, lattice=lattice, name="symmetric_sp")


def assert_same_error_estimate(full, sym, name: str, scale: float) -> bool:
    """The k-grid error estimate of a wedge run equals the full grid's (its coarse sub-grid's orbits are
    listed first), or, when the group does not keep the coarse sub-grid (Monkhorst–Pack, even counts),
    the wedge run says that it is unavailable and why. Returns whether it was compared."""
    import json

    method = json.loads(sym.attrs["error_estimate"])[name]["method"]
    if f"{name}_error" not in sym:
        assert method.startswith("unavailable") and ("Monkhorst" in method or f"{name}_error" not in full), method
        return False
    err_full, err_sym = (x[f"{name}_error"].values for x in (full, sym))
    assert np.abs(err_full - err_sym).max() <= 1e-10 * scale
    return True
