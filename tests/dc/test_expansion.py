"""qgeom.dc.expansion against independent paths."""

import warnings

import numpy as np
import pytest
from scipy.integrate import quad

from qgeom import QgeomInputError, geometry
from qgeom.bands import Bands
from qgeom.dc import converge, expansion
from qgeom.results import metadata
from qgeom.dc.expansion import KINETIC_PREFACTOR
from qgeom.models import asymmetric_chain, mnbi2te4_bilayer, pt_tilted_2band, pt_tilted_4band, tilted_dirac_2band
from qgeom.occupation import fermi_dirac

COMPS_2D = ["xxx", "xyy", "yxx", "yyy", "yxy", "xxy"]


def _rel(a, b):
    return np.abs(a - b).max() / np.abs(b).max()


@pytest.mark.parametrize("model", [tilted_dirac_2band(), pt_tilted_4band(m=-3.0, t=0.5)], ids=lambda m: m.name)
def test_two_forms_of_each_term_agree(model):
    """Drude: −¼∂_a(v^b v^c) f0' vs ¼ v^a v^b v^c f0''; kinetic: 2C ∂³ε f0'' vs C v³ f0''''; geometric:
    ∂_a g f0' vs g v f0'' (integration by parts)."""
    mu = np.linspace(-1.5, 1.5, 7) if model.name == "tilted_dirac_2band" else np.linspace(-3.2, -1.5, 7)
    kw = dict(components=COMPS_2D, mu=mu, temperature=0.15, grid=160)
    a = expansion(model, **kw)
    b = expansion(model, drude_form="velocity_cubed", geometric_form="metric_by_parts", kinetic_form="velocity_cubed",
                  **kw)
    for term in ("drude", "geometric", "kinetic"):
        x = a.sigma.sel(mechanism="fermionic_bath", term=term).values
        y = b.sigma.sel(mechanism="fermionic_bath", term=term).values
        assert np.abs(x).max() > 1e-4
        assert _rel(x, y) < 1e-6, term
    assert metadata(a, "parameters")["kinetic_form"] == "third_derivative"
    assert metadata(b, "parameters")["geometric_form"] == "metric_by_parts"
    assert metadata(b, "parameters")["drude_form"] == "velocity_cubed"


def test_pt_model_has_no_bcd_and_equals_its_blocks():
    mu = np.linspace(-4.6, -3.4, 7)
    kw = dict(components="all", mu=mu, temperature=0.1, grid=120)
    full = expansion(pt_tilted_4band(), blocks=False, **kw)  # the dense 4×4 path, Kramers-averaged
    drude_scale = float(np.abs(full.sigma.sel(term="drude")).max())
    assert drude_scale > 1e-4
    assert float(np.abs(full.sigma.sel(term="bcd")).max()) < 1e-10 * drude_scale
    blocks = expansion(pt_tilted_2band(), **kw).sigma + expansion(pt_tilted_2band(conjugate=True), **kw).sigma
    scale = float(np.abs(full.sigma).max())
    assert float(np.abs(full.sigma - blocks).max()) < 1e-10 * scale
    # each block alone does have a Berry-curvature dipole; only their sum cancels it
    single = expansion(pt_tilted_2band(), **kw).sigma.sel(term="bcd")
    assert float(np.abs(single).max()) > 1e-3 * drude_scale


