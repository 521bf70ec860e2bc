"""Options validated once at the edge: frozen typed objects, clear errors for misspelt keywords,
no silent replacement of a user's value."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from click.testing import CliRunner

from qgeom import QgeomInputError
from qgeom.cli import main
from qgeom.dc import expansion
from qgeom.dc.exact import exact
from qgeom.dc.gamma_fit import gamma_scan
from qgeom.models.library import qi_wu_zhang, tilted_dirac_2band
from qgeom.optical import current, response
from qgeom.options import DEFAULT_DEGEN_TOL, Execution, QgeomKeywordError, Sampling, Thermal
from qgeom.summary import band_geometry

M = tilted_dirac_2band()
CALLS = {
    "expansion": lambda **kw: expansion(M, mu=0.5, temperature=0.1, grid=4, progress=False, **kw),
    "exact": lambda **kw: exact(M, mu=0.5, temperature=0.1, gamma=0.05, grid=4, nodes=4, progress=False, **kw),
    "gamma_scan": lambda **kw: gamma_scan(M, mu=0.5, temperature=0.1, gammas=np.linspace(0.01, 0.02, 7), grid=4,
                                          progress=False, **kw),
    "response": lambda **kw: response(M, current("x"), kinds=["shift_like"], omega=[0.5], temperature=0.05, grid=4,
                                      progress=False, **kw),
    "band_geometry": lambda **kw: band_geometry(M, grid=4, progress=False, **kw),
}


@pytest.mark.parametrize("name", list(CALLS))
def test_misspelt_keyword_names_the_allowed_ones(name):
    with pytest.raises(QgeomKeywordError) as err:
        CALLS[name](degen_tool=1e-3)
    msg = str(err.value)
    assert "'degen_tool'" in msg and "(did you mean 'degen_tol'?)" in msg and "Allowed keywords:" in msg
    assert isinstance(err.value, TypeError) and isinstance(err.value, QgeomInputError)


@pytest.mark.parametrize("name", list(CALLS))
def test_degen_tol_zero_is_an_error_not_the_default(name):
    with pytest.raises(QgeomInputError, match="degen_tol"):
        CALLS[name](degen_tol=0)


def test_cli_degen_tol_zero_is_refused():
    res = CliRunner().invoke(main, ["geometry", "--model", "qi_wu_zhang", "--degen-tol", "0", "--grid", "4"])
    assert res.exit_code == 2 and "degen_tol" in res.output and "greater than 0" in res.output


def test_optical_response_with_several_mu_is_a_clear_error():
    with pytest.raises(QgeomInputError, match=r"one chemical potential per call, got 2 values \(\[0.0, 0.1\]\)"):
        response(M, current("x"), omega=[0.5], mu=[0, 0.1], grid=4, progress=False)
    kw = dict(kinds=["shift_like"], omega=[0.5], temperature=0.05, grid=4, progress=False)
    one = response(M, current("x"), mu=[0.1], **kw)
    ref = response(M, current("x"), mu=0.1, **kw)
    np.testing.assert_array_equal(one.chi.values, ref.chi.values)


def test_option_objects_are_frozen_validated_and_hold_the_defaults():
    s = Sampling()
    assert (s.grid, s.offset, s.degen_tol, s.blocks) == (200, "mp", DEFAULT_DEGEN_TOL, True)
    with pytest.raises(dataclasses.FrozenInstanceError):
        s.degen_tol = 1.0
    for bad, match in [(dict(degen_tol=-1), "degen_tol"), (dict(offset="shifted"), "offset"),
                       (dict(cutoff=0), "cutoff"), (dict(blocks="yes"), "blocks")]:
        with pytest.raises(QgeomInputError, match=match):
            Sampling(**bad)
    for bad in (dict(chunk_size=0), dict(workers=1.5), dict(workers=True)):
        with pytest.raises(QgeomInputError, match=next(iter(bad))):
            Execution(**bad)
    t = Thermal(0.1, 0.3)
    assert t.temperature == 0.1 and t.mu.tolist() == [0.3]
    with pytest.raises(QgeomInputError, match="temperature"):
        Thermal(0.0, 0.3)
    # the public signatures take their defaults from the option objects
    import inspect

    for func in (expansion, exact, gamma_scan, band_geometry, response):
        p = inspect.signature(func).parameters
        assert p["degen_tol"].default == DEFAULT_DEGEN_TOL, func.__name__
    assert inspect.signature(band_geometry).parameters["grid"].default == Sampling.grid


def test_temperature_is_validated_once_per_call(monkeypatch):
    """kT is checked at the edge, not again in every k-chunk (before: 32 checks for 32 chunks)."""
    import importlib

    import qgeom.occupation as occupation
    import qgeom.options as options

    optical_response = importlib.import_module("qgeom.optical.response")  # the module, not the function

    calls = []
    real = options.positive_scalar
    for module in (options, occupation, optical_response):
        monkeypatch.setattr(module, "positive_scalar", lambda x, name: calls.append(name) or real(x, name))
    response(qi_wu_zhang(u=1.0), current("x"), kinds=["shift_like"], omega=[0.5], temperature=0.05, grid=16,
             chunk_size=8, progress=False)
    assert calls.count("temperature") == 1
