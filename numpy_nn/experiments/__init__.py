"""Experiments at scale: grids of independent runs (experiment × seed × framework) on local
worker processes or a Dask cluster, a results store that loses nothing, and statistics.

The engine never imports this package; this package uses only numpy_nn's public API.
Dask (the ``cluster`` extra) is imported only when a scheduler address is given, SciPy only
by :mod:`numpy_nn.experiments.stats`, tqdm only to draw the progress line.

Quick start (local workers are spawned interpreters, so a script needs the ``__main__``
guard)::

    from numpy_nn.experiments import expand_grid, run_grid
    if __name__ == "__main__":
        tasks = expand_grid("numpy_nn.experiments.mlp:train_mlp", base={"epochs": 5},
                            grid={"activation": ["relu", "selu"]}, seeds=range(5))
        summary = run_grid(tasks, "results/activations")    # or scheduler="tcp://host:8786"

or from the shell, ``python -m numpy_nn.experiments run grid.json --results DIR``.
"""
from numpy_nn.experiments.runner import (
    RunSummary,
    make_executor,
    resolve_scheduler,
    run_grid,
)
from numpy_nn.experiments.store import ResultsStore, deterministic_part
from numpy_nn.experiments.tasks import Task, expand_grid, task_id
from numpy_nn.experiments.worker import cached, execute, setup_worker, weights_digest

__all__ = [
    "ResultsStore",
    "RunSummary",
    "Task",
    "cached",
    "deterministic_part",
    "execute",
    "expand_grid",
    "make_executor",
    "resolve_scheduler",
    "run_grid",
    "setup_worker",
    "task_id",
    "weights_digest",
]
