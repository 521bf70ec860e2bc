"""qgeom: second-order responses of Bloch electrons from band quantum geometry."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("qgeom")
except PackageNotFoundError:  # running from a source tree without installation
    __version__ = "0.0.0+unknown"

__all__ = ["QgeomInputError", "QgeomWarning", "__version__"]


def __getattr__(name: str):
    # lazy, so that `import qgeom` (and `qgeom --version`) does not import numpy
    if name in ("QgeomInputError", "QgeomWarning"):
        from . import _validation

        return getattr(_validation, name)
    raise AttributeError(f"module 'qgeom' has no attribute {name!r}")
