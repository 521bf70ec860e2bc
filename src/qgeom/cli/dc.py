"""`qgeom dc`: the mechanism comparison table of the second-order DC conductivity."""

from __future__ import annotations

from typing import Literal

import click
import numpy as np
from pydantic import BaseModel, ConfigDict

from .._validation import QgeomInputError
from ..config import validate
from ..dc import expansion
from ..dc.conventions import CONVENTIONS
from ..dc.expansion import GEOMETRIC_FORMS, KINETIC_FORMS, MECHANISMS
from ..dc.figures import plot_expansion
from ..outputs import check_distinct, check_output
from ..dc.zeros import label, numerical_zeros, zero_note
from ..results import metadata, save
from ..units import UNIT_CHOICES
from .common import build_model, format_table, handle_errors, load_config, model_options, output_path
from .executor_options import executor_options
from .safety_options import safety_options


class DCConfig(BaseModel):
    """The [dc] table of a config file (all fields optional; CLI flags override). Choices are
    Literal types, so a wrong value is reported with the field name and the allowed values."""

    model_config = ConfigDict(extra="forbid")
    components: list[str] | str = "xyy"
    mu: list[float] | str = "-1:1:21"
    temperature: float = 0.05
    grid: int | list[int] = 200
    mechanisms: list[Literal[MECHANISMS]] | None = None  # type: ignore[valid-type]
    rta: tuple[float, float] | None = None
    geometric_form: Literal[GEOMETRIC_FORMS] = "metric_dipole"  # type: ignore[valid-type]
    kinetic_form: Literal[KINETIC_FORMS] = "third_derivative"  # type: ignore[valid-type]
    convention: Literal[CONVENTIONS] = "seed"  # type: ignore[valid-type]
    units: Literal[UNIT_CHOICES] = "auto"  # type: ignore[valid-type]
    degen_tol: float = 1e-6
    blocks: bool = True


def parse_mu(spec) -> np.ndarray:
    """μ values from a list, 'start:stop:num' (inclusive, like linspace) or 'a,b,c'."""
    if isinstance(spec, (list, tuple)):
        return np.asarray(spec, float)
    text = str(spec).strip()
    try:
        if ":" in text:
            start, stop, num = text.split(":")
            return np.linspace(float(start), float(stop), int(num))
        return np.array([float(x) for x in text.split(",")])
    except ValueError:
        raise QgeomInputError(
            f"cannot read mu {spec!r}: use 'start:stop:num' (e.g. -1:1:21) or a comma list (e.g. -0.5,0,0.5)."
        ) from None


def comparison_table(ds, component: str) -> str:
    """Rows per μ; Drude/BCD coefficients once, then the Γ⁰ terms per mechanism."""
    s = ds.sigma.sel(component=component)
    mechs = list(ds.mechanism.values)
    header = ["mu", "drude(G^-2)", "bcd(G^-1)"]
    cols = [("fermionic_bath", t) for t in ("geometric", "kinetic")] if "fermionic_bath" in mechs else []
    cols += [(m, "intrinsic") for m in mechs]
    short = {"fermionic_bath": "bath", "constant_gamma": "constG", "rta": "rta"}
    header += [f"{short[m]}:{t[:3] if t != 'intrinsic' else 'sigma0'}" for m, t in cols]
    zero = numerical_zeros(ds).sel(component=component)
    cells = [(mechs[0], "drude"), (mechs[0], "bcd"), *cols]
    rows = []
    for i, mu in enumerate(ds.mu.values):
        rows.append([float(mu)] + [label(float(s.sel(mechanism=m, term=t)[i]), bool(zero.sel(mechanism=m, term=t)[i]))
                                   for m, t in cells])
    return format_table(header, rows, floatfmt="{: .4e}")


