"""The one model loader of every command: `--model NAME --param k=v`, `--wannier90 PATH` (with its
Bloch convention and position operator) or the config's `[model]` table, validated together.

Flags override the file: `--model` replaces a `[model] wannier90 = ...` entry and vice versa;
`--param` entries are merged over `[model] parameters`. Unknown model names, unknown parameters
and Wannier90-only options on a library model are rejected with the allowed values.
"""

from __future__ import annotations

import glob
import inspect
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import click
from pydantic import (Field, PositiveFloat, StrictBool, StrictFloat, StrictInt, ValidationInfo, field_validator,
                      model_validator)

from .._validation import QgeomInputError
from ..config import read_toml
from ..models.base import Model
from .tables import FLAG_NAMES, Table, check_tables, did_you_mean, flag, resolve, validate


LARGE_FILE_BYTES = 200 * 10**6  # hopping files announced before they are read (`_announce_large`)
READ_BYTES_PER_S = 40e6  # ... with the time they take: the C parse of a Wannier90 file (benchmarks/wannier_files.py)
# kT (model energy unit) of --electrons for a command without a temperature (bands, geometry; optical's default):
# 10 meV for eV models, enough smearing that a metal's count on the coarse grid is smooth in mu
ELECTRONS_KT = 0.01


def _library() -> dict:
    from ..models.library import MODELS

    return MODELS


def model_parameters(name: str) -> dict[str, Any]:
    """The keyword parameters of library model `name` with their defaults."""
    sig = inspect.signature(_library()[name])
    return {p.name: p.default for p in sig.parameters.values() if p.kind is inspect.Parameter.KEYWORD_ONLY}


WANNIER90_ONLY = ("convention", "position_operator", "restore_time_reversal", "allow_magnetic", "symmetrize",
                  "displacement_field", "exchange_field", "exchange_axis")


