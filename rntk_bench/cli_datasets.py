"""``rntk-bench datasets ...``: list, inspect, fetch and verify datasets.

Thin: each command calls :mod:`rntk_bench.data` functions and prints their results.
"""

from __future__ import annotations

from pathlib import Path

import typer

from rntk_bench.cli_errors import friendly_errors

datasets_app = typer.Typer(help="List, inspect, fetch and verify datasets.", no_args_is_help=True)

DataDirOption = typer.Option(
    None, "--data-dir", help="Data directory (default: $RNTK_BENCH_DATA, else the per-user cache)."
)

NamesArgument = typer.Argument(None, help="Only these datasets (default: all).")

EmbeddedOption = typer.Option(
    True, "--embedded/--no-embedded",
    help="Whether the copies bundled with sktime and scikit-learn count (--no-embedded: the data directory alone).",
)


def _length(entry) -> str:
    if entry.min_length is None:
        return "vary"
    if entry.min_length == entry.max_length:
        return str(entry.max_length)
    return f"{entry.min_length}-{entry.max_length}"


@datasets_app.command("list")
@friendly_errors
def list_command(
    suite: str | None = typer.Option(None, "--suite", "-s", help="Only this suite (demo, uci90, ...)."),
    data_dir: Path | None = DataDirOption,
    embedded: bool = EmbeddedOption,
) -> None:
    """Table of datasets: sizes, length or features, classes, and where they are read from.

    Status: available (in the data directory), embedded (a bundled copy), missing, or broken (a folder in the
    data directory with a file missing; the reasons follow the table).
    """
    from rntk_bench.data import SUITES, dataset_source, get_suite
    from rntk_bench.data.catalog import missing_hint
    from rntk_bench.data.locations import checked_data_dir
    from rntk_bench.errors import DatasetError

    if suite is not None:
        entries = list(get_suite(suite).entries)
    else:
        seen: dict[str, object] = {}
        for name in ("embedded", "ucr128", "uci121"):
            for entry in SUITES[name].entries:
                seen.setdefault(entry.name, entry)
        entries = list(seen.values())
    root = checked_data_dir(data_dir)
    typer.echo(f"data directory: {root}")
    header = (f"{'name':32s} {'collection':10s} {'train':>6s} {'test':>6s} {'length':>10s} {'ch':>3s} "
              f"{'classes':>7s}  status")
    typer.echo(header)
    typer.echo("-" * len(header))
    missing, broken = [], []
    for entry in entries:
        try:
            source = dataset_source(entry.name, data_dir, embedded=embedded)
        except DatasetError as exc:
            broken.append(str(exc))
            status = "broken"
        else:
            status = "missing" if source is None else ("embedded" if source.kind == "embedded" else "available")
            if source is None:
                missing.append(entry.name)
        typer.echo(
            f"{entry.name:32s} {entry.collection:10s} {entry.n_train:>6d} {entry.n_test:>6d} "
            f"{_length(entry):>10s} {entry.n_channels:>3d} {entry.n_classes:>7d}  {status}"
        )
    n_available = len(entries) - len(missing) - len(broken)
    typer.echo(f"{len(entries)} datasets, {n_available} available, {len(missing)} missing, {len(broken)} broken")
    if missing:
        typer.echo("Missing datasets: " + missing_hint([]).rstrip(": ") + ".")
    for why in broken:
        typer.secho(f"broken: {why}", err=True, fg=typer.colors.RED)
    if any(entry.collection == "uci" for entry in entries):
        typer.echo("UCI rows: train = rows of the first data file, test = rows of its predefined test file.")


