"""Export the qgeom tight-binding hoppings to .npz files that the WannierBerri script reads.

Run with the *project* venv:  /work/main/.venv/bin/python tests/data/wannierberri/export_models.py

Each file holds R [nR,2] (integer lattice-vector indices), t [nR,N,N] (t_R = <0 i|H|R j>, so
H(k) = sum_R t_R exp(i k.R), convention I, all orbitals at the origin), lattice [2,2] (rows, angstrom
for WannierBerri; a = 1), the model parameters, and a few check points k_check [nk,2] (Cartesian,
1/angstrom) with qgeom's H(k) and eigenvalues so that the WannierBerri side can verify the convention.
"""
import json
from pathlib import Path

import numpy as np

from qgeom.models import pt_tilted_4band, tilted_dirac_2band

HERE = Path(__file__).resolve().parent

MODELS = {
    "tilted_dirac_2band": (tilted_dirac_2band, dict(v=1.0, m=0.3, b=1.0, tilt=0.4)),
    "pt_tilted_4band": (pt_tilted_4band, dict(v=1.0, b=1.0, m=-3.9, t=0.9)),
}


def main():
    rng = np.random.default_rng(1234)
    k_check = np.vstack([[[0.0, 0.0], [np.pi, 0.0], [0.3, 0.7], [-0.3, 0.7]],
                         rng.uniform(-np.pi, np.pi, size=(6, 2))])
    for name, (ctor, par) in MODELS.items():
        model = ctor(**par)
        H = model.hamiltonian(k_check)
        np.savez_compressed(
            HERE / f"{name}.npz",
            R=np.asarray(model.R, dtype=np.int64),
            t=np.asarray(model.t, dtype=complex),
            lattice=np.asarray(model.lattice, dtype=float),
            parameters=json.dumps(par),
            name=name,
            k_check=k_check,
            H_check=H,
            E_check=np.linalg.eigvalsh(H),
        )
        print(f"wrote {name}.npz  nR={len(model.R)} N={model.t.shape[1]}")


if __name__ == "__main__":
    main()
