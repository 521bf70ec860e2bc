"""The DC default symmetry="neumann": the group a model keeps to a Wannierization's accuracy,
applied as Neumann zeros on the full-grid result and nothing else."""

import json
import warnings
from pathlib import Path

import numpy as np
import pytest

from qgeom import dc
from qgeom.models import from_wannier90, mnbi2te4_bilayer
from qgeom.models.onsite import with_exchange_field
from qgeom.symmetry import from_symbol, restrict
from qgeom.symmetry.detect import detect_at_model_accuracy

from .models import symmetric_model

GAAS = Path(__file__).resolve().parents[2] / "examples" / "GaAs"
# the integrated-by-parts Γ⁰ forms: the default per-band forms are not gauge invariant at the k-points
# where the cubic group forces a degeneracy onto this grid (docs/symmetry.md), so their raw
# "forbidden" values are not rounding noise there — the default zeroes them too
KW = dict(components="xyz,xxx,yzz,zzz", mu=[-0.4, 0.5], temperature=0.4, grid=6, progress=False, error_tol=1e9,
          geometric_form="metric_by_parts", kinetic_form="velocity_cubed")


def test_exactly_symmetric_model_changes_by_rounding_only():
    model = symmetric_model(restrict(from_symbol("m'-3'"), 3), np.eye(3))
    default = dc.expansion(model, **KW)
    raw = dc.expansion(model, symmetry=None, **KW)
    wedge = dc.expansion(model, symmetry="m'-3'", **KW)
    forbidden = default.forbidden.values[None, :, :, None] & np.ones(default.sigma.shape, bool)
    a, b = default.sigma.values, raw.sigma.values
    # per term; a term the group forbids entirely is rounding noise next to the others
    scale = np.maximum(np.abs(b).max(axis=(0, 2, 3), keepdims=True), 1e-2 * np.abs(b).max())
    assert np.all(a[forbidden] == 0.0) and np.all(np.abs(b[forbidden]) <= 1e-12 * np.broadcast_to(scale, b.shape)[forbidden])
    np.testing.assert_array_equal(a[~forbidden], b[~forbidden])  # allowed components: the full-grid sums themselves
    np.testing.assert_array_equal(default.forbidden.values, wedge.forbidden.values)  # the same Neumann zeros
    info = json.loads(default.attrs["symmetry"])
    assert info["symmetry_source"].startswith("neumann") and len(info["symmetry_operations"]) == 24


def test_a_physical_perturbation_is_not_erased():
    """GaAs keeps time reversal to its Wannierization's accuracy; 1 meV of exchange field breaks it
    beyond that (Berry curvature): the default must not impose T on the magnet."""
    gaas = from_wannier90(GAAS)
    ops, breaking = detect_at_model_accuracy(gaas)
    assert any(g.time_reversal and np.allclose(g.R, np.eye(3)) for g in ops) and "1'" in breaking
    magnet, _ = detect_at_model_accuracy(with_exchange_field(gaas, 1e-3, spinor_ordering="interleaved"))
    assert not any(g.time_reversal and np.allclose(g.R, np.eye(3)) for g in magnet)


def test_continuum_models_and_other_observables_take_no_default_symmetry():
    model = mnbi2te4_bilayer()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ds = dc.expansion(model, components="xyy", mu=[0.01], temperature=0.01, grid=(8, 8), progress=False)
        obs = dc.expansion(model, observable="layer_polarization", components="xy", mu=[0.01], temperature=0.01,
                           grid=(8, 8), progress=False)
    assert ds.attrs["symmetry"].startswith("none") and "forbidden" not in ds and "forbidden" not in obs


