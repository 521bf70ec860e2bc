"""Time reversal restored in real space on the 1T'-MoS2 Wannier model (48 spinor WFs, block spin order)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from qgeom._validation import QgeomInputError
from qgeom.models import from_wannier90
from qgeom.models.symmetrize import restore_time_reversal, time_reversal_matrix

MOS2 = Path(__file__).resolve().parents[2] / "examples" / "MoS2-1Tp"
FE = MOS2.parent / "Fe"


@pytest.fixture(scope="module")
def mos2():
    return from_wannier90(MOS2)


def test_time_reversal_exact_after_and_close_to_original(mos2):
    sym = restore_time_reversal(mos2)
    rep = sym.parameters["time_reversal_restored"]
    assert rep["spinor_ordering"] == "block"  # detected from the .wout centres (i and i + 24 share one)
    assert 1e-3 < rep["max_abs_change_eV"] < 0.05 and rep["max_centre_shift_A"] < 0.03
    k = np.random.default_rng(2).uniform(-0.5, 0.5, (50, 2)) @ mos2.reciprocal_lattice
    e, ep, em = (np.linalg.eigvalsh(m.hamiltonian(x)) for m, x in ((mos2, k), (sym, k), (sym, -k)))
    assert np.abs(e - np.linalg.eigvalsh(mos2.hamiltonian(-k))).max() > 1e-2  # the raw model breaks E(k) = E(-k)
    np.testing.assert_allclose(ep, em, atol=1e-10)  # Kramers: E_n(k) = E_n(-k) exactly
    U = time_reversal_matrix(48, "block")
    H = sym.hamiltonian(k)
    np.testing.assert_allclose(U @ H.conj() @ U.T, sym.hamiltonian(-k), atol=1e-10)  # ΘH(k)Θ⁻¹ = H(−k), conv II
    assert np.abs(ep - e).max() < rep["max_abs_change_eV"] * 10  # close to the original bands
    with pytest.raises(ValueError, match="spinor_ordering"):
        restore_time_reversal(mos2, spinor_ordering="updown")


def test_time_reversal_fitted_for_spinor_hybrids():
    """GaAs (examples/GaAs): spinor sp³ Wannier functions, not (orbital ⊗ spin) products, so neither fixed
    spin order is Θ (they would change H(R) by > 1 eV); the fitted U is, with U U* = −1 exactly."""
    gaas = from_wannier90(MOS2.parent / "GaAs")
    sym = restore_time_reversal(gaas)
    rep = sym.parameters["time_reversal_restored"]
    assert rep["spinor_ordering"] == "fitted" and 1e-5 < rep["max_abs_change_eV"] < 3e-4
    assert rep["max_centre_shift_A"] < 1e-5  # Θ within the Wannier functions of each centre
    k = np.random.default_rng(3).uniform(-0.5, 0.5, (40, 3)) @ gaas.reciprocal_lattice
    e, ep, em = (np.linalg.eigvalsh(m.hamiltonian(x)) for m, x in ((gaas, k), (sym, k), (sym, -k)))
    assert np.abs(e - np.linalg.eigvalsh(gaas.hamiltonian(-k))).max() > 1e-6  # the raw model: 6.6e-6 eV
    np.testing.assert_allclose(ep, em, atol=1e-11)
    assert np.abs(ep - e).max() < 1e-3
    with pytest.raises(Exception, match="no time-reversal operator"):
        restore_time_reversal(mos2_like_without_partners(gaas), spinor_ordering="fitted")


def mos2_like_without_partners(model):
    """The GaAs model with every Wannier centre moved apart: no Θ keeps the centres."""
    from qgeom.models.wannier90 import OrbitalPositionModel

    return OrbitalPositionModel(model.base, model.positions + 0.01 * np.arange(len(model.positions))[:, None])


@pytest.mark.parametrize("ordering", ["auto", "interleaved"])
def test_time_reversal_in_pieces_of_lattice_vectors(mos2, monkeypatch, ordering):
    """The average ½(H(R) + U H(R)* Uᵀ), its change and the spin order chosen are summed in pieces of R vectors
    (a 100-orbital model's hoppings are 335 MB): one vector at a time gives the same model."""
    from qgeom.models import symmetrize

    whole = restore_time_reversal(mos2, spinor_ordering=ordering, allow_magnetic=True)  # interleaved: 4.2 eV
    monkeypatch.setattr(symmetrize, "PIECE_BYTES", 1)
    pieces = restore_time_reversal(mos2, spinor_ordering=ordering, allow_magnetic=True)
    assert np.array_equal(whole.base.t, pieces.base.t)
    assert whole.parameters["time_reversal_restored"] == pieces.parameters["time_reversal_restored"]
    if ordering == "auto":  # the line where "auto" compares the two fixed orders
        U = time_reversal_matrix(48, "interleaved")
        t = mos2.base.t
        assert symmetrize._breaking(t, U) == float(np.abs(t - U @ t.conj() @ U.T).max())


def test_restoring_time_reversal_of_a_magnet_is_refused_unless_allowed(mos2):
    """bcc Fe is a ferromagnet: restoring T would change its hoppings by its exchange splitting, 1.36 eV, far
    beyond a Wannierization's error (NONMAGNETIC_CHANGE_EV = 0.1 eV; MoS2's 0.014 eV above passes) — the
    error says so and how to force it; forced, the change is recorded. A wrong spin order is caught alike."""
    fe = from_wannier90(FE)
    with pytest.raises(QgeomInputError, match=r"hoppings of 'Fe' by up to 1\.36 eV \(max \|ΔH\(R\)\|, spin order "
                                              r"'block'\), more than a Wannierization's error \(0\.1 eV\): the model "
                                              r"is magnetic .* allow_magnetic=True \(CLI --allow-magnetic\)"):
        restore_time_reversal(fe)
    with pytest.raises(QgeomInputError, match=r"by up to 4\.24 eV .*or 'interleaved' is not its basis's spin order"):
        restore_time_reversal(mos2, spinor_ordering="interleaved")
    forced = restore_time_reversal(fe, allow_magnetic=True)
    assert forced.parameters["time_reversal_restored"]["max_abs_change_eV"] == pytest.approx(1.358, abs=1e-3)


def test_change_is_recorded_in_the_model_energy_unit():
    # a meV model's change was recorded as max_abs_change_eV (1000 times off under that label)
    from qgeom.models import TightBindingModel

    sz = np.diag([1.0, -1.0])
    hop = {(0, 0): 0.3 * sz, (1, 0): 0.5 * np.eye(2)}  # a Zeeman term: odd under time reversal
    for unit in ("meV", "eV"):
        m = TightBindingModel.from_hoppings(hop, add_conjugates=True, lattice=np.eye(2), energy_unit=unit)
        rep = restore_time_reversal(m, spinor_ordering="interleaved", allow_magnetic=True).parameters["time_reversal_restored"]
        assert rep["energy_unit"] == unit and rep["max_abs_change"] > 0.1
        assert ("max_abs_change_eV" in rep) == (unit == "eV")
        if unit == "eV":
            assert rep["max_abs_change_eV"] == rep["max_abs_change"]
