"""Time reversal and the optical kinds of the current: T maps χ onto ±χ*, so one part of every kind
vanishes in a T-symmetric crystal (`terms.Term.time_reversal_forbids`), and the default Neumann plan
sets that part to 0 when the model keeps T to a Wannierization's accuracy (`time_reversal_zeros`)."""

from pathlib import Path

import numpy as np
import pytest

from qgeom.models import from_wannier90
from qgeom.models.onsite import with_exchange_field
from qgeom.models.symmetrize import restore_time_reversal
from qgeom.models.two_dimensional import with_displacement_field
from qgeom.optical import ALL_TERMS, response
from qgeom.optical.terms import TERMS
from qgeom.symmetry import SymmetryWarning

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
GAAS = dict(omega=np.linspace(1.0, 3.0, 6), mu=7.9366, temperature=0.01, tau=0.1, broadening=0.05, grid=8,
            scissors="model", progress=False)


def test_every_kind_loses_its_registered_part_on_a_time_reversal_symmetric_model():
    """1T′-MoS₂ with time reversal restored (exact T) in a displacement field (no inversion): the
    registered part of every kind is rounding (< 1e-9 of the other), the other is not, for every αβ."""
    model = with_displacement_field(restore_time_reversal(from_wannier90(EXAMPLES / "MoS2-1Tp")), 0.1)
    ds = response(model, "current_x", kinds=list(ALL_TERMS), omega=np.linspace(0.1, 1.0, 4), mu=-3.586,
                  temperature=0.01, tau=0.1, broadening=0.02, grid=12, progress=False, symmetry=None)
    for kind in ALL_TERMS:
        chi = ds.chi.sel(kind=kind).values
        gone, kept = (chi.real, chi.imag) if TERMS[kind].time_reversal_forbids == "real" else (chi.imag, chi.real)
        assert np.abs(kept).max() > 0, kind
        assert np.abs(gone).max() < 1e-9 * np.abs(kept).max(), kind


def test_default_zeros_the_parts_time_reversal_forbids_on_gaas():
    """GaAs as read keeps T only to a Wannierization's accuracy: by default the circular part of the shift
    current (5× its linear part in the model, at these settings; −43m forbids it too) and the linear Kramers
    parts are 0, said in a SymmetryWarning and in `forbidden_by_time_reversal`; the allowed parts are the
    model's own values (their linear part: the crystal's −43m forbids the circular one of every kind)."""
    model = from_wannier90(EXAMPLES / "GaAs")
    kinds = ["kramers_injection", "kramers_fermi_sea", "shift_like"]
    with pytest.warns(SymmetryWarning, match=r"time reversal.*forbids Re chi of kramers_injection \(linear"):
        ds = response(model, "current_x", kinds=kinds, **GAAS)
    raw = response(model, "current_x", kinds=kinds, symmetry=None, **GAAS)
    for kind in kinds:
        chi, ref = ds.chi.sel(kind=kind).values, raw.chi.sel(kind=kind).values
        zero = TERMS[kind].time_reversal_forbids
        gone, kept = (chi.real, chi.imag) if zero == "real" else (chi.imag, chi.real)
        ref_gone = ref.real if zero == "real" else ref.imag
        ref_kept = ref.imag if zero == "real" else ref.real
        assert np.all(gone == 0) and np.abs(ref_gone).max() > 1e-3 * np.abs(ref_kept).max(), kind
        # components the unitary group leaves, less their circular part (−43m is not gyrotropic)
        allowed = ~ds.forbidden.values
        linear = 0.5 * (ref + ref.swapaxes(0, 1))
        linear_kept = linear.imag if zero == "real" else linear.real
        np.testing.assert_allclose(kept[allowed], linear_kept[allowed], rtol=1e-14, atol=1e-12 * np.abs(ref).max())
        assert bool(ds.forbidden_by_time_reversal.sel(kind=kind, part=zero))
    assert not bool(ds.forbidden_by_time_reversal.sel(kind="shift_like", part="real"))


def test_a_magnet_keeps_both_parts():
    """An exchange field breaks time reversal: no part is forbidden by it."""
    model = with_exchange_field(from_wannier90(EXAMPLES / "GaAs"), 0.05, spinor_ordering="interleaved")
    ds = response(model, "current_x", kinds=["shift_like"], **GAAS)
    assert "forbidden_by_time_reversal" not in ds
    assert np.abs(ds.chi.sel(kind="shift_like").values.imag).max() > 0


