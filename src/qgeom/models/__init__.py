"""Models: tight-binding, k·p, and the named library models."""

from .base import Model
from .kp import KPModel, parse_expression
from .library import (
    MODELS,
    asymmetric_chain,
    mnbi2te4_bilayer,
    pt_tilted_2band,
    pt_tilted_4band,
    qi_wu_zhang,
    tilted_dirac_2band,
)
from .tight_binding import TightBindingModel

__all__ = [
    "MODELS", "KPModel", "Model", "TightBindingModel", "asymmetric_chain", "mnbi2te4_bilayer",
    "parse_expression", "pt_tilted_2band", "pt_tilted_4band", "qi_wu_zhang", "tilted_dirac_2band",
]