@datasets_app.command("info")
@friendly_errors
def info_command(name: str = typer.Argument(..., help="Dataset name, e.g. GunPoint, abalone, iris, uci:iris."),
                 data_dir: Path | None = DataDirOption, embedded: bool = EmbeddedOption) -> None:
    """Source, shape, classes, splits and notes of one dataset."""
    import numpy as np

    from rntk_bench.data import load_dataset
    from rntk_bench.data.catalog import canonical_name, expected_entry, locate, resolve
    from rntk_bench.data.embedded import SKLEARN_SETS
    from rntk_bench.errors import DatasetNotFoundError

    collection, base = resolve(name, data_dir)
    try:
        source = locate(name, data_dir, embedded=embedded)
    except DatasetNotFoundError as exc:
        entry = expected_entry(collection, base)
        typer.echo(f"{canonical_name(collection, base)}: not available")
        typer.echo(f"  {exc}")
        if entry is not None:
            typer.echo(f"  expected: {entry.n_cases} cases, {entry.n_classes} classes, length {_length(entry)}")
        return
    ds = load_dataset(name, data_dir, embedded=embedded)
    info = ds.info
    typer.echo(f"{ds.name} ({ds.collection})")
    typer.echo(f"  source     {source}")
    typer.echo(f"  cases      {info.n_cases}")
    typer.echo(f"  channels   {info.n_channels}")
    vectors = ds.collection == "uci" or base in SKLEARN_SETS
    span = f"{info.min_length}" + ("" if info.min_length == info.max_length else f"..{info.max_length}")
    typer.echo(f"  {'features' if vectors else 'length':10s} {span}")
    counts = np.bincount(ds.y, minlength=info.n_classes)
    labels = ", ".join(f"{label}: {count}" for label, count in zip(ds.class_labels.tolist(), counts.tolist()))
    typer.echo(f"  classes    {info.n_classes} ({labels})")
    typer.echo(f"  unequal    {info.unequal_length}")
    typer.echo(f"  missing    {info.has_missing}")
    for split in ds.splits:
        typer.echo(f"  split      {split.name}: train {len(split.train)}, test {len(split.test)}")
    for note in ds.notes:
        typer.echo(f"  note       {note}")


@datasets_app.command("fetch")
@friendly_errors
def fetch_command(
    target: str = typer.Argument(..., help="A dataset name (GunPoint, abalone) or a suite (ucr128, uci121)."),
    data_dir: Path | None = DataDirOption,
    force: bool = typer.Option(False, "--force", help="Download again even if the dataset is present (replaces a "
                               "broken dataset folder)."),
    embedded: bool = typer.Option(True, "--embedded/--no-embedded", help="--no-embedded: download the UCR sets "
                                  "that sktime bundles too, so that the data directory holds them itself."),
) -> None:
    """Download datasets from their publishers into the data directory (atomic, checksummed)."""
    from tqdm import tqdm

    from rntk_bench.data.fetch import fetch, target_dir

    bars: dict[str, tqdm] = {}

    def progress(label: str, done: int, total: int | None) -> None:
        bar = bars.get(label)
        if bar is None:
            bar = bars[label] = tqdm(total=total, unit="B", unit_scale=True, desc=label, leave=False)
        bar.update(done - bar.n)

    root = target_dir(data_dir)
    typer.echo(f"data directory: {root}")
    try:
        result = fetch(target, data_dir, progress=progress, force=force, embedded=embedded)
    finally:
        for bar in bars.values():
            bar.close()
    typer.echo(f"installed {len(result.installed)}, already present {len(result.present)}, "
               f"failed {len(result.failed)}")
    for name in result.installed:
        typer.echo(f"  installed  {name}")
    for name, why in result.failed.items():
        typer.secho(f"  failed     {name}: {why}", err=True, fg=typer.colors.RED)
    if result.failed:
        raise typer.Exit(code=1)


@datasets_app.command("verify")
@friendly_errors
def verify_command(
    names: list[str] | None = NamesArgument,
    data_dir: Path | None = DataDirOption,
) -> None:
    """Check the files of the data directory against its SHA256SUMS lists."""
    from rntk_bench.data.checksums import verify_data_dir
    from rntk_bench.data.locations import checked_data_dir
    from rntk_bench.errors import DatasetError

    root = checked_data_dir(data_dir)
    report = verify_data_dir(root, names)
    if not report.sums_files:
        raise DatasetError(f"no SHA256SUMS file in {root}; nothing to verify")
    for path, why in report.failures:
        typer.secho(f"  {why}: {path}", err=True, fg=typer.colors.RED)
    typer.echo(f"{root}: {report.checked} files match, {len(report.failures)} bad "
               f"({len(report.sums_files)} SHA256SUMS files)")
    if report.failures:
        raise typer.Exit(code=1)
