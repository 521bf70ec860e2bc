"""Figures a referee accepts (issue 14 item 5): one panel per Γ order, units spelled out, no lines
across band index, legends outside the data when long, numerical zeros said, not drawn."""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr

from qgeom.dc import expansion
from qgeom.models.library import pt_tilted_4band, qi_wu_zhang
from qgeom.plots import STYLE, plot_expansion, plot_result, pretty_unit
from qgeom.results import make_result
from qgeom.summary import band_geometry


@pytest.fixture(scope="module")
def dc():
    return expansion(pt_tilted_4band(), components="xyy,xxx", mu=np.linspace(-4.4, -3.6, 5), temperature=0.05,
                     grid=40, rta=(1, 1), progress=False)


def test_units_read_as_units():
    assert pretty_unit("v") == "units of v"  # the seed's hopping, not volts
    assert pretty_unit("e^3 a^1 / (hbar v)") == "e³ a / (ħ v)"
    assert pretty_unit("A m^0 V^-2") == "A V⁻²"
    assert pretty_unit("eV") == "eV" and pretty_unit("model") == "model units"
    geo = band_geometry(qi_wu_zhang(u=1.0), grid=8, progress=False)
    assert geo["berry_curvature_integral"].attrs["units"] == "1"  # ∫d²k/(2π)² of a length²: was "a^(2-2)"


def test_dc_figure_has_one_panel_per_gamma_order(dc):
    fig = plot_result(dc)
    assert fig is not None and len(fig.axes) == 2 * (2 + 3)  # components × (Γ⁻², Γ⁻¹, Γ⁰ per mechanism)
    titles = [ax.get_title() for ax in fig.axes]
    assert titles[:5] == ["σ_xyy: Γ⁻² coefficient (Drude)", "σ_xyy: Γ⁻¹ coefficient (BCD)",
                          "σ_xyy: Γ⁰, fermionic bath", "σ_xyy: Γ⁰, constant gamma", "σ_xyy: Γ⁰, rta"]
    assert fig.axes[0].get_ylabel() == "σ⁽⁻²⁾ (e³ a / (ħ v) × v²)"
    assert fig.axes[2].get_ylabel() == "σ⁽⁰⁾ (e³ a / (ħ v))"
    assert fig.axes[-1].get_xlabel() == "chemical potential μ (units of v)"
    for ax in fig.axes[2:5]:  # no Drude or BCD curve on a Γ⁰ axis
        assert {line.get_label() for line in ax.get_lines()} <= {"geometric", "kinetic", "intrinsic", "_child1"} | {
            line.get_label() for line in ax.get_lines() if line.get_label().startswith("_")}
    # the BCD of this PT-symmetric model is rounding noise: said, not drawn
    bcd = fig.axes[1]
    assert not bcd.get_lines()[1:] and any("numerical zero" in t.get_text() for t in bcd.texts)


def test_geometry_plot_has_no_lines_across_band_index():
    geo = band_geometry(qi_wu_zhang(u=1.0), grid=8, progress=False)
    fig = plot_result(geo)
    drawn = [line for ax in fig.axes for line in ax.get_lines() if len(line.get_xdata()) > 1]
    assert all(line.get_linestyle() == "None" for line in drawn)  # markers (o) and error-bar caps (_) only
    assert sum(line.get_marker() == "o" for line in drawn) == 4 + 4 + 1 + 1  # Ω and g (2×2), ε, C per band


def test_long_legend_sits_outside_the_data():
    g = np.linspace(0.01, 0.28, 28)
    ds = make_result({"sigma": (("gamma", "component", "mu"), np.random.default_rng(1).normal(size=(28, 1, 7)))},
                     {"gamma": g, "component": ["xyy"], "mu": np.linspace(0, 1, 7)}, model=qi_wu_zhang(u=1.0),
                     grid={"shape": [4, 4]}, parameters={}, units={"sigma": "A V^-2", "mu": "eV"}, title="scan")
    fig = plot_result(ds)
    fig.canvas.draw()
    ax = fig.axes[0]
    legend = ax.get_legend()
    assert len(legend.get_texts()) == 24  # MAX_LINES
    assert legend.get_window_extent().x0 >= ax.get_window_extent().x1


def test_one_style():
    assert STYLE["savefig.bbox"] == "tight" and STYLE["figure.constrained_layout.use"] is True
    ds = xr.Dataset({"y": (("x",), np.arange(3.0))}, coords={"x": np.arange(3.0)})
    assert plot_result(ds) is not None


def test_plot_expansion_draws_a_given_result(dc, tmp_path):
    from qgeom.dc.figures import plot_expansion as write

    assert write(dc, tmp_path / "d.png").stat().st_size > 10000
    assert len(plot_expansion(dc, terms=("intrinsic",)).axes[2].get_lines()) == 2  # intrinsic + zero line


def test_many_components_draw_the_largest_rows_and_name_the_rest(tmp_path):
    """A row per component is a page up to MAX_COMPONENT_ROWS: components zero in every term get no row,
    the smaller ones beyond the cap are named in the title, `components=` (CLI --components) picks rows,
    and a result that is zero everywhere draws one panel that says so."""
    from click.testing import CliRunner

    from qgeom.cli import main
    from qgeom.plots import MAX_COMPONENT_ROWS
    from qgeom.results import save

    ds = expansion(pt_tilted_4band(), components="xyy", mu=np.linspace(-4.4, -3.6, 3), temperature=0.05, grid=16,
                   progress=False, error_tol=1e9)
    wide = ds.reindex(component=[f"c{i}" for i in range(9)] + ["zero"]).fillna(0.0)
    wide["sigma"][:] = np.cos(wide.mu.values)[None, None, None, :] * np.arange(1, 11)[None, None, :, None]
    wide["sigma"].loc[dict(component="zero")] = 0.0
    fig = plot_expansion(wide)
    titles = [ax.get_title() for ax in fig.axes if ax.get_title()]
    rows = [t.split(":")[0] for t in titles[::4]]
    assert rows == [f"σ_c{i}" for i in range(9 - MAX_COMPONENT_ROWS, 9)]  # the largest, in the result's order
    note = fig._suptitle.get_text()
    assert "zero in every term (forbidden or numerical zero): zero" in note and "not drawn (smaller): c0, c1, c2" in note
    assert [ax.get_title().split(":")[0] for ax in plot_expansion(wide, components=["c0"]).axes][0] == "σ_c0"
    with pytest.raises(Exception, match="not in the result"):
        plot_expansion(wide, components=["xyz"])
    zero = wide.copy(deep=True)
    zero["sigma"][:] = 0.0
    fig = plot_expansion(zero)
    assert len(fig.axes) == 1 and "every component is 0" in fig.axes[0].texts[0].get_text()
    path = tmp_path / "wide.nc"
    save(wide, path)
    out = CliRunner().invoke(main, ["plot", str(path), "--out", str(tmp_path / "w.png"), "--components", "c1,c2"])
    assert out.exit_code == 0 and (tmp_path / "w.png").stat().st_size > 10000


def test_mu_in_any_order_is_drawn_along_increasing_mu(dc):
    """μ given as an unsorted list (e.g. `--mu 7.4,8.4,7.9366`): the lines follow increasing μ, not the list."""
    shuffled = dc.isel(mu=[3, 0, 4, 1, 2])
    fig = plot_expansion(shuffled)
    x = fig.axes[0].get_lines()[0].get_xdata()
    assert np.all(np.diff(np.asarray(x, float)) > 0)
