"""Downloading datasets from their publishers into a data directory, atomically.

- UCR: one zip per dataset from timeseriesclassification.com (``<base>/<Name>.zip``, holding
  ``<Name>_TRAIN.ts`` and ``<Name>_TEST.ts``), installed as ``UCRArchive_2018/<Name>/``.
- UCI: the Fernandez-Delgado archive ``data.tar.gz`` (all 121 datasets at once), installed as
  ``fernandez-delgado/<name>/``.

Every download goes to a temporary folder inside the data directory; the archive is hashed, compared with a
known checksum (``datasets/download_checksums.csv``) or, when none is recorded, with the checksum recorded at
the first download into this data directory (``.rntk-downloads.sha256``; trust on first use), unpacked,
parsed and checked against the metadata tables, and only then renamed into place. An interrupted or
corrupt download therefore never leaves a dataset folder behind. Base URLs can be overridden by argument or
by the environment variables ``RNTK_BENCH_UCR_URL`` and ``RNTK_BENCH_UCI_URL``.

Library code never prints: progress is reported through an optional callback
``progress(label, bytes_done, bytes_total_or_None)``.
"""

from __future__ import annotations

import csv
import http.client
import os
import shutil
import tarfile
import tempfile
import urllib.error
import urllib.request
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from rntk_bench.data.checksums import write_sums
from rntk_bench.data.locations import UCI_FOLDER, UCR_FOLDER, check_data_dir, resolve_data_dir
from rntk_bench.data.suites import SUITES, TABLES_DIR, UCI_TABLE, UCR_TABLE
from rntk_bench.errors import DatasetError, RntkBenchError

UCR_URL_ENV = "RNTK_BENCH_UCR_URL"
UCI_URL_ENV = "RNTK_BENCH_UCI_URL"
DEFAULT_UCR_URL = "https://timeseriesclassification.com/aeon-toolkit"
DEFAULT_UCI_URL = "http://persoal.citius.usc.es/manuel.fernandez.delgado/papers/jmlr/data.tar.gz"
RECORD_NAME = ".rntk-downloads.sha256"
KNOWN_CHECKSUMS = TABLES_DIR / "download_checksums.csv"

Progress = Callable[[str, int, "int | None"], None]


@dataclass
class FetchResult:
    """Outcome of a fetch.

    Attributes
    ----------
    installed : list of str
        Datasets newly written to the data directory.
    present : list of str
        Datasets already there (or embedded), left untouched.
    failed : dict of str to str
        Datasets that could not be installed, with the reason.
    """

    installed: list[str] = field(default_factory=list)
    present: list[str] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)


def ucr_base_url(base_url: str | None = None) -> str:
    return (base_url or os.environ.get(UCR_URL_ENV) or DEFAULT_UCR_URL).rstrip("/")


def uci_archive_url(url: str | None = None) -> str:
    return url or os.environ.get(UCI_URL_ENV) or DEFAULT_UCI_URL


def download(url: str, target: Path, progress: Progress | None = None, timeout: float = 60.0) -> str:
    """Stream ``url`` into ``target`` and return its SHA-256; a short or failed transfer raises.

    The caller owns ``target``'s folder and removes it on failure (it is a temporary folder).
    """
    import hashlib

    digest = hashlib.sha256()
    done, total = 0, None
    label = url.rsplit("/", 1)[-1]
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response, open(target, "wb") as out:
            length = response.headers.get("Content-Length")
            total = int(length) if length and length.isdigit() else None
            while True:
                block = response.read(1 << 16)
                if not block:
                    break
                out.write(block)
                digest.update(block)
                done += len(block)
                if progress is not None:
                    progress(label, done, total)
    except urllib.error.HTTPError as exc:
        raise DatasetError(f"download of {url} failed: HTTP {exc.code} {exc.reason}") from None
    except urllib.error.URLError as exc:
        raise DatasetError(f"download of {url} failed: {exc.reason}") from None
    except (http.client.IncompleteRead, ConnectionError, TimeoutError, OSError) as exc:
        raise DatasetError(
            f"download of {url} interrupted after {done} bytes ({type(exc).__name__}); nothing was installed, "
            "run the command again"
        ) from None
    if total is not None and done != total:
        raise DatasetError(
            f"download of {url} interrupted after {done} of {total} bytes; nothing was installed, "
            "run the command again"
        )
    if done == 0:
        raise DatasetError(f"download of {url} returned no data")
    return digest.hexdigest()


def _known_checksums() -> dict[str, str]:
    if not KNOWN_CHECKSUMS.is_file():
        return {}
    with open(KNOWN_CHECKSUMS, newline="", encoding="utf-8") as f:
        return {row["archive"]: row["sha256"].lower() for row in csv.DictReader(f) if row.get("sha256")}


def _recorded(root: Path) -> dict[str, str]:
    path = root / RECORD_NAME
    if not path.is_file():
        return {}
    pairs = (line.split(None, 1) for line in path.read_text(encoding="utf-8").splitlines() if line.strip())
    return {key.strip(): digest for digest, key in pairs}


