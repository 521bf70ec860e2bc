"""`qgeom config-reference`: the TOML reference, rendered from the command schemas themselves
(docs/config.md is this output; a test keeps it up to date)."""

from __future__ import annotations

import importlib
import typing
from typing import Annotated, Literal

import click

# table -> (module under qgeom.cli, schema class); the order of the page
SCHEMAS = {
    "model": ("model_loader", "ModelTable"),
    "dc": ("dc", "DCConfig"),
    "dc-exact": ("dc_exact", "DCExactConfig"),
    "geometry": ("geometry", "GeometryConfig"),
    "optical": ("optical", "OpticalConfig"),
    "bands": ("bands", "BandsConfig"),
}

INTRO = """# Configuration reference

Every command reads one TOML table of a `--config FILE` plus the shared `[model]` table;
command-line flags override the file (`--grid` overrides `grid = ...`). Unknown tables, unknown
keys and unknown model parameters are errors that list the allowed names. This page is generated
by `qgeom config-reference` from the same schemas the commands validate with.

A relative model path in a config file (`wannier90 = "GaAs"`) is resolved against the config file's
directory when the model is there, so a config can sit beside its model files and be run from anywhere;
otherwise against the working directory. A `--wannier90 PATH` flag is always relative to the working
directory.

```toml
[model]
name = "pt_tilted_4band"          # or: wannier90 = "examples/GaAs"
parameters = { t = 0.5 }

[dc]
components = ["xyy", "yxx"]
mu = "-4:-3.5:11"
temperature = 0.1
grid = 100
```
"""


def schema(table: str):
    module, name = SCHEMAS[table]
    return getattr(importlib.import_module(f".{module}", __package__), name)


def type_text(annotation) -> str:
    """A short human-readable TOML type of a schema field."""
    origin, args = typing.get_origin(annotation), typing.get_args(annotation)
    if origin is Annotated:
        return type_text(args[0])
    if origin is Literal:
        return " \\| ".join(f'"{a}"' for a in args)
    if origin in (typing.Union, __import__("types").UnionType):
        return " or ".join(type_text(a) for a in args if a is not type(None))
    if origin is list:
        return f"list of {type_text(args[0])}"
    if origin is tuple:
        return "[" + ", ".join(type_text(a) for a in args) + "]"
    if origin is dict:
        return "table"
    names = {float: "number", int: "integer", str: "string", bool: "true/false"}
    return names.get(annotation, getattr(annotation, "__name__", str(annotation)))


def render() -> str:
    from .tables import default_text

    parts = [INTRO]
    for table in SCHEMAS:
        cls = schema(table)
        parts.append(f"\n## [{table}]\n\n{(cls.__doc__ or '').strip()}\n")
        parts.append("| key | type | default | meaning |\n|---|---|---|---|")
        for name, info in cls.model_fields.items():
            desc = (info.description or "").replace("|", "\\|")
            parts.append(f"| `{name}` | {type_text(info.annotation)} | `{default_text(cls, name)}` | {desc} |")
    return "\n".join(parts) + "\n"


@click.command("config-reference")
@click.option("--out", type=click.Path(dir_okay=False), default=None, help="Write to FILE instead of stdout.")
def command(out):
    """Print the TOML configuration reference (every table, key, type and default)."""
    text = render()
    if out:
        with open(out, "w", encoding="utf-8") as f:
            f.write(text)
        click.echo(f"wrote {out}")
    else:
        click.echo(text, nl=False)
