"""Size guards: the memory and time a k-sum will need, estimated before it starts.

`estimate(...)` returns a `Resources` (bytes, seconds) from the model size N, the number of
hopping vectors #R, the number of k-points, μ and ω values, and the executor; `check(...)`
refuses (QgeomInputError with the numbers) what does not fit in the machine's available memory
(`MEMORY_FRACTION` of it) or would run longer than `MAX_SECONDS`, unless overridden: `--force` in the CLI,
`with qgeom.resources.override():` in Python.

The model is deliberately simple — an order of magnitude, not a benchmark:
  memory  = model storage (#R·N²·16 B) + per chunk (workers + the reducer, 2·workers chunks in
            flight): Bloch sums and rotated derivatives (16·N²·(1+d+d²+d³)·2 B per k; measured
            1.3× that for N = 2000), the integrand's own `point_bytes` if it states them (`dc.exact`'s band
            triples, ~6·ncomp·N³·16 B per k), occupations (8·N·nμ·4 B per k), the optical pair numerators
            (32·d²·N² B per k; their ω sums are contracted in batches, so the ω-sized accumulators and
            kernel tables, 256·d²·nω B + 64·OPTICAL_TABLE B, are per chunk), and the chunk sums
            (8·nμ·nω·64 B each), plus the list of chunk bounds (GaAs, 20³, 2000 ω: ~0.3 GiB estimated,
            283 MB peak RSS measured; the ω term per k-point it had before estimated 19 GiB);
  time    = k-points × c × (N³·3.5 + 225·min(N, 20)² + m·N²·8·(1+d) + N²·(8·nμ + 0.8·n_ω) ops) at RATE ops/s
            per worker: the eigensolve (batched, ~2, 36 and 500 µs per k-point at N = 4, 16 and 64 on one core,
            measured 2.4, 36 and 470), the Fourier sums — m = #R^(1/d) + 1 is the extent of the box of R vectors
            along an axis: on a grid they run axis by axis (`models.fourier`), so their cost per k-point is
            the last axis's, not #R (the direct sum, ~50× more for bcc Fe's 1367 R vectors) — and the μ, ω
            sweeps (nμ: the integrand's `mu_sweep_points` if it states them, e.g. `dc.expansion`'s binned μ
            sweep above 32 μ, whose cost per k-point barely grows with nμ; nω: the signed frequencies ±ω of an optical run, n_ω = min(nω, 400) + 0.11·(nω − 400)⁺: beyond a
            few hundred, most transitions are far from most blocks of frequencies and are interpolated from
            Chebyshev points, `optical.spectral`; measured / estimated on GaAs 14³ and 1T′-MoS₂ 40² at 50–4000 ω:
            1.0–1.3); c = the integrand's `relative_cost` (1 if it has none): the work per k-point beyond
            those, e.g. `dc.expansion`'s sums over states for each requested component; plus, once per run,
            the Fourier sums' first levels over the box of R vectors per grid plane (`first_level_ops`).
"""

from __future__ import annotations

import contextlib
import contextvars
import os
from collections.abc import Iterator
from dataclasses import dataclass

from ._validation import QgeomInputError

RATE = 2e9  # effective operations per second and worker (BLAS-heavy numpy on one core)
OPTICAL_TABLE = 51_200  # elements of one optical kernel table [groups, nfreq] (`optical.spectral.TABLE_SIZE`; the size guard counts it)
MAX_SECONDS = 30 * 86400.0  # refuse runs estimated beyond a month
# the optical contraction's cost per signed frequency (module docstring): full up to DIRECT_FREQUENCIES, then
# FAR_FREQUENCY_COST of it (fitted to GaAs 14³ and 1T′-MoS₂ 40², current_x, 50–4000 ω)
DIRECT_FREQUENCIES = 400
FAR_FREQUENCY_COST = 0.11
MEMORY_FRACTION = 0.8  # of the available memory: the rest for the OS, other processes, estimate error
_FORCE = contextvars.ContextVar("qgeom_force", default=False)