def check_archive(root: Path, key: str, digest: str) -> None:
    """Compare an archive's checksum with the known or first-recorded one; record it if it is the first."""
    known = _known_checksums().get(key)
    if known is not None and known != digest:
        raise DatasetError(
            f"{key}: SHA-256 {digest} differs from the published {known} "
            f"({KNOWN_CHECKSUMS.name}); nothing was installed"
        )
    recorded = _recorded(root).get(key)
    if recorded is not None and recorded != digest:
        raise DatasetError(
            f"{key}: SHA-256 {digest} differs from the one recorded at the first download ({recorded}, in "
            f"{root / RECORD_NAME}); the publisher changed the file or the transfer is corrupt; nothing was "
            "installed (delete that line to accept the new file)"
        )
    if known is None and recorded is None:
        with open(root / RECORD_NAME, "a", encoding="utf-8") as f:
            f.write(f"{digest}  {key}\n")


def _safe_members(names: list[str], archive: Path) -> None:
    for name in names:
        parts = Path(name).parts
        if Path(name).is_absolute() or ".." in parts:
            raise DatasetError(f"{archive}: unsafe member path {name!r}; nothing was installed")


def _unpack(archive: Path, into: Path) -> None:
    try:
        if zipfile.is_zipfile(archive):
            with zipfile.ZipFile(archive) as z:
                _safe_members(z.namelist(), archive)
                z.extractall(into)
            return
        with tarfile.open(archive) as t:
            members = t.getmembers()
            _safe_members([m.name for m in members], archive)
            files = [m for m in members if m.isfile() or m.isdir()]
            t.extractall(into, members=files)
    except (zipfile.BadZipFile, tarfile.TarError, EOFError, OSError) as exc:
        raise DatasetError(f"{archive.name}: corrupt archive ({exc}); nothing was installed") from None


def target_dir(data_dir: str | Path | None) -> Path:
    """The data directory a fetch writes to, checked (it may not exist yet) and created."""
    root = check_data_dir(resolve_data_dir(data_dir), must_exist=False)
    try:
        root.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise DatasetError(f"data folder {str(root)!r} cannot be created ({exc.strerror or exc})") from None
    return root


def _staging(root: Path) -> tempfile.TemporaryDirectory:
    try:
        return tempfile.TemporaryDirectory(prefix=".rntk-fetch-", dir=root)
    except OSError as exc:
        raise DatasetError(f"data folder {str(root)!r} is not writable ({exc.strerror or exc})") from None


def fetch_ucr(
    name: str,
    data_dir: str | Path | None = None,
    base_url: str | None = None,
    progress: Progress | None = None,
    force: bool = False,
) -> Path:
    """Download UCR dataset ``name`` and install it as ``UCRArchive_2018/<name>/``.

    Returns
    -------
    Path
        The installed folder.

    Raises
    ------
    DatasetError
        Network failure, interrupted transfer, checksum mismatch, corrupt archive, or files that do not
        parse or do not match the metadata. Nothing is installed then.
    """
    from rntk_bench.data.catalog import check_against_metadata
    from rntk_bench.data.ucr import load_ucr

    root = target_dir(data_dir)
    final = root / UCR_FOLDER / name
    if final.exists() and not force:
        return final
    url = f"{ucr_base_url(base_url)}/{name}.zip"
    with _staging(root) as tmp:
        tmp = Path(tmp)
        archive = tmp / f"{name}.zip"
        digest = download(url, archive, progress)
        _unpack(archive, tmp / "unpacked")
        found = {}
        for part in ("TRAIN", "TEST"):
            for suffix in (".ts", ".tsv"):
                hits = sorted((tmp / "unpacked").rglob(f"{name}_{part}{suffix}"))
                if hits:
                    found[part] = hits[0]
                    break
        if len(found) != 2 or found["TRAIN"].suffix != found["TEST"].suffix:
            raise DatasetError(
                f"{url}: the archive holds no {name}_TRAIN.ts / {name}_TEST.ts pair; nothing was installed"
            )
        staged = tmp / "root" / UCR_FOLDER / name
        staged.mkdir(parents=True)
        files = [shutil.move(str(path), staged / path.name) for path in found.values()]
        dataset = load_ucr(tmp / "root", name)
        entry = UCR_TABLE.get(name)
        if entry is not None:
            check_against_metadata(dataset, entry, url)
        check_archive(root, f"ucr/{name}.zip", digest)
        write_sums(staged, [Path(f) for f in files])
        _install(staged, final)
    return final


def _install(staged: Path, final: Path) -> None:
    """Rename ``staged`` to ``final`` (replacing an old copy only once the new one is complete)."""
    final.parent.mkdir(parents=True, exist_ok=True)
    if final.exists():
        old = final.with_name(f".{final.name}.old")
        shutil.rmtree(old, ignore_errors=True)
        os.replace(final, old)
        os.replace(staged, final)
        shutil.rmtree(old, ignore_errors=True)
    else:
        os.replace(staged, final)


