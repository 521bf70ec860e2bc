"""Tensor-component labels ("xyy", …) ↔ index triples, validated against the model dimension."""

from __future__ import annotations

from itertools import product

import numpy as np

from .._validation import QgeomInputError

AXES = "xyz"


def parse_labels(components, dim: int, rank: int, hint: str) -> list[str]:
    """Normalize index labels of `rank` letters from the model's axes: a string ("xyy"), a comma list
    ("xyy,yxx"), a sequence, with "all" (alone or as an entry, as the command line's comma lists give it)
    for every combination; `hint` ends the error message for an invalid label."""
    if isinstance(components, str):
        components = components.split(",")
    elif not isinstance(components, (list, tuple, np.ndarray)):  # 123, None: not a label nor a list of labels
        raise QgeomInputError(f"components must be a string of axis letters ('xyy', 'xyy,yxx', 'all') or a list "
                              f"of such strings, got {components!r}; {hint}")
    every = ["".join(c) for c in product(AXES[:dim], repeat=rank)]
    labels = []
    for c in components:
        c = str(c).strip().lower()
        labels += every if c == "all" else [c]
    allowed = AXES[:dim]
    for c in labels:
        if len(c) != rank or any(ch not in allowed for ch in c):
            raise QgeomInputError(f"component {c!r} is not valid for {hint}")
    if not labels:
        raise QgeomInputError("no tensor components requested.")
    return list(dict.fromkeys(labels))


def parse_components(components, dim: int) -> list[str]:
    """Normalize `components` of σ_abc (a string "xyy", a comma list "xyy,yxx", a sequence, or "all")."""
    allowed = AXES[:dim]
    return parse_labels(components, dim, 3, f"a {dim}D model: use three letters from {allowed!r} "
                                            f"(e.g. {allowed[0] * 3!r}), or 'all'.")


def component_indices(labels: list[str]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    idx = np.array([[AXES.index(ch) for ch in c] for c in labels])
    return idx[:, 0], idx[:, 1], idx[:, 2]
