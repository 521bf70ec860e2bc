"""Symmetry on both sides: qgeom's irreducible wedge against WannierBerri's irreducible K-points, same model,
same grid, same magnetic point group.

    python benchmarks/symmetry_peer.py                 # ~2.5 min on one core (mostly WannierBerri)
    python benchmarks/symmetry_peer.py --no-wb         # qgeom only, ~15 s
    python benchmarks/symmetry_peer.py --grid 8 6      # NKdiv × NKFFT = 48³ (default 4 × 8 = 32³)
    python benchmarks/symmetry_peer.py --json out.json
    python benchmarks/symmetry_peer.py --values 0      # without the value comparison (~7 s of WannierBerri)

Model: the shipped GaAs Wannier model (examples/GaAs, convention II) with time reversal restored, an
on-site splitting J σ_z of 50 meV of its interleaved spinor pairs (breaks time reversal: a nonlinear Drude
appears), then made exactly S4-symmetric (`symmetrize_point_group(..., "-4", representation="fitted")`,
H(R) moves by ~1 meV). The Wannier functions are hybrids whose spin is not the spinor label's (the fitted
time reversal of `restore_time_reversal`), so that splitting is not a uniform Zeeman field and keeps no
mirror or two-fold axis of T_d, with or without time reversal; S4 = -4 (4 unitary operations) is the
group it keeps, detected by qgeom (`qgeom.symmetry.detect.detect`) and printed. It allows both the Drude
and the BCD. WannierBerri gets the same operations (Cartesian rotations, `PointSymmetry`), the same
hoppings in convention II (the Wannier centres as its left shifts) and the same Γ-centred grid
(NKdiv × NKFFT per direction; its symmetry reduces the NKdiv K-points, each an FFT box of NKFFT³).

- qgeom: `dc.expansion` (all terms, every component, 20 μ in the conduction band, kT = 50 meV,
  fermionic_bath + constant_gamma) with `symmetry=None` (full grid) and with `symmetry=` the detected
  operations (irreducible wedge, every tensor symmetrized by its transformation law). The two must
  agree to 1e-10 (relative to each term's largest value): the script checks it.
- WannierBerri 26.10: `BerryDipole_FermiSea` + `NLDrude_FermiSea` on the same 20 Fermi levels (its
  minimum work for the BCD and Drude tensors; the Γ⁰ terms it has no calculator for), serial, with
  `use_irred_kpt=False, symmetrize=False` and with `use_irred_kpt=True, symmetrize=True`; their
  agreement is printed (WannierBerri's own symmetrization).

Printed side by side: CPU seconds of each run, the k-points each code evaluated, each code's gain from
its symmetry, and WannierBerri's time over qgeom's with symmetry on both sides. One BLAS thread (the
script re-executes itself with OPENBLAS/OMP/MKL_NUM_THREADS=1); timings are process CPU times.

Values (`--values N`, default 16³; 0 skips): the same discrete sums in both codes — qgeom's default BCD and
Drude (fermionic_bath, model units) against WannierBerri's Fermi-surface calculators (`BerryDipole_FermiSurf`,
`NLDrude_FermiSurf` with constant_factor 1) at T = 0 on Fermi levels VALUE_STEP apart, convolved with −f0′ at
the same kT, converted as in tests/dc/test_wannierberri.py (σ^(−1)_abc = −½(ε_abd D_cd + ε_acd D_bd),
σ^(−2)_abc = ¼(I_abc + I_acb): qgeom's −¼(∂_a v^b v^c + v^b ∂_a v^c) f0′ is WB's M_ab v_c symmetrized in b, c).
Their difference is WB's Fermi-level histogram (∝ the step: 2.7 % at 2 meV, 0.2 % at 0.25 meV on 32³).
"""

from __future__ import annotations

import argparse
import contextlib
import io
import itertools
import json
import os
import sys
import tempfile
import time
import warnings
from pathlib import Path

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bench_common import REPO, one_blas_thread, table, wb_system  # noqa: E402

