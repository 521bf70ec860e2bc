"""Bad inputs raise QgeomInputError with clear messages, before any computation; nothing is evaluated."""

from __future__ import annotations

import importlib

import numpy as np
import pytest

import qgeom.dc
from qgeom import QgeomInputError
from qgeom._validation import as_finite_array, k_points, positive_scalar
from qgeom.bands import Bands
from qgeom.models import KPModel, TightBindingModel, library


# ---------------------------------------------------------------- the helpers themselves

def test_helpers():
    np.testing.assert_array_equal(as_finite_array([1, 2], "x"), [1.0, 2.0])
    with pytest.raises(QgeomInputError, match=r"myfield contains NaN or inf"):
        as_finite_array([1.0, np.inf], "myfield")
    assert positive_scalar("2.5", "temperature") == 2.5
    for bad in (0, -1, np.nan, np.inf, "hot", None):
        with pytest.raises(QgeomInputError, match="temperature"):
            positive_scalar(bad, "temperature")
    assert k_points(np.zeros(4), 1).shape == (4, 1)
    assert issubclass(QgeomInputError, ValueError)


def test_non_finite_message_prints_plain_index():
    with pytest.raises(QgeomInputError, match=r"myfield contains NaN or inf \(first at index \(1,\)\)"):
        as_finite_array([1.0, np.inf], "myfield")


# ---------------------------------------------------------------- hoppings

def test_non_hermitian_hoppings_name_the_offending_R():
    t = {(0, 0): np.eye(2), (0, 1): np.eye(2), (0, -1): np.eye(2), (2, -1): [[0.0, 1.0], [0.0, 0.0]]}
    with pytest.raises(QgeomInputError) as exc:
        TightBindingModel.from_hoppings(t)
    msg = str(exc.value)
    assert "not Hermitian" in msg
    assert "R=(2, -1)" in msg or "R=(-2, 1)" in msg
    assert "add_conjugates=True" in msg  # the message names the fix
    # the same hoppings with their conjugates added are fine
    TightBindingModel.from_hoppings({(0, 0): np.eye(2), (2, -1): [[0.0, 1.0], [0.0, 0.0]]}, add_conjugates=True)


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf, complex(0, np.nan)])
def test_non_finite_hoppings_rejected(bad):
    t = np.zeros((2, 2), complex)
    t[0, 1] = bad
    with pytest.raises(QgeomInputError, match="NaN or inf"):
        TightBindingModel.from_hoppings({(1,): t}, add_conjugates=True)


def test_non_finite_lattice_and_operators_rejected():
    with pytest.raises(QgeomInputError, match="lattice"):
        TightBindingModel([[0]], [[[1.0]]], lattice=[[np.nan]])
    with pytest.raises(QgeomInputError, match="'obs'.*Hermitian"):
        TightBindingModel([[0]], [[[1.0, 0], [0, 1.0]]], operators={"obs": [[0, 1], [0, 0]]})
    with pytest.raises(QgeomInputError, match="'obs'.*shape"):
        TightBindingModel([[0]], [[[1.0, 0], [0, 1.0]]], operators={"obs": np.eye(3)})
    with pytest.raises(QgeomInputError, match="'obs'.*NaN"):
        TightBindingModel([[0]], [[[1.0, 0], [0, 1.0]]], operators={"obs": [[np.nan, 0], [0, 1]]})


# ---------------------------------------------------------------- k-points

@pytest.mark.parametrize("k", [np.zeros((5, 3)), np.zeros((5, 1)), np.zeros(5), np.zeros((2, 5, 2)), np.zeros(())])
def test_wrong_k_shape_rejected_2d(k):
    m = library.qi_wu_zhang()
    with pytest.raises(QgeomInputError, match=r"k must have shape \[nk, 2\]"):
        m.hamiltonian(k)
    with pytest.raises(QgeomInputError, match=r"\[nk, 2\]"):
        Bands.from_model(m, k)


