"""User errors of the public API raise QgeomInputError with a message naming the problem and the fix, before any
long computation (the audit in fix-api1: each of these once ended in a deep numpy/sympy/h5py traceback)."""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr

import qgeom.dc as dc
from qgeom import QgeomInputError
from qgeom.bands import Bands
from qgeom.models import KPModel, TightBindingModel, from_wannier90, library
from qgeom.optical import response
from qgeom.results import load, metadata
from qgeom.summary import band_geometry

pytestmark = pytest.mark.filterwarnings("ignore::qgeom.accuracy.AccuracyWarning")  # 4×4 grids: input checks only
BASE = dict(components="xyy", mu=[0.3], temperature=0.1, grid=4, progress=False)


@pytest.fixture(scope="module")
def model():
    return library.tilted_dirac_2band()


def _never_called(**kwargs):
    raise AssertionError("the k-sum ran although the input was refused")


# ---------------------------------------------------------------- 1–3: empty axes

def test_empty_gamma_and_mu_are_refused(model):
    with pytest.raises(QgeomInputError, match="gamma must be a scalar or a non-empty 1D array of positive rates"):
        dc.exact(model, gamma=np.array([]), **BASE)
    with pytest.raises(QgeomInputError, match="mu must be a scalar or a non-empty 1D array"):
        dc.exact(model, gamma=0.1, **{**BASE, "mu": []})
    with pytest.raises(QgeomInputError, match="mu must be a scalar or a non-empty"):
        dc.expansion(model, **{**BASE, "mu": []})


def test_empty_processes_are_refused(model):
    with pytest.raises(QgeomInputError, match="processes is empty; choose one or more of rectification"):
        dc.exact_frequency(model, gamma=0.1, omega=[0.1], processes=(), **BASE)


def test_empty_optical_omega_is_refused():
    m = library.mnbi2te4_bilayer(neel=1)
    with pytest.raises(QgeomInputError, match="omega must be a scalar or a non-empty 1D array of frequencies"):
        response(m, "layer_polarization", kinds=["kramers_fermi_sea"], mu=0.01, tau=0.25, grid=4, progress=False,
                 omega=[])


# ---------------------------------------------------------------- 4–7: malformed options

@pytest.mark.parametrize("bad", [123, None, 1.5])
def test_components_not_labels(model, bad):
    with pytest.raises(QgeomInputError, match=r"components must be a string of axis letters .* got"):
        dc.expansion(model, **{**BASE, "components": bad})


@pytest.mark.parametrize("rta", [("a", "b"), "1,1", (1,), 3.0])
def test_rta_not_two_numbers(model, rta):
    with pytest.raises(QgeomInputError, match=r"mechanism 'rta' needs rta=\(c1, c2\).*Table I coefficients, as two numbers; got"):
        dc.expansion(model, mechanisms=["rta"], rta=rta, **BASE)


def test_symmetry_list_holding_a_symbol(model):
    with pytest.raises(QgeomInputError, match=r"cannot read the symmetry operation at 'm_x'.*m\[x,y,z\].*"
                                              r"point-group symbol goes alone, as a string"):
        dc.expansion(model, symmetry=["m_x"], **BASE)


def test_non_numeric_observable_matrix(model):
    with pytest.raises(QgeomInputError, match=r"operator .custom. must be a N×N \(N bands\) Hermitian matrix of numbers"):
        dc.expansion(model, observable=np.array([["a", "b"], ["c", "d"]]), **{**BASE, "components": "xx"})


# ---------------------------------------------------------------- 8: not a model

@pytest.mark.parametrize("call", [
    lambda m: dc.expansion(m, **BASE),
    lambda m: dc.exact(m, gamma=0.1, **BASE),
    lambda m: dc.exact_frequency(m, gamma=0.1, omega=[0.1], **BASE),
    lambda m: response(m, "current_x", omega=[0.1], grid=4, progress=False),
    lambda m: band_geometry(m, grid=4),
    lambda m: Bands.from_model(m, np.zeros((1, 2))),
])
def test_not_a_model(call):
    with pytest.raises(QgeomInputError, match=r"needs a qgeom model .* got NoneType"):
        call(None)
    with pytest.raises(QgeomInputError, match=r"A string is not a model.*qgeom\.models\.library\.tilted_dirac_2band\(\)"
                                              r".*from_wannier90\(path\)"):
        call("tilted_dirac_2band")


def test_model_as_keyword_is_checked_too():
    with pytest.raises(QgeomInputError, match=r"expansion\(\) needs a qgeom model.*library\.<name>\(\)"):
        dc.expansion(model="some_file_hr.dat", **BASE)


# ---------------------------------------------------------------- 9–10: empty and malformed models

def test_tight_binding_without_hoppings():
    with pytest.raises(QgeomInputError, match=r"hold no hoppings: give at least the onsite block"):
        TightBindingModel(np.zeros((0, 2)), np.zeros((0, 2, 2)), lattice=np.eye(2))


