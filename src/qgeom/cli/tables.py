"""One configuration style for every command: a pydantic schema per TOML table, flags derived from it.

Each command declares one schema (`[dc]`, `[dc-exact]`, `[geometry]`, `[optical]`, `[bands]`);
`flag(schema, field)` makes the click option of a field (help text = the field's description,
default shown from the schema, so each default is written once), and `resolve` merges the file's
table with the flags the user gave (flags win) and validates the result once. Unknown keys are
rejected with the list of allowed keys; `config_reference.py` renders the same schemas as docs.
"""

from __future__ import annotations

import functools
import math
import types
import typing
from typing import Annotated, Any, Literal

import click
import numpy as np
from pydantic import (AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, PositiveInt, ValidationError,
                      ValidationInfo, field_validator)

from .._validation import QgeomInputError, did_you_mean

# The top-level tables a config file may hold (one file can configure several commands).
TABLES = ("model", "dc", "dc-exact", "geometry", "optical", "bands")


class Table(BaseModel):
    """Base of every command table: unknown keys are errors, NaN/inf are rejected, values frozen."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False, frozen=True)

    @field_validator("*", mode="before")
    @classmethod
    def _true_false_is_not_a_number(cls, value, info: ValidationInfo):
        """pydantic's lax mode reads TOML `grid = true` as 1 and `blocks = 1` as true: refused, named."""
        problem = bool_mismatch(cls.model_fields[info.field_name].annotation, value)
        if problem:
            raise ValueError(problem)
        return value


Offset = Literal["mp", "gamma"]


def offset_field():
    """The `offset` field of the tables whose command sums a uniform lattice grid."""
    from ..options import Sampling

    return Field(Sampling.offset, description=(
        "Lattice k-grid: mp (Monkhorst-Pack) or gamma (Gamma-centred, the grids of Wannier90 and WannierBerri; "
        "with --symmetry it keeps the coarse sub-grid of the error estimate for any count)."))


def symmetry_tol_field():
    """The `symmetry_tol` field shared by the tables whose command takes `symmetry=`."""
    return Field(None, gt=0, lt=1, description=(
        "Relative breaking of the given group the model may have, below 1 (default: exact symmetries only, 1e-9); "
        "larger imposes the crystal's group on a Wannier model that breaks it (warned, recorded). A model that "
        "breaks it by 1 or more: symmetrize the model instead (--symmetrize-model GROUP)."))


def default_text(schema: type[BaseModel], field: str) -> str:
    """The default of `field` as shown in --help and in the TOML reference."""
    info = schema.model_fields[field]
    extra = info.json_schema_extra if isinstance(info.json_schema_extra, dict) else {}
    if "default_text" in extra:
        return str(extra["default_text"])
    value = info.get_default(call_default_factory=True)
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, (list, tuple)):
        return ",".join(str(v) for v in value) if value else "(none)"
    return "(none)" if value is None else str(value)


def bool_mismatch(annotation, value) -> str | None:
    """Why `value` is of the wrong kind for a field of type `annotation`: true/false where a number is expected
    (anywhere inside a list or table), or anything but true/false where a flag is; None when neither."""
    if _union_members(annotation) == [bool] or annotation is bool:
        return None if value is None or isinstance(value, bool) else f"got {value!r}; expected true/false"
    if _mentions(annotation, (int, float)) and not _mentions(annotation, (bool,)) and _holds_bool(value):
        from .config_reference import type_text

        return f"got {value!r}; expected {type_text(annotation)}, and true/false is not a number"
    return None


def _mentions(annotation, kinds: tuple[type, ...]) -> bool:
    """Whether `annotation` (with its unions, lists, tables and Annotated metadata) admits one of `kinds`."""
    return annotation in kinds or any(_mentions(a, kinds) for a in typing.get_args(annotation))


def _holds_bool(value) -> bool:
    if isinstance(value, bool):
        return True
    if isinstance(value, dict):
        value = list(value.values())
    return isinstance(value, (list, tuple)) and any(_holds_bool(v) for v in value)


def _choices(annotation) -> tuple[str, ...] | None:
    """The allowed values of a Literal field (also inside Optional / list[...])."""
    if typing.get_origin(annotation) is Literal:
        return tuple(typing.get_args(annotation))
    for arg in typing.get_args(annotation):
        found = _choices(arg)
        if found:
            return found
    return None


