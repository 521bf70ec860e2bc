"""Adaptive k-grid refinement (`qgeom.refinement`, `dc.expansion(refine=...)`): the machinery is
exact (a fully refined level is the doubled grid), refinement converges to the dense-grid answer
with fewer points, composes with symmetry= and the executors, resumes from a checkpoint, and
reports what it did."""

import json
import warnings

import numpy as np
import pytest
import xarray as xr

from qgeom import dc, refinement
from qgeom._validation import QgeomInputError
from qgeom.accuracy import AccuracyWarning
from qgeom.dc.expansion import BY_PARTS
from qgeom.models import pt_tilted_4band
from qgeom.results import metadata

from qgeom.symmetry import from_symbol, restrict
from tests.symmetry.models import symmetric_model

KW = dict(components="xxx,xyy,yxx", mu=np.linspace(-1.5, 1.5, 5), temperature=0.02, progress=False, error_tol=1e9)


def _relative(a, ref):
    """max over terms of max |a − ref| / max |ref| (components, μ) — terms that are numerical zeros skipped."""
    a, ref = a.sigma.values, ref.sigma.values
    scale = np.abs(ref).max(axis=(2, 3))
    live = scale > 1e-8 * scale.max()
    return float((np.abs(a - ref).max(axis=(2, 3))[live] / scale[live]).max())


def test_fully_refined_level_is_the_doubled_grid(monkeypatch):
    monkeypatch.setattr(refinement, "WINDOW_MAX", 1e9)  # every cell in the window: level 1 = the 2n grid
    monkeypatch.setattr(refinement, "BORDER_MARGIN", np.inf)
    monkeypatch.setattr(refinement, "RESOLVED", 0.0)
    model = pt_tilted_4band()
    doubled = dc.expansion(model, grid=40, **KW)
    refined = dc.expansion(model, grid=20, refine=1, refine_tol=1e-14, **KW)
    assert _relative(refined, doubled) < 1e-12
    info = json.loads(refined.attrs["refinement"])
    assert info["history"][0]["cells_refined"] == 400 and info["points_evaluated"] == 400 + 5 * 400


def test_refinement_converges_to_the_dense_grid_with_fewer_points():
    model = pt_tilted_4band()
    dense = dc.expansion(model, grid=200, **KW)
    plain = dc.expansion(model, grid=50, **KW)
    refined = dc.expansion(model, grid=50, refine=3, refine_tol=1e-12, **KW)
    assert _relative(plain, dense) > 1e-5  # the base grid alone is not converged …
    assert _relative(refined, dense) < 1e-10  # … refined it is, to the dense grid's accuracy
    info = json.loads(refined.attrs["refinement"])
    assert info["converged"] and info["levels_done"] >= 1
    assert info["points_evaluated"] < 100**2  # fewer than the plain grid of the same finest spacing
    assert info["fermi_window_kT"] == refinement.WINDOW_MAX  # the border term at rounding level
    # the error estimate is the last level's change, and it bounds the true error
    assert float(refined.sigma_error.max()) < 1e-6 * float(abs(refined.sigma).max())
    assert "refinement" in json.loads(refined.attrs["error_estimate"])["sigma"]["method"]
    params = json.loads(refined.attrs["parameters"])
    assert params["refine"] == 3 and params["refine_tol"] == 1e-12


def test_the_refined_window_follows_refine_tol():
    """A looser refine_tol refines a narrower Fermi window (W = ln(1e5/tol) kT): fewer points, and the
    border term it leaves stays far below the tolerance (measured: 7e-6 at 1e-3, 2e-8 at 1e-6)."""
    model = pt_tilted_4band()
    dense = dc.expansion(model, grid=200, **KW)
    points = []
    for tol in (1e-3, 1e-6):
        refined = dc.expansion(model, grid=50, refine=3, refine_tol=tol, **KW)
        info = json.loads(refined.attrs["refinement"])
        assert info["converged"] and info["fermi_window_kT"] == pytest.approx(np.log(1e5 / tol))
        assert _relative(refined, dense) < tol / 10
        points.append(info["points_evaluated"])
    assert points[0] < 0.7 * points[1]


