"""`dc.regrouping`: the per-band sums of a finer grouping from the pair sums a coarser one's evaluation
already has, plus the terms of the pairs it joins (their own and their three-band terms through D_c v^a),
against evaluating the finer grouping on its own — in both branches of `pair_changes_cheaper`."""

from pathlib import Path

import numpy as np
import pytest

from qgeom.bands import Bands
from qgeom.dc import regrouping, sums_over_states
from qgeom.dc.fermi_surface_sums import FermiSurfaceSums, integrands
from qgeom.kspace import make_grid
from qgeom.models.wannier90 import from_wannier90

GAAS = Path(__file__).resolve().parents[2] / "examples" / "GaAs"
COMPS = tuple(np.array(x) for x in ([0, 2, 1, 0], [1, 0, 1, 0], [2, 0, 1, 0]))
DEFAULT = dict(geometric_form="metric_dipole", kinetic_form="third_derivative")
BY_PARTS = dict(geometric_form="metric_by_parts", kinetic_form="velocity_cubed", drude_form="velocity_cubed")
MIXED = dict(geometric_form="metric_by_parts", kinetic_form="velocity_cubed")  # the seed Drude alone needs ∂²H
ORDER = {"default": 3, "mixed": 2, "by_parts": 1}


@pytest.fixture(scope="module")
def gaas_chunk():
    m = from_wannier90(GAAS)
    k, w = make_grid(m, 5).points(0, 125)
    return m, k, w


@pytest.mark.parametrize("forms", [DEFAULT, MIXED, BY_PARTS], ids=list(ORDER))
@pytest.mark.parametrize("sparse", [True, False], ids=["changes", "evaluated"])
@pytest.mark.parametrize("lower, tol", [(0.02, 0.3), (1e-3, 0.05)])
def test_finer_grouping_equals_its_own_evaluation(gaas_chunk, monkeypatch, forms, sparse, lower, tol):
    """GaAs (spin-orbit pairs split by meV to 0.3 eV: subspaces of 1 to 6 states, some decoupled within,
    `exact_same`): every integrand of the finer grouping, from the coarser one's evaluation plus the joined
    pairs' terms (or evaluated again), equals the finer grouping evaluated alone; the coarser one's are
    unchanged."""
    m, k, _ = gaas_chunk
    monkeypatch.setattr(sums_over_states, "pair_changes_cheaper", lambda *args: sparse)
    order = ORDER["default" if forms is DEFAULT else "mixed" if forms is MIXED else "by_parts"]
    fine = Bands.from_model(m, k, order=order).regrouped(lower)
    coarse = fine.regrouped(tol)
    assert (coarse.same & ~fine.same).any(axis=(1, 2)).mean() > 0.3  # pairs joined at many k-points
    bands = coarse.fermi_surface_bands([7.6, 8.4], 0.05)
    got_coarse, got_fine = integrands(coarse, COMPS, bands=bands, finer=fine, **forms)
    for got, b in ((got_coarse, coarse), (got_fine, fine)):
        want, band_major, _ = integrands(b, COMPS, bands=bands, **forms)
        assert band_major and set(got) == set(want)
        for name, (x, p) in want.items():
            assert got[name][1] == p
            np.testing.assert_allclose(got[name][0], x, rtol=0, atol=1e-12 * np.abs(x).max(), err_msg=name)


def test_changes_chosen_where_few_states_are_touched(gaas_chunk):
    """The cost rule, as measured on the benchmark's GaAs sums (in-plane components, d = 2; a 14-band
    window): at kT = 50 meV most states have a partner within kT and the finer grouping is evaluated again;
    pairs joined between 1 and 3 meV (a few per k-point) take the changes."""
    m, k, _ = gaas_chunk
    fine = Bands.from_model(m, k, order=3).regrouped(1e-3)
    many, few = fine.regrouped(0.05).same & ~fine.same, fine.regrouped(3e-3).same & ~fine.same
    assert many.any(axis=2).mean() > 0.5 > 0.1 > few.any(axis=2).mean() > 0
    assert not regrouping.pair_changes_cheaper(many, slice(2, 16), 2, True)
    assert regrouping.pair_changes_cheaper(few, slice(2, 16), 2, True)


def test_grouped_sums_equal_regrouping_the_whole_chunk(gaas_chunk):
    """`FermiSurfaceSums` (through `near_degeneracy.grouped_sums` and `_both`): the sums grouped below the
    resolution equal those of the whole chunk regrouped, and near:NAME the ungrouped minus the grouped sums
    (both evaluated alone; to 1e-10 of the larger of the two scales: the ungrouped sums hold the 1/Δ³ terms of
    Kramers pairs split by ~1e-4 eV, so the two ways round off differently)."""
    m, k, w = gaas_chunk
    b = Bands.from_model(m, k, order=3)
    func = FermiSurfaceSums(COMPS[:3], [7.6, 8.2], 0.025, "metric_dipole", "third_derivative", group_tol=2e-3)
    got = func(b, w)
    raw = func._sums(b, w)
    grouped = func._sums(Bands.from_model(m, k, order=3).regrouped(2e-3), w)
    for name, ref in grouped.items():
        scale = np.abs(ref).max()
        np.testing.assert_allclose(got[name], ref, rtol=0, atol=1e-12 * scale)
        near = raw[name] - ref
        np.testing.assert_allclose(got["near:" + name], near, rtol=0, atol=1e-10 * max(scale, np.abs(near).max()))


@pytest.mark.parametrize("coupling", [0.0, 2e-3])
@pytest.mark.parametrize("sparse", [True, False], ids=["changes", "evaluated"])
def test_two_copies_of_gaas(monkeypatch, coupling, sparse):
    """Two copies of GaAs (32 bands): uncoupled, every state exactly degenerate with its copy (grouped at
    1e-6 but kept apart by `exact_same`: they do not couple); coupled by 2 meV, split pairs with 1/Δ³ ~ 1e8
    eV⁻³ on the finer side. The finer grouping's integrands equal its own evaluation to 1e-12."""
    from qgeom.models.tight_binding import TightBindingModel
    from qgeom.models.wannier90 import OrbitalPositionModel

    g = from_wannier90(GAAS)
    base, N = g.base, g.nbands
    t = np.zeros((len(base.R), 2 * N, 2 * N), complex)
    t[:, :N, :N] = t[:, N:, N:] = base.t
    X = np.random.default_rng(1).normal(size=(N, N, 2)) @ [1, 1j]
    zero = np.flatnonzero((base.R == 0).all(axis=1))[0]
    t[zero, :N, N:], t[zero, N:, :N] = coupling * X, coupling * X.conj().T
    tb = TightBindingModel(base.R, t, lattice=base.lattice, energy_unit=base.energy_unit, length_unit=base.length_unit)
    m = OrbitalPositionModel(tb, np.concatenate([g.positions, g.positions]))
    monkeypatch.setattr(sums_over_states, "pair_changes_cheaper", lambda *args: sparse)
    fine = Bands.from_model(m, make_grid(m, 4).points(0, 64)[0], order=3).regrouped(1e-6)
    coarse = fine.regrouped(0.05)
    bands = coarse.fermi_surface_bands([7.6, 8.4], 0.05)
    got_coarse, got_fine = integrands(coarse, COMPS, bands=bands, finer=fine, **DEFAULT)
    for got, b in ((got_coarse, coarse), (got_fine, fine)):
        for name, (x, p) in integrands(b, COMPS, bands=bands, **DEFAULT)[0].items():
            np.testing.assert_allclose(got[name][0], x, rtol=0, atol=1e-12 * np.abs(x).max(), err_msg=name)