@pytest.mark.parametrize(
    "model,mu,comps",
    [
        (tilted_dirac_2band(), np.linspace(-1.2, 1.2, 5), COMPS_2D),
        (pt_tilted_4band(), np.linspace(-4.5, -3.5, 5), COMPS_2D),
        (asymmetric_chain(), np.linspace(-2, 2, 5), ["xxx"]),
        (mnbi2te4_bilayer(), np.linspace(-0.05, 0.2, 5), ["xyy", "yyy"]),
    ],
    ids=lambda x: getattr(x, "name", None),
)
def test_constant_gamma_is_half_bath_geometric_and_has_no_kinetic(model, mu, comps):
    grid = 400 if model.dim == 1 else ((40, 48) if not model.is_periodic else 60)
    kT = 0.01 if model.name == "mnbi2te4_bilayer" else 0.1
    ds = expansion(model, components=comps, mu=mu, temperature=kT, grid=grid)
    geo = ds.sigma.sel(mechanism="fermionic_bath", term="geometric")
    cg = ds.sigma.sel(mechanism="constant_gamma")
    scale = float(np.abs(geo).max()) + float(np.abs(ds.sigma.sel(term="kinetic")).max())
    assert scale > 0
    assert float(np.abs(cg.sel(term="intrinsic") - 0.5 * geo).max()) <= 1e-12 * scale
    assert float(np.abs(cg.sel(term="kinetic")).max()) == 0.0


def test_bcd_against_finite_difference_curvature_dipole():
    """σ^(−1)_yxx = Σ v^x Ω_yx f0' = Σ f0 ∂_x Ω_xy: Ω on a Γ-centred periodic grid, ∂_x by a
    4th-order central difference across grid points, summed against f0."""
    model = tilted_dirac_2band()
    mu = np.array([-0.9, -0.5, 0.45, 0.8, 1.2])
    kT, n = 0.1, 240
    ds = expansion(model, components=["yxx", "xyy"], mu=mu, temperature=kT, grid=n, offset="gamma")
    ii = np.stack(np.meshgrid(np.arange(n), np.arange(n), indexing="ij"), -1).reshape(-1, 2)
    k = 2 * np.pi * ii / n
    b = Bands.from_model(model, k, order=1)
    om = geometry.berry_curvature(b)[:, 0, 1].reshape(n, n, 2)
    h = 2 * np.pi / n
    dx = (8 * (np.roll(om, -1, 0) - np.roll(om, 1, 0)) - (np.roll(om, -2, 0) - np.roll(om, 2, 0))) / (12 * h)
    e = b.energies.reshape(n, n, 2)
    ref = np.einsum("ijn,ijnm->m", dx, fermi_dirac(e[..., None], mu, kT)) / n**2
    got = ds.sigma.sel(mechanism="fermionic_bath", term="bcd", component="yxx").values
    assert np.abs(ref).max() > 1e-3
    assert _rel(got, ref) < 2e-3
    # mirror y → −y (antiunitary K·M) forbids the y-dipole component
    assert float(np.abs(ds.sigma.sel(term="bcd", component="xyy")).max()) < 1e-12


def test_one_band_chain_against_quadrature():
    """1-band 1D: Drude −¼∫∂(v²)f0' and kinetic C∫v³f0'''' from the analytic dispersion, by quad."""
    t1, t2, phi = 1.0, 0.5, 0.7
    model = asymmetric_chain(t1=t1, t2=t2, phi=phi)
    mu = np.array([-1.5, -0.3, 0.6])
    kT = 0.2
    ds = expansion(model, components="xxx", mu=mu, temperature=kT, grid=4000)

    def eps(k, d=0):  # d-th derivative of −2 t1 cos k − 2 t2 cos(2k + φ)
        return -2 * t1 * np.cos(k + d * np.pi / 2) - 2 * t2 * 2**d * np.cos(2 * k + phi + d * np.pi / 2)

    for i, m in enumerate(mu):
        drude = quad(lambda k: -0.25 * 2 * eps(k, 1) * eps(k, 2) * fermi_dirac(eps(k), m, kT, 1), -np.pi, np.pi, limit=200)[0]
        kin = quad(lambda k: KINETIC_PREFACTOR * eps(k, 1) ** 3 * fermi_dirac(eps(k), m, kT, 4), -np.pi, np.pi, limit=200)[0]
        s = ds.sigma.sel(mechanism="fermionic_bath", component="xxx")
        assert s.sel(term="drude").values[i] == pytest.approx(drude / (2 * np.pi), rel=1e-8, abs=1e-12)
        assert s.sel(term="kinetic").values[i] == pytest.approx(kin / (2 * np.pi), rel=1e-8, abs=1e-12)
        assert s.sel(term="geometric").values[i] == 0.0


