"""KPModel: safe parsing, symbolic derivatives vs finite differences and vs direct evaluation."""

from __future__ import annotations

import numpy as np
import pytest
import sympy as sp

from qgeom import QgeomInputError
from qgeom.models import KPModel, parse_expression


def random_kp_strings(rng):
    """A random Hermitian 3×3 matrix of strings in kx, ky, kz with parameters a, b, c."""
    c = rng.uniform(-1, 1, size=12).round(4)
    diag = [
        f"a*(kx**2 + ky**2) + {c[0]}*kz + {c[1]}",
        f"cos(kx) + exp({c[2]}*ky) + sqrt(2 + kz**2)",
        f"-b*kx*ky*kz + {c[3]}*sin(ky)",
    ]
    off = {
        (0, 1): (f"{c[4]}*kx + {c[5]}*ky**2", f"{c[6]}*kz + c*kx*ky"),
        (0, 2): (f"{c[7]}*kx**3", f"{c[8]}*ky - {c[9]}"),
        (1, 2): (f"{c[10]}*kz*kx", f"{c[11]}*sin(kx + ky)"),
    }
    M = [["0"] * 3 for _ in range(3)]
    for i in range(3):
        M[i][i] = diag[i]
    for (i, j), (re, im) in off.items():
        M[i][j] = f"({re}) + I*({im})"
        M[j][i] = f"({re}) - I*({im})"
    return M, dict(a=0.7, b=-1.3, c=0.4)


def numeric(strings, params, k):
    """Evaluate the matrix of strings at each k with plain numpy (independent of KPModel)."""
    env = dict(np=np, I=1j, sqrt=np.sqrt, sin=np.sin, cos=np.cos, exp=np.exp, **params)
    out = np.empty((len(k), 3, 3), complex)
    for ik, (kx, ky, kz) in enumerate(k):
        for i in range(3):
            for j in range(3):
                out[ik, i, j] = eval(strings[i][j], {"__builtins__": {}}, {**env, "kx": kx, "ky": ky, "kz": kz})  # noqa: S307 (test-only, trusted)
    return out


def fd(model, k, order, h):
    def central(step):
        cols = []
        for a in range(model.dim):
            e = np.zeros(model.dim)
            e[a] = step
            cols.append((model.hamiltonian(k + e, order - 1) - model.hamiltonian(k - e, order - 1)) / (2 * step))
        return np.stack(cols, axis=1)

    return (4 * central(h / 2) - central(h)) / 3


@pytest.fixture(scope="module")
def random_kp():
    strings, params = random_kp_strings(np.random.default_rng(7))
    return KPModel(strings, dim=3, parameters=params), strings, params


def test_random_kp_matches_direct_evaluation(random_kp, rng):
    model, strings, params = random_kp
    k = rng.uniform(-0.8, 0.8, size=(4, 3))
    np.testing.assert_allclose(model.hamiltonian(k), numeric(strings, params, k), atol=1e-12)
    assert model.nbands == 3 and model.dim == 3 and not model.is_periodic


def test_random_kp_derivatives_match_finite_differences(random_kp, rng):
    model, _, _ = random_kp
    k = rng.uniform(-0.8, 0.8, size=(5, 3))
    for order in (1, 2, 3):
        exact = model.hamiltonian(k, order)
        assert exact.shape == (5,) + (3,) * order + (3, 3)
        err = np.abs(exact - fd(model, k, order, 1e-3)).max()
        assert err <= 1e-7 * np.abs(exact).max(), (order, err)
        if order >= 2:
            np.testing.assert_allclose(exact, exact.swapaxes(1, 2), atol=1e-14)


def test_constant_and_linear_entries_broadcast():
    m = KPModel([["1", "kx"], ["kx", "-1"]], dim=1)
    k = np.linspace(-1, 1, 4)[:, None]
    H3 = m.hamiltonian(k, 3)
    assert H3.shape == (4, 1, 1, 1, 2, 2)
    np.testing.assert_array_equal(H3, 0)
    np.testing.assert_allclose(m.hamiltonian(k, 1)[:, 0], np.broadcast_to([[0, 1], [1, 0]], (4, 2, 2)))


