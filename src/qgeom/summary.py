"""Band-resolved geometric summaries: BZ integrals of Ω and g per band, Chern numbers (2D)."""

from __future__ import annotations

import numpy as np
import xarray as xr

from . import geometry
from .bands import Bands
from .accuracy import attach_error, error_tolerance
from .kspace import integrate
from .models.base import Model
from .options import Execution, Sampling, checked_keywords
from .results import make_result

AXES = "xyz"


def _band_integrals(b: Bands, w: np.ndarray) -> dict[str, np.ndarray]:
    """Chunk integrand of `band_geometry`: a module-level function without parameters, so it pickles
    (process pool, Dask) and its checkpoint fingerprint (module + name) is stable."""
    return {
        "curvature": np.einsum("k,kabn->nab", w, geometry.berry_curvature(b)),
        "metric": np.einsum("k,kabn->nab", w, geometry.quantum_metric(b)),
        "energy": np.einsum("k,kn->n", w, b.energies),
        "measure": np.array(w.sum()),
    }


@checked_keywords
def band_geometry(
    model: Model, *, grid=Sampling.grid, degen_tol: float = Sampling.degen_tol, chunk_size: int | None = None,
    progress: bool | None = None, workers: int | None = None, scheduler=None, checkpoint=None,
    error_tol: float | None = None,
) -> xr.Dataset:
    """Per band n: ∫[dk] Ω^n_ab, ∫[dk] g^{ab}_n (∫[dk] = ∫d^dk/(2π)^d), the band's mean energy over the k-region and,
    for 2D lattice models, the Chern number C_n = (1/2π) ∫_BZ d²k Ω^n_xy.
    `workers`, `scheduler`, `checkpoint`: executor and resumable run, see `kspace.integrate`.
    `<name>_error`: estimated k-grid discretization error of each integral (`qgeom.accuracy`), with an
    AccuracyWarning above `error_tol` relative to the largest |value| of that quantity."""
    error_tol = error_tolerance(error_tol)
    sampling = Sampling(grid, degen_tol=degen_tol)
    execution = Execution(chunk_size, progress, workers, scheduler, checkpoint)
    kgrid = sampling.kgrid(model)
    parts, coarse = integrate(model, kgrid, _band_integrals, order=1, degen_tol=sampling.degen_tol, subgrid=True,
                              **execution.kwargs())
    d, N = model.dim, model.nbands
    comps = list(AXES[:d])
    data = {
        "berry_curvature_integral": (("band", "a", "b"), parts["curvature"]),
        "quantum_metric_integral": (("band", "a", "b"), parts["metric"]),
        "energy_mean": (("band",), parts["energy"] / parts["measure"]),
    }
    if d == 2 and model.is_periodic:
        data["chern_number"] = (("band",), 2 * np.pi * parts["curvature"][:, 0, 1])
    # ∫d^dk/(2π)^d of a length² quantity: dimensionless in 2D
    area_density = "1" if d == 2 else f"{model.length_unit}^{2 - d}"
    ds = make_result(
        data,
        {"band": np.arange(N), "a": comps, "b": comps},
        model=model,
        grid=kgrid,
        parameters={"degen_tol": degen_tol},
        units={
            "berry_curvature_integral": area_density,
            "quantum_metric_integral": area_density,
            "energy_mean": model.energy_unit,
            "chern_number": "1",
        },
        title="band-resolved quantum geometry",
    )
    for name, key in (("berry_curvature_integral", "curvature"), ("quantum_metric_integral", "metric")):
        ds = attach_error(ds, name, None if coarse is None else coarse[key], grid=kgrid, tol=error_tol,
                          over=("band", "a", "b"))
    if "chern_number" in ds:
        ds = attach_error(ds, "chern_number", None if coarse is None else 2 * np.pi * coarse["curvature"][:, 0, 1],
                          grid=kgrid, tol=error_tol, over=("band",))
    return ds
