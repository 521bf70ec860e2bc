"""qgeom on real Wannier models against the eigensolve floor and WannierBerri, side by side.

    python benchmarks/real_models.py                     # every model below, ~8 min on one core
    python benchmarks/real_models.py --models gaas fe --no-peer --repeat 1
    python benchmarks/real_models.py --json real.json    # also write every figure as JSON
    python benchmarks/real_models.py --temperature 0.01  # kT in eV (default 0.05)

Models: GaAs (examples/GaAs, the default reader: convention II with MDRS replicas), bcc Fe
(1367 R vectors; hoppings from examples/Fe, or benchmarks/data/Fe when the example is absent),
1T′-MoS₂ (2D, 48 WFs; examples/MoS2-1Tp or benchmarks/data/MoS2-1Tp), and seeded Wannier-like
models (benchmarks/wannier_like.py: N = 16, 32, 64, 100 with ~2000, 500, 100, 2000 R vectors in a sphere,
convention II). For each, in its own process (so that its peak RSS is its own), single-threaded
BLAS, timing alternately in the same process and keeping the best of `--repeat`:

- floor: `numpy.linalg.eigh` of the same [nk, N, N] Hamiltonians (built outside the timer);
- H(k)+∂: the derivative block over the grid in qgeom's chunks (`bands.derivative_block`): "used",
  the columns `dc.expansion` computes for these components (H and the derivatives up to third
  order along x and y only: 10 columns), and "all" (every distinct derivative along x, y, z: 20);
- dc.expansion: all terms, components xyy yxx xxx yyy, 20 μ, mechanisms fermionic_bath and
  constant_gamma — with the default (seed) forms, with every term by parts (`BY_PARTS`) and, on the user
  grid, with the seed Drude and the Γ⁰ terms by parts (`GAMMA0_BY_PARTS`: the inverse mass needs only the
  diagonal of ∂²H);
- optical.response: observable current_x, 3 kinds, 50 ω;
- the same dc.expansion and optical.response per k-point on a user-size grid (100³; 300² for the 2D
  model), timed on 4 runs of 4 consecutive chunks spread over it against the floor on the same
  k-points (`--no-user-grid` skips it): on a production grid the first Fourier summation levels
  amortize over longer grid lines than on the small grids above;
- WannierBerri 26.10 (serial, no symmetry, no refinement; its FFT grid = the same Γ-centred grid,
  the same hoppings in convention I, eigenvalues checked against qgeom's): BerryDipole_FermiSea +
  NLDrude_FermiSea in one run on the same 20 Fermi levels (its minimum work for BCD + Drude).

Ratios are of process CPU times; the WB ratio is CPU time per k-point (WB / qgeom's full expansion).
"""

from __future__ import annotations

import argparse
import json
import lzma
import os
import shutil
import subprocess
import sys
import tempfile
import dataclasses
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(REPO / "src"))
sys.path.insert(0, str(HERE))

from bench_common import table  # noqa: E402
from qgeom.kspace import KGrid, PointListGrid  # noqa: E402
COMPONENTS = ["xyy", "yxx", "xxx", "yyy"]
TEMPERATURE = 0.05  # eV
FE_LATTICE = [[1.435, 1.435, -1.435], [-1.435, 1.435, 1.435], [1.435, -1.435, 1.435]]  # Å, from wt.in

# name -> (grid, μ window around the reference energy in eV)
MODELS = {
    "gaas": ((16, 16, 16), (8.9, 9.9)),  # conduction band (E_F = 7.94 eV lies in the gap)
    "fe": ((16, 16, 16), (8.9, 9.4)),  # around E_F = 9.18 eV
    "mos2": ((36, 36, 1), (-0.6, 0.0)),
    "wannier16": ((16, 16, 16), (-1.0, 1.0)),
    "wannier32": ((10, 10, 10), (-1.0, 1.0)),
    "wannier64": ((8, 8, 8), (-1.0, 1.0)),
    "wannier100": ((6, 6, 6), (-1.0, 1.0)),  # a wide model: 6 k-points per chunk
}
WANNIER_LIKE = {"wannier16": (16, 2000), "wannier32": (32, 500), "wannier64": (64, 100), "wannier100": (100, 2000)}
USER_GRID = {3: (100, 100, 100), 2: (300, 300)}  # grid sizes of production runs (10⁶ k-points in 3D)
SAMPLE_RUNS = (4, 4)  # the user-size grid is timed on 4 runs of 4 consecutive chunks, evenly spaced over it
SAMPLE_RUN_POINTS = 256  # ... and at least this many k-points a run: a wide model's chunks hold a few k-points
# (N = 100: 6), and a run of 4 of them would pay once per 24 k-points the Fourier sums that a whole-grid run
# shares over a grid plane (10⁴ k-points) and a line (50)


