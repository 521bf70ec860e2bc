"""optical.response(symmetry=): the stabilizer of the current direction, its wedge and the group
average of χ^{αβ}(ω), equal to the full grid on exactly symmetric models (cubic and hexagonal,
magnetic and not) for every public kind; forbidden components; other observables refused."""

from __future__ import annotations

import numpy as np
import pytest

from qgeom import QgeomInputError
from qgeom.kspace import make_grid
from qgeom.optical import response
from qgeom.optical.terms import PUBLIC_KINDS
from qgeom.symmetry.group import from_matrices, from_symbol, restrict

from .models import HEXAGONAL, assert_same_error_estimate, symmetric_model

MIRROR_GREY = [(np.diag([-1.0, 1.0, 1.0]), False), (np.eye(3), True)]
CASES = [  # (group, lattice, grid, offset, current)
    ("m'-3'", np.eye(3), 6, "mp", "current_x"),
    ("-43m", np.eye(3), 6, "mp", "current_z"),
    ("3m'", HEXAGONAL, 12, "gamma", "current_y"),
    (MIRROR_GREY, HEXAGONAL, 12, "gamma", "current_x"),
]
KW = dict(kinds=list(PUBLIC_KINDS), omega=[0.4, 1.1, 2.3], mu=0.2, temperature=0.1, tau=5.0, broadening=0.2,
          progress=False, error_tol=1e9)


def _model(group, lattice):
    ops = from_symbol(group) if isinstance(group, str) else from_matrices(group)
    return symmetric_model(restrict(ops, len(lattice)), lattice)


@pytest.mark.parametrize("group, lattice, grid, offset, current", CASES)
def test_wedge_equals_full_grid(group, lattice, grid, offset, current):
    model = _model(group, lattice)
    kgrid = make_grid(model, grid, offset=offset)
    full = response(model, current, grid=kgrid, **KW)
    sym = response(model, current, grid=kgrid, symmetry=group, **KW)
    scale = float(abs(full.chi).max())
    assert scale > 0
    assert float(abs(sym.chi - full.chi).max()) <= 1e-10 * scale
    assert sym.forbidden.dims == ("alpha", "beta")
    assert float(abs(full.chi.where(sym.forbidden, 0)).max()) <= 1e-10 * scale  # Neumann zeros are zeros
    info = sym.attrs["symmetry"]
    assert '"wedge_points"' in info
    assert assert_same_error_estimate(full, sym, "chi", scale)  # 6 MP: strides 3; 12 Γ-centred: 2


def test_process_pool_identical_to_serial_with_symmetry():
    model = _model("m'-3'", np.eye(3))
    serial = response(model, "current_x", grid=6, symmetry="m'-3'", **KW)
    pooled = response(model, "current_x", grid=6, symmetry="m'-3'", workers=2, chunk_size=8, **KW)
    assert float(abs(pooled.chi - serial.chi).max()) <= 1e-12 * float(abs(serial.chi).max())


def test_other_observables_are_refused():
    model = _model("m'-3'", np.eye(3))
    with pytest.raises(QgeomInputError, match="current"):
        response(model, np.eye(model.nbands), grid=6, symmetry="m'-3'", **KW)


def test_cli_optical_symmetry(tmp_path):
    import xarray as xr
    from click.testing import CliRunner

    from qgeom.cli import main
    from qgeom.models.wannier90 import to_wannier90_hr

    hr = to_wannier90_hr(_model("m'-3'", np.eye(3)), tmp_path / "cubic_hr.dat")
    (tmp_path / "cubic.win").write_text("begin unit_cell_cart\nang\n1 0 0\n0 1 0\n0 0 1\nend unit_cell_cart\n")
    args = ["optical", "--wannier90", str(hr), "--observable", "current_x", "--kind", "shift_like", "--grid", "6",
            "--omega", "0.4", "2.3", "3", "--mu", "0.2", "--broadening", "0.2", "--quiet"]
    full = CliRunner().invoke(main, args + ["--out", str(tmp_path / "full.nc")])
    sym = CliRunner().invoke(main, args + ["--out", str(tmp_path / "sym.nc"), "--symmetry", "m'-3'"])
    assert full.exit_code == 0 and sym.exit_code == 0, full.output + sym.output
    a, b = (xr.open_dataset(tmp_path / f, engine="h5netcdf").chi.values for f in ("full.nc", "sym.nc"))
    assert np.abs(a).max() > 0 and np.abs(a - b).max() <= 1e-10 * np.abs(a).max()


@pytest.mark.parametrize("group, direction, circular_allowed", [("-43m", 0, set()), ("4", 2, {"xy", "yx"}),
                                                                  ("4mm", 2, set()), ("422", 2, {"xy", "yx"})])
def test_linear_and_circular_parts_have_their_own_zeros(group, direction, circular_allowed):
    """χ^{a;βγ} = linear (symmetric in βγ) + circular (antisymmetric) part, each with its own Neumann zeros:
    −43m (not gyrotropic) forbids the circular photogalvanic current although it allows χ^{x;yz}; the polar
    C4 allows it along z (χ^{z;xy} = −χ^{z;yx}) and so does the chiral 422; C4v forbids it (its mirrors
    reverse a circular polarization)."""
    from qgeom.optical.symmetry import _part_zeros, stabilizes
    from qgeom.symmetry import from_symbol
    from qgeom.symmetry.group import unitary

    ops = [g for g in unitary(from_symbol(group)) if stabilizes(direction)(g)]
    linear, circular = _part_zeros(ops, direction, 3)
    pairs = [a + b for a in "xyz" for b in "xyz"]
    assert {p for p, f in zip(pairs, circular.ravel()) if not f and p[0] != p[1]} == circular_allowed
    assert np.all(circular.diagonal())  # an antisymmetric part has no βγ = ββ component
    if group == "-43m":
        assert not linear[1, 2] and not linear[2, 1]
    if group == "422":  # the linear part of χ^{z;xy} goes to its negative under C4z
        assert linear[0, 1] and linear[1, 0]
