r"""Records in, figures out: the statistics of the benchmark (no printing, no Markdown).

**Two levels of error.** Every contender of a cell is timed in several fresh worker processes
(rounds of the harness: in each round every contender has a process of its own, all alive at
once and interleaved), and several repetitions inside each process. The repetitions of one
process share its history (what the process allocated, where its pages landed, what its BLAS
library ran before), so they describe that process, not the engine. The figures that compare
engines are therefore computed **over processes**: each process's mean step time

.. math::
    \bar t_{e,p} = \frac1{R} \sum_{r=1}^{R} t_{e,p,r}

and, for engines A and B measured in the same rounds, the paired log ratios
:math:`d_p = \ln \bar t_{A,p} - \ln \bar t_{B,p}`, whose mean and Student-t interval
(:math:`P - 1` degrees of freedom) are exponentiated: the geometric-mean ratio with its 95%
interval (:func:`ratio_interval`). Records without process labels (one process) fall back to
pairing repetitions.

**The A/A control.** The headline engine runs in two process slots (``jit`` and ``jit@aa``,
:mod:`benchmarks.engines`), which do identical work. Their ratio's interval shows how far two
processes of one engine can part; a comparison is called faster or slower with confidence
only where its whole interval lies beyond that band (:func:`beyond_control`).

**Efficiency.** A step's useful work is its matrix products' FLOPs, :func:`step_flops`; its
efficiency at N threads is that work per second over the machine's peak SGEMM rate at N
threads (:mod:`benchmarks.peak`).
"""
from __future__ import annotations

import math
import statistics

from benchmarks.engines import COMPILED_FLOORS, CONTROL, HEADLINE, PEERS, UNPRIMED, engine_of

# two-sided 95% quantiles of Student's t, by degrees of freedom
_T95 = {1: 12.706, 2: 4.303, 3: 3.182, 4: 2.776, 5: 2.571, 6: 2.447, 7: 2.365, 8: 2.306,
        9: 2.262, 10: 2.228, 11: 2.201, 12: 2.179, 13: 2.160, 14: 2.145, 15: 2.131, 16: 2.120,
        17: 2.110, 18: 2.101, 19: 2.093, 20: 2.086, 25: 2.060, 30: 2.042, 40: 2.021,
        60: 2.000}


def t95(degrees):
    known = [d for d in _T95 if d <= degrees]
    return _T95[max(known)] if known else float("inf")


def ratio_interval(numerators, denominators):
    """``{"ratio", "low", "high", "n"}``: geometric mean of the paired ratios a_i / b_i and its
    95% t-interval (computed on the logs). With one pair the interval is unbounded."""
    logs = [math.log(a / b) for a, b in zip(numerators, denominators) if a > 0 and b > 0]
    if not logs:
        return {"ratio": float("nan"), "low": float("nan"), "high": float("nan"), "n": 0}
    mean = statistics.fmean(logs)
    if len(logs) < 2:
        return {"ratio": math.exp(mean), "low": 0.0, "high": float("inf"), "n": len(logs)}
    half = t95(len(logs) - 1) * statistics.stdev(logs) / math.sqrt(len(logs))
    return {"ratio": math.exp(mean), "low": math.exp(mean - half),
            "high": math.exp(mean + half), "n": len(logs)}


def process_means(record, key="step"):
    """The mean of ``record[key]`` in each process, in process order (a record without
    ``"process"`` labels counts each repetition as a process of its own)."""
    values = record[key]
    labels = record.get("process") or list(range(len(values)))
    groups = {}
    for value, label in zip(values, labels):
        groups.setdefault(label, []).append(value)
    return [statistics.fmean(groups[label]) for label in sorted(groups)]


def control_band(cell):
    """``(low, high)``: the ratios two processes of the headline engine can differ by, from
    the A/A control's interval, made symmetric (a slot's name says nothing of its sign);
    None without a control."""
    control = cell.get("ratios", {}).get(f"{CONTROL}/{HEADLINE}")
    if not control or not control["n"]:
        return None
    high = max(control["high"], 1 / control["low"]) if control["low"] > 0 else float("inf")
    return 1 / high, high


def beyond_control(interval, band):
    """``"above"`` / ``"below"`` when the whole 95% interval lies beyond the A/A band (and
    beyond 1), else None: the only comparisons the report calls faster or slower."""
    low, high = band if band else (1.0, 1.0)
    if interval["n"] < 2:
        return None
    if interval["low"] > max(high, 1.0):
        return "above"
    if interval["high"] < min(low, 1.0):
        return "below"
    return None


def best_peer_series(steps):
    """``(key, series)`` of the fastest peer by median step time, TensorFlow counting as the
    better of its pinned and unpinned runs (None when no peer was measured)."""
    candidates = [k for k in steps if engine_of(k) in PEERS]
    if not candidates:
        return None, None
    key = min(candidates, key=lambda k: statistics.median(steps[k]["step"]))
    return key, steps[key]


def unresolved_message(steps_per_fit):
    """Why a contender has no step time: the difference of its two calls was lost in noise."""
    return (f"T_N - T_1 was not positive over {steps_per_fit} steps: the step time is below "
            f"the noise of the call's set-up; time more steps per call (--steps)")


def _medians(series, field, scale=1.0):
    return {k: scale * statistics.median(s[field]) for k, s in series.items() if s.get(field)}