@dataclass(frozen=True)
class Resources:
    """Estimated peak memory (bytes) and wall time (seconds) of one computation."""

    bytes: int
    seconds: float

    def describe(self) -> str:
        return f"~{format_bytes(self.bytes)} memory, ~{format_seconds(self.seconds)}"


def format_bytes(n: float) -> str:
    for unit in ("B", "KiB", "MiB", "GiB", "TiB", "PiB"):
        if n < 1024 or unit == "PiB":
            return f"{n:.3g} {unit}"
        n /= 1024
    return f"{n:.3g} PiB"


def format_seconds(s: float) -> str:
    for unit, size in (("years", 365 * 86400.0), ("days", 86400.0), ("h", 3600.0), ("min", 60.0)):
        if s >= size:
            return f"{s / size:.3g} {unit}"
    return f"{s:.2g} s"


def estimate(*, nbands: int, dim: int, npoints: int, nR: int = 0, n_mu: int = 1, n_omega: int = 0,
             workers: int = 1, chunk_size: int | None = None, relative_cost: float = 1.0,
             point_bytes: int = 0) -> Resources:
    """Memory and time of a k-sum over `npoints` k-points of an N = `nbands` model (see module docstring);
    `point_bytes`: the integrand's own working memory per k-point beyond this model's (e.g. `dc.exact`'s band
    triples), as its `relative_cost` is its own work."""
    N, d, w = int(nbands), int(dim), max(1, int(workers or 1))
    n_mu, n_omega = max(1, int(n_mu)), max(0, int(n_omega))
    per_k = bytes_per_point(nbands=N, dim=d, n_mu=n_mu, n_omega=n_omega) + int(point_bytes)
    chunk = int(chunk_size or max(16, min(16384, 24 * 2**20 // max(1, 16 * N * N * (1 + d + d * d + d**3) * 6))))
    chunk = min(chunk, max(1, int(npoints)))
    in_flight = 1 + (3 * w if w > 1 else 0)
    sums = 8 * n_mu * max(1, n_omega) * 64 + (256 * d * d * n_omega + 64 * OPTICAL_TABLE if n_omega else 0)
    bounds = 120 * (int(npoints) // chunk + 1)
    total = 16 * int(nR) * N * N + in_flight * (chunk * per_k + sums) + bounds
    ops = float(npoints) * float(relative_cost) * point_ops(nbands=N, dim=d, nR=nR, n_mu=n_mu, n_omega=n_omega)
    ops += first_level_ops(nbands=N, dim=d, nR=nR, npoints=npoints)
    return Resources(int(total), ops / (RATE * w))


def first_level_ops(*, nbands: int, dim: int, nR: int, npoints: int) -> float:
    """Operations of the separable Fourier sums' first levels over a uniform grid (`models.fourier`): one GEMM
    over the whole box of R vectors (m^d points, m = `box_extent`) for each κ_0 plane a run
    visits, 2^(d−1)·n^(1/d) of them in the sub-grid-first order (`kspace.KGrid`: strides 2), of 16·N² operations
    per box point (the upper triangle, derivative orders ≤ 3). Per k-point that is ~box/n^((d−1)/d): nothing on
    large grids, but most of a wide model's time on a small one (N = 100 with 2093 R vectors on 12³: 30 s
    measured, 14 s estimated without it, 24 s with it; on 100³ it adds 1 %)."""
    if nR <= 1 or dim < 2 or npoints <= 0:
        return 0.0
    planes = 2 ** (dim - 1) * float(npoints) ** (1.0 / dim)
    return planes * box_extent(nR, dim) ** dim * 16.0 * nbands * nbands


def box_extent(nR: int, dim: int) -> float:
    """Extent along one axis of the box that holds #R lattice vectors (#R^(1/d) + 1; at most #R): the last
    summation level's length per k-point in `point_ops`, the first level's box in `first_level_ops`."""
    return min(float(nR), float(nR) ** (1.0 / max(dim, 1)) + 1.0)


def bytes_per_point(*, nbands: int, dim: int, n_mu: int = 1, n_omega: int = 0) -> int:
    """Working memory per k-point of a chunk (module docstring): Bloch sums and rotated derivatives,
    occupations and, for an optical run, the pair numerators."""
    N, d = int(nbands), int(dim)
    # the optical ω sums are contracted in batches of transition groups (`optical.spectral.TABLE_SIZE`): per
    # k-point only the pair numerators (≤ N²/4 pairs × 4 numerators × d² columns, with their slopes); the
    # ω-sized accumulators and kernel tables are per chunk
    optical = 32 * d * d * N * N if n_omega else 0
    return 16 * N * N * (1 + d + d * d + d**3) * 2 + 8 * N * max(1, int(n_mu)) * 4 + optical


def point_ops(*, nbands: int, dim: int, nR: int = 0, n_mu: int = 1, n_omega: int = 0) -> float:
    """Operations per k-point of the cost model before `relative_cost` (module docstring): the eigensolve,
    the Fourier sums and the μ, ω sweeps. An integrand whose own work is known in operations states its
    `relative_cost` as 1 + its work / this."""
    N, d = int(nbands), int(dim)
    box = box_extent(nR, d)
    # LAPACK's N³ and numpy's per-matrix work outside it, ∝ N² up to N ≈ 20 and then flat (batched eigh, one
    # thread: 2.4, 8, 36, 100, 270, 470 µs at N = 4, 8, 16, 32, 48, 64 against 1.9, 8, 36, 102, 239, 504 here)
    eigensolve = 3.5 * N**3 + 225.0 * min(N, 20) ** 2
    n_omega = max(0, int(n_omega))
    omega = min(n_omega, DIRECT_FREQUENCIES) + FAR_FREQUENCY_COST * max(0, n_omega - DIRECT_FREQUENCIES)
    return eigensolve + 8.0 * box * N * N * (1 + d) + N * N * (8.0 * max(1, int(n_mu)) + 0.8 * omega)


def model_point_ops(model, **kwargs) -> float:
    """`point_ops` for a qgeom model (N, d and #R taken from it)."""
    nR = 0 if model.t is None else len(model.t)
    return point_ops(nbands=model.nbands, dim=model.dim, nR=nR, **kwargs)


def for_model(model, npoints: int, **kwargs) -> Resources:
    """`estimate` for a qgeom model (N, d and #R taken from it)."""
    nR = 0 if model.t is None else len(model.t)  # the hopping table t_R of the Model protocol
    return estimate(nbands=model.nbands, dim=model.dim, npoints=npoints, nR=nR, **kwargs)


def available_memory() -> int:
    """Bytes available to this process: MemAvailable (Linux), else physical memory."""
    try:
        with open("/proc/meminfo") as fh:
            for line in fh:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    try:
        return int(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES"))
    except (ValueError, OSError, AttributeError):
        return 2**62


@contextlib.contextmanager
def override() -> Iterator[None]:
    """Within the block, `check` lets oversized computations run (the CLI's --force)."""
    token = _FORCE.set(True)
    try:
        yield
    finally:
        _FORCE.reset(token)


@contextlib.contextmanager
def force_policy(force: bool) -> Iterator[None]:
    token = _FORCE.set(bool(force))
    try:
        yield
    finally:
        _FORCE.reset(token)


def check(res: Resources, what: str) -> Resources:
    """Refuse `res` when it exceeds the available memory or MAX_SECONDS (unless overridden)."""
    if _FORCE.get():
        return res
    avail = int(MEMORY_FRACTION * available_memory())
    fix = ("reduce the grid, the number of μ/ω values or --workers, or pass --force "
           "(Python: `with qgeom.resources.override():`) to run anyway")
    if res.bytes > avail:
        raise QgeomInputError(f"{what} needs ~{format_bytes(res.bytes)} of memory, more than the "
                              f"{format_bytes(avail)} usable here ({MEMORY_FRACTION:.0%} of the available); {fix}.")
    if res.seconds > MAX_SECONDS:
        raise QgeomInputError(f"{what} would take ~{format_seconds(res.seconds)} (estimate); {fix}.")
    return res
