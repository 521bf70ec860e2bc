"""Reading run configurations (TOML). The tables are validated by the command schemas of
`qgeom.cli` (`cli/tables.py`, `cli/model_loader.py`); nothing is ever evaluated."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from ._validation import QgeomInputError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib


def read_toml(path: str | Path) -> dict[str, Any]:
    path = Path(path)
    if not path.is_file():
        raise QgeomInputError(f"config file {str(path)!r} does not exist.")
    try:
        with open(path, "rb") as f:
            return tomllib.load(f)
    except tomllib.TOMLDecodeError as exc:
        raise QgeomInputError(f"config file {str(path)!r} is not valid TOML: {exc}.") from None
