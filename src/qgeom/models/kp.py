"""k·p (continuum) models from SymPy expressions in kx, ky, kz, with exact symbolic derivatives.

User strings are parsed by walking Python's AST with a whitelist (numbers, the model's symbols,
+ − * / **, I, sqrt, sin, cos, exp); nothing is ever passed to `eval`. Before SymPy sees anything
the text is bounded in length, AST size and nesting depth, integer literals in size, and the
expression's degree in k — tracked through nesting, so `((kx**16)**16)**16` is refused like
`kx**4096` — and exact numbers in magnitude (`(9**16)**16`). Hermiticity is checked numerically
at random k-points, relative to |H| (a float-rotated matrix with |H − H†| ~ 1e-16 passes at
once; an exact symbolic simplification took minutes).
"""

from __future__ import annotations

import ast
import keyword
from collections.abc import Mapping, Sequence
from itertools import combinations_with_replacement
from typing import Any

import numpy as np
import sympy as sp

from .._validation import QgeomInputError
from .base import Model, check_operator

K_SYMBOLS = sp.symbols("kx ky kz", real=True)
MAX_EXPONENT = 16  # k·p polynomials need small powers; a huge one (9**9**9) would hang SymPy
MAX_DEGREE = 16  # total degree in k of one entry (through nested powers and products)
MAX_LENGTH = 20_000  # characters of one entry
MAX_NODES = 5_000  # AST nodes of one entry
MAX_PARENS = 60  # parenthesis nesting
MAX_DEPTH = 400  # syntax-tree depth (a sum of n terms is n deep; the parser and SymPy recurse)
MAX_INT_BITS = 128  # integer literals (a 20000-digit literal is refused, not converted)
MAX_NUMBER = 1e300  # exact numbers built from literals must stay representable
K_SYMBOLS_BY_NAME = {s.name: s for s in K_SYMBOLS}
HERMITICITY_RTOL = 1e-10
_FUNCTIONS = {"sqrt": sp.sqrt, "sin": sp.sin, "cos": sp.cos, "exp": sp.exp}
# Names the parser resolves itself: a parameter or symbol spelled like one would either replace a
# momentum (H silently loses its k dependence) or be shadowed by the constant/function.
RESERVED_NAMES = tuple(s.name for s in K_SYMBOLS) + ("I",) + tuple(sorted(_FUNCTIONS))
_BINOPS = {
    ast.Add: lambda a, b: a + b,
    ast.Sub: lambda a, b: a - b,
    ast.Mult: lambda a, b: a * b,
    ast.Div: lambda a, b: a / b,
    ast.Pow: lambda a, b: a**b,
}


def check_parameter_name(name: Any, what: str = "k·p parameter") -> None:
    """Refuse a name an expression cannot refer to unambiguously: not an identifier, or reserved."""
    if not isinstance(name, str) or not name.isidentifier() or keyword.iskeyword(name):
        raise QgeomInputError(
            f"{what} name {name!r} is not a valid identifier; use letters, digits and '_' "
            f"(not starting with a digit, not a Python keyword), e.g. 'a1'."
        )
    if name in RESERVED_NAMES:
        raise QgeomInputError(
            f"{what} name {name!r} is reserved: the expressions already use {list(RESERVED_NAMES)} "
            f"(momenta, the imaginary unit and functions); rename the parameter, e.g. {name + '_0'!r}."
        )