def test_bands_without_k_points(model):
    with pytest.raises(QgeomInputError, match=r"needs at least one k-point, got k of shape \(0, 2\)"):
        Bands.from_model(model, np.zeros((0, 2)))


@pytest.mark.parametrize("matrix, message", [
    ([["kx", "0"], ["0"]], r"must be square: 2 rows of lengths \[2, 1\]"),
    ([], "must hold at least one row"),
    ("kx", "must be a list of rows, got str"),
    ([[object()]], r"entry \[0\]\[0\] is object .*expression strings"),
    ([["kx", True], ["0", "1"]], r"entry \[0\]\[1\] is bool"),
])
def test_kp_matrix_shape_and_entries(matrix, message):
    with pytest.raises(QgeomInputError, match=message):
        KPModel(matrix, dim=2)


def test_kp_valid_matrices_still_build():
    import sympy as sp

    assert KPModel([["kx", 0], [0, "-kx"]], dim=2).nbands == 2
    assert KPModel(sp.Matrix([[1, 0], [0, -1]]), dim=2).nbands == 2


# ---------------------------------------------------------------- 11–12: result files and metadata

def test_load_missing_and_foreign_files(tmp_path):
    with pytest.raises(QgeomInputError, match=r"missing\.nc.*no such file"):
        load(tmp_path / "missing.nc")
    with pytest.raises(QgeomInputError, match="is a directory"):
        load(tmp_path)
    garbage = tmp_path / "garbage.nc"
    garbage.write_text("not a netcdf file")
    with pytest.raises(QgeomInputError, match=r"garbage\.nc.*not a NetCDF file.*written by qgeom\.results\.save"):
        load(garbage)


def test_cli_plot_of_a_foreign_file_says_it_once(tmp_path):
    from click.testing import CliRunner

    from qgeom.cli import main

    garbage = tmp_path / "garbage.nc"
    garbage.write_text("not a netcdf file")
    res = CliRunner().invoke(main, ["plot", str(garbage)])
    text = " ".join(res.output.split())
    assert res.exit_code == 2, res.output
    assert "not a NetCDF file" in text and "cannot read result file" not in text


def test_metadata_missing_key_names_the_available_ones(model):
    ds = dc.expansion(model, **BASE)
    with pytest.raises(QgeomInputError, match=r"no attribute 'paramters'.*did you mean 'parameters'.*available: "):
        metadata(ds, "paramters")
    with pytest.raises(QgeomInputError, match=r"no attribute 'parameters' .*available: none"):
        metadata(xr.Dataset(), "parameters")


# ---------------------------------------------------------------- 13: converge

def test_converge_checks_the_variable_after_the_first_grid(model):
    grids = []

    def run(grid, **kwargs):
        grids.append(grid)
        return dc.expansion(model, grid=grid, **kwargs)

    kwargs = {k: v for k, v in BASE.items() if k != "grid"}
    with pytest.raises(QgeomInputError, match=r"converge: the result has no variable 'chi'.*its variables: .*sigma"):
        dc.converge(run, [4, 8, 16], variable="chi", **kwargs)
    assert grids == [4]  # the finer grids were never computed


def test_converge_refuses_grid_keyword():
    with pytest.raises(QgeomInputError, match=r"converge sets grid= from `grids`; drop grid=4"):
        dc.converge(_never_called, [8, 16], grid=4)


# ---------------------------------------------------------------- 14: plots

def test_plot_unknown_variable_lists_the_variables(model):
    from qgeom import plots

    ds = dc.expansion(model, **BASE)
    with pytest.raises(QgeomInputError, match=r"plot_expansion: the result has no variable 'chi'.*its variables: sigma"):
        plots.plot_expansion(ds, "chi")
    with pytest.raises(QgeomInputError, match=r"no variable 'sigam' \(did you mean 'sigma'\?\)"):
        plots.plot_sigma(ds, "sigam")


# ---------------------------------------------------------------- 15: keyword typos of the model constructors

def test_model_constructor_typos_suggest_the_keyword():
    with pytest.raises(QgeomInputError, match=r"TightBindingModel\(\) got an unknown keyword 'lattcie' "
                                              r"\(did you mean 'lattice'\?\)"):
        TightBindingModel(np.zeros((1, 2)), np.eye(2)[None], lattcie=np.eye(2))
    with pytest.raises(QgeomInputError, match=r"unknown keyword 'lattcie' \(did you mean 'lattice'\?\)"):
        TightBindingModel.from_hoppings({(0, 0): np.eye(2)}, lattcie=np.eye(2))
    with pytest.raises(TypeError, match=r"from_wannier90\(\) got an unknown keyword 'lattise' "
                                        r"\(did you mean 'lattice'\?\)"):
        from_wannier90("missing_hr.dat", lattise=np.eye(3))