def test_rta_mechanism_combines_table_coefficients():
    model = tilted_dirac_2band()
    kw = dict(components=["xyy", "yxx"], mu=[-0.8, 0.7], temperature=0.1, grid=80)
    a = expansion(model, mechanisms=["rta"], rta=(1.0, 0.0), **kw).sigma.sel(mechanism="rta", term="intrinsic")
    b = expansion(model, mechanisms=["rta"], rta=(0.0, 1.0), **kw).sigma.sel(mechanism="rta", term="intrinsic")
    c = expansion(model, mechanisms=["rta"], rta=(2.0, 3.0), **kw).sigma.sel(mechanism="rta", term="intrinsic")
    assert float(np.abs(a).max()) > 0 and float(np.abs(b).max()) > 0
    np.testing.assert_allclose(c, 2 * a + 3 * b, rtol=1e-12, atol=1e-16)


def test_results_independent_of_degen_tol_on_kramers_model():
    kw = dict(components=["xyy", "xxx"], mu=np.linspace(-4.4, -3.6, 5), temperature=0.1, grid=60)
    ref = expansion(pt_tilted_4band(), degen_tol=1e-6, **kw).sigma
    for tol in (1e-9, 1e-7, 1e-5):
        s = expansion(pt_tilted_4band(), degen_tol=tol, **kw).sigma
        assert float(np.abs(s - ref).max()) <= 1e-8 * float(np.abs(ref).max())


def test_convergence_helper_reports_relative_change():
    ds = converge(
        lambda grid, **kw: expansion(tilted_dirac_2band(), grid=grid, **kw),
        [40, 80, 160], components="xyy", mu=np.linspace(-1, 1, 5), temperature=0.2,
    )
    conv = ds.convergence.sel(mechanism="fermionic_bath", term="drude", component="xyy")
    assert list(ds.convergence.grid.values) == ["80", "160"]
    assert 0 < float(conv.sel(grid="160")) < float(conv.sel(grid="80"))
    assert ds.attrs["convergence_grids"] == ["40", "80", "160"]


@pytest.mark.parametrize(
    "kwargs,match",
    [
        (dict(components="xzz"), "component"),
        (dict(temperature=-0.1), "temperature"),
        (dict(temperature=0.0), "temperature"),
        (dict(mu=[0.0, np.nan]), "NaN"),
        (dict(mechanisms=["rta"]), "rta"),
        (dict(mechanisms=["boltzmann"]), "mechanism"),
        (dict(geometric_form="bogus"), "geometric_form"),
        (dict(grid=0), "grid"),
        (dict(mu=[]), "non-empty"),
        (dict(mechanisms=[]), "empty"),
        (dict(mechanisms=["fermionic_bath"], rta=(1.0, 1.0)), "rta"),
        (dict(degen_tol=0.0), "degen_tol"),
        (dict(units="cgs"), "units"),
    ],
)
def test_bad_input_is_rejected_before_computation(kwargs, match):
    base = dict(components="xyy", mu=0.0, temperature=0.1, grid=20)
    with pytest.raises(QgeomInputError, match=match):
        expansion(tilted_dirac_2band(), **{**base, **kwargs})


def test_occupation_derivatives_never_overflow_in_expansion():
    ds = expansion(tilted_dirac_2band(), components="xyy", mu=[0.0, 50.0], temperature=1e-6, grid=20)
    assert np.all(np.isfinite(ds.sigma.values))


