"""dc.exact on real Wannier models: the band-reach split of term (IV) against every band triple per element.

    python benchmarks/exact_ness.py                           # GaAs 6³, 1T′-MoS₂ 8², Wannier-like N = 32 6³; ~4 min
    python benchmarks/exact_ness.py --models gaas --grid 8 --mu 20 --gamma 3

`qgeom.dc.exact` takes the band pairs (m, n) farther apart in band index than a chunk's band reach (all pairs
closer than ½(πkT + Γ) lie within it) from pair tables — N² elements per contour node and μ — and only the near
ones per element (docs/exact_ness.md, "Cost"). Per model, in one process, one BLAS thread: the eigensolve floor
on the same k-points; `exact` / floor with the default split and with the reach set to every band
(`exact.FAR_SEPARATION` = ∞: the per-element evaluation of every triple, the former algorithm's work), best of
`--repeat` alternating runs (4 components, kT = 50 meV, μ over the model's window of `real_models.py`, Γ from
5 to 50 meV); per-element / default; and the largest difference of σ between the two over max |σ| per Γ.
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

from bench_common import eigensolve_floor, one_blas_thread, table, timed_settings

GRIDS = {"gaas": (6, 6, 6), "mos2": (8, 8), "wannier32": (6, 6, 6)}


def measure(model, mu, grid, gammas, repeat: int = 1) -> dict:
    """Floor, default and per-element CPU times (best of `repeat`) and the σ difference of one model."""
    import importlib

    import numpy as np

    from qgeom.kspace import make_grid

    import real_models

    exact_module = importlib.import_module("qgeom.dc.exact")  # the module (qgeom.dc.exact is the function)
    kgrid = make_grid(model, grid, offset="gamma")
    floor = eigensolve_floor(model, kgrid)

    def run():
        return exact_module.exact(model, components=real_models.COMPONENTS, mu=mu, temperature=0.05, gamma=gammas,
                                  grid=kgrid, progress=False, symmetry=None).sigma.values  # [Γ, component, μ]

    exact_module.exact(model, components=real_models.COMPONENTS, mu=mu[:1], temperature=0.05, gamma=gammas[:1],
                       grid=2, progress=False, symmetry=None)  # warm-up: imports and caches outside the timings
    best, sigma = timed_settings(exact_module, "FAR_SEPARATION",
                                 {"default": exact_module.FAR_SEPARATION, "per_element": np.inf}, run, repeat)
    best["floor"] = min(floor() for _ in range(repeat))
    scale = np.abs(sigma["per_element"]).max(axis=(1, 2))
    difference = np.abs(sigma["default"] - sigma["per_element"]).max(axis=(1, 2)) / scale
    return dict(nk=kgrid.npoints, **best, difference=float(difference.max()))


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--models", nargs="+", default=list(GRIDS), choices=list(GRIDS))
    ap.add_argument("--grid", type=int, default=None, help="points per direction (default: 6³, 8²)")
    ap.add_argument("--mu", type=int, default=5, help="number of μ values")
    ap.add_argument("--gamma", type=int, default=1, help="number of Γ values (5–50 meV)")
    ap.add_argument("--repeat", type=int, default=1)
    args = ap.parse_args(argv)
    import warnings

    import numpy as np

    import real_models

    gammas = np.geomspace(0.005, 0.05, args.gamma)
    out = []
    for name in args.models:
        model = real_models.load_model(name, Path(tempfile.mkdtemp()))
        grid = GRIDS[name] if args.grid is None else (args.grid,) * len(GRIDS[name])
        mu = np.linspace(*real_models.MODELS[name][1], args.mu)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # the coarse grids' accuracy warnings: not what is timed
            r = measure(model, mu, grid, gammas, args.repeat)
        out.append([name, model.nbands, r["nk"], args.mu, args.gamma, f"{r['default'] / r['floor']:.0f}",
                    f"{r['per_element'] / r['floor']:.0f}", f"{r['per_element'] / r['default']:.2f}",
                    f"{r['difference']:.1e}"])
        print("  ".join(str(c) for c in out[-1]), flush=True)
    print()
    print(table(["model", "N", "k-points", "μ", "Γ", "default / floor", "per element / floor",
                 "per element / default", "max |Δσ| / max |σ|"], out))
    return 0


if __name__ == "__main__":
    one_blas_thread()
    raise SystemExit(main())
