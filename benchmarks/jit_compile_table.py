"""``python -m benchmarks.jit_compile_table``: the Speed guide's table, from a recorded run.

Reads the full benchmark run, ``benchmarks/results/benchmarks.json`` (``make bench``), and, when
present, ``benchmarks/results/jit_compile/versus_fused_trainer.json`` (a recorded run of
:mod:`benchmarks.versus_fused_trainer`), and writes ``jit_compile/steps.md``: per network and
batch size at one thread, the step time of ``fit`` with ``jit_compile=True`` and of ``fit`` on
the two kernel paths, and their ratios with 95% intervals over the run's worker processes
(the cell's ratios, :mod:`benchmarks.analysis`).
"""
from __future__ import annotations

import json
import os

from benchmarks.analysis import process_means, ratio_interval
from benchmarks.models import MODELS

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FOLDER = os.path.join(ROOT, "benchmarks", "results", "jit_compile")


def _interval(ratio):
    return f"{ratio['ratio']:.2f}× [{ratio['low']:.2f}, {ratio['high']:.2f}]"


def _name(model):
    spec = MODELS.get(model)
    return spec.description if spec is not None and spec.description else model


def steps_table(results):
    lines = ["| network | batch | `jit_compile=True` (ms) | Numba path (ms) | NumPy path (ms) | "
             "Numba path / compiled | NumPy path / compiled |",
             "|---|---:|---:|---:|---:|---|---|"]
    for cell in results["training"]:
        if cell["threads"] != 1 or "jit" not in cell["step_ms"]:
            continue
        steps = {key: process_means(series) for key, series in cell["raw"].items()}
        ms = cell["step_ms"]
        lines.append(
            f"| {_name(cell['model'])} | {cell['batch']} | {ms['jit']:.3f} | "
            f"{ms['numba']:.3f} | {ms['numpy']:.3f} | "
            f"{_interval(ratio_interval(steps['numba'], steps['jit']))} | "
            f"{_interval(ratio_interval(steps['numpy'], steps['jit']))} |")
    machine = results["machine"]
    lines += ["", f"*One thread; medians of {cell['repetitions']} repetitions in "
                  f"{cell.get('processes', 1)} fresh processes per engine, interleaved; "
                  f"intervals over processes; ratios above 1 mean the compiled step is faster. "
                  f"{machine['cpu']}, BLAS {machine['blas']}, run {machine['date']} "
                  f"(`make bench`).*"]
    return lines


def versus_table(record):
    lines = ["", "Against the compiled trainer it replaces (`FusedTrainer`, a loop of its own, "
                 "measured in the same interleaved way by `benchmarks/versus_fused_trainer.py`):",
             "", "| network | batch | `fit`, `jit_compile=True` (ms) | `FusedTrainer.fit` (ms) | "
             "FusedTrainer / compiled fit |", "|---|---:|---:|---:|---|"]
    for row in record["rows"]:
        lines.append(f"| {_name(row['model'])} | {row['batch']} | {row['jit_ms']:.3f} | "
                     f"{row['fused_ms']:.3f} | {_interval(row['ratio'])} |")
    lines += ["", f"*{record['note']}*"]
    return lines


def main():
    with open(os.path.join(os.path.dirname(FOLDER), "benchmarks.json"),
              encoding="utf-8") as handle:
        lines = steps_table(json.load(handle))
    versus = os.path.join(FOLDER, "versus_fused_trainer.json")
    if os.path.exists(versus):
        with open(versus, encoding="utf-8") as handle:
            lines += versus_table(json.load(handle))
    from numpy_nn.io_utils import atomic_write
    with atomic_write(os.path.join(FOLDER, "steps.md"), "w") as handle:
        handle.write("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
