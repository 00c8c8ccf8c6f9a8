"""The results store: one JSON file per task in a folder, written atomically.

``<folder>/<task id>.json`` holds the task's record
(see :func:`numpy_nn.experiments.worker.execute`): configuration, seed, framework, library
versions, the host name and process id of the worker that ran it, the per-epoch history, final
metrics, seconds per epoch, and ``status`` ``"ok"`` or ``"failed"`` with the traceback.

Nothing is ever half-written: a record is written to a temporary file in the same folder,
flushed and fsync'ed, then renamed over its final name (``os.replace`` is atomic), so a
killed process leaves either the whole record or none (at most a stray temporary file, which
readers ignore and :meth:`ResultsStore.remove_stale_temporaries` deletes).

The folder is also the merge point: parts of a grid run at different times or on different
machines are combined by copying their record files into one folder (names never collide,
because they are the tasks' ids). Records load with :mod:`json` only, never pickle.
"""
from __future__ import annotations

import json
import os

from numpy_nn.io_utils import atomic_write

__all__ = ["ResultsStore", "deterministic_part"]

#: Record keys that describe where and when a task ran, not what it computed.
CIRCUMSTANTIAL_KEYS = ("host", "pid", "started", "seconds", "seconds_per_epoch", "versions",
                       "threads")


class ResultsStore:
    """A folder of task records, keyed by task id."""

    def __init__(self, folder):
        self.folder = os.fspath(folder)
        os.makedirs(self.folder, exist_ok=True)

    def path(self, task_id: str) -> str:
        return os.path.join(self.folder, f"{task_id}.json")

    def write(self, record: dict) -> str:
        """Write ``record`` atomically as ``<id>.json`` (replacing an earlier failed one)."""
        path = self.path(record["id"])
        text = json.dumps(record, indent=1, sort_keys=True)
        with atomic_write(path, "w") as handle:
            handle.write(text + "\n")
        return path

    def load(self, task_id: str) -> dict | None:
        try:
            with open(self.path(task_id), encoding="utf-8") as handle:
                return json.load(handle)
        except FileNotFoundError:
            return None

    def status(self, task_id: str) -> str | None:
        """``"ok"``, ``"failed"`` or None (never run)."""
        record = self.load(task_id)
        return None if record is None else record.get("status")

    def finished(self, task_id: str) -> bool:
        return self.status(task_id) == "ok"

    def ids(self) -> list[str]:
        return sorted(name[:-5] for name in os.listdir(self.folder)
                      if name.endswith(".json") and not name.startswith("."))

    def records(self, status: str | None = None):
        """Every record in the folder (optionally only ``"ok"`` or ``"failed"`` ones)."""
        for task_id in self.ids():
            record = self.load(task_id)
            if record is not None and (status is None or record.get("status") == status):
                yield record

    def temporaries(self) -> list[str]:
        return sorted(name for name in os.listdir(self.folder)
                      if name.startswith(".") and name.endswith(".tmp"))

    def remove_stale_temporaries(self) -> list[str]:
        """Delete temporary files a killed writer left (only when no other driver writes
        into this folder right now)."""
        removed = self.temporaries()
        for name in removed:
            try:
                os.unlink(os.path.join(self.folder, name))
            except FileNotFoundError:
                pass
        return removed


def deterministic_part(record: dict) -> dict:
    """The record without where/when it ran: two runs of one task with the same seed are
    bit-identical exactly when these parts are equal."""
    return {key: value for key, value in record.items() if key not in CIRCUMSTANTIAL_KEYS}