def test_optical_default_zeroes_the_forbidden_field_components_only():
    from qgeom.kspace import make_grid
    from qgeom.optical import response
    from qgeom.optical.terms import PUBLIC_KINDS

    model = symmetric_model(restrict(from_symbol("-43m"), 3), np.eye(3))
    kw = dict(kinds=list(PUBLIC_KINDS), omega=[0.4, 1.1], mu=0.2, temperature=0.1, tau=5.0, broadening=0.2,
              progress=False, error_tol=1e9, grid=make_grid(model, 6))
    default = response(model, "current_z", **kw)
    raw = response(model, "current_z", symmetry=None, **kw)
    wedge = response(model, "current_z", symmetry="-43m", **kw)
    forbidden = default.forbidden.values
    np.testing.assert_array_equal(forbidden, wedge.forbidden.values)
    assert forbidden.any() and not forbidden.all()
    a, b = default.chi.values, raw.chi.values  # [kind, alpha, beta, omega]
    assert np.all(a[:, forbidden] == 0) and np.abs(b[:, forbidden]).max() <= 1e-10 * np.abs(b).max()
    # allowed components: the model's values, less the part the group forbids (−43m: the circular, rounding here)
    np.testing.assert_allclose(a[:, ~forbidden], b[:, ~forbidden], rtol=0, atol=1e-12 * np.abs(b).max())


def test_components_allowed_only_by_the_wannier_models_breaking_are_named():
    """The raw GaAs keeps only mm2 × {1, T} of its crystal's −43m × {1, T} (GaAs.win atoms): the BCD it
    still has (xyz, zxy) is the model's C3 breaking — set to 0, flagged in `model_breaking_only` and on the
    terminal (symmetry=None keeps it). The T_d-symmetrized model and a perturbed one (on-site term) get no
    notice."""
    from qgeom.models.symmetrize import restore_time_reversal, symmetrize_point_group
    from qgeom.symmetry import SymmetryWarning

    gaas = from_wannier90(GAAS)
    kw = dict(components=["xyz", "xxx", "zxy"], mu=[7.6, 8.2], temperature=0.025, grid=6, progress=False)
    with pytest.warns(SymmetryWarning, match=r"crystal's point group from GaAs.win is -43m.*bcd\[xyz, zxy\]"):
        ds = dc.expansion(gaas, **kw)
    flagged = ds.model_breaking_only.sel(term="bcd").values
    assert flagged.tolist() == [True, False, True] and ds.model_breaking_only.sum() == 2
    raw = dc.expansion(gaas, symmetry=None, **kw).sigma.sel(term="bcd", component="xyz").values
    assert np.abs(raw).max() > 0 and np.all(ds.sigma.sel(term="bcd").values == 0)
    assert json.loads(ds.attrs["symmetry"])["allowed_only_by_model_breaking"] == {"bcd": ["xyz", "zxy"]}
    td = symmetrize_point_group(restore_time_reversal(gaas), "-43m", representation="fitted")
    exchange = with_exchange_field(gaas, 1e-3, spinor_ordering="interleaved")
    assert "crystal_structure" in td.parameters and "crystal_structure" not in exchange.parameters
    with warnings.catch_warnings():
        warnings.simplefilter("error", SymmetryWarning)
        assert "model_breaking_only" not in dc.expansion(td, **kw)


def test_a_magnet_is_held_to_the_inversion_its_structure_keeps():
    """bcc Fe (wt.in: one atom, an inversion centre): any magnetic order keeps inversion, which forbids every
    second-order DC term; the Wannier model breaks it by ~30 meV: at default settings every term is 0 and
    flagged as the model's breaking (symmetry=None keeps the model's values)."""
    from qgeom.symmetry import SymmetryWarning

    fe = from_wannier90(GAAS.parent / "Fe")
    kw = dict(components=["xyz", "xxx"], mu=[fe.parameters["fermi_energy"]], temperature=0.025, grid=4,
              progress=False)
    with pytest.warns(SymmetryWarning, match=r"inversion mapping every atom onto itself.*drude[/a-z]*\[xyz, xxx\]"):
        ds = dc.expansion(fe, **kw)
    assert ds.model_breaking_only.sel(term="drude").values.all() and ds.forbidden.values.all()
    assert np.all(ds.sigma.values == 0)
    assert np.abs(dc.expansion(fe, symmetry=None, **kw).sigma.values).max() > 0


