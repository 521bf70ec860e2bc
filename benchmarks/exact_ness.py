"""dc.exact on real Wannier models: the band-reach split of term (IV) against every band triple per element.

    python benchmarks/exact_ness.py                           # GaAs 6³, 1T′-MoS₂ 8², Wannier-like N = 32 6³,
                                                              # then the slab comparison; ~5 min
    python benchmarks/exact_ness.py --models gaas --grid 8 --mu 20 --gamma 3

`qgeom.dc.exact` takes the band pairs (m, n) farther apart in band index than a chunk's band reach (all pairs
closer than ½(πkT + Γ) lie within it) from pair tables — N² elements per contour node and μ — and only the near
ones per element (docs/exact_ness.md, "Cost"). Per model, in one process, one BLAS thread: the eigensolve floor
on the same k-points; `exact` / floor with the default split and with the reach set to every band
(`exact_sums.FAR_SEPARATION` = ∞: the per-element evaluation of every triple, the former algorithm's work), best of
`--repeat` alternating runs (4 components, kT = 50 meV, μ over the model's window of `real_models.py`, Γ from
5 to 50 meV); per-element / default; and the largest difference of σ between the two over max |σ| per Γ.

Then large models in bounded memory (`--no-slabs` skips it): term (IV) summed over slabs of intermediate bands
(`exact_sums.middle_slabs`, the default) against one slab (`exact_sums.SLAB_BYTES` = ∞, the former code) for the DC
family on a Wannier-like N = 160 model and the second harmonic on N = 64 (2 k-points, 2 μ, 4 components): CPU
time, traced peak memory (tracemalloc, a separate run) and the σ difference.
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

from bench_common import eigensolve_floor, one_blas_thread, table, timed_settings

GRIDS = {"gaas": (6, 6, 6), "mos2": (8, 8), "wannier32": (6, 6, 6)}
SLAB_ROWS = (("dc", 160), ("second_harmonic", 64))  # (family, orbitals) of the slab comparison


def measure(model, mu, grid, gammas, repeat: int = 1) -> dict:
    """Floor, default and per-element CPU times (best of `repeat`) and the σ difference of one model."""
    import importlib

    import numpy as np

    from qgeom.kspace import make_grid

    import real_models

    from qgeom.dc import exact

    sums_module = importlib.import_module("qgeom.dc.exact_sums")
    kgrid = make_grid(model, grid, offset="gamma")
    floor = eigensolve_floor(model, kgrid)

    def run():
        return exact(model, components=real_models.COMPONENTS, mu=mu, temperature=0.05, gamma=gammas,
                     grid=kgrid, progress=False, symmetry=None).sigma.values  # [Γ, component, μ]

    exact(model, components=real_models.COMPONENTS, mu=mu[:1], temperature=0.05, gamma=gammas[:1],
          grid=2, progress=False, symmetry=None)  # warm-up: imports and caches outside the timings
    best, sigma = timed_settings(sums_module, "FAR_SEPARATION",
                                 {"default": sums_module.FAR_SEPARATION, "per_element": np.inf}, run, repeat)
    best["floor"] = min(floor() for _ in range(repeat))
    scale = np.abs(sigma["per_element"]).max(axis=(1, 2))
    difference = np.abs(sigma["default"] - sigma["per_element"]).max(axis=(1, 2)) / scale
    return dict(nk=kgrid.npoints, **best, difference=float(difference.max()))


def measure_slabs(family: str, N: int, n_R: int = 200, repeat: int = 1) -> dict:
    """Slabs (the default) against one slab for one exact NESS family ("dc": `exact`; "second_harmonic":
    `exact_frequency` at ω = 0.3 eV) on a Wannier-like N-orbital model: best CPU seconds, traced peaks (bytes),
    the slab count and max |Δσ| / max |σ|."""
    import importlib
    import tracemalloc

    import numpy as np

    import wannier_like

    from qgeom.dc import exact, exact_frequency

    E = importlib.import_module("qgeom.dc.exact_sums")
    model = wannier_like.model(N, n_R, seed=1)
    kw = dict(components=["xyy", "yxx", "xxx", "yyy"], mu=[-0.2, 0.2], temperature=0.05, gamma=0.02, grid=(2, 1, 1),
              progress=False)
    slabs = []
    real = E.middle_slabs

    def run():
        if family == "dc":
            return exact(model, symmetry=None, **kw).sigma.values
        return exact_frequency(model, omega=[0.3], processes=["second_harmonic"], **kw).sigma.values

    settings = {"slabs": E.SLAB_BYTES, "one_slab": 2**62}
    E.middle_slabs = lambda *a, **k: slabs.append(real(*a, **k)) or slabs[-1]
    try:
        best, sigma = timed_settings(E, "SLAB_BYTES", settings, run, repeat)
        count = len(slabs[0])  # the first run is the default's
        peaks = {}
        for label, value in settings.items():
            saved, E.SLAB_BYTES = E.SLAB_BYTES, value
            tracemalloc.start()
            try:
                run()
                peaks[label] = tracemalloc.get_traced_memory()[1]
            finally:
                tracemalloc.stop()
                E.SLAB_BYTES = saved
    finally:
        E.middle_slabs = real
    difference = np.abs(sigma["slabs"] - sigma["one_slab"]).max() / np.abs(sigma["one_slab"]).max()
    return dict(time=best, peak=peaks, slabs=count, difference=float(difference))


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--models", nargs="+", default=list(GRIDS), choices=list(GRIDS))
    ap.add_argument("--grid", type=int, default=None, help="points per direction (default: 6³, 8²)")
    ap.add_argument("--mu", type=int, default=5, help="number of μ values")
    ap.add_argument("--gamma", type=int, default=1, help="number of Γ values (5–50 meV)")
    ap.add_argument("--repeat", type=int, default=1)
    ap.add_argument("--no-slabs", action="store_true", help="skip the large models' slab comparison")
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
    if args.no_slabs:
        return 0
    rows = []
    for family, N in SLAB_ROWS:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            r = measure_slabs(family, N, repeat=args.repeat)
        t, p = r["time"], r["peak"]
        rows.append([family, N, r["slabs"], f"{p['slabs'] / 2**20:.0f}", f"{p['one_slab'] / 2**20:.0f}",
                     f"{t['slabs']:.1f}", f"{t['one_slab']:.1f}", f"{t['one_slab'] / t['slabs']:.2f}",
                     f"{r['difference']:.1e}"])
        print("  ".join(str(c) for c in rows[-1]), flush=True)
    print()
    print(table(["family", "N", "slabs", "peak MiB: slabs", "one slab", "CPU s: slabs", "one slab",
                 "one slab / slabs", "max |Δσ| / max |σ|"], rows))
    return 0


if __name__ == "__main__":
    one_blas_thread()
    raise SystemExit(main())
