"""Second-order DC conductivity: Γ-expansion per dissipation mechanism."""

from .convergence import converge
from .expansion import KINETIC_PREFACTOR, expansion

__all__ = ["KINETIC_PREFACTOR", "converge", "expansion"]