def summarize(model, batch, samples, steps_per_fit, threads, series, parameters=None):
    """One cell's figures from each contender's per-repetition ``series`` (lists ``step``,
    ``setup``, ``cpu_per_wall``, ``cpu_step``, ``settle`` and the ``process`` of each
    repetition).

    A contender whose median step estimate :math:`(T_N - T_1)/(N - 1)` is not positive has no
    step time to report (with few steps, the set-up's noise exceeds the steps' time): it is
    listed under ``"unresolved"`` with the reason, and left out of the times and ratios."""
    unresolved = {key: unresolved_message(steps_per_fit) for key, s in series.items()
                  if statistics.median(s["step"]) <= 0}
    raw, series = series, {key: s for key, s in series.items() if key not in unresolved}
    means = {key: process_means(s) for key, s in series.items()}
    cell = {"model": model, "batch": batch, "threads": threads, "samples_per_fit": samples,
            "steps_per_fit": steps_per_fit, "parameters": parameters,
            "unresolved": unresolved,
            "repetitions": min((len(s["step"]) for s in series.values()), default=0),
            "processes": min((len(m) for m in means.values()), default=0),
            "step_ms": _medians(series, "step", 1e3),
            "samples_per_second": {k: batch / statistics.median(s["step"])
                                   for k, s in series.items()},
            "fit_setup_ms": _medians(series, "setup", 1e3),
            "cpu_per_wall": _medians(series, "cpu_per_wall"),
            "cpu_step_ms": _medians(series, "cpu_step", 1e3),
            "spread": {k: max(s["step"]) / min(s["step"]) for k, s in series.items()
                       if min(s["step"]) > 0},
            "process_step_ms": {k: [1e3 * v for v in m] for k, m in means.items()},
            "process_spread": {k: max(m) / min(m) for k, m in means.items() if min(m) > 0},
            "settle_ms": _medians(series, "settle", 1e3),
            "raw": raw}
    cell["over_cores"] = sorted(k for k, v in cell["cpu_per_wall"].items()
                                if v > threads * 1.05 + 0.02)
    for engine in ("keras_tf", "keras_tf_xla"):      # the better of pinned and unpinned
        runs = [k for k in (engine, f"{engine}@unpinned") if k in series]
        if runs:
            cell[f"{engine}_counted"] = min(runs, key=lambda k: cell["step_ms"][k])
    cell["ratios"] = _ratios(cell, means, series)
    cpu = {key: process_means(s, "cpu_step") for key, s in series.items() if s.get("cpu_step")}
    if "numba" in cpu:
        cell["cpu_ratios"] = {f"{key}/numba": ratio_interval(cpu[key], cpu["numba"])
                              for key in cpu if key != "numba"}
        if "floor" in cpu:
            cell["cpu_ratios"]["numba/floor"] = ratio_interval(cpu["numba"], cpu["floor"])
    return cell


def _ratios(cell, means, series):
    """Every ratio the report reads, each over processes: ``"A/B"`` -> interval."""
    ratios = {}

    def add(a, b, name=None):
        if a in means and b in means:
            ratios[name or f"{a}/{b}"] = ratio_interval(means[a], means[b])

    for key in means:
        if engine_of(key) in PEERS or key in ("numpy", "jit", "jit_mkl"):
            add(key, "numba")
        if engine_of(key) in PEERS or key in ("numpy", "numba"):
            add(key, "floor")
    for compiled, floor in COMPILED_FLOORS.items():
        add(compiled, floor)
    add("floor_mkl", "floor")
    add(CONTROL, HEADLINE)
    add(UNPRIMED, HEADLINE)
    best, _ = best_peer_series(series)
    if best:
        cell["best_peer"] = best
        for ours in ("numpy", "numba", "jit", "jit_mkl"):
            add(best, ours, f"best_peer/{ours}")
    return ratios


def add_thread_speedups(cells, series):
    """On the cell with the most threads: each contender's 1-thread time over its N-thread
    time, paired by process round (both workers ran in the same round)."""
    counts = sorted(c["threads"] for c in cells)
    if len(counts) < 2:
        return
    low, high = counts[0], counts[-1]
    target = next(c for c in cells if c["threads"] == high)
    unresolved = {key for c in cells for key in c.get("unresolved", {})}
    target["speedup_over"] = low
    target["thread_speedup"] = {
        key: ratio_interval(process_means(series[(key, low)]),
                            process_means(series[(key, high)]))
        for (key, threads) in series
        if threads == high and (key, low) in series and key not in unresolved}


# ---------------------------------------------------------------- efficiency
def step_flops(shapes, needs_input_gradient, batch):
    r"""The FLOPs of one training step's matrix products: per Dense layer :math:`x W` and
    :math:`x^\top \delta`, and :math:`\delta W^\top` where backpropagation needs the input
    gradient, each :math:`2\,B\,n_\text{in}\,n_\text{out}`. The element-wise work (activations,
    loss, optimizer) is not counted: it is not what the peak rate measures."""
    total = 0
    for index, (inputs, units) in enumerate(shapes):
        products = 3 if index in needs_input_gradient else 2
        total += products * 2 * batch * inputs * units
    return total


def efficiency(cell, peak):
    """``{contender: achieved FLOP/s / peak FLOP/s}`` of a cell (its ``gemm_flops_per_step``
    over each median step time), or ``{}`` without a peak for its thread count."""
    rate = (peak or {}).get("peak", {}).get(str(cell["threads"]))
    flops = cell.get("gemm_flops_per_step")
    if not rate or not flops:
        return {}
    return {key: flops / (ms / 1e3) / rate for key, ms in cell["step_ms"].items()}
