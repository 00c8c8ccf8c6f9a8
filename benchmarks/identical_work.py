"""``python -m benchmarks.identical_work``: why can two processes doing identical work differ?

The anomaly: in the benchmark run of 2026-12-03 (commit 6cd22f8), the 1-thread ELU CIFAR-10
cell at batch 32 timed the plain fused step and ``fused_fastest`` — which had chosen NumPy's
BLAS for every product, i.e. the same work — 1.18x apart in every repetition, and their GEMM
floors (the same products, timed inside each worker) about 1 ms apart. Each engine ran in one
process there, so whether the gap belonged to the engines or to the processes could not be
told.

The experiment drives a checkout's own benchmark worker (``--tree``, default this one; an old
commit is checked out with ``git worktree add DIR COMMIT``) through its JSON protocol, as its
harness does: for each of ``--processes`` rounds, one fresh worker per engine, in alternating
order, pinned to one core (the cores alternate between rounds), each prepared (model built,
one untimed epoch) and then timed ``--repetitions`` times: one epoch of ``--steps`` steps and
one of a single step (step time :math:`(T_N - T_1)/(N - 1)`) and the GEMM floor. Every
process is timed twice over, in two arms that differ in one thing only:

* ``none``: the worker as the harness starts it;
* ``wide``: the process first runs one ``(1024 x 300) @ (300 x 784)`` float32 product (the
  primer of :mod:`benchmarks.blas_state`, which leaves this OpenBLAS's one-thread state for
  good) before the worker starts.

If the gap between engines doing identical work is the BLAS state each process was left in,
it is there without the primer and gone with it, engine by engine and process by process.
Ratios pair the two engines' process means round by round (geometric mean, 95% t-interval
over rounds: :func:`benchmarks.analysis.ratio_interval`).

Writes ``benchmarks/results/identical_work.{json,md}`` (``--output``). The workers run with
``OPENBLAS_CORETYPE`` / ``OPENBLAS_L2_SIZE`` removed, as the benchmark's do.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time

from benchmarks import harness
from benchmarks.analysis import ratio_interval

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ARMS = ("none", "wide")

#: runs the tree's worker, after the primer in the "wide" arm
_LAUNCHER = r"""
import os, runpy, sys
if os.environ.get("IDENTICAL_WORK_PRIMER") == "wide":
    import numpy as np
    np.matmul(np.ones((1024, 300), np.float32), np.ones((300, 784), np.float32))