class ModelTable(Table):
    """[model]: a library model with parameters, or a Wannier90 model."""

    name: str | None = Field(None, description="Library model name (one of qgeom.models.library.MODELS).")
    parameters: dict[str, StrictFloat | StrictInt | StrictBool] = Field(
        default_factory=dict, description="Keyword parameters of the library model (numbers or true/false).",
        json_schema_extra={"default_text": "the model's own defaults"})
    wannier90: str | None = Field(
        None, description="Wannier90 model: SEED_tb.dat, SEED_hr.dat, SEED.win, the seedname or its directory. A "
                          "relative path in a config file is taken from the file's directory when it is there, "
                          "else from the working directory.")
    convention: Literal["auto", "I", "II"] = Field(
        "auto", description="Bloch convention of a Wannier90 model (auto: II when the orbital centres are known).")
    position_operator: Literal["centres", "full"] = Field(
        "centres", description="Position operator of a Wannier90 model: the centres (tight binding) or the "
                               "full r_ij(R) of _tb.dat (experimental; current observables).")
    restore_time_reversal: bool = Field(
        False, description="Restore the time reversal of a non-magnetic spinor Wannier90 model in real space "
                           "(qgeom.models.symmetrize.restore_time_reversal; the removed breaking is recorded). A "
                           "magnetic model, which it would change by more than 0.1 eV, is refused.")
    allow_magnetic: bool = Field(
        False, description="With restore_time_reversal: restore it on a magnetic model too (its hoppings changed by "
                           "more than 0.1 eV, a Wannierization's error), which removes the magnetism: the model's "
                           "non-magnetic counterpart.")
    symmetrize: str | None = Field(
        None, description="Average a Wannier90 model over this point group in real space (Hermann-Mauguin "
                          "symbol of the unitary operations, e.g. -43m), D(g) fitted to the hoppings "
                          "(symmetrize_point_group(representation='fitted')); the removed breaking is recorded.",
        json_schema_extra={"default_text": "none (the model as read)"})
    displacement_field: float | None = Field(
        None, description="Electric field along the layer normal (V/Å) of a Wannier90 model, a potential linear in "
                          "the Wannier centres' heights (qgeom.models.two_dimensional.with_displacement_field), "
                          "after the restoring and symmetrizing above.",
        json_schema_extra={"default_text": "none"})
    exchange_field: float | None = Field(
        None, description="Uniform exchange field J (eV) of a spinor Wannier90 model, H(R=0) += J sigma_axis "
                          "(qgeom.models.onsite.with_exchange_field), applied last.",
        json_schema_extra={"default_text": "none"})
    exchange_axis: Literal["x", "y", "z"] = Field("z", description="Spin axis of --exchange-field.")
    electrons: PositiveFloat | None = Field(
        None, description="Electrons per unit cell in the model's bands (one per band: a spinor model's whole count, "
                          "a spinless model's count per spin): sets the model's Fermi energy to the mu that holds "
                          "them (qgeom.filling.filling) at the command's temperature (bands, geometry, optical "
                          f"without --temperature: kT = {ELECTRONS_KT:g} model energy units) on the coarse grid "
                          "qgeom.filling.default_grid (printed); every default that reads "
                          "the Fermi energy (dc --mu auto, the mu of dc-exact and optical) uses it, and it replaces "
                          "one the files give. Lattice models only.",
        json_schema_extra={"default_text": "none (the Fermi energy of the files, if they give one)"})

    @field_validator("name")
    @classmethod
    def _known(cls, v: str | None) -> str | None:
        if v is not None and v not in _library():
            raise ValueError(f"unknown model {v!r}{did_you_mean(v, _library())}; "
                             f"allowed: {', '.join(sorted(_library()))}")
        return v

    @field_validator("parameters")
    @classmethod
    def _parameters_of_the_model(cls, params: dict, info: ValidationInfo) -> dict:
        """Each parameter is one of the library model's, of its kind: true/false for a flag such as
        pt_tilted_2band(conjugate=...), a number otherwise (the kind of its default)."""
        name = info.data.get("name")
        if name is None:  # a Wannier90 model, or a name already refused
            return params
        allowed = model_parameters(name)
        unknown = [k for k in params if k not in allowed]
        if unknown:
            raise ValueError(f"model {name!r} has no parameter(s) {', '.join(unknown)}; "
                             f"allowed: {', '.join(f'{k} (default {v})' for k, v in allowed.items())}")
        for key, value in params.items():
            flag_param = isinstance(allowed[key], bool)
            if isinstance(value, bool) != flag_param:
                want = "true or false" if flag_param else "a number, not true/false"
                raise ValueError(f"{key} = {value!r}: expected {want} (the default is {allowed[key]!r})")
        return params

    @model_validator(mode="after")
    def _one_source(self) -> ModelTable:
        if (self.name is None) == (self.wannier90 is None):
            raise ValueError("give exactly one model: a library name (--model NAME, [model] name = ...) "
                             "or a Wannier90 model (--wannier90 PATH, [model] wannier90 = ...)")
        if self.name is not None:
            extra = [k for k in WANNIER90_ONLY if k in self.model_fields_set]
            if extra:
                raise ValueError(f"{', '.join(extra)} {'apply' if len(extra) > 1 else 'applies'} to Wannier90 models "
                                 "(--wannier90 PATH) only")
        elif self.parameters:
            raise ValueError("parameters (--param) apply to library models only; a Wannier90 model is its files")
        if self.allow_magnetic and not self.restore_time_reversal:
            raise ValueError("allow_magnetic (--allow-magnetic) lets restore_time_reversal act on a magnetic model: "
                             "give restore_time_reversal (--restore-time-reversal) too")
        if "exchange_axis" in self.model_fields_set and self.exchange_field is None:
            raise ValueError("exchange_axis (--exchange-axis) sets the spin axis of an exchange field: give "
                             "exchange_field (--exchange-field J) too")
        return self

    def build(self) -> Model:
        if self.wannier90 is None:
            return _library()[self.name](**self.parameters)
        from ..models import symmetrize
        from ..models.wannier90 import from_wannier90, hopping_file

        _announce_large(hopping_file(self.wannier90))
        model = from_wannier90(self.wannier90, convention=self.convention, position_operator=self.position_operator)
        if self.restore_time_reversal:
            model = symmetrize.restore_time_reversal(model, allow_magnetic=self.allow_magnetic)
        if self.symmetrize is not None:
            model = symmetrize.symmetrize_point_group(model, self.symmetrize, representation="fitted")
        if self.displacement_field is not None:
            from ..models.two_dimensional import with_displacement_field

            model = with_displacement_field(model, float(self.displacement_field))
        if self.exchange_field is not None:
            from ..models.onsite import with_exchange_field

            model = with_exchange_field(model, float(self.exchange_field), axis=self.exchange_axis)
        return model


