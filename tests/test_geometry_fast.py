"""Fast paths against the straightforward formulas (1e-12 relative to the largest value).

- `geometry`: one matmul for every D_c v^a, only the distinct (c, a, b) products in ∂_c g / ∂³ε,
  `Bands.diagonal(3)` instead of the full u, slice sums over the band axis — against the plain
  einsum/broadcast formulas written out below (full u, every (c, a, b)).
- `Bands`: lazily rotated v, w, u and the diagonal of ∂∂∂H without the full rotation.
- `dc.expansion`: the closed-form two-band path (d-vector) against the general sum over states
  on the same chunk, and the whole expansion (both paths) on 1D/2D/3D models.
Degenerate models (pt_tilted_4band: doubly degenerate everywhere; mnbi2te4_bilayer) and
non-degenerate ones; 1D, 2D and 3D.
"""

from __future__ import annotations

import importlib

import numpy as np
import pytest

from qgeom import geometry
from qgeom.bands import Bands
from qgeom.dc import two_band
from qgeom.dc.two_band import two_band_per_band
from qgeom.dc.components import component_indices, parse_components
from qgeom.models import library
from qgeom.models.tight_binding import TightBindingModel

from dc_reference import fast_raw_integrands, raw_integrands

E = importlib.import_module("qgeom.dc.expansion")


def _random_tb(N: int, d: int, seed: int) -> TightBindingModel:
    rng = np.random.default_rng(seed)

    def mat(s):
        return s * (rng.normal(size=(N, N)) + 1j * rng.normal(size=(N, N)))

    a0 = mat(1.0)
    hop = {(0,) * d: (a0 + a0.conj().T) / 2}
    for i in range(d):
        R = [0] * d
        R[i] = 1
        hop[tuple(R)] = mat(0.5)
    if d > 1:
        hop[(1, 1) + (0,) * (d - 2)] = mat(0.2)
    if d > 2:
        hop[(0, 1, 1)] = mat(0.2)
    return TightBindingModel.from_hoppings(hop, add_conjugates=True, name=f"random_N{N}_d{d}")


MODELS = {
    "pt_tilted_4band": (lambda: library.pt_tilted_4band(), 2, 1.0),  # degenerate everywhere
    "mnbi2te4_bilayer": (lambda: library.mnbi2te4_bilayer(), 2, 0.1),  # degenerate (PT)
    "tilted_dirac_2band": (lambda: library.tilted_dirac_2band(), 2, 1.0),
    "asymmetric_chain": (lambda: library.asymmetric_chain(), 1, 1.0),  # 1D
    "random_N3_d1": (lambda: _random_tb(3, 1, 1), 1, 1.0),
    "random_N3_d2": (lambda: _random_tb(3, 2, 2), 2, 1.0),
    "random_N3_d3": (lambda: _random_tb(3, 3, 3), 3, 1.0),  # 3D
    "random_N2_d3": (lambda: _random_tb(2, 3, 4), 3, 1.0),  # 3D two-band
}


@pytest.fixture(scope="module", params=list(MODELS))
def case(request):
    factory, d, scale = MODELS[request.param]
    model = factory()
    k = scale * np.random.default_rng(11).normal(size=(120, d))
    return request.param, model, k


# ------------------------------------------------------------------ straightforward formulas


def _trace_pairs(x, y):
    return np.einsum("...np,...pn->...n", x, y)


def _ref_velocity_derivative(b):
    v, f = b.v, b.inv_de[:, None]
    left = (v * f)[:, :, None] @ v[:, None, :]
    right = v[:, None, :] @ (v * f.swapaxes(-1, -2))[:, :, None]
    return b.w + left + right


def _ref_pair_product(b):
    v = b.v
    return v[:, :, None] * v[:, None, :].swapaxes(-1, -2) * (b.inv_de**2)[:, None, None]


def _ref_third(b):
    v, w, f = b.v, b.w, b.inv_de
    dv = _ref_velocity_derivative(b)
    vel = np.diagonal(v, axis1=-2, axis2=-1).real
    vc = v[:, None, None, :]
    term_u = np.diagonal(b.u, axis1=-2, axis2=-1).real
    term_w = 2 * _trace_pairs(vc * f[:, None, None, None], w[:, :, :, None]).real
    dv_ac = np.moveaxis(dv, 1, 2)
    va, vb = v[:, :, None, None], v[:, None, :, None]
    fp = f[:, None, None, None]
    term_dv = 2 * _trace_pairs(dv_ac[:, :, None] * fp, vb).real + 2 * _trace_pairs(va * fp, dv_ac[:, None, :]).real
    delta = vel[:, :, :, None] - vel[:, :, None, :]
    term_e = -2 * _trace_pairs(va * ((f**2)[:, None] * delta)[:, None, None], vb).real
    return b.subspace_average(term_u + term_w + term_dv + term_e)