sys.argv = ["benchmarks.worker"] + sys.argv[1:]
runpy.run_module("benchmarks.worker", run_name="__main__", alter_sys=True)
"""


def cpu_name():
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as handle:
            for line in handle:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    import platform
    return platform.machine()


def worker_env(tree, threads, extra, arm):
    """The benchmark workers' environment (:func:`benchmarks.harness.worker_env` and
    ``engine_env``: no ``OPENBLAS_CORETYPE`` / ``OPENBLAS_L2_SIZE``, every pool at ``threads``),
    plus ``extra`` (e.g. an old engine's ``NUMPY_NN_BLAS``), the tree and the arm's primer."""
    env = harness.engine_env(harness.worker_env("default"), "jit", threads)
    env.pop("IDENTICAL_WORK_PRIMER", None)
    return {**env, **extra, "PYTHONPATH": tree, "IDENTICAL_WORK_PRIMER": arm}


class Worker(harness.Worker):
    """The harness's worker protocol, with the worker of another checkout, started by
    :data:`_LAUNCHER` (the primer first in the "wide" arm) and pinned to one core."""

    def __init__(self, tree, engine, threads, core, env):
        self.label = f"{engine} ({tree})"
        self.process = subprocess.Popen(
            [sys.executable, "-c", _LAUNCHER, "--engine", engine, "--threads", str(threads),
             "--pin", str(core)], cwd=tree, env=env, stdin=subprocess.PIPE,
            stdout=subprocess.PIPE, text=True)
        self.versions = self._read()["versions"]


def time_process(worker, model, batch, steps, repetitions):
    """Per repetition: the step time and the GEMM floor per step (seconds)."""
    worker.ask(cmd="prepare", model=model, batch=batch, samples=batch * steps)
    found = {"step": [], "floor": []}
    for _ in range(repetitions):
        whole = worker.ask(cmd="fit")["seconds"]
        one = worker.ask(cmd="fit", steps=1)["seconds"]
        found["step"].append((whole - one) / (steps - 1))
        found["floor"].append(worker.ask(cmd="floor")["seconds"] / steps)
    return found


def run(args, engine_envs, log=print):
    cores = sorted(os.sched_getaffinity(0))
    records = []
    for round_index in range(args.processes):
        core = cores[round_index % len(cores)]
        for arm in (ARMS if round_index % 2 == 0 else ARMS[::-1]):
            slots = (0, 1) if (round_index // 2) % 2 == 0 else (1, 0)
            for slot in slots:             # the same engine may fill both (an A/A pair)
                engine = args.engines[slot]
                env = worker_env(args.tree, args.threads, engine_envs.get(engine, {}), arm)
                worker = Worker(args.tree, engine, args.threads, core, env)
                try:
                    found = time_process(worker, args.model, args.batch, args.steps,
                                         args.repetitions)
                finally:
                    worker.close()
                records.append({"round": round_index, "arm": arm, "slot": slot,
                                "engine": engine, "core": core, **found})
                log(f"  round {round_index + 1}, {arm:4s} {engine:14s} core {core}: step "
                    f"{1e3 * statistics.median(found['step']):.2f} ms, floor "
                    f"{1e3 * statistics.median(found['floor']):.2f} ms", flush=True)
    return records


def _mean(record, key):
    return statistics.fmean(record[key])


def findings(result):
    """Per arm and quantity (step, floor): each engine's process means, and the second
    engine over the first, paired by round."""
    out = []
    for arm in ARMS:
        by = {(r["slot"], r["round"]): r for r in result["records"] if r["arm"] == arm}
        rounds = sorted({r for _, r in by})
        for key in ("step", "floor"):
            a = [_mean(by[(0, r)], key) for r in rounds]
            b = [_mean(by[(1, r)], key) for r in rounds]
            out.append({"arm": arm, "quantity": key, "means": (a, b),
                        "ratio": ratio_interval(b, a)})
    return out


def _excludes_1(ratio):
    return ratio["low"] > 1 or ratio["high"] < 1


def verdict(found, first, second):
    """What the two arms say together, for the GEMM floor (the products alone) and the step."""
    by = {(f["arm"], f["quantity"]): f["ratio"] for f in found}
    parts = []
    for quantity, label in (("floor", "GEMM floors"), ("step", "step times")):
        none, wide = by[("none", quantity)], by[("wide", quantity)]
        if _excludes_1(none) and not _excludes_1(wide):
            parts.append(f"without the primer the two engines' {label} differ with 95% "
                         f"confidence and with it they do not, so the BLAS state each process "
                         f"was left in accounts for that gap")
        elif _excludes_1(none) and _excludes_1(wide):
            parts.append(f"the {label} differ with and without the primer, so the BLAS state "
                         f"does not account for that gap")
        elif not _excludes_1(none):
            parts.append(f"without the primer the {label} do not differ with 95% confidence "
                         f"in these processes")
        else:
            parts.append(f"the {label} differ only with the primer")
    return "For " + first + " and " + second + ": " + "; ".join(parts) + "."


def slot_labels(engines):
    """The two slots' names: the engines, or "jit (slot 1)", "jit (slot 2)" for an A/A pair."""
    first, second = engines
    if first == second:
        return f"{first} (slot 1)", f"{first} (slot 2)"
    return first, second


def markdown(result, name="identical_work"):
    first, second = slot_labels(result["engines"])
    lines = ["# Identical work, different processes", "",
             f"Generated by `python -m benchmarks.identical_work` (method in its docstring) "
             f"from `benchmarks/results/{name}.json`: tree `{result['tree']}`, "
             f"{result['model']} at batch {result['batch']}, {result['threads']} "
             f"thread{'s' * (result['threads'] > 1)}, "
             f"{result['processes']} rounds of fresh processes, {result['repetitions']} "
             f"repetitions per process; {result['machine']}.", "",
             f"| primer | quantity | {first}: process means (ms) | {second}: process means "
             f"(ms) | {second} / {first} (95% interval) |", "|---|---|---|---|---|"]
    found = findings(result)
    for f in found:
        r = f["ratio"]
        lines.append(f"| {f['arm']} | {f['quantity']} | "
                     + " | ".join(", ".join(f"{1e3 * v:.2f}" for v in means)
                                  for means in f["means"])
                     + f" | {r['ratio']:.2f}x [{r['low']:.2f}, {r['high']:.2f}] |")
    lines.append("")
    for f in found:
        r = f["ratio"]
        where = ("above 1" if r["low"] > 1 else "below 1" if r["high"] < 1
                 else "containing 1")
        lines.append(f"- Primer {f['arm']}, {f['quantity']}: {second} / {first} = "
                     f"{r['ratio']:.2f}x, 95% interval [{r['low']:.2f}, {r['high']:.2f}] "
                     f"({where}).")
    lines += ["", verdict(found, first, second)]
    spread = {arm: max(max(means) / min(means) for f in found
                       if f["arm"] == arm and f["quantity"] == "step" for means in f["means"])
              for arm in ARMS}
    lines += ["", "Largest spread of one engine's step time over its processes (slowest "
                  "process mean / fastest): " + ", ".join(f"primer {arm}: {spread[arm]:.2f}x"
                                                          for arm in ARMS) + "."]
    return "\n".join(lines) + "\n"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tree", default=ROOT, help="the checkout whose worker runs")
    parser.add_argument("--engines", default="jit,jit",
                        help="two comma-separated worker engines (default: the headline "
                             "engine twice, an A/A pair)")
    parser.add_argument("--engine-env", action="append", default=[],
                        help="ENGINE:NAME=VALUE set in that engine's workers, e.g. "
                             "fused_fastest:NUMPY_NN_BLAS=fastest (repeatable)")
    parser.add_argument("--model", default="elu_20x100_cifar")
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--steps", type=int, default=64)
    parser.add_argument("--processes", type=int, default=4)
    parser.add_argument("--repetitions", type=int, default=5)
    parser.add_argument("--output", default=os.path.join(ROOT, "benchmarks", "results"))
    parser.add_argument("--name", default="identical_work",
                        help="the records' file name, without .json / .md")
    parser.add_argument("--from-json", help="measure nothing: rewrite the Markdown beside this "
                        "record")
    args = parser.parse_args(argv)
    if args.from_json:
        from benchmarks.records import write_text
        with open(args.from_json, encoding="utf-8") as handle:
            result = json.load(handle)
        name = os.path.splitext(os.path.basename(args.from_json))[0]
        write_text(os.path.splitext(args.from_json)[0] + ".md", markdown(result, name))
        return
    args.engines = args.engines.split(",")
    if len(args.engines) != 2:
        parser.error(f"--engines: give two engines, got {args.engines}")
    if args.steps < 2 or args.processes < 2 or args.repetitions < 1:
        parser.error("--steps and --processes must be >= 2, --repetitions >= 1")
    engine_envs = {}
    for item in args.engine_env:
        engine, _, assignment = item.partition(":")
        name, _, value = assignment.partition("=")
        if not (engine and name and value):
            parser.error(f"--engine-env: expected ENGINE:NAME=VALUE, got {item!r}")
        engine_envs.setdefault(engine, {})[name] = value
    os.environ.setdefault("NUMPY_NN_DATA_DIR", os.path.join(os.path.dirname(ROOT), "shared",
                                                            "data"))
    tree = os.path.abspath(args.tree)
    args.tree = tree
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=tree,
                            capture_output=True, text=True).stdout.strip()
    started = time.perf_counter()
    result = {"tree": commit or tree, "engines": args.engines, "engine_env": engine_envs,
              "model": args.model, "batch": args.batch, "threads": args.threads,
              "steps": args.steps, "processes": args.processes,
              "repetitions": args.repetitions,
              "machine": f"{os.cpu_count()} cores, {cpu_name()}",
              "records": run(args, engine_envs)}
    result["seconds"] = round(time.perf_counter() - started, 1)
    from benchmarks.records import write_text
    write_text(os.path.join(args.output, args.name + ".json"), json.dumps(result, indent=1))
    write_text(os.path.join(args.output, args.name + ".md"), markdown(result, args.name))
    print(markdown(result, args.name))


if __name__ == "__main__":
    main()
