"""``python -m rntk_bench.field import SOURCE [--target DIR]``: import the published figures.

The only part of :mod:`rntk_bench.field` that prints: one line per file written, or the error on stderr
with exit status 1 (as the ``rntk-bench`` command does for library errors).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from rntk_bench.errors import RntkBenchError
from rntk_bench.field.importer import import_references
from rntk_bench.field.sources import FIELD_DIR


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status (0, 1 for a library error, 2 for bad usage)."""
    parser = argparse.ArgumentParser(prog="python -m rntk_bench.field", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    run = commands.add_parser("import", help="import ../shared/references into datasets/field")
    run.add_argument("source", help="the reference folder, e.g. ../shared/references")
    run.add_argument("--target", default=str(FIELD_DIR), help=f"output folder (default: {FIELD_DIR})")
    args = parser.parse_args(argv)
    try:
        written = import_references(args.source, args.target)
    except RntkBenchError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    for path in written:
        print(f"wrote {path} ({path.stat().st_size} bytes)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