def _ref_pair_product_derivative(b):
    v, f = b.v, b.inv_de
    dv = _ref_velocity_derivative(b)
    vel = np.diagonal(v, axis1=-2, axis2=-1).real
    delta = vel[:, :, :, None] - vel[:, :, None, :]
    va, vbT = v[:, None, :, None], v[:, None, None, :].swapaxes(-1, -2)
    dva, dvbT = dv[:, :, :, None], dv[:, :, None, :].swapaxes(-1, -2)
    term = (dva * vbT + va * dvbT) * (f**2)[:, None, None, None]
    term -= 2 * va * vbT * (delta * f[:, None] ** 3)[:, :, None, None]
    return term.sum(-1)


def _references(b):
    P = _ref_pair_product(b)
    dP = _ref_pair_product_derivative(b)
    return {
        "velocity_derivative": (geometry.velocity_derivative, _ref_velocity_derivative(b)),
        "metric": (geometry.quantum_metric, b.subspace_average(P.real.sum(-1))),
        "curvature": (geometry.berry_curvature, b.subspace_average(-2.0 * P.imag.sum(-1))),
        "normalized_metric": (geometry.energy_normalized_metric,
                              b.subspace_average((P.real * b.inv_de[:, None, None]).sum(-1))),
        "inverse_mass": (geometry.inverse_mass,
                         b.subspace_average(np.diagonal(_ref_velocity_derivative(b), axis1=-2, axis2=-1).real)),
        "third_derivative": (geometry.energy_third_derivative, _ref_third(b)),
        "metric_dipole": (geometry.quantum_metric_dipole, b.subspace_average(dP.real)),
        "curvature_dipole": (geometry.berry_curvature_dipole, b.subspace_average(-2.0 * dP.imag)),
    }


def _close(actual, expected, what, rtol=1e-12, floor=1e-300):
    assert actual.shape == expected.shape, what
    scale = max(float(np.abs(expected).max()), floor)
    err = float(np.abs(actual - expected).max())
    assert err <= rtol * scale, f"{what}: max error {err:.3g} vs scale {scale:.3g}"


# ------------------------------------------------------------------ tests


def test_geometry_fast_paths_match_straightforward_formulas(case):
    name, model, k = case
    ref_bands = Bands.from_model(model, k, order=3)
    refs = _references(ref_bands)
    # Ω and ∂Ω vanish identically with PT symmetry (and in 1D): measured against g and ∂g
    floors = {"curvature": np.abs(refs["metric"][1]).max(), "curvature_dipole": np.abs(refs["metric_dipole"][1]).max()}
    for quantity, (fast, expected) in refs.items():
        b = Bands.from_model(model, k, order=3)  # fresh chunk: no shared cache
        _close(fast(b), expected, f"{name} {quantity}", floor=floors.get(quantity, 1e-300))


def test_lazy_rotation_and_diagonals(case):
    """v, w, u rotated on demand equal V† ∂H V; diagonal(o) equals the diagonal of the full tensor."""
    from qgeom.bands import derivative_block
    from qgeom.eigenbasis import symmetric_combos

    name, model, k = case
    b = Bands.from_model(model, k, order=3)
    d = model.dim
    block = derivative_block(model, k, 3)
    V = b.vectors
    for order, full in ((1, b.v), (2, b.w), (3, b.u)):
        start = 1 + sum(len(symmetric_combos(d, o)) for o in range(1, order))
        for i, combo in enumerate(symmetric_combos(d, order)):
            expected = V.conj().swapaxes(-1, -2) @ block[:, :, start + i] @ V
            _close(full[(slice(None),) + combo], expected, f"{name} order {order} {combo}")
    for order in (1, 2, 3):
        fresh = Bands.from_model(model, k, order=3)  # diagonal before any rotation
        full = (b.v, b.w, b.u)[order - 1]
        expected = np.stack([np.diagonal(full[(slice(None),) + c], axis1=-2, axis2=-1).real
                             for c in symmetric_combos(d, order)], axis=1)
        _close(fresh.diagonal(order), expected, f"{name} diagonal({order})")
    assert Bands.from_model(model, k, order=2).u is None


