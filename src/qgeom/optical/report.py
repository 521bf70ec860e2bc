"""What an optical result means to a reader: its two physical parts, their peaks, and the shift
current σ for current observables.

χ^{αβ}(ω) is Hermitian in (α, β) (δ⟨O⟩ is real for every field), so its two parts answer two
different experiments (field convention E(t) = ½(E_ω e^{−iωt} + c.c.), `units.py`):

- **Re χ^{αβ}** — linearly polarized light, E_ω = E0 (cos θ, sin θ):
  δ⟨O⟩ = 2e²E0² (χ^{xx} cos²θ + χ^{yy} sin²θ + 2 Re χ^{xy} sin θ cos θ). The shift current and the
  linear (magnetic) injection current are here.
- **Im χ^{αβ}** (α ≠ β) — circularly polarized light, E_ω = E0 (1, iσ)/√2: δ⟨O⟩ = −2σe²E0² Im χ^{xy}.
  The Kramers injection / Fermi-sea responses of seed [K] and the circular injection current are here.

Which one is non-zero is fixed by the symmetry of the model and observable, not by the kind, so
both are reported, labelled. For a current observable j_a the shift current in the convention of
WannierBerri and Sipe–Shkrebtii (E(t) = E e^{−iωt} + c.c., j_a = σ^{abc} E_b E_c*) is
σ^{abc} = 4 Re χ^{bc}[j_a].
"""

from __future__ import annotations

import numpy as np
import xarray as xr

from ..dc.zeros import REL_ZERO, label
from ..results import metadata

PARTS = {"real": ("Re", "linear polarization"), "imag": ("Im", "circular polarization")}
SIGMA_FACTOR = 4.0  # σ^{abc} (WannierBerri / Sipe–Shkrebtii convention) = 4 Re χ^{bc}[j_a]
SIGMA_CONVENTION = ("sigma^{abc} = 4 Re chi^{bc}[j_a]: j_a = sigma^{abc} E_b E_c* with E(t) = E e^{-iwt} + c.c. "
                    "(WannierBerri, Sipe-Shkrebtii)")


def parts(alpha: str, beta: str) -> list[str]:
    """The parts of χ^{αβ} that carry physics: Im χ^{αα} vanishes identically (χ is Hermitian)."""
    return ["real"] if alpha == beta else ["real", "imag"]


def part_forbidden(ds: xr.Dataset, kind: str, part: str, alpha: str, beta: str) -> bool:
    """Whether `part` of χ^{αβ} of `kind` is 0 by symmetry: Neumann's principle (`forbidden_part`) or time
    reversal (`forbidden_by_time_reversal`)."""
    by_group, by_t = ds.get("forbidden_part"), ds.get("forbidden_by_time_reversal")
    return bool((by_group is not None and by_group.sel(part=part, alpha=alpha, beta=beta))
                or (by_t is not None and by_t.sel(kind=kind, part=part)))


def peak_rows(ds: xr.Dataset, alpha: str, beta: str) -> list[list]:
    """Per kind and part: [kind, part label, peak value (largest |.|), ħω of the peak, max, min];
    a part that is rounding noise (≤ `REL_ZERO` × the largest |χ^{αβ}| of the result) reads "~0", a
    part that the symmetry forbids (Neumann's principle, `forbidden_part`) or that time reversal forbids
    (`forbidden_by_time_reversal`) reads "forbidden"."""
    rows = []
    omega = ds["omega"].values
    chi_ab = ds["chi"].sel(alpha=alpha, beta=beta)
    scale = float(np.abs(chi_ab).max())
    for kind in ds["kind"].values:
        chi = chi_ab.sel(kind=kind).values
        for part in parts(alpha, beta):
            y = getattr(chi, part)
            i = int(np.argmax(np.abs(y)))
            name = f"{PARTS[part][0]} ({PARTS[part][1]})"
            if part_forbidden(ds, str(kind), part, alpha, beta):
                rows.append([str(kind), name, "forbidden", "-", "0", "0"])
            elif abs(y[i]) <= REL_ZERO * scale:
                rows.append([str(kind), name, label(float(y[i]), True), "-", "~0", "~0"])
            else:
                rows.append([str(kind), name, float(y[i]), f"{omega[i]:.4f}", float(y.max()), float(y.min())])
    return rows


def current_direction(ds: xr.Dataset) -> str | None:
    """'x'/'y'/'z' when the observable is the charge current j_a, else None."""
    name = str(metadata(ds).get("parameters", {}).get("observable", ""))
    return name[-1] if name.startswith("current_") and name[-1] in "xyz" else None


def shift_sigma(ds: xr.Dataset, alpha: str, beta: str) -> xr.DataArray | None:
    """σ^{a αβ}(ω) = 4 Re χ^{αβ}[j_a] per kind (unit: that of χ), or None for other observables."""
    a = current_direction(ds)
    if a is None:
        return None
    sigma = SIGMA_FACTOR * ds["chi"].sel(alpha=alpha, beta=beta).real
    return sigma.assign_attrs(units=ds["chi"].attrs.get("units", ""), description=SIGMA_CONVENTION,
                              long_name=f"sigma^{a}{alpha}{beta}")


def plot_parts(ds: xr.Dataset, path, alpha: str, beta: str):
    """Figure: Re χ^{αβ} (linear polarization) and, for α ≠ β, Im χ^{αβ} (circular) vs ħω, one line
    per kind; for a current, the left panel is σ^{aαβ} = 4 Re χ^{αβ}."""
    from ..plots import figure_style, pretty_unit, save_figure

    plt = figure_style()
    which = parts(alpha, beta)
    fig, axes = plt.subplots(1, len(which), figsize=(4.6 * len(which), 3.6), squeeze=False)
    omega = ds["omega"].values
    unit = ds["chi"].attrs.get("units", "")
    sigma = shift_sigma(ds, alpha, beta)
    chi_ab = ds["chi"].sel(alpha=alpha, beta=beta)
    scale = float(np.abs(chi_ab).max())
    for ax, part in zip(axes[0], which):
        noise = float(np.abs(getattr(chi_ab.values, part)).max())
        if noise <= REL_ZERO * scale:  # rounding noise: say so instead of drawing it
            ax.text(0.5, 0.5, f"{PARTS[part][0]} χ = 0 (symmetry):\nrounding noise ≤ {noise:.1e}",
                    transform=ax.transAxes, ha="center", va="center")
        else:
            for kind in ds["kind"].values:
                chi = chi_ab.sel(kind=kind)
                y = sigma.sel(kind=kind).values if (sigma is not None and part == "real") else getattr(chi.values, part)
                ax.plot(omega, y, label=str(kind).replace("_", " "))
            ax.legend(loc="best")
        ax.axhline(0, color="0.7", lw=0.6)
        ax.set_xlabel(f"photon energy ħω ({ds['omega'].attrs.get('units', '').split(' ')[0]})")
        if sigma is not None and part == "real":
            ax.set_ylabel(f"σ$^{{{current_direction(ds)}{alpha}{beta}}}$ = 4 Re χ$^{{{alpha}{beta}}}$ ({pretty_unit(unit)})")
        else:
            ax.set_ylabel(f"{PARTS[part][0]} χ$^{{{alpha}{beta}}}$ ({pretty_unit(unit)})")
        ax.set_title(PARTS[part][1])
    info = metadata(ds)
    fig.suptitle(f"{info.get('model', {}).get('name', '')}: observable {info.get('parameters', {}).get('observable', '')}",
                 fontsize=10)
    return save_figure(fig, path)
