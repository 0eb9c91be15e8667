"""Planning a run: the configuration expanded into tasks, their cost, the groups that share Gram parts, and the
order in which they start. Everything here is decided once, before any task runs, and used as planned.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import asdict, dataclass, replace
from typing import Any

from rntk_bench.approximation import parse_approx
from rntk_bench.config import RunConfig
from rntk_bench.data.dataset import Dataset
from rntk_bench.errors import RntkBenchError
from rntk_bench.gram_store import stored_part_ids
from rntk_bench.kernels import KERNELS, get_kernel
from rntk_bench.protocols import SVC_MAX_ITER, get_protocol, grid_training_input, protocol_input
from rntk_bench.run_data import Loader
from rntk_bench.run_folder import now

__all__ = ["Plan", "Task", "execution_order", "plan_tasks", "sharing_groups", "task_cost"]


@dataclass(frozen=True)
class Task:
    """One unit of work: one kernel setting on one dataset, scored for every C and split."""

    dataset: str
    suite: str
    collection: str
    protocol: str
    kernel: str
    kernel_id: str
    params: dict[str, Any]
    setting_index: int
    n_settings: int
    C_grid: tuple[float, ...]
    cv_folds: int
    seed: int
    svc_max_iter: int = SVC_MAX_ITER
    series_scaling: str = "train-norm"
    approx: str = ""
    """Canonical ``--approx`` text when this task fits on approximate features (``""``: exact Gram matrices)."""
    cost: float = 0.0
    shared: tuple[str, ...] = ()
    """Ids of the settings whose Gram files this task reads or writes in the run's parts folder
    (:func:`rntk_bench.gram_store.stored_part_ids`); empty when it shares nothing with the other tasks of
    its dataset and one pass computes nothing else, in which case it computes its Gram blocks directly."""

    @property
    def key(self) -> tuple[str, str]:
        """``(dataset, kernel_id)``: what identifies a task's result in a run folder."""
        return (self.dataset, self.kernel_id)

    @property
    def label(self) -> str:
        return f"{self.dataset} {self.kernel_id}"

    def describe(self) -> dict[str, Any]:
        """The task's identity, as stored in its result file."""
        data = asdict(self)
        data.pop("cost")
        data.pop("shared")
        if not self.approx:  # exact tasks keep the file layout of runs made before the option existed
            data.pop("approx")
        data["C_grid"] = list(self.C_grid)
        return data


def task_cost(dataset: Dataset, kernel: str, params: dict[str, Any]) -> float:
    """Rough relative cost of a task (Gram work), for :func:`execution_order`."""
    n = float(len(dataset.y))
    if KERNELS[kernel].cost is not None:  # the kernel's own hint
        cost = float(KERNELS[kernel].cost(len(dataset.y), int(dataset.info.max_length)))
    elif KERNELS[kernel].input_kind == "sequence":
        length = float(dataset.info.max_length)
        directions = 2 if params.get("direction") == "bidirectional" else 1
        steps = length * (1 + (params.get("output") == "mean") * length)  # mean pooling: every pair of steps
        cost = n * n * steps * int(params.get("n_layers", 1)) * directions
    else:
        cost = n * n
    siblings = KERNELS[kernel].siblings
    if siblings is not None and KERNELS[kernel].batch is not None:
        together = siblings(dict(params))
        if len(together) > 1 and dict(params) != together[0]:
            cost *= 0.01  # computed in the pass of the first sibling, which starts earlier: read back
    return cost


def sharing_groups(tasks: Sequence[Task]) -> list[list[Task]]:
    """Tasks joined when they share a Gram file (an id of ``Task.shared`` on the same dataset), transitively.

    Returns
    -------
    list of list of Task
        In order of each group's first task; a task that shares nothing is a group of its own.
    """
    parent = list(range(len(tasks)))

    def root(index: int) -> int:
        while parent[index] != index:
            parent[index] = parent[parent[index]]
            index = parent[index]
        return index

    owner: dict[tuple[str, str], int] = {}
    for index, task in enumerate(tasks):
        for part in task.shared:
            first = owner.setdefault((task.dataset, part), index)
            parent[root(index)] = root(first)
    groups: dict[int, list[Task]] = {}
    for index, task in enumerate(tasks):
        groups.setdefault(root(index), []).append(task)
    return list(groups.values())


def _dataset_order(tasks: Sequence[Task], n_jobs: int) -> list[Task]:
    """One dataset's tasks: ``n_jobs`` sharing groups at a time, costliest groups first.

    In each batch the groups' producers (their costliest task, which computes the shared parts) start first,
    one per worker; then come the readers, first those of the group whose producer is cheapest, since it
    finishes first. A group's parts are deleted after its last reader, so at most about ``n_jobs`` groups'
    files are on disk at once.
    """
    groups = sorted(sharing_groups(tasks), key=lambda group: -sum(task.cost for task in group))
    order: list[Task] = []
    for start in range(0, len(groups), n_jobs):
        batch = [sorted(group, key=lambda task: -task.cost) for group in groups[start:start + n_jobs]]
        order += [group[0] for group in batch]
        for group in sorted(batch, key=lambda group: group[0].cost):
            order += group[1:]
    return order


