"""qgeom: second-order responses of Bloch electrons from band quantum geometry."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("qgeom")
except PackageNotFoundError:  # running from a source tree without installation
    __version__ = "0.0.0+unknown"

from ._validation import QgeomInputError  # noqa: E402

__all__ = ["QgeomInputError", "__version__"]
