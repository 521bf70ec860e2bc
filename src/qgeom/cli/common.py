"""Options and helpers shared by the CLI commands: model selection, configs, output."""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

import click
import numpy as np

from .._validation import QgeomInputError
from ..config import ModelConfig, read_toml, validate


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


def model_options(f):
    f = click.option("--param", "params", multiple=True, metavar="KEY=VALUE",
                     help="Model parameter (repeatable), e.g. --param m=-3.9.")(f)
    f = click.option("--model", "model_name", default=None, help="Library model name, e.g. pt_tilted_4band.")(f)
    f = click.option("--config", "config_path", type=click.Path(dir_okay=False), default=None,
                     help="TOML config file; command-line flags override it.")(f)
    return f


def load_config(config_path: str | None) -> dict[str, Any]:
    return read_toml(config_path) if config_path else {}


def build_model(config: dict[str, Any], model_name: str | None, params: tuple[str, ...], source: str):
    data = dict(config.get("model", {}))
    if model_name:
        data["name"] = model_name
    if params:
        data["parameters"] = {**data.get("parameters", {}), **parse_param(params)}
    if "name" not in data:
        raise QgeomInputError("no model given: pass --model NAME or a [model] table with name = ... in --config.")
    return validate(ModelConfig, data, source).build()


def handle_errors(f):
    """Turn input errors into a clean one-line CLI error (exit code 2)."""

    @functools.wraps(f)
    def wrapper(*args, **kwargs):
        try:
            return f(*args, **kwargs)
        except QgeomInputError as exc:
            raise click.UsageError(str(exc)) from None

    return wrapper


def format_table(header: list[str], rows: list[list[Any]], *, floatfmt: str = "{: .6e}") -> str:
    cells = [[floatfmt.format(x) if isinstance(x, (float, np.floating)) else str(x) for x in r] for r in rows]
    widths = [max(len(h), *(len(r[i]) for r in cells)) if cells else len(h) for i, h in enumerate(header)]
    line = "  ".join(h.rjust(w) for h, w in zip(header, widths))
    sep = "  ".join("-" * w for w in widths)
    body = ["  ".join(c.rjust(w) for c, w in zip(r, widths)) for r in cells]
    return "\n".join([line, sep, *body])


def output_path(path: str | None, default: str) -> Path:
    return Path(path or default)