def _announce_large(path: Path) -> None:
    """A line on stderr before a hopping file that takes a while to read (a 100-orbital model's `_hr.dat` is 1.5 GB:
    ~40 s at the C parser's ~40 MB/s), so that a run does not sit silent before its first progress line."""
    size = path.stat().st_size
    if size >= LARGE_FILE_BYTES:
        compressed = path.suffix.lower() in (".gz", ".xz", ".bz2")
        about = "" if compressed else f", about {size / READ_BYTES_PER_S:.0f} s"
        click.echo(f"reading {path.name} ({size / 1e9:.1f} GB{about}) ...", err=True)


def model_options(f=None, *, convention_aliases: tuple[str, ...] = ()):
    """--config, --model, --param, --wannier90, --bloch-convention, --position-operator,
    --restore-time-reversal, --allow-magnetic, --symmetrize-model, --displacement-field, --exchange-field, --exchange-axis,
    --electrons; the command
    receives them as keywords and passes its keyword dict to `load`."""

    def decorate(f):
        f = flag(ModelTable, "electrons", metavar="N")(f)
        f = flag(ModelTable, "exchange_axis")(f)
        f = flag(ModelTable, "exchange_field", metavar="J")(f)
        f = flag(ModelTable, "displacement_field", metavar="V_PER_A")(f)
        f = flag(ModelTable, "symmetrize", "--symmetrize-model", metavar="GROUP", dest="symmetrize_model")(f)
        f = flag(ModelTable, "allow_magnetic")(f)
        f = flag(ModelTable, "restore_time_reversal")(f)
        f = flag(ModelTable, "position_operator")(f)
        f = flag(ModelTable, "convention", "--bloch-convention", *convention_aliases, dest="bloch_convention")(f)
        # no exists=True: a seedname (examples/GaAs/GaAs) names only SEED_tb.dat, SEED.win, ...; the reader says
        # which forms it tried when none exists
        f = flag(ModelTable, "wannier90", type=click.Path(), metavar="PATH",
                 help="Wannier90 model (SEED_tb.dat, SEED_hr.dat, SEED.win, seedname or directory) instead of --model.")(f)
        FLAG_NAMES[ModelTable, "parameters"] = "--param"
        f = click.option("--param", "param", multiple=True, metavar="KEY=VALUE",
                         help="Library model parameter (repeatable), e.g. --param m=-3.9; unknown names are "
                              "rejected with the model's parameters.  [default: the model's own]")(f)
        f = flag(ModelTable, "name", "--model", metavar="NAME",
                 help="Library model: " + ", ".join(sorted(_library())) + ".")(f)
        f = click.option("--config", "config", type=click.Path(dir_okay=False), default=None, metavar="FILE",
                         help="TOML config file ([model] and one table per command, docs/config.md); "
                              "command-line flags override it.  [default: none]")(f)
        return f

    return decorate(f) if f is not None else decorate


def parse_param(values: tuple[str, ...]) -> dict[str, float | bool]:
    """`--param key=value` pairs; values are numbers or true/false (never evaluated)."""
    out: dict[str, float | bool] = {}
    for item in values:
        key, sep, raw = item.partition("=")
        if not sep or not key.strip():
            raise QgeomInputError(f"--param expects key=value, got {item!r}.")
        raw = raw.strip()
        if raw.lower() in ("true", "false"):
            out[key.strip()] = raw.lower() == "true"
            continue
        try:
            out[key.strip()] = float(raw)
        except ValueError:
            raise QgeomInputError(f"--param {key.strip()}: {raw!r} is not a number.") from None
    return out


