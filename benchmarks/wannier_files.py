"""Reading Wannier90 models of real size: time and peak memory of `from_wannier90` against the C parse of the bytes.

    python benchmarks/wannier_files.py                       # N = 64, ~500 R vectors (~2 min on one core)
    python benchmarks/wannier_files.py --N 100 --R 2093 --no-line-reader
                                  # a 1.6 GB _hr.dat, 5.6 GiB of files in all (~9 min; the line reader would take 13 GB)
    python benchmarks/wannier_files.py --no-line-reader      # skip the line reader's run (~10× the file in memory)

A seeded Wannier-like model (benchmarks/wannier_like.py) is written as the file sets a user has, each read by
`from_wannier90` in a process of its own (so that its peak RSS is its own):

- `_hr.dat` (+ `_centres.xyz`, lattice given): the hoppings alone;
- `_hr.dat` + `_wsvec.dat`: Wannier90's replica images applied (the images written from qgeom's own minimal-distance
  selection, so this model must equal the next one);
- `_hr.dat` + `.win` (mp_grid): the replica selection (MDRS) recomputed from the centres;
- `_tb.dat` (hoppings and position matrix; the default tight-binding position operator keeps only the centres) and
  `_tb.dat` with `position_operator="full"` (the whole position matrix kept);
- the line reader (what an irregular `_hr.dat` is read with) on the `_hr.dat`.

Printed per set: CPU seconds and peak RSS (MiB; in brackets after the imports, before the read) of the read, the
hoppings' own size (the larger of the file's and the model's: replicas change the count of R vectors), the read's
RSS / hoppings, and the CPU time over the "parse floor" — numpy's C parser (np.fromstring) over the same files'
bytes in 16 MB pieces, the least any reader of these text files pays. And the largest |t| difference between the _wsvec.dat and the MDRS models.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from bench_common import REPO, one_blas_thread, table  # noqa: E402

MP_GRID = (8, 8, 8)


def write_tb(model, path: Path, rng) -> None:
    """`SEED_tb.dat` as Wannier90 writes it: lattice, counts, degeneracies, the hopping blocks, then the position
    blocks (the centres on the R = 0 diagonal plus small random off-diagonal elements)."""
    base = model.base
    R, t, N = base.R, base.t, base.nbands
    with open(path, "w") as fh:
        fh.write(" written by benchmarks/wannier_files.py\n")
        for row in base.lattice:
            fh.write("".join(f"{x:26.16f}" for x in row) + "\n")
        fh.write(f"{N:12d}\n{len(R):12d}\n")
        fh.write("\n".join("".join(f"{1:5d}" for _ in range(min(15, len(R) - s))) for s in range(0, len(R), 15)) + "\n")
        n_idx, m_idx = np.divmod(np.arange(N * N), N)  # m fastest
        for r, block in zip(R, t):
            rows = np.column_stack([m_idx + 1, n_idx + 1, block[m_idx, n_idx].real, block[m_idx, n_idx].imag])
            fh.write(f"\n{r[0]:5d}{r[1]:5d}{r[2]:5d}\n" + ("%5d%5d %16.8E %16.8E\n" * len(rows)) % tuple(rows.ravel()))
        origin = int(np.flatnonzero(~R.any(axis=1))[0])
        for i, r in enumerate(R):
            pos = 1e-3 * (rng.normal(size=(N, N, 3)) + 1j * rng.normal(size=(N, N, 3)))
            if i == origin:
                pos[np.arange(N), np.arange(N)] = model.positions
            vals = pos[m_idx, n_idx]  # [N², 3]
            rows = np.column_stack([m_idx + 1, n_idx + 1, np.stack([vals.real, vals.imag], -1).reshape(-1, 6)])
            fh.write(f"\n{r[0]:5d}{r[1]:5d}{r[2]:5d}\n"
                     + ("%5d%5d" + " %16.8E" * 6 + "\n") * len(rows) % tuple(rows.ravel()))


def write_wsvec(model, path: Path) -> None:
    """`SEED_wsvec.dat` with the images of qgeom's minimal-distance selection (`replicas.nearest_images`)."""
    from qgeom.models.replicas import nearest_images

    base = model.base
    R = base.R
    shifts, image, ties = nearest_images(R, base.lattice, model.positions, MP_GRID, tol=1e-3)
    r, i, j = np.nonzero(image >= 0)
    with open(path, "w") as fh:
        fh.write("## written by benchmarks/wannier_files.py with use_ws_distance=.true.\n")
        for s in range(0, len(r), 1 << 17):
            sl = slice(s, s + (1 << 17))
            rows = np.column_stack([R[r[sl]], i[sl] + 1, j[sl] + 1, np.ones(len(r[sl]), int), shifts[image[r[sl], i[sl], j[sl]]]])
            fh.write(("%5d%5d%5d%5d%5d\n%5d\n%5d%5d%5d\n" * len(rows)) % tuple(rows.ravel()))
        if ties is not None:
            flat, which, _ = ties
            for f in np.unique(flat):
                rr, ii, jj = np.unravel_index(f, image.shape)
                T = shifts[which[flat == f]]
                fh.write(f"{R[rr][0]:5d}{R[rr][1]:5d}{R[rr][2]:5d}{ii + 1:5d}{jj + 1:5d}\n{len(T):5d}\n"
                         + "".join(f"{a:5d}{b:5d}{c:5d}\n" for a, b, c in T))