def test_a_monolayer_gets_its_crystal_group_in_its_own_frame():
    """1T′-MoS₂ (2D; atoms of wannier90.win rotated into the layer's frame): with time reversal restored
    and no field, the crystal's inversion zeroes the BCD the model has from its own inversion breaking; a
    displacement field (an on-site term) removes the crystal record, and its BCD is the model's."""
    from qgeom.models.symmetrize import restore_time_reversal
    from qgeom.models.two_dimensional import with_displacement_field
    from qgeom.symmetry import SymmetryWarning

    mos2 = restore_time_reversal(from_wannier90(GAAS.parent / "MoS2-1Tp"))
    kw = dict(components=["yxx"], mu=[-3.786], temperature=0.025, grid=12, progress=False)
    with pytest.warns(SymmetryWarning, match="wannier90.win") as record:
        zero_field = dc.expansion(mos2, **kw)
    message = " ".join(str(w.message) for w in record)
    # named by the symbol symmetry= takes for this 2D model, with its plane-group name; the remedy that works for
    # this monolayer first (its Wannier centres are 0.2 Å off the positions the layer group needs, which the
    # real-space symmetrization, also named, would refuse)
    # the crystal's 2/m (P2₁/m) acts on the plane as mm2: said as such, not as the crystal's point group
    assert ("from wannier90.win, as it acts on the layer, is mm21' (acting in the plane as the 2D point group 2mm1'; "
            "8 operations, 4 with time reversal)") in message
    assert message.index("--symmetry mm2 --symmetry-tol") < message.index("symmetrize_point_group(model, 'mm2'")
    assert "Wannier centres sit where" in message
    assert zero_field.attrs["symmetry"].count("2mm") >= 1
    assert zero_field.model_breaking_only.sel(term="bcd").values.all()
    assert np.all(zero_field.sigma.values == 0)
    assert np.abs(dc.expansion(mos2, symmetry=None, **kw).sigma.sel(term="bcd").values).max() > 0
    assert "crystal_structure" in with_displacement_field(mos2, 0.0).parameters
    field = dc.expansion(with_displacement_field(mos2, 0.1), **kw)
    assert "model_breaking_only" not in field and np.abs(field.sigma.sel(term="bcd").values).max() > 0


def test_restoring_time_reversal_separates_wannierization_error_from_a_magnet():
    """What restoring time reversal removes, max |ΔH(R)|: 1T′-MoS₂ (bands break T by 2.3e-3, beyond
    MODEL_ACCURACY) 0.014 eV, GaAs 1.5e-4 eV, bcc Fe its exchange field 1.36 eV; nothing measured for a
    model without its files' atoms (an on-site exchange term drops them: a user's magnet stays one)."""
    from qgeom.symmetry.detect import NONMAGNETIC_CHANGE_EV, time_reversal_restoring_change

    mos2 = from_wannier90(GAAS.parent / "MoS2-1Tp")
    change = {name: time_reversal_restoring_change(from_wannier90(GAAS.parent / name)) for name in ("GaAs", "Fe")}
    change["MoS2"] = time_reversal_restoring_change(mos2)
    assert change["GaAs"] == pytest.approx(1.45e-4, rel=0.05) and change["MoS2"] == pytest.approx(0.0144, rel=0.05)
    assert change["Fe"] == pytest.approx(1.36, rel=0.05)
    assert max(change["GaAs"], change["MoS2"]) < NONMAGNETIC_CHANGE_EV / 5 and change["Fe"] > 10 * NONMAGNETIC_CHANGE_EV
    assert time_reversal_restoring_change(with_exchange_field(mos2, 1e-3)) is None


def test_no_costly_time_reversal_fit_in_a_default_run(monkeypatch):
    """GaAs's spinor sp³ hybrids need U fitted to the hoppings; beyond FIT_BUDGET (a large hybrid basis) the
    default makes no inference instead of spending minutes on the fit. Known spin orders need no fit."""
    import importlib

    detect = importlib.import_module("qgeom.symmetry.detect")  # the package re-exports a function of that name
    monkeypatch.setattr(detect, "FIT_BUDGET", 1.0)
    assert detect.time_reversal_restoring_change(from_wannier90(GAAS)) is None
    assert detect.time_reversal_restoring_change(from_wannier90(GAAS.parent / "MoS2-1Tp")) == pytest.approx(0.0144, rel=0.05)


