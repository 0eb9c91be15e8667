"""The one exception family raised by rntk-bench library code.

The command-line interface turns any :class:`RntkBenchError` into a one-line message and exit code 1;
everything else is a bug and keeps its traceback.
"""

from __future__ import annotations


class RntkBenchError(Exception):
    """Base class of every error rntk-bench raises on purpose."""


class InvalidParameterError(RntkBenchError, ValueError):
    """A kernel, grid or command option got an unknown name or a value out of range."""


class InvalidInputError(RntkBenchError, ValueError):
    """Input data has the wrong shape, type or values (NaN, inf, unequal lengths where equal are needed)."""


class DatasetError(RntkBenchError):
    """A dataset file is missing, corrupt or inconsistent with its metadata."""


class DatasetNotFoundError(DatasetError):
    """A known dataset is not in the data directory; the message says how to fetch it."""


class RunError(RntkBenchError):
    """A benchmark run cannot start or continue (bad configuration, unwritable folder, resume mismatch)."""


class WriteError(RntkBenchError, OSError):
    """A result file could not be written (full disk, no permission); the message names the file.

    Also an :class:`OSError`, so code that handles file-system errors handles it too.
    """

    def __str__(self) -> str:
        return self.strerror or super().__str__()


class PluginError(RntkBenchError):
    """A kernel plugin cannot be used: missing, failing to import, registering nothing or a clashing name, or
    registering a kernel that breaks the kernel contract; the message names the plugin."""
