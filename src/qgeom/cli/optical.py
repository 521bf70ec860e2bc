"""`qgeom optical`: second-order optical responses of an observable (seed [K]): table, NetCDF, figure."""

from __future__ import annotations

import click
import numpy as np

from .._validation import QgeomInputError
from ..outputs import check_distinct, check_output
from ..plots import save_figure
from ..results import metadata, save
from .common import build_model, format_table, handle_errors, load_config, model_options, output_path
from .executor_options import executor_options
from .safety_options import safety_options

KIND_CHOICES = ["injection", "kramers_injection", "kramers_fermi_sea", "shift_like", "textbook_injection",
                "kramers_unsplit", "kramers_injection_geometric", "kramers_fermi_sea_geometric"]


def _grid(value: str | None):
    if value is None:
        return None
    parts = [p for p in value.replace("x", ",").split(",") if p.strip()]
    try:
        nums = tuple(int(p) for p in parts)
    except ValueError:
        raise QgeomInputError(f"--grid expects N or NR,NPHI (integers), got {value!r}.") from None
    return nums[0] if len(nums) == 1 else nums


def _scissors(value):
    """--scissors auto|none|SHIFT (or the [optical] scissors key of a config) → response(scissors=...)."""
    if value is None:
        return None
    if isinstance(value, str):
        key = value.strip().lower()
        if key in ("auto", "none", "off", "model"):
            return key
        try:
            return float(key)
        except ValueError:
            raise QgeomInputError(f"--scissors expects auto, none or a shift in eV, got {value!r}.") from None
    return value


def plot(ds, path, alpha="x", beta="y"):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(5.5, 3.8))
    for kind in ds.kind.values:
        y = ds.chi.sel(kind=kind, alpha=alpha, beta=beta).imag
        ax.plot(ds.omega, y, label=str(kind))
    ax.axhline(0, color="0.6", lw=0.6)
    ax.set_xlabel(f"ħω ({ds.omega.attrs.get('units', '')})")
    ax.set_ylabel(f"Im χ^{alpha}{beta} ({ds.chi.attrs.get('units', '')})", fontsize=8)
    ax.set_title(f"{metadata(ds, 'model')['name']}: {metadata(ds, 'parameters')['observable']}", fontsize=9)
    ax.legend(fontsize=8)
    fig.tight_layout()
    return save_figure(fig, path)


@click.command("optical")
@model_options
@click.option("--wannier90", "wannier90", type=click.Path(exists=True), default=None,
              help="Wannier90 model (SEED_tb.dat/_hr.dat, seedname or directory) instead of --model.")
@click.option("--position-operator", "position_operator", type=click.Choice(["centres", "full"]), default=None,
              help="Wannier90 models: tight-binding position operator (centres, default) or the full r_ij(R) of "
                   "_tb.dat (experimental; current observables; docs/wannier90.md).")
@click.option("--observable", default=None, help="Model operator (layer_polarization, spin_z) or current_x|y|z.")
@click.option("--kind", "kinds", multiple=True, type=click.Choice(KIND_CHOICES),
              help="Response kind (repeatable); default: kramers_injection, kramers_fermi_sea, shift_like.")
@click.option("--omega", nargs=3, type=float, default=None, metavar="MIN MAX N",
              help="ħω grid (model energy unit, eV for k·p models); default 0.01 0.3 59.")
@click.option("--mu", type=float, default=None, help="Chemical potential (default 0).")
@click.option("--temperature", type=float, default=None, help="kT (default 1e-3).")
@click.option("--tau", type=float, default=None, help="Relaxation time (ps for eV models) for injection kinds.")
@click.option("--broadening", type=float, default=None, help="Width of δ / principal value (default 2e-3 eV).")
@click.option("--broadening-kind", type=click.Choice(["lorentzian", "gaussian"]), default=None)
@click.option("--grid", "grid", default=None, help="k-grid: N (lattice) or NR,NPHI (continuum disk).")
@click.option("--cutoff", type=float, default=None, help="k cutoff of continuum models (1/length).")
@click.option("--scissors", "scissors", default=None, metavar="auto|none|SHIFT",
              help="Scissors shift of the conduction bands (current observables): auto = the model's "
                   "scissors_shift/num_valence_bands (Wannier90 .win) if present, none, or a shift (eV) "
                   "with the model's num_valence_bands. Default: none.")