def test_physical_convention_is_half_the_seed_convention():
    kw = dict(components=["xyy", "yxx"], mu=[-0.5, 0.6], temperature=0.1, grid=40)
    seed = expansion(tilted_dirac_2band(), **kw)
    phys = expansion(tilted_dirac_2band(), convention="physical", **kw)
    assert float(np.abs(seed.sigma).max()) > 0
    np.testing.assert_allclose(phys.sigma, 0.5 * seed.sigma, rtol=1e-14, atol=0)
    assert "j_a = sum_bc sigma_abc" in phys.attrs["sigma_definition"]
    with pytest.raises(QgeomInputError, match="convention"):
        expansion(tilted_dirac_2band(), convention="si", **kw)


def test_si_units_for_physical_models_and_model_units_otherwise():
    from qgeom.units import E_CHARGE, EV, HBAR

    kw = dict(components=["xyy"], mu=[0.02, 0.05], temperature=0.01, grid=(30, 24))
    model_units = expansion(mnbi2te4_bilayer(), units="model", **kw)
    si = expansion(mnbi2te4_bilayer(), **kw)  # eV/Å model: SI by default
    factor = E_CHARGE**3 * 1e-10 / (HBAR * EV)  # 2D: e³ L0 / (ħ E0), A m V⁻²
    assert float(np.abs(model_units.sigma).max()) > 0
    np.testing.assert_allclose(si.sigma, factor * model_units.sigma, rtol=1e-13, atol=0)
    assert si.sigma.attrs["units"] == "A m V^-2" and "hbar eV" in model_units.sigma.attrs["units"]
    seed = expansion(pt_tilted_4band(), components="xyy", mu=-4.0, temperature=0.1, grid=20)
    assert seed.sigma.attrs["units"] == "e^3 a^1 / (hbar v)"  # abstract units stay model units
    with pytest.raises(QgeomInputError, match="units"):
        expansion(pt_tilted_4band(), components="xyy", mu=-4.0, temperature=0.1, grid=20, units="si")


def test_binned_mu_sweep_at_low_temperature_holds_a_band_of_bins_per_block_of_mu():
    """Wide μ range at very low kT: each block of μ (≤ 40 kT wide) keeps only the bins within 40 kT of it, so the
    kernels stay small (100 μ over 2 at kT = 1e-5: 3.5 MB instead of the 190 GB of the whole band) and `auto` takes
    the binned sweep — equal to the direct sum; an enormous μ count still falls back to the direct sum."""
    import importlib

    from qgeom.dc.fermi_surface_sums import BINNED_MU_MAX_BYTES
    from qgeom.mu_sweep import BinnedMuSweep
    from qgeom.kspace import integrate as integ

    mu = np.linspace(-1, 1, 100)
    assert len(BinnedMuSweep(mu, 1e-5).blocks) == 100
    assert BinnedMuSweep.kernel_bytes(mu, 1e-5) < 4 * 2**20
    assert BinnedMuSweep.kernel_bytes(np.linspace(-1, 1, 10**5), 1e-3) > BINNED_MU_MAX_BYTES
    F = importlib.import_module("qgeom.dc.fermi_surface_sums")
    from qgeom.dc.components import component_indices, parse_components

    comps = component_indices(parse_components("xyy,yxx", 2))
    mu = np.linspace(-4.6, -3.4, 120)  # kT = 5 meV: blocks of 0.2 eV, each with the bins within 0.2 eV of it
    assert len(BinnedMuSweep(mu, 5e-3).blocks) >= 5
    res = {}
    for method in ("direct", "binned"):
        f = F.FermiSurfaceSums(comps, mu, 5e-3, "metric_dipole", "third_derivative", mu_method=method)
        res[method] = integ(pt_tilted_4band(), 48, f, order=3, chunk_size=500, progress=False)
    for name, direct in res["direct"].items():
        assert np.abs(direct).max() > 0, name
        assert np.abs(res["binned"][name] - direct).max() <= 1e-11 * np.abs(direct).max(), name