def write_win(model, path: Path) -> None:
    lines = ["begin unit_cell_cart", "ang"] + ["  ".join(f"{x:.12f}" for x in row) for row in model.base.lattice]
    lines += ["end unit_cell_cart", f"mp_grid = {' '.join(str(x) for x in MP_GRID)}"]
    path.write_text("\n".join(lines) + "\n")


def write_sets(N: int, n_R: int, folder: Path) -> dict:
    """The file sets (one folder each, the _hr.dat linked, not copied) -> the from_wannier90 arguments."""
    import wannier_like

    from qgeom.models.wannier90 import to_wannier90_hr

    model = wannier_like.model(N, n_R, seed=1)
    rng = np.random.default_rng(2)
    sets = {}
    hr = folder / "hr" / "m_hr.dat"
    hr.parent.mkdir(parents=True)
    to_wannier90_hr(model, hr)
    lattice = model.base.lattice.tolist()
    sets["_hr.dat"] = dict(path=str(hr), lattice=lattice, mdrs=False)
    for name, extra in (("_hr.dat + _wsvec.dat", write_wsvec), ("_hr.dat + .win (MDRS)", write_win)):
        d = folder / ("wsvec" if "wsvec" in name else "mdrs")
        d.mkdir()
        for f in ("m_hr.dat", "m_centres.xyz"):
            os.symlink(hr.parent / f, d / f)
        extra(model, d / ("m_wsvec.dat" if "wsvec" in name else "m.win"))
        sets[name] = dict(path=str(d / "m_hr.dat"), lattice=lattice, ws_distance_tol=1e-3) | (
            {} if "wsvec" in name else {"mdrs": True})
    tb = folder / "tb" / "m_tb.dat"
    tb.parent.mkdir()
    write_tb(model, tb, rng)
    sets["_tb.dat"] = dict(path=str(tb), mdrs=False)
    sets["_tb.dat, full position operator"] = dict(path=str(tb), mdrs=False, position_operator="full")
    return sets


CHILD = r"""
import json, resource, sys, time, warnings
import numpy as np
cfg = json.loads(sys.argv[1])
sys.path.insert(0, cfg["src"])
from qgeom.models.wannier90 import from_wannier90
from qgeom.models.wannier90_files import read_hr_lines
warnings.simplefilter("ignore")
kw = dict(cfg["kw"])
path = kw.pop("path")
def hwm():  # this process's own peak RSS (MiB): ru_maxrss would carry the forking parent's over the exec
    status = open("/proc/self/status").read()
    return int(status.split("VmHWM:")[1].split()[0]) / 1024 if "VmHWM:" in status else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
rss0 = hwm()
c0 = time.process_time()
if cfg["line_reader"]:
    data = read_hr_lines(path)
    size, t = data.H.nbytes, None
else:
    m = from_wannier90(path, **kw)
    base = getattr(m, "base", m)
    # the larger of the hoppings as read and as kept (replicas change the count of R vectors either way)
    size, t = max(base.t.nbytes, 16 * m.parameters["nrpts"] * m.nbands ** 2), base.t
cpu = time.process_time() - c0
rss = hwm()
out = {"cpu": cpu, "rss": rss, "rss0": rss0, "hoppings": size}
if cfg.get("save") and t is not None:
    np.save(cfg["save"], t)
    np.save(cfg["save"] + ".R.npy", base.R)
print(json.dumps(out))
"""