if __name__ == "__main__":
    one_blas_thread()  # before numpy

import numpy as np  # noqa: E402

EXCHANGE = 0.05  # eV, J σ_z on every interleaved spinor pair
MU = np.linspace(8.9, 9.9, 20)  # eV: the conduction band (E_F = 7.94 eV lies in the gap), as real_models.py
KT = 0.05  # eV
MECHANISMS = ["fermionic_bath", "constant_gamma"]
VALUE_STEP = 2.5e-4  # eV: WannierBerri's Fermi levels for the value comparison (its histogram error ∝ step / kT)


def build_model():
    """GaAs with time reversal restored, an on-site spin splitting, then made exactly S4-symmetric."""
    from qgeom.models import from_wannier90
    from qgeom.models.onsite import with_exchange_field
    from qgeom.models.symmetrize import restore_time_reversal, symmetrize_point_group

    gaas = restore_time_reversal(from_wannier90(REPO / "examples" / "GaAs"))
    split = with_exchange_field(gaas, EXCHANGE, axis="z", spinor_ordering="interleaved")
    return symmetrize_point_group(split, "-4", representation="fitted")


def cpu(fn):
    c0 = time.process_time()
    out = fn()
    return out, time.process_time() - c0


def qgeom_runs(model, n: int, ops) -> dict:
    from qgeom.dc import expansion

    def run(symmetry):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return expansion(model, components="all", mu=MU, temperature=KT, grid=n, offset="gamma",
                             mechanisms=MECHANISMS, progress=False, symmetry=symmetry)

    run(None) if n <= 4 else run(ops)  # warm-up (imports, caches) outside the timers
    full, t_full = cpu(lambda: run(None))
    wedge, t_wedge = cpu(lambda: run(ops))
    a, b = full.sigma.values, wedge.sigma.values
    scale = np.abs(a).max(axis=tuple(range(1, a.ndim)), keepdims=True)  # per term (the first axis)
    scale = np.where(scale > 0, scale, 1.0)
    sym = json.loads(wedge.attrs["symmetry"])
    s = full.sigma.sel(mechanism="fermionic_bath")
    return dict(cpu_full=t_full, cpu_sym=t_wedge, nk_full=int(sym["full_grid_points"]), nk_sym=int(sym["wedge_points"]),
                max_rel_diff=float((np.abs(a - b) / scale).max()),
                # Neumann zeros per (term, component): the components every term of which the group forbids
                forbidden=int(wedge["forbidden"].all("term").sum()), components=int(full.sizes["component"]),
                max_abs={str(t): float(abs(s.sel(term=t)).max()) for t in ("drude", "bcd", "geometric", "kinetic")})


def wb_runs(model, ops, nkdiv: int, nkfft: int) -> dict:
    import wannierberri as wberri
    from wannierberri.calculators import static as wb_static
    from wannierberri.symmetry.point_symmetry import PointSymmetry

    def run(symmetric: bool):
        system = wb_system(model, "gaas_s4")
        if symmetric:
            system.set_pointgroup([PointSymmetry(op.R, op.time_reversal) for op in ops])
        grid = wberri.Grid(system, NKdiv=[nkdiv] * 3, NKFFT=[nkfft] * 3, use_symmetry=symmetric)
        common = dict(Efermi=MU, tetra=False, smoother=None, save_mode="bin")
        calcs = {"BCD": wb_static.BerryDipole_FermiSea(**common), "Drude": wb_static.NLDrude_FermiSea(**common)}
        with tempfile.TemporaryDirectory() as wd, contextlib.chdir(wd), contextlib.redirect_stdout(io.StringIO()):
            c0 = time.process_time()
            res = wberri.run(system, grid=grid, calculators=calcs, parallel=False, use_irred_kpt=symmetric,
                             symmetrize=symmetric, adpt_num_iter=0, print_progress_step_time=1e9)
            t = time.process_time() - c0
        return {k: np.asarray(res.results[k].data) for k in ("BCD", "Drude")}, t

    full, t_full = run(False)
    sym, t_sym = run(True)
    diff = {k: float(np.abs(full[k] - sym[k]).max() / max(np.abs(full[k]).max(), 1e-300)) for k in full}
    return dict(version=wberri.__version__, cpu_full=t_full, cpu_sym=t_sym, nk_full=int((nkdiv * nkfft) ** 3),
                max_rel_diff=diff)


