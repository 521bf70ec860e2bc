"""qgeom speed/memory benchmarks: the eigensolve floor, qgeom's responses, and the peer code.

One command runs everything and prints the tables (and writes JSON with --json):

    python benchmarks/run.py                      # floor + dc.expansion on 200², 400², 800² + optical + peer
    python benchmarks/run.py --grids 200 400 --no-peer --no-optical
    python benchmarks/run.py --quick              # 200² only, 1 repeat, no peer (a smoke run, ~1 min)
    python benchmarks/run.py --json results.json --peer-grids 200 400

Each case runs in its own subprocess (so that its peak RSS, `ru_maxrss`, is its own; taken after
the first qgeom run, before the floor allocates its large H blocks), single
threaded (OPENBLAS/OMP/MKL_NUM_THREADS=1 unless --threads), and times the floor and qgeom
alternately in the same process, `--repeat` times, keeping the best of each: on a shared machine
only the ratios of such side-by-side timings mean something. Both wall and process-CPU time are
recorded; the ratios use CPU time (robust to other jobs' load), the k-points/s use wall time.

1. floor: `numpy.linalg.eigh` alone on H(k) of the same k-points (H built outside the timer), for
   the models' N and for random Hermitian N = 8, 16.
2. qgeom: `dc.expansion` (drude, bcd, geometric, kinetic; fermionic_bath, constant_gamma, rta;
   components xyy, yxx, xxx, yyy; 20 μ) for pt_tilted_4band and tilted_dirac_2band, and for random
   tight-binding models with N = 8, 16 (ratio vs N); `optical.response` for mnbi2te4_bilayer on a
   200-point frequency grid when `qgeom.optical.response` exists.
3. peer: WannierBerri (BerryDipole_FermiSea + NLDrude_FermiSea) through
   benchmarks/wannierberri_peer.py when present, same model, grid and μ list (its own μ list;
   qgeom is re-timed on exactly that list), Fermi levels "bare" (WB's minimum work).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
COMPONENTS = ["xyy", "yxx", "xxx", "yyy"]
MU_RANGE = {"tilted_dirac_2band": (-1.0, 1.0), "pt_tilted_4band": (-3.6, -2.4)}
TEMPERATURE = 0.05

CASE_SCRIPT = r"""
import json, resource, sys, time
import numpy as np
cfg = json.loads(sys.argv[1])
import qgeom
from qgeom.models import library
from qgeom.kspace import make_grid, auto_chunk_size
from qgeom.models.blocks import split_blocks

def rss_mib():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0

def timed(fn):
    w0, c0 = time.perf_counter(), time.process_time()
    out = fn()
    return out, time.perf_counter() - w0, time.process_time() - c0

def random_tb(N, seed=7):
    rng = np.random.default_rng(seed)
    from qgeom.models.tight_binding import TightBindingModel
    def herm(s):
        a = rng.normal(size=(N, N)) + 1j * rng.normal(size=(N, N))
        return s * (a + a.conj().T) / 2
    hop = {(0, 0): herm(1.0), (1, 0): 0.5 * (rng.normal(size=(N, N)) + 1j * rng.normal(size=(N, N))),
           (0, 1): 0.5 * (rng.normal(size=(N, N)) + 1j * rng.normal(size=(N, N))),
           (1, 1): 0.2 * (rng.normal(size=(N, N)) + 1j * rng.normal(size=(N, N)))}
    return TightBindingModel.from_hoppings(hop, add_conjugates=True, name=f"random_tb_N{N}")

def make_model(name):
    if name.startswith("random_tb_N"):
        return random_tb(int(name[len("random_tb_N"):]))
    return getattr(library, name)()

model = make_model(cfg["model"])
base_rss = rss_mib()
kind = cfg["kind"]
if kind == "optical":
    from qgeom.optical import response
    omega = np.linspace(0.005, 0.3, cfg["n_omega"])
    call = lambda: response(model, "layer_polarization", omega=omega, tau=1.0, progress=False)
    kgrid = make_grid(model, (480, 12))