def test_a_resolved_grid_is_left_alone():
    model = pt_tilted_4band()
    kw = {**KW, "temperature": 0.5}
    plain = dc.expansion(model, grid=60, **kw)
    refined = dc.expansion(model, grid=60, refine=2, **kw)
    info = json.loads(refined.attrs["refinement"])
    assert info["levels_done"] == 0 and info["converged"]
    np.testing.assert_array_equal(refined.sigma.values, plain.sigma.values)


def test_unconverged_refinement_warns_and_says_so():
    model = pt_tilted_4band()
    with pytest.warns(AccuracyWarning, match="refinement stopped before converging"):
        ds = dc.expansion(model, grid=12, refine=1, refine_tol=1e-12, **KW)
    info = json.loads(ds.attrs["refinement"])
    assert not info["converged"] and info["levels_done"] == 1


def _cubic():
    return symmetric_model(restrict(from_symbol("m'-3'"), 3), np.eye(3))


# the by-parts forms (no interband denominators in the Drude and kinetic terms): the refined points of 6³ come
# close to band crossings near μ, where the seed Drude's 2|v|²/Δε amplifies the rounding of H — wedge vs full
# grid 5e-12 and 1.6e-10 of the Drude for two bracketings of the same Fourier sums (1e-13 for the by-parts forms)
CUBIC_KW = dict(components="xyz,xxx,yzz", mu=[-0.4, 0.5], temperature=0.1, progress=False, error_tol=1e9,
                refine=1, refine_tol=1e-12, **BY_PARTS)


FCC = 0.5 * np.array([[0.0, 1, 1], [1, 0, 1], [1, 1, 0]])


@pytest.mark.parametrize("lattice", [np.eye(3), FCC], ids=["simple_cubic", "fcc"])
def test_refinement_with_symmetry_equals_the_full_grid(lattice):
    """On fcc the group acts on reduced coordinates by matrices that are not signed permutations: a wedge
    cell's sub-cells are not its images' sub-cells; each cell takes the group-averaged pattern (with the
    plain one: wedge ≠ full by 0.72 relative here)."""
    model = symmetric_model(restrict(from_symbol("m'-3'"), 3), lattice)
    kw = {**CUBIC_KW, "offset": "gamma"}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", AccuracyWarning)
        full = dc.expansion(model, grid=6, **kw)
        sym = dc.expansion(model, grid=6, symmetry="m'-3'", **kw)
    assert json.loads(full.attrs["refinement"])["levels_done"] == 1
    a, b = full.sigma.values, sym.sigma.values
    scale = np.maximum(np.abs(a).max(axis=(0, 2, 3), keepdims=True), 1e-2 * np.abs(a).max())
    assert np.abs(a).max() > 1e-3 and np.all(np.abs(a - b) <= 1e-10 * scale)


def test_refinement_process_pool_and_checkpoint_equal_serial(tmp_path):
    model = _cubic()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", AccuracyWarning)
        serial = dc.expansion(model, grid=6, symmetry="m'-3'", **CUBIC_KW)
        pooled = dc.expansion(model, grid=6, symmetry="m'-3'", workers=2, chunk_size=7, **CUBIC_KW)
        first = dc.expansion(model, grid=6, symmetry="m'-3'", checkpoint=tmp_path, **CUBIC_KW)
        again = dc.expansion(model, grid=6, symmetry="m'-3'", checkpoint=tmp_path, **CUBIC_KW)
    scale = np.abs(serial.sigma.values).max()
    assert np.abs(pooled.sigma.values - serial.sigma.values).max() <= 1e-12 * scale
    np.testing.assert_array_equal(first.sigma.values, again.sigma.values)
    assert any((tmp_path / "refinement_level_1").iterdir())


@pytest.mark.parametrize("bad, match", [
    (dict(refine=-1), "refine must be an integer"),
    (dict(refine=True), "refine must be an integer"),
    (dict(refine=1.5), "refine must be an integer"),
    (dict(refine=1, refine_tol=0.0), "refine_tol"),
    (dict(refine=1, observable="identity"), "refine= is implemented for the current"),
])
def test_bad_refinement_input(bad, match):
    with pytest.raises(QgeomInputError, match=match):
        dc.expansion(pt_tilted_4band(), grid=8, **{**KW, **bad})