def test_three_dimensional_model_all_27_components():
    """A 3D 3-band tight-binding model without symmetry, bands kept apart (no Weyl points, where ∂g
    is singular and the two forms differ by the nodes' contribution): all 27 components, both forms
    of each Γ⁰ term converge to each other (6.9e-6 at 32³, 1.3e-4 at 24³, exponentially)."""
    from qgeom.models import TightBindingModel

    rng = np.random.default_rng(7)
    hop = {(0, 0, 0): np.diag([-3.0, 0.0, 3.0]).astype(complex)}
    for R in [(1, 0, 0), (0, 1, 0), (0, 0, 1), (1, 1, 0), (0, 1, 1)]:
        hop[R] = 0.15 * (rng.normal(size=(3, 3)) + 1j * rng.normal(size=(3, 3)))
    model = TightBindingModel.from_hoppings(hop, add_conjugates=True, lattice=[[1, 0, 0], [0.2, 1.1, 0], [0, 0.3, 0.9]])
    kw = dict(components="all", mu=[-3.2, 0.1, 2.9], temperature=0.3, grid=32)
    a = expansion(model, **kw)
    b = expansion(model, drude_form="velocity_cubed", geometric_form="metric_by_parts", kinetic_form="velocity_cubed",
                  **kw)
    assert a.sigma.sizes["component"] == 27
    for term in ("drude", "bcd", "geometric", "kinetic"):
        x = a.sigma.sel(mechanism="fermionic_bath", term=term).values
        y = b.sigma.sel(mechanism="fermionic_bath", term=term).values
        assert np.abs(x).max() > 1e-4, term
        assert _rel(x, y) < 3e-5, term
    # σ_abc = σ_acb: the b↔c symmetry of every term
    s = a.sigma.sel(mechanism="fermionic_bath")
    for comp in s.component.values:
        swapped = comp[0] + comp[2] + comp[1]
        np.testing.assert_allclose(s.sel(component=comp), s.sel(component=swapped), rtol=1e-10, atol=1e-14)


def test_in_plane_components_of_a_3d_model_differentiate_only_in_plane():
    """Components along x, y only: H is differentiated along x and y only (10 of 20 derivative
    columns, `derivative_axes`) and the result equals the same components computed with all axes."""
    from qgeom.dc.expansion import derivative_axes
    from qgeom.dc.components import component_indices
    from qgeom.models import TightBindingModel

    axes, local = derivative_axes(component_indices(["xyy", "yxx"]))
    assert axes == (0, 1) and [x.tolist() for x in local] == [[0, 1], [1, 0], [1, 0]]
    rng = np.random.default_rng(3)
    hop = {(0, 0, 0): np.diag([-2.0, 0.0, 0.5, 2.5]).astype(complex)}
    for R in [(1, 0, 0), (0, 1, 0), (0, 0, 1), (1, 1, 0), (0, 1, 1)]:
        hop[R] = 0.2 * (rng.normal(size=(4, 4)) + 1j * rng.normal(size=(4, 4)))
    model = TightBindingModel.from_hoppings(hop, add_conjugates=True, lattice=[[1, 0, 0], [0.2, 1.1, 0], [0, 0.3, 0.9]])
    kw = dict(mu=[-1.5, 0.3], temperature=0.2, grid=8, progress=False)
    inplane = expansion(model, components=["xyy", "yxx"], **kw)
    full = expansion(model, components=["xyy", "yxx", "zzz"], **kw)
    for var in ("sigma", "sigma_near_degenerate"):
        ref = full[var].sel(component=["xyy", "yxx"]).values
        np.testing.assert_allclose(inplane[var].values, ref, rtol=1e-12, atol=1e-12 * np.abs(ref).max())