else:
    from qgeom.dc import expansion
    kgrid = make_grid(model, cfg["grid"])
    mu = np.linspace(*cfg["mu"])
    call = lambda: expansion(model, components=cfg["components"], mu=mu, temperature=cfg["temperature"],
                             grid=cfg["grid"], mechanisms=["fermionic_bath", "constant_gamma", "rta"],
                             rta=(1.0, 1.0), progress=False, blocks=cfg["blocks"])

nk = kgrid.npoints
block = 16384
if kind == "optical":  # warm-up: first-call imports and caches stay out of the timings
    response(model, "layer_polarization", omega=omega[:2], tau=1.0, grid=(16, 4), progress=False)
else:
    expansion(model, components=cfg["components"], mu=mu[:2], temperature=cfg["temperature"], grid=8,
              mechanisms=["fermionic_bath", "constant_gamma", "rta"], rta=(1.0, 1.0), progress=False,
              blocks=cfg["blocks"])
def floor():
    t = 0.0
    c = 0.0
    for s in range(0, nk, block):
        k, _ = kgrid.points(s, min(nk, s + block))
        H = model.hamiltonian(k, 0)
        w0, c0 = time.perf_counter(), time.process_time()
        np.linalg.eigh(H)
        t += time.perf_counter() - w0
        c += time.process_time() - c0
    return None, t, c

best = {"floor_wall": 1e99, "floor_cpu": 1e99, "qgeom_wall": 1e99, "qgeom_cpu": 1e99}
qgeom_rss = None
for _ in range(cfg["repeat"]):
    _, w, c = timed(call)
    best["qgeom_wall"], best["qgeom_cpu"] = min(best["qgeom_wall"], w), min(best["qgeom_cpu"], c)
    if qgeom_rss is None:  # high-water mark of qgeom alone, before the floor's big H blocks
        qgeom_rss = rss_mib()
    _, w, c = floor()
    best["floor_wall"], best["floor_cpu"] = min(best["floor_wall"], w), min(best["floor_cpu"], c)
parts = split_blocks(model) if cfg.get("blocks") else [model]
out = dict(cfg, nk=nk, nbands=model.nbands, block_sizes=[p.nbands for p in parts],
           chunk_size=min(auto_chunk_size(p) for p in parts), base_rss_mib=round(base_rss, 1),
           peak_rss_mib=round(qgeom_rss, 1), numpy=np.__version__, qgeom=qgeom.__version__,
           **{k: round(v, 4) for k, v in best.items()})
print("BENCHJSON" + json.dumps(out))
"""

MARGINAL_SCRIPT = r"""
import json, sys, time
import numpy as np
cfg = json.loads(sys.argv[1])
from qgeom.dc import expansion
from qgeom.kspace import make_grid
from qgeom.models import library

model = getattr(library, cfg["model"])()
lo, hi = cfg["mu_range"]
variants = {  # (components, n μ, mechanisms)
    "1 comp, 1 μ, bath": (["xyy"], 1, ["fermionic_bath"]),
    "4 comps, 1 μ, bath": (cfg["components"], 1, ["fermionic_bath"]),
    "4 comps, 20 μ, 3 mechs": (cfg["components"], 20, ["fermionic_bath", "constant_gamma", "rta"]),
    "4 comps, 200 μ, 3 mechs": (cfg["components"], 200, ["fermionic_bath", "constant_gamma", "rta"]),
}
def run(comps, n_mu, mechs, grid):
    return expansion(model, components=comps, mu=np.linspace(lo, hi, n_mu), temperature=cfg["temperature"],
                     grid=grid, mechanisms=mechs, rta=(1.0, 1.0) if "rta" in mechs else None, progress=False)
for v in variants.values():  # warm-up
    run(*v, 8)
