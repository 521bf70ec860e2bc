"""The dissipation mechanisms of the Γ-expansion (seed [D] Table I), one registry entry each.

Every mechanism shares the Drude (Γ⁻²) and BCD (Γ⁻¹) coefficients; it differs in how the Γ⁰
geometric term combines the raw Fermi-surface integrals (G_ab_c = Σ f0' v_a G_bc, G_bc_a, and the
metric dipole) and whether a kinetic term (σ^kin = C_kin Σ v v v f0'''') survives. Adding a
mechanism is one entry in MECHANISM_REGISTRY; the CLI's choices, help and table columns read it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from .._validation import QgeomInputError, as_finite_array, both_spellings


@dataclass(frozen=True)
class Parts:
    """The raw Γ⁰ integrals of one k-sum, [component, μ] each."""

    G_ab_c: np.ndarray
    G_bc_a: np.ndarray
    dipole: np.ndarray  # the metric dipole (or −metric·velocity, the same by parts)
    kinetic: np.ndarray

    @property
    def interband(self) -> np.ndarray:
        return self.G_ab_c - 2 * self.G_bc_a


@dataclass(frozen=True)
class Mechanism:
    """geometric(parts, rta) → σ^geo; kinetic: whether σ^kin survives; needs_rta: takes the user's (c1, c2)."""

    short: str  # column label of the CLI table
    help: str
    geometric: Callable[[Parts, tuple[float, float] | None], np.ndarray]
    kinetic: bool = False
    needs_rta: bool = False


def _rta(p: Parts, rta) -> np.ndarray:
    c1, c2 = rta
    return c1 * p.G_ab_c - c2 * p.G_bc_a


MECHANISM_REGISTRY: dict[str, Mechanism] = {
    "fermionic_bath": Mechanism("bath", "fermionic bath (this seed): 2(G_ab,c - 2G_bc,a - dipole/2) + kinetic",
                                lambda p, rta: 2 * (p.interband - 0.5 * p.dipole), kinetic=True),
    "constant_gamma": Mechanism("constG", "white-noise disorder, constant Γ (Table I)",
                                lambda p, rta: p.interband - 0.5 * p.dipole),
    "rta": Mechanism("rta", "relaxation-time approximation with Table I coefficients rta = (C1, C2)", _rta,
                     needs_rta=True),
}
MECHANISMS = tuple(MECHANISM_REGISTRY)


def mechanism(name: str) -> Mechanism:
    try:
        return MECHANISM_REGISTRY[name]
    except KeyError:
        raise QgeomInputError(f"unknown mechanism {name!r}; allowed: {', '.join(MECHANISM_REGISTRY)}.") from None


def assemble(raw: dict[str, np.ndarray], mechanisms, rta) -> np.ndarray:
    """sigma[mechanism, term, component, μ] with terms (drude, bcd, geometric, kinetic, intrinsic)."""
    dipole = raw["metric_dipole"] if "metric_dipole" in raw else -raw["metric_velocity"]
    parts = Parts(raw["G_ab_c"], raw["G_bc_a"], dipole, raw["kin"])
    zero = np.zeros_like(parts.G_ab_c)
    rows = []
    for name in mechanisms:
        mech = mechanism(name)
        geo = mech.geometric(parts, rta)
        kin = parts.kinetic if mech.kinetic else zero
        rows.append([raw["drude"], raw["bcd"], geo, kin, geo + kin])
    return np.array(rows)


def check_mechanisms(mechanisms, rta):
    """The requested mechanisms (default: those that need no user input, + rta when rta is given) and rta."""
    needing = [n for n, m in MECHANISM_REGISTRY.items() if m.needs_rta]
    if mechanisms is None:
        mechanisms = [n for n in MECHANISM_REGISTRY if n not in needing or rta is not None]
    mechanisms = [mechanisms] if isinstance(mechanisms, str) else list(mechanisms)
    if not mechanisms:
        raise QgeomInputError(f"mechanisms is empty; choose from {', '.join(MECHANISM_REGISTRY)}.")
    if rta is not None and not any(n in mechanisms for n in needing):
        raise QgeomInputError(f"{both_spellings('rta=(c1, c2)', '--rta C1,C2')} was given but 'rta' is not in "
                              "mechanisms; add it or drop rta.")
    for name in mechanisms:
        mechanism(name)
    if any(n in mechanisms for n in needing):
        need = f"mechanism 'rta' needs {both_spellings('rta=(c1, c2)', '--rta C1,C2')}, the Table I coefficients"
        if rta is None:
            raise QgeomInputError(f"{need}.")
        if isinstance(rta, str) or np.ndim(rta) != 1 or len(rta) != 2:
            raise QgeomInputError(f"{need}, as two numbers; got {rta!r}.")
        try:
            values = np.asarray(rta, dtype=float)
        except (TypeError, ValueError):  # ("a", "b"): numpy's float() error names neither field nor fix
            raise QgeomInputError(f"{need}, as two numbers; got {rta!r}.") from None
        rta = tuple(float(x) for x in as_finite_array(values, "rta"))
    return mechanisms, rta
