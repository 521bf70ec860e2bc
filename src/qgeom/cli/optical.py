"""`qgeom optical`: second-order optical responses of an observable (seed [K]): table, NetCDF, figure."""

from __future__ import annotations

from typing import Literal

import click
import numpy as np
from pydantic import Field, NonNegativeFloat, PositiveFloat, PositiveInt, field_validator

from .._validation import QgeomInputError
from ..outputs import check_distinct, check_output, signals_deferred
from ..optical.report import SIGMA_CONVENTION, part_forbidden, peak_rows, plot_parts, shift_sigma
from ..results import metadata, save
from ..units import UNIT_CHOICES, energy_unit_ev
from ..bands import DEFAULT_DEGEN_TOL
from ..optical.terms import DEFAULT_KINDS, TERMS
from .common import (fermi_energy, fermi_level, format_table, handle_errors, output_path, sampled_energies,
                     symmetry_footnote, warn_near_degenerate)
from .model_loader import load, model_options
from .tables import Grid, Offset, Table, grid_arg, offset_field, table_flags, symmetry_tol_field
from .executor_options import executor_options
from .safety_options import safety_options


DEFAULT_OMEGA = (0.01, 0.3, 59)  # ħω MIN MAX N in model units: the seed models' transitions
MATERIAL_OMEGA_EV = (0.1, 4.0, 79)  # ... and in eV for a Wannier model of a material (its files give E_F)


class OpticalConfig(Table):
    """[optical]: second-order rectified responses χ^{αβ}(ω) of an observable (`qgeom.optical.response`)."""

    observable: str | None = Field(None, description="Model operator (layer_polarization, spin_z) or current_x|y|z.",
                                   json_schema_extra={"default_text": "(required)"})
    kinds: list[Literal[tuple(TERMS)]] = Field(  # type: ignore[valid-type]
        list(DEFAULT_KINDS), description="Response kinds (--kind repeatable, or a comma list: --kind shift_like,injection): " + "; ".join(
            f"{n} ({t.help}, {t.equation}{', needs tau' if t.needs_tau else ''})" for n, t in TERMS.items()) + ".")
    omega: tuple[float, float, PositiveInt] | None = Field(
        None, description="ħω grid MIN MAX N (or MIN:MAX:N), 0 <= MIN <= MAX (model energy unit, eV for eV models).",
        json_schema_extra={"default_text": f"{' '.join(map(str, MATERIAL_OMEGA_EV))} (eV) for a model with a Fermi "
                                           f"energy in eV (interband transitions of a material), else "
                                           f"{' '.join(map(str, DEFAULT_OMEGA))}"})
    mu: float | None = Field(None, description="Chemical potential (model energy unit).",
                             json_schema_extra={"default_text": "the model's Fermi energy (its files': Wannier90, "
                                                                "wt.in; or --electrons), else 0"})
    temperature: PositiveFloat | None = Field(
        None, description="kT (model energy unit).",
        json_schema_extra={"default_text": "1e-3 eV for eV models, 1e-3 model units otherwise"})
    tau: PositiveFloat | None = Field(None, description="Relaxation time (ps for eV models), needed by the injection kinds.")
    broadening: PositiveFloat | None = Field(
        None, description="Width of δ and of the principal value.",
        json_schema_extra={"default_text": "2e-3 eV for eV models, 1e-2 model units otherwise"})
    broadening_kind: Literal["lorentzian", "gaussian"] = Field("lorentzian", description="Line shape of the broadening.")
    grid: Grid | None = Field(None, description="k-grid: N (lattice) or NR,NPHI (continuum disk).",
                              json_schema_extra={"default_text": "200 (lattice), 480,12 (continuum)"})
    offset: Offset = offset_field()
    cutoff: PositiveFloat | None = Field(None, description="k cutoff of continuum models (1/length).",
                                         json_schema_extra={"default_text": "the model's k_cutoff"})
    scissors: str | float | None = Field(
        None, description="Scissors shift of the conduction bands (current observables): auto = the model's "
                          "scissors_shift/num_valence_bands (Wannier90 .win) if present, none, or a shift (eV) "
                          "with the model's num_valence_bands.", json_schema_extra={"default_text": "none"})
    units: Literal[UNIT_CHOICES] = Field(  # type: ignore[valid-type]
        "auto", description="auto: SI for eV/Å models, model units otherwise; si; model (as qgeom dc).")
    degen_tol: PositiveFloat = Field(DEFAULT_DEGEN_TOL, description="Degeneracy tolerance (model energy unit).")
    resolution: NonNegativeFloat | None = Field(
        None, description="Smallest band splitting the sums over states resolve (model energy unit): closer pairs "
                          "are one subspace; 0 keeps every pair apart (WannierBerri's sums with its thresholds at 0).",
        json_schema_extra={"default_text": "min(broadening, 1 meV) for eV models, else none"})
    component: str | None = Field(None, description="αβ shown in the table and figure.",
                                  json_schema_extra={"default_text": "the largest |chi| (xy when all are 0)"})
    symmetry: str = Field("neumann", description="Point group (current observables): neumann (zero the components "
                                                 "forbidden by the group the model keeps to Wannier accuracy and "
                                                 "by the crystal's group from its files, and the part of each kind "
                                                 "that time reversal forbids when the model keeps it; full "
                                                 "grid), none, auto, a Hermann-Mauguin symbol or operation labels "
                                                 "(e.g. \"2[0,0,1],m[1,1,0]\"); its operations "
                                                 "without time reversal that keep the current direction give the "
                                                 "irreducible wedge and the average of chi.")
    symmetry_tol: float | None = symmetry_tol_field()
    principal_part: bool | None = Field(
        None, description="Keep the non-resonant principal value P(1/x) of shift_like. Default: not for the current "
                          "(a rectified DC current needs absorption), kept for other observables (docs/optical.md, "
                          "'Resonant and non-resonant parts').",
        json_schema_extra={"default_text": "no for current observables, yes for others"})

    @field_validator("omega", mode="before")
    @classmethod
    def _omega_text(cls, value):
        """"MIN:MAX:N" (a config file's string, as --mu is written) as [MIN, MAX, N]."""
        return omega_parts(value) if isinstance(value, str) else value

    @field_validator("omega")
    @classmethod
    def _omega(cls, value):
        if value is not None:
            w0, w1, n = value
            if w0 > w1:
                raise ValueError(f"MIN {w0:g} is above MAX {w1:g}: pass them in increasing order, "
                                 f"--omega {w1:g} {w0:g} {n}")
            if w0 < 0:  # 0 is the static limit (finite, real); below it χ(−ω) = χ(ω)*, no new information
                raise ValueError(f"MIN {w0:g} is negative: the photon energy hbar*omega is >= 0 (chi(-w) is the "
                                 f"complex conjugate of chi(w)); pass MIN >= 0, e.g. --omega 0 {max(w1, 0):g} {n}")
        return value

    @field_validator("scissors")
    @classmethod
    def _scissors(cls, value):
        if isinstance(value, str):
            key = value.strip().lower()
            if key in ("auto", "none", "off", "model"):
                return key
            try:
                return float(key)
            except ValueError:
                raise ValueError(f"scissors expects auto, none or a shift in eV, got {value!r}") from None
        return value


