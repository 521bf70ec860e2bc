"""Run configurations (TOML or CLI flags) validated with pydantic before any computation.

Errors name the field and the allowed values. Model parameters are numbers only; nothing is
ever evaluated.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictFloat, StrictInt, ValidationError, field_validator

from ._validation import QgeomInputError
from .models.base import Model
from .models.library import MODELS

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib


class ModelConfig(BaseModel):
    """Which model: a library name with keyword parameters (numbers or booleans)."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)
    name: str
    parameters: dict[str, StrictFloat | StrictInt | StrictBool] = Field(default_factory=dict)

    @field_validator("name")
    @classmethod
    def _known(cls, v: str) -> str:
        if v not in MODELS:
            raise ValueError(f"unknown model {v!r}; allowed: {', '.join(sorted(MODELS))}")
        return v

    def build(self) -> Model:
        try:
            return MODELS[self.name](**self.parameters)
        except TypeError as exc:
            raise QgeomInputError(f"model {self.name!r}: {exc}") from None


def format_validation_error(exc: ValidationError, source: str) -> str:
    lines = [f"invalid configuration in {source}:"]
    for err in exc.errors():
        loc = ".".join(str(x) for x in err["loc"]) or "(top level)"
        lines.append(f"  - {loc}: {err['msg']}")
    return "\n".join(lines)


def read_toml(path: str | Path) -> dict[str, Any]:
    path = Path(path)
    if not path.is_file():
        raise QgeomInputError(f"config file {str(path)!r} does not exist.")
    try:
        with open(path, "rb") as f:
            return tomllib.load(f)
    except tomllib.TOMLDecodeError as exc:
        raise QgeomInputError(f"config file {str(path)!r} is not valid TOML: {exc}.") from None


def validate(schema: type[BaseModel], data: dict[str, Any], source: str) -> BaseModel:
    try:
        return schema.model_validate(data)
    except ValidationError as exc:
        raise QgeomInputError(format_validation_error(exc, source)) from None