def test_the_principal_part_of_the_shift_current_keeps_both_parts():
    """shift_like with its non-resonant P(1/x) kept (principal_part=True): P(1/x) enters Im χ, and time
    reversal allows it there (T-restored MoS₂ in a field), so the default zeros no part of that kind."""
    model = with_displacement_field(restore_time_reversal(from_wannier90(EXAMPLES / "MoS2-1Tp")), 0.1)
    kw = dict(kinds=["shift_like"], omega=np.linspace(0.1, 1.0, 4), mu=-3.586, temperature=0.01, tau=0.1,
              broadening=0.02, grid=12, progress=False, principal_part=True)
    raw = response(model, "current_x", symmetry=None, **kw).chi.sel(kind="shift_like").values
    assert np.abs(raw.imag).max() > 0.1 * np.abs(raw.real).max()
    ds = response(model, "current_x", **kw)
    allowed = ~ds.forbidden.values  # the field keeps the mirror x → −x: xx, yy forbidden, both parts of xy, yx kept
    np.testing.assert_allclose(ds.chi.sel(kind="shift_like").values[allowed], raw[allowed], rtol=1e-14, atol=0)
    if "forbidden_by_time_reversal" in ds:
        assert not ds.forbidden_by_time_reversal.values.any()


def test_a_nonmagnetic_crystal_whose_wannier_model_breaks_time_reversal_loses_those_parts():
    """The raw 1T′-MoS₂ model breaks T by its Wannierization's error (restoring it changes the hoppings by
    0.014 eV, tests/symmetry/test_neumann_default.py): the crystal is non-magnetic, so the default zeroes the
    T-forbidden part of each kind, and the warning says why."""
    model = from_wannier90(EXAMPLES / "MoS2-1Tp")
    kw = dict(kinds=["shift_like"], omega=np.linspace(0.1, 1.0, 4), mu=-3.586, temperature=0.01, tau=0.1,
              broadening=0.02, grid=12, progress=False)
    with pytest.warns(SymmetryWarning, match="non-magnetic"):
        ds = response(model, "current_x", **kw)
    assert bool(ds.forbidden_by_time_reversal.sel(kind="shift_like", part="imag"))
    raw = response(model, "current_x", symmetry=None, **kw).chi.sel(kind="shift_like").values
    assert np.abs(raw.imag).max() > 0 and np.all(ds.chi.sel(kind="shift_like").values.imag == 0)
    # the CLI's footnote names whose time reversal it is: the crystal's, not the model's
    from qgeom.cli.common import symmetry_footnote

    assert "time reversal (of the non-magnetic crystal) forbids" in symmetry_footnote(ds)
    gaas = response(from_wannier90(EXAMPLES / "GaAs"), "current_x", kinds=["shift_like"], **{
        k: v for k, v in GAAS.items() if k != "scissors"})
    assert "time reversal (kept by the model) forbids" in symmetry_footnote(gaas)


@pytest.mark.parametrize("symmetry", ["mm21'", "auto"])
def test_a_given_group_with_time_reversal_zeros_those_parts_too(symmetry):
    """An exactly mm21'-symmetric model: a given group that holds time reversal itself ("mm21'", or "auto",
    which finds it) averages χ over its unitary operations and sets each kind's T-forbidden part to 0, as the
    default does (before, only the default did: those parts were the k-sum's rounding, not zeros, and read
    "~0" instead of "forbidden"); the kept parts are the full grid's to 1e-10."""
    import sys

    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "symmetry"))
    from models import symmetric_model

    from qgeom.symmetry import from_symbol

    model = symmetric_model(from_symbol("mm21'"), np.eye(3))
    kinds = ["injection", "kramers_fermi_sea", "shift_like"]
    kw = dict(kinds=kinds, omega=np.linspace(0.5, 2.5, 3), mu=0.2, temperature=0.05, tau=0.1, broadening=0.1,
              grid=6, offset="gamma", progress=False)
    raw = response(model, "current_x", symmetry=None, **kw)
    ds = response(model, "current_x", symmetry=symmetry, **kw)
    assert ds.attrs["symmetry"] and "time_reversal_zeros" in ds.attrs
    for kind in kinds:
        zero = TERMS[kind].time_reversal_forbids
        chi, ref = ds.chi.sel(kind=kind).values, raw.chi.sel(kind=kind).values
        gone, kept = (chi.real, chi.imag) if zero == "real" else (chi.imag, chi.real)
        ref_kept = ref.imag if zero == "real" else ref.real
        assert bool(ds.forbidden_by_time_reversal.sel(kind=kind, part=zero)) and np.all(gone == 0), kind
        assert np.abs(ref_kept).max() > 0
        np.testing.assert_allclose(kept, ref_kept, rtol=0, atol=1e-10 * np.abs(ref_kept).max())
