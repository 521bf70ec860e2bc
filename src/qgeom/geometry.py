"""Band quantum geometry from a Bands chunk, by analytic sum over states.

Conventions (e = ħ = 1; ω_nm = ε_n − ε_m; every sum over m runs over m ∉ D(n)):
    A^a_nm   = i v^a_nm / (ε_m − ε_n)
    g^{ab}_n = Σ_m Re[A^a_nm A^b_mn]          = Σ_m Re[v^a_nm v^b_mn] / ω_nm²
    Ω^n_ab   = −2 Σ_m Im[A^a_nm A^b_mn]       = −2 Σ_m Im[v^a_nm v^b_mn] / ω_nm²
    G^{ab}_n = Σ_m Re[A^a_nm A^b_mn] / ω_nm
k-derivatives follow from ∂_c|n> = Σ_{p∉D(n)} |p> v^c_pn / ω_np (the intra-subspace part is a
gauge rotation that drops out of every subspace trace). Per-band outputs are averaged over
their degenerate subspace, which makes them invariant under U(N) rotations inside D(n).
Array layout: k first, tensor indices next (derivative index first), band index last.
"""

from __future__ import annotations

import numpy as np

from .bands import Bands, _psum
from .eigenbasis import symmetric_combos, symmetric_index


def _diag(x: np.ndarray) -> np.ndarray:
    return np.diagonal(x, axis1=-2, axis2=-1)


