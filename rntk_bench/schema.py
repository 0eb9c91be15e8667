"""The one configuration schema: every key a run accepts, where it may come from, and how it is checked.

A run is configured from three places that share these keys: command-line options (``rntk-bench run``), a
run TOML file (``--config``), and the run definitions of the leaderboard (``results/leaderboard.toml``,
which add page text). :data:`FIELDS` lists every key once; :func:`read_toml` is the one TOML reader;
:func:`check_value` is the one place a value is validated. ``RunConfig`` (:mod:`rntk_bench.config`) is built
from them.
"""

from __future__ import annotations

import math
import os
import re
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rntk_bench.errors import InvalidParameterError, RunError

__all__ = [
    "BACKENDS",
    "FIELDS",
    "FILE_KEYS",
    "PAGE_KEYS",
    "Field",
    "check_keys",
    "check_value",
    "read_toml",
    "resolve_jobs",
]

BACKENDS = ("loky", "dask")


@dataclass(frozen=True)
class Field:
    """One configuration key.

    Attributes
    ----------
    name : str
        The key in TOML files and the attribute of ``RunConfig``.
    option : str or None
        The command-line option that sets it (None: files only).
    in_file : bool
        Whether run TOML files and leaderboard run definitions accept it.
    result : bool
        Whether it decides the numbers (then it is part of the run's hash and a resume must match it).
    doc : str
    """

    name: str
    option: str | None
    in_file: bool
    result: bool
    doc: str


FIELDS: tuple[Field, ...] = (
    Field("suite", "--suite", True, True, "dataset suite (demo, embedded, uci90, uci121, ucr128, ucr-small)"),
    Field("datasets", "--dataset", True, True, "a subset of the suite's datasets"),
    Field("kernels", "--kernel", True, True, "kernels to run (default: rntk, ntk, rbf, poly)"),
    Field("grid", "--grid", True, True, "[grid.KERNEL] PARAM = [values]; C = [values] sets the C grid"),
    Field("tie", None, True, True, "[tie.KERNEL] PARAM = [values]; a string value names another parameter"),
    Field("plugins", "--plugin", True, True, "kernel plugins: .py files or module names (their sha256 recorded)"),
    Field("protocol", "--protocol", True, True, "protocol of every dataset (default: each dataset's own)"),
    Field("cv_folds", "--cv-folds", True, True, "cross-validation folds on training splits (default 5)"),
    Field("seed", "--seed", True, True, "seed of the fold shuffling (default 0)"),
    Field("svc_max_iter", "--svc-max-iter", True, True, "iteration cap of every SVM fit (default 10000000)"),
    Field("series_scaling", "--series-scaling", True, True, "train-norm (default) or none: how the RNTK reads "
          "series"),
    Field("approx", "--approx", True, True, "approximate kernel features: nystroem:m=M[,sampling=S][,above=N] or "
          "ntk-features:m=M[,above=N] (default: exact Gram matrices)"),
    Field("skip_missing", "--skip-missing", True, False, "leave out datasets whose files are missing"),
    Field("data_dir", "--data-dir", False, False, "folder holding the UCR/UCI data"),
    Field("n_jobs", "--jobs", False, False, "parallel workers (-1: all cores)"),
    Field("backend", "--backend", False, False, "loky (this machine) or dask"),
    Field("scheduler", "--scheduler", False, False, "dask scheduler address tcp://HOST:PORT"),
    Field("distribute_above", "--distribute-above", False, False, "with --backend dask: Gram matrices of more "
          "rows than this are computed as tiles across the cluster (default 5000; 0: never)"),
    Field("cache_dir", "--cache-dir", False, False, "on-disk Gram cache folder"),
    Field("fail_fast", "--fail-fast", False, False, "stop at the first failing task"),
    Field("device", "--device", False, False, "where RNTK and NTK Gram matrices are computed: numba (default), "
          "auto, cpu (JAX), gpu, gpu:N"),
    Field("embedded", "--no-embedded", False, False, "bundled copies may serve datasets the data folder lacks"),
)
FILE_KEYS: tuple[str, ...] = tuple(field.name for field in FIELDS if field.in_file)
"""Keys of a run TOML file (``--config``)."""
PAGE_KEYS: tuple[str, ...] = ("title", "description")
"""Keys a leaderboard run definition adds to :data:`FILE_KEYS`."""
_BY_NAME = {field.name: field for field in FIELDS}


def read_toml(path: str | Path, what: str = "configuration file") -> dict[str, Any]:
    """Read a TOML file.

    Raises
    ------
    RunError
        The file does not exist, cannot be read, or is not valid TOML (the message names the file).
    """
    path = Path(path)
    try:
        with path.open("rb") as handle:
            return tomllib.load(handle)
    except FileNotFoundError:
        raise RunError(f"{what} {str(path)!r} does not exist") from None
    except IsADirectoryError:
        raise RunError(f"{what} {str(path)!r} is a folder, not a file") from None
    except OSError as exc:
        raise RunError(f"cannot read {what} {str(path)!r}: {exc.strerror}") from None
    except tomllib.TOMLDecodeError as exc:
        raise RunError(f"{what} {str(path)!r} is not valid TOML: {exc}") from None


