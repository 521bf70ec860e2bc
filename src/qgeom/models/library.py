"""Named models: the models of the seed papers [D] and [K] and small test models.

Energies are in the model's own unit (`v` for the seed-[D] models, eV for MnBi2Te4); lattice
constant a = 1 for lattice models; k in Å⁻¹ for the continuum MnBi2Te4 model.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import numpy as np

from .._validation import QgeomInputError
from .base import Model
from .tight_binding import TightBindingModel

if TYPE_CHECKING:
    from .kp import KPModel

s0 = np.eye(2, dtype=complex)
sx = np.array([[0, 1], [1, 0]], complex)
sy = np.array([[0, -1j], [1j, 0]], complex)
sz = np.array([[1, 0], [0, -1]], complex)


def _sin(mat):  # coefficient of e^{ik·R} in mat·sin(k·R): (e^{ik} - e^{-ik}) / 2i
    return mat / 2j


def pt_tilted_4band(*, v: float = 1.0, b: float = 1.0, m: float = -3.9, t: float = 0.9) -> TightBindingModel:
    """Seed [D] Eq. (7): H = v τx[sin kx σx + sin ky σy] + M(k) τz, M = m + b(cos kx + cos ky) + t sin kx.

    PT-symmetric (P = τz, T = iσy K): every band doubly degenerate. Basis τ ⊗ σ.
    """
    tx, tz = sx, sz
    hop = {
        (0, 0): m * np.kron(tz, s0),
        (1, 0): _sin(v * np.kron(tx, sx) + t * np.kron(tz, s0)) + 0.5 * b * np.kron(tz, s0),
        (0, 1): _sin(v * np.kron(tx, sy)) + 0.5 * b * np.kron(tz, s0),
    }
    return TightBindingModel.from_hoppings(
        hop, add_conjugates=True, name="pt_tilted_4band",
        parameters=dict(v=v, b=b, m=m, t=t), energy_unit="v", length_unit="a",
    )


def pt_tilted_2band(
    *, v: float = 1.0, b: float = 1.0, m: float = -3.9, t: float = 0.9, conjugate: bool = False
) -> TightBindingModel:
    """The block h(k) = [[M, v₋], [v₊, −M]] of seed [D] Eq. (7), v± = v(sin kx ± i sin ky);
    `conjugate=True` gives the partner block h*(k)."""
    sgn = -1.0 if conjugate else 1.0
    hop = {
        (0, 0): m * sz,
        (1, 0): _sin(v * sx + t * sz) + 0.5 * b * sz,
        (0, 1): _sin(sgn * v * sy) + 0.5 * b * sz,
    }
    return TightBindingModel.from_hoppings(
        hop, add_conjugates=True, name="pt_tilted_2band",
        parameters=dict(v=v, b=b, m=m, t=t, conjugate=conjugate), energy_unit="v", length_unit="a",
    )


def tilted_dirac_2band(
    *, v: float = 1.0, m: float = 0.3, b: float = 1.0, tilt: float = 0.4
) -> TightBindingModel:
    """Lattice massive Dirac model with tilt: H = tilt·sin kx σ0 + v(sin kx σx + sin ky σy)
    + [m + b(2 − cos kx − cos ky)] σz.

    The mass breaks T, the tilt breaks inversion and the mirror x → −x, so the Berry-curvature
    dipole along x and the nonlinear Drude response are nonzero.
    """
    hop = {
        (0, 0): (m + 2 * b) * sz,
        (1, 0): _sin(tilt * s0 + v * sx) - 0.5 * b * sz,
        (0, 1): _sin(v * sy) - 0.5 * b * sz,
    }
    return TightBindingModel.from_hoppings(
        hop, add_conjugates=True, name="tilted_dirac_2band",
        parameters=dict(v=v, m=m, b=b, tilt=tilt), energy_unit="v", length_unit="a",
    )


def qi_wu_zhang(*, u: float = 1.0) -> TightBindingModel:
    """Qi–Wu–Zhang Chern insulator H = sin kx σx + sin ky σy + (u + cos kx + cos ky) σz;
    lower-band Chern number ∓1 for 0 < ±u < 2 (sign fixed by the convention of `berry_curvature`),
    0 for |u| > 2."""
    hop = {
        (0, 0): u * sz,
        (1, 0): _sin(sx) + 0.5 * sz,
        (0, 1): _sin(sy) + 0.5 * sz,
    }
    return TightBindingModel.from_hoppings(
        hop, add_conjugates=True, name="qi_wu_zhang", parameters=dict(u=u),
        energy_unit="model", length_unit="a",
    )


def asymmetric_chain(*, t1: float = 1.0, t2: float = 0.5, phi: float = np.pi / 2) -> TightBindingModel:
    """One band in 1D with ε(k) = −2 t1 cos k − 2 t2 cos(2k + φ): for φ ∉ {0, π} the dispersion is
    asymmetric, ε(k) ≠ ε(−k), so the odd-in-v Drude and kinetic responses are nonzero."""
    hop = {(1,): [[-t1]], (2,): [[-t2 * np.exp(1j * phi)]]}
    return TightBindingModel.from_hoppings(
        hop, add_conjugates=True, name="asymmetric_chain",
        parameters=dict(t1=t1, t2=t2, phi=phi), energy_unit="t1", length_unit="a",
    )


MNBI2TE4_PARAMETERS = dict(
    gamma=17.0, m0=-0.04, beta0=9.40, alpha=3.20, m1=0.05, m2=0.09,
    t1=-0.0533, t2=0.0463, lam=0.0577, gamma0=0.0,
)
MNBI2TE4_DEFAULT_CUTOFF = 0.16  # Å⁻¹, inside the valence-band ring near |k| ≈ 0.21 Å⁻¹


def mnbi2te4_bilayer(*, neel: int = +1, **overrides: float) -> KPModel:
    """Seed [K] Eq. (S21): 8-band k·p model of bilayer MnBi2Te4 (eV, Å), Néel order x = `neel`.

    Operators: `layer_polarization` = diag[I4, −I4] (units of e·layer), `spin_z` = ½ diag of σz
    in each layer's basis (|pz Bi+ ↑>, |pz Te− ↓>, |pz Te− ↑>, |pz Bi+ ↓>) (units of ħ).
    """
    if neel not in (+1, -1):
        raise QgeomInputError(f"neel must be +1 or -1, got {neel!r}.")
    unknown = set(overrides) - set(MNBI2TE4_PARAMETERS)
    if unknown:
        raise QgeomInputError(f"unknown MnBi2Te4 parameters {sorted(unknown)}; allowed: {sorted(MNBI2TE4_PARAMETERS)}.")
    p = {**MNBI2TE4_PARAMETERS, **overrides}
    x = neel
    k2 = "(kx**2 + ky**2)"
    eps0 = f"(gamma0 + gamma*{k2})"
    mass = f"(m0 + beta0*{k2})"
    km, kp_ = "(kx - I*ky)", "(kx + I*ky)"

    def layer(l: int):
        # h_l = h_N − x(−1)^l h_AFM, h_AFM = ½ diag[m1, −m2, m2, −m1]
        s = -x * (-1) ** l
        d = [f"{s}*m1/2", f"-{s}*m2/2", f"{s}*m2/2", f"-{s}*m1/2"]
        return [
            [f"{eps0} + {mass} + {d[0]}", f"I*alpha*{km}", "0", "0"],
            [f"-I*alpha*{kp_}", f"{eps0} - {mass} + {d[1]}", "0", "0"],
            ["0", "0", f"{eps0} - {mass} + {d[2]}", f"I*alpha*{km}"],
            ["0", "0", f"-I*alpha*{kp_}", f"{eps0} + {mass} + {d[3]}"],
        ]

    T = [["t1", "0", "-lam", "0"], ["0", "t2", "0", "lam"], ["lam", "0", "t2", "0"], ["0", "-lam", "0", "t1"]]
    Tdag = [[T[j][i] for j in range(4)] for i in range(4)]  # t is real
    h1, h2 = layer(1), layer(2)
    rows = [h1[i] + T[i] for i in range(4)] + [Tdag[i] + h2[i] for i in range(4)]
    ops = {
        "layer_polarization": np.diag([1.0] * 4 + [-1.0] * 4),
        "spin_z": 0.5 * np.diag([1.0, -1.0, 1.0, -1.0] * 2),
    }
    from .kp import KPModel  # SymPy on first use only (models/__init__)

    model = KPModel(
        rows, dim=2, parameters=p, name="mnbi2te4_bilayer", operators=ops,
        energy_unit="eV", length_unit="Å", k_cutoff=MNBI2TE4_DEFAULT_CUTOFF,
    )
    model.parameters["neel"] = x
    return model


MNBI2TE4_LATTICE_CONSTANT = 4.33  # Å, the in-plane lattice constant of MnBi2Te4


def mnbi2te4_bilayer_lattice(*, neel: int = +1, a: float = MNBI2TE4_LATTICE_CONSTANT, tilt: float = 0.0,
                             **overrides: float) -> TightBindingModel:
    """Square-lattice regularization of `mnbi2te4_bilayer` (seed [K] Eq. S21): k_i → sin(k_i a)/a,
    k² → 2(2 − cos k_x a − cos k_y a)/a², so that the model equals the k·p one to O(k³) near Γ and is
    periodic (every BZ sum exact, no cutoff). Lattice constant `a` in Å, energies in eV.

    PT-symmetric for either Néel order `neel` = ±1 (P exchanges the layers, T flips the moments; every
    band is a Kramers pair); `layer_polarization` = diag[I4, −I4] and `spin_z` are PT-odd. The model
    with −neel is the time-reversed partner, H_{−x}(k) = T H_x(−k) T⁻¹. Without `tilt`, rotations and
    M_x·T make every static (DC) second-order response of the layer polarization vanish (only the
    helicity-dependent optical one survives, seed [K] Fig. 2); `tilt` (eV·Å) adds neel·tilt·sin(k_x a)/a,
    a Néel-locked tilt that breaks them (like the t sin k_x of seed [D] Eq. 7) and keeps PT and the
    time-reversal partnership.
    """
    if neel not in (+1, -1):
        raise QgeomInputError(f"neel must be +1 or -1, got {neel!r}.")
    unknown = set(overrides) - set(MNBI2TE4_PARAMETERS)
    if unknown:
        raise QgeomInputError(f"unknown MnBi2Te4 parameters {sorted(unknown)}; allowed: {sorted(MNBI2TE4_PARAMETERS)}.")
    if not a > 0:
        raise QgeomInputError(f"lattice constant a must be positive (Å), got {a!r}.")
    p = {**MNBI2TE4_PARAMETERS, **overrides}
    I2, mass = np.eye(2), np.diag([1.0, -1.0, -1.0, 1.0])
    kx_op, ky_op = np.kron(I2, -sy), np.kron(I2, sx)  # α(k_x S_x + k_y S_y) = the i α k₋ entries of S21
    k2 = p["gamma"] * np.eye(4) + p["beta0"] * mass  # coefficient of k² in each layer

    def layer_onsite(l: int):
        s = -neel * (-1) ** l  # h_l = h_N − x(−1)^l h_AFM, h_AFM = ½ diag[m1, −m2, m2, −m1]
        return p["gamma0"] * np.eye(4) + p["m0"] * mass + 0.5 * s * np.diag([p["m1"], -p["m2"], p["m2"], -p["m1"]])

    T = np.array([[p["t1"], 0, -p["lam"], 0], [0, p["t2"], 0, p["lam"]], [p["lam"], 0, p["t2"], 0],
                  [0, -p["lam"], 0, p["t1"]]], complex)
    onsite = np.block([[layer_onsite(1) + 4 * k2 / a**2, T], [T.conj().T, layer_onsite(2) + 4 * k2 / a**2]])
    both = lambda x: np.kron(np.eye(2), x)  # noqa: E731  (the same in both layers)
    hop = {
        (0, 0): onsite,
        (1, 0): both(-k2 / a**2) + _sin((both(p["alpha"] * kx_op) + neel * tilt * np.eye(8)) / a),
        (0, 1): both(-k2 / a**2) + _sin(both(p["alpha"] * ky_op) / a),
    }
    ops = {
        "layer_polarization": np.diag([1.0] * 4 + [-1.0] * 4),
        "spin_z": 0.5 * np.diag([1.0, -1.0, 1.0, -1.0] * 2),
    }
    return TightBindingModel.from_hoppings(
        hop, add_conjugates=True, lattice=a * np.eye(2), name="mnbi2te4_bilayer_lattice",
        parameters={**p, "neel": neel, "a": a, "tilt": tilt}, operators=ops, energy_unit="eV", length_unit="Å",
    )


def split_pair_2band(*, delta: float = 0.01, t: float = 1.0, t2: float = 0.5, phi: float = 1.0,
                     alpha: float = 0.7) -> TightBindingModel:
    """Two bands ε(k) ± Δ/2 split by the same Δ = `delta` at every k, with a pseudospin texture:
    H = ε(k) σ0 + (Δ/2) n(k)·σ, n = (sin q cos kx, sin q sin kx, cos q), q = ky + α, |n| = 1;
    ε = −2t(cos kx + cos ky) − 2 t2 cos(2kx + φ) (ε(k) ≠ ε(−k): Drude, kinetic ≠ 0).

    The pair is an avoided crossing of tunable gap Δ along the whole Fermi surface (a Kramers pair
    split by a weak exchange field): its interband velocity is ∝ Δ, so the Berry curvature
    ±½ n·(∂x n × ∂y n) and the metric stay finite as Δ → 0 while G ∝ 1/Δ; at Δ = 0 the model is two
    copies of ε(k). The reference for the near-degenerate grouping (docs/near_degeneracy.md).
    """
    h = 0.5 * delta
    ea = np.exp(1j * alpha)
    hop = {
        (1, 0): -t * s0,
        (0, 1): -t * s0 + 0.5 * h * ea * sz,  # cos q σz
        (2, 0): -t2 * np.exp(1j * phi) * s0,
        # sin q cos kx = ½[sin(kx + q) + sin(q − kx)];  sin q sin kx = ½[cos(q − kx) − cos(kx + q)]
        (1, 1): 0.5 * h * ea * (_sin(sx) - 0.5 * sy),
        (-1, 1): 0.5 * h * ea * (_sin(sx) + 0.5 * sy),
    }
    return TightBindingModel.from_hoppings(
        hop, add_conjugates=True, name="split_pair_2band",
        parameters=dict(delta=delta, t=t, t2=t2, phi=phi, alpha=alpha), energy_unit="t", length_unit="a",
    )


MODELS: dict[str, Callable[..., Model]] = {
    "pt_tilted_4band": pt_tilted_4band,
    "pt_tilted_2band": pt_tilted_2band,
    "tilted_dirac_2band": tilted_dirac_2band,
    "qi_wu_zhang": qi_wu_zhang,
    "asymmetric_chain": asymmetric_chain,
    "split_pair_2band": split_pair_2band,
    "mnbi2te4_bilayer": mnbi2te4_bilayer,
    "mnbi2te4_bilayer_lattice": mnbi2te4_bilayer_lattice,
}
