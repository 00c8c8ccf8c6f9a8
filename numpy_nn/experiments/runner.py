"""Run a grid of independent tasks through one seam, into a results store.

:func:`run_grid` skips the tasks whose record in the results folder says ``ok``, sends the
others to an executor, and writes each record (atomically, by the driver) as soon as it comes
back. The executors differ only in where :func:`numpy_nn.experiments.worker.execute` runs:

``"serial"``
    in this process, one task after another (a reference for the others, and for debugging);
``"local"`` (the default)
    a pool of worker processes on this machine, one per core, each limited to one thread
    (``concurrent.futures.ProcessPoolExecutor``, started with ``spawn``, so a worker is a
    fresh interpreter like a Dask worker; each exits if the driver dies);
``"dask"``
    an existing Dask distributed cluster, ``scheduler="tcp://HOST:8786"`` or the
    ``DASK_SCHEDULER_ADDRESS`` environment variable, started by the user with
    ``dask scheduler`` and ``dask worker tcp://HOST:8786 --nthreads 1 --nworkers N`` on any
    number of machines. Dask is imported only here, and only for this executor.

What travels: to a worker, the task's configuration (a few hundred bytes of JSON-able
dict); back, its record (the history and metrics, a few kilobytes). Workers load their data
themselves, once per process. The records are written by the driver, so workers need no
shared file system, and the results folder on the driver's machine holds everything.

A killed driver loses only the tasks in flight: re-running the same command skips every
task with an ``ok`` record. A lost worker loses only its task in flight, which is run again
elsewhere (Dask reschedules it; the local pool is restarted for the unfinished tasks).
"""
from __future__ import annotations

import os
import sys
import time
from dataclasses import dataclass, field

from numpy_nn.experiments.progress import Progress, last_line
from numpy_nn.experiments.store import ResultsStore
from numpy_nn.experiments.tasks import Task
from numpy_nn.experiments.worker import RECORD_SCHEMA, execute, setup_worker

__all__ = [
    "DaskExecutor",
    "LocalExecutor",
    "RunSummary",
    "SerialExecutor",
    "make_executor",
    "resolve_scheduler",
    "run_grid",
]

SCHEDULER_ENVIRONMENT = "DASK_SCHEDULER_ADDRESS"
#: How often the live line refreshes the running count while waiting, in seconds.
POLL_SECONDS = 1.0


def resolve_scheduler(scheduler=None):
    """The Dask scheduler address to use: ``scheduler`` if given, else
    ``$DASK_SCHEDULER_ADDRESS``, else None (run locally)."""
    return scheduler or os.environ.get(SCHEDULER_ENVIRONMENT) or None


# =============================================================================== executors
class SerialExecutor:
    """Runs each task in this process."""

    description = "serial, in this process"
    slots = 1

    def __init__(self):
        setup_worker()

    def run(self, tasks, on_running=None):
        for task in tasks:
            if on_running:
                on_running(1)
            yield task, execute(task)

    def close(self):
        pass


class LocalExecutor:
    """A pool of ``workers`` local processes (default: one per core)."""

    #: A pool whose worker died is restarted for the unfinished tasks this many times.
    max_restarts = 3

    def __init__(self, workers=None):
        from concurrent.futures import ProcessPoolExecutor
        self._pool_class = ProcessPoolExecutor
        self.slots = int(workers or os.cpu_count() or 1)
        if self.slots < 1:
            raise ValueError(f"LocalExecutor: workers must be >= 1, got {workers!r}")
        self.description = f"{self.slots} local worker process(es), one thread each"
        self._pool = None

    def _new_pool(self):
        import multiprocessing
        return self._pool_class(max_workers=self.slots,
                                mp_context=multiprocessing.get_context("spawn"),
                                initializer=setup_worker, initargs=(os.getpid(),))

    def run(self, tasks, on_running=None):
        from concurrent.futures import FIRST_COMPLETED, wait
        from concurrent.futures.process import BrokenProcessPool
        pending = list(tasks)
        restarts = 0
        while pending:
            self._pool = self._new_pool()
            futures = {self._pool.submit(execute, task): task for task in pending}
            pending = []
            while futures:
                if on_running:
                    on_running(min(len(futures), self.slots))
                done, _ = wait(futures, timeout=POLL_SECONDS, return_when=FIRST_COMPLETED)
                for future in done:
                    task = futures.pop(future)
                    try:
                        yield task, future.result()
                    except BrokenProcessPool as error:
                        if restarts < self.max_restarts:
                            pending.append(task)
                        else:
                            yield task, lost_record(task, error)
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None
            restarts += 1

    def close(self):
        if self._pool is not None:
            self._pool.shutdown(wait=False, cancel_futures=True)
            self._pool = None


