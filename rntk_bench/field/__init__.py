"""Published results of other time-series classifiers on the UCR datasets ("the field").

Two sources, imported once from ``../shared/references`` into ``datasets/field`` and read from there:

- the UCR archive's summary table (Dau et al. 2019): 1-NN with Euclidean distance, with DTW at the learned
  window and with DTW at a full window, as ``"1NN-ED (archive)"``, ``"1NN-DTW-learned (archive)"`` and
  ``"1NN-DTW-full (archive)"``;
- the bake off redux (Middlehurst et al. 2024), resample 0 (the official split), 40 classifiers under their
  published names (``"ROCKET"``, ``"HC2"``, ``"1NN-DTW"``, ...).

>>> from rntk_bench.field import FIELD_DEFAULT, field_accuracy, field_source
>>> table = field_accuracy(FIELD_DEFAULT, ["GunPoint"])
>>> round(float(table.at["GunPoint", "1NN-DTW-learned (archive)"]), 4)
0.9133
>>> field_source("ROCKET")
'published: Middlehurst et al. 2024, bake off redux, resample 0'

Re-import with ``python -m rntk_bench.field import ../shared/references``.
"""

from rntk_bench.field.importer import import_references
from rntk_bench.field.reader import (
    archive_dtw_window,
    field_accuracy,
    field_citation,
    field_names,
    field_source,
    read_archive_table,
    read_bakeoff_table,
)
from rntk_bench.field.sources import ARCHIVE_CLASSIFIERS, FIELD_DEFAULT, FIELD_DIR, VARIANT_OF, FieldSource

__all__ = [
    "ARCHIVE_CLASSIFIERS",
    "FIELD_DEFAULT",
    "FIELD_DIR",
    "VARIANT_OF",
    "FieldSource",
    "archive_dtw_window",
    "field_accuracy",
    "field_citation",
    "field_names",
    "field_source",
    "import_references",
    "read_archive_table",
    "read_bakeoff_table",
]
