"""Near-degenerate pairs: grouped below the response's resolution (bands.resolved_tol), with the
diagnostic `sigma_near_degenerate`; GaAs Wannier model (examples/GaAs) symmetry zeros at defaults."""

import json
import warnings
from pathlib import Path

import numpy as np
import pytest

from qgeom import dc
from qgeom.bands import Bands, resolved_tol
from qgeom.models.tight_binding import TightBindingModel
from qgeom.models.symmetrize import restore_time_reversal
from qgeom.models.wannier90 import OrbitalPositionModel, from_wannier90

GAAS = Path(__file__).resolve().parents[1] / "examples" / "GaAs"
TERMS = ["drude", "bcd", "geometric", "kinetic"]
# symmetry=None: these tests measure the model's own values (the default zeroes what the group it
# keeps forbids: test_gaas_defaults_zero_the_time_reversal_odd_terms)
KW = dict(components=["xyz", "xxx", "zxy"], mu=[7.6, 8.2], temperature=0.025, progress=False, symmetry=None)


def _zeeman(model, field: float):
    """GaAs with an on-site ±field splitting of the interleaved spinor components (Wannier90 order): breaks time reversal."""
    base = model.base
    t = base.t.copy()
    t[np.flatnonzero((base.R == 0).all(1))[0]] += np.diag(np.tile([field, -field], model.nbands // 2))
    tb = TightBindingModel(base.R, t, lattice=base.lattice, name="GaAs+Zeeman",
                           energy_unit=base.energy_unit, length_unit=base.length_unit)
    return OrbitalPositionModel(tb, model.positions)


def _term_max(ds):
    s = ds.sigma.sel(mechanism="fermionic_bath")
    return np.array([float(abs(s.sel(term=t)).max()) for t in TERMS])


def test_regrouped_merges_pairs_below_the_tolerance():
    e = np.array([[0.0, 0.001, 0.5, 0.5 + 1e-9]])
    b = Bands(np.zeros((1, 1)), e, np.eye(4)[None] + 0j, np.zeros((1, 1, 4, 4), complex), None, None, degen_tol=1e-6)
    assert b.labels.tolist() == [[0, 1, 2, 2]]
    g = b.regrouped(resolved_tol(1e-6, 0.01))
    assert g.labels.tolist() == [[0, 0, 1, 1]] and g.inv_de[0, 0, 1] == 0 and g.inv_de[0, 0, 2] == pytest.approx(-2.0)
    assert g.v is b.v and b.regrouped(1e-6) is b
    with pytest.raises(Exception, match="resolution"):
        resolved_tol(1e-6, -1.0)


def test_subset_slices_the_chunk():
    """`Bands.subset` (the k-points where a grouping changes, `grouped_sums`): the energies and rotated
    elements of those k-points."""
    from qgeom.kspace import make_grid

    m = from_wannier90(GAAS)
    k = make_grid(m, 4).points(0, 64)[0]
    b = Bands.from_model(m, k, order=3)
    changed = b.regrouping_changes(resolved_tol(b.degen_tol, 0.002))
    assert 0 < changed.sum() < len(k)
    sub = b.subset(np.flatnonzero(changed))
    np.testing.assert_array_equal(sub.energies, b.energies[changed])
    np.testing.assert_array_equal(sub.derivative_rows(), b.derivative_rows()[changed])


@pytest.mark.parametrize("scale", [None, 0.004])
def test_grouped_sums_difference_from_the_changed_k_points_only(scale):
    """`near_degeneracy.grouped_sums` evaluates ungrouped − grouped on the k-points with a pair in the
    window only, and the kept grouping on the others (every k-point once per grouping it needs; the changed
    ones were evaluated twice in the kept grouping before): the same as evaluating both on the whole chunk
    (DC window and optics window)."""
    from qgeom.kspace import make_grid
    from qgeom.near_degeneracy import grouped_sums

    m = from_wannier90(GAAS)
    k, w = make_grid(m, 4).points(0, 64)
    b = Bands.from_model(m, k, order=1)

    evaluated = []

    def sums(bands, wk):  # a weighted chunk sum that depends on the grouping
        evaluated.append(bands.nk)
        x = (bands.inv_de ** 2 * np.abs(bands.v[:, 0]) ** 2).sum(axis=2) * wk[:, None]
        return {"x": bands.subspace_average(x).sum(axis=0)}

    tol = 0.002 if scale is None else 1e-4
    hi = tol if scale is None else scale
    fine = b.regrouped(b.degen_tol if scale is None else tol)
    changed = fine.regrouping_changes(hi).sum()
    assert 0 < changed < len(k)
    got = grouped_sums(sums, b, w, tol, scale=scale)
    # each k-point once per grouping it needs (more than half changed: both groupings of the whole chunk)
    assert sum(evaluated) == (len(k) + changed if 2 * changed <= len(k) else 2 * len(k)), (evaluated, changed)
    ungrouped, grouped = sums(fine, w), sums(fine.regrouped(hi), w)
    ref = grouped if scale is None else ungrouped
    np.testing.assert_allclose(got["x"], ref["x"], rtol=1e-13)
    near = ungrouped["x"] - grouped["x"]
    np.testing.assert_allclose(got["near:x"], near, rtol=0, atol=1e-12 * np.abs(ref["x"]).max())
    assert np.abs(near).max() > 1e-6 * np.abs(ref["x"]).max()


def test_gaas_results_do_not_move_with_degen_tol():
    """The raw GaAs model (time reversal broken by ~1e-4 eV of Wannierization noise, its own sums): the
    defaults (Drude and BCD grouped below the bands' accuracy, 1 meV, Γ⁰ terms below kT) stay put while
    degen_tol spans 1e-9 to 5e-4 eV, and the Γ⁰ terms up to 1e-2 eV; a degen_tol above 1 meV groups pairs
    the default resolves, which carry the (T-odd, Td-forbidden) Drude and BCD of the raw model. With
    resolution = kT every term stays put from 1e-8 to 1e-2 eV."""
    m = from_wannier90(GAAS)
    tols = (1e-9, 1e-7, 1e-5, 1e-4, 5e-4, 1e-2)
    runs = [dc.expansion(m, grid=6, degen_tol=tol, **KW) for tol in tols]
    scale = np.abs(runs[0].sigma).max(("component", "mu"))
    moved = [(np.abs(ds.sigma - runs[0].sigma).max(("component", "mu")) / scale).max("mechanism") for ds in runs[1:]]
    assert all(float(x.max()) < 1e-6 for x in moved[:4])  # 1e-9 … 5e-4
    assert all(float(x.sel(term=["geometric", "kinetic", "intrinsic"]).max()) < 1e-6 for x in moved)
    assert float(moved[-1].sel(term="bcd")) > 0.5  # 1e-2 groups pairs split by 1-10 meV: the BCD was theirs
    assert runs[0].sigma_near_degenerate.attrs["resolution"] == pytest.approx(0.025)
    assert runs[0].sigma_near_degenerate.attrs["resolved_terms"] == "drude,bcd"
    grouped = [dc.expansion(m, grid=6, degen_tol=tol, resolution=0.025, **KW) for tol in (1e-8, 1e-5, 1e-2)]
    scale = np.abs(grouped[0].sigma).max(("component", "mu"))
    for ds in grouped[1:]:
        assert float((np.abs(ds.sigma - grouped[0].sigma).max(("component", "mu")) / scale).max()) < 1e-6


T_ODD = [0, 2, 3]  # drude, geometric, kinetic: zero by time reversal alone; the BCD is zero by Td


def _doubled_breaking(model, restored):
    """The model with twice its own time-reversal breaking: H + (H − H_restored)."""
    base, sym = model.base, restored.base
    tb = TightBindingModel(base.R, 2 * base.t - sym.t, lattice=base.lattice, name="GaAs 2x breaking",
                           energy_unit=base.energy_unit, length_unit=base.length_unit)
    return OrbitalPositionModel(tb, model.positions)


def test_gaas_time_reversal_restored_zeros_small_grid():
    """Fast companion of the 16³ test: the T-odd terms of the T-restored model vanish (1e-12 of the
    Zeeman response, 6³); the raw model's are its own breaking (2e-3…3e-2)."""
    m = from_wannier90(GAAS)
    broken = _term_max(dc.expansion(_zeeman(m, 0.05), grid=6, **KW))
    restored = _term_max(dc.expansion(restore_time_reversal(m), grid=6, **KW)) / broken
    assert restored[T_ODD].max() < 1e-10, restored


def test_gaas_defaults_zero_the_time_reversal_odd_terms():
    """At default settings (symmetry="neumann") the raw GaAs model keeps time reversal to the accuracy
    of a Wannierization (with the mirrors of mm2): every T-odd term is exactly 0 and flagged. The BCD
    (T-even) that mm2 allows is forbidden by the crystal's −43m (GaAs.win): 0 too, and marked as the
    model's own breaking."""
    from qgeom.symmetry import SymmetryWarning

    m = from_wannier90(GAAS)
    kw = {**KW, "symmetry": "neumann"}
    with pytest.warns(SymmetryWarning, match="set to 0"):
        ds = dc.expansion(m, grid=6, **kw)
    assert np.all(ds.sigma.values == 0.0) and ds.forbidden.values.all()
    raw = dc.expansion(m, grid=6, **KW)
    odd = ["drude", "geometric", "kinetic", "intrinsic"]
    assert np.abs(raw.sigma.sel(term=odd).values).max() > 0 and np.abs(raw.sigma.sel(term="bcd").values).max() > 0
    assert ds.model_breaking_only.sel(term="bcd", component=["xyz", "zxy"]).values.all()
    info = json.loads(ds.attrs["symmetry"])
    assert "1'" in info["symmetry_operations"] and info["wedge_points"] is None


def test_gaas_symmetrized_to_td_gives_every_zero_at_default_settings():
    """Issue 12's acceptance on the T_d-symmetrized GaAs (T restored, then the fitted T_d average, as the
    CLI's --restore-time-reversal --symmetrize-model=-43m does): at default settings every term is 0, ≤ 1e-6
    of the same term once a 50 meV Zeeman term breaks T (16³, two μ); without the default zeros the model's
    own terms are already ≤ 1e-12 of it (the zeros are the model's, not imposed). The Γ⁰ terms need the
    canonical gauge of exact degeneracies (eigensystem.canonical_gauge): with the eigensolver's gauge on the
    Δ and Λ lines they were 4.7e-4 and 3.7e-4."""
    from qgeom.models.symmetrize import symmetrize_point_group

    m = from_wannier90(GAAS)
    sym = symmetrize_point_group(restore_time_reversal(m), "-43m", representation="fitted")
    broken = _term_max(dc.expansion(_zeeman(m, 0.05), grid=16, **KW))
    from qgeom.symmetry import SymmetryWarning

    with warnings.catch_warnings():
        warnings.simplefilter("error", SymmetryWarning)  # kept exactly: the zeroed values are rounding, no notice
        default = dc.expansion(sym, grid=16, **{**KW, "symmetry": "neumann"})
    assert (_term_max(default) <= 1e-6 * broken).all() and default.forbidden.values.all()
    own = _term_max(dc.expansion(sym, grid=16, **KW)) / broken
    assert own.max() < 1e-10, own


@pytest.mark.slow
def test_gaas_time_reversal_zeros_at_default_settings():
    """Every Γ⁰, Γ⁻² term and the BCD (Td) of the T-symmetric model, relative to the same terms
    once a 50 meV Zeeman term breaks T (grid 16³, two μ in the conduction band)."""
    m = from_wannier90(GAAS)
    sym = restore_time_reversal(m)
    broken = _term_max(dc.expansion(_zeeman(m, 0.05), grid=16, **KW))
    default = dc.expansion(m, grid=16, **KW)
    naive = _term_max(dc.expansion(m, grid=16, resolution=0, **KW))
    ratio = _term_max(default) / broken
    # the raw model's T-odd residual (3e-3, 1e-3, 7e-4) is its own T breaking (max |ΔH(R)| 1.5e-4 eV):
    # linear in it, and gone once T is restored; without the grouping, split pairs give > 1e3 of it
    assert ratio.max() < 0.05, ratio
    doubled = _term_max(dc.expansion(_doubled_breaking(m, sym), grid=16, **KW)) / broken
    np.testing.assert_allclose(doubled[T_ODD] / ratio[T_ODD], 2.0, rtol=0.15)
    restored = _term_max(dc.expansion(sym, grid=16, **KW)) / broken
    assert restored[T_ODD].max() < 1e-6, restored
    # the BCD is T-even: neither doubling nor removing the T breaking moves it (the Td breaking of the
    # MP grid and of the model, docs/near_degeneracy.md)
    assert restored[1] == pytest.approx(ratio[1], rel=1e-3) and doubled[1] == pytest.approx(ratio[1], rel=1e-3)
    assert (naive / broken).max() > 1e3
    # the default's two scales: the Drude and BCD grouped below the bands' accuracy (1 meV), the Γ⁰ terms
    # below kT, and the diagnostic = the difference of the two groupings for every term
    fine, coarse = (dc.expansion(m, grid=16, resolution=r, **KW).sigma for r in (1e-3, 0.025))
    for term in ("drude", "bcd", "geometric", "kinetic"):
        want = (fine if term in ("drude", "bcd") else coarse).sel(term=term)
        np.testing.assert_allclose(default.sigma.sel(term=term), want, rtol=1e-9, atol=1e-12 * float(abs(want).max()))
    np.testing.assert_allclose(default.sigma_near_degenerate, fine - coarse, rtol=1e-9,
                               atol=1e-12 * float(abs(fine).max()))
    assert default.sigma_near_degenerate.attrs["lower_resolution"] == 1e-3


def test_cli_dc_warns_when_grouped_pairs_dominate(tmp_path):
    from click.testing import CliRunner

    from qgeom.cli import main

    # the model's own sums (at defaults every GaAs term is a symmetry zero: nothing left to depend on pairs)
    args = ["dc", "--wannier90", str(GAAS), "--components", "xyz", "--mu", "7.6,8.2", "--temperature", "0.025",
            "--grid", "4", "--symmetry", "none", "--out", str(tmp_path / "g.nc")]
    res = CliRunner().invoke(main, args)
    assert res.exit_code == 0, res.output
    assert "warning: band pairs closer than the resolution 0.025" in res.output
    quiet = CliRunner().invoke(main, ["dc", "--model", "tilted_dirac_2band", "--components", "xyy", "--mu=0.5",
                                      "--temperature", "0.1", "--grid", "20", "--out", str(tmp_path / "t.nc")])
    assert quiet.exit_code == 0 and "warning: band pairs" not in quiet.output


def test_split_pair_expansion_against_the_exact_ness():
    """Two bands split by Δ everywhere (split_pair_2band): the exact fermionic-bath σ(Γ) follows the
    resolved expansion for Δ ≫ Γ and the grouped one for Δ ≪ Γ, crossing over on one curve of Δ/Γ
    (docs/near_degeneracy.md: Γ⁰ half-way at Δ = 4.1 Γ, Γ⁻¹ at Δ = 0.97 Γ)."""
    from qgeom.dc.gamma_fit import fit_gamma_series
    from qgeom.models.library import split_pair_2band

    kw = dict(components=["xyy", "yxx"], mu=-1.0, temperature=0.25, grid=32, progress=False)
    gammas = 0.25 * np.array([0.02, 0.03, 0.045, 0.06, 0.08, 0.1, 0.13])

    def terms(m, resolution):  # (B_xyy, C_yxx) of the expansion
        s = dc.expansion(m, resolution=resolution, mechanisms=["fermionic_bath"],
                         **{**kw, "components": ["xyy", "yxx"]}).sigma.isel(mechanism=0, mu=0)
        return np.array([float(s.sel(term="bcd", component="xyy")), float(s.sel(term="intrinsic", component="yxx"))])

    for delta in (1e-4, 0.5):  # Δ ≪ Γ = 0.005…0.03 ≪ Δ
        m = split_pair_2band(delta=delta)
        s = dc.exact(m, gamma=gammas, **kw).sigma.isel(mu=0)
        fit = fit_gamma_series(gammas, s.transpose("component", "gamma").values)["value"]
        exact = np.array([fit[0, 1], fit[1, 2]])
        resolved, grouped, default = terms(m, 0), terms(m, 0.25), terms(m, None)
        # the default: the BCD (Γ⁻¹) resolved, the Γ⁰ terms grouped below kT
        np.testing.assert_allclose(default, [resolved[0], grouped[1]], rtol=1e-12, atol=1e-15)
        if delta < 0.25:  # grouped right; the resolved Γ⁰ term is 100% off: C_yxx = −0.0106 instead of 0
            assert np.abs(exact - grouped).max() < 1e-7 and resolved[1] == pytest.approx(-0.0106, rel=0.01)
        else:  # Δ = 0.5 > kT: nothing to group, and the resolved terms are right
            np.testing.assert_array_equal(grouped, resolved)
            np.testing.assert_allclose(exact, resolved, rtol=2e-3)
    # at fixed Γ the exact Γ⁰ term rises from the grouped (0) to the resolved value, half-way near Δ = 4 Γ
    g, kw["grid"], kw["components"] = 0.02, 48, "yxx"  # one Γ needs a finer grid than the fit
    ratio = []
    for x in (0.2, 4.0, 40.0):
        m = split_pair_2band(delta=x * g)
        ratio.append(float(dc.exact(m, gamma=g, **kw).sigma.squeeze()) / terms(m, 0)[1])
    assert abs(ratio[0]) < 0.03 and 0.4 < ratio[1] < 0.6 and abs(1 - ratio[2]) < 0.05, ratio


def test_observable_expansion_honours_the_resolution():
    """dc.expansion(observable=...) groups below `resolution` as the current does, with its diagnostic."""
    from qgeom.models.library import split_pair_2band

    m = split_pair_2band(delta=0.01)
    kw = dict(observable="current_x", components=["yy"], mu=-1.0, temperature=0.25, grid=24, progress=False)
    grouped, resolved = dc.expansion(m, resolution=0.25, **kw), dc.expansion(m, resolution=0, **kw)
    default = dc.expansion(m, **kw)  # both coefficients resolved, the diagnostic below kT
    np.testing.assert_allclose(default.sigma.values, resolved.sigma.values, rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(default.sigma_near_degenerate.values, grouped.sigma_near_degenerate.values, rtol=1e-12)
    cur = dc.expansion(m, components=["xyy"], mu=-1.0, temperature=0.25, grid=24, progress=False, resolution=0,
                       mechanisms=["fermionic_bath"]).sigma.sel(term="bcd").squeeze()
    assert grouped.sigma_near_degenerate.attrs["resolution"] == 0.25 and resolved.attrs["parameters"]
    inter = lambda ds: float(ds.sigma.sel(term="interband").squeeze())  # noqa: E731
    assert inter(resolved) == pytest.approx(float(cur), rel=1e-10, abs=1e-14)
    near = float(grouped.sigma_near_degenerate.sel(term="interband").squeeze())
    assert inter(grouped) + near == pytest.approx(inter(resolved), rel=1e-10, abs=1e-14)
    assert abs(inter(grouped)) < 1e-6 * abs(near)  # the BCD ∝ Δ of the pair is all below the resolution
    assert float(abs(resolved.sigma_near_degenerate).max()) == 0


def test_optical_results_carry_the_near_degenerate_part():
    """The only transitions of split_pair_2band are within its pair: with Δ below the broadening all of χ
    is carried by a pair closer than the broadening (chi_near_degenerate = chi), above it none; grouping
    it (resolution ≥ Δ) removes it. The default (a model in its own units: degen_tol) leaves χ as the
    sum-over-states gives it."""
    from qgeom.models.library import split_pair_2band
    from qgeom.optical import current, response

    kw = dict(kinds=["shift_like", "injection"], omega=[0.02, 0.05], mu=-1.0, temperature=0.05, tau=10.0,
              broadening=0.05, grid=24, progress=False)
    below = response(split_pair_2band(delta=0.02), current("x"), **kw)
    assert float(abs(below.chi).max()) > 0 and below.attrs["parameters"]
    # (the near part is summed transition by transition, χ over band blocks: equal to rounding)
    np.testing.assert_allclose(below.chi_near_degenerate.values, below.chi.values, rtol=0,
                               atol=1e-11 * float(abs(below.chi).max()))
    assert below.chi_near_degenerate.attrs["resolution"] == 0.05
    above = response(split_pair_2band(delta=0.2), current("x"), **kw)
    assert float(abs(above.chi).max()) > 0 and float(abs(above.chi_near_degenerate).max()) == 0
    grouped = response(split_pair_2band(delta=0.02), current("x"), resolution=0.05, **kw)
    assert float(abs(grouped.chi).max()) == 0 and float(abs(grouped.chi_near_degenerate).max()) == 0


def test_cli_optical_warns_when_unresolved_pairs_dominate(tmp_path):
    from click.testing import CliRunner

    from qgeom.cli import main

    base = ["optical", "--model", "split_pair_2band", "--observable", "current_x", "--kind", "shift_like",
            "--omega", "0.02", "0.1", "3", "--mu=-1", "--temperature", "0.05", "--broadening", "0.05", "--grid", "16"]
    res = CliRunner().invoke(main, base + ["--param", "delta=0.02", "--out", str(tmp_path / "a.nc")])
    assert res.exit_code == 0, res.output
    assert "warning: band pairs closer than the broadening 0.05 carry these terms" in res.output
    quiet = CliRunner().invoke(main, base + ["--param", "delta=0.3", "--out", str(tmp_path / "b.nc")])
    assert quiet.exit_code == 0 and "warning: band pairs" not in quiet.output, quiet.output


def test_cli_optical_resolution_groups_the_unresolved_pair(tmp_path):
    """--resolution reaches optical.response: split_pair_2band's only transitions are within its pair (Δ =
    0.02 < broadening 0.05), so grouping it there leaves χ = 0 and no warning line."""
    import xarray as xr
    from click.testing import CliRunner

    from qgeom.cli import main

    base = ["optical", "--model", "split_pair_2band", "--param", "delta=0.02", "--observable", "current_x",
            "--kind", "shift_like", "--omega", "0.02", "0.1", "3", "--mu=-1", "--temperature", "0.05",
            "--broadening", "0.05", "--grid", "16"]
    res = CliRunner().invoke(main, base + ["--resolution", "0.05", "--out", str(tmp_path / "a.nc")])
    assert res.exit_code == 0 and "warning: band pairs" not in res.output, res.output
    with xr.open_dataset(tmp_path / "a.nc") as ds:
        assert ds.chi.size and float(abs(ds.chi).max()) == 0


def test_gaas_optics_default_groups_below_the_band_accuracy():
    """The default resolution of the optics of an eV model is min(broadening, 1 meV): the result does not
    depend on degen_tol below it and equals resolution=1e-3 exactly. Kept apart (resolution=0, the grouping
    tolerance is degen_tol itself) the Wannierization's ~1e-4 eV splittings of GaAs's pairs carry the shift
    current — it changes with degen_tol and its near-degenerate part exceeds 10 % (docs/near_degeneracy.md)."""
    from qgeom.optical import current, response

    m = from_wannier90(GAAS)
    kw = dict(kinds=["shift_like"], omega=[1.5, 2.5], mu=7.9366, grid=4, progress=False)
    runs = [response(m, current("x"), degen_tol=tol, **kw) for tol in (1e-8, 1e-4)]
    scale = float(abs(runs[0].chi).max())
    assert scale > 0 and float(abs(runs[1].chi - runs[0].chi).max()) <= 1e-6 * scale
    assert runs[0].attrs["parameters"] and runs[0].chi_near_degenerate.attrs["resolution"] == 0.002
    explicit = response(m, current("x"), resolution=1e-3, **kw).chi
    assert float(abs(explicit - runs[0].chi).max()) == 0
    plain = [response(m, current("x"), degen_tol=tol, resolution=0, **kw) for tol in (1e-8, 1e-4)]
    assert float(abs(plain[1].chi - plain[0].chi).max()) > 1e-3 * float(abs(plain[0].chi).max())
    assert float(abs(plain[0].chi_near_degenerate).max()) > 0.1 * float(abs(plain[0].chi).max())


def test_the_api_warns_and_records_where_grouped_pairs_dominate():
    """The Python API says what the command line says: a pair closer than the resolution that carries a
    term gives a NearDegeneracyWarning naming the term, and `sigma_near_degenerate_fraction[mechanism, term]`
    records max |near| / max |σ|. split_pair_2band at Δ = 1e-4 ≪ kT: its Γ⁰ terms are all the pair's
    (grouped 0, resolved −0.0106); at Δ = 0.5 > kT nothing is grouped: no warning, fractions 0."""
    from qgeom.models.library import split_pair_2band
    from qgeom.near_degeneracy import WARN_FRACTION, NearDegeneracyWarning

    kw = dict(components=["xxx", "yxx"], mu=-1.0, temperature=0.25, grid=24, progress=False,
              mechanisms=["fermionic_bath"])
    with pytest.warns(NearDegeneracyWarning, match=r"fermionic_bath/geometric: .*resolution=Gamma") as record:
        ds = dc.expansion(split_pair_2band(delta=1e-4), **kw)
    assert "fermionic_bath/drude" not in str(record[0].message)  # the pair's bands have equal velocities
    frac = ds.sigma_near_degenerate_fraction
    assert frac.dims == ("mechanism", "term") and frac.attrs["warn_above"] == WARN_FRACTION
    frac = frac.sel(mechanism="fermionic_bath")
    assert float(frac.sel(term="geometric")) > 1e3 and float(frac.sel(term="drude")) < 1e-6
    with warnings.catch_warnings():
        warnings.simplefilter("error", NearDegeneracyWarning)
        far = dc.expansion(split_pair_2band(delta=0.5), **kw)
    assert float(far.sigma_near_degenerate_fraction.max()) == 0


def test_a_numerical_zero_is_no_near_degenerate_fraction():
    """A term that is a symmetry zero (rounding noise in σ and in its near part) is measured against
    ZERO_FRACTION of the variable's largest |σ|: its noise is no fraction, while a term that the pairs
    carry entirely (σ = 0 exactly, near ≠ 0) is a huge one — infinite when σ is 0 throughout."""
    import xarray as xr

    from qgeom.near_degeneracy import near_degenerate_fraction

    sigma = xr.DataArray([[1.0, 1e-17, 0.0], [0.5, -2e-17, 0.0]], dims=("mu", "term"))
    near = xr.DataArray([[0.01, 3e-17, 0.2], [0.0, 1e-17, 0.0]], dims=("mu", "term"))
    frac = near_degenerate_fraction(xr.Dataset({"sigma": sigma, "sigma_near_degenerate": near}), over=("mu",))
    np.testing.assert_allclose(frac.values, [0.01, 3e-7, 2e9])
    only_near = xr.Dataset({"sigma": 0 * sigma, "sigma_near_degenerate": near})
    assert np.isinf(near_degenerate_fraction(only_near, over=("mu",)).values[[0, 2]]).all()


def test_optical_results_record_the_near_degenerate_fraction_and_warn():
    from qgeom.models.library import split_pair_2band
    from qgeom.near_degeneracy import NearDegeneracyWarning
    from qgeom.optical import current, response

    kw = dict(kinds=["shift_like"], omega=[0.02, 0.05], mu=-1.0, temperature=0.05, broadening=0.05, grid=16,
              progress=False)
    with pytest.warns(NearDegeneracyWarning, match="closer than the broadening 0.05 carry these terms"):
        below = response(split_pair_2band(delta=0.02), current("x"), **kw)
    assert below.chi_near_degenerate_fraction.dims == ("kind",)
    np.testing.assert_allclose(below.chi_near_degenerate_fraction.values, 1.0, rtol=1e-11)


def test_cli_dc_resolution_is_the_api_resolution(tmp_path):
    """--resolution reaches dc.expansion (0: the plain sum over states, no diagnostic window), and the
    command prints its own warning line, not the API's Python warning."""
    import xarray as xr
    from click.testing import CliRunner

    from qgeom.cli import main
    from qgeom.models.library import split_pair_2band

    base = ["dc", "--model", "split_pair_2band", "--param", "delta=1e-4", "--components", "yxx", "--mu=-1",
            "--temperature", "0.25", "--grid", "16", "--mechanisms", "fermionic_bath"]
    res = CliRunner().invoke(main, base + ["--out", str(tmp_path / "a.nc")])
    assert res.exit_code == 0, res.output
    assert "warning: band pairs closer than the resolution 0.25" in res.output and "--resolution GAMMA" in res.output
    assert "NearDegeneracyWarning" not in res.output
    res0 = CliRunner().invoke(main, base + ["--resolution", "0", "--out", str(tmp_path / "b.nc")])
    assert res0.exit_code == 0 and "warning: band pairs" not in res0.output, res0.output
    api = dc.expansion(split_pair_2band(delta=1e-4), components="yxx", mu=-1.0, temperature=0.25, grid=16,
                       mechanisms=["fermionic_bath"], resolution=0, progress=False)
    with xr.open_dataset(tmp_path / "b.nc") as ds:
        np.testing.assert_allclose(ds.sigma.values, api.sigma.values, rtol=1e-12, atol=0)
        assert ds.attrs["parameters"] and float(abs(api.sigma.sel(term="geometric")).max()) > 0


@pytest.mark.parametrize("observable", ["current_x", "current_z", "matrix"])
def test_optical_difference_over_the_touched_transitions_is_the_whole_difference(observable):
    """The optical near-degenerate part (ungrouped − grouped χ at the k-points where the grouping changes)
    evaluated over the transitions from or to a regrouped pair only equals the one over every transition:
    grouping changes A, F, O^D and the brackets only in the rows and columns of that pair. Every kind
    (geometric and textbook forms included), with scissors, on GaAs with its 1–2 meV pairs in the window."""
    from qgeom.bands import Bands
    from qgeom.kspace import make_grid
    from qgeom.near_degeneracy import grouped_sums
    from qgeom.observables import resolve
    from qgeom.optical import ALL_TERMS, chunk_response
    from qgeom.optical.scissors import Scissors

    m = from_wannier90(GAAS)
    rng = np.random.default_rng(3)
    if observable == "matrix":
        X = rng.normal(size=(16, 16)) + 1j * rng.normal(size=(16, 16))
        obs = resolve(m, X + X.conj().T)
    else:
        obs = resolve(m, observable)
    k = make_grid(m, 10, offset="gamma").points(0, 1000)[0]
    b = Bands.from_model(m, k, order=2)
    wk = rng.uniform(0.5, 1.5, b.nk) / b.nk
    omega = np.array([0.7, 1.9, 2.6, -0.7, -1.9, -2.6])
    scissors = Scissors(0.5, 8) if observable.startswith("current") else None
    kinds = [t for t in ALL_TERMS if observable.startswith("current") or t != "kramers_injection_geometric"]

    def sums(bands, w, only=None, first=None):
        return chunk_response(bands, w, obs, kinds, omega, mu=7.9366, temperature=0.02, tau=0.1, gamma=2e-3,
                              bkind="lorentzian", scissors=scissors, only=only, first=first)

    fast = grouped_sums(sums, b, wk, 1e-3, scale=2e-3, touched=True)
    full = grouped_sums(sums, b, wk, 1e-3, scale=2e-3)
    assert b.regrouped(1e-3).regrouping_changes(2e-3).sum() > 0
    for name in kinds:
        near, ref = fast["near:" + name], full["near:" + name]
        scale = float(abs(full[name]).max())
        assert float(abs(ref).max()) > 1e-8 * scale, name  # the window carries something
        assert float(abs(near - ref).max()) <= 1e-10 * scale, name
        # the same sums, the touched transitions summed first: equal to rounding
        assert float(abs(fast[name] - full[name]).max()) <= 1e-13 * scale, name


def test_the_fraction_is_a_plain_ratio():
    """units '1' and nothing of σ's per-term units (the arithmetic used to carry units_by_term over)."""
    from qgeom.dc import expansion
    from qgeom.models import tilted_dirac_2band

    ds = expansion(tilted_dirac_2band(), mu=[0.5], temperature=0.1, grid=12, progress=False)
    attrs = ds["sigma_near_degenerate_fraction"].attrs
    assert attrs["units"] == "1" and "units_by_term" not in attrs and "units_by_term" in ds["sigma"].attrs