@click.command("dc")
@model_options
@click.option("--components", default=None, help="Tensor components, e.g. xyy,yxx or 'all' (default xyy).")
@click.option("--mu", "mu_spec", default=None, help="Chemical potentials: start:stop:num or a,b,c (model energy unit).")
@click.option("--temperature", type=float, default=None, help="kT in the model's energy unit (default 0.05).")
@click.option("--grid", type=int, default=None, help="k-points per direction (default 200).")
@click.option("--mechanisms", default=None, help="Comma list from fermionic_bath, constant_gamma, rta.")
@click.option("--rta", default=None, metavar="C1,C2", help="Table I coefficients of the rta mechanism.")
@click.option("--geometric-form", type=click.Choice(GEOMETRIC_FORMS), default=None)
@click.option("--kinetic-form", type=click.Choice(KINETIC_FORMS), default=None)
@click.option("--convention", type=click.Choice(CONVENTIONS), default=None,
              help="seed: Eqs. 2-6 as printed (j = sigma E E / 2 for a static field); physical: sigma/2.")
@click.option("--units", type=click.Choice(UNIT_CHOICES), default=None,
              help="auto (default): SI for eV/Å models, model units otherwise; si; model.")
@click.option("--blocks/--no-blocks", default=None,
              help="Sum over the exactly decoupled orbital blocks of H (default; exact and faster) or force the dense path.")
@click.option("--out", type=click.Path(dir_okay=False), default=None, help="NetCDF output (default results/dc_<model>.nc).")
@click.option("--figure", type=click.Path(dir_okay=False), default=None, help="PNG output (default next to --out).")
@executor_options
@safety_options
@handle_errors
def command(config_path, model_name, params, components, mu_spec, temperature, grid, mechanisms, rta,
            geometric_form, kinetic_form, convention, units, blocks, out, figure, executor):
    """Second-order DC conductivity: Drude, BCD, geometric and kinetic terms per dissipation mechanism."""
    cfg = load_config(config_path)
    source = config_path or "command line"
    model = build_model(cfg, model_name, params, source)
    data = dict(cfg.get("dc", {}))
    overrides = {
        "components": components, "mu": mu_spec, "temperature": temperature, "grid": grid,
        "mechanisms": mechanisms.split(",") if mechanisms else None,
        "rta": _pair(rta) if rta else None,
        "geometric_form": geometric_form, "kinetic_form": kinetic_form, "convention": convention,
        "units": units, "blocks": blocks,
    }
    data.update({k: v for k, v in overrides.items() if v is not None})
    conf = validate(DCConfig, data, source)
    mu = parse_mu(conf.mu)
    grid_arg = conf.grid if isinstance(conf.grid, int) else tuple(conf.grid)
    out_path = check_output(output_path(out, f"results/dc_{model.name}.nc"), option="--out")
    fig_path = check_output(figure or out_path.with_suffix(".png"), option="--figure", figure=True)
    check_distinct({"--out": out_path, "--figure": fig_path})
    ds = expansion(
        model, components=conf.components, mu=mu, temperature=conf.temperature, grid=grid_arg,
        mechanisms=conf.mechanisms, rta=conf.rta, geometric_form=conf.geometric_form,
        kinetic_form=conf.kinetic_form, convention=conf.convention, units=conf.units, degen_tol=conf.degen_tol,
        blocks=conf.blocks, **executor,
    )
    click.echo(f"{model!r}; grid {metadata(ds, 'grid')['shape']}; kT = {conf.temperature} {model.energy_unit}")
    click.echo(f"sigma in {ds.sigma.attrs['units']}, {conf.convention} convention "
               "(Drude: coefficient of 1/Gamma^2, BCD: of 1/Gamma)")
    for comp in ds.component.values:
        click.echo(f"\ncomponent {comp}:")
        click.echo(comparison_table(ds, str(comp)))
    note = zero_note(ds, numerical_zeros(ds))
    if note:
        click.echo(f"\n{note}")
    path = save(ds, out_path)
    fig = plot_expansion(ds, fig_path)
    click.echo(f"\nwrote {path} and {fig}")


def _pair(text: str) -> tuple[float, float]:
    try:
        c1, c2 = (float(x) for x in text.split(","))
    except ValueError:
        raise QgeomInputError(f"--rta expects two numbers C1,C2, got {text!r}.") from None
    return c1, c2