def levi_civita() -> np.ndarray:
    eps = np.zeros((3, 3, 3))
    for a, b, c in ((0, 1, 2), (1, 2, 0), (2, 0, 1)):
        eps[a, b, c], eps[a, c, b] = 1.0, -1.0
    return eps


def qgeom_values(model, n: int) -> dict:
    """qgeom's default BCD and Drude tensors [μ, a, b, c] (fermionic_bath, e = ħ = 1, eV and Å) on n³."""
    from qgeom.dc import expansion

    comps = ["".join(c) for c in itertools.product("xyz", repeat=3)]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ds = expansion(model, components=comps, mu=MU, temperature=KT, grid=n, offset="gamma", units="model",
                       mechanisms=["fermionic_bath"], progress=False, symmetry=None)
    s = ds.sigma.sel(mechanism="fermionic_bath")
    return {t: s.sel(term=t, component=comps).transpose("mu", "component").values.reshape(len(MU), 3, 3, 3)
            for t in ("bcd", "drude")}


def wb_values(model, n: int) -> dict:
    """WannierBerri's BCD and Drude in qgeom's convention (see the module docstring) on n³: its T = 0
    Fermi-surface sums on Fermi levels VALUE_STEP apart, convolved with −f0′(E − μ) at kT."""
    import wannierberri as wberri
    from wannierberri.calculators import static as wb_static

    levels = np.arange(MU[0] - 14 * KT, MU[-1] + 14 * KT, VALUE_STEP)
    common = dict(Efermi=levels, tetra=False, smoother=None, save_mode="bin")
    calcs = {"D": wb_static.BerryDipole_FermiSurf(**common),
             "I": wb_static.NLDrude_FermiSurf(constant_factor=1.0, **common)}
    system = wb_system(model, "gaas_s4")
    grid = wberri.Grid(system, NKdiv=[1] * 3, NKFFT=[n] * 3)
    with tempfile.TemporaryDirectory() as wd, contextlib.chdir(wd), contextlib.redirect_stdout(io.StringIO()):
        res = wberri.run(system, grid=grid, calculators=calcs, parallel=False, adpt_num_iter=0,
                         print_progress_step_time=1e9)
    x = (levels[None, :] - MU[:, None]) / KT
    weight = 0.25 / np.cosh(x / 2) ** 2 / KT * VALUE_STEP  # −f0′(E − μ) dE
    D = np.einsum("me,e...->m...", weight, np.asarray(res.results["D"].data))  # [μ, b, d]
    Iabc = np.einsum("me,e...->m...", weight, np.asarray(res.results["I"].data))  # [μ, a, b, c]
    eps = levi_civita()
    bcd = -0.5 * (np.einsum("abd,mcd->mabc", eps, D) + np.einsum("acd,mbd->mabc", eps, D))
    return {"bcd": bcd, "drude": 0.25 * (Iabc + Iabc.transpose(0, 1, 3, 2))}