class ChoiceList(click.ParamType):
    """A repeatable option whose each occurrence may also be a comma list of choices (--kind a,b as --kind a
    --kind b, like --components xxx,xyy); `flag` flattens the occurrences."""

    name = "choice"

    def __init__(self, choices: tuple[str, ...]):
        self.choices = tuple(choices)

    def get_metavar(self, param, ctx=None) -> str:
        return "[" + "|".join(self.choices) + "]"

    def convert(self, value, param, ctx):
        if isinstance(value, (list, tuple)):
            return list(value)
        items = [x.strip() for x in str(value).split(",") if x.strip()]
        for item in items or [str(value)]:
            if item not in self.choices:
                self.fail(f"{item!r} is not one of {', '.join(map(repr, self.choices))}"
                          f"{did_you_mean(item, self.choices)}.", param, ctx)
        return items


def _flatten(ctx, param, value):
    return None if value is None else tuple(x for v in value for x in v)


def _click_type(annotation, multiple: bool):
    if typing.get_origin(annotation) is Annotated:  # PositiveFloat etc.: the click type of the base type
        return _click_type(typing.get_args(annotation)[0], multiple)
    choices = _choices(annotation)
    if choices and multiple:
        return ChoiceList(choices)
    if choices and typing.get_origin(annotation) is Literal:
        return click.Choice(choices)
    args = _union_members(annotation)
    if args:
        if len(args) == 1:
            return _click_type(args[0], multiple)
        return str  # e.g. int | list[int]: a string the schema parses
    if annotation in (int, float):
        return annotation
    return str


FLAG_NAMES: dict[tuple[type, str], str] = {}  # (schema, field) -> its command-line flag, as `flag` declared it


def flag(schema: type[BaseModel], field: str, *decls: str, dest: str | None = None, **kwargs):
    """The click option of `schema.field`: --field-name, help from the field's description plus
    its default; the command receives it under `dest` (default: the field's name; None when not given)."""
    info = schema.model_fields[field]
    decls = decls or (f"--{field.replace('_', '-')}",)
    FLAG_NAMES[schema, field] = decls[0].split("/")[0]
    is_bool = info.annotation is bool
    if is_bool and len(decls) == 1 and "/" not in decls[0]:
        decls = (f"{decls[0]}/--no-{decls[0][2:]}",)
    kwargs.setdefault("default", None)
    if not is_bool:
        kwargs.setdefault("type", _click_type(info.annotation, kwargs.get("multiple", False)))
    if isinstance(kwargs.get("type"), ChoiceList):
        kwargs.setdefault("callback", _flatten)
    help_text = kwargs.pop("help", None) or info.description or ""
    kwargs["help"] = f"{help_text}  [default: {default_text(schema, field)}]"
    return click.option(*decls, dest or field, **kwargs)


def table_flags(schema: type[BaseModel], fields: list[str], **per_field):
    """Decorator adding `flag(schema, f, ...)` for each field (per_field[f]: decls tuple or kwargs)."""

    def decorate(f):
        for name in reversed(fields):
            spec = per_field.get(name, {})
            decls, kw = (spec, {}) if isinstance(spec, tuple) else (spec.pop("decls", ()), dict(spec))
            f = flag(schema, name, *decls, **kw)(f)
        return f

    return decorate


def check_tables(config: dict[str, Any], source: str) -> None:
    """A config file holds only known tables (so a misspelt `[optcal]` is not silently ignored)."""
    unknown = [k for k in config if k not in TABLES]
    if unknown:
        hint = did_you_mean(unknown[0], TABLES)
        raise QgeomInputError(f"invalid configuration in {source}: unknown table(s) {', '.join(map(repr, unknown))}{hint}; "
                              f"allowed tables: {', '.join(TABLES)}.")
    bad = [k for k in config if not isinstance(config[k], dict)]
    if bad:
        raise QgeomInputError(f"invalid configuration in {source}: {bad[0]!r} must be a table ([{bad[0]}]).")


def given(flags: dict[str, Any], schema: type[BaseModel]) -> dict[str, Any]:
    """The flags of `schema` the user actually gave (None and empty repeatable options are 'not given')."""
    return {k: v for k, v in flags.items()
            if k in schema.model_fields and v is not None and not (isinstance(v, tuple) and not v)}