kgrid = make_grid(model, cfg["grid"])
k, _ = kgrid.points(0, kgrid.npoints)
H = model.hamiltonian(k, 0)
def floor():
    c0 = time.process_time()
    np.linalg.eigh(H)
    return time.process_time() - c0
best = {name: 1e99 for name in variants}
best_floor = 1e99
for _ in range(cfg["repeat"]):
    for name, v in variants.items():
        c0 = time.process_time()
        run(*v, cfg["grid"])
        best[name] = min(best[name], time.process_time() - c0)
        best_floor = min(best_floor, floor())
print("BENCHJSON" + json.dumps({"model": cfg["model"], "grid": cfg["grid"], "floor_cpu": best_floor, "cpu": best}))
"""

FLOOR_SCRIPT = r"""
import json, sys, time
import numpy as np
cfg = json.loads(sys.argv[1])
rng = np.random.default_rng(1)
rows = []
for N in cfg["sizes"]:
    nk = cfg["nk"]
    a = rng.normal(size=(nk, N, N)) + 1j * rng.normal(size=(nk, N, N))
    H = a + a.conj().swapaxes(-1, -2)
    best_w, best_c = 1e99, 1e99
    for _ in range(cfg["repeat"]):
        w0, c0 = time.perf_counter(), time.process_time()
        np.linalg.eigh(H)
        best_w, best_c = min(best_w, time.perf_counter() - w0), min(best_c, time.process_time() - c0)
    rows.append(dict(N=N, nk=nk, wall_s=best_w, cpu_s=best_c, kpoints_per_s=nk / best_w, us_per_k=1e6 * best_w / nk))