def execution_order(tasks: Sequence[Task], n_jobs: int = 1) -> list[Task]:
    """The order in which tasks are started: datasets by increasing total cost, within a dataset by groups.

    A dataset's result exists only once every setting of a kernel has finished, so finishing datasets one
    after another (the cheap ones first) makes an interrupted or still-running run report as many datasets
    as possible. Within a dataset the slowest tasks start first, so the workers finish it together, except
    that tasks sharing Gram parts (:func:`sharing_groups`) run as a group, ``n_jobs`` groups at a time: the
    part files of one group are all that is kept on disk per worker.
    """
    totals: dict[str, float] = {}
    by_dataset: dict[str, list[Task]] = {}
    for task in tasks:
        totals[task.dataset] = totals.get(task.dataset, 0.0) + task.cost
        by_dataset.setdefault(task.dataset, []).append(task)
    order: list[Task] = []
    for name in sorted(totals, key=lambda name: totals[name]):
        order += _dataset_order(by_dataset[name], max(1, int(n_jobs)))
    return order


def _planning_failure(config: RunConfig, dataset: str, kernel: str, exc: Exception, stage: str) -> dict[str, Any]:
    """A task result for a (dataset, kernel) that could not even be planned (loading or grid expansion)."""
    return {
        "dataset": dataset, "suite": config.suite, "collection": "", "protocol": "", "kernel": kernel,
        "kernel_id": f"{kernel}[{stage}]", "params": {}, "setting_index": 0, "n_settings": 1,
        "C_grid": list(config.kernel(kernel).C), "cv_folds": config.cv_folds, "seed": config.seed,
        "status": "error", "error": f"{stage}: {type(exc).__name__}: {exc}", "finished": now(),
    }


def _keep_shared(tasks: Sequence[Task]) -> list[Task]:
    """One dataset's tasks, each keeping ``shared`` only if it shares a file: with another task (the
    forward RNTK is a part of the bidirectional one) or with a sibling its pass computes too."""
    users = Counter(part for task in tasks for part in task.shared)
    # more than one id: parts or siblings, shared whatever else runs (gram_store.shares_grams)
    return [task if len(task.shared) > 1 or any(users[part] > 1 for part in task.shared)
            else replace(task, shared=()) for task in tasks]


@dataclass
class Plan:
    """What :func:`plan_tasks` decided.

    Attributes
    ----------
    tasks : list of Task
        In result order (dataset, kernel, setting).
    inputs : dict
        Per dataset: collection, protocol, sizes, loader notes and what each kernel input kind did to the data
        (recorded in ``run.json``).
    failures : list of dict
        Error results of (dataset, kernel) pairs that could not be planned (dataset not loadable, protocol not
        applicable, grid not expandable on it).
    """

    tasks: list[Task]
    inputs: dict[str, Any]
    failures: list[dict[str, Any]]

    @property
    def keys(self) -> set[tuple[str, str]]:
        """Every planned ``(dataset, kernel_id)``, failures included."""
        return {task.key for task in self.tasks} | {(f["dataset"], f["kernel_id"]) for f in self.failures}


def plan_tasks(config: RunConfig, loader: Loader) -> Plan:
    """Expand the configuration into tasks; each dataset is loaded once here to expand data-scaled grids.

    The protocol of each dataset (the run's, else the dataset's default) is decided here and carried by its
    tasks. With ``config.fail_fast`` a planning error is raised instead of recorded.
    """
    tasks: list[Task] = []
    inputs: dict[str, Any] = {}
    failures: list[dict[str, Any]] = []
    approx = parse_approx(config.approx)
    for name in config.datasets:
        try:
            dataset = loader(name)
            protocol = get_protocol(config.protocol or dataset.default_protocol)
            protocol.check(dataset)
        except RntkBenchError as exc:
            if config.fail_fast:
                raise
            failures.extend(_planning_failure(config, name, grid.name, exc, "load") for grid in config.kernels)
            inputs[name] = {"error": str(exc)}
            continue
        described: dict[str, Any] = {
            "collection": dataset.collection,
            "protocol": protocol.name,
            "n_cases": len(dataset.y),
            "n_classes": len(dataset.class_labels),
            "splits": [split.name for split in dataset.splits],
            "loader_notes": list(dataset.notes),
            "kernel_inputs": {},
        }
        planned: list[Task] = []
        n_rows = protocol.n_rows(dataset) if approx is not None else 0  # rows of its Gram matrix
        for grid in config.kernels:
            spec = KERNELS[grid.name]
            try:
                prepared = protocol_input(dataset, spec.input_kind, protocol, config.series_scaling)
                settings = grid.settings(grid_training_input(dataset, prepared.X, protocol))
            except RntkBenchError as exc:
                if config.fail_fast:
                    raise
                failures.append(_planning_failure(config, name, grid.name, exc, "grid"))
                continue
            described["kernel_inputs"][grid.name] = list(prepared.notes)
            approximated = approx is not None and approx.applies(grid.name, n_rows)
            if approximated:
                described["kernel_inputs"][grid.name].append(f"approximate features: {approx.label}")
            for index, params in enumerate(settings):
                kernel = get_kernel(grid.name, **params)
                planned.append(Task(
                    dataset=name,
                    suite=config.suite,
                    collection=dataset.collection,
                    protocol=protocol.name,
                    kernel=grid.name,
                    kernel_id=f"{kernel.id} ~{approx.label}" if approximated else kernel.id,
                    params=dict(kernel.params),
                    setting_index=index,
                    n_settings=len(settings),
                    C_grid=grid.C,
                    cv_folds=config.cv_folds,
                    seed=config.seed,
                    svc_max_iter=config.svc_max_iter,
                    series_scaling=config.series_scaling,
                    approx=approx.label if approximated else "",
                    cost=task_cost(dataset, grid.name, kernel.params),
                    # features are computed per task; only exact Gram blocks are shared through the parts folder
                    shared=() if approximated else stored_part_ids(grid.name, kernel.params),
                ))
        tasks += _keep_shared(planned)
        inputs[name] = described
    return Plan(tasks, inputs, failures)
