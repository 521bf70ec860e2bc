"""Time the peer code WannierBerri on the qgeom benchmark models (BCD + nonlinear Drude).

Run with the project venv:

    python benchmarks/wannierberri_peer.py [--venv /work/wbenv] [--model pt_tilted_4band] [--nk 200]
                                           [--efermi-mode smoothed|bare] [--kT 0.05] [--repeat 1]

WannierBerri is NOT a dependency of qgeom: it lives in a separate virtual environment (default
``/work/wbenv``, created with ``python -m venv`` + ``pip install wannierberri numba`` when it is missing
or lacks WannierBerri).  The model hoppings are taken from qgeom itself (exported to a temporary .npz),
falling back to ``tests/data/wannierberri/<model>.npz``.  A small embedded script is run in the WB
venv, serially (``parallel=False``, no ray), and the timings come back as JSON on stdout.

Timed region: ``wannierberri.run`` for ONE calculator on the full grid (system construction, imports
and the grid set-up are excluded and reported separately).  Both wall-clock and process CPU time are
reported (the dev machine is shared; the load average before/after is recorded so that a loaded
measurement can be recognised).

efermi-mode
  smoothed (default) -- exactly what tests/data/wannierberri/make_reference.py does: T = 0 Fermi-sea
                        steps on a fine Fermi-level grid (step 0.002 eV, padded by 1 eV) + WB's
                        FermiDiracSmoother at kT (finite temperature).
  bare               -- the Fermi levels are just the mu list (T = 0, no smoothing): WB's minimum work.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
DATA = REPO / "tests" / "data" / "wannierberri"
MU = {
    "tilted_dirac_2band": (-1.5, 1.5, 31),
    "pt_tilted_4band": (-4.0, 4.0, 33),
}

WB_SCRIPT = r'''
import contextlib, io, json, os, sys, tempfile, time
t_import = time.perf_counter()
import numpy as np
import wannierberri as wberri
from wannierberri.calculators import static as wb_static
from wannierberri.smoother import FermiDiracSmoother
from scipy.constants import Boltzmann, elementary_charge
t_import = time.perf_counter() - t_import

cfg = json.loads(sys.argv[1])
sys.path.insert(0, cfg["reference_dir"])
from make_reference import build_system  # the System_R of the peer reference data, with its H(k) check

d = np.load(cfg["npz"])
t0 = time.perf_counter()
system, _ = build_system({k: d[k] for k in d.files})
nk = cfg["nk"]
div = 4 if nk % 4 == 0 else 1
grid = wberri.Grid(system, NKdiv=[div, div, 1], NKFFT=[nk // div, nk // div, 1], use_symmetry=False)
t_setup = time.perf_counter() - t0

mu = np.linspace(*cfg["mu"])
if cfg["mode"] == "smoothed":
    de, pad = 0.002, 1.0
    ef = mu.min() - pad + de * np.arange(int(round((mu.max() - mu.min() + 2 * pad) / de)) + 1)
    smoother = FermiDiracSmoother(ef, T_Kelvin=cfg["kT"] * elementary_charge / Boltzmann, maxdE=15)
else:
    ef, smoother = mu, None
common = dict(Efermi=ef, tetra=False, smoother=smoother, save_mode="bin")
makers = {
    "BerryDipole_FermiSea": lambda: wb_static.BerryDipole_FermiSea(**common),
    "NLDrude_FermiSea": lambda: wb_static.NLDrude_FermiSea(constant_factor=1.0, **common),
}
out = {"wannierberri_version": wberri.__version__, "import_s": round(t_import, 3),
       "setup_s": round(t_setup, 3), "n_efermi": int(len(ef)), "timings_s": {}}
with tempfile.TemporaryDirectory() as wd:
    os.chdir(wd)
    for key, make in makers.items():
        best, cpu = [], []
        for _ in range(cfg["repeat"]):
            calc = make()
            c0 = time.process_time()
            t0 = time.perf_counter()
            with contextlib.redirect_stdout(io.StringIO()):
                res = wberri.run(system, grid=grid, calculators={key: calc}, parallel=False,
                                 use_irred_kpt=False, symmetrize=False, adpt_num_iter=0,
                                 print_progress_step_time=1e9)
                _ = res.results[key].dataSmooth
            best.append(time.perf_counter() - t0)
            cpu.append(time.process_time() - c0)
        out["timings_s"][key] = [round(x, 3) for x in best]
        out.setdefault("cpu_s", {})[key] = [round(x, 3) for x in cpu]
print("WBJSON" + json.dumps(out))
'''


def ensure_venv(venv: Path, log) -> Path:
    py = venv / "bin" / "python"
    probe = [str(py), "-c", "import wannierberri, numba; print(wannierberri.__version__)"]
    if py.exists() and subprocess.run(probe, capture_output=True).returncode == 0:
        return py
    if not py.exists():
        log(f"creating venv {venv}")
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    log("installing wannierberri (+ numba, needed by its Fermi-level/tetrahedron code) into the venv")
    subprocess.run([str(py), "-m", "pip", "install", "-q", "wannierberri", "numba"], check=True,
                   stdout=sys.stderr)
    subprocess.run(probe, check=True, capture_output=True)
    return py


def export_model(name: str, tmpdir: Path) -> tuple[Path, str]:
    try:
        from qgeom import models as qm

        model = getattr(qm, name)()
        path = tmpdir / f"{name}.npz"
        k_check = np.array([[0.0, 0.0], [np.pi, 0.0], [0.3, 0.7], [-0.3, 0.7]])  # (±0.3, 0.7): H(k) ≠ H(−k)
        np.savez(path, R=np.asarray(model.R, dtype=np.int64), t=np.asarray(model.t, dtype=complex),
                 lattice=np.asarray(model.lattice, dtype=float), name=name, k_check=k_check,
                 E_check=np.linalg.eigvalsh(model.hamiltonian(k_check)))
        return path, "qgeom"
    except Exception as exc:  # pragma: no cover - fallback when qgeom is not importable
        path = DATA / f"{name}.npz"
        if not path.exists():
            raise SystemExit(f"cannot build model {name}: {exc}")
        return path, str(path)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--venv", default=os.environ.get("QGEOM_WB_VENV", "/work/wbenv"))
    ap.add_argument("--model", default="pt_tilted_4band", choices=sorted(MU))
    ap.add_argument("--nk", type=int, default=200)
    ap.add_argument("--kT", type=float, default=0.05)
    ap.add_argument("--efermi-mode", default="smoothed", choices=["smoothed", "bare"])
    ap.add_argument("--repeat", type=int, default=1)
    args = ap.parse_args(argv)

    def log(msg):
        print(f"[wannierberri_peer] {msg}", file=sys.stderr)

    py = ensure_venv(Path(args.venv), log)
    load0 = os.getloadavg()
    with tempfile.TemporaryDirectory() as tmp:
        npz, source = export_model(args.model, Path(tmp))
        cfg = dict(npz=str(npz), reference_dir=str(DATA), nk=args.nk, mu=MU[args.model], kT=args.kT, mode=args.efermi_mode,
                   repeat=args.repeat)
        env = dict(os.environ, OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1", MKL_NUM_THREADS="1",
                   NUMBA_NUM_THREADS="1")
        t0 = time.perf_counter()
        proc = subprocess.run([str(py), "-c", WB_SCRIPT, json.dumps(cfg)], capture_output=True, text=True,
                              env=env)
        wall = time.perf_counter() - t0
    if proc.returncode != 0:
        sys.stderr.write(proc.stderr[-4000:])
        return proc.returncode
    line = [ln for ln in proc.stdout.splitlines() if ln.startswith("WBJSON")][-1]
    res = json.loads(line[len("WBJSON"):])
    nkpts = args.nk * args.nk
    report = {
        "code": "wannierberri", "version": res["wannierberri_version"], "venv": str(args.venv),
        "model": args.model, "hoppings_from": source, "grid": [args.nk, args.nk, 1], "n_kpoints": nkpts,
        "mu": {"start": MU[args.model][0], "stop": MU[args.model][1], "num": MU[args.model][2]},
        "kT_eV": args.kT, "efermi_mode": args.efermi_mode, "n_efermi": res["n_efermi"], "serial": True,
        "threads": 1, "import_s": res["import_s"], "setup_s": res["setup_s"], "subprocess_wall_s": round(wall, 2),
        "loadavg_before": [round(x, 2) for x in load0], "loadavg_after": [round(x, 2) for x in os.getloadavg()],
        "cpu_count": os.cpu_count(),
        "results": {},
    }
    for key, ts in res["timings_s"].items():
        best = min(ts)
        cpu = min(res["cpu_s"][key])
        report["results"][key] = {"seconds": best, "all_seconds": ts, "kpoints_per_second": round(nkpts / best, 1),
                                  "cpu_seconds": cpu, "kpoints_per_cpu_second": round(nkpts / cpu, 1)}
    print(json.dumps(report, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
