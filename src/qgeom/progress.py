"""Progress reporting: a bar on an interactive terminal, silent in CI or when piped."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterable, Iterator
from typing import TypeVar

from tqdm.auto import tqdm

T = TypeVar("T")


def progress_enabled(enabled: bool | None) -> bool:
    if enabled is not None:
        return enabled
    return sys.stderr.isatty() and not os.environ.get("CI")


def progress_bar(items: Iterable[T], *, total: int | None, enabled: bool | None, unit: str) -> Iterator[T]:
    yield from tqdm(items, total=total, disable=not progress_enabled(enabled), unit=unit, leave=False)
