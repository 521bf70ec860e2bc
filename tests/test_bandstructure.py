"""Band-structure paths: continuum models get points at their cutoff; hints match the model's dimension."""

from __future__ import annotations

import numpy as np
import pytest
from click.testing import CliRunner

from qgeom import QgeomInputError
from qgeom.bandstructure import band_structure, special_points
from qgeom.cli import main
from qgeom.models.library import mnbi2te4_bilayer, qi_wu_zhang


def test_continuum_model_has_points_at_its_cutoff():
    m = mnbi2te4_bilayer()
    pts = special_points(m)
    np.testing.assert_allclose(pts["X"], [m.k_cutoff, 0.0])
    np.testing.assert_allclose(pts["Y"], [0.0, m.k_cutoff])
    ds = band_structure(m, "X-G-Y", npoints=21)
    assert ds["distance"].values[-1] == pytest.approx(2 * m.k_cutoff)
    # the middle of the path is Γ
    np.testing.assert_allclose(ds["energy"].values[10], np.linalg.eigvalsh(m.hamiltonian(np.zeros((1, 2))))[0])


def test_bands_cli_default_path_on_a_continuum_model(tmp_path):
    res = CliRunner().invoke(main, ["bands", "--model", "mnbi2te4_bilayer", "--npoints", "11",
                                    "--out", str(tmp_path / "b.nc")])
    assert res.exit_code == 0, res.output
    assert (tmp_path / "b.nc").is_file()


@pytest.mark.parametrize(("model", "coords", "kind"), [
    (mnbi2te4_bilayer(), "NAME=k1,k2 ", "Cartesian, 1/Å"),
    (qi_wu_zhang(u=1.0), "NAME=k1,k2 ", "reduced coordinates"),
])
def test_unknown_label_hint_matches_the_dimension(model, coords, kind):
    with pytest.raises(QgeomInputError) as err:
        band_structure(model, "G-Q", npoints=11)
    assert coords in str(err.value) and kind in str(err.value) and "k3" not in str(err.value)


def test_default_paths_follow_the_lattice(tmp_path):
    """`qgeom bands` without --path on bcc Fe (whose points are G, H, N, P: the old fixed default L-G-X
    failed there), fcc GaAs and a triclinic model: the lattice's usual path, or Γ and the zone-face
    centres ½b_i."""
    from pathlib import Path

    from qgeom.bandstructure import default_path
    from qgeom.models.tight_binding import TightBindingModel

    examples = Path(__file__).resolve().parents[1] / "examples"
    for name, want in (("Fe", "G-H-N-G-P-H"), ("GaAs", "G-X-W-K-G-L-U-W-L-K")):
        out = tmp_path / f"{name}.nc"
        res = CliRunner().invoke(main, ["bands", "--wannier90", str(examples / name), "--npoints", "40",
                                        "--out", str(out)])
        assert res.exit_code == 0, res.output
        from qgeom.results import load
        assert "".join(load(out).attrs["path_labels"]).replace("Γ", "G") == want.replace("-", "")
    lattice = np.array([[1.0, 0.0, 0.0], [0.3, 1.1, 0.0], [0.2, 0.1, 0.9]])
    tri = TightBindingModel.from_hoppings({(1, 0, 0): np.eye(1), (0, 1, 0): np.eye(1), (0, 0, 1): np.eye(1)},
                                          add_conjugates=True, lattice=lattice)
    assert default_path(tri) == "X-G-Y-G-Z"
    pts = special_points(tri)
    np.testing.assert_allclose(pts["Z"], 0.5 * tri.reciprocal_lattice[2])
    ds = band_structure(tri, default_path(tri), npoints=9)
    k = ds["kvec"].values  # ε = 2 Σ_i cos k·a_i (t = 1 to ±a_i); at X = ½b1 the first cos is −1
    np.testing.assert_allclose(ds["energy"].values[0], [2 * (np.cos(k[0] @ lattice.T)).sum()], atol=1e-12)
    assert default_path(qi_wu_zhang(u=1.0)) == "G-X-M-G-Y" and default_path(mnbi2te4_bilayer()) == "G-X"


@pytest.mark.parametrize("npoints", [10, 101, 200, 1001])
def test_a_path_has_the_points_asked_for_with_every_corner(npoints):
    """npoints is the length of the path (segment shares by largest remainders, not rounded each: 101 on
    GaAs's 9 segments gave 100), and every corner is a point of it."""
    from qgeom.bandstructure import kpath
    from qgeom.models import from_wannier90

    gaas = from_wannier90("examples/GaAs")
    k, dist, labels, ticks = kpath(gaas, "G-X-W-K-G-L-U-W-L-K", npoints)
    assert len(k) == len(dist) == npoints
    assert all(np.isclose(dist, t, atol=1e-12).any() for t in ticks)


def test_cli_prints_the_readers_warnings_as_warning_lines(tmp_path):
    """A model-reading warning (a _tb.dat without its .win) is a `warning:` line of the command, not Python's
    warning format pointing into click: qgeom's warnings point at the caller's frame (`user_stacklevel`), so the
    CLI knows them by their category (`QgeomWarning`)."""
    import shutil
    from pathlib import Path

    tb = tmp_path / "GaAs_tb.dat"
    shutil.copy(Path(__file__).resolve().parents[1] / "examples" / "GaAs" / "GaAs_tb.dat", tb)
    r = CliRunner().invoke(main, ["bands", "--wannier90", str(tb), "--npoints", "12", "--out", str(tmp_path / "b.nc")])
    assert r.exit_code == 0, r.output
    assert "warning: GaAs_tb.dat read without its .win" in r.output and "UserWarning" not in r.output