def config_relative(value: str, config_path: str) -> str:
    """A relative model path of a config file, against the file's directory when the model is there (so a
    config travels with its model files), else as given: against the working directory, as before."""
    candidate = Path(config_path).parent / value
    if Path(value).is_absolute() or not candidate.parent.is_dir():
        return value
    # a seedname (GaAs/GaAs) names no file itself, only SEED.win, SEED_hr.dat, ...
    if candidate.exists() or any(candidate.parent.glob(glob.escape(candidate.name) + "[._]*")):
        return str(candidate)
    return value


@dataclass(frozen=True)
class Setup:
    """What every command starts from: the config file's tables, the model, and where they came from."""

    config: dict[str, Any]
    model: Model
    source: str
    conf: Any = None  # the command's validated table (when `load` was given its schema)


def load(opts: dict[str, Any], schema=None, table: str | None = None) -> Setup:
    """Read --config, check its tables, merge [model] with the model flags, validate and build the model;
    with `schema`, also the command's [table] merged with its flags (`tables.resolve`), validated
    before the model is built. Pops the model options from `opts`."""
    path = opts.pop("config", None)
    config = read_toml(path) if path else {}
    source = path or "command line"
    check_tables(config, source)
    data = dict(config.get("model", {}))
    if path and isinstance(data.get("wannier90"), str):
        data["wannier90"] = config_relative(data["wannier90"], path)
    name, w90, params = opts.pop("name", None), opts.pop("wannier90", None), opts.pop("param", ())
    if name is not None and w90 is not None:  # both on the command line: refused by ModelTable, as in a file
        data = {"name": name, "wannier90": w90}
    elif name is not None:
        data = {**{k: v for k, v in data.items() if k not in ("wannier90", *WANNIER90_ONLY)}, "name": name}
    elif w90 is not None:
        data = {k: v for k, v in data.items() if k not in ("name", "parameters")} | {"wannier90": w90}
    if params:
        data["parameters"] = {**data.get("parameters", {}), **parse_param(params)}
    for key, flag_name in (("convention", "bloch_convention"), ("position_operator", "position_operator"),
                           ("restore_time_reversal", "restore_time_reversal"), ("allow_magnetic", "allow_magnetic"),
                           ("symmetrize", "symmetrize_model"),
                           ("displacement_field", "displacement_field"), ("exchange_field", "exchange_field"),
                           ("exchange_axis", "exchange_axis"), ("electrons", "electrons")):
        value = opts.pop(flag_name, None)
        if value is not None:
            data[key] = value
    if "name" not in data and "wannier90" not in data:
        raise QgeomInputError("no model given: pass --model NAME, --wannier90 PATH, or a [model] table with "
                              "name = ... or wannier90 = ... in --config.")
    model_table = validate(ModelTable, data, f"{source} [model]" if "model" in config else source)
    conf = resolve(schema, config, table, opts, source) if schema is not None else None
    model = model_table.build()
    from ..sanity import check_model, sample_points

    check_model(model, sample_points(model))  # e.g. --param v=1e308: refused here, named
    if model_table.electrons is not None:
        set_fermi_energy(model, model_table.electrons, temperature=getattr(conf, "temperature", None))
    return Setup(config, model, source, conf)


def set_fermi_energy(model: Model, electrons: float, *, temperature: float | None) -> None:
    """--electrons N: the model's Fermi energy (`parameters["fermi_energy"]`, which `common.fermi_energy` reads for
    every command's defaults) from N electrons per cell, where it came from in `parameters["fermi_energy_from"]`
    (both travel with the model into every result's metadata), and one line saying so."""
    from ..filling import filling

    result = filling(model, electrons, temperature=temperature or ELECTRONS_KT)
    unit, files = model.energy_unit, model.parameters.get("fermi_energy")
    replaces = "" if files is None else f"; replaces the files' Fermi energy {float(files):g} {unit}"
    model.parameters["fermi_energy"] = result.fermi_energy
    model.parameters["fermi_energy_from"] = result.source(unit) + replaces
    click.echo(result.describe(unit) + replaces)
