"""The batch-order diagnostics of the exponential-per-batch Nadam row, as tables and sentences
generated from their records in ``examples/records/reproduce/`` (the runs of
``python -m examples.reproduce --only exponential_batch --batch-order fixed|same
[--init-from keras]``; see docs/reports/reproduction.md).

    python -m examples.reproduce_diagnostics   # -> examples/records/reproduction_diagnostics.md

Every number and every comparison word below is computed here from the records, so the text
stays true whatever a re-run measures.
"""
from __future__ import annotations

import argparse
import os
import statistics

import numpy as np

from examples import reproduce

HERE = os.path.dirname(os.path.abspath(__file__))
RESULTS = os.path.join(HERE, "records", "reproduce")
REPORT = os.path.join(HERE, "records", "reproduction_diagnostics.md")
KEY = "exponential_batch"
KERNELS = "numba"
#: (label, init, order): the runs compared with Keras, as collected by reproduce.collect
ROWS = [("the table: each engine's own `fit(shuffle=True)`", None, None),
        ("numpy_nn on one order every epoch; Keras its own", None, "fixed"),
        ("the same, numpy_nn also from Keras's initial weights", "keras", "fixed"),
        ("both on the same order from the same weights", "keras", "same")]


def values(runs):
    return [r["metrics"]["value"] for r in runs]


def describe(vals):
    if len(vals) < 2:
        return f"{vals[0]:.4f} (1 seed)" if vals else "—"
    return f"{statistics.fmean(vals):.4f} ± {statistics.stdev(vals):.4f} ({len(vals)} seeds)"


def paired(table):
    """Seed-matched differences numpy_nn - Keras, their mean, 95% t interval and p-value."""
    from scipy import stats

    from numpy_nn.experiments.stats import summarize
    runs = {f: {r["seed"]: r["metrics"]["value"] for r in table[f]} for f in table}
    seeds = sorted(set(runs["numpy_nn"]) & set(runs["keras"]))
    d = np.array([runs["numpy_nn"][s] - runs["keras"][s] for s in seeds])
    if len(d) < 2:
        return None
    summary = summarize(d)                  # mean and its 95% t interval
    p = float(stats.ttest_1samp(d, 0.0).pvalue)
    return summary.mean, summary.ci_low, summary.ci_high, p, summary.n


def build(records):
    from numpy_nn.experiments.stats import welch_test
    experiment = {e.key: e for e in reproduce.EXPERIMENTS}[KEY]
    tables = {}
    for label, init, order in ROWS:
        table, _ = reproduce.collect(records, [experiment], ["numpy_nn", "keras"], False,
                                     kernels=KERNELS, init=init, order=order)
        tables[label] = table[KEY]
    lines = ["| run | numpy_nn | Keras 3 | difference | p |", "|---|---:|---:|---:|---:|"]
    for label, _, order in ROWS:
        a, b = values(tables[label]["numpy_nn"]), values(tables[label]["keras"])
        if not a or not b:
            lines.append(f"| {label} | {describe(a)} | {describe(b)} | — | — |")
            continue
        if order == "same":
            result = paired(tables[label])
            p_text = "—" if result is None else f"{result[3]:.2g} (paired t)"
            difference = statistics.fmean(a) - statistics.fmean(b)
        else:
            test = welch_test(a, b)
            p_text, difference = f"{test.p_value:.2g} (Welch)", test.difference
        lines.append(f"| {label} | {describe(a)} | {describe(b)} | {difference:+.4f} | "
                     f"{p_text} |")
    return "\n".join(lines), tables


def sentences(tables):
    from numpy_nn.experiments.stats import welch_test
    own, same = tables[ROWS[0][0]], tables[ROWS[3][0]]
    result = paired(same)
    if result is None or not own["numpy_nn"] or not own["keras"]:
        return "*(the diagnostics' records are not all there yet)*"
    mean, low, high, p, n = result
    gap = statistics.fmean(values(own["numpy_nn"])) - statistics.fmean(values(own["keras"]))
    reach = max(abs(low), abs(high))
    parts = [f"Given the same batches and the same start, numpy_nn's validation accuracy minus "
             f"Keras's is {mean:+.4f} on average over {n} seeds, with a paired 95% t interval "
             f"of [{low:+.4f}, {high:+.4f}]"]
    if low <= 0 <= high:
        parts[-1] += (f": these runs do not tell the engines apart, and they cannot exclude an "
                      f"engine effect of up to {reach:.4f}, {reach / abs(gap):.0%} of the "
                      f"table's gap of {gap:+.4f}.")
    else:
        parts[-1] += ": the interval excludes 0."
    keras_same, keras_own = values(same["keras"]), values(own["keras"])
    test = welch_test(keras_same, keras_own)
    parts.append(f"Keras alone, on a shuffled order drawn by NumPy: {describe(keras_same)}; on "
                 f"the order of its own `fit(shuffle=True)` after `keras.utils.set_random_seed`: "
                 f"{describe(keras_own)} ({test.difference:+.4f}, Welch p = {test.p_value:.2g}).")
    test = welch_test(values(own["numpy_nn"]), keras_same)
    parts.append(f"numpy_nn's own result in the table against Keras on NumPy's order: "
                 f"{test.difference:+.4f} (Welch p = {test.p_value:.2g}).")
    return " ".join(parts)


def render(records):
    table, tables = build(records)
    experiment = {e.key: e for e in reproduce.EXPERIMENTS}[KEY]
    same, _ = reproduce.collect(records, [experiment], ["numpy_nn", "keras"], False,
                                kernels=KERNELS, init="keras", order="same")
    return ("<!-- generated by python -m examples.reproduce_diagnostics from "
            "examples/records/reproduce/; do not edit -->\n\n"
            f"Validation accuracy after {experiment.epochs} epochs, mean ± sample standard "
            "deviation over seeds (numpy_nn on the Numba path):\n\n" + table + "\n\n"
            + sentences(tables) + "\n\n" + reproduce.paired_text(same, [experiment]) + "\n")


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m examples.reproduce_diagnostics",
                                     description=__doc__.splitlines()[0])
    parser.add_argument("--results", default=RESULTS)
    parser.add_argument("--report", default=REPORT)
    args = parser.parse_args(argv)
    from numpy_nn.experiments.store import ResultsStore
    from numpy_nn.io_utils import atomic_write
    text = render(list(ResultsStore(args.results).records()))
    with atomic_write(args.report, "w") as handle:
        handle.write(text)
    print(text)


if __name__ == "__main__":
    main()
