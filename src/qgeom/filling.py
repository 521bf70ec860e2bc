"""Band filling: the number of electrons per unit cell at a chemical potential, and its inverse, the Fermi level.

    N(μ) = Σ_n ∫_BZ f(ε_n(k) − μ) d^dk / V_BZ  ≈  (1/N_k) Σ_{n,k} f(ε_nk − μ)

on a uniform grid of N_k points, f the Fermi function at kT = `temperature` (`occupation.fermi_dirac`). The bands
are counted as the model has them: a spinor model (e.g. Wannier90 with `spinors = .true.`) holds one electron per
band, and so does a spinless model — whose count is then per spin (halve a spin-degenerate electron count).
Continuum (k·p) models have no unit cell to count in and are refused.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.optimize import brentq
from scipy.special import logsumexp

from ._validation import QgeomInputError, as_finite_array, both_spellings, positive_scalar
from .kspace import KGrid, auto_chunk_size, chunk_bounds, make_grid
from .models.base import Model
from .occupation import fermi_dirac_kT
from .options import checked_keywords

DEFAULT_KPOINTS = 4096  # the default grid: about this many k-points, as many per direction (16³, 64², 4096)
SLICE_ELEMENTS = 2**20  # (energy, μ) pairs per temporary of the count


@dataclass(frozen=True)
class Filling:
    """The Fermi level that holds `electrons` per cell at kT = `temperature` on a grid of `grid` points.

    gap : (highest occupied, lowest empty) band energy on the grid when the count fills whole bands that a gap
        separates from the empty ones, else None (a metal or semimetal, or a fractional count).
    """

    electrons: float
    fermi_energy: float
    temperature: float
    grid: tuple[int, ...]
    gap: tuple[float, float] | None = None

    def source(self, unit: str) -> str:
        """Where the Fermi energy comes from: '28 electrons per cell (kT 0.01 eV, grid 64×64)'."""
        plural = "" if self.electrons == 1 else "s"
        return (f"{self.electrons:g} electron{plural} per cell (kT {self.temperature:g} {unit}, "
                f"grid {'×'.join(map(str, self.grid))})")

    def describe(self, unit: str) -> str:
        """'Fermi energy -3.587 eV from 28 electrons per cell (kT ..., grid ...); gap 0.047 eV between ... and ...'."""
        line = f"Fermi energy {self.fermi_energy:.6g} {unit} from {self.source(unit)}"
        if self.gap is not None:
            top, bottom = self.gap
            return line + f"; gap {bottom - top:.4g} {unit} between {top:.6g} and {bottom:.6g}"
        return line + ("; no gap: the filled and empty bands overlap" if float(self.electrons).is_integer() else "")


def default_grid(model: Model) -> tuple[int, ...]:
    """The coarse grid of the count: round(DEFAULT_KPOINTS^(1/d)) points along each of the d directions."""
    return (round(DEFAULT_KPOINTS ** (1.0 / model.dim)),) * model.dim


def _lattice_grid(model: Model, grid, offset: str) -> KGrid:
    if not model.is_periodic:
        raise QgeomInputError(f"{model.name!r} is a continuum (k·p) model: it has no unit cell to count electrons "
                              "in; the electron count and the Fermi level from it need a lattice model.")
    return make_grid(model, default_grid(model) if grid is None else grid, offset=offset)


def band_energies(model: Model, kgrid: KGrid) -> np.ndarray:
    """ε_nk [nk, N] (ascending at each k) on `kgrid`, diagonalized chunk by chunk."""
    size = auto_chunk_size(model)  # the k-sums' chunks, as refinement.fermi_surface_missed's eigenvalue pass
    return np.concatenate([np.linalg.eigvalsh(model.hamiltonian(kgrid.points(*b)[0]))
                           for b in chunk_bounds(kgrid, size)])


def _occupied(energies: np.ndarray, mu: np.ndarray, kT: float) -> np.ndarray:
    """Σ f(ε − μ) over all `energies`, for each μ of the 1D `mu`, in slices that bound the [slice, nμ] temporary."""
    e = energies.ravel()
    step = max(1, SLICE_ELEMENTS // mu.size)
    total = np.zeros(mu.size)
    for start in range(0, e.size, step):
        total += fermi_dirac_kT(e[start:start + step, None], mu[None, :], kT).sum(axis=0)
    return total


@checked_keywords
def electron_count(model: Model, mu, *, temperature: float, grid=None, offset: str = "gamma") -> np.ndarray:
    """N(μ): occupied states per unit cell in the model's bands at chemical potential(s) `mu` and kT = `temperature`
    (model energy unit), on a uniform grid (`grid`: points per direction, default `default_grid`; `offset` "mp" or
    "gamma"). Returns an array of the shape of `mu`; one band holds one electron (module docstring)."""
    kT = positive_scalar(temperature, "temperature")
    mu = as_finite_array(mu, "mu")
    energies = band_energies(model, _lattice_grid(model, grid, offset))
    return (_occupied(energies, mu.ravel(), kT) / len(energies)).reshape(mu.shape)


def _electrons(electrons, nbands: int) -> float:
    """`electrons` as a count strictly inside (0, nbands): 0 and nbands put μ at ∓∞."""
    bad = isinstance(electrons, (bool, np.bool_))
    try:
        n = float(electrons)
    except (TypeError, ValueError):
        bad = True
    if bad or not 0.0 < n < nbands:
        raise QgeomInputError(
            f"{both_spellings('electrons', '--electrons')} must be a number of electrons per unit cell strictly "
            f"between 0 and {nbands} (the model's {nbands} band{'s' * (nbands != 1)}, one electron each), got "
            f"{electrons!r}; count the valence electrons of the orbitals in the model (e.g. 28 for 1T'-MoS2's Mo s,d "
            f"and S p spinor Wannier functions), per spin for a spinless model.")
    return n


@checked_keywords
def filling(model: Model, electrons: float, *, temperature: float, grid=None, offset: str = "gamma") -> Filling:
    """The μ at which N(μ) = `electrons` (`electron_count`), from one pass over the grid's eigenvalues, with the gap
    around it when the count is an integer. At T > 0 an insulator's μ is the exact solution, near mid-gap: holes
    below balance electrons above, μ = midgap + (kT/2) ln(g_v/g_c) for band edges of degeneracies g_v, g_c."""
    kT = positive_scalar(temperature, "temperature")
    n = _electrons(electrons, model.nbands)
    kgrid = _lattice_grid(model, grid, offset)
    energies = band_energies(model, kgrid)
    # split at the nearest whole band m: N = n  ⇔  Σ_{bands ≥ m} f(ε − μ) − Σ_{bands < m} f(μ − ε) = (n − m) N_k,
    # both sums of small terms, compared by their logarithms: no 1 − f rounds to 0, whatever the gap/kT
    m = round(n)
    below, above = energies[:, :m].ravel(), energies[:, m:].ravel()
    excess = (n - m) * len(energies)

    def log_total(x: np.ndarray, extra: float) -> float:  # log(Σ f(x) + extra)
        terms = -np.logaddexp(0.0, x)
        return float(logsumexp(np.append(terms, np.log(extra)) if extra > 0 else terms))

    def imbalance(mu: float) -> float:  # increasing in μ, zero at the Fermi level
        return log_total((above - mu) / kT, -excess) - log_total((mu - below) / kT, excess)

    # beyond this many kT outside the bands, even one band's f sums to less than min(n, N − n)
    reach = (40.0 + np.log(model.nbands / min(n, model.nbands - n))) * kT
    mu = brentq(imbalance, energies.min() - reach, energies.max() + reach, xtol=1e-15 * kT, maxiter=500)
    gap = None
    if excess == 0 and below.max() < above.min():
        gap = (float(below.max()), float(above.min()))
    return Filling(n, float(mu), kT, kgrid.shape, gap)


@checked_keywords
def fermi_level(model: Model, electrons: float, *, temperature: float, grid=None, offset: str = "gamma") -> float:
    """The chemical potential (model energy unit) that holds `electrons` per unit cell at kT = `temperature`
    (`filling`, which also gives the gap)."""
    return filling(model, electrons, temperature=temperature, grid=grid, offset=offset).fermi_energy