def test_bands_far_from_every_mu_are_skipped_without_changing_the_result(monkeypatch):
    """dc.expansion computes matrix elements only for the bands within FERMI_WINDOW·kT of some μ
    (whole subspaces): on GaAs with μ in the conduction band at kT = 20 meV most bands are skipped,
    and every term equals the all-bands evaluation to 1e-12."""
    from pathlib import Path

    import importlib

    from qgeom.models.wannier90 import from_wannier90

    E = importlib.import_module("qgeom.dc.expansion")  # the module (qgeom.dc re-exports the function as `expansion`)

    gaas = from_wannier90(Path(__file__).resolve().parents[2] / "examples" / "GaAs")
    kw = dict(components=["xyz", "xxy", "zzz"], mu=[8.6, 8.9], temperature=0.02, grid=(6, 6, 6),
              mechanisms=["fermionic_bath", "constant_gamma"], progress=False, symmetry=None)
    calls = []
    S = importlib.import_module("qgeom.dc.sums_over_states")
    original = S.general_per_band

    def spy(b, *args, **kw):
        calls.append((args[-1].stop - args[-1].start, b.nbands))
        return original(b, *args, **kw)

    monkeypatch.setattr(S, "general_per_band", spy)
    windowed = E.expansion(gaas, **kw)
    assert max(n for n, _ in calls) < 16 // 2  # fewer than half the bands in every chunk
    monkeypatch.setattr(importlib.import_module("qgeom.bands"), "FERMI_WINDOW", 1e9)  # the window rule's one place
    full = E.expansion(gaas, **kw)
    for term in full["term"].values:  # each term to its own scale (they span orders of magnitude)
        ref = full["sigma"].sel(term=term).values
        np.testing.assert_allclose(windowed["sigma"].sel(term=term).values, ref, rtol=0,
                                   atol=1e-12 * np.abs(ref).max(), err_msg=str(term))
    near = full["sigma_near_degenerate"].values
    np.testing.assert_allclose(windowed["sigma_near_degenerate"].values, near, rtol=0, atol=1e-12 * np.abs(near).max())


def test_an_unconverged_grid_suggests_the_by_parts_forms_unless_they_are_used():
    from qgeom.accuracy import AccuracyWarning
    from qgeom.dc.expansion import BY_PARTS

    kw = dict(mu=[0.1], temperature=0.05, grid=12, progress=False)
    with pytest.warns(AccuracyWarning, match="integrated-by-parts forms at resolution=0"):
        expansion(tilted_dirac_2band(), **kw)
    with pytest.warns(AccuracyWarning) as record:
        expansion(tilted_dirac_2band(), **BY_PARTS, **kw)
    assert not any("integrated-by-parts" in str(w.message) for w in record)


@pytest.mark.parametrize("model", [pt_tilted_4band(), mnbi2te4_bilayer()], ids=lambda m: m.name)
def test_by_parts_forms_with_no_band_in_the_fermi_window(model):
    """μ far from every band: an empty band window on every chunk (dense path), zero and no error."""
    from qgeom.dc.expansion import BY_PARTS

    forms = dict(BY_PARTS)
    for kw in ({}, forms, dict(kinetic_form="velocity_cubed")):
        ds = expansion(model, mu=[50.0], temperature=0.01, grid=8, progress=False, blocks=False, **kw)
        assert float(abs(ds.sigma).max()) == 0.0


def test_each_term_carries_its_own_unit(tmp_path):
    """The Drude and BCD values are the coefficients of Γ⁻² and Γ⁻¹: in SI they are A V⁻² × eV² and A V⁻² × eV,
    not the A V⁻² of the Γ⁰ terms (`units_by_term`, kept by the derived variables, the CLI header and the text
    export); `units` stays the Γ⁰ terms' unit."""
    import json
    from pathlib import Path

    from qgeom.export import header_lines
    from qgeom.models.wannier90 import from_wannier90

    gaas = from_wannier90(Path(__file__).parents[2] / "examples" / "GaAs")
    ds = expansion(gaas, components="xyz", mu=7.9, temperature=0.05, grid=4, symmetry=None, progress=False,
                   error_tol=1e9)
    by_term = json.loads(ds.sigma.attrs["units_by_term"])
    assert ds.sigma.attrs["units"] == "A V^-2"
    assert by_term == {"drude": "A V^-2 eV^2", "bcd": "A V^-2 eV", "geometric": "A V^-2",
                       "kinetic": "A V^-2", "intrinsic": "A V^-2"}
    for var in ("sigma_near_degenerate", "sigma_error"):
        assert json.loads(ds[var].attrs["units_by_term"]) == by_term
    assert any("drude A V^-2 eV^2, bcd A V^-2 eV," in line for line in header_lines(ds) if line.startswith("#   sigma("))
    obs = expansion(pt_tilted_4band(), observable="current_x", components="xx", mu=-4.0, temperature=0.1, grid=6,
                    progress=False, error_tol=1e9)
    unit, energy = obs.sigma.attrs["units"], pt_tilted_4band().energy_unit
    assert json.loads(obs.sigma.attrs["units_by_term"]) == {"drude": f"{unit} {energy}^2",
                                                            "interband": f"{unit} {energy}"}