def test_continuum_grids_are_refused():
    from qgeom.models import mnbi2te4_bilayer

    with pytest.raises(QgeomInputError, match="uniform lattice grid"):
        dc.expansion(mnbi2te4_bilayer(), grid=(8, 8), components="xxx", mu=[0.01], temperature=0.01, progress=False,
                     refine=1, error_tol=1e9)


@pytest.mark.parametrize(("levels", "tol", "converged"), [(2, "1e-4", True), (1, "1e-12", False)])
def test_cli_refine(tmp_path, levels, tol, converged):
    """The CLI summary line says whether the levels converged, and with what last change when they did not."""
    from click.testing import CliRunner

    from qgeom.cli import main

    out = tmp_path / "dc.nc"
    res = CliRunner().invoke(main, ["dc", "--model", "pt_tilted_4band", "--grid", "30", "--temperature", "0.02",
                                    "--mu=-1.5,1.5", "--components", "xyy", "--refine", str(levels), "--refine-tol",
                                    tol, "--out", str(out), "--quiet"])
    assert res.exit_code == 0, res.output
    summary = next(line for line in res.output.splitlines() if line.startswith("refinement: "))
    with xr.open_dataset(out) as ds:
        info = metadata(ds, "refinement")
    assert info["levels_requested"] == levels and info["points_evaluated"] > 900
    assert info["converged"] is converged and ("NOT converged" in summary) is (not converged)
    if not converged:
        assert f"by {info['history'][-1]['relative_change']:.2g} > --refine-tol {float(tol):g}" in summary


def test_refined_real_material_equals_the_finer_plain_grid():
    """GaAs (Wannier90, convention II with MDRS) with a 50 meV exchange field, kT = 10 meV, μ-scan
    across the conduction-band bottom: every cell where the integrand lives is in the Fermi window,
    so 12³ refined by one level is the plain 24³ grid (to rounding) at a fraction of its points."""
    from qgeom.models import from_wannier90
    from qgeom.models.onsite import with_exchange_field

    model = with_exchange_field(from_wannier90("examples/GaAs"), 0.05, axis="z", spinor_ordering="interleaved")
    kw = dict(components="xxx,zxy", mu=np.linspace(7.9, 8.1, 3), temperature=0.01, progress=False, error_tol=1e9)
    plain = dc.expansion(model, grid=24, **kw)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", AccuracyWarning)
        refined = dc.expansion(model, grid=12, refine=1, refine_tol=1e-12, **kw)
    assert np.abs(plain.sigma.values).max() > 0
    assert _relative(refined, plain) < 1e-9
    assert json.loads(refined.attrs["refinement"])["points_evaluated"] < 24**3 / 2


def test_a_gamma_centred_base_refines_into_the_monkhorst_pack_grid():
    """Sub-cell centres lie at ±¼ of a cell: Γ-centred 12³ + 1 level is the Monkhorst–Pack 24³ grid (to the window's
    border term), not the Γ-centred 24³ one, which on a Weyl model with its nodes on the plane k_y = 0 (and at
    k_x = ±1/6: on that grid) differs by more than the result itself (docs/refinement.md, "Weyl nodes")."""
    from tests.weyl_models import magnetic_weyl

    kw = dict(components="xxx,zxy", mu=np.linspace(-0.45, 0.45, 4), temperature=0.05, symmetry=None,
              mechanisms=["fermionic_bath"], progress=False, error_tol=1e9)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", AccuracyWarning)  # unconverged on purpose: the grids are the point
        refined = dc.expansion(magnetic_weyl(), grid=12, offset="gamma", refine=1, refine_tol=1e-12, **kw)
        mp = dc.expansion(magnetic_weyl(), grid=24, offset="mp", **kw)
        gamma = dc.expansion(magnetic_weyl(), grid=24, offset="gamma", **kw)
    assert _relative(refined, mp) < 1e-10
    assert _relative(refined, gamma) > 0.5