def fetch_uci(
    data_dir: str | Path | None = None,
    url: str | None = None,
    progress: Progress | None = None,
    names: list[str] | None = None,
    force: bool = False,
) -> FetchResult:
    """Download the Fernandez-Delgado archive and install its datasets under ``fernandez-delgado/``.

    Parameters
    ----------
    names : list of str, optional
        Install only these datasets (default: every dataset in the archive).

    Returns
    -------
    FetchResult
        Each dataset is checked with the loader and installed on its own; one that fails is listed in
        ``failed`` and not installed.
    """
    from rntk_bench.data.catalog import check_against_metadata
    from rntk_bench.data.uci import load_uci

    root = target_dir(data_dir)
    result = FetchResult()
    url = uci_archive_url(url)
    with _staging(root) as tmp:
        tmp = Path(tmp)
        archive = tmp / "data.tar.gz"
        digest = download(url, archive, progress)
        _unpack(archive, tmp / "unpacked")
        folders = sorted(p.parent for p in (tmp / "unpacked").rglob("*.txt") if p.stem == p.parent.name)
        if not folders:
            raise DatasetError(f"{url}: no <name>/<name>.txt dataset folders in the archive; nothing was installed")
        check_archive(root, "uci/data.tar.gz", digest)
        wanted = set(names) if names else None
        for folder in folders:
            name = folder.name
            if wanted is not None and name not in wanted:
                continue
            final = root / UCI_FOLDER / name
            if final.exists() and not force:
                result.present.append(name)
                continue
            staged_root = tmp / "root"
            staged = staged_root / UCI_FOLDER / name
            staged.parent.mkdir(parents=True, exist_ok=True)
            os.replace(folder, staged)
            try:
                dataset = load_uci(staged_root, name)
                entry = UCI_TABLE.get(name)
                if entry is not None:
                    check_against_metadata(dataset, entry, url)
            except RntkBenchError as exc:
                result.failed[name] = str(exc)
                continue
            write_sums(staged, [p for p in staged.iterdir() if p.is_file()])
            _install(staged, final)
            result.installed.append(name)
        if wanted is not None:
            for name in sorted(wanted - set(result.installed) - set(result.present) - set(result.failed)):
                result.failed[name] = "not in the archive"
    return result


def fetch(
    target: str,
    data_dir: str | Path | None = None,
    ucr_url: str | None = None,
    uci_url: str | None = None,
    progress: Progress | None = None,
    force: bool = False,
    embedded: bool = True,
) -> FetchResult:
    """Fetch a dataset or every dataset of a suite (``target`` is a dataset or suite name).

    With ``embedded=False`` the UCR sets that sktime bundles are downloaded too, so that the data directory
    holds them itself (for runs that read the data directory alone); scikit-learn's sets, which have no
    download, are then reported in ``failed``.

    Embedded datasets and datasets already in the data directory are left as they are. A dataset folder
    that is there but broken (a file missing) is reported in ``failed`` and left untouched, unless ``force``
    replaces it. UCI datasets all come from one archive, downloaded once per call.
    """
    from rntk_bench.data.catalog import dataset_available, resolve
    from rntk_bench.data.embedded import SKLEARN_SETS

    data_dir = target_dir(data_dir)
    if target in SUITES:
        entries = [(e.name, e.collection) for e in SUITES[target].entries]
    else:
        collection, base = resolve(target, data_dir)
        entries = [(target, collection)]
    result = FetchResult()
    uci_wanted = []
    for name, collection in entries:
        base = name.partition(":")[2] or name
        # sktime's bundled UCR sets count as present: the bundled copy is the archive's data and split
        if collection == "embedded":
            if embedded:
                result.present.append(name)
                continue
            if base in SKLEARN_SETS:
                result.failed[name] = ("bundled with scikit-learn only: there is nothing to download into a data "
                                       "folder")
                continue
            collection = "ucr"  # sktime's copy of a set from timeseriesclassification.com
        if not force:
            try:
                present = dataset_available(name, data_dir, embedded=embedded)
            except DatasetError as exc:  # a broken copy: replaced only with force
                result.failed[name] = str(exc)
                continue
            if present:
                result.present.append(name)
                continue
        if collection == "uci":
            uci_wanted.append(base)
        else:
            try:
                fetch_ucr(base, data_dir, ucr_url, progress, force)
                result.installed.append(name)
            except DatasetError as exc:
                result.failed[name] = str(exc)
    if uci_wanted:
        try:
            uci = fetch_uci(data_dir, uci_url, progress, names=uci_wanted, force=force)
        except DatasetError as exc:
            uci = FetchResult(failed={name: str(exc) for name in uci_wanted})
        key = {n.partition(":")[2] or n: n for n, _ in entries}
        result.installed += [key.get(n, n) for n in uci.installed]
        result.present += [key.get(n, n) for n in uci.present]
        result.failed |= {key.get(n, n): why for n, why in uci.failed.items()}
    return result
