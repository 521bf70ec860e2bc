"""Models: tight-binding, k·p, and the named library models.

`KPModel` and `parse_expression` (k·p, built on SymPy) are imported on first use: SymPy costs
0.3 s, more than the rest of qgeom's import, and tight-binding and Wannier work never needs it.
"""

from .base import Model
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


def __getattr__(name: str):
    if name in ("KPModel", "parse_expression", "kp"):
        import importlib

        kp = importlib.import_module(f"{__name__}.kp")  # (`from . import kp` would re-enter this hook)
        return kp if name == "kp" else getattr(kp, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
