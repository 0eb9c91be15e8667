"""What the command line shows while work runs: progress bars, and the one-off compilation of the engine.

Presentation only (it prints); the library functions it calls report through callbacks and return values.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

import typer

__all__ = ["ENGINE_KERNELS", "ProgressBars", "prepare_engine"]

ENGINE_KERNELS = frozenset({"rntk", "ntk"})
"""Kernels computed by the numba engine, which compiles on first use."""


class ProgressBars:
    """tqdm bars, one per name, created on the first call so that their ETA starts with the first task."""

    def __init__(self, enabled: bool = True):
        self.enabled = enabled
        self._bars: dict[str, object] = {}

    def update(self, name: str, done: int, total: int, label: str) -> None:
        if not self.enabled:
            return
        from tqdm import tqdm

        bar = self._bars.get(name)
        if bar is None:
            self._bars[name] = tqdm(total=total, initial=done, unit="task", desc=name, dynamic_ncols=True)
        else:
            bar.update(done - bar.n)
            bar.set_postfix_str(label[:60], refresh=True)

    def callback(self, name: str) -> Callable[[int, int, str], None]:
        """``progress(done, total, label)`` for one run."""
        return lambda done, total, label: self.update(name, done, total, label)

    def named_callback(self) -> Callable[[str, int, int, str], None]:
        """``progress(run_name, done, total, label)`` for several runs."""
        return self.update

    def close(self) -> None:
        for bar in self._bars.values():
            bar.close()
        self._bars.clear()


def prepare_engine(kernel_names: Iterable[str], bars: ProgressBars | None = None) -> None:
    """Compile (or load from the on-disk cache) the numba engine before any task starts, saying so when it is
    a real compilation, so that the first task's time and the progress bar's ETA do not include it."""
    if not ENGINE_KERNELS & set(kernel_names):
        return
    from rntk_bench.kernels.engine import is_cached, warm_up

    if is_cached():
        warm_up()
        return
    typer.secho("compiling the kernel engine (once per installation, about two minutes; cached for "
                "later runs and worker processes)...", err=True, fg=typer.colors.CYAN)
    seconds = warm_up()
    typer.secho(f"compiled in {seconds:.0f} s", err=True, fg=typer.colors.CYAN)