def test_a_nonmagnetic_crystal_whose_wannier_model_breaks_time_reversal_gets_its_zeros():
    """The raw 1T′-MoS₂ model breaks time reversal (and inversion) by its Wannierization's error only: the
    crystal is non-magnetic and centrosymmetric, so every second-order DC term is 0 at default settings, named
    as allowed only by the model's breaking, with the reason in the warning and the attributes; symmetry=None
    keeps the model's values. The same model in a 1 meV exchange field is a non-magnetic crystal in that field:
    its magnetic group keeps inversion (a uniform moment is even under it), so every term stays 0 by default,
    named by that group; symmetry=None keeps the model's values."""
    from qgeom.symmetry import SymmetryWarning

    mos2 = from_wannier90(GAAS.parent / "MoS2-1Tp")
    kw = dict(components=["xxy", "yyy", "yxx"], mu=[-3.786, -0.1], temperature=0.025, grid=12, progress=False,
              error_tol=1e9)
    with pytest.warns(SymmetryWarning, match="non-magnetic"):
        ds = dc.expansion(mos2, **kw)
    assert np.all(ds.sigma.values == 0) and ds.model_breaking_only.values.any()
    info = json.loads(ds.attrs["symmetry"])
    assert "non-magnetic" in info["time_reversal"] and info["symmetry_group"].startswith("1 ")
    raw = dc.expansion(mos2, symmetry=None, **kw).sigma
    for term in ("drude", "bcd", "geometric"):
        assert np.abs(raw.sel(term=term).values).max() > 0
    magnet = with_exchange_field(mos2, 1e-3)
    with pytest.warns(SymmetryWarning, match="non-magnetic crystal's magnetic point group from wannier90.win in an "
                                             "exchange field"):
        zeros = dc.expansion(magnet, **kw).sigma
    assert np.all(zeros.values == 0)
    own = dc.expansion(magnet, symmetry=None, **kw).sigma
    assert np.abs(own.sel(term="drude").values).max() > 0.1 * np.abs(raw.sel(term="drude").values).max()


def test_a_displacement_field_keeps_the_files_time_reversal_record_and_an_exchange_field_drops_it():
    """The raw 1T′-MoS₂ in a displacement field (a T-even on-site term, no crystal group any more): its T
    breaking is still the files' Wannierization error, so the default zeroes the T-odd terms (Drude, Γ⁰) and
    keeps the BCD the field allows — the model's own sum, within 1e-2 of the T-restored model's; an exchange
    field on top (T-odd) drops the record, and its T-odd terms stay."""
    from qgeom.models.symmetrize import restore_time_reversal
    from qgeom.models.two_dimensional import with_displacement_field
    from qgeom.symmetry import SymmetryWarning
    from qgeom.symmetry.detect import time_reversal_restoring_change

    raw = from_wannier90(GAAS.parent / "MoS2-1Tp")
    field = with_displacement_field(raw, 0.1)
    assert "crystal_structure" not in field.parameters and field.parameters["time_reversal_reference"] == "wannier90.win"
    assert time_reversal_restoring_change(field) == pytest.approx(time_reversal_restoring_change(raw), rel=0.2)
    kw = dict(components=["yxx", "xxy", "yyy"], mu=[-3.786, -3.586], temperature=0.025, grid=12, progress=False,
              error_tol=1e9)
    with pytest.warns(SymmetryWarning, match="from wannier90.win in a displacement field, as it acts on the layer, is m111' .*changes its hoppings by"):
        ds = dc.expansion(field, **kw)
    own = dc.expansion(field, symmetry=None, **kw).sigma
    restored = dc.expansion(with_displacement_field(restore_time_reversal(raw), 0.1), **kw).sigma
    for term in ("drude", "geometric", "kinetic", "intrinsic"):
        assert np.all(ds.sigma.sel(term=term).values == 0) and np.abs(own.sel(term=term).values).max() > 0
    bcd = ds.sigma.sel(term="bcd").values
    np.testing.assert_array_equal(bcd, own.sel(term="bcd").values)
    np.testing.assert_allclose(bcd, restored.sel(term="bcd").values, atol=1e-2 * np.abs(bcd).max())
    magnet = with_exchange_field(field, 1e-3)
    assert "time_reversal_reference" not in magnet.parameters and time_reversal_restoring_change(magnet) is None
    # its group in both fields keeps the mirror x → −x only with T: the Drude with an odd number of x stays
    assert np.abs(dc.expansion(magnet, **{**kw, "components": ["xxx", "xyy"]}).sigma.sel(term="drude").values).max() > 0


