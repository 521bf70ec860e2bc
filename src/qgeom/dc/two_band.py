"""Closed-form per-band integrands of the Γ expansion for a non-degenerate two-band chunk.

H = d0 + d·σ (no eigenvectors, no complex arithmetic): ε± = d0 ± r, r = |d|; with e_a = n̂·∂_a d,
q_ab = ∂_a d·∂_b d − e_a e_b (= r² ∂_a n̂·∂_b n̂), n_ab = n̂·∂_a∂_b d, X_ab = n̂·(∂_a d × ∂_b d) and
s = ±1:
    v = ∂d0 + s e,  ∂_a∂_b ε = ∂_ab d0 + s(n_ab + q_ab/r),  Ω_ab = −s X_ab/(2r²),
    G_ab = s q_ab/(8r³),  g_ab = q_ab/(4r²),  ∂_c g_ab and ∂_a∂_b∂_c ε by the chain rule.
The same sums over states as the general path of `qgeom.dc.expansion` (v_np v_pn = q + i s X for
the pair ±, ω = 2sr), evaluated analytically. Per-band arrays are [X, nk, 2] (band − then +).
"""

from __future__ import annotations

import numpy as np

from ..bands import Bands
from ..eigenbasis import symmetric_combos, symmetric_index


def _dot3(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Σ_i x[i] y[i] over a leading 3-vector axis (slice adds, no reduction machinery)."""
    out = x[0] * y[0]
    out += x[1] * y[1]
    out += x[2] * y[2]
    return out


def _even_minus_plus_odd(even: np.ndarray, odd: np.ndarray) -> np.ndarray:
    """even ∓ odd on the two bands (s = −1, +1), [X, nk, 2]."""
    out = np.empty(odd.shape + (2,))
    np.subtract(even, odd, out=out[..., 0])
    np.add(even, odd, out=out[..., 1])
    return out


def _odd(odd: np.ndarray) -> np.ndarray:
    """s·odd on the two bands, [X, nk, 2]."""
    out = np.empty(odd.shape + (2,))
    np.negative(odd, out=out[..., 0])
    out[..., 1] = odd
    return out


def _even(x: np.ndarray) -> np.ndarray:
    """A band-independent quantity on both bands, [X, nk, 2]."""
    out = np.empty(x.shape + (2,))
    out[..., 0] = x
    out[..., 1] = x
    return out


def _pauli_components(block: np.ndarray, nk: int) -> tuple[np.ndarray, np.ndarray]:
    """d0 [ncols, nk] and d [3, ncols, nk] of every column of the derivative block (H, ∂H, ∂∂H,
    ∂∂∂H combos), from one gather of Re h00, Re h11, Re h01, Im h01."""
    ncols = block.shape[2]
    flat = block.view(float).reshape(nk, 2, ncols, 4)
    raw = np.empty((4, ncols, nk))
    raw[0] = flat[:, 0, :, 0].T
    raw[1] = flat[:, 1, :, 2].T
    raw[2] = flat[:, 0, :, 2].T
    raw[3] = flat[:, 0, :, 3].T
    d0 = raw[0] + raw[1]
    d0 *= 0.5
    vec = np.empty((3, ncols, nk))
    vec[0] = raw[2]
    np.negative(raw[3], out=vec[1])
    np.subtract(raw[0], raw[1], out=vec[2])
    vec[2] *= 0.5
    return d0, vec


def _berry_numerator(nh: np.ndarray, d1: np.ndarray, pa: np.ndarray, pb: np.ndarray) -> np.ndarray:
    """X_ab = n̂·(∂_a d × ∂_b d) for the pairs a ≤ b, [pair, nk]."""
    nxd = np.empty(d1.shape)  # n̂ × ∂_a d, [3, d, nk]
    np.multiply(nh[1], d1[2], out=nxd[0])
    nxd[0] -= nh[2] * d1[1]
    np.multiply(nh[2], d1[0], out=nxd[1])
    nxd[1] -= nh[0] * d1[2]
    np.multiply(nh[0], d1[1], out=nxd[2])
    nxd[2] -= nh[1] * d1[0]
    return _dot3(nxd[:, pa], d1[:, pb])


def _metric_dipole(A, B, C, e, q, N2, M12, ir) -> np.ndarray:
    """∂_A g^{BC} (band-independent), from
    4r² ∂_A g^{BC} = ∂_B d·∂_A∂_C d + ∂_C d·∂_A∂_B d − e_C n_AB − e_B n_AC − (e_C q_AB + e_B q_AC + 2 e_A q_BC)/r."""
    eA, eB, eC = e[A], e[B], e[C]
    dg = M12[B, A, C] + M12[C, A, B] - eC * N2[A, B] - eB * N2[A, C]
    dg -= (eC * q[A, B] + eB * q[A, C] + 2.0 * eA * q[B, C]) * ir
    dg *= 0.25 * (ir * ir)
    return dg


def _radius_third_derivative(A, B, C, e, q, N2, M12, ir, nh, d3) -> np.ndarray:
    """∂_A∂_B∂_C r = n̂·∂_ABC d + [Σ_cyc ∂_A d·∂_BC d − Σ_cyc e_A n_BC − Σ_cyc e_A q_BC / r] / r,
    the odd part of ∂_A∂_B∂_C ε± (d3 = ∂_ABC d, [3, comp, nk])."""
    eA, eB, eC = e[A], e[B], e[C]
    t = M12[A, B, C] + M12[B, A, C] + M12[C, A, B]
    t -= eA * N2[B, C] + eB * N2[A, C] + eC * N2[A, B]
    t -= (eA * q[B, C] + eB * q[A, C] + eC * q[A, B]) * ir
    t *= ir
    t += _dot3(nh[:, None], d3)
    return t


def two_band_per_band(b: Bands, A, B, C, dipole: bool, order3: bool,
                      mass: bool = True) -> dict[str, np.ndarray] | None:
    """The per-band integrands of the expansion (vel, curv, Gm for the pairs a ≤ b; mass when `mass`;
    dg or g; third when `order3`) in closed form. None when the chunk is not two-band or has a degenerate
    k-point (the general path then averages over the subspace)."""
    block = b.__dict__.get("_block")
    if block is None or b.nbands != 2 or not np.all(b.labels[:, -1] == 1):
        return None
    d = b.nderiv
    n1, n2 = d, len(symmetric_combos(d, 2))
    d0, vec = _pauli_components(block, b.nk)
    r = np.sqrt(_dot3(vec[:, 0], vec[:, 0]))
    ir = 1.0 / r
    ir2 = ir * ir
    nh = vec[:, 0] * ir  # n̂, [3, nk]
    d1 = vec[:, 1 : 1 + n1]  # [3, d, nk]
    e = _dot3(nh[:, None], d1)  # [d, nk]
    q = _dot3(d1[:, :, None], d1[:, None, :])
    q -= e[:, None] * e[None]  # [d, d, nk]
    pa, pb = np.array(symmetric_combos(d, 2)).T
    qp = q[pa, pb]
    per_band = {
        "vel": _even_minus_plus_odd(d0[1 : 1 + n1], e),
        "curv": _odd(_berry_numerator(nh, d1, pa, pb) * (-0.5 * ir2)),
        "Gm": _odd(qp * (0.125 * ir2 * ir)),
    }
    if mass or dipole or order3:  # the block then holds the second-order columns
        d2c = vec[:, 1 + n1 : 1 + n1 + n2]  # [3, n2, nk]
        ncomb = _dot3(nh[:, None], d2c)  # n̂·∂_ab d, [n2, nk]
    if mass:
        per_band["mass"] = _even_minus_plus_odd(d0[1 + n1 : 1 + n1 + n2], ncomb + qp * ir)
    if dipole or order3:
        i2 = symmetric_index(d, 2)
        N2 = ncomb[i2]  # [d, d, nk]
        M12 = _dot3(d1[:, :, None], d2c[:, None, :])[:, i2]  # ∂_a d·∂_b∂_c d, [d, d, d, nk]
    if dipole:
        per_band["dg"] = _even(_metric_dipole(A, B, C, e, q, N2, M12, ir))
    if order3:
        col3 = 1 + n1 + n2 + symmetric_index(d, 3)[A, B, C]
        t = _radius_third_derivative(A, B, C, e, q, N2, M12, ir, nh, vec[:, col3])
        per_band["third"] = _even_minus_plus_odd(d0[col3], t)
    if not dipole:
        per_band["g"] = _even(qp * (0.25 * ir2))
    return per_band