def test_size_guard_charges_a_binned_sweep_its_own_cost(monkeypatch):
    """The binned μ sweep's cost per k-point barely grows with the μ count: the estimate charges
    BINNED_MU_THRESHOLD + BINNED_MU_MARGINAL per further μ (1000 μ: 51 swept μ, not 1000 — a 7–30× too high
    estimate before), and every μ of a direct sweep."""
    import importlib

    from qgeom import resources

    F = importlib.import_module("qgeom.dc.fermi_surface_sums")
    seen = []
    real = resources.estimate
    monkeypatch.setattr(resources, "estimate", lambda **kw: seen.append(kw["n_mu"]) or real(**kw))
    for n in (20, 1000):
        expansion(pt_tilted_4band(), components="xyy", mu=np.linspace(-4.6, -3.4, n), temperature=0.05, grid=8,
                  progress=False)
    assert seen[0] == 20
    assert seen[1] == pytest.approx(F.BINNED_MU_THRESHOLD + F.BINNED_MU_MARGINAL * (1000 - F.BINNED_MU_THRESHOLD))
    assert seen[1] < 60


@pytest.mark.parametrize("model, kT, mu", [(pt_tilted_4band, 1e-9, -4.0), (tilted_dirac_2band, 1e-4, 0.5)])
def test_a_fermi_surface_between_the_k_points_is_not_reported_as_zero(model, kT, mu):
    """kT far below the grid's energy step: f0' is negligible at every k-point, every term is ~0 (exactly 0, or
    1e-127) on the grid and its sub-grid alike (no error estimate sees it), although bands cross μ. μ = 0 of
    pt_tilted_4band lies in its gap (|ε| ≥ 1.67): no warning there. The same grid at kT = 0.1 resolves the
    surface."""
    from qgeom.accuracy import AccuracyWarning

    kw = dict(components="xyy", grid=20, progress=False)
    with pytest.warns(AccuracyWarning, match=rf"rounding level at mu = {mu:g} although bands cross it"):
        cold = expansion(model(), mu=[mu, 0.0] if model is pt_tilted_4band else [mu], temperature=kT, **kw)
    assert np.abs(cold.sigma.values).max() < 1e-100 and cold.attrs["fermi_surface_missed_mu"] == [mu]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the coarse grid's error estimate
        warm = expansion(model(), mu=[mu], temperature=0.1, **kw)
    assert np.any(warm.sigma.values) and "fermi_surface_missed_mu" not in warm.attrs


def test_a_grid_without_an_error_estimate_says_so():
    """2² and 5² have no sub-grid (a count n needs a divisor s < n among 2, 3, 5, 7): the result is unchecked, and
    a 2² grid's geometric term is 400× the converged one; the warning says so (it was only an attribute)."""
    from qgeom.accuracy import AccuracyWarning

    for grid in (2, 5):
        with pytest.warns(AccuracyWarning, match=rf"no k-grid error estimate for the \[{grid}, {grid}\] grid"):
            ds = expansion(tilted_dirac_2band(), components="xyy", mu=[0.3], temperature=0.1, grid=grid, progress=False)
        assert "sigma_error" not in ds and "unavailable" in metadata(ds, "error_estimate")["sigma"]["method"]
