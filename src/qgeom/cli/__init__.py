"""Command line: `qgeom <command> ...`. Each command lives in its own module."""

from __future__ import annotations

import click

from .. import __version__
from . import bands, dc, dc_exact, geometry, optical, plot

_COMMANDS = [dc.command, dc_exact.command, geometry.command, bands.command, plot.command, plot.export_command, optical.command]


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="qgeom")
def main() -> None:
    """qgeom: second-order responses of Bloch electrons from band quantum geometry."""


for _cmd in _COMMANDS:
    main.add_command(_cmd)
