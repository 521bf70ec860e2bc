"""Numerical zeros of DC results are labelled, not printed as physics (issue 14 item 9)."""

from __future__ import annotations

import numpy as np
from click.testing import CliRunner

from qgeom.cli import main
from qgeom.dc import expansion
from qgeom.dc.zeros import REL_ZERO, numerical_zeros
from qgeom.models.library import pt_tilted_4band

KW = dict(components="xyy,yxx", mu=[-4.0, -3.6], temperature=0.05, grid=40, mechanisms=["fermionic_bath"],
          progress=False)


def test_mirror_forbidden_component_is_a_numerical_zero():
    ds = expansion(pt_tilted_4band(), **KW)
    zero = numerical_zeros(ds)
    s = ds.sigma.sel(mechanism="fermionic_bath")
    forbidden = np.abs(s.sel(component="yxx")).max()
    allowed = np.abs(s.sel(component="xyy", term=["drude", "geometric", "kinetic"])).min()
    assert forbidden < 1e-12 * allowed  # the premise: yxx is rounding noise (~1e-19), xyy is physics
    assert bool(zero.sel(component="yxx").all())
    assert not bool(zero.sel(component="xyy", term=["drude", "geometric", "kinetic"]).any())
    assert REL_ZERO == 1e-10


def test_dc_table_labels_numerical_zeros(tmp_path):
    args = ["dc", "--model", "pt_tilted_4band", "--components", "xyy,yxx", "--mu=-4,-3.6", "--temperature", "0.05",
            "--grid", "40", "--mechanisms", "fermionic_bath", "--out", str(tmp_path / "d.nc")]
    res = CliRunner().invoke(main, args + ["--symmetry", "none"])  # the model's own sums: rounding noise
    assert res.exit_code == 0, res.output
    rows = res.output.split("component yxx:")[1].strip().split("\n\n")[0].splitlines()[2:]
    assert len(rows) == 2
    for row in rows:  # mu, then every term: no noise digits
        assert set(row.split()[1:]) <= {"~0", "0"}, row
    assert "numerical zero" in res.output
    # by default the model's mirror (and PT) forbid σ_yxx outright: Neumann zeros, labelled so
    res = CliRunner().invoke(main, args + ["--overwrite"])
    assert res.exit_code == 0, res.output
    assert "component yxx:" not in res.output  # one line, not a table of "forbidden" rows
    assert "forbidden by symmetry in every term (exact zeros): yxx" in res.output
