"""Symmetrized response tensors in result Datasets: the time-reversal parity of each term, the
group average, and the Neumann zeros recorded as `forbidden` and in the attributes.

Parities of the second-order DC terms (j T-odd, E T-even, Γ T-odd: the coefficient of Γ^n is
invariant under a primed operation up to (−1)^(n+1)): Drude (Γ⁻²) T-odd, BCD (Γ⁻¹) T-even, the
Γ⁰ geometric/kinetic/intrinsic terms T-odd. Pointwise, each integrand obeys the same law
(v, ∂Ω… T-odd; Ω T-odd; g, ε T-even), which is what makes the wedge sum exact.
"""

from __future__ import annotations

import json

import numpy as np
import xarray as xr

DC_TERM_PARITY = {"drude": -1, "bcd": 1, "geometric": -1, "kinetic": -1, "intrinsic": -1}


def symmetrize_terms(plan, sigma: np.ndarray, computed: list[str], comps: list[str], terms) -> tuple[np.ndarray, np.ndarray]:
    """sigma[mechanism, term, computed, μ] → (sigma[mechanism, term, comps, μ], forbidden[term, comps])."""
    out = np.empty(sigma.shape[:2] + (len(comps),) + sigma.shape[3:], sigma.dtype)
    forbidden = np.zeros((len(terms), len(comps)), bool)
    for t, name in enumerate(terms):
        out[:, t], forbidden[t] = plan.symmetrize(sigma[:, t], computed, comps, DC_TERM_PARITY[name], axis=1)
    return out, forbidden


def attach_symmetry(ds: xr.Dataset, plan, forbidden: np.ndarray | None, dims=("term", "component")) -> xr.Dataset:
    """`forbidden[dims]` (True: zero by Neumann's principle) and the group in attrs."""
    if plan is None:
        ds.attrs["symmetry"] = "none (full grid)"
        return ds
    ds["forbidden"] = (tuple(dims), forbidden)
    ds["forbidden"].attrs["long_name"] = "component forbidden by the magnetic point group (Neumann's principle)"
    ds.attrs["symmetry"] = json.dumps(plan.describe())
    return ds
