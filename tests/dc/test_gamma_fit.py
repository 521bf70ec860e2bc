"""The Γ fit: how many Γ values it needs and what it reports with the fewest (issue 14 item 9)."""

from __future__ import annotations

import numpy as np
import pytest
from click.testing import CliRunner

from qgeom import QgeomInputError
from qgeom.cli import main
from qgeom.dc.gamma_fit import fit_gamma_series, gamma_counts


def _series(g):
    return 2.0 / g**2 - 0.5 / g + 0.3 + 0.7 * g - 0.2 * g**2


def test_six_values_fit_without_a_made_up_uncertainty():
    g = np.linspace(0.01, 0.04, 6)
    fit = fit_gamma_series(g, _series(g))
    np.testing.assert_allclose(fit["value"], [2.0, -0.5, 0.3], rtol=1e-8)
    assert np.isnan(fit["uncertainty"]).all()  # one fit: unknown, not zero


def test_seven_values_give_an_uncertainty():
    g = np.linspace(0.01, 0.04, 7)
    noisy = _series(g) * (1 + 1e-9 * np.cos(40 * g / 0.04))
    fit = fit_gamma_series(g, noisy)
    assert np.all(np.isfinite(fit["uncertainty"])) and fit["uncertainty"][2] > 0
    assert gamma_counts() == (6, 7)


def test_too_few_values_name_the_real_minimum_and_no_fit():
    g = np.array([0.01, 0.02])
    with pytest.raises(QgeomInputError, match=r"at least 6 Γ values \(7 for an uncertainty\), got 2.*--no-fit"):
        fit_gamma_series(g, _series(g))


def test_cli_refuses_two_gammas_before_computing():
    res = CliRunner().invoke(main, ["dc-exact", "--model", "tilted_dirac_2band", "--gamma", "0.01,0.02",
                                    "--grid", "400", "--mu", "0.3"])
    assert res.exit_code != 0
    assert "at least 6 Γ values" in res.output and "--no-fit" in res.output


def test_fit_and_expansion_coefficients_carry_their_units():
    """A, B, C multiply Γ⁻², Γ⁻¹, Γ⁰: σ's unit times energy², energy, 1, as `sigma_error` and the expansion's
    terms carry theirs (the coefficients had no units at all)."""
    import json
    import warnings

    from qgeom.dc.gamma_fit import gamma_scan
    from qgeom.models.library import mnbi2te4_bilayer_lattice

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # a coarse grid: the error estimate warns
        ds = gamma_scan(mnbi2te4_bilayer_lattice(), components="xxx", mu=[0.06], temperature=0.03,
                        gammas=np.linspace(2e-4, 1e-3, 7), grid=8, progress=False)
    unit = ds["sigma"].attrs["units"]
    assert unit  # the lattice MnBi2Te4 is in eV and Å: an SI unit
    for name in ("fit", "fit_uncertainty", "expansion"):
        assert ds[name].attrs["units"] == unit
        assert json.loads(ds[name].attrs["units_by_coefficient"]) == {"A": f"{unit} eV^2", "B": f"{unit} eV", "C": unit}
    assert ds["expansion_geometric"].attrs["units"] == ds["expansion_kinetic"].attrs["units"] == unit


def test_the_scan_reports_the_cost_of_both_its_k_sums(monkeypatch):
    """gamma_scan runs the exact scan and the comparison expansion: its parameters' compute_s counts the chunks of
    both (each 1 s on a fake clock), not only the exact scan's whose parameters it keeps."""
    import itertools
    import types

    from qgeom import kspace
    from qgeom.dc.exact import exact
    from qgeom.dc.expansion import expansion
    from qgeom.dc.gamma_fit import gamma_scan
    from qgeom.models.library import tilted_dirac_2band
    from qgeom.results import metadata

    ticks = itertools.count()
    monkeypatch.setattr(kspace, "time", types.SimpleNamespace(perf_counter=lambda: float(next(ticks))))
    kw = dict(components="xyy", mu=0.3, temperature=0.1, grid=12, progress=False)
    gammas = np.linspace(0.01, 0.04, 7)
    scan = metadata(gamma_scan(tilted_dirac_2band(), gammas=gammas, **kw), "parameters")
    alone = metadata(exact(tilted_dirac_2band(), gamma=gammas, **kw), "parameters")["compute_s"]
    series = metadata(expansion(tilted_dirac_2band(), mechanisms=["fermionic_bath"], **kw), "parameters")["compute_s"]
    assert alone >= 1 and series >= 1 and scan["compute_s"] == alone + series and scan["temperature"] == 0.1


def test_the_scan_compares_with_the_expansion_at_the_resolution_given():
    """The exact NESS groups no pair; the comparison expansion's default groups pairs closer than kT in its Γ⁰
    terms. `resolution=0` compares with every pair resolved (the Γ → 0 limit), and says so in the parameters."""
    import warnings

    from qgeom.dc import expansion
    from qgeom.dc.gamma_fit import gamma_scan
    from qgeom.models.library import split_pair_2band
    from qgeom.results import metadata

    m = split_pair_2band(delta=0.02)  # a pair 0.02 apart at every k, below kT = 0.1
    kw = dict(components="yxx", mu=[-1.0], temperature=0.1, grid=12, progress=False)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # a coarse grid, a grouped pair: the estimates warn
        default = gamma_scan(m, gammas=np.linspace(2e-4, 8e-4, 7), **kw)
        resolved = gamma_scan(m, gammas=np.linspace(2e-4, 8e-4, 7), resolution=0.0, **kw)
        plain = expansion(m, mechanisms=["fermionic_bath"], resolution=0.0, **kw).sigma
    c = resolved.expansion.sel(coefficient="C").values
    want = (plain.sel(term="geometric") + plain.sel(term="kinetic")).squeeze("mechanism").values
    np.testing.assert_allclose(c, want, rtol=1e-12)
    assert abs(default.expansion.sel(coefficient="C").values - c).max() > 1e-3 * np.abs(c).max()
    assert metadata(resolved, "parameters")["expansion_resolution"] == 1e-6  # resolution 0: down to degen_tol
    assert metadata(default, "parameters")["expansion_resolution"] == 0.1


def test_cli_refuses_a_resolution_without_the_fit():
    res = CliRunner().invoke(main, ["dc-exact", "--model", "tilted_dirac_2band", "--no-fit", "--resolution", "0",
                                    "--grid", "8", "--mu", "0.3"])
    assert res.exit_code != 0 and "--resolution sets the expansion the fit is compared with" in res.output
