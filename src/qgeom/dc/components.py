"""Tensor-component labels ("xyy", …) ↔ index triples, validated against the model dimension."""

from __future__ import annotations

from itertools import product

import numpy as np

from .._validation import QgeomInputError

AXES = "xyz"


def parse_components(components, dim: int) -> list[str]:
    """Normalize `components` (a string "xyy", a comma list "xyy,yxx", a sequence, or "all")."""
    if isinstance(components, str):
        components = ["".join(c) for c in product(AXES[:dim], repeat=3)] if components == "all" else components.split(",")
    labels = [c.strip().lower() for c in components]
    allowed = AXES[:dim]
    for c in labels:
        if len(c) != 3 or any(ch not in allowed for ch in c):
            raise QgeomInputError(
                f"component {c!r} is not valid for a {dim}D model: use three letters from {allowed!r} "
                f"(e.g. {allowed[0] * 3!r}), or 'all'."
            )
    if not labels:
        raise QgeomInputError("no tensor components requested.")
    return list(dict.fromkeys(labels))


def component_indices(labels: list[str]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    idx = np.array([[AXES.index(ch) for ch in c] for c in labels])
    return idx[:, 0], idx[:, 1], idx[:, 2]