def test_a_displacement_field_keeps_the_crystals_operations_that_fix_the_normal():
    """1T′-MoS₂ (P2₁/m) in a vertical field keeps the mirror x → −x of its structure (the field lies in it) and
    loses inversion and the 2₁ axis along x (they reverse the normal): the default applies m × {1, T}, which
    forbids the BCD components with an odd number of x (xyy, yxy: the model's own values, its mirror breaking,
    are set to 0 and recorded) and keeps yxx, xxy as the model's sums. An exchange field along z on top keeps
    the mirror only with T: the Drude with an even number of x and the BCD with an odd one are forbidden."""
    import json

    from qgeom.models.onsite import FIELD_CRYSTAL
    from qgeom.models.symmetrize import restore_time_reversal
    from qgeom.models.two_dimensional import with_displacement_field
    from qgeom.symmetry.detect import field_crystal_group, magnetic_field_crystal_group

    field = with_displacement_field(restore_time_reversal(from_wannier90(GAAS.parent / "MoS2-1Tp")), 0.1)
    assert sorted(g.label() for g in field_crystal_group(field)) == ["1", "m[1,0,0]"]
    kw = dict(components=["yxx", "xxy", "xyy", "yxy"], mu=[-3.786], temperature=0.025, grid=12, progress=False,
              error_tol=1e9)
    ds = dc.expansion(field, **kw)
    own = dc.expansion(field, symmetry=None, **kw).sigma.sel(term="bcd")
    bcd = ds.sigma.sel(term="bcd")
    odd = ["xyy", "yxy"]
    assert bool(ds.forbidden.sel(term="bcd", component=odd).all())
    assert not ds.forbidden.sel(term="bcd", component=["yxx", "xxy"]).any()
    assert np.all(bcd.sel(component=odd).values == 0) and np.abs(own.sel(component=odd).values).max() > 0
    np.testing.assert_array_equal(bcd.sel(component=["yxx", "xxy"]).values, own.sel(component=["yxx", "xxy"]).values)
    info = json.loads(ds.attrs["symmetry"])
    # m11: the mirror x → −x (a bare m is the mirror z → −z, which keeps every in-plane k); 1': × {1, T}
    assert info["crystal_group"].startswith("m111' ") and set(odd) <= set(info["allowed_only_by_model_breaking"]["bcd"])
    assert info["crystal_structure_from"] == "wannier90.win in a displacement field"
    # an exchange field along z on top: the crystal's magnetic group in both fields, {1, M_x·T}
    magnet = with_exchange_field(field, 0.05)
    assert FIELD_CRYSTAL in magnet.parameters
    assert sorted(g.label() for g in magnetic_field_crystal_group(magnet)) == ["1", "m[1,0,0]'"]
    drude = dc.expansion(magnet, **{**kw, "components": ["yxx", "xxx", "xyy", "yyy"]})
    np.testing.assert_array_equal(drude.forbidden.sel(term="drude").values, [True, False, False, True])
    np.testing.assert_array_equal(drude.forbidden.sel(term="bcd").values, [False, True, True, True])


