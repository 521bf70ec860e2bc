"""k·p (continuum) models from SymPy expressions in kx, ky, kz, with exact symbolic derivatives.

User strings are parsed by walking Python's AST with a whitelist (numbers, the model's symbols,
+ − * / **, I, sqrt, sin, cos, exp); nothing is ever passed to `eval`.
"""

from __future__ import annotations

import ast
from collections.abc import Mapping, Sequence
from itertools import combinations_with_replacement
from typing import Any

import numpy as np
import sympy as sp

from .._validation import QgeomInputError
from .base import Model, check_operator

K_SYMBOLS = sp.symbols("kx ky kz", real=True)
MAX_EXPONENT = 16  # k·p polynomials need small powers; a huge one (9**9**9) would hang SymPy
_FUNCTIONS = {"sqrt": sp.sqrt, "sin": sp.sin, "cos": sp.cos, "exp": sp.exp}
_BINOPS = {
    ast.Add: lambda a, b: a + b,
    ast.Sub: lambda a, b: a - b,
    ast.Mult: lambda a, b: a * b,
    ast.Div: lambda a, b: a / b,
    ast.Pow: lambda a, b: a**b,
}


def parse_expression(text: str, symbols: Mapping[str, sp.Expr]) -> sp.Expr:
    """Parse `text` into a SymPy expression allowing only whitelisted syntax.

    `symbols` maps allowed names (kx, ky, kz and model parameters) to SymPy objects.
    """
    if not isinstance(text, str):
        raise QgeomInputError(f"expected an expression string, got {type(text).__name__}.")
    try:
        tree = ast.parse(text.strip(), mode="eval")
    except SyntaxError as exc:
        raise QgeomInputError(f"cannot parse expression {text!r}: {exc.msg}.") from None
    allowed = dict(symbols)
    allowed["I"] = sp.I

    def build(node: ast.AST) -> sp.Expr:
        if isinstance(node, ast.Expression):
            return build(node.body)
        if isinstance(node, ast.Constant) and isinstance(node.value, (int, float)) and not isinstance(node.value, bool):
            return sp.nsimplify(node.value) if isinstance(node.value, int) else sp.Float(node.value)
        if isinstance(node, ast.Name):
            if node.id in allowed:
                return allowed[node.id]
            raise QgeomInputError(
                f"unknown name {node.id!r} in {text!r}; allowed: {sorted(allowed)} and functions {sorted(_FUNCTIONS)}."
            )
        if isinstance(node, ast.BinOp) and type(node.op) in _BINOPS:
            left, right = build(node.left), build(node.right)
            if isinstance(node.op, ast.Pow) and not (right.is_number and abs(float(right)) <= MAX_EXPONENT):
                raise QgeomInputError(
                    f"exponent {right} in {text!r} is not allowed: use a number with |exponent| <= {MAX_EXPONENT}."
                )
            return _BINOPS[type(node.op)](left, right)
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
            val = build(node.operand)
            return -val if isinstance(node.op, ast.USub) else val
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Name)
            and node.func.id in _FUNCTIONS
            and len(node.args) == 1
            and not node.keywords
        ):
            return _FUNCTIONS[node.func.id](build(node.args[0]))
        raise QgeomInputError(
            f"disallowed syntax {type(node).__name__!r} in expression {text!r}; only numbers, symbols, "
            f"+ - * / **, I and the functions {sorted(_FUNCTIONS)} are allowed."
        )

    return build(tree)


class KPModel(Model):
    """Continuum model H(k) given as an N×N SymPy matrix in kx, ky, kz (k in 1/`length_unit`).

    Entries may be SymPy expressions or strings (parsed safely, see `parse_expression`); numeric
    `parameters` are substituted before the derivatives are taken and compiled to NumPy.
    """

    def __init__(
        self,
        matrix: Sequence[Sequence[Any]] | sp.Matrix,
        *,
        dim: int,
        parameters: Mapping[str, float] | None = None,
        name: str = "kp",
        operators: Mapping[str, Any] | None = None,
        energy_unit: str = "eV",
        length_unit: str = "Å",
        k_cutoff: float | None = None,
    ):
        if dim not in (1, 2, 3):
            raise QgeomInputError(f"dim must be 1, 2 or 3, got {dim!r}.")
        self.dim = dim
        self.name = name
        self.parameters = {}
        for key, val in (parameters or {}).items():
            try:
                self.parameters[key] = float(val)
            except (TypeError, ValueError):
                raise QgeomInputError(f"k·p parameter {key!r} must be a number, got {val!r}.") from None
            if not np.isfinite(self.parameters[key]):
                raise QgeomInputError(f"k·p parameter {key!r} is {val!r}; parameters must be finite numbers.")
        self.lattice = None
        self.energy_unit, self.length_unit = energy_unit, length_unit
        self.k_cutoff = k_cutoff
        ks = K_SYMBOLS[:dim]
        symbols = {s.name: s for s in ks}
        symbols.update({p: sp.Symbol(p, real=True) for p in self.parameters})
        if isinstance(matrix, sp.MatrixBase):
            matrix = matrix.tolist()
        rows = [[parse_expression(e, symbols) if isinstance(e, str) else sp.sympify(e) for e in row] for row in matrix]
        H = sp.Matrix(rows)
        if H.shape[0] != H.shape[1]:
            raise QgeomInputError(f"the k·p matrix must be square, got {H.shape}.")
        H = H.subs({symbols[p]: v for p, v in self.parameters.items()})
        free = H.free_symbols - set(ks)
        if free:
            raise QgeomInputError(
                f"the k·p matrix contains symbols {sorted(map(str, free))} that are neither "
                f"{[s.name for s in ks]} nor given in `parameters`."
            )
        if sp.simplify(H - H.H) != sp.zeros(*H.shape):
            raise QgeomInputError("the k·p Hamiltonian is not Hermitian: H(k) must equal its conjugate transpose.")
        self.nbands = H.shape[0]
        self.matrix = H
        self.operators = {k: check_operator(v, self.nbands, k) for k, v in (operators or {}).items()}
        self._compiled = {}
        for order in range(4):
            for idx in combinations_with_replacement(range(dim), order):
                D = H
                for a in idx:
                    D = D.diff(ks[a])
                self._compiled[idx] = sp.lambdify(ks, list(D), modules="numpy")

    def _eval(self, idx: tuple[int, ...], k: np.ndarray) -> np.ndarray:
        N = self.nbands
        entries = self._compiled[idx](*k.T)
        out = np.empty((len(k), N * N), complex)
        for i, e in enumerate(entries):
            out[:, i] = e  # scalars (constant entries) broadcast
        return out.reshape(len(k), N, N)

    def _hamiltonian(self, k: np.ndarray, order: int) -> np.ndarray:
        nk, d, N = len(k), self.dim, self.nbands
        out = np.empty((nk,) + (d,) * order + (N, N), complex)
        for idx in np.ndindex(*(d,) * order):
            out[(slice(None),) + idx] = self._eval(tuple(sorted(idx)), k)
        return out

    def describe(self) -> dict[str, Any]:
        desc = super().describe()
        desc["hamiltonian"] = str(self.matrix.tolist())
        desc["k_cutoff"] = self.k_cutoff
        return desc

