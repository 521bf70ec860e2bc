"""Near-degenerate pairs: grouped below the response's resolution (bands.resolved_tol), with the
diagnostic `sigma_near_degenerate`; GaAs Wannier model (examples/GaAs) symmetry zeros at defaults."""

from pathlib import Path

import numpy as np
import pytest

from qgeom import dc
from qgeom.bands import Bands, resolved_tol
from qgeom.models.tight_binding import TightBindingModel
from qgeom.models.wannier90 import OrbitalPositionModel, from_wannier90

GAAS = Path(__file__).resolve().parents[1] / "examples" / "GaAs"
TERMS = ["drude", "bcd", "geometric", "kinetic"]
KW = dict(components=["xyz", "xxx", "zxy"], mu=[7.6, 8.2], temperature=0.025, progress=False)


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


def test_grouped_sums_evaluate_only_the_k_points_the_grouping_changes():
    """`_FermiSurfaceSums` regroups only the k-points with a pair split below the resolution
    (`Bands.regrouping_changes`, `Bands.subset`): the same sums as regrouping the whole chunk."""
    from qgeom.dc.expansion import _FermiSurfaceSums
    from qgeom.kspace import make_grid

    m = from_wannier90(GAAS)
    k, w = make_grid(m, 4).points(0, 64)
    b = Bands.from_model(m, k, order=3)
    tol = resolved_tol(b.degen_tol, 0.002)  # about half of these k-points have a pair closer than that
    changed = b.regrouping_changes(tol)
    assert 0 < changed.sum() < len(k)
    comps = tuple(np.array(x) for x in ([0, 2], [1, 0], [2, 0]))
    func = _FermiSurfaceSums(comps, [7.6, 8.2], 0.025, "metric_dipole", "third_derivative", group_tol=tol)
    got = func(b, w)
    raw = func._contract(b, w, *func._integrands(b))
    whole = Bands.from_model(m, k, order=3).regrouped(tol)
    grouped = func._contract(whole, w, *func._integrands(whole))
    for name, ref in grouped.items():
        scale = np.abs(ref).max()
        np.testing.assert_allclose(got[name], ref, rtol=0, atol=1e-12 * scale)
        np.testing.assert_allclose(got["near:" + name], raw[name] - ref, rtol=0, atol=1e-12 * scale)
    sub = b.subset(np.flatnonzero(changed))
    np.testing.assert_array_equal(sub.energies, b.energies[changed])
    np.testing.assert_array_equal(sub.derivative_rows(), b.derivative_rows()[changed])


def test_gaas_results_do_not_move_with_degen_tol():
    m = from_wannier90(GAAS)
    runs = [dc.expansion(m, grid=6, degen_tol=tol, **KW) for tol in (1e-8, 1e-5, 1e-2)]
    scale = np.abs(runs[0].sigma).max(("component", "mu"))
    for ds in runs[1:]:
        assert float((np.abs(ds.sigma - runs[0].sigma).max(("component", "mu")) / scale).max()) < 1e-6
    assert runs[0].sigma_near_degenerate.attrs["resolution"] == pytest.approx(0.025)


@pytest.mark.slow
def test_gaas_time_reversal_zeros_at_default_settings():
    """Every Γ⁰, Γ⁻² term and the BCD (Td) of the T-symmetric model, relative to the same terms
    once a 50 meV Zeeman term breaks T (grid 16³, two μ in the conduction band)."""
    m = from_wannier90(GAAS)
    broken = _term_max(dc.expansion(_zeeman(m, 0.05), grid=16, **KW))
    default = dc.expansion(m, grid=16, **KW)
    naive = _term_max(dc.expansion(m, grid=16, resolution=0, **KW))
    ratio = _term_max(default) / broken
    # the residual is the model's own T breaking (~1e-4 eV in H(R)), linear in it: 1e-4/0.05 of the
    # T-broken response; without the grouping, pairs split by that breaking give > 1e3 of it
    assert ratio.max() < 0.05, ratio
    assert (naive / broken).max() > 1e3
    near = np.abs(default.sigma_near_degenerate.sel(mechanism="fermionic_bath")).max()
    assert float(near) > 1e3 * _term_max(default).max()  # the diagnostic sees what grouping removed


def test_cli_dc_warns_when_grouped_pairs_dominate(tmp_path):
    from click.testing import CliRunner

    from qgeom.cli import main

    args = ["dc", "--wannier90", str(GAAS), "--components", "xyz", "--mu", "7.6,8.2", "--temperature", "0.025",
            "--grid", "4", "--out", str(tmp_path / "g.nc")]
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
        resolved, grouped = terms(m, 0), terms(m, None)
        if delta < 0.25:  # grouped right; the resolved Γ⁰ term is 100% off: C_yxx = −0.0106 instead of 0
            assert np.abs(exact - grouped).max() < 1e-7 and resolved[1] == pytest.approx(-0.0106, rel=0.01)
        else:  # Δ = 0.5 > kT: the default keeps the pair resolved, and it is right
            np.testing.assert_array_equal(grouped, resolved)
            np.testing.assert_allclose(exact, resolved, rtol=2e-3)
    # at fixed Γ the exact Γ⁰ term rises from the grouped (0) to the resolved value, half-way near Δ = 4 Γ
    g, kw["grid"], kw["components"] = 0.02, 48, "yxx"  # one Γ needs a finer grid than the fit
    ratio = []
    for x in (0.2, 4.0, 40.0):
        m = split_pair_2band(delta=x * g)
        ratio.append(float(dc.exact(m, gamma=g, **kw).sigma.squeeze()) / terms(m, 0)[1])
    assert abs(ratio[0]) < 0.03 and 0.4 < ratio[1] < 0.6 and abs(1 - ratio[2]) < 0.05, ratio
