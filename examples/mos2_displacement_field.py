"""Second-order DC response of monolayer 1T'-MoS2 (48-orbital Wannier model) in a vertical
displacement field, with and without an out-of-plane exchange field: the BCD switched on by the
field, and the Γ⁰ terms per dissipation mechanism, which need field AND broken time reversal.

    PYTHONPATH=src MPLBACKEND=Agg python examples/mos2_displacement_field.py [--grid 128]   # ~45 s on one core

Writes docs/figures/mos2_field.png and results/mos2_field.nc (every run's sigma, stacked over
field and exchange). Physics and numbers: docs/mos2_field.md. Each run's line ends with the kinds of
warning it raised: AccuracyWarning (the grid near the gap, docs/mos2_field.md "Limits"),
NearDegeneracyWarning (pairs split by less than kT), SymmetryWarning (components only the model's own
symmetry breaking gives, set to 0).
"""

from __future__ import annotations

import argparse
import time
import warnings
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import xarray as xr

from qgeom.dc import expansion
from qgeom.models import from_wannier90
from qgeom.models.onsite import with_exchange_field
from qgeom.models.symmetrize import restore_time_reversal
from qgeom.models.two_dimensional import with_displacement_field

ROOT = Path(__file__).resolve().parents[1]
MID_GAP = -3.586  # eV: between bands 28 and 29 (gap 0.05 eV)
FIELDS = [0.0, 0.05, 0.1, 0.2]  # V/Å
EXCHANGE = 0.05  # eV, J of H += J σ_z
TAU_PS = 1.0  # relaxation time of the figure's BCD: Γ = ħ/(2τ) (docs/dc_expansion.md: τ = 1/(2Γ))
HBAR_EV_PS = 6.582119569e-4


def run(model, field, exchange, grid, mu, kT):
    m = with_displacement_field(model, field)
    if exchange:
        m = with_exchange_field(m, exchange)
    with warnings.catch_warnings(record=True) as caught:  # listed by kind after the run's line instead
        warnings.simplefilter("always")
        ds = expansion(m, components=["xxx", "yxx"], mu=mu, temperature=kT, grid=grid)
    return ds.sigma.expand_dims(field=[field], exchange=[exchange]), sorted({w.category.__name__ for w in caught})


def main(grid: int, kT: float) -> None:
    t0 = time.process_time()
    model = restore_time_reversal(from_wannier90(ROOT / "examples" / "MoS2-1Tp"))
    print("time reversal restored:", model.parameters["time_reversal_restored"])
    mu = MID_GAP + np.linspace(-0.24, 0.24, 25)
    runs = [(F, 0.0) for F in FIELDS] + [(F, EXCHANGE) for F in FIELDS]
    parts = []
    for F, J in runs:
        t = time.process_time()
        sigma, notes = run(model, F, J, grid, mu, kT)
        parts.append(sigma)
        bath = sigma.sel(mechanism="fermionic_bath")
        print(f"field {F:4.2f} V/Å, J {J:.2f} eV: {time.process_time() - t:5.1f} s CPU; max|BCD yxx| "
              f"{float(abs(bath.sel(term='bcd', component='yxx')).max()):.2e}, max|Γ⁰ xxx| "
              f"{float(abs(bath.sel(term='intrinsic', component='xxx')).max()):.2e} {sigma.attrs['units']}"
              + ("" if not notes else f"  [{', '.join(notes)}]"))
    ds = xr.combine_by_coords([p.to_dataset(name="sigma") for p in parts])
    ds.sigma.attrs["units"] = parts[0].attrs["units"]
    ds.attrs.update(model="1T'-MoS2 (examples/MoS2-1Tp), time reversal restored", grid=grid, temperature_eV=kT,
                    exchange_eV=EXCHANGE, note="field in V/Å along the layer normal; sigma per area (2D)")
    out = ROOT / "results" / "mos2_field.nc"
    out.parent.mkdir(exist_ok=True)
    ds.to_netcdf(out, engine="h5netcdf")
    figure(ds, mu, units=parts[0].attrs["units"])
    print(f"wrote {out} and docs/figures/mos2_field.png; {time.process_time() - t0:.0f} s CPU in all")


def figure(ds, mu, units):
    s = ds.sigma.sel(mechanism="fermionic_bath")
    x = mu - MID_GAP
    gamma = HBAR_EV_PS / (2 * TAU_PS)  # eV
    fig, axes = plt.subplots(1, 3, figsize=(13, 3.8), layout="constrained")
    ax = axes[0]
    for F in FIELDS:
        ax.plot(x, s.sel(term="bcd", component="yxx", field=F, exchange=0.0) / gamma, label=f"{F:g} V/Å")
    ax.set(title="BCD σ_yxx (T-symmetric), τ = 1 ps", xlabel="μ − midgap (eV)", ylabel=f"σ ({units})")
    ax.legend(title="field", fontsize=8)
    ax = axes[1]
    F = 0.1
    for mech, style in (("fermionic_bath", "-"), ("constant_gamma", "--")):
        for term, color in (("geometric", "tab:blue"), ("kinetic", "tab:orange"), ("intrinsic", "k")):
            ax.plot(x, ds.sigma.sel(mechanism=mech, term=term, component="xxx", field=F, exchange=EXCHANGE),
                    style, color=color, label=f"{mech}: {term}")
    ax.set(title=f"Γ⁰ σ_xxx, field {F} V/Å, J = {EXCHANGE} eV", xlabel="μ − midgap (eV)", ylabel=f"σ ({units})")
    ax.legend(fontsize=7)
    ax = axes[2]
    i = int(np.argmax(np.abs(s.sel(term="intrinsic", component="xxx", field=0.1, exchange=EXCHANGE).values)))
    for J, marker in ((EXCHANGE, "o"), (0.0, "s")):
        ax.plot(FIELDS, s.sel(term="intrinsic", component="xxx", exchange=J).isel(mu=i), marker, ls="-",
                label=f"J = {J:g} eV")
    ax.set(title=f"Γ⁰ σ_xxx (bath) at μ − midgap = {x[i]:+.3f} eV", xlabel="field (V/Å)", ylabel=f"σ ({units})")
    ax.legend(fontsize=8)
    fig.savefig(ROOT / "docs" / "figures" / "mos2_field.png", dpi=130)


if __name__ == "__main__":
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--grid", type=int, default=96)
    p.add_argument("--temperature", type=float, default=0.02, help="kT in eV")
    p.add_argument("--replot", action="store_true", help="redraw the figure from results/mos2_field.nc")
    a = p.parse_args()
    if a.replot:
        saved = xr.open_dataset(ROOT / "results" / "mos2_field.nc", engine="h5netcdf")
        figure(saved, saved.mu.values, units=saved.sigma.attrs.get("units", "A m V^-2"))
    else:
        main(a.grid, a.temperature)
