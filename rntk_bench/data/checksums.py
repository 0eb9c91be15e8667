"""SHA-256 checksums: hashing files, reading ``SHA256SUMS`` lists and verifying a data directory.

A data directory may hold a ``SHA256SUMS`` file at its root (paths relative to the root, as in the
project's read-only benchmark copy) and one in each dataset folder that ``rntk-bench datasets fetch``
installed (paths relative to that folder). Lines have the ``sha256sum`` format ``<hex>  <path>``.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path

from rntk_bench.data.locations import check_data_dir
from rntk_bench.errors import DatasetError

SUMS_NAME = "SHA256SUMS"


def sha256_file(path: Path, chunk: int = 1 << 20) -> str:
    """Hex SHA-256 of a file."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(chunk):
            digest.update(block)
    return digest.hexdigest()


def read_sums(path: Path) -> list[tuple[str, Path]]:
    """Parse a ``SHA256SUMS`` file into ``(hex, path relative to its folder)`` pairs."""
    pairs = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip() or line.startswith("#"):
            continue
        digest, _, name = line.strip().partition(" ")
        name = name.strip().lstrip("*")
        if len(digest) != 64 or any(c not in "0123456789abcdefABCDEF" for c in digest) or not name:
            raise DatasetError(f"{path}, line {number}: expected '<sha256 hex>  <path>'")
        pairs.append((digest.lower(), Path(name)))
    return pairs


def write_sums(folder: Path, files: list[Path]) -> Path:
    """Write ``folder/SHA256SUMS`` for ``files`` (paths inside ``folder``); returns its path."""
    lines = [f"{sha256_file(f)}  {f.relative_to(folder).as_posix()}\n" for f in sorted(files)]
    target = folder / SUMS_NAME
    target.write_text("".join(lines), encoding="utf-8")
    return target


@dataclass
class VerifyReport:
    """What :func:`verify_data_dir` checked.

    Attributes
    ----------
    sums_files : list of Path
        The ``SHA256SUMS`` files read.
    checked : int
        Files whose checksum matched.
    failures : list of (Path, str)
        Files that are missing or whose checksum differs, with the reason.
    """

    sums_files: list[Path] = field(default_factory=list)
    checked: int = 0
    failures: list[tuple[Path, str]] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.failures and bool(self.sums_files)


def verify_data_dir(root: Path, names: list[str] | None = None) -> VerifyReport:
    """Check every file listed in the ``SHA256SUMS`` files of data directory ``root``.

    Parameters
    ----------
    root : Path
    names : list of str, optional
        Only check files inside the folders of these datasets.

    Raises
    ------
    DatasetError
        ``root`` is not an existing, readable folder (see :func:`~rntk_bench.data.locations.check_data_dir`).
    """
    root = check_data_dir(root)
    sums = [root / SUMS_NAME] if (root / SUMS_NAME).is_file() else []
    sums += sorted(root.glob(f"*/*/{SUMS_NAME}"))
    report = VerifyReport(sums_files=sums)
    wanted = set(names or [])
    for sums_path in sums:
        for digest, relative in read_sums(sums_path):
            target = (sums_path.parent / relative).resolve()
            if wanted:
                dataset_folder = target.parent.name
                if dataset_folder not in wanted:
                    continue
            if not target.is_file():
                report.failures.append((target, "missing"))
            elif sha256_file(target) != digest:
                report.failures.append((target, "checksum differs"))
            else:
                report.checked += 1
    return report
