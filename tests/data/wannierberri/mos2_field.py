"""WannierBerri reference for a 48-band Wannier model: BCD and nonlinear Drude of 1T′-MoS₂ in a displacement
and an exchange field (the model of benchmarks/time_to_accuracy.py), on the Γ-centred 72×40 grid.

Run with a Python that has WannierBerri 26.10 (and qgeom importable from src/):

    python tests/data/wannierberri/mos2_field.py        # writes reference_mos2_field.json (~30 s)

WB: BerryDipole_FermiSurf + NLDrude_FermiSurf on the same convention-II hoppings (Wannier centres as its
left shifts), no symmetry, no refinement, T = 0 on a 10 µeV Fermi-level grid, then its Fermi–Dirac smoother
at the μ points; converted to qgeom's seed-convention coefficients in model units per area
(`time_to_accuracy.wb_to_qgeom`: σ⁽⁻¹⁾_yxx = c·D[x][z], σ⁽⁻²⁾_xxx = c·½ I[x][x][x], c = 20 Å of the embedding).
"""

import importlib.util
import json
import sys
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[3]
sys.path.insert(0, str(REPO / "src"))
spec = importlib.util.spec_from_file_location("time_to_accuracy", REPO / "benchmarks" / "time_to_accuracy.py")
tta = importlib.util.module_from_spec(spec)
spec.loader.exec_module(tta)

NKDIV, NKFFT, DE = (8, 8), (9, 5), 1e-5

if __name__ == "__main__":
    import wannierberri

    model = tta.build_model()
    system = tta.wb_system(model)
    k = np.array([[0.1, 0.2], [0.0, 0.0], [0.31, -0.17]]) @ np.asarray(model.reciprocal_lattice)
    import contextlib
    import io
    with contextlib.redirect_stdout(io.StringIO()):
        wb_e = [np.sort(wannierberri.evaluate_k(system, k=np.r_[np.linalg.solve(np.asarray(model.reciprocal_lattice).T, kk), 0.0],
                                                quantities=["energy"])) for kk in k]
    eig_check = float(np.abs(np.array(wb_e) - np.linalg.eigvalsh(model.hamiltonian(k))).max())
    rec = tta.wb_refined(system, NKDIV, NKFFT, iterations=0, de=DE, reference_values=None, tol=1e-3, budget=1e9)[-1]
    out = dict(model="1T'-MoS2 (examples/MoS2-1Tp), time reversal restored, 0.1 V/A field, 0.05 eV exchange "
                     "(benchmarks/time_to_accuracy.build_model)",
               wannierberri=wannierberri.__version__, grid=[NKDIV[0] * NKFFT[0], NKDIV[1] * NKFFT[1]],
               fermi_level_step_eV=DE, kT=tta.KT, mu=tta.MU.tolist(), components=tta.TERMS, eig_check_eV=eig_check,
               values=rec["values"])
    (Path(__file__).parent / "reference_mos2_field.json").write_text(json.dumps(out, indent=1))
    print(f"eigenvalue check {eig_check:.1e} eV; wrote reference_mos2_field.json")