def resolve(schema: type[BaseModel], config: dict[str, Any], table: str, flags: dict[str, Any], source: str):
    """The command's validated settings: the config's [table], overridden by the given flags."""
    data = {**config.get(table, {}), **given(flags, schema)}
    return validate(schema, data, f"{source} [{table}]" if table in config else source)


def validate(schema: type[BaseModel], data: dict[str, Any], source: str):
    try:
        return schema.model_validate(data)
    except ValidationError as exc:
        raise QgeomInputError(format_validation_error(exc, schema, source, data)) from None


def format_validation_error(exc: ValidationError, schema: type[BaseModel], source: str, data: Any = None) -> str:
    """One line per offending value, in the user's words: the TOML key (and its flag), the path into the value
    given (`parameters.u`, list item n), the value, what the key takes (its config-reference type) and the
    closest allowed name for a misspelt key or choice — not pydantic's per-branch locations (`mu.str`,
    `grid.list[constrained-int].1`)."""
    from .config_reference import type_text

    lines = [f"invalid configuration in {source}:"]
    by_place: dict[tuple, list] = {}
    for err in exc.errors():
        place = _user_path(err["loc"], data)
        field = schema.model_fields.get(place[0])
        if field is not None and len(_union_members(field.annotation)) > 1:  # its branches fail at different depths: one line
            place = place[:1]
        by_place.setdefault(place, []).append(err)
    for (key, *path), errs in by_place.items():
        first, field = errs[0], schema.model_fields.get(key)
        if first["type"] == "extra_forbidden" and not path:
            lines.append(f"  - {key}: unknown key{did_you_mean(key, schema.model_fields)}; "
                         f"allowed keys: {', '.join(schema.model_fields)}")
            continue
        specific = [e for e in errs if not e["type"].endswith(("_type", "_parsing"))]
        if len(errs) > 1 and len(specific) == 1:  # the branch the value has the type of: its constraint failed
            first, errs, path = specific[0], specific, list(_user_path(specific[0]["loc"], data)[1:])
        keys = "".join(f".{p}" for p in path if isinstance(p, str))
        items = [p for p in path if isinstance(p, int)]
        label = key + keys + (f" ({FLAG_NAMES.get((schema, key), '--' + key.replace('_', '-'))})" if field else "")
        label += f", item {items[-1] + 1}" if items else ""
        if len(errs) > 1:  # one value failing every branch of a union type
            if field is not None and not path:
                given, want = repr(data.get(key)) if isinstance(data, dict) else _given(first), type_text(field.annotation)
            else:
                given, want = _given(first), " or ".join(dict.fromkeys(e["msg"].removeprefix("Input should be ")
                                                                      for e in errs))
            lines.append(f"  - {label}: got {given}; expected {want}")
            continue
        msg = first["msg"].removeprefix("Value error, ")
        if f"got {_given(first)}" not in msg:
            msg += f" (got {_given(first)})"
        choices = (first.get("ctx") or {}).get("expected")
        if first["type"] == "literal_error" and choices is not None:
            msg += did_you_mean(str(first["input"]), [c.strip(" '") for c in choices.replace(" or ", ",").split(",")])
        lines.append(f"  - {label}: {msg}")
    return "\n".join(lines)


def _user_path(loc: tuple, data: Any) -> tuple:
    """The key and the steps into the user's value (dict keys, list positions) of a pydantic error location,
    without the union-branch tags pydantic inserts (`str`, `list[float]`, `constrained-int`)."""
    if not loc:
        return ("(top level)",)
    path, value = [str(loc[0])], data.get(loc[0]) if isinstance(data, dict) else None
    for step in loc[1:]:
        if isinstance(value, dict) and step in value or isinstance(value, list) and isinstance(step, int) \
                and 0 <= step < len(value):
            path.append(step)
            value = value[step]
    return tuple(path)


def _union_members(annotation) -> list:
    """The non-None members of a Union (`A | B | None`, also inside Annotated); [] for any other type."""
    if typing.get_origin(annotation) is Annotated:
        return _union_members(typing.get_args(annotation)[0])
    if typing.get_origin(annotation) not in (typing.Union, types.UnionType):
        return []
    return [a for a in typing.get_args(annotation) if a is not type(None)]


def _given(err: dict) -> str:
    value = repr(err.get("input"))
    return value if len(value) <= 60 else value[:57] + "..."


