"""optical.response against the number of frequencies, the default contraction and the direct one side by side.

    python benchmarks/optical_frequencies.py                      # GaAs 12³ and 1T′-MoS₂ 30², ~6 min on one core
    python benchmarks/optical_frequencies.py --models gaas --omega 50 2000 --grid 8 --kind gaussian

The ω contraction sums every transition against kernel tables over the frequencies; in blocks of frequencies,
the transitions far from a block are interpolated from its Chebyshev points (`qgeom.optical.spectral`, 4). Per
model and number of ω (ħω 0.2–3 eV, current_x, the default kinds and broadening: 2 meV, Lorentzian or
`--kind gaussian`; τ = 0.1 ps; μ in the model's benchmark window of `real_models.py`), in one process, one BLAS
thread: the eigensolve floor on the same k-points, `optical.response` / floor with the default contraction and
with every transition summed directly (`spectral.FAR` = ∞), best of `--repeat` alternating runs, direct /
default, and the largest difference of χ between the two over max|χ|.
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

from bench_common import eigensolve_floor, one_blas_thread, table, timed_settings

GRIDS = {"gaas": (12, 12, 12), "mos2": (30, 30)}
OMEGA = (50, 200, 1000, 2000)


def measure(model, mu: float, grid, counts, repeat: int = 1, kind: str = "lorentzian") -> list[dict]:
    """One row per number of ω: floor, default and direct CPU times (best of `repeat`), and the χ difference."""
    import numpy as np

    from qgeom.kspace import make_grid
    from qgeom.optical import response, spectral

    kgrid = make_grid(model, grid, offset="gamma")
    floor = eigensolve_floor(model, kgrid)

    response(model, "current_x", omega=np.array([1.0, 2.0]), mu=mu, temperature=0.05, tau=0.1, grid=2, progress=False)
    rows = []
    for n in counts:
        omega = np.linspace(0.2, 3.0, n)

        def run():
            return response(model, "current_x", omega=omega, mu=mu, temperature=0.05, tau=0.1, grid=kgrid,
                            broadening_kind=kind, progress=False, symmetry=None).chi.values

        best, chi = timed_settings(spectral, "FAR", {"default": spectral.FAR, "direct": np.inf}, run, repeat)
        best["floor"] = min(floor() for _ in range(repeat))
        scale = np.abs(chi["direct"]).max()
        rows.append(dict(omega=n, nk=kgrid.npoints, **best,
                         difference=float(np.abs(chi["default"] - chi["direct"]).max() / scale)))
    return rows


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--models", nargs="+", default=list(GRIDS), choices=list(GRIDS))
    ap.add_argument("--omega", nargs="+", type=int, default=list(OMEGA), help="numbers of frequencies")
    ap.add_argument("--grid", type=int, default=None, help="points per direction (default: 12³, 30²)")
    ap.add_argument("--repeat", type=int, default=2)
    ap.add_argument("--kind", default="lorentzian", choices=["lorentzian", "gaussian"], help="broadening kind")
    args = ap.parse_args(argv)
    import warnings

    import real_models

    out = []
    for name in args.models:
        model = real_models.load_model(name, Path(tempfile.mkdtemp()))
        grid = GRIDS[name] if args.grid is None else (args.grid,) * len(GRIDS[name])
        mu = sum(real_models.MODELS[name][1]) / 2
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # near-degeneracy warnings of the coarse grids: not what is timed
            for r in measure(model, mu, grid, args.omega, args.repeat, args.kind):
                out.append([name, r["omega"], r["nk"], f"{r['default'] / r['floor']:.2f}",
                            f"{r['direct'] / r['floor']:.2f}", f"{r['direct'] / r['default']:.2f}",
                            f"{r['difference']:.1e}"])
                print("  ".join(str(c) for c in out[-1]), flush=True)
    print()
    print(table(["model", "ω", "k-points", "default / floor", "direct / floor", "direct / default",
                 "max |Δχ| / max |χ|"], out))
    return 0


if __name__ == "__main__":
    one_blas_thread()
    raise SystemExit(main())