def parse_floor(paths) -> float:
    """CPU seconds of np.fromstring over the files' bytes after their first (text) line, in 16 MB pieces cut at line
    ends."""
    import time

    c0 = time.process_time()
    for p in paths:
        tail = b""
        with open(p, "rb") as fh:
            fh.readline()
            while True:
                raw = fh.read(16 << 20)
                text = tail + raw
                cut = text.rfind(b"\n") + 1 if raw else len(text)
                text, tail = text[:cut], text[cut:]
                if text.strip():  # the integers of a _wsvec.dat as integers (faster), as its reader does
                    np.fromstring(text, dtype=int if p.name.endswith("_wsvec.dat") else float, sep=" ")
                if not raw:
                    break
    return time.process_time() - c0


def files_of(kw: dict) -> list[Path]:
    folder = Path(kw["path"]).parent
    return [p for p in folder.iterdir() if p.name.endswith(("_hr.dat", "_tb.dat", "_wsvec.dat"))]


def run(N: int, n_R: int, line_reader: bool, workdir: Path) -> tuple[list, dict]:
    sets = write_sets(N, n_R, workdir)
    if line_reader:
        sets["_hr.dat, line reader"] = dict(sets["_hr.dat"])
    results, saved = {}, {}
    for name, kw in sets.items():
        save = str(workdir / f"t{len(saved)}.npy") if name.startswith("_hr.dat +") else None
        cfg = {"src": str(REPO / "src"), "kw": kw, "line_reader": name.endswith("line reader"), "save": save}
        out = subprocess.run([sys.executable, "-c", CHILD, json.dumps(cfg)], capture_output=True, text=True, check=True)
        r = json.loads(out.stdout.strip().splitlines()[-1])
        r["floor"] = parse_floor(files_of(kw))
        r["bytes"] = sum(p.stat().st_size for p in files_of(kw))
        results[name] = r
        if save:
            saved[name] = save
        print(f"  {name}: {r['cpu']:.1f} s, {r['rss']:.0f} MiB", flush=True)
    (a, b) = saved.values()
    agree = {"same lattice vectors": bool(np.array_equal(np.load(a + ".R.npy"), np.load(b + ".R.npy")))}
    if agree["same lattice vectors"]:
        agree["max |t_wsvec − t_MDRS|"] = float(np.abs(np.load(a) - np.load(b)).max())
    rows = [[name, f"{r['bytes'] / 2**20:.0f}", f"{r['hoppings'] / 2**20:.0f}", f"{r['cpu']:.1f}",
             f"{r['cpu'] / r['floor']:.2f}", f"{r['rss']:.0f} ({r['rss0']:.0f})",
             f"{(r['rss'] - r['rss0']) * 2**20 / r['hoppings']:.2f}"]
            for name, r in results.items()]
    return rows, agree


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--N", type=int, default=64, help="orbitals (default 64)")
    ap.add_argument("--R", type=int, default=500, help="about this many lattice vectors (default 500)")
    ap.add_argument("--no-line-reader", action="store_true", help="skip the line reader's run")
    ap.add_argument("--json", help="also write the table as JSON to this file")
    args = ap.parse_args(argv)
    one_blas_thread()
    with tempfile.TemporaryDirectory() as tmp:
        print(f"writing the files of a Wannier-like model, N = {args.N}, ~{args.R} R vectors ...", flush=True)
        rows, agree = run(args.N, args.R, not args.no_line_reader, Path(tmp))
    head = ["file set", "files MiB", "hoppings MiB", "read CPU s", "read / parse floor", "peak RSS MiB (import)",
            "(peak − import) / hoppings"]
    print(f"\nfrom_wannier90 on a Wannier-like model, N = {args.N} (one process per row, one BLAS thread)")
    print(table(head, rows))
    print("the _wsvec.dat model against the MDRS one: " + ", ".join(f"{k}: {v}" for k, v in agree.items()))
    if args.json:
        Path(args.json).write_text(json.dumps({"header": head, "rows": rows, "agreement": agree}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