def test_optical_responses_get_the_crystals_zeros_too():
    """The raw GaAs's current_x response keeps only χ^{x;yz} = χ^{x;zy} of −43m at default settings: the
    xz, zx components it has through its own C3 breaking (the stabilizer of x in the group it keeps
    allows them) are set to 0 and flagged; so is the circular part χ^{x;yz} − χ^{x;zy} (−43m is not
    gyrotropic: no circular photogalvanic current; the model's kramers_injection had it at ~40 % of its
    linear part), flagged as that part only (the linear part of yz stays, and the warning says so);
    symmetry=None keeps them. (Time reversal's zeros, one part of each kind:
    tests/optical/test_time_reversal_parts.py.)"""
    from qgeom.optical import response
    from qgeom.optical.terms import TERMS
    from qgeom.symmetry import SymmetryWarning

    gaas = from_wannier90(GAAS)
    kw = dict(omega=[1.5, 2.5], mu=7.94, temperature=0.025, tau=0.1, grid=4, progress=False, error_tol=1e9)
    with pytest.warns(SymmetryWarning, match=r"crystal's point group from GaAs.win is -43m.*"
                                             r"chi\[xz, yz \(circular part\), zx, zy \(circular part\)\]"):
        ds = response(gaas, "current_x", **kw)
    allowed = np.zeros((3, 3), bool)
    allowed[1, 2] = allowed[2, 1] = True
    np.testing.assert_array_equal(ds.forbidden.values, ~allowed)
    np.testing.assert_array_equal(ds.model_breaking_only.sel(part="real").values, [[0, 0, 1], [0, 0, 0], [1, 0, 0]])
    np.testing.assert_array_equal(ds.model_breaking_only.sel(part="imag").values, [[0, 0, 1], [0, 0, 1], [1, 1, 0]])
    np.testing.assert_array_equal(ds.forbidden_part.sel(part="real").values, ~allowed)
    assert ds.forbidden_part.sel(part="imag").values.all()
    raw = response(gaas, "current_x", symmetry=None, **kw).chi.values  # [kind, alpha, beta, omega]
    chi = ds.chi.values
    assert np.all(chi[:, ~allowed] == 0) and np.abs(raw[:, 0, 2]).max() > 0.1 * np.abs(raw[:, 1, 2]).max()
    np.testing.assert_array_equal(chi[:, 1, 2], chi[:, 2, 1])  # no circular part left
    circular = 0.5 * (raw[:, 1, 2] - raw[:, 2, 1])
    assert np.abs(circular).max() > 0.1 * np.abs(raw[:, 1, 2]).max()
    linear = 0.5 * (raw[:, 1, 2] + raw[:, 2, 1])
    for i, kind in enumerate(ds.kind.values):  # the part time reversal allows (the other is 0: the T zeros)
        part = "imag" if TERMS[str(kind)].time_reversal_forbids == "real" else "real"
        np.testing.assert_allclose(getattr(chi[i, 1, 2], part), getattr(linear[i], part), rtol=1e-14, atol=0)
    assert json.loads(ds.attrs["symmetry"])["allowed_only_by_model_breaking"] == {
        "chi": ["xz", "yz (circular part)", "zx", "zy (circular part)"]}


def test_a_result_the_group_forbids_entirely_needs_no_k_sum(monkeypatch):
    """bcc Fe at default settings: the structure's inversion forbids every second-order DC term, so the result
    is exact zeros without a k-sum (any grid: 200³ here), said in attrs (k_sum, error_estimate) and in the
    model-breaking notice (components named, sizes not computed); symmetry=None still sums the model."""
    import importlib

    from qgeom.symmetry import SymmetryWarning

    module = importlib.import_module("qgeom.dc.expansion")  # qgeom.dc re-exports the function of that name
    fe = from_wannier90(GAAS.parent / "Fe")
    kw = dict(components="all", mu=[9.1839], temperature=0.025, progress=False)

    def no_k_sum(*args, **kwargs):
        raise AssertionError("k-sum of a result the group forbids entirely")

    with monkeypatch.context() as m:
        m.setattr(module, "_k_sums", no_k_sum)
        with pytest.warns(SymmetryWarning, match=r"drude[/a-z]*\[xxx, .*\] \(not computed\)"):
            ds = dc.expansion(fe, grid=200, **kw)
    assert ds.sigma.shape == (2, 5, 27, 1) and np.all(ds.sigma.values == 0) and ds.forbidden.values.all()
    assert np.all(ds.sigma_error.values == 0) and np.all(ds.sigma_near_degenerate.values == 0)
    assert json.loads(ds.attrs["symmetry"])["k_sum"].startswith("skipped")
    assert json.loads(ds.attrs["error_estimate"])["sigma"]["method"].startswith("none: every value is zero")
    assert np.abs(dc.expansion(fe, grid=4, symmetry=None, **kw).sigma.values).max() > 0