class DaskExecutor:
    """The tasks on a Dask distributed cluster (``dask.distributed.Client(address)``)."""

    def __init__(self, address, timeout=30):
        try:
            from distributed import Client
        except ImportError:
            raise ImportError("running on a Dask cluster needs Dask: pip install "
                              "'numpy_nn[cluster]'") from None
        self.address = address
        self.client = Client(address, timeout=timeout)
        workers = self.client.scheduler_info()["workers"]
        self.slots = max(1, sum(worker.get("nthreads", 1) for worker in workers.values()))
        self.description = (f"Dask cluster {address}: {len(workers)} worker(s), {self.slots} "
                            f"thread(s); dashboard {self.dashboard_link}")

    @property
    def dashboard_link(self):
        try:
            return self.client.dashboard_link
        except Exception:          # noqa: BLE001 - a scheduler without a dashboard
            return "(none)"

    def _running(self, keys):
        try:
            processing = self.client.processing()
        except Exception:          # noqa: BLE001 - only the live line depends on it
            return None
        return sum(1 for tasks in processing.values() for key in tasks if key in keys)

    def run(self, tasks, on_running=None):
        from distributed import as_completed
        futures = {}
        for task in tasks:
            future = self.client.submit(execute, task, key=f"numpy_nn-task-{task['id']}",
                                        pure=False)
            futures[future] = task
        keys = {future.key for future in futures}
        completed = as_completed(list(futures))
        last_poll = 0.0
        remaining = len(futures)
        while remaining:
            if on_running and time.perf_counter() - last_poll > POLL_SECONDS:
                running = self._running(keys)
                if running is not None:
                    on_running(running)
                last_poll = time.perf_counter()
            batch = completed.next_batch(block=False)
            if not batch:
                time.sleep(0.05)
                continue
            for future in batch:
                remaining -= 1
                task = futures.pop(future)
                keys.discard(future.key)
                try:
                    yield task, future.result()
                except Exception as error:      # noqa: BLE001 - e.g. KilledWorker
                    yield task, lost_record(task, error)
                future.release()

    def close(self):
        self.client.close()


def lost_record(task, error):
    """A failed record for a task whose worker was lost (the task itself did not raise)."""
    import socket
    import traceback
    return {"schema": RECORD_SCHEMA, "id": task["id"], "name": task["name"],
            "entry": task["entry"], "config": task["config"], "seed": task["config"].get("seed"),
            "framework": task["config"].get("framework", "numpy_nn"), "status": "failed",
            "error": "worker lost: " + "".join(traceback.format_exception(error)),
            "host": socket.gethostname(), "pid": None, "history": {}, "metrics": {},
            "seconds_per_epoch": [], "extra": {}, "seconds": None, "versions": {}}


def make_executor(executor=None, scheduler=None, workers=None):
    """``executor`` ("serial", "local", "dask") or, when None, Dask if a scheduler address is
    given (argument or ``$DASK_SCHEDULER_ADDRESS``) and local processes otherwise."""
    scheduler = resolve_scheduler(scheduler)
    if executor is None:
        executor = "dask" if scheduler else "local"
    if executor == "serial":
        return SerialExecutor()
    if executor == "local":
        return LocalExecutor(workers)
    if executor == "dask":
        if not scheduler:
            raise ValueError("executor='dask' needs scheduler='tcp://HOST:PORT' or "
                             f"${SCHEDULER_ENVIRONMENT}")
        return DaskExecutor(scheduler)
    raise ValueError(f"executor must be 'serial', 'local' or 'dask', got {executor!r}")


# =============================================================================== the grid
@dataclass
class RunSummary:
    total: int
    skipped: int = 0
    ok: int = 0
    failed: list = field(default_factory=list)       # [(name, id, last error line)]
    seconds: float = 0.0
    executor: str = ""
    workers: set = field(default_factory=set)        # {"host:pid"} that ran this run's tasks

    def __str__(self):
        head = (f"{self.total} task(s): {self.skipped} already done, {self.ok} ok, "
                f"{len(self.failed)} failed, in {self.seconds:.1f} s on {self.executor}")
        lines = [head]
        lines += [f"  FAILED {name} ({task_id}): {error}" for name, task_id, error in self.failed]
        return "\n".join(lines)


def run_grid(tasks, results, scheduler=None, workers=None, executor=None, verbose=False,
             progress=True, file=None) -> RunSummary:
    """Run every task of ``tasks`` (:class:`Task` objects or their dicts) whose record in the
    results folder ``results`` is not ``ok``; return a :class:`RunSummary`.

    ``scheduler``/``executor``/``workers`` choose the seam (see :func:`make_executor`).
    Failed tasks are recorded with their traceback and named in the summary; they do not
    stop the grid, and a re-run tries them again.
    """
    store = results if isinstance(results, ResultsStore) else ResultsStore(results)
    start = time.perf_counter()
    task_dicts, seen = [], set()
    for task in tasks:
        task = task if isinstance(task, Task) else Task.from_dict(task)
        if task.id not in seen:           # the same configuration twice is one task
            seen.add(task.id)
            task_dicts.append(task.to_dict())
    statuses = {task["id"]: store.status(task["id"]) for task in task_dicts}
    to_run = [task for task in task_dicts if statuses[task["id"]] != "ok"]
    summary = RunSummary(total=len(task_dicts), skipped=len(task_dicts) - len(to_run))
    file = file or sys.stderr
    if not to_run:
        summary.executor = "nothing to run"
        if progress:
            print(summary, file=file, flush=True)
        return summary
    store.remove_stale_temporaries()
    runner = make_executor(executor, scheduler, workers)
    summary.executor = runner.description
    if progress:
        print(f"Running {len(to_run)} task(s) on {runner.description}; results in "
              f"{store.folder}", file=file, flush=True)
    bar = Progress(len(to_run), summary.skipped,
                   sum(1 for task in to_run if statuses[task["id"]] == "failed"),
                   enabled=progress, verbose=verbose, file=file)
    try:
        for task, record in runner.run(to_run, on_running=bar.set_running):
            store.write(record)
            bar.task_done(record)
            if record["status"] == "ok":
                summary.ok += 1
            else:
                summary.failed.append((task["name"], task["id"], last_line(record["error"])))
            if record.get("pid") is not None:
                summary.workers.add(f"{record.get('host')}:{record.get('pid')}")
    finally:
        bar.set_running(0)
        bar.close()
        runner.close()
    summary.seconds = time.perf_counter() - start
    if progress:
        print(summary, file=file, flush=True)
    return summary