def value_agreement(model, n: int) -> dict:
    """max |qgeom − WB| / max |WB| per term on n³ (`qgeom_values`, `wb_values`), and WB's largest value."""
    q, w = qgeom_values(model, n), wb_values(model, n)
    return {t: dict(rel_diff=float(np.abs(q[t] - w[t]).max() / np.abs(w[t]).max()), wb_max=float(np.abs(w[t]).max()))
            for t in q}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--grid", type=int, nargs=2, default=(4, 8), metavar=("NKDIV", "NKFFT"),
                    help="WannierBerri's K-point grid and FFT box per direction; the grid is their product")
    ap.add_argument("--no-wb", action="store_true")
    ap.add_argument("--values", type=int, default=16, metavar="N",
                    help="compare qgeom's BCD and Drude with WannierBerri's on N³ (0: skip)")
    ap.add_argument("--json", type=Path, default=None)
    args = ap.parse_args(argv)
    from qgeom.symmetry import point_group_name
    from qgeom.symmetry.detect import detect

    nkdiv, nkfft = args.grid
    n = nkdiv * nkfft
    model, t_model = cpu(build_model)
    ops, t_detect = cpu(lambda: detect(model))
    print(f"GaAs, time reversal restored, spin splitting {EXCHANGE} eV, made S4-symmetric: built in {t_model:.1f} s; "
          f"magnetic point group {point_group_name(ops)}, detected in {t_detect:.1f} s; grid {n}³")
    report = dict(grid=n, nkdiv=nkdiv, nkfft=nkfft, operations=[op.label() for op in ops], detect_s=t_detect,
                  loadavg_before=os.getloadavg())
    q = report["qgeom"] = qgeom_runs(model, n, ops)
    print(f"  qgeom: full grid {q['cpu_full']:.2f} s ({q['nk_full']} k-points), wedge {q['cpu_sym']:.2f} s "
          f"({q['nk_sym']} k-points); wedge vs full grid: {q['max_rel_diff']:.1e} (relative to each term's largest "
          f"value, every component and μ); {q['forbidden']} of the {q['components']} components forbidden for every term; largest |σ| "
          "(fermionic bath): " + ", ".join(f"{t} {v:.2e}" for t, v in q["max_abs"].items()))
    rows = [["qgeom dc.expansion (all terms, 27 components)", f"{q['cpu_full']:.2f}", f"{q['cpu_sym']:.2f}",
             f"{q['cpu_full'] / q['cpu_sym']:.1f}×", f"{q['max_rel_diff']:.1e}", "1"]]
    if not args.no_wb:
        w = report["wannierberri"] = wb_runs(model, ops, nkdiv, nkfft)
        print(f"  WannierBerri {w['version']}: full grid {w['cpu_full']:.2f} s, irreducible K-points "
              f"{w['cpu_sym']:.2f} s; symmetrized vs full grid: "
              + ", ".join(f"{k} {v:.1e}" for k, v in w["max_rel_diff"].items()))
        rows.append([f"WannierBerri (BCD + Drude, Fermi sea; NKdiv {nkdiv}, NKFFT {nkfft})", f"{w['cpu_full']:.2f}",
                     f"{w['cpu_sym']:.2f}", f"{w['cpu_full'] / w['cpu_sym']:.1f}×",
                     ", ".join(f"{k} {v:.1e}" for k, v in w["max_rel_diff"].items()),
                     f"{w['cpu_sym'] / q['cpu_sym']:.1f}×"])
    report["loadavg_after"] = os.getloadavg()
    if not args.no_wb and args.values:
        v = report["values"] = value_agreement(model, args.values)
        print(f"  the same sums, {args.values}³ (qgeom default forms; WannierBerri Fermi-surface calculators at T = 0, "
              f"Fermi levels {VALUE_STEP * 1e3:g} meV apart, convolved with −f0′): max |qgeom − WB| / max |WB| "
              + ", ".join(f"{t} {x['rel_diff']:.1e}" for t, x in v.items()))
    print(f"\nWith symmetry on both sides ({point_group_name(ops)}; {n}³ Γ-centred grid; CPU s, one thread)")
    print(table(["code", "full grid s", "with symmetry s", "gain from symmetry", "symmetrized vs full",
                  "/ qgeom with symmetry"], rows))
    if args.json:
        args.json.write_text(json.dumps(report, indent=1, default=float))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
