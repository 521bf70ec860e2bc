"""Progress reporting: a bar on an interactive terminal, silent in CI or when piped."""

from __future__ import annotations

import os
import sys

from tqdm.auto import tqdm


def progress_enabled(enabled: bool | None) -> bool:
    if enabled is not None:
        return enabled
    return sys.stderr.isatty() and not os.environ.get("CI")


class ChunkProgress:
    """A bar counting finished k-chunks (in any executor; resumed chunks count as done)."""

    def __init__(self, total: int, enabled: bool | None, initial: int = 0):
        self._bar = tqdm(total=total, initial=initial, disable=not progress_enabled(enabled), unit="chunk", leave=False)

    def update(self, n: int) -> None:
        self._bar.update(n)

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self._bar.close()