@pytest.mark.parametrize("df", E.DRUDE_FORMS)
@pytest.mark.parametrize("gf", E.GEOMETRIC_FORMS)
@pytest.mark.parametrize("kf", E.KINETIC_FORMS)
def test_fast_integrands_match_reference(case, df, gf, kf):
    """`fast_raw_integrands` (closed form for two bands, general otherwise) against `raw_integrands`, on
    Bands of the order the forms need (1 for the integrated-by-parts forms: no ∂²H at all)."""
    name, model, k = case
    comps = component_indices(parse_components("all", model.dim))
    order = E.derivative_order(df, gf, kf)
    assert order == (3 if kf == "third_derivative" else 1 if (df, gf) == ("velocity_cubed", "metric_by_parts") else 2)
    forms = dict(geometric_form=gf, kinetic_form=kf, drude_form=df)
    ref = raw_integrands(Bands.from_model(model, k, order=3), comps, **forms)
    fast = fast_raw_integrands(Bands.from_model(model, k, order=order), comps, **forms)
    assert ref.keys() == fast.keys()
    scale = max(np.abs(x).max() for x, _ in ref.values())
    for key in ref:
        assert ref[key][1] == fast[key][1]
        np.testing.assert_allclose(fast[key][0], ref[key][0], rtol=0, atol=1e-12 * scale, err_msg=f"{name} {key}")


def test_two_band_closed_form_used_and_falls_back_on_degeneracy():
    model = library.tilted_dirac_2band()
    A, B, C = (np.asarray(x) for x in component_indices(parse_components("all", 2)))
    k = np.random.default_rng(5).normal(size=(50, 2))
    b = Bands.from_model(model, k, order=3)
    assert two_band_per_band(b, A, B, C, True, True) is not None
    assert "v" not in b.__dict__  # no eigenbasis rotation needed
    # a k-point where the gap closes (m = 0 Dirac point at k = 0): general path with subspace averages
    gapless = library.tilted_dirac_2band(m=0.0)
    kk = np.vstack([np.zeros((1, 2)), k])
    assert two_band_per_band(Bands.from_model(gapless, kk, order=3), A, B, C, True, True) is None
    assert two_band_per_band(Bands.from_model(library.pt_tilted_4band(), k, order=3), A, B, C, True, True) is None


def test_expansion_both_paths_agree_on_two_band_grid():
    """Whole expansion: closed-form chunks vs the general path forced on the same grid."""
    model = library.tilted_dirac_2band()
    mu = np.linspace(-1.0, 1.0, 7)
    kw = dict(components="all", mu=mu, temperature=0.05, grid=40, mechanisms=["fermionic_bath", "constant_gamma", "rta"],
              rta=(1.0, 0.5), progress=False)
    fast = E.expansion(model, **kw)["sigma"].values
    original = two_band.two_band_per_band
    try:
        two_band.two_band_per_band = lambda *a, **k: None
        general = E.expansion(model, **kw)["sigma"].values
    finally:
        two_band.two_band_per_band = original
    np.testing.assert_allclose(fast, general, rtol=0, atol=1e-12 * np.abs(general).max())


def test_velocity_cubed_is_a_subspace_trace_at_a_crossing(rng, rotate):
    """At an exact crossing v^a v^b v^c is Re Tr_D[v^a v^b v^c]/|D| (the eigenvalues of P v P: the bands
    the crossing continues into), invariant under rotations within D — not the cube of the averaged
    velocity. Tilted Dirac cone at k = 0: v^x = t + σx, so along x the bands leave with t ± 1."""
    t = 0.4
    model = library.tilted_dirac_2band(m=0.0, tilt=t)
    comps = component_indices(parse_components(["xxx", "xyy", "yxy"], 2))
    forms = dict(drude_form="velocity_cubed", geometric_form="metric_by_parts", kinetic_form="velocity_cubed")
    b = Bands.from_model(model, np.array([[0.0, 0.0], [0.3, -0.2]]), order=1)
    assert b.labels[0, 1] == 0 and b.labels[1, 1] == 1  # degenerate at k = 0 only
    out = fast_raw_integrands(b, comps, **forms)
    expected = {"xxx": ((t + 1) ** 3 + (t - 1) ** 3) / 2, "xyy": t, "yxy": t}  # per band at k = 0
    for i, label in enumerate(expected):
        np.testing.assert_allclose(out["drude"][0][0, i], 0.25 * expected[label], rtol=1e-12, err_msg=label)
        np.testing.assert_allclose(out["kin"][0][0, i], E.KINETIC_PREFACTOR * expected[label], rtol=1e-12)
    # the limit along x: Σ_n v_n³ of the two bands just off the crossing
    near = Bands.from_model(model, np.array([[1e-7, 0.0]]), order=1)
    vx = np.diagonal(near.v[0, 0]).real
    np.testing.assert_allclose(np.sum(vx ** 3) / 2, expected["xxx"], rtol=1e-6)
    for _ in range(3):  # any basis of the degenerate pair
        rb, _ = rotate(b, rng)
        again = fast_raw_integrands(rb, comps, **forms)
        np.testing.assert_allclose(again["drude"][0], out["drude"][0], rtol=0, atol=1e-13)