def split_list(value):
    """A comma-separated string (flag or TOML) → list; lists pass unchanged."""
    if isinstance(value, str):
        return [p.strip() for p in value.split(",") if p.strip()]
    return value


EMPTY_LIST = ("is empty: name at least one, comma-separated (e.g. --components xyy,yxx), or leave the option out "
              "for its default")


def non_empty(value: list[str]) -> list[str]:
    """A given comma list names something: an empty one (--components '') would silently mean the default."""
    if not value:
        raise ValueError(EMPTY_LIST)
    return value


def parse_values(spec, *, positive: bool = False, keywords: tuple[str, ...] = ()) -> list[float] | str:
    """The one reader of the value lists (--mu, --gamma, dc-exact --omega and their config keys): a number, a
    list of numbers, 'start:stop:num' (inclusive, like linspace) or 'a,b,c'; a keyword passes unchanged. Refuses,
    naming the entry: text that is no number, true/false, NaN/inf, no values at all (num 0), and with
    `positive` a value <= 0 (Γ: checked before anything that counts the values)."""
    if isinstance(spec, str) and spec.strip() in keywords:
        return spec.strip()
    values = _number_list(spec, keywords)
    if not values:
        raise ValueError(f"got {spec!r}, which gives no values: pass at least one (num >= 1 in start:stop:num)")
    for v in values:
        if not math.isfinite(v):
            raise ValueError(f"got {spec!r}: {v} is not a finite number")
        if positive and v <= 0:
            raise ValueError(f"got {spec!r}: {v:g} is not positive; every value must be > 0")
    return values


def _number_list(spec, keywords: tuple[str, ...] = ()) -> list[float]:
    """`spec` as a list of floats (see `parse_values`); a ValueError names what is not a number."""
    if isinstance(spec, bool) or not isinstance(spec, (int, float, str, list, tuple)):
        raise ValueError(f"got {spec!r}; expected a number, a list of numbers, 'start:stop:num' or 'a,b,c'")
    if isinstance(spec, (int, float)):
        return [float(spec)]
    if isinstance(spec, (list, tuple)):
        for i, item in enumerate(spec):
            if isinstance(item, bool) or not isinstance(item, (int, float)):
                raise ValueError(f"got {list(spec)!r}: item {i + 1}, {item!r}, is not a number")
        return [float(x) for x in spec]
    text = spec.strip()
    try:
        if ":" in text:
            start, stop, num = text.split(":")
            return np.linspace(float(start), float(stop), int(num)).tolist()  # num < 0: a ValueError too
        return [float(x) for x in text.split(",")]
    except ValueError:
        words = "".join(f" or {k}" for k in keywords)
        raise ValueError(f"got {spec!r}: use 'start:stop:num' (e.g. -1:1:21), a comma list "
                         f"(e.g. -0.5,0,0.5){words}") from None


def value_list(*, positive: bool = False, keywords: tuple[str, ...] = ()):
    """The field type of a value list read by `parse_values` (validated to a list of floats, or a keyword)."""
    check = functools.partial(parse_values, positive=positive, keywords=keywords)
    return Annotated[float | list[float] | str, BeforeValidator(check)]


def parse_grid(value):
    """A k-grid from TOML or a flag: N, [N1, N2, ...] or the strings 'N', 'N1,N2', 'N1xN2'."""
    if isinstance(value, str):
        parts = [p for p in value.replace("x", ",").split(",") if p.strip()]
        try:
            value = [int(p) for p in parts]
        except ValueError:
            raise ValueError(f"grid expects N or N1,N2[,N3] (integers), got {value!r}") from None
    if isinstance(value, (list, tuple)):
        if not value:
            raise ValueError("grid is empty")
        if len(value) == 1:
            value = value[0]
    return value


# Field types shared by the command tables.
Grid = Annotated[PositiveInt | list[PositiveInt], BeforeValidator(parse_grid)]
CommaList = Annotated[list[str], BeforeValidator(split_list), AfterValidator(non_empty)]
Values = value_list()
Rates = value_list(positive=True)  # Γ: bath rates
ValuesOrAuto = value_list(keywords=("auto",))


def grid_arg(grid):
    """A validated Grid as the API's `grid=` (an int or a tuple)."""
    return grid if isinstance(grid, int) else tuple(grid)
