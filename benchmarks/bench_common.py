"""What the benchmark scripts share: one BLAS thread, the printed tables, and WannierBerri's System for a qgeom
Wannier model in convention II. Imports nothing heavy at module level: `one_blas_thread` must run before numpy."""

from __future__ import annotations

import os
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))  # the checkout's qgeom, installed or not


def one_blas_thread() -> None:
    """Re-execute the running script with OPENBLAS/OMP/MKL/NUMBA_NUM_THREADS=1 unless already set (call it
    before numpy is imported: BLAS reads them when it loads). Timings are then single-threaded CPU times."""
    if os.environ.get("OPENBLAS_NUM_THREADS") != "1":
        os.environ.update(OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1", MKL_NUM_THREADS="1", NUMBA_NUM_THREADS="1")
        os.execv(sys.executable, [sys.executable] + sys.argv)


def eigensolve_floor(model, kgrid):
    """A callable returning the CPU seconds of numpy's eigensolve of H(k) on every chunk of `kgrid` (the model's
    default chunks; the Hamiltonians built once, before): the floor the side-by-side benchmarks divide by."""
    import time

    import numpy as np

    from qgeom.kspace import auto_chunk_size, chunk_bounds

    hamiltonians = [model.hamiltonian(kgrid.points(*b)[0], 0) for b in chunk_bounds(kgrid, auto_chunk_size(model))]

    def floor() -> float:
        c0 = time.process_time()
        for H in hamiltonians:
            np.linalg.eigh(H)
        return time.process_time() - c0

    return floor


def timed_settings(module, attribute: str, settings: dict, run, repeat: int = 1) -> tuple[dict, dict]:
    """run() with `module.attribute` set to each value of `settings` {label: value} in turn (the order alternating
    from one repeat to the next; the attribute restored after each run): the best CPU seconds and the last result
    per label — two code paths of one process side by side."""
    import time

    best, results = {label: float("inf") for label in settings}, {}
    items = list(settings.items())
    for i in range(repeat):
        for label, value in items[:: 1 - 2 * (i % 2)]:
            saved = getattr(module, attribute)
            setattr(module, attribute, value)
            try:
                c0 = time.process_time()
                results[label] = run()
                best[label] = min(best[label], time.process_time() - c0)
            finally:
                setattr(module, attribute, saved)
    return best, results


def table(header, rows, align: str = "right") -> str:
    """A plain-text table: the header, a rule and the rows, columns padded to their widest cell."""
    cells = [[str(c) for c in r] for r in rows]
    widths = [max(len(h), *(len(r[i]) for r in cells)) if cells else len(h) for i, h in enumerate(header)]
    pad = str.rjust if align == "right" else str.ljust
    lines = ["  ".join(pad(h, w) for h, w in zip(header, widths)), "  ".join("-" * w for w in widths)]
    return "\n".join(lines + ["  ".join(pad(c, w) for c, w in zip(r, widths)) for r in cells])


def wb_system(model, name: str, embed: float = 20.0):
    """WannierBerri's System_R with the hoppings of a qgeom Wannier model in convention II: the Wannier centres
    as its left shifts (its derivatives carry R + τ_j − τ_i; its Fourier phase omits the τ's, a diagonal gauge
    that leaves every band quantity unchanged). A d = 2 model is embedded in 3D with a lattice length `embed`
    (Å) along z and no periodicity there, so WB's per-volume numbers × `embed` are qgeom's per-area ones."""
    import contextlib
    import io

    import numpy as np
    from wannierberri.fourier.rvectors import Rvectors
    from wannierberri.system import System_R

    base = model.base
    d, nw = model.dim, model.nbands
    R = np.zeros((len(base.R), 3), int)
    R[:, :d] = base.R
    lat = embed * np.eye(3)
    lat[:d, :d] = np.asarray(model.lattice)
    tau = np.zeros((nw, 3))
    tau[:, :d] = model.positions
    with contextlib.redirect_stdout(io.StringIO()):
        system = System_R(force_internal_terms_only=True, name=name, silent=True,
                          periodic=tuple(a < d for a in range(3)))
        system.num_wann, system.spinor, system.real_lattice = nw, False, lat
        system.set_wannier_centers(wannier_centers_cart=tau)
        system.rvec = Rvectors(lattice=lat, iRvec=R, shifts_left_red=tau @ np.linalg.inv(lat), dim=d)
        ham = np.zeros((system.rvec.nRvec, nw, nw), complex)
        for r, t in zip(R, base.t):
            ham[system.rvec.iR(r)] += t
        system.set_R_mat("Ham", ham)
        system.do_at_end_of_init()
    return system