def _trace_pairs(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Σ_p x_np y_pn, batched over leading axes (band index n last)."""
    return np.einsum("...np,...pn->...n", x, y)


def band_velocity(b: Bands) -> np.ndarray:
    """v^a_n = ∂_a ε_n, [nk, d, N]."""
    return b.cached("velocity", lambda b: b.subspace_average(_diag(b.v).real))


def berry_connection(b: Bands) -> np.ndarray:
    """Interband Berry connection A^a_nm = i v^a_nm/(ε_m − ε_n), zero for m ∈ D(n); [nk, d, N, N]."""
    return b.cached("connection", lambda b: -1j * b.v * b.inv_de[:, None])


def _pair_product(b: Bands) -> np.ndarray:
    """P^{ab}_nm = v^a_nm v^b_mn / ω_nm² (zero inside D(n)); [nk, d, d, N, N]."""

    def compute(b: Bands) -> np.ndarray:
        v = b.v
        return v[:, :, None] * v[:, None, :].swapaxes(-1, -2) * (b.inv_de**2)[:, None, None]

    return b.cached("pair_product", compute)


def quantum_metric(b: Bands) -> np.ndarray:
    """g^{ab}_n, [nk, d, d, N]."""
    return b.cached("metric", lambda b: b.subspace_average(_psum(_pair_product(b).real)))


def berry_curvature(b: Bands) -> np.ndarray:
    """Ω^n_ab (antisymmetric in a, b), [nk, d, d, N]."""
    return b.cached("curvature", lambda b: b.subspace_average(-2.0 * _psum(_pair_product(b).imag)))


def energy_normalized_metric(b: Bands) -> np.ndarray:
    """G^{ab}_n = Σ_m Re[A^a_nm A^b_mn]/(ε_n − ε_m) (Berry-connection polarizability), [nk, d, d, N]."""
    return b.cached(
        "normalized_metric",
        lambda b: b.subspace_average(_psum(_pair_product(b).real * b.inv_de[:, None, None])),
    )


def velocity_derivative(b: Bands) -> np.ndarray:
    """D_c v^a_nm = <n|∂_c∂_a H|m> + Σ_p [v^c_np v^a_pm/ω_np + v^a_np v^c_pm/ω_mp]: the k-derivative of
    the matrix element up to gauge phases that cancel in every product v_nm v_mn; [nk, c, a, N, N]."""

    def compute(b: Bands) -> np.ndarray:
        b.require(2)
        v, f = b.v, b.inv_de[:, None]
        nk, d, N = v.shape[0], v.shape[1], v.shape[-1]
        # L^{ca} = (v^c ∘ f) @ v^a for every (c, a) from one matmul per k ([v^c ∘ f] stacked on rows,
        # [v^a] side by side on columns); the second sum is its adjoint (f is real, antisymmetric)
        rows = (v * f).reshape(nk, d * N, N)
        cols = v.transpose(0, 2, 1, 3).reshape(nk, N, d * N)
        L = (rows @ cols).reshape(nk, d, N, d, N).transpose(0, 1, 3, 2, 4)
        out = b.w + L
        out += L.conj().swapaxes(-1, -2)
        return out

    return b.cached("velocity_derivative", compute)


def inverse_mass(b: Bands) -> np.ndarray:
    """∂_a∂_b ε_n, [nk, d, d, N]."""
    return b.cached("inverse_mass", lambda b: b.subspace_average(_diag(velocity_derivative(b)).real))


def energy_third_derivative(b: Bands) -> np.ndarray:
    """∂_a∂_b∂_c ε_n, [nk, d, d, d, N] (index order a, b, c; fully symmetric)."""

    def compute(b: Bands) -> np.ndarray:
        b.require(3)
        v, w, f = b.v, b.w, b.inv_de
        d = v.shape[1]
        dv = velocity_derivative(b)  # [nk, c, a, N, N]
        vel = _diag(v).real
        # ∂_c of M^{ab}_n = w^{ab}_nn + Σ_p (v^a_np v^b_pn + v^b_np v^a_pn)/ω_np, for the distinct
        # a ≤ b ≤ c only (the result is fully symmetric); Σ_p x_np y_pn = Σ_p x_np yᵀ_np
        ca, cb, cc = (np.array(x, int) for x in zip(*symmetric_combos(d, 3)))
        vT, dvT = v.swapaxes(-1, -2), dv.swapaxes(-1, -2)
        fk = f[:, None]
        delta = vel[:, :, :, None] - vel[:, :, None, :]  # Δ^c_np = v^c_nn − v^c_pp, [nk, c, N, N]
        x = (v[:, cc] * fk) * w.swapaxes(-1, -2)[:, ca, cb]
        x += (dv[:, cc, ca] * fk) * vT[:, cb]
        x += (v[:, ca] * fk) * dvT[:, cc, cb]
        x = 2.0 * x.real
        x -= 2.0 * (v[:, ca] * ((f * f)[:, None] * delta[:, cc]) * vT[:, cb]).real
        combos = b.diagonal(3) + _psum(x)  # [nk, ncombo, N]: Re u^{abc}_nn + the sums over states
        return b.subspace_average(combos)[:, symmetric_index(d, 3)]

    return b.cached("energy_third_derivative", compute)


def _pair_product_derivative(b: Bands) -> np.ndarray:
    """∂_c Σ_m v^a_nm v^b_mn/ω_nm², [nk, c, a, b, N] (complex; before subspace averaging).
    Computed for a ≤ b; (b, a) is the complex conjugate of (a, b)."""

    def compute(b: Bands) -> np.ndarray:
        v, f = b.v, b.inv_de
        d = v.shape[1]
        dv = velocity_derivative(b)  # [nk, c, a, N, N]
        vel = _diag(v).real
        delta = vel[:, :, :, None] - vel[:, :, None, :]  # [nk, c, N, N]
        pa, pb = (np.array(x, int) for x in zip(*symmetric_combos(d, 2)))
        f2 = (f**2)[:, None, None]
        va = v[:, None, pa]  # [nk, 1, pair, N, N]
        vbT = v[:, None, pb].swapaxes(-1, -2)  # v^b_mn at [n, m]
        term = dv[:, :, pa] * vbT
        term += va * dv[:, :, pb].swapaxes(-1, -2)
        term *= f2
        term -= 2 * (va * vbT) * (delta * f[:, None] ** 3)[:, :, None]
        pairs = _psum(term)  # [nk, c, pair, N]
        full = pairs[:, :, symmetric_index(d, 2)]  # [nk, c, a, b, N]
        lower = np.tril(np.ones((d, d), bool), -1)
        full[:, :, lower] = full[:, :, lower].conj()
        return full

    return b.cached("pair_product_derivative", compute)


def quantum_metric_dipole(b: Bands) -> np.ndarray:
    """∂_a g^{bc}_n, [nk, a, b, c, N]."""
    return b.cached("metric_dipole", lambda b: b.subspace_average(_pair_product_derivative(b).real))


def berry_curvature_dipole(b: Bands) -> np.ndarray:
    """∂_a Ω^n_bc, [nk, a, b, c, N]."""
    return b.cached(
        "curvature_dipole", lambda b: b.subspace_average(-2.0 * _pair_product_derivative(b).imag)
    )
