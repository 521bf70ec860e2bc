"""Displacement and exchange fields on the T-restored 1T'-MoS2 model: exact time-reversal relations.

Time reversal maps the model with exchange J to the one with −J (σ is T-odd, everything else
T-even), so the T-odd DC terms (Drude, Γ⁰) are odd in J and vanish at J = 0 at any displacement
field, and the T-even BCD is even in J — exact relations on a T-invariant grid, whatever the grid.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from qgeom import QgeomInputError
from qgeom.dc import expansion
from qgeom.models import from_wannier90
from qgeom.models.onsite import spin_matrix, with_exchange_field
from qgeom.models.symmetrize import restore_time_reversal
from qgeom.models.two_dimensional import with_displacement_field

MOS2 = Path(__file__).resolve().parents[2] / "examples" / "MoS2-1Tp"
MID_GAP = -3.586  # eV, between bands 28 and 29


@pytest.fixture(scope="module")
def mos2():
    return restore_time_reversal(from_wannier90(MOS2))


def test_field_on_the_time_reversal_restored_model_keeps_time_reversal(mos2):
    """The field acts on the partners' averaged heights (stale per-orbital heights broke T by
    field × 0.019 Å: 2 meV at 0.1 V/Å, Γ⁰ terms 2e-3 of their J = 50 meV values)."""
    biased = with_displacement_field(mos2, 0.1)
    k = np.random.default_rng(1).random((50, 2)) @ biased.reciprocal_lattice
    e_k, e_mk = np.linalg.eigvalsh(biased.hamiltonian(k)), np.linalg.eigvalsh(biased.hamiltonian(-k))
    assert np.abs(e_k - e_mk).max() < 1e-11


def test_exchange_field_is_j_sigma_on_site(mos2):
    J = 0.05
    m = with_exchange_field(mos2, J)
    r0 = np.flatnonzero(~m.base.R.any(axis=1))[0] if hasattr(m, "base") else None
    base, new = getattr(mos2, "base", mos2), getattr(m, "base", m)
    dt = new.t[r0] - base.t[r0]
    assert np.allclose(dt, J * spin_matrix(48, "z", "block"))
    assert np.allclose(np.delete(new.t, r0, axis=0), np.delete(base.t, r0, axis=0))
    assert m.parameters["exchange_field"] == {"J": J, "axis": "z", "spinor_ordering": "block"}
    with pytest.raises(QgeomInputError, match="axis"):
        with_exchange_field(mos2, J, axis="w")


def test_t_odd_terms_odd_in_exchange_and_zero_without_it(mos2):
    biased = with_displacement_field(mos2, 0.1)
    kw = dict(components=["xxx", "yxx", "xyy"], mu=[MID_GAP + 0.1], temperature=0.02, grid=12,
              mechanisms=["fermionic_bath"])
    plus, minus, none = (expansion(with_exchange_field(biased, J), **kw).sigma for J in (0.05, -0.05, 0.0))
    odd = ["drude", "geometric", "kinetic"]
    scale = float(abs(plus.sel(term=odd)).max())
    assert scale > 1e-16  # A m V^-2: switched on by field x exchange
    assert float(abs(plus.sel(term=odd) + minus.sel(term=odd)).max()) < 1e-9 * scale
    assert float(abs(none.sel(term=odd)).max()) < 1e-9 * scale
    bcd = float(abs(plus.sel(term="bcd")).max())
    assert float(abs(plus.sel(term="bcd") - minus.sel(term="bcd")).max()) < 1e-9 * bcd


def test_displacement_field_is_refused_on_a_bulk_crystal(tmp_path):
    """A field along a layer normal: bulk GaAs has none (it was accepted, its crystal group then 'mm2 in a
    displacement field'); the API and the CLI refuse it, saying why. A 3D slab whose normal is z is a layer."""
    from click.testing import CliRunner

    from qgeom.cli import main

    gaas = MOS2.parent / "GaAs"
    why = r"model 'GaAs' is not two-dimensional .* no vacuum direction\): a displacement field points along a layer"
    with pytest.raises(QgeomInputError, match=why):
        with_displacement_field(from_wannier90(gaas), 0.1)
    res = CliRunner().invoke(main, ["geometry", "--wannier90", str(gaas), "--displacement-field", "0.1", "--grid", "2",
                                    "--out", str(tmp_path / "g.nc")])
    assert res.exit_code != 0 and "is not two-dimensional" in res.output and not (tmp_path / "g.nc").exists()
    slab = from_wannier90(MOS2, dimension=3)
    assert slab.dim == 3 and "displacement_field_V_per_A" in with_displacement_field(slab, 0.1).parameters
    b = slab.base  # the same slab turned so that its normal is x: the field (z in a 3D model) is not along it
    turned = type(b)(b.R, b.t, lattice=b.lattice[:, [2, 1, 0]], name="turned")
    with pytest.raises(QgeomInputError, match=r"layer normal of the 3D slab model 'turned' is \(1\.0000, .*not z"):
        with_displacement_field(turned, 0.1, heights=np.zeros(48))