def _sympy_vs_strings(matrix, rng):
    a = KPModel(matrix, dim=2)
    b = KPModel([["kx**2", "kx - I*ky"], ["kx + I*ky", "-ky**2"]], dim=2)
    k = rng.uniform(-1, 1, size=(3, 2))
    for order in range(4):
        np.testing.assert_allclose(a.hamiltonian(k, order), b.hamiltonian(k, order), atol=1e-14)


def test_sympy_entries_equal_string_entries(rng):
    kx, ky = sp.symbols("kx ky", real=True)
    _sympy_vs_strings([[kx**2, kx - sp.I * ky], [kx + sp.I * ky, -ky**2]], rng)


def test_sympy_matrix_input_equals_string_input(rng):
    kx, ky = sp.symbols("kx ky", real=True)
    _sympy_vs_strings(sp.Matrix([[kx**2, kx - sp.I * ky], [kx + sp.I * ky, -ky**2]]), rng)


def test_parse_expression_whitelist():
    x = sp.Symbol("kx", real=True)
    assert parse_expression("2*kx**2 - kx/4 + sqrt(4)", {"kx": x}) == 2 * x**2 - x / 4 + 2
    assert parse_expression("-I*kx", {"kx": x}) == -sp.I * x
    for bad in ["kx.real", "(lambda: 1)()", "kx[0]", "open('f')", "kx if kx else 1", "[kx]", "kx == 1",
                "__import__('os')", "sin(kx, kx)", "sin(x=kx)", "'text'", "True"]:
        with pytest.raises(QgeomInputError):
            parse_expression(bad, {"kx": x})


def test_kp_model_input_errors():
    with pytest.raises(QgeomInputError, match="Hermitian"):
        KPModel([["kx", "I*kx"], ["I*kx", "0"]], dim=1)
    with pytest.raises(QgeomInputError, match="square"):
        KPModel([["kx", "0"]], dim=1)
    with pytest.raises(QgeomInputError, match="mass"):
        KPModel([["mass*kx"]], dim=1)  # unknown name
    with pytest.raises(QgeomInputError, match="ky"):
        KPModel([["ky"]], dim=1)  # ky not a symbol of a 1D model
    with pytest.raises(QgeomInputError, match="dim"):
        KPModel([["kx"]], dim=4)
    with pytest.raises(QgeomInputError, match="parse"):
        KPModel([["kx +"]], dim=1)


@pytest.mark.parametrize("text", ["kx*9**9**9", "kx**ky", "2**100"])
def test_huge_or_symbolic_exponents_are_rejected_quickly(text):
    kx, ky = sp.symbols("kx ky", real=True)
    with pytest.raises(QgeomInputError, match="exponent"):
        parse_expression(text, {"kx": kx, "ky": ky})


def test_non_finite_kp_parameters_are_rejected():
    from qgeom.models import mnbi2te4_bilayer

    with pytest.raises(QgeomInputError, match="finite"):
        mnbi2te4_bilayer(gamma=float("nan"))


@pytest.mark.parametrize("name", ["kx", "ky", "kz", "I", "sqrt", "sin", "cos", "exp"])
def test_reserved_parameter_names_are_refused(name):
    # a parameter 'kx' used to replace the momentum: H lost its k dependence without a word
    with pytest.raises(QgeomInputError, match=rf"name '{name}' is reserved.*'kx', 'ky', 'kz', 'I'.*rename"):
        KPModel([["kx", "0"], ["0", "-kx"]], dim=2, parameters={name: 1.0})


@pytest.mark.parametrize("name", ["1bad", "a-b", "", "lambda", 3])
def test_non_identifier_parameter_names_are_refused(name):
    with pytest.raises(QgeomInputError, match="not a valid identifier"):
        KPModel([["kx", "0"], ["0", "-kx"]], dim=2, parameters={name: 1.0})


def test_parse_expression_refuses_symbols_shadowing_the_whitelist():
    with pytest.raises(QgeomInputError, match="symbol name 'I' is reserved"):
        parse_expression("I", {"I": sp.Symbol("I")})
    assert parse_expression("a_1*kx", {"a_1": sp.Symbol("a_1"), "kx": sp.Symbol("kx")}) == sp.Symbol("a_1") * sp.Symbol("kx")
