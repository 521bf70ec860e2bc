"""Compatibility alias: the observables now live in `qgeom.observables` (shared by DC and optics)."""

from ..observables import (AXES, OPERATOR_PARITY, OPERATOR_UNITS, PARITIES, Observable, current,
                           detect_parity, from_model, operator, resolve)

__all__ = ["AXES", "OPERATOR_PARITY", "OPERATOR_UNITS", "PARITIES", "Observable", "current",
           "detect_parity", "from_model", "operator", "resolve"]