def check_keys(where: str, table: Mapping[str, Any], valid: Sequence[str]) -> None:
    """Refuse keys of ``table`` that are not in ``valid``, listing the valid ones."""
    unknown = sorted(set(table) - set(valid))
    if unknown:
        raise InvalidParameterError(f"{where}: unknown key(s) {', '.join(map(repr, unknown))}; valid keys: "
                                    f"{', '.join(valid)}")


def _label(name: str, source: str | None) -> str:
    """How a message names a key: the option on the command line, ``FILE: key`` in a file."""
    if source:
        return f"{source}: {name}"
    option = _BY_NAME[name].option
    return f"{option} ({name})" if option else name


def _whole(value: Any) -> int | None:
    """``value`` as an int when it is a whole number (TOML writes 1e6 as a float), else None."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and math.isfinite(value) and value.is_integer():
        return int(value)
    return None


_ADDRESS = re.compile(r"^(?:(?:tcp|tls|ucx|ws|wss)://)?\[?[A-Za-z0-9_.:-]*[A-Za-z0-9_.-]\]?:\d{1,5}$|^inproc://\S+$")


def check_value(name: str, value: Any, source: str | None = None) -> Any:
    """Validate one scalar configuration value and return it in its canonical type.

    Parameters
    ----------
    name : str
        A key of :data:`FIELDS` (``cv_folds``, ``seed``, ``svc_max_iter``, ``n_jobs``, ``backend``,
        ``scheduler``, ``skip_missing``, ``fail_fast``, ``protocol``, ``suite``).
    value : object
    source : str, optional
        The file the value comes from (named in the message); None for the command line.

    Raises
    ------
    InvalidParameterError
        The message names the key (option or file) and the valid values.
    """
    label = _label(name, source)
    if name in ("cv_folds", "seed", "svc_max_iter", "n_jobs"):
        number = _whole(value)
        low = {"cv_folds": 2, "seed": 0, "svc_max_iter": 1}.get(name)
        if name == "n_jobs":
            if number is None or number == 0 or number < -(os.cpu_count() or 1):
                raise InvalidParameterError(f"{label} must be a whole number of workers: N >= 1, or -1 for all "
                                            f"cores (-2 all but one, ...); got {value!r}")
            return number
        if number is None or number < low:
            raise InvalidParameterError(f"{label} must be a whole number >= {low}; got {value!r}")
        if name == "seed" and number >= 2**32:
            raise InvalidParameterError(f"{label} must be below 2**32 (numpy's seed range); got {value!r}")
        return number
    if name == "distribute_above":
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise InvalidParameterError(f"{label} must be a whole number >= 0 (0: never); got {value!r}")
        return value
    if name in ("skip_missing", "fail_fast"):
        if not isinstance(value, bool):
            raise InvalidParameterError(f"{label} must be true or false; got {value!r}")
        return value
    if name == "backend":
        if value not in BACKENDS:
            raise InvalidParameterError(f"unknown backend {value!r}; choices: {', '.join(BACKENDS)}")
        return value
    if name == "scheduler":
        if not isinstance(value, str) or not _ADDRESS.match(value.strip()):
            raise InvalidParameterError(f"{label} {value!r} is not a scheduler address; expected "
                                        "tcp://HOST:PORT (e.g. tcp://127.0.0.1:8786)")
        return value.strip()
    if name == "device":
        if not isinstance(value, str) or not re.fullmatch(r"auto|numba|cpu|gpu(:\d+)?", value.strip()):
            raise InvalidParameterError(f"{label} {value!r} is not a device; choices: auto, numba, cpu, gpu, "
                                        "gpu:N")
        return value.strip()
    if name == "series_scaling":
        if value not in ("train-norm", "none"):
            raise InvalidParameterError(f"{label} must be 'train-norm' or 'none'; got {value!r}")
        return value
    if name == "approx":
        from rntk_bench.approximation import parse_approx

        spec = parse_approx(value)
        return None if spec is None else spec.label
    if name in ("suite", "protocol"):
        if not isinstance(value, str) or not value:
            raise InvalidParameterError(f"{label} must be a name (a string); got {value!r}")
        return value
    raise KeyError(name)


def resolve_jobs(n_jobs: int) -> int:
    """Workers for ``n_jobs``: N itself when positive, else joblib's convention (-1 all cores, -2 all but one)."""
    cores = os.cpu_count() or 1
    return n_jobs if n_jobs > 0 else max(1, cores + 1 + n_jobs)