print("BENCHJSON" + json.dumps(rows))
"""


def run_child(script: str, cfg: dict, env: dict, timeout: float = 3600) -> dict | list:
    proc = subprocess.run([sys.executable, "-c", script, json.dumps(cfg)], capture_output=True, text=True,
                          env=env, timeout=timeout)
    if proc.returncode != 0:
        raise RuntimeError(f"benchmark case {cfg} failed:\n{proc.stderr[-3000:]}")
    line = [ln for ln in proc.stdout.splitlines() if ln.startswith("BENCHJSON")][-1]
    return json.loads(line[len("BENCHJSON"):])


def peer(model: str, nk: int, env: dict) -> dict | None:
    script = HERE / "wannierberri_peer.py"
    if not script.exists():
        return None
    proc = subprocess.run([sys.executable, str(script), "--model", model, "--nk", str(nk), "--efermi-mode", "bare",
                           "--kT", str(TEMPERATURE)], capture_output=True, text=True, env=env, timeout=7200)
    if proc.returncode != 0:
        print(f"  [peer {model} {nk}² failed: {proc.stderr.strip()[-300:]}]", file=sys.stderr)
        return None
    return json.loads(proc.stdout)


def fmt_table(header, rows):
    cells = [[str(c) for c in r] for r in rows]
    widths = [max(len(h), *(len(r[i]) for r in cells)) if cells else len(h) for i, h in enumerate(header)]
    lines = ["  ".join(h.rjust(w) for h, w in zip(header, widths)), "  ".join("-" * w for w in widths)]
    lines += ["  ".join(c.rjust(w) for c, w in zip(r, widths)) for r in cells]
    return "\n".join(lines)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--grids", type=int, nargs="+", default=[200, 400, 800])
    ap.add_argument("--models", nargs="+", default=["tilted_dirac_2band", "pt_tilted_4band"])
    ap.add_argument("--random-sizes", type=int, nargs="*", default=[8, 16],
                    help="N of random tight-binding models run at the smallest grid (ratio vs N)")
    ap.add_argument("--n-mu", type=int, default=20)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--no-peer", action="store_true")
    ap.add_argument("--peer-grids", type=int, nargs="+", default=[200],
                    help="grids for the peer comparison (WannierBerri takes minutes per 200² case)")
    ap.add_argument("--no-optical", action="store_true")
    ap.add_argument("--no-marginal", action="store_true", help="skip the cost-per-request table (2b)")
    ap.add_argument("--no-dense", dest="dense", action="store_false",
                    help="do not also time models that split into blocks with blocks=False (dense path)")
    ap.add_argument("--quick", action="store_true", help="200² only, one repeat, no peer")
    ap.add_argument("--json", type=Path, default=None, help="also write all figures to this JSON file")
    args = ap.parse_args(argv)
    if args.quick:
        args.grids, args.repeat, args.no_peer, args.no_marginal = [200], 1, True, True
    n = str(args.threads)
    env = dict(os.environ, OPENBLAS_NUM_THREADS=n, OMP_NUM_THREADS=n, MKL_NUM_THREADS=n, NUMBA_NUM_THREADS=n)
    report: dict = {"loadavg_before": os.getloadavg(), "threads": args.threads, "cases": [], "peer": []}

    # 1. floor alone, N = 2, 4, 8, 16 (random Hermitian, same nk)
    floor_rows = run_child(FLOOR_SCRIPT, {"sizes": [2, 4, 8, 16], "nk": 40000, "repeat": args.repeat}, env)
    report["floor"] = floor_rows
    print("\n1. Floor: numpy.linalg.eigh on [nk, N, N] (random Hermitian, nk = 40000)")
    print(fmt_table(["N", "k-points/s", "µs per k"],
                    [[r["N"], f"{r['kpoints_per_s']:.3g}", f"{r['us_per_k']:.2f}"] for r in floor_rows]))

    # 2. qgeom vs floor on the same k-points
    # models that split into decoupled orbital blocks (pt_tilted_4band = h ⊕ h*) run twice: as
    # qgeom runs them by default (blocks) and with blocks=False (the dense N-band path)
    cases = [(m, g, b) for m in args.models for g in args.grids for b in _block_modes(m, args.dense)]
    cases += [(f"random_tb_N{N}", min(args.grids), True) for N in args.random_sizes]
    rows = []
    for model, grid, blocks in cases:
        mu = (*MU_RANGE.get(model, (-1.0, 1.0)), args.n_mu)
        cfg = dict(kind="dc", model=model, grid=grid, mu=mu, components=COMPONENTS, temperature=TEMPERATURE,
                   repeat=args.repeat, blocks=blocks)
        t0 = time.perf_counter()
        r = run_child(CASE_SCRIPT, cfg, env)
        r["case_wall_s"] = round(time.perf_counter() - t0, 1)
        report["cases"].append(r)
        rows.append(_case_row(r, f"dc.expansion {model}", f"{grid}²"))
        print(f"  done {model} {grid}² blocks={blocks} in {r['case_wall_s']} s", file=sys.stderr)
    if not args.no_optical:
        try:
            import qgeom.optical.response  # noqa: F401

            cfg = dict(kind="optical", model="mnbi2te4_bilayer", n_omega=200, repeat=args.repeat)
            r = run_child(CASE_SCRIPT, cfg, env)
            report["cases"].append(r)
            rows.append(_case_row(r, "optical.response mnbi2te4_bilayer (200 ω)", "disk 480×12"))
        except ImportError:
            print("  [qgeom.optical.response not available: optical case skipped]", file=sys.stderr)
        except RuntimeError as exc:
            print(f"  [optical case failed: {str(exc)[-400:]}]", file=sys.stderr)
    print(f"\n2. qgeom vs the eigensolve floor (same k-points; best of {args.repeat}; ratios from CPU time)")
    print(fmt_table(["case", "grid", "N", "blocks", "chunk", "floor k/s", "qgeom k/s", "qgeom/floor",
                     "peak RSS MiB", "(after import)"], rows))

    # 2b. what extra components, μ values and mechanisms cost (one Bands per chunk serves them all)
    if not args.no_marginal:
        print(f"\n2b. Cost of what is requested, in units of the eigensolve floor ({min(args.grids)}², CPU time, "
              f"best of {args.repeat}; default block split)")
        mrows = []
        for model in args.models:
            r = run_child(MARGINAL_SCRIPT, dict(model=model, grid=min(args.grids), components=COMPONENTS,
                                                mu_range=MU_RANGE.get(model, (-1.0, 1.0)),
                                                temperature=TEMPERATURE, repeat=args.repeat), env)
            report.setdefault("marginal", []).append(r)
            mrows += [[model, name, f"{cpu / r['floor_cpu']:.2f}"] for name, cpu in r["cpu"].items()]
        print(fmt_table(["model", "request", "qgeom/floor"], mrows))

    # 3. peer
    if not args.no_peer and (HERE / "wannierberri_peer.py").exists():
        prow = []
        for model in args.models:
            for grid in args.peer_grids:
                wb = peer(model, grid, env)
                if wb is None:
                    continue
                mu = (wb["mu"]["start"], wb["mu"]["stop"], wb["mu"]["num"])
                wb_s = sum(v["seconds"] for v in wb["results"].values())
                wb_cpu = sum(v["cpu_seconds"] for v in wb["results"].values())
                for blocks in _block_modes(model, args.dense):
                    q = run_child(CASE_SCRIPT, dict(kind="dc", model=model, grid=grid, mu=mu, components=COMPONENTS,
                                                    temperature=TEMPERATURE, repeat=1, blocks=blocks), env)
                    report["peer"].append({"wannierberri": wb, "qgeom": q})
                    prow.append([model, f"{grid}²", mu[2], _blocks_label(q), f"{wb_s:.2f}", f"{q['qgeom_wall']:.2f}",
                                 f"{wb_cpu / q['qgeom_cpu']:.0f}×", f"{q['nk'] / q['qgeom_wall']:.3g}",
                                 f"{wb['n_kpoints'] / wb_s:.3g}"])
        print("\n3. Peer: WannierBerri (BerryDipole_FermiSea + NLDrude_FermiSea, serial, Efermi = the μ list) "
              "vs the full qgeom expansion (all terms, mechanisms, 4 components)")
        print(fmt_table(["model", "grid", "n μ", "qgeom blocks", "WB s", "qgeom s", "WB/qgeom (CPU)", "qgeom k/s",
                         "WB k/s"], prow))
    report["loadavg_after"] = os.getloadavg()
    if args.json:
        args.json.write_text(json.dumps(report, indent=1))
    return 0


def _block_modes(model: str, dense: bool) -> list[bool]:
    """[True] (qgeom's default), plus False when the model splits into blocks and `dense`."""
    if not dense or model.startswith("random_tb"):
        return [True]
    from qgeom.models import library
    from qgeom.models.blocks import orbital_blocks

    return [True, False] if len(orbital_blocks(getattr(library, model)())) > 1 else [True]


def _blocks_label(r: dict) -> str:
    if r.get("kind") == "optical":
        return "n/a"  # optical.response does not split (observables may couple blocks)
    sizes = r.get("block_sizes")
    if not r.get("blocks", True) or not sizes:
        return "dense"
    return "+".join(map(str, sizes)) if len(sizes) > 1 else "1 block"


def _case_row(r: dict, label: str, grid: str) -> list:
    return [label, grid, r["nbands"], _blocks_label(r), r["chunk_size"], f"{r['nk'] / r['floor_wall']:.3g}",
            f"{r['nk'] / r['qgeom_wall']:.3g}", f"{r['qgeom_cpu'] / r['floor_cpu']:.2f}",
            f"{r['peak_rss_mib']:.0f}", f"{r['base_rss_mib']:.0f}"]


if __name__ == "__main__":
    sys.exit(main())
