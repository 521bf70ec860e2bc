"""Command line: `qgeom <command> ...`. Each command lives in its own module, imported only when
that command runs, so `qgeom --version` and `qgeom --help` start without numpy, xarray, sympy or
matplotlib."""

from __future__ import annotations

import importlib

import click

from .. import __version__

# name -> (module, attribute, one-line help shown by `qgeom --help`; a test checks it against
# the command's own docstring)
COMMANDS: dict[str, tuple[str, str, str]] = {
    "dc": ("dc", "command",
           "Second-order DC conductivity: Drude, BCD, geometric and kinetic terms per dissipation mechanism."),
    "dc-exact": ("dc_exact", "command",
                 "Exact second-order DC conductivity of the fermionic-bath NESS versus Γ (and its Γ-expansion fit)."),
    "geometry": ("geometry", "command",
                 "Print per-band Chern numbers and BZ-integrated quantum metric; write a Dataset."),
    "bands": ("bands", "command",
              "Band energies along a k-path; prints band extrema at the path's points and writes a Dataset."),
    "plot": ("plot", "command",
             "Draw the standard figure of a result file (σ vs μ, χ vs ω, maps, bands, or a generic plot)."),
    "export": ("plot", "export_command",
               "Write a result file as a plain-text table with a commented header (units, conventions, version)."),
    "optical": ("optical", "command",
                "χ^{αβ}(ω) of an observable, Re (linear) and Im (circular polarization): KI, KFS, shift, injection."),
    "config-reference": ("config_reference", "command",
                         "Print the TOML configuration reference (every table, key, type and default)."),
}


class LazyGroup(click.Group):
    """A group whose subcommands are imported on first use; `--help` lists them from `COMMANDS`."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return list(COMMANDS)

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        if name not in COMMANDS:
            return None
        module, attr, _ = COMMANDS[name]
        return getattr(importlib.import_module(f".{module}", __name__), attr)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        limit = formatter.width - 6 - max(len(n) for n in COMMANDS)
        rows = [(name, _shorten(help_, limit)) for name, (_, _, help_) in COMMANDS.items()]
        with formatter.section("Commands"):
            formatter.write_dl(rows)


def _shorten(text: str, limit: int) -> str:
    """`text` cut at a word boundary to at most `limit` characters, like click's own listing."""
    if len(text) <= limit:
        return text
    return text[: limit - 3].rsplit(" ", 1)[0].rstrip(",;:") + "..."


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="qgeom")
def main() -> None:
    """qgeom: second-order responses of Bloch electrons from band quantum geometry."""
