"""Second-order DC conductivity: Γ-expansion per dissipation mechanism, and the exact
fermionic-bath NESS evaluation that fixes its prefactors."""

from .convergence import converge
from .exact import exact, exact_frequency
from .expansion import KINETIC_PREFACTOR, expansion

__all__ = ["KINETIC_PREFACTOR", "converge", "exact", "exact_frequency", "expansion"]