def omega_parts(text: str) -> list[str]:
    """"MIN:MAX:N" (the start:stop:num spelling of --mu) as its three parts, for the command line and config files."""
    parts = text.split(":")
    if len(parts) != 3:
        raise ValueError(f"expected MIN:MAX:N (e.g. 0:3:301), or the three values MIN MAX N, got {text!r}")
    return parts


class _OmegaCommand(click.Command):
    """Also accepts `--omega MIN:MAX:N` (the `--mu start:stop:num` spelling of the other commands) and
    `--omega=MIN:MAX:N`, as the three values click's `--omega MIN MAX N` takes."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        out: list[str] = []
        it = iter(args)
        for arg in it:
            value = arg[len("--omega="):] if arg.startswith("--omega=") else None
            if arg == "--omega":
                value = next(it, None)
                if value is None or ":" not in value:  # MIN MAX N as three words (or missing: click says so)
                    out += [arg] + ([] if value is None else [value])
                    continue
            if value is None:
                out.append(arg)
                continue
            try:
                out += ["--omega", *omega_parts(value)]
            except ValueError as exc:
                raise click.BadParameter(str(exc), ctx=ctx, param_hint="'--omega'") from None
        return super().parse_args(ctx, out)


@click.command("optical", cls=_OmegaCommand)
@model_options
@table_flags(OpticalConfig, list(OpticalConfig.model_fields), kinds={"decls": ("--kind",), "multiple": True, "metavar": "KIND"},
             omega={"nargs": 3, "type": float, "metavar": "MIN MAX N"}, scissors={"metavar": "auto|none|SHIFT"},
             principal_part={"decls": ("--principal-part/--no-principal-part",), "type": bool})
@click.option("--out", "out", type=click.Path(dir_okay=False), default=None,
              help="NetCDF file (default results/optical_<model>_<observable>.nc).")
@click.option("--figure", "figure", type=click.Path(dir_okay=False), default=None,
              help="PNG file (default: next to --out with .png).")
@executor_options
@safety_options
@handle_errors
def command(out, figure, executor, **opts):
    """χ^{αβ}(ω) of an observable, Re (linear) and Im (circular polarization): KI, KFS, shift, injection."""
    from ..optical import response

    setup = load(opts, OpticalConfig, "optical")
    model, conf = setup.model, setup.conf
    comp = checked_component(conf, model)
    from ..observables import resolve as resolve_observable

    observable = resolve_observable(model, conf.observable)
    out_path = check_output(output_path(out, f"results/optical_{model.name}_{observable.name}.nc"), option="--out")
    fig_path = check_output(figure or out_path.with_suffix(".png"), option="--figure", figure=True)
    check_distinct({"--out": out_path, "--figure": fig_path})
    kinds, left_out = kinds_to_compute(conf, model)
    if left_out:
        click.echo(f"note: {', '.join(left_out)} scale{'s' if len(left_out) == 1 else ''} with the relaxation time "
                   f"and {'is' if len(left_out) == 1 else 'are'} left out; --tau T ({_tau_unit(model)}, e.g. --tau "
                   f"0.1) adds {'it' if len(left_out) == 1 else 'them'}.")
    mu, mu_source = (conf.mu, "given") if conf.mu is not None else fermi_level(model)
    energies = sampled_energies(model, offset="gamma", cutoff=conf.cutoff)  # Γ included: GaAs's direct gap is there
    check_scissors_gap(model, conf.scissors, energies)
    for note in (scissors_note(model, conf.scissors, observable), mu_note(model, mu, energies)):
        if note:
            click.echo(f"note: {note}")
    w0, w1, nw = conf.omega or default_omega(model)
    ds = response(
        model, conf.observable, kinds=kinds, omega=np.linspace(w0, w1, nw), mu=mu,
        temperature=conf.temperature, tau=conf.tau, broadening=conf.broadening, broadening_kind=conf.broadening_kind,
        grid=None if conf.grid is None else grid_arg(conf.grid), offset=conf.offset, cutoff=conf.cutoff,
        scissors=conf.scissors, units=conf.units,
        degen_tol=conf.degen_tol, resolution=conf.resolution, principal_part=conf.principal_part,
        symmetry=None if conf.symmetry == "none" else conf.symmetry, symmetry_tol=conf.symmetry_tol, **executor,
    )
    a, b = comp or _largest_component(ds)
    click.echo(f"{model!r}, observable {metadata(ds, 'parameters')['observable']}, grid {metadata(ds, 'grid')['shape']}, "
               f"mu = {mu:g} {model.energy_unit} ({mu_source})")
    click.echo(f"chi^{a}{b}{'' if comp else ' (the largest component; --component for another)'} in "
               f"{ds.chi.attrs['units']}; Re chi: response to linear polarization, "
               f"Im chi: to circular polarization (docs/optical.md)")
    click.echo(format_table(["kind", "part", "peak", f"at hbar*w ({model.energy_unit})", "max", "min"],
                            peak_rows(ds, a, b)))
    sigma = shift_sigma(ds, a, b)
    if sigma is not None:
        rows = []
        for kind in ds.kind.values:
            y = sigma.sel(kind=kind).values
            i = int(np.argmax(np.abs(y)))
            rows.append([str(kind), "forbidden", "-"] if part_forbidden(ds, str(kind), "real", a, b)  # σ = 4 Re χ
                        else [str(kind), float(y[i]), f"{float(ds.omega[i]):.4f}"])
        click.echo(f"\ncurrent: {SIGMA_CONVENTION}; {sigma.attrs['long_name']} in {sigma.attrs['units']}")
        click.echo(format_table(["kind", "sigma peak", f"at hbar*w ({model.energy_unit})"], rows))
    warn_near_degenerate(ds, "chi", ("alpha", "beta", "omega"), ("kind",), "the broadening", "carry",
                         "Transitions within unresolved pairs dominate; check with a smaller broadening "
                         "(or group them with --resolution BROADENING)")
    footnote = symmetry_footnote(ds)
    if footnote:
        click.echo(f"\n{footnote}")
    with signals_deferred():  # a kill here leaves the results file and its figure, not one of them
        path = save(ds, out_path)
        click.echo(f"wrote {path}")
        fig = plot_parts(ds, fig_path, a, b)
        click.echo(f"wrote {fig}")


def checked_component(conf: OpticalConfig, model) -> str | None:
    """The options that need the model, checked before anything is computed; returns --component (lower case)."""
    if not conf.observable:
        raise QgeomInputError("no observable given: pass --observable NAME (e.g. layer_polarization, current_x).")
    if conf.cutoff is not None and model.is_periodic:  # the k-sum of a lattice model covers its Brillouin zone
        raise QgeomInputError(f"cutoff (--cutoff) is the k cutoff of continuum (k·p) models; {model.name!r} is a "
                              f"lattice model, summed over its Brillouin zone: drop --cutoff.")
    comp = None if conf.component is None else conf.component.strip().lower()
    if comp is not None and (len(comp) != 2 or any(c not in "xyz"[: model.dim] for c in comp)):
        raise QgeomInputError(f"--component must be two of {list('xyz'[: model.dim])}, e.g. xy; got {conf.component!r}.")
    return comp


def kinds_to_compute(conf: OpticalConfig, model) -> tuple[list[str], list[str]]:
    """(the kinds to compute, the default kinds left out). Without τ, the default kinds that scale with it are
    left out when the user chose no kinds (so `--observable current_x` alone runs); kinds the user asked
    for (--kind or the config's `kinds`) that need τ are an error naming --tau."""
    needs_tau = [k for k in conf.kinds if TERMS[k].needs_tau]
    if not needs_tau or conf.tau is not None:
        return list(conf.kinds), []
    rest = [k for k in conf.kinds if k not in needs_tau]
    if "kinds" not in conf.model_fields_set and rest:
        return rest, needs_tau
    raise QgeomInputError(
        f"--kind {', '.join(needs_tau)} scale{'s' if len(needs_tau) == 1 else ''} with the relaxation time: pass "
        f"--tau ({_tau_unit(model)}, e.g. --tau 0.1)"
        + (f", or leave {'it' if len(needs_tau) == 1 else 'them'} out: {' '.join('--kind ' + k for k in rest)}"
           if rest else "") + ".")


def _tau_unit(model) -> str:
    """The unit of --tau: ps for a model in a physical energy unit, else ħ over the model's energy unit."""
    return "ps" if energy_unit_ev(model) is not None else "hbar/" + model.energy_unit


def scissors_note(model, scissors, observable) -> str | None:
    """The model's .win scissors shift when no --scissors was given (the default applies none), with the flag
    that applies it; None otherwise (and for observables other than a current, which take no scissors)."""
    shift = model.parameters.get("scissors_shift")
    if scissors is not None or not shift or observable.source != "current":
        return None
    return (f"the model's .win gives scissors_shift = {shift:g} {model.energy_unit}; it is not applied (default "
            f"--scissors none): --scissors {shift:g} (or --scissors auto) applies it.")


def check_scissors_gap(model, scissors, energies: np.ndarray) -> None:
    """A negative scissors shift must leave the gap above the valence bands open at the sampled k (`energies`,
    a coarse grid: the k-sum's own check sees only its grid, which can miss where the gap closes)."""
    from ..optical import scissors as _scissors

    sc = _scissors.resolve(model, scissors)
    if sc is None or sc.shift >= 0:
        return
    nv = sc.n_valence
    gap = energies[:, nv] - energies[:, nv - 1]
    i = int(np.argmin(gap))
    if gap[i] + sc.shift <= 0:
        raise QgeomInputError(
            f"--scissors {sc.shift:g} closes the gap between bands {nv} and {nv + 1} (num_valence_bands = {nv}): "
            f"the model's gap there is as small as {gap[i]:.4g} {model.energy_unit} on a coarse k-grid, and the "
            f"scissors correction needs it open: pass a shift above {-gap[i]:.4g}, or --scissors none.")


def mu_note(model, mu: float, energies: np.ndarray) -> str | None:
    """A note when μ lies outside every band (with a margin: the coarse `energies` may miss the extremes; for a
    continuum model, the bands within its k cutoff, the region summed): all bands are then empty or all filled,
    no transition changes an occupation and χ is ~0."""
    lo, hi = float(energies.min()), float(energies.max())
    margin = 0.05 * (hi - lo)
    if lo - margin <= mu <= hi + margin:
        return None
    where, state = ("below", "empty") if mu < lo else ("above", "filled")
    ef = fermi_energy(model)
    hint = f" (the model's Fermi energy is {ef:g})" if ef is not None else ""
    return (f"mu = {mu:g} {model.energy_unit} is {where} every band of the model ({lo:.4g} ... {hi:.4g} "
            f"{model.energy_unit}): all bands are {state}, so chi is ~0; pass --mu inside the bands{hint}.")


def default_omega(model) -> tuple[float, float, int]:
    """ħω MIN MAX N without --omega: MATERIAL_OMEGA_EV (in model units) for a model with a Fermi energy (its files',
    or --electrons') in a physical energy unit, else DEFAULT_OMEGA."""
    e0 = energy_unit_ev(model)
    if fermi_energy(model) is None or e0 is None:
        return DEFAULT_OMEGA
    w0, w1, n = MATERIAL_OMEGA_EV
    return w0 / e0, w1 / e0, n


def _largest_component(ds) -> str:
    """The αβ with the largest |χ| over kinds and ω ("xy", or the first pair, when every one is 0)."""
    mag = np.abs(ds.chi).max(("kind", "omega"))
    if not float(mag.max()) > 0:
        return "xy" if "y" in ds.beta.values else str(ds.alpha.values[0]) * 2
    best = mag.argmax(...)
    return str(ds.alpha.values[int(best["alpha"])]) + str(ds.beta.values[int(best["beta"])])
