"""Export a run's predictions as tsml-eval classification results files (the tsml / aeon family's format).

``export_tsml(RUN, OUT)`` writes, for every (dataset, kernel) of the run with a result (status ``ok`` or
``partial`` in :func:`rntk_bench.results.combine`), the test predictions of the configuration the run reports
(the protocol's selected kernel setting and C) as::

    OUT/<Estimator>/Predictions/<Dataset>/testResample<k>.csv

the layout and format of tsml-eval's results files, so that tsml-eval's reader
(``tsml_eval.evaluation.storage.load_classifier_results``) and its evaluation tools
(``evaluate_classifiers_by_problem``) take them like the results of any other classifier. (aeon 1.1 reads no
predictions files: its ``aeon.benchmarking.results_loaders`` read per-estimator accuracy tables, by default
the published ones.)

Resamples
    A UCR or embedded dataset (protocol ``train-cv-test``) has one reported split, ``train-test``: the
    archive's own train/test split, written as ``testResample0`` (what the UCR archive's published results
    call resample 0). A UCI dataset under ``arora-uci`` reports four splits, ``fold-0`` .. ``fold-3`` (the four
    ``conxuntos_kfold.dat`` folds), written as ``testResample0`` .. ``testResample3``: fold ``k`` is resample
    ``k``. These are not random resamples: they are the fixed splits of the protocol, and the one selected
    configuration is scored on each.

Estimator names
    ``<KERNEL>-SVM``: the kernel's name in capitals, ``RNTK-SVM``, ``NTK-SVM``, ``RBF-SVM``, ``POLY-SVM``. A
    run that scored a dataset under a protocol other than the dataset's own (``arora-uci`` for the UCI
    collection, ``train-cv-test`` otherwise) gets the protocol appended (``RBF-SVM-train-cv-test``), and a run
    whose configuration records a ``selection`` rule other than the protocol's (``first_best``) gets the rule
    appended after it (``RNTK-SVM-vote``): the same kernel selected differently is another estimator.
    ``estimator_names={"rntk": "RNTK-SVM-ucr"}`` replaces the whole name of a kernel, suffixes included.

Format
    The format of tsml-eval's writer, field by field: ``write_results_to_tsml_format`` and
    ``write_classification_results`` in ``tsml_eval/utils/results_writing.py`` of
    time-series-machine-learning/tsml-eval (release 0.6.0; the same text at commit ``fac4c11b116e``):

    * line 1 (lines 570-580): ``dataset,estimator,TEST,resample,TIME_UNIT,description``; the split in
      capitals, the time unit in capitals (``MILLISECONDS``, what ``run_classification_experiment`` writes,
      ``tsml_eval/experiments/experiments.py`` line 316), the description free text after the fifth comma;
    * line 2 (lines 582-585): free-form parameter information (tsml-eval writes the estimator's parameters);
      here one JSON object: kernel, kernel setting, C, protocol, selection rule and score, and a note that the
      probabilities are one-hot;
    * line 3 (lines 121-131): ``accuracy,fit_time,predict_time,benchmark_time,memory_usage,n_classes,``
      ``train_estimate_method,train_estimate_time,fit_and_estimate_time``; a run keeps no per-split timings
      or memory, so those are ``-1`` (tsml-eval's "not recorded"), and the train-estimate method is ``N/A``
      as tsml-eval writes it in test files (``experiments.py`` lines 325-327);
    * lines 4 on (lines 591-614): one row per test case, ``actual,predicted,,p_0,p_1,...,p_{n_classes-1}``
      (an empty field between the predicted class and the probabilities); the optional time and description
      columns are left out.

    The reader, ``load_classifier_results`` in ``tsml_eval/evaluation/storage/classifier_results.py``
    (lines 340-448 of release 0.6.0), takes ``n_classes`` from field 6 of line 3, the cases from line 4 to
    the end (so no blank line may follow), parses the labels with ``int()``, requires every probability row
    to sum to 1 and the accuracy on line 3 to equal the accuracy of the rows exactly (``==``): the accuracy
    written is ``n_correct / n_test`` of the very rows written.

Class values
    The run stores class codes ``0 .. n_classes - 1`` (rntk-bench's ``encode_labels``: the dataset's class
    labels in sorted order, integer labels in numeric order), and these are written, as tsml-eval writes the
    codes of its label encoder. The labels themselves are not recorded in a run folder (``run.json`` keeps
    the number of classes only), so the description says that code ``i`` is the ``i``-th label in sorted
    order instead of printing tsml-eval's "Encoder dictionary".

Probabilities
    The SVMs are fitted without probability estimates, so each row's probabilities are one-hot: 1 for the
    predicted class, 0 for the others; line 2 and the description say so. Log loss and AUROC computed from
    these files are therefore those of hard predictions. tsml-eval computes the log loss without naming the
    classes, so its statistics fail on a test split that lacks one of the dataset's classes (some UCI folds,
    as for any classifier's files); ``load_classifier_results(path, calculate_stats=False)`` reads those.

Nothing is half-written: every file is built and checked in memory first; a new or empty ``OUT`` is filled
in a hidden folder beside it and renamed into place in one step. ``overwrite=True`` writes into an ``OUT``
that already holds files (for instance the export of another run), replacing the files of the same names
one by one, each atomically, and keeping the others.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import shutil
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from rntk_bench.atomic import atomic_write_text
from rntk_bench.data.dataset import default_protocol
from rntk_bench.errors import InvalidParameterError, RunError, WriteError
from rntk_bench.predictions import decode_split
from rntk_bench.protocols import get_protocol
from rntk_bench.results import REPORTABLE, combine
from rntk_bench.run_folder import TASKS_DIR, RunInfo, read_task_results, task_path

__all__ = ["TIME_UNIT", "default_estimator_name", "export_tsml", "resample_of_split"]

TIME_UNIT = "MILLISECONDS"
"""The time unit written on line 1 (tsml-eval's experiments write this one; every timing here is -1)."""

_FOLD = re.compile(r"fold-(\d+)")
_BAD_NAME = re.compile(r"[,/\\\r\n\0]")


@dataclass(frozen=True)
class _File:
    """One results file to write: where (relative to the output folder) and its text."""

    relative: Path
    text: str
    source: str


# ------------------------------------------------------------------------------------------------ names


def resample_of_split(split: str) -> int:
    """The tsml resample number of a reported split: ``train-test`` is 0, ``fold-k`` is ``k``.

    Raises
    ------
    RunError
        A split without a resample number (the message names the splits that have one).
    """
    if split == "train-test":
        return 0
    match = _FOLD.fullmatch(split)
    if match:
        return int(match.group(1))
    raise RunError(f"split {split!r} has no tsml resample number; exportable splits: train-test (resample 0), "
                   "fold-0 .. fold-3 (resamples 0 .. 3)")


def _rule_name(name: str) -> str:
    return str(name).replace("_", "-")


def default_estimator_name(kernel: str, protocol: str, collection: str, selection: str | None = None) -> str:
    """The estimator name of a kernel's results: ``<KERNEL>-SVM`` plus what sets the selection apart.

    Parameters
    ----------
    kernel : str
        The kernel's registered name (``rntk``).
    protocol : str
        The protocol its tasks ran under.
    collection : str
        The dataset's collection (``ucr``, ``uci``, ``embedded``, ...): it decides the default protocol.
    selection : str, optional
        A selection rule the run's configuration records; None: the protocol's own.

    Returns
    -------
    str
        ``RNTK-SVM``; ``RNTK-SVM-<protocol>`` for a protocol other than the dataset's own;
        ``...-<selection>`` for a selection rule other than the protocol's.
    """
    name = f"{kernel.upper()}-SVM"
    if protocol and protocol != default_protocol(collection):
        name += f"-{protocol}"
    if selection and _rule_name(selection) != _rule_name(get_protocol(protocol).select.__name__):
        name += f"-{selection}"
    return name


def _check_name(name: Any, what: str) -> str:
    if not isinstance(name, str) or not name.strip() or name in (".", "..") or _BAD_NAME.search(name):
        raise InvalidParameterError(f"{what} {name!r} cannot name a tsml results folder: it must be a non-empty "
                                    "string without commas, slashes or line breaks")
    return name


# ------------------------------------------------------------------------------------------------ export


def export_tsml(
    run_dir: str | Path,
    out_dir: str | Path,
    *,
    estimator_names: Mapping[str, str] | None = None,
    overwrite: bool = False,
) -> list[Path]:
    """Write a run's reported test predictions as tsml-eval results files (see the module docstring).

    Parameters
    ----------
    run_dir : path
        A run folder with task files that keep predictions.
    out_dir : path
        The tsml results folder; created if missing. It must be missing or empty unless ``overwrite``.
    estimator_names : mapping of str to str, optional
        Estimator name per kernel name of the run (``{"rntk": "RNTK-SVM"}``), replacing
        :func:`default_estimator_name` for that kernel.
    overwrite : bool
        Write into an ``out_dir`` that holds files, replacing those of the same names and keeping the rest.

    Returns
    -------
    list of Path
        The files written, ``out_dir/<Estimator>/Predictions/<Dataset>/testResample<k>.csv``, in the run's
        dataset and kernel order.

    Raises
    ------
    RunError
        Not a run folder, nothing to export, task files without predictions (named, with the command that
        adds them), corrupt predictions (the task file and split are named), a dataset name that cannot be
        written, or an ``out_dir`` that is not a folder or is not empty without ``overwrite``.
    InvalidParameterError
        ``estimator_names`` names a kernel the run lacks (the message lists the run's kernels), gives a name
        that cannot be written, or gives two kernels the same name.
    WriteError
        The file system refused; nothing is left half-written in a new ``out_dir``.
    """
    run_dir, out_dir = Path(run_dir), Path(out_dir)
    if not run_dir.is_dir():
        raise RunError(f"run folder {str(run_dir)!r} does not exist")
    info = RunInfo.read(run_dir)
    tasks = read_task_results(run_dir)
    if not tasks:
        raise RunError(f"{str(run_dir)!r} has no task files under {TASKS_DIR}/: nothing to export")
    kernels = list(dict.fromkeys([*info.kernel_order, *sorted({task["kernel"] for task in tasks})]))
    names = dict(estimator_names or {})
    unknown = sorted(set(names) - set(kernels))
    if unknown:
        raise InvalidParameterError(f"estimator_names names kernel(s) {', '.join(map(repr, unknown))} that run "
                                    f"{str(run_dir)!r} does not have; its kernels: {', '.join(kernels)}")
    for kernel, name in names.items():
        _check_name(name, f"the estimator name of kernel {kernel!r}")
    _check_out_dir(out_dir, overwrite)

    try:
        table = combine(tasks, info.dataset_order, info.kernel_order, info.loader_notes())
    except RunError as exc:  # corrupt predictions of a selected task: say which run
        raise RunError(f"run {str(run_dir)!r}: {exc}") from None
    table = table[table["status"].isin(REPORTABLE)]
    if table.empty:
        raise RunError(f"run {str(run_dir)!r} has no (dataset, kernel) with a result to export: every one "
                       "failed or is unfinished (see its results.csv)")
    by_id = {(task["dataset"], task["kernel_id"]): task for task in tasks if task.get("status") == "ok"}
    groups = list(table.groupby(["dataset", "kernel"], sort=False))
    winners = [by_id[(dataset, rows["kernel_id"].iloc[0])] for (dataset, _kernel), rows in groups]
    lacking = [task for task in winners if "predictions" not in task]
    if lacking:
        shown = [str(task_path(run_dir, task["dataset"], task["kernel_id"]).relative_to(run_dir))
                 for task in lacking]
        more = f" and {len(shown) - 5} more" if len(shown) > 5 else ""
        raise RunError(
            f"run {str(run_dir)!r}: {len(lacking)} selected task file(s) keep no predictions (made before "
            f"predictions were kept): {', '.join(shown[:5])}{more}; add them with `rntk-bench run --resume "
            f"--add-predictions --out {run_dir}` (same options as the run) or, for a leaderboard run, "
            "`rntk-bench leaderboard --add-predictions`, then export again"
        )

    selection = info.config.get("selection")
    files: dict[Path, _File] = {}
    for ((dataset, kernel), rows), winner in zip(groups, winners):
        protocol = winner.get("protocol") or "train-cv-test"
        estimator = names.get(kernel) or _check_name(
            default_estimator_name(kernel, protocol, winner.get("collection", ""), selection),
            f"the estimator name of kernel {kernel!r}")
        if _BAD_NAME.search(dataset) or dataset in (".", ".."):
            raise RunError(f"dataset name {dataset!r} cannot be written to a tsml results file (it holds a comma, "
                           "slash or line break)")
        for row in rows.itertuples(index=False):
            built = _results_file(run_dir, info, winner, row, estimator, selection)
            clash = files.get(built.relative)
            if clash is not None:
                raise InvalidParameterError(f"{built.source} and {clash.source} would both be written to "
                                            f"{built.relative}; give their kernels different estimator_names")
            files[built.relative] = built
    return _write(out_dir, list(files.values()), overwrite)


def _results_file(run_dir: Path, info: RunInfo, task: dict[str, Any], row: Any, estimator: str,
                  selection: str | None) -> _File:
    """The text of one results file: the selected configuration of ``task`` on the split of ``row``."""
    dataset, split = task["dataset"], row.split
    relative_task = task_path(run_dir, dataset, task["kernel_id"]).relative_to(run_dir)
    where = f"{relative_task} ({dataset} {task['kernel_id']}), split {split}"
    resample = resample_of_split(split)
    n_classes = task.get("n_classes") or (info.datasets.get(dataset) or {}).get("n_classes")
    if not n_classes:
        raise RunError(f"{where}: the number of classes is recorded neither in the task file nor in run.json")
    n_classes = int(n_classes)
    stored = task["predictions"].get(split)
    if not isinstance(stored, str):
        raise RunError(f"{where}: the task file keeps no predictions for this split")
    c_index = list(task["C_grid"]).index(row.C)
    labels = decode_split(stored, len(task["C_grid"]), int(row.n_test), n_classes, where)
    predicted = labels.predicted[c_index]
    if predicted is None:
        raise RunError(f"{where}: the selected C={row.C} (number {c_index}) has no stored predictions")
    truth = labels.truth
    n_correct = int(np.sum(predicted == truth))
    accuracy = n_correct / len(truth)
    if abs(accuracy - float(row.test_accuracy)) > 1e-9:
        raise RunError(f"{where}: the stored predictions give accuracy {accuracy}, the task file "
                       f"{row.test_accuracy}")

    protocol = task.get("protocol") or "train-cv-test"
    rule = selection or get_protocol(protocol).select.__name__
    description = (
        f"rntk-bench export of run {run_dir.resolve().name} (config {info.config_hash}): split {split} as "
        f"resample {resample}; SVC on the precomputed {task['kernel']} Gram matrix with the kernel setting and C "
        f"that protocol {protocol} selected ({rule}); class values are rntk-bench's class codes 0..{n_classes - 1}: "
        "code i is the i-th of the dataset's class labels in sorted order (integer labels numerically), the "
        "labels themselves are not recorded in the run; probabilities are one-hot on the predicted class (the "
        "SVM gives no probability estimates); timings and memory are not recorded per split (-1)"
    )
    parameters = {
        "estimator": "sklearn.svm.SVC(kernel='precomputed')",
        "kernel": task["kernel"],
        "kernel_id": task["kernel_id"],
        "params": task["params"],
        "C": row.C,
        "protocol": protocol,
        "selection": rule,
        "selection_score": row.cv_accuracy,
        "n_settings": int(row.n_settings),
        "n_failed": int(row.n_failed),
        "status": row.status,
        "n_train": int(row.n_train),
        "probabilities": "one-hot: 1 for the predicted class (SVC without probability estimates)",
        "grid_search_seconds": round(float(row.gram_seconds) + float(row.fit_seconds), 3),
    }
    lines = [
        f"{dataset},{estimator},TEST,{resample},{TIME_UNIT},{description}",
        json.dumps(parameters, default=float),
        f"{accuracy},-1,-1,-1,-1,{n_classes},N/A,-1,-1",
    ]
    one_hot = np.zeros(n_classes)
    for actual, guess in zip(truth.tolist(), predicted.tolist()):
        one_hot[guess] = 1.0
        lines.append(f"{actual},{guess},," + ",".join(str(p) for p in one_hot.tolist()))
        one_hot[guess] = 0.0
    relative = Path(estimator) / "Predictions" / dataset / f"testResample{resample}.csv"
    return _File(relative, "\n".join(lines) + "\n", where)


# ------------------------------------------------------------------------------------------------ writing


def _check_out_dir(out_dir: Path, overwrite: bool) -> None:
    if out_dir.exists() or out_dir.is_symlink():
        if not out_dir.is_dir():
            raise RunError(f"output path {str(out_dir)!r} exists and is not a folder")
        if not overwrite and any(out_dir.iterdir()):
            raise RunError(f"output folder {str(out_dir)!r} is not empty; choose another, or overwrite (replace "
                           "the files of the same names, keep the others)")


def _write(out_dir: Path, files: list[_File], overwrite: bool) -> list[Path]:
    """Write ``files`` under ``out_dir``: all at once into a new or empty folder, else file by file."""
    _check_out_dir(out_dir, overwrite)
    fresh = not out_dir.exists() or not any(out_dir.iterdir())
    if not fresh:  # what is in the way is found before anything is replaced
        for file in files:
            target = out_dir / file.relative
            if target.exists() and not target.is_file():
                raise RunError(f"cannot write {target}: a folder of that name is in the way")
            for parent in file.relative.parents:
                if (out_dir / parent).exists() and not (out_dir / parent).is_dir():
                    raise RunError(f"cannot write {target}: {out_dir / parent} is a file, not a folder")
    staging_parent = out_dir.parent if fresh else out_dir
    try:
        staging_parent.mkdir(parents=True, exist_ok=True)
        staging = staging_parent / f".{out_dir.name}.{secrets.token_hex(6)}.tmp"
        staging.mkdir()
    except OSError as exc:
        raise WriteError(exc.errno, f"cannot write {out_dir}: {exc.strerror or exc}") from None
    try:
        for file in files:
            atomic_write_text(staging / file.relative, file.text)
        if fresh:
            try:
                os.rename(staging, out_dir)  # POSIX renames over an empty folder in one step
            except FileExistsError:  # elsewhere the empty folder goes first
                out_dir.rmdir()
                os.rename(staging, out_dir)
        else:
            for file in files:
                target = out_dir / file.relative
                target.parent.mkdir(parents=True, exist_ok=True)
                os.replace(staging / file.relative, target)
    except WriteError:
        raise
    except OSError as exc:
        raise WriteError(exc.errno, f"cannot write {out_dir}: {exc.strerror or exc}") from None
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return [out_dir / file.relative for file in files]
