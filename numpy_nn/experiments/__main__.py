"""``python -m numpy_nn.experiments``: run a grid from a JSON file, or summarise a results
folder.

``run GRID.json --results DIR [--scheduler tcp://HOST:8786 | --workers N | --serial]``
    GRID.json is either a list of tasks (``{"entry": ..., "config": {...}, "name": ...}``)
    or one grid ``{"entry": ..., "base": {...}, "grid": {"key": [values]}, "seeds": [...]}``.
    Re-running the same command skips the tasks already finished in DIR.
``summary DIR``
    counts of ok / failed records and the failed tasks' last error line.
"""
from __future__ import annotations

import argparse
import json
import sys

from numpy_nn.experiments.progress import last_line
from numpy_nn.experiments.runner import run_grid
from numpy_nn.experiments.store import ResultsStore
from numpy_nn.experiments.tasks import Task, expand_grid


def load_grid(path):
    with open(path, encoding="utf-8") as handle:
        spec = json.load(handle)
    if isinstance(spec, list):
        return [Task.from_dict(item) for item in spec]
    if isinstance(spec, dict) and "entry" in spec:
        return expand_grid(spec["entry"], spec.get("base"), spec.get("grid"),
                           spec.get("seeds", [0]), spec.get("name"))
    raise SystemExit(f"{path}: expected a list of tasks or a grid with an 'entry'")


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m numpy_nn.experiments",
                                     description=__doc__.strip().splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    run = commands.add_parser("run", help="run a grid into a results folder")
    run.add_argument("grid", help="JSON file: a list of tasks or one grid")
    run.add_argument("--results", required=True, help="the results folder")
    run.add_argument("--scheduler", help="Dask scheduler address (or $DASK_SCHEDULER_ADDRESS)")
    run.add_argument("--workers", type=int, help="local worker processes (default: cores)")
    run.add_argument("--serial", action="store_true", help="run in this process")
    run.add_argument("--verbose", "-v", action="store_true", help="one line per task")
    run.add_argument("--no-progress", action="store_true")
    summary = commands.add_parser("summary", help="count the records of a results folder")
    summary.add_argument("results")
    args = parser.parse_args(argv)
    if args.command == "run":
        result = run_grid(load_grid(args.grid), args.results, scheduler=args.scheduler,
                          workers=args.workers, executor="serial" if args.serial else None,
                          verbose=args.verbose, progress=not args.no_progress)
        return 1 if result.failed else 0
    store = ResultsStore(args.results)
    records = list(store.records())
    failed = [record for record in records if record.get("status") != "ok"]
    print(f"{args.results}: {len(records)} record(s), {len(records) - len(failed)} ok, "
          f"{len(failed)} failed")
    for record in failed:
        print(f"  FAILED {record['name']} ({record['id']}): {last_line(record.get('error'))}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
