r"""Tasks: what one run of an experiment is, as plain, JSON-able configuration.

A task names the function that runs it and the configuration it is called with::

    Task(entry="examples.reproduce:run_task",
         config={"experiment": "leaky_relu", "framework": "numpy_nn", "seed": 3, "quick": True})

Nothing else travels to a worker: no arrays, no models, no pickled closures. The worker
imports ``entry`` (``"package.module:function"``), loads the data it needs once per process
(:func:`numpy_nn.experiments.worker.cached`), and calls ``function(config)``.

A task's identity is a hash of its entry and configuration,

.. math:: \mathrm{id} = \mathrm{sha256}\big(\mathrm{json}(\{entry, config\},
          \text{sorted keys, no spaces})\big)_{[0:20]},

so the same command always produces the same ids: that is how a re-run finds the tasks it
already finished (:class:`numpy_nn.experiments.store.ResultsStore`). ``name`` is only a label.

An entry function returns a dict with (all optional) ``history`` (per-epoch lists),
``metrics`` (final numbers), ``seconds_per_epoch`` (list) and any other JSON-able keys.
"""
from __future__ import annotations

import hashlib
import importlib
import itertools
import json
from dataclasses import dataclass, field

__all__ = ["Task", "canonical_json", "expand_grid", "resolve_entry", "task_id"]


def canonical_json(value) -> str:
    """The one spelling of ``value`` the ids are computed from (sorted keys, no spaces)."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=True,
                      allow_nan=False)


def task_id(entry: str, config: dict) -> str:
    """The stable hash naming a task (and its record file)."""
    digest = hashlib.sha256(canonical_json({"entry": entry, "config": config}).encode("ascii"))
    return digest.hexdigest()[:20]


@dataclass(frozen=True)
class Task:
    """One independent run: ``entry(config)`` on some worker."""

    entry: str
    config: dict = field(default_factory=dict)
    name: str = ""

    def __post_init__(self):
        if not isinstance(self.entry, str) or ":" not in self.entry:
            raise ValueError(f"Task: entry must be 'package.module:function', got {self.entry!r}")
        if not isinstance(self.config, dict):
            raise TypeError(f"Task: config must be a dict, got {type(self.config).__name__}")
        try:
            canonical_json(self.config)
        except (TypeError, ValueError) as error:
            raise ValueError(f"Task: config must be JSON-able (str keys; str, number, bool, "
                             f"None, list, dict values; no NaN): {error}") from None
        if not self.name:
            object.__setattr__(self, "name", _default_name(self.config))

    @property
    def id(self) -> str:
        return task_id(self.entry, self.config)

    def to_dict(self) -> dict:
        """What is sent to a worker."""
        return {"id": self.id, "entry": self.entry, "config": self.config, "name": self.name}

    @classmethod
    def from_dict(cls, data: dict) -> Task:
        return cls(entry=data["entry"], config=data.get("config", {}), name=data.get("name", ""))


def _default_name(config):
    parts = [str(config[key]) for key in ("experiment", "framework") if key in config]
    if "seed" in config:
        parts.append(f"seed={config['seed']}")
    return "/".join(parts) or canonical_json(config)[:60]


def expand_grid(entry: str, base: dict | None = None, grid: dict | None = None,
                seeds=(0,), name: str | None = None) -> list[Task]:
    """Every combination of ``grid``'s values (a dict of lists) on top of ``base``, times every
    seed, as tasks. The order is the grid's (seeds innermost), so tasks sharing data run close
    together and a worker's dataset cache is reused."""
    base = dict(base or {})
    grid = dict(grid or {})
    for key, values in grid.items():
        if not isinstance(values, (list, tuple)) or not values:
            raise ValueError(f"expand_grid: grid[{key!r}] must be a non-empty list, got "
                             f"{values!r}")
    keys = list(grid)
    tasks = []
    for combination in itertools.product(*(grid[key] for key in keys)):
        for seed in seeds:
            config = dict(base, **dict(zip(keys, combination)), seed=int(seed))
            label = ",".join(f"{key}={value}" for key, value in zip(keys, combination))
            prefix = f"{name}/" if name else ""
            tasks.append(Task(entry, config, name=f"{prefix}{label}/seed={seed}".replace(
                "//", "/").lstrip("/")))
    return tasks


def resolve_entry(entry: str):
    """The function ``"package.module:function"`` names (imported on the worker)."""
    module_name, _, qualname = entry.partition(":")
    module = importlib.import_module(module_name)
    target = module
    for part in qualname.split("."):
        target = getattr(target, part)
    if not callable(target):
        raise TypeError(f"task entry {entry!r} is not callable")
    return target