def user_grid(dim: int) -> tuple[int, ...]:
    return USER_GRID[dim]


@dataclasses.dataclass(frozen=True)
class ChunkSample(PointListGrid):
    """Some chunks of a uniform grid as a k-point set of their own: the per-k cost of a run on the whole
    grid, timed on chunks evenly spaced over it (its chunks are alike: every summation level of the
    Fourier sums sees the same numbers of distinct κ values per chunk). Points keep their weights in
    the whole grid (the sums are not the grid's; only the time is used)."""

    parent: KGrid = None
    size: int = 0
    starts: tuple[int, ...] = ()

    @classmethod
    def of(cls, parent: KGrid, size: int, runs: int, per_run: int, min_points: int = 0) -> "ChunkSample":
        """`runs` runs of `per_run` consecutive chunks (more when a run would hold fewer than `min_points`
        k-points), the runs evenly spaced over the grid (a run keeps the chunk-to-chunk reuse of a whole-grid
        run: `models.fourier` keeps partial sums for the next chunks)."""
        nchunks = parent.npoints // size
        per_run = max(per_run, -(-min_points // size))
        starts = tuple(size * (i * (nchunks - per_run) // runs + j) for i in range(runs) for j in range(per_run))
        return cls("uniform", (len(starts) * size,), parent.basis, parent.cell_volume, offset=parent.offset,
                   parent=parent, size=int(size), starts=starts)

    def points(self, start: int, stop: int):
        ks, ws = [], []
        for c in range(start // self.size, (stop - 1) // self.size + 1):  # the sampled chunks [start, stop) meets
            lo, hi = max(start, c * self.size) - c * self.size, min(stop, (c + 1) * self.size) - c * self.size
            k, w = self.parent.points(self.starts[c] + lo, self.starts[c] + hi)
            ks.append(k)
            ws.append(w)
        return np.concatenate(ks), np.concatenate(ws)


def _material_dir(name: str, tmp: Path) -> Path:
    """examples/NAME or benchmarks/data/NAME, with compressed hopping files decompressed into tmp."""
    for root in (REPO / "examples" / name, HERE / "data" / name):
        if root.is_dir():
            break
    else:
        raise SystemExit(f"no {name} model in examples/ or benchmarks/data/")
    out = tmp / name
    out.mkdir(parents=True, exist_ok=True)
    for f in root.iterdir():
        if f.suffix == ".xz":
            with lzma.open(f) as src, open(out / f.stem, "wb") as dst:
                shutil.copyfileobj(src, dst)
        elif f.is_file():
            shutil.copy(f, out / f.name)
    return out


def load_model(name: str, tmp: Path):
    from qgeom.models.wannier90 import from_wannier90

    if name == "gaas":
        return from_wannier90(REPO / "examples" / "GaAs")
    if name == "fe":
        return from_wannier90(_material_dir("Fe", tmp) / "wannier90_hr.dat", lattice=FE_LATTICE)
    if name == "mos2":
        return from_wannier90(_material_dir("MoS2-1Tp", tmp) / "wannier90_hr.dat")
    sys.path.insert(0, str(HERE))
    import wannier_like

    return wannier_like.model(*WANNIER_LIKE[name], seed=1)


CASE = r"""
import json, resource, sys, tempfile, time
from pathlib import Path
import numpy as np
cfg = json.loads(sys.argv[1])
sys.path.insert(0, cfg["here"])
import real_models
from qgeom.bands import derivative_block
import importlib
from qgeom.dc import expansion
from qgeom.dc.expansion import BY_PARTS  # every term by parts: the same σ from ∂H alone
GAMMA0_BY_PARTS = {k: v for k, v in BY_PARTS.items() if k != "drude_form"}  # the seed Drude, the Γ⁰ terms by parts
from qgeom.dc.components import component_indices
from qgeom.kspace import auto_chunk_size, chunk_bounds, make_grid
from qgeom.optical import response

tmp = Path(tempfile.mkdtemp())
model = real_models.load_model(cfg["model"], tmp)
grid = tuple(cfg["grid"])[: model.dim]  # a monolayer is a d = 2 model: its grid is the in-plane one
kgrid = make_grid(model, grid, offset="gamma")
mu = np.linspace(*cfg["mu"], 20)
comps = cfg["components"]
kT = cfg["temperature"]
chunk = auto_chunk_size(model)
bounds = chunk_bounds(kgrid, chunk)

def cpu(fn):
    c0 = time.process_time()
    fn()
    return time.process_time() - c0

# cost per k-point: symmetry=None (the default "neumann" adds a one-off detection, timed apart)
def dc(**forms):
    expansion(model, components=comps, mu=mu, temperature=kT, grid=kgrid,
              mechanisms=["fermionic_bath", "constant_gamma"], progress=False, symmetry=None, **forms)

omega = np.linspace(0.2, 3.0, 50)
def optical():
    response(model, "current_x", omega=omega, mu=float(mu[10]), temperature=kT, tau=0.1, grid=kgrid,
             progress=False, symmetry=None)

def detection():
    importlib.import_module("qgeom.symmetry.detect").detect_at_model_accuracy(model)

axes = importlib.import_module("qgeom.dc.expansion").derivative_axes(component_indices(comps))[0]
if len(axes) == model.dim:
    axes = None

def block():
    for b in bounds:
        derivative_block(model, kgrid.points(*b)[0], 3, axes)

def block_all():
    for b in bounds:
        derivative_block(model, kgrid.points(*b)[0], 3)

def floor(g=kgrid):
    t = 0.0
    for b in chunk_bounds(g, chunk):
        H = model.hamiltonian(g.points(*b)[0], 0)
        c0 = time.process_time()
        np.linalg.eigh(H)
        t += time.process_time() - c0
    return t

# the same per-k costs on a user-size grid (100³, 300² in 2D): its first summation levels amortize over
# longer grid lines than on the small grid above; timed on SAMPLE_RUNS of its chunks
big = real_models.ChunkSample.of(make_grid(model, real_models.user_grid(model.dim), offset="gamma"), chunk,
                                 *real_models.SAMPLE_RUNS, real_models.SAMPLE_RUN_POINTS)

def dc_big(**forms):
    expansion(model, components=comps, mu=mu, temperature=kT, grid=big,
              mechanisms=["fermionic_bath", "constant_gamma"], progress=False, symmetry=None, **forms)

def optical_big():
    response(model, "current_x", omega=omega, mu=float(mu[10]), temperature=kT, tau=0.1, grid=big,
             progress=False, symmetry=None)

expansion(model, components=comps, mu=mu[:2], temperature=kT, grid=2, progress=False)  # warm-up
response(model, "current_x", omega=omega[:2], mu=float(mu[10]), temperature=kT, tau=0.1, grid=2, progress=False)
base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
best = dict(floor=1e99, block=1e99, block_all=1e99, dc=1e99, dc_parts=1e99, optical=1e99, detection=1e99,
            floor_big=1e99, dc_big=1e99, dc_parts_big=1e99, dc_mixed_big=1e99, optical_big=1e99)
rss = None
for _ in range(cfg["repeat"]):
    best["dc"] = min(best["dc"], cpu(dc))
    best["dc_parts"] = min(best["dc_parts"], cpu(lambda: dc(**BY_PARTS)))
    best["detection"] = min(best["detection"], cpu(detection))
    best["floor"] = min(best["floor"], floor())
    best["block"] = min(best["block"], cpu(block))
    best["block_all"] = min(best["block_all"], cpu(block_all))
    if cfg["optical"]:
        best["optical"] = min(best["optical"], cpu(optical))
    best["floor"] = min(best["floor"], floor())
    if cfg["big"]:
        best["dc_big"] = min(best["dc_big"], cpu(dc_big))
        best["dc_parts_big"] = min(best["dc_parts_big"], cpu(lambda: dc_big(**BY_PARTS)))
        best["dc_mixed_big"] = min(best["dc_mixed_big"], cpu(lambda: dc_big(**GAMMA0_BY_PARTS)))
        best["floor_big"] = min(best["floor_big"], floor(big))
        if cfg["optical"]:
            best["optical_big"] = min(best["optical_big"], cpu(optical_big))
        best["floor_big"] = min(best["floor_big"], floor(big))
    if rss is None:
        rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
if cfg["export"]:  # the hoppings for the peer, in convention I (WB's FFT takes R and t as they are)
    base_model = getattr(model, "base", model)
    d = model.dim
    kc = np.array([[0.1, 0.2, 0.3], [0.0, 0.0, 0.0], [0.31, -0.17, 0.05]])[:, :d] @ np.asarray(model.reciprocal_lattice)
    R, lat, kc3 = np.zeros((len(base_model.R), 3), int), 20.0 * np.eye(3), np.zeros((3, 3))  # d = 2: R_z = 0, any c
    R[:, :d], lat[:d, :d], kc3[:, :d] = base_model.R, np.asarray(model.lattice), kc
    np.savez(cfg["export"], R=R, t=base_model.t, lattice=lat, k_check=kc3,
             E_check=np.linalg.eigvalsh(model.hamiltonian(kc, 0)), mu=mu, grid=np.array(cfg["grid"]))
print("BENCHJSON" + json.dumps(dict(model=cfg["model"], N=model.nbands, nR=int(len(getattr(model, "base", model).R)),
      convention=model.parameters.get("convention", "I"), grid=list(grid), nk=kgrid.npoints, chunk=chunk,
      big_grid=list(big.parent.shape), big_nk=big.npoints,
      base_rss_mib=round(base, 1), peak_rss_mib=round(rss, 1), **{k: round(v, 4) for k, v in best.items()})))
"""

PEER = r"""
import contextlib, io, json, os, sys, tempfile, time
import numpy as np
import wannierberri as wberri
from wannierberri.calculators import static as wb_static
from wannierberri.fourier.rvectors import Rvectors
from wannierberri.system import System_R

cfg = json.loads(sys.argv[1])
d = np.load(cfg["npz"])
R, t, lat = d["R"], d["t"], d["lattice"]
nw = t.shape[1]
system = System_R(force_internal_terms_only=True, name="peer", silent=True)
system.num_wann, system.spinor, system.real_lattice = nw, False, lat
system.set_wannier_centers(wannier_centers_red=np.zeros((nw, 3)))
system.rvec = Rvectors(lattice=lat, iRvec=R, shifts_left_red=np.zeros((nw, 3)), dim=3)
ham = np.zeros((system.rvec.nRvec, nw, nw), complex)
for r, tt in zip(R, t):
    ham[system.rvec.iR(r)] += tt
system.set_R_mat("Ham", ham)
system.do_at_end_of_init()
err = 0.0
for k, E in zip(d["k_check"], d["E_check"]):
    with contextlib.redirect_stdout(io.StringIO()):
        Ewb = wberri.evaluate_k(system, k=lat @ k / (2 * np.pi), quantities=["energy"])
    err = max(err, float(np.abs(np.sort(Ewb) - E).max()))
grid = wberri.Grid(system, NKdiv=[1, 1, 1], NKFFT=[int(x) for x in d["grid"]], use_symmetry=False)
common = dict(Efermi=d["mu"], tetra=False, smoother=None, save_mode="bin")
calcs = {"BCD": wb_static.BerryDipole_FermiSea(**common), "Drude": wb_static.NLDrude_FermiSea(**common)}
with tempfile.TemporaryDirectory() as wd:
    os.chdir(wd)
    c0, w0 = time.process_time(), time.perf_counter()
    with contextlib.redirect_stdout(io.StringIO()):
        wberri.run(system, grid=grid, calculators=calcs, parallel=False, use_irred_kpt=False, symmetrize=False,
                   adpt_num_iter=0, print_progress_step_time=1e9)
    cpu, wall = time.process_time() - c0, time.perf_counter() - w0
print("WBJSON" + json.dumps(dict(version=wberri.__version__, cpu=cpu, wall=wall, eig_check=err)))
"""


def _child(script: str, cfg: dict, env: dict, tag: str) -> dict:
    proc = subprocess.run([sys.executable, "-c", script, json.dumps(cfg)], capture_output=True, text=True, env=env,
                          cwd=str(HERE))
    if proc.returncode != 0:
        raise RuntimeError(f"{cfg.get('model', 'peer')} failed:\n{proc.stderr[-3000:]}")
    line = [ln for ln in proc.stdout.splitlines() if ln.startswith(tag)][-1]
    return json.loads(line[len(tag):])


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--models", nargs="+", default=list(MODELS), choices=list(MODELS))
    ap.add_argument("--repeat", type=int, default=2)
    ap.add_argument("--no-peer", action="store_true", help="skip WannierBerri")
    ap.add_argument("--no-optical", action="store_true")
    ap.add_argument("--no-user-grid", action="store_true",
                    help="skip the per-k costs on chunks of a user-size grid (100³; 300² in 2D)")
    ap.add_argument("--json", type=Path, default=None)
    ap.add_argument("--temperature", type=float, default=TEMPERATURE,
                    help=f"kT in eV (default {TEMPERATURE}); dc.expansion's band window is 40 kT around the μ range")
    args = ap.parse_args(argv)
    env = dict(os.environ, OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1", MKL_NUM_THREADS="1", NUMBA_NUM_THREADS="1",
               PYTHONPATH=os.pathsep.join([str(REPO / "src"), os.environ.get("PYTHONPATH", "")]))
    rows, report = [], {"loadavg_before": os.getloadavg(), "cases": []}
    with tempfile.TemporaryDirectory() as tmp:
        for name in args.models:
            grid, mu = MODELS[name]
            npz = None if args.no_peer else str(Path(tmp) / f"{name}.npz")
            cfg = dict(model=name, grid=grid, mu=mu, components=COMPONENTS, temperature=args.temperature,
                       repeat=args.repeat, optical=not args.no_optical, export=npz, here=str(HERE),
                       big=not args.no_user_grid)
            t0 = time.perf_counter()
            r = _child(CASE, cfg, env, "BENCHJSON")
            if npz:
                try:
                    r["peer"] = _child(PEER, {"npz": npz}, env, "WBJSON")
                except RuntimeError as exc:
                    print(f"  [peer failed on {name}: {str(exc)[-300:]}]", file=sys.stderr)
            r["case_wall_s"] = round(time.perf_counter() - t0, 1)
            report["cases"].append(r)
            print(f"  done {name} in {r['case_wall_s']} s", file=sys.stderr)
            rows.append(_row(r))
    report["loadavg_after"] = os.getloadavg()
    print("\nqgeom on real Wannier models (CPU-time ratios to the eigh floor of the same [nk, N, N]; one BLAS thread)")
    print(table(["model", "N", "R vectors", "conv", "grid", "chunk", "floor µs/k", "H+∂ used / floor",
                  "H+∂ all / floor", "dc.expansion / floor", "dc by parts / floor", "optical / floor", "user grid",
                  "dc / floor there", "dc by parts there", "dc seed Drude + Γ⁰ by parts there", "optical / floor there", "WB µs/k", "WB / dc.expansion",
                  "WB max|ΔE| eV", "peak RSS MiB (import)", "default symmetry detection s"], rows))
    for where, suffix, floor in (("benchmark grids", "", "floor"), ("user grids", "_big", "floor_big")):
        cases = [r for r in report["cases"] if r.get("dc" + suffix, 1e99) < 1e98]
        if not cases:
            continue
        keys = (("dc", 3), ("dc_parts", 3), ("optical", 6)) + ((("dc_mixed", 3),) if suffix else ())
        met = {key: [r["model"] for r in cases if r[key + suffix] <= limit * r[floor]] or "none" for key, limit in keys}
        mixed = f"; seed Drude + Γ⁰ by parts: {met['dc_mixed']}" if suffix else ""
        print(f"targets on the {where}: dc.expansion <= 3x the floor met by {met['dc']} (by-parts forms: "
              f"{met['dc_parts']}{mixed}); optical.response <= 6x met by {met['optical']}")
    if args.json:
        args.json.write_text(json.dumps(report, indent=1))
    return 0


def _row(r: dict) -> list:
    nk, fl = r["nk"], r["floor"]
    peer = r.get("peer")
    return [r["model"], r["N"], r["nR"], r["convention"], "×".join(map(str, r["grid"])), r["chunk"],
            f"{1e6 * fl / nk:.1f}", f"{r['block'] / fl:.2f}", f"{r['block_all'] / fl:.2f}", f"{r['dc'] / fl:.2f}",
            f"{r['dc_parts'] / fl:.2f}",
            f"{r['optical'] / fl:.2f}" if r["optical"] < 1e98 else "—",
            *_user_grid_cells(r),
            f"{1e6 * peer['cpu'] / nk:.0f}" if peer else "—", f"{peer['cpu'] / r['dc']:.1f}×" if peer else "—",
            f"{peer['eig_check']:.0e}" if peer else "—",
            f"{r['peak_rss_mib']:.0f} ({r['base_rss_mib']:.0f})", f"{r.get('detection', float('nan')):.2f}"]


def _user_grid_cells(r: dict) -> list:
    """The user-size grid's columns: its shape (and how many of its k-points were timed), dc and optical
    per k over the floor on the same k-points."""
    if r.get("dc_big", 1e99) >= 1e98:
        return ["—", "—", "—", "—", "—"]
    fl = r["floor_big"]
    return [f"{'×'.join(map(str, r['big_grid']))} ({r['big_nk']})", f"{r['dc_big'] / fl:.2f}",
            f"{r['dc_parts_big'] / fl:.2f}", f"{r['dc_mixed_big'] / fl:.2f}",
            f"{r['optical_big'] / fl:.2f}" if r["optical_big"] < 1e98 else "—"]


if __name__ == "__main__":
    sys.exit(main())
