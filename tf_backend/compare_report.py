"""The report and the command of :mod:`tf_backend.compare`.

``python -m tf_backend.compare MODEL.keras --data DATA.npz --steps N [--batch-size B]
[--report DIR]`` loads the Keras model from its file, builds numpy_nn's side from the same file
(:func:`tf_backend.load_keras`), compares them on the arrays ``x`` and ``y`` of the ``.npz``
file, prints the first divergence (or none), writes ``DIR/report.md`` (with
``comparisons.csv`` and ``errors.png``: each tensor's error over its tolerance, per phase and
step, the first divergence marked) and exits with status 1 when there is a divergence.
"""
from __future__ import annotations

import argparse
import csv
import io
import os
import sys

import numpy as np

from numpy_nn.io_utils import atomic_write

COLUMNS = ("step", "phase", "layer", "tensor", "max_abs_error", "mean_abs_error",
           "max_rel_error", "mean_rel_error", "tolerance", "worst_index", "passed")


def markdown(result, title="numpy_nn against Keras"):
    """The report's text: the verdict, the first divergence, and per phase the tensor closest
    to its tolerance."""
    from tf_backend.compare import PHASES
    lines = [f"# {title}", "", result.summary() + ".", ""]
    first = result.first_divergence
    if first is not None:
        lines += ["## First divergence", "", "| step | phase | layer | tensor | relative error "
                  "| tolerance |", "|---|---|---|---|---|---|",
                  f"| {first.step} | {first.phase} | {first.layer} | {first.tensor} | "
                  f"{first.max_rel_error:.3g} | {first.tolerance:.1g} |", "",
                  f"Largest absolute error {first.max_abs_error:.3g} at index "
                  f"{first.worst_index}; mean relative error {first.mean_rel_error:.3g}.", ""]
    lines += ["## Closest to the tolerance, per phase", "",
              "| phase | step | layer | tensor | relative error | tolerance |",
              "|---|---|---|---|---|---|"]
    for phase in PHASES:
        worst = result.worst(phase)
        if worst is not None:
            lines.append(f"| {phase} | {worst.step} | {worst.layer} | {worst.tensor} | "
                         f"{worst.max_rel_error:.3g} | {worst.tolerance:.1g} |")
    lines += ["", f"Every comparison ({len(result.comparisons)}) with its statistics is in "
                  "`comparisons.csv`; `errors.png` plots each error over its tolerance.", "",
              "![Errors over tolerance](errors.png)", ""]
    return "\n".join(lines)


def comparisons_csv(result):
    handle = io.StringIO()
    writer = csv.writer(handle)
    writer.writerow(COLUMNS)
    for c in result.comparisons:
        writer.writerow([c.step, c.phase, c.layer, c.tensor, c.max_abs_error, c.mean_abs_error,
                         c.max_rel_error, c.mean_rel_error, c.tolerance, c.worst_index,
                         c.passed])
    return handle.getvalue()


def plot(result, path):
    """Per phase, each (layer, tensor)'s error over its tolerance against the step, on a log
    scale, the line 1 (the tolerance) dashed and the first divergence circled."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from tf_backend.compare import PHASES
    figure, axes = plt.subplots(1, len(PHASES), figsize=(4 * len(PHASES), 3.6), sharey=True)
    first = result.first_divergence
    for axis, phase in zip(axes, PHASES):
        series = {}
        for c in result.comparisons:
            if c.phase == phase:
                ratio = c.max_rel_error / c.tolerance if c.tolerance else np.inf
                series.setdefault(f"{c.layer}/{c.tensor}", []).append(
                    (c.step, max(min(ratio, 1e6), 1e-6)))
        for label, points in series.items():
            steps, ratios = zip(*points)
            axis.plot(steps, ratios, marker=".", linewidth=0.8, label=label)
        axis.axhline(1.0, color="black", linestyle="--", linewidth=0.8)
        if first is not None and first.phase == phase:
            ratio = min(first.max_rel_error / first.tolerance, 1e6)
            axis.plot([first.step], [ratio], "o", markersize=14, fillstyle="none", color="red")
        axis.set_yscale("log")
        axis.set_title(phase)
        axis.set_xlabel("step")
        if series and len(series) <= 8:
            axis.legend(fontsize=6)
    axes[0].set_ylabel("error / tolerance")
    figure.tight_layout()
    with atomic_write(path, "wb") as handle:
        figure.savefig(handle, format="png", dpi=90)
    plt.close(figure)


def write_report(result, directory, title="numpy_nn against Keras"):
    """``report.md``, ``comparisons.csv`` and ``errors.png`` in ``directory``; returns the
    report's path."""
    os.makedirs(directory, exist_ok=True)
    with atomic_write(os.path.join(directory, "comparisons.csv"), "w") as handle:
        handle.write(comparisons_csv(result))
    plot(result, os.path.join(directory, "errors.png"))
    path = os.path.join(directory, "report.md")
    with atomic_write(path, "w") as handle:
        handle.write(markdown(result, title))
    return path


def main(argv=None):
    parser = argparse.ArgumentParser(
        prog="python -m tf_backend.compare",
        description="Train a Keras model and its numpy_nn translation side by side and name "
                    "the first tensor where they part.")
    parser.add_argument("model", help="a .keras file, compiled (loss and optimizer)")
    parser.add_argument("--data", required=True, help=".npz file with arrays x and y")
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--report", help="write report.md, comparisons.csv, errors.png here")
    args = parser.parse_args(argv)
    import keras

    from tf_backend import load_keras
    from tf_backend.compare import compare
    with np.load(args.data, allow_pickle=False) as data:
        if "x" not in data or "y" not in data:
            parser.error(f"--data: {args.data} must hold arrays named x and y, got "
                         f"{sorted(data.files)}")
        x, y = data["x"], data["y"]
    keras_model = keras.models.load_model(args.model, safe_mode=True)
    if keras_model.optimizer is None:
        parser.error(f"{args.model}: the model is not compiled (no loss and optimizer saved)")
    numpy_model = load_keras(args.model)
    result = compare(numpy_model, keras_model, x, y, steps=args.steps,
                     batch_size=args.batch_size)
    print(result.summary())
    if args.report:
        print(f"report: {write_report(result, args.report, os.path.basename(args.model))}")
    return 0 if result.passed else 1


if __name__ == "__main__":
    sys.exit(main())
