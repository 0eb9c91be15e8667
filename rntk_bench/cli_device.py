"""``--device`` on the command line: resolved once, with a note when it cannot be met as asked."""

from __future__ import annotations

import typer

__all__ = ["leaderboard_device", "settle_device"]


def settle_device(run_config):
    """Resolve ``--device`` once, saying where the Gram matrices will be computed when it is not as asked; a
    GPU is driven from this process (one worker), as several processes would each claim its memory."""
    import dataclasses

    if run_config.device == "numba":
        return run_config
    from rntk_bench.kernels.accel import resolve_device

    device, message = resolve_device(run_config.device)
    if message:
        typer.secho(f"note: {message}", err=True, fg=typer.colors.YELLOW)
    changes = {"device": str(device)}
    if device.platform == "gpu" and run_config.n_jobs > 1 and run_config.backend == "loky":
        typer.secho(f"note: --device {device} computes in this process: --jobs {run_config.n_jobs} becomes 1",
                    err=True, fg=typer.colors.YELLOW)
        changes["n_jobs"] = 1
    return dataclasses.replace(run_config, **changes)


def leaderboard_device(name: str | None, n_jobs: int) -> tuple[str, int]:
    """``--device`` of the leaderboard command, resolved once as for ``run`` (:func:`settle_device`)."""
    from rntk_bench.config import RunConfig
    from rntk_bench.schema import check_value

    settled = settle_device(RunConfig(device=check_value("device", name or "numba"), n_jobs=n_jobs))
    return settled.device, settled.n_jobs