def parse_expression(text: str, symbols: Mapping[str, sp.Expr]) -> sp.Expr:
    """Parse `text` into a SymPy expression allowing only whitelisted syntax.

    `symbols` maps allowed names (kx, ky, kz and model parameters) to SymPy objects.
    """
    tree, shown = _syntax_tree(text)
    for name in symbols:  # momenta are the symbols' purpose; I and functions would be shadowed
        if name not in K_SYMBOLS_BY_NAME:
            check_parameter_name(name, "symbol")
    allowed = dict(symbols)
    allowed["I"] = sp.I
    ks = {s for s in symbols.values() if s in K_SYMBOLS}

    def build(node: ast.AST) -> sp.Expr:
        out = _build(node)
        if out.is_number and _too_big(out):
            raise QgeomInputError(f"expression {shown!r}: a number exceeds {MAX_NUMBER:g}.")
        if _degree(out, ks) > MAX_DEGREE:
            raise QgeomInputError(f"expression {shown!r} has degree > {MAX_DEGREE} in k; k·p models use low orders.")
        return out

    def _build(node: ast.AST) -> sp.Expr:
        if isinstance(node, ast.Expression):
            return build(node.body)
        if isinstance(node, ast.Constant) and isinstance(node.value, (int, float)) and not isinstance(node.value, bool):
            if isinstance(node.value, int) and node.value.bit_length() > MAX_INT_BITS:
                raise QgeomInputError(f"integer literal in {shown!r} is too large (> {MAX_INT_BITS} bits).")
            return sp.Integer(node.value) if isinstance(node.value, int) else sp.Float(node.value)
        if isinstance(node, ast.Name):
            if node.id in allowed:
                return allowed[node.id]
            raise QgeomInputError(
                f"unknown name {node.id!r} in {text!r}; allowed: {sorted(allowed)} and functions {sorted(_FUNCTIONS)}."
            )
        if isinstance(node, ast.BinOp) and type(node.op) in _BINOPS:
            left, right = build(node.left), build(node.right)
            if isinstance(node.op, ast.Pow) and not (right.is_number and right.is_real and abs(float(right)) <= MAX_EXPONENT):
                raise QgeomInputError(
                    f"exponent {right} in {shown!r} is not allowed: use a number with |exponent| <= {MAX_EXPONENT}."
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


def _syntax_tree(text: str) -> tuple[ast.Expression, str]:
    """Python's syntax tree of `text` (not evaluated), within the size limits, and `text` as messages show it."""
    if not isinstance(text, str):
        raise QgeomInputError(f"expected an expression string, got {type(text).__name__}.")
    shown = text if len(text) <= 80 else text[:60] + f"... ({len(text)} characters)"
    if len(text) > MAX_LENGTH:
        raise QgeomInputError(f"expression {shown!r} is longer than {MAX_LENGTH} characters.")
    if _max_paren_depth(text) > MAX_PARENS:
        raise QgeomInputError(f"expression {shown!r} nests parentheses deeper than {MAX_PARENS}.")
    try:
        tree = ast.parse(text.strip(), mode="eval")
    except (RecursionError, MemoryError):
        raise QgeomInputError(f"expression {shown!r} nests deeper than the parser allows (keep it under "
                              f"{MAX_DEPTH} levels and {MAX_NODES} syntax nodes).") from None
    except (SyntaxError, ValueError) as exc:
        raise QgeomInputError(f"cannot parse expression {shown!r}: {getattr(exc, 'msg', exc)}.") from None
    _check_size(tree, shown)
    return tree, shown


def _too_big(x: sp.Expr) -> bool:
    try:
        return not abs(complex(x)) <= MAX_NUMBER  # also NaN, zoo
    except (OverflowError, TypeError, ValueError):
        return True


def _max_paren_depth(text: str) -> int:
    depth = best = 0
    for ch in text:
        if ch in "([":
            depth += 1
            best = max(best, depth)
        elif ch in ")]":
            depth -= 1
    return best


def _check_size(tree: ast.AST, shown: str) -> None:
    """AST node count and depth (unary signs chain: '-' * 200000 + '1' is 200000 levels)."""
    count, stack = 0, [(tree, 0)]
    while stack:
        node, depth = stack.pop()
        count += 1
        if count > MAX_NODES:
            raise QgeomInputError(f"expression {shown!r} has more than {MAX_NODES} syntax nodes.")
        if depth > MAX_DEPTH:
            raise QgeomInputError(f"expression {shown!r} nests deeper than {MAX_DEPTH} levels.")
        stack.extend((child, depth + 1) for child in ast.iter_child_nodes(node))


def _degree(expr: sp.Expr, ks) -> int:
    """Total degree in k of a polynomial (its largest monomial); for non-polynomial expressions
    (sqrt, sin, division) the degree of the polynomials inside, counted the same way."""
    if not ks or not (expr.free_symbols & ks):
        return 0
    if expr.is_Pow and expr.exp.is_number:
        return int(np.ceil(abs(float(expr.exp)))) * _degree(expr.base, ks)
    if expr.is_Mul:
        return sum(_degree(a, ks) for a in expr.args)
    if expr.is_Add or expr.is_Function:
        return max(_degree(a, ks) for a in expr.args)
    return 1 if expr in ks else max((_degree(a, ks) for a in expr.args), default=0)


def _check_hermitian(H: sp.Matrix, ks, k_cutoff) -> None:
    """H(k) = H(k)† at random k-points (|k| up to the cutoff, or 1), to HERMITICITY_RTOL × max|H|:
    a nonzero anti-Hermitian part is an analytic function and cannot vanish at all of them."""
    rng = np.random.default_rng(12345)
    scale = float(k_cutoff) if k_cutoff else 1.0
    k = rng.uniform(-scale, scale, (8, len(ks)))
    f = sp.lambdify(ks, list(H), modules="numpy")
    with np.errstate(all="ignore"):
        vals = np.stack([np.broadcast_to(np.asarray(e, complex), (len(k),)) for e in f(*k.T)], axis=1)
    vals = vals.reshape(len(k), *H.shape)
    if not np.all(np.isfinite(vals)):
        raise QgeomInputError("the k·p Hamiltonian is not finite at some k (check the expressions and parameters).")
    dev = np.abs(vals - vals.conj().swapaxes(-1, -2)).max()
    if dev > HERMITICITY_RTOL * max(np.abs(vals).max(), np.finfo(float).tiny):
        raise QgeomInputError(
            f"the k·p Hamiltonian is not Hermitian: |H - H^dagger| = {dev:.3g} at random k (|H| up to "
            f"{np.abs(vals).max():.3g}); H(k) must equal its conjugate transpose."
        )


def _square_rows(matrix) -> list[list[Any]]:
    """The k·p matrix as N rows of N entries (strings, numbers or SymPy expressions), checked before SymPy sees
    it: a ragged, empty or non-matrix input otherwise fails inside sympy.Matrix with no word on the fix."""
    if isinstance(matrix, sp.MatrixBase):
        matrix = matrix.tolist()
    shape_hint = "pass an N×N matrix: a list of N rows of N entries, e.g. [['kx', '0'], ['0', '-kx']]"
    if isinstance(matrix, (str, bytes)) or not isinstance(matrix, (Sequence, np.ndarray)):
        raise QgeomInputError(f"the k·p matrix must be a list of rows, got {type(matrix).__name__}; {shape_hint}.")
    rows = list(matrix)
    if not rows or any(isinstance(r, (str, bytes)) or not isinstance(r, (Sequence, np.ndarray)) for r in rows):
        raise QgeomInputError(f"the k·p matrix must hold at least one row, each a list of entries; {shape_hint}.")
    lengths = [len(r) for r in rows]
    if any(n != len(rows) for n in lengths):
        raise QgeomInputError(f"the k·p matrix must be square: {len(rows)} rows of lengths {lengths}; {shape_hint}.")
    for i, row in enumerate(rows):
        for j, e in enumerate(row):
            if isinstance(e, (bool, np.bool_)) or not isinstance(e, (str, int, float, complex, np.number, sp.Basic)):
                raise QgeomInputError(f"k·p matrix entry [{i}][{j}] is {type(e).__name__} {e!r}; entries must be "
                                      f"expression strings ('kx**2'), numbers or SymPy expressions.")
    return rows


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
            check_parameter_name(key)
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
        rows = [[parse_expression(e, symbols) if isinstance(e, str) else sp.sympify(e) for e in row]
                for row in _square_rows(matrix)]
        H = sp.Matrix(rows)
        H = H.subs({symbols[p]: v for p, v in self.parameters.items()})
        free = H.free_symbols - set(ks)
        if free:
            raise QgeomInputError(
                f"the k·p matrix contains symbols {sorted(map(str, free))} that are neither "
                f"{[s.name for s in ks]} nor given in `parameters`."
            )
        _check_hermitian(H, ks, k_cutoff)
        H = (H + H.H) / 2  # exactly Hermitian (removes float round-off of rotated matrices)
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