@click.option("--degen-tol", "degen_tol", type=float, default=None,
              help="Degeneracy tolerance (model energy unit; default 1e-6). Wannier models: see docs/wannier90.md.")
@click.option("--component", default="xy", show_default=True, help="αβ shown in the table and figure.")
@click.option("--out", "out", type=click.Path(dir_okay=False), default=None,
              help="NetCDF file (default results/optical_<model>_<observable>.nc).")
@click.option("--figure", "figure", type=click.Path(dir_okay=False), default=None,
              help="PNG file (default: next to --out with .png).")
@executor_options
@safety_options
@handle_errors
def command(config_path, model_name, params, wannier90, position_operator, observable, kinds, omega, mu, temperature, tau, broadening,
            broadening_kind, grid, cutoff, scissors, degen_tol, component, out, figure, executor):
    """Im χ^{αβ}(ω) of an observable: KI, KFS, shift-like and injection terms (seed [K])."""
    from ..optical import response

    cfg = load_config(config_path)
    if wannier90 or cfg.get("model", {}).get("wannier90"):
        from .bands import load_model

        model = load_model(cfg, model_name, params, config_path, wannier90, None, position_operator)
    else:
        if position_operator:
            raise QgeomInputError("--position-operator applies to Wannier90 models (--wannier90 PATH) only.")
        model = build_model(cfg, model_name, params, config_path or "command line")
    run = dict(cfg.get("optical", {}))
    observable = observable or run.get("observable")
    if not observable:
        raise QgeomInputError("no observable given: pass --observable NAME (e.g. layer_polarization, current_x).")
    kinds = list(kinds) or run.get("kinds") or ["kramers_injection", "kramers_fermi_sea", "shift_like"]
    om = omega or tuple(run.get("omega", (0.01, 0.3, 59)))
    if len(om) != 3 or int(om[2]) < 1:
        raise QgeomInputError(f"--omega expects MIN MAX N with N >= 1, got {om!r}.")
    omega_grid = np.linspace(float(om[0]), float(om[1]), int(om[2]))
    comp = component.strip().lower()
    if len(comp) != 2 or any(c not in "xyz"[: model.dim] for c in comp):
        raise QgeomInputError(f"--component must be two of {list('xyz'[: model.dim])}, e.g. xy; got {component!r}.")
    from ..optical.observables import resolve

    scissors = _scissors(scissors if scissors is not None else run.get("scissors"))
    out_path = check_output(output_path(out, f"results/optical_{model.name}_{resolve(model, observable).name}.nc"),
                            option="--out")
    fig_path = check_output(figure or out_path.with_suffix(".png"), option="--figure", figure=True)
    check_distinct({"--out": out_path, "--figure": fig_path})
    ds = response(
        model, observable, kinds=kinds, omega=omega_grid,
        mu=mu if mu is not None else run.get("mu", 0.0),
        temperature=temperature if temperature is not None else run.get("temperature"),
        tau=tau if tau is not None else run.get("tau"),
        broadening=broadening if broadening is not None else run.get("broadening"),
        broadening_kind=broadening_kind or run.get("broadening_kind", "lorentzian"),
        grid=_grid(grid) if grid is not None else (tuple(run["grid"]) if isinstance(run.get("grid"), list) else run.get("grid")),
        cutoff=cutoff if cutoff is not None else run.get("cutoff"),
        scissors=scissors,
        **({"degen_tol": degen_tol} if degen_tol is not None else
           {"degen_tol": run["degen_tol"]} if "degen_tol" in run else {}),
        **executor,
    )
    a, b = comp
    rows = []
    for kind in ds.kind.values:
        y = ds.chi.sel(kind=kind, alpha=a, beta=b).imag.values
        i = int(np.argmax(np.abs(y)))
        rows.append([str(kind), float(ds.omega[i]), float(y[i]), float(y.max()), float(y.min()),
                     float(np.abs(ds.chi.sel(kind=kind, alpha=a, beta=b).real).max())])
    click.echo(f"{model!r}, observable {metadata(ds, 'parameters')['observable']}, grid {metadata(ds, 'grid')['shape']}")
    click.echo(f"Im chi^{a}{b} in {ds.chi.attrs['units']}")
    click.echo(format_table(["kind", "w_peak", "Im chi_peak", "max", "min", "max|Re|"], rows))
    path = save(ds, out_path)
    click.echo(f"wrote {path}")
    fig = plot(ds, fig_path, a, b)
    click.echo(f"wrote {fig}")