def test_an_optical_response_the_group_forbids_entirely_needs_no_k_sum(monkeypatch):
    """The x current of bcc Fe at default settings: inversion (wt.in) forbids every αβ, so χ is exact zeros
    without a k-sum on the default grid; symmetry=None sums the model."""
    import importlib

    from qgeom.optical import response

    module = importlib.import_module("qgeom.optical.response")
    fe = from_wannier90(GAAS.parent / "Fe")
    kw = dict(omega=[1.0, 2.0], mu=9.1839, temperature=0.025, tau=0.1, progress=False)

    def no_k_sum(*args, **kwargs):
        raise AssertionError("k-sum of a response the group forbids entirely")

    with monkeypatch.context() as m:
        m.setattr(module, "_integrate_chi", no_k_sum)
        ds = response(fe, "current_x", **kw)
    assert np.all(ds.chi.values == 0) and ds.forbidden.values.all() and np.all(ds.chi_error.values == 0)
    assert json.loads(ds.attrs["symmetry"])["k_sum"].startswith("skipped")
    assert np.abs(response(fe, "current_x", grid=4, symmetry=None, **kw).chi.values).max() > 0


def test_an_exact_scan_the_group_forbids_entirely_needs_no_k_sum(monkeypatch):
    """dc.exact on bcc Fe at default settings: inversion forbids every component at every Γ, so σ(Γ) is exact
    zeros without the contour k-sums; symmetry=None sums the model."""
    import importlib

    module = importlib.import_module("qgeom.dc.exact")
    fe = from_wannier90(GAAS.parent / "Fe")
    kw = dict(components=["xyy", "xyz"], mu=[9.1839], temperature=0.05, gamma=[0.02, 0.04], progress=False)

    def no_k_sum(*args, **kwargs):
        raise AssertionError("k-sum of a result the group forbids entirely")

    with monkeypatch.context() as m:
        m.setattr(module, "_family_sums", no_k_sum)
        ds = dc.exact(fe, grid=100, **kw)
    assert np.all(ds.sigma.values == 0) and ds.forbidden.values.all() and np.all(ds.sigma_error.values == 0)
    assert json.loads(ds.attrs["symmetry"])["k_sum"].startswith("skipped")
    assert np.abs(dc.exact(fe, grid=3, symmetry=None, **kw).sigma.values).max() > 0


def test_detection_in_batches_of_operations_finds_the_same_group(monkeypatch):
    """The images of the random k-points are evaluated a batch of operations at a time (a 100-orbital model's 96
    cubic candidates would be ~1 GB of eigenvectors at once): one operation per batch finds the same group with the
    same measured breaking as one batch of all."""
    import importlib

    detect = importlib.import_module("qgeom.symmetry.detect")  # the module (the package exports a function so named)
    model = symmetric_model(restrict(from_symbol("m'-3'"), 3), np.eye(3))
    whole = detect_at_model_accuracy(model)
    monkeypatch.setattr(detect, "BATCH_BYTES", 1)
    calls = []
    orig = detect._fingerprint
    monkeypatch.setattr(detect, "_fingerprint", lambda m, k: calls.append(len(k)) or orig(m, k))
    batched = detect_at_model_accuracy(model)
    assert len(batched[0]) == len(whole[0]) == 24 and max(calls) == 6  # one operation's images at a time
    assert [op.key() for op in batched[0]] == [op.key() for op in whole[0]]
    assert batched[1].keys() == whole[1].keys()
    for key in whole[1]:
        np.testing.assert_array_equal(batched[1][key], whole[1][key])