def test_wrong_k_shape_rejected_kp_and_3d():
    kp = KPModel([["kx**2 + ky**2"]], dim=2)
    with pytest.raises(QgeomInputError, match=r"\[nk, 2\]"):
        kp.hamiltonian(np.zeros((3, 3)), 1)
    tb3 = TightBindingModel([[0, 0, 0]], [[[1.0]]])
    with pytest.raises(QgeomInputError, match=r"\[nk, 3\]"):
        tb3.hamiltonian(np.zeros((3, 2)))
    with pytest.raises(QgeomInputError, match="NaN"):
        kp.hamiltonian([[0.0, np.nan]])
    with pytest.raises(QgeomInputError, match="order"):
        kp.hamiltonian(np.zeros((1, 2)), order=-1)


# ---------------------------------------------------------------- temperatures

@pytest.fixture
def no_computation(monkeypatch):
    """Make any k-space integration in dc.expansion fail loudly: validation must come first."""
    module = importlib.import_module("qgeom.dc.expansion")

    def forbidden(*args, **kwargs):
        raise AssertionError("computation started before input validation")

    monkeypatch.setattr(module, "integrate", forbidden)
    monkeypatch.setattr(importlib.import_module("qgeom.kspace"), "make_grid", forbidden)  # via options.Sampling


@pytest.mark.parametrize("T", [-1, 0, 0.0, -1e-3, np.nan, np.inf, "hot"])
def test_expansion_rejects_bad_temperature_before_computation(T, no_computation):
    with pytest.raises(QgeomInputError, match="temperature"):
        qgeom.dc.expansion(library.tilted_dirac_2band(), mu=0.0, temperature=T, grid=10**6)


def test_expansion_validation_guard_is_effective(no_computation):
    """Sanity check of the fixture: with valid inputs the guarded computation is reached."""
    with pytest.raises(AssertionError, match="before input validation"):
        qgeom.dc.expansion(library.tilted_dirac_2band(), mu=0.0, temperature=0.1, grid=4)


def test_expansion_rejects_bad_mu_before_computation(no_computation):
    with pytest.raises(QgeomInputError, match="mu"):
        qgeom.dc.expansion(library.tilted_dirac_2band(), mu=[0.0, np.nan], temperature=0.1)
    with pytest.raises(QgeomInputError, match="mu"):
        qgeom.dc.expansion(library.tilted_dirac_2band(), mu=np.zeros((2, 2)), temperature=0.1)


# ---------------------------------------------------------------- k·p strings are never evaluated

def _payload(sentinel) -> str:
    return f"__import__('os').system('touch {sentinel}')"


@pytest.mark.parametrize("template", [
    "{p}",
    "kx + {p}",
    "sin({p})",
    "(lambda: {p})()",
])
def test_malicious_kp_string_rejected_and_not_executed(template, tmp_path):
    sentinel = tmp_path / "hacked"
    expr = template.format(p=_payload(sentinel))
    with pytest.raises(QgeomInputError) as exc:
        KPModel([[expr, "0"], ["0", "kx"]], dim=1)
    assert expr in str(exc.value)  # the message quotes the offending expression
    assert not sentinel.exists()


def test_echo_hacked_payload_not_executed(capfd):
    with pytest.raises(QgeomInputError, match="disallowed"):
        KPModel([["__import__('os').system('echo hacked')"]], dim=1)
    out, err = capfd.readouterr()
    assert "hacked" not in out and "hacked" not in err


@pytest.mark.parametrize("expr, kind", [
    ("kx.real", "Attribute"),
    ("kx.__class__.__mro__", "Attribute"),
    ("(lambda x: x)(kx)", "Call"),
    ("lambda: kx", "Lambda"),
    ("kx[0]", "Subscript"),
    ("[kx for kx in (1, 2)][0]", "Subscript"),
    ("(y := kx)", "NamedExpr"),
    ("f'{kx}'", "JoinedStr"),
    ("kx if kx else 1", "IfExp"),
    ("kx < 1", "Compare"),
    ("kx and 1", "BoolOp"),
    ("~kx", "UnaryOp"),
    ("kx // 2", "BinOp"),
    ("kx @ kx", "BinOp"),
])
def test_disallowed_syntax_rejected(expr, kind):
    with pytest.raises(QgeomInputError, match=f"disallowed syntax '{kind}'"):
        KPModel([[expr]], dim=1)


