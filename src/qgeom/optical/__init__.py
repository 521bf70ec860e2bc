"""Second-order optical responses of arbitrary observables with Kramers degeneracy (seed [K]).

    from qgeom.optical import response, current
    ds = response(mnbi2te4_bilayer(neel=+1), "layer_polarization",
                  kinds=["kramers_injection", "kramers_fermi_sea", "shift_like"],
                  omega=np.linspace(0.0, 0.3, 301), mu=0.01, tau=0.25)
    ds.chi.sel(kind="kramers_injection", alpha="x", beta="y").imag   # e/V² per unit area
"""

from ..observables import Observable, current, detect_parity, from_model, operator
from .response import DEFAULT_KINDS, PUBLIC_KINDS, chunk_response, response, symmetrize
from .terms import ALL_TERMS

__all__ = [
    "ALL_TERMS", "DEFAULT_KINDS", "PUBLIC_KINDS", "Observable", "chunk_response", "current",
    "detect_parity", "from_model", "operator", "response", "symmetrize",
]
