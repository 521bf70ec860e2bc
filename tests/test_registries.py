"""Registries: a response kind / a dissipation mechanism is one entry that the API and the CLI read."""

from __future__ import annotations

import numpy as np
import pytest
from click.testing import CliRunner

from qgeom import QgeomInputError
from qgeom.cli import main
from qgeom.dc import expansion
from qgeom.dc.mechanisms import MECHANISM_REGISTRY, Mechanism, assemble
from qgeom.models.library import tilted_dirac_2band
from qgeom.optical import current, response
from qgeom.optical.terms import ALL_TERMS, KERNEL_OF, NUMERATOR_OF, TERMS, Term, prefactor

M = tilted_dirac_2band()


def test_views_of_the_optical_registry_keep_their_values():
    assert ALL_TERMS[:3] == ("injection", "textbook_injection", "kramers_injection")
    assert KERNEL_OF["shift_like"] == "resolvent" and NUMERATOR_OF["kramers_unsplit"] == "KA"
    assert prefactor("injection", 2.0) == np.pi * 2.0 / 4 and prefactor("shift_like", None) == 0.25j
    assert prefactor("kramers_fermi_sea", None) == 1 / 8


def test_a_new_response_kind_is_one_registry_entry(monkeypatch):
    """A kind registered at run time (same numerator and kernel as KFS, twice its prefactor) is
    accepted by optical.response and gives exactly 2 × KFS."""
    monkeypatch.setitem(TERMS, "kfs_twice", Term("KA", "pf2", 1, 4, "test", "twice the Kramers Fermi sea"))
    kw = dict(omega=np.linspace(0.4, 1.6, 5), mu=0.4, temperature=0.05, broadening=0.05, grid=12, progress=False,
              si=False)
    ds = response(M, current("x"), kinds=["kfs_twice", "kramers_fermi_sea"], **kw)
    a, b = ds.chi.sel(kind="kfs_twice").values, ds.chi.sel(kind="kramers_fermi_sea").values
    assert np.abs(b).max() > 0
    np.testing.assert_allclose(a, 2 * b, rtol=1e-13, atol=0)


def test_a_new_mechanism_is_one_registry_entry(monkeypatch):
    monkeypatch.setitem(MECHANISM_REGISTRY, "half_bath",
                        Mechanism("half", "test", lambda p, rta: (p.interband - 0.5 * p.dipole), kinetic=True))
    ds = expansion(M, components="xyy,yxx", mu=[0.2, 0.5], temperature=0.1, grid=16,
                   mechanisms=["fermionic_bath", "half_bath"], progress=False)
    s = ds.sigma
    np.testing.assert_allclose(s.sel(mechanism="half_bath", term="geometric"),
                               0.5 * s.sel(mechanism="fermionic_bath", term="geometric"), rtol=1e-13)
    np.testing.assert_array_equal(s.sel(mechanism="half_bath", term="kinetic"),
                                  s.sel(mechanism="fermionic_bath", term="kinetic"))


def test_an_unknown_mechanism_is_never_treated_as_rta():
    raw = {k: np.ones((1, 1)) for k in ("G_ab_c", "G_bc_a", "metric_dipole", "kin", "drude", "bcd")}
    with pytest.raises(QgeomInputError, match="unknown mechanism 'boltzmann'; allowed: fermionic_bath"):
        assemble(raw, ["boltzmann"], (1.0, 0.5))
    with pytest.raises(QgeomInputError, match="unknown mechanism"):
        expansion(M, mu=0.2, temperature=0.1, grid=4, mechanisms=["boltzmann", "rta"], rta=(1.0, 0.5))


def test_cli_choices_help_and_columns_come_from_the_registries(tmp_path):
    help_text = " ".join(CliRunner().invoke(main, ["optical", "--help"]).output.split())
    for name, term in TERMS.items():
        assert name in help_text and term.equation in help_text
    help_text = " ".join(CliRunner().invoke(main, ["dc", "--help"]).output.split())
    for name in MECHANISM_REGISTRY:
        assert name in help_text
    res = CliRunner().invoke(main, ["dc", "--model", "tilted_dirac_2band", "--grid", "8", "--mu", "0.5",
                                    "--rta", "1,0.5", "--out", str(tmp_path / "d.nc")])
    assert res.exit_code == 0, res.output
    header = next(line for line in res.output.splitlines() if line.strip().startswith("mu"))
    for m in MECHANISM_REGISTRY.values():
        assert f"{m.short}:sigma0" in header
    assert "bath:geo" in header and "bath:kin" in header