@pytest.mark.parametrize("expr", ["eval('1')", "exec('x=1')", "open('/etc/passwd')", "__builtins__",
                                  "getattr(kx, 'real')", "globals()", "sympify('kx')", "Symbol('a')", "pi"])
def test_unknown_names_and_functions_rejected(expr):
    with pytest.raises(QgeomInputError, match="unknown name|disallowed syntax"):
        KPModel([[expr]], dim=1)


@pytest.mark.filterwarnings("ignore::DeprecationWarning")  # SymPy: non-Expr objects in a Matrix
def test_non_string_payloads_not_executed(tmp_path):
    sentinel = tmp_path / "hacked"
    payload = _payload(sentinel)
    with pytest.raises(Exception):
        KPModel([[payload.encode()]], dim=1)  # bytes are not strings: must not reach sympify's parser
    with pytest.raises(Exception):
        KPModel([["kx"]], dim=1, parameters={"a": payload})  # parameters are numbers only
    with pytest.raises(Exception):
        library.mnbi2te4_bilayer(gamma=payload)
    assert not sentinel.exists()


@pytest.mark.parametrize("flag", [True, False, np.bool_(True)])
def test_booleans_are_not_positive_numbers(flag, no_computation):
    # float(True) == 1.0: temperature=True ran at kT = 1 in the model's energy unit
    with pytest.raises(QgeomInputError, match=r"temperature must be a positive number, got the boolean"):
        qgeom.dc.expansion(library.tilted_dirac_2band(), mu=0.0, temperature=flag, grid=10**6)
    with pytest.raises(QgeomInputError, match=r"degen_tol must be a positive number, got the boolean"):
        qgeom.options.Sampling(degen_tol=flag)
    with pytest.raises(QgeomInputError, match=r"broadening must be a positive number, got the boolean"):
        positive_scalar(flag, "broadening")


def test_complex_lattice_is_refused():
    # a complex lattice lost its imaginary part with only a numpy ComplexWarning
    with pytest.raises(QgeomInputError, match=r"lattice must be real, got complex values \(first non-zero imaginary "
                                              r"part at index \(0, 1\)\)"):
        TightBindingModel([[0, 0]], [[[1.0]]], lattice=[[1.0, 0.5j], [0.0, 1.0]])
    with pytest.raises(QgeomInputError, match="lattice must be real"):
        TightBindingModel([[0, 0]], [[[1.0]]], lattice=np.eye(2, dtype=complex))
    m = TightBindingModel([[0, 0]], [[[1.0]]], lattice=np.eye(2))
    assert m.lattice.dtype == float


def test_cutoff_on_a_lattice_model_is_refused():
    # cutoff= used to be ignored for a lattice model: the whole Brillouin zone was summed without a word
    import qgeom.optical

    m, msg = library.qi_wu_zhang(u=-1.0), r"cutoff= \(command line: --cutoff\) is the k cutoff of continuum.*drop cutoff"
    with pytest.raises(QgeomInputError, match=msg):
        qgeom.dc.expansion(m, mu=0.0, temperature=0.1, grid=4, cutoff=0.5, progress=False)
    with pytest.raises(QgeomInputError, match=msg):
        qgeom.dc.exact(m, mu=0.0, temperature=0.1, gamma=0.1, grid=4, cutoff=0.5, progress=False)
    with pytest.raises(QgeomInputError, match=msg):
        qgeom.optical.response(m, "current_x", kinds=["shift_like"], omega=[0.5], mu=0.0, grid=4, cutoff=0.5,
                               progress=False)
    kp = KPModel([["kx**2 + ky**2", "kx - I*ky"], ["kx + I*ky", "-kx**2 - ky**2"]], dim=2)  # a continuum model takes it
    assert qgeom.dc.expansion(kp, mu=0.3, temperature=0.1, grid=(8, 4), cutoff=0.5, progress=False).sigma.size
