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
    split_pair_2band,
    tilted_dirac_2band,
)
from .tight_binding import TightBindingModel

__all__ = [
    "MODELS", "KPModel", "Model", "TightBindingModel", "asymmetric_chain", "mnbi2te4_bilayer",
    "parse_expression", "pt_tilted_2band", "pt_tilted_4band", "qi_wu_zhang", "split_pair_2band",
    "tilted_dirac_2band",
]
from .interop import from_pythtb, from_tbmodels
from .wannier90 import OrbitalPositionModel, from_wannier90, read_hr, read_tb, read_win, to_wannier90_hr, with_convention

__all__ += [
    "OrbitalPositionModel", "from_pythtb", "from_tbmodels", "from_wannier90", "read_hr", "read_tb", "read_win",
    "to_wannier90_hr", "with_convention",
]
