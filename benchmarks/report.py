"""Findings to words and tables: the benchmark report, its summary and the README's lines.

Every figure a sentence states comes from a finding of :mod:`benchmarks.findings` (or the
per-cell statistics of :mod:`benchmarks.analysis`) computed from the saved records; nothing
here measures, and nothing here explains a result the records do not show. The figures are
drawn by :mod:`benchmarks.plotting`.
"""
from __future__ import annotations

import re
import statistics

from benchmarks import findings as F
from benchmarks.analysis import beyond_control, control_band, efficiency, ratio_interval
from benchmarks.engines import CONTROL, HEADLINE, TITLES, UNPRIMED, is_peer
from benchmarks.plotting import MODEL_TITLES, counted
from benchmarks.records import write_text

START, END = "<!-- bench:start -->", "<!-- bench:end -->"
#: The README's summary block (``front_page_section``).
FRONT_START, FRONT_END = "<!-- bench-summary:start -->", "<!-- bench-summary:end -->"
HEADLINE_LABEL = "`fit` with `jit_compile=True`"
#: the step-time table's columns: numpy_nn's contenders, then the peers, then the floors
COLUMNS = ("numpy", "numba", "jit", "jit_mkl", "keras_tf", "keras_tf_xla", "keras_jax",
           "torch", "torch_compile", "floor", "floor_mkl")
CONTROLS = (CONTROL, UNPRIMED)


def _threads(count):
    """"1 thread", "2 threads"."""
    return f"{count} thread" + ("" if count == 1 else "s")


def model_title(name):
    return MODEL_TITLES.get(name, name)


def _where(model, batch=None, threads=None):
    text = model_title(model)
    if batch is not None:
        text += f", batch {batch}"
    if threads is not None:
        text += f", {threads} thread{'s' if threads > 1 else ''}"
    return text


def _ci(r, digits=2):
    return f"{r['ratio']:.{digits}f}x [{r['low']:.{digits}f}, {r['high']:.{digits}f}]"


def _step(cell, engine):
    key = counted(cell, engine)
    if key is None:
        return "–"
    text = f"{cell['step_ms'][key]:.3f}"
    if key.endswith("@unpinned"):
        text += " (unpinned)"
    if key in cell.get("over_cores", []):
        text += " ⚠"
    return text


# ---------------------------------------------------------------- machine and method
def machine_lines(results):
    m = results["machine"]
    versions = ", ".join(f"{name} {m[key]}" for name, key in (
        ("NumPy", "numpy"), ("Numba", "numba"), ("TensorFlow", "tensorflow"),
        ("Keras", "keras"), ("JAX", "jax"), ("PyTorch", "torch")) if m.get(key))
    lines = [f"Machine: {m['cpu']}, {m['cores']} cores; Python {m['python']}, {versions}; "
             f"BLAS {m['blas']}. Run {m['date']} ({m['mode']} mode, {m['seconds']:.0f} s); "
             f"load average (1/5/15 min) {m['load_before']} before, {m['load_after']} after "
             f"(the machine has {m['cores']} cores; a load above that means other processes "
             f"were competing for them)."]
    if m.get("openblas_environment"):
        environment = m["openblas_environment"]
        lines += ["", "OpenBLAS in the workers: " + (", ".join(m.get("worker_blas") or [])
                                                     or "not reported")
                  + ". This process's environment had " + ", ".join(
                      f"`{k}` {v if v == 'unset' else f'= {v!r}'}"
                      for k, v in environment.items())
                  + "; the workers run with both removed."]
    if m.get("compiled_gemm"):
        lines += ["", "The compiled steps' matrix products: " + "; ".join(
            f"{TITLES.get(engine, engine)}, {source}"
            for engine, source in sorted(m["compiled_gemm"].items())) + "."]
    skipped, failed = m.get("skipped_engines") or {}, m.get("failed_engines") or {}
    if skipped or failed:
        lines += ["", "Engines not measured: " + "; ".join(
            [f"{TITLES.get(k, k)}: {v}" for k, v in skipped.items()]
            + [f"{TITLES.get(k, k)} on {model_title(model)}: {error}"
               for k, by_model in failed.items() for model, error in by_model.items()]) + "."]
    for note in m.get("notes", []):                 # what the run's operator recorded
        lines += ["", f"**Note:** {note}"]
    if m.get("synthetic_data"):
        lines += ["", f"**Data:** {', '.join(m['synthetic_data'])} not found on this machine; "
                      f"every engine trained on the same random images of the same shapes."]
    return lines


def method_lines(results):
    cells, m = results["training"], results["machine"]
    processes = min(c.get("processes", 1) for c in cells)
    per_process = m.get("repetitions_per_process")
    samples = ", ".join(f"{c['samples_per_fit']:,} samples at batch {c['batch']}"
                        for c in {c["batch"]: c for c in cells}.values())
    nice = "/".join(str(n) for n in m.get("worker_nice") or [])
    return [
        "How it is measured: every contender runs in its own worker process with the same "
        "images and labels, its own warm-up (one untimed epoch and one untimed one-batch "
        "call) and its user-facing training call: `model.fit` for numpy_nn and Keras "
        "(Keras on TensorFlow as `compile` leaves it, and with `jit_compile=True`, i.e. XLA; "
        "on JAX `fit` compiles the step with `jax.jit`), the usual `zero_grad` / forward / "
        "loss / `backward` / `step` loop for PyTorch, eager and in `torch.compile`. A worker "
        "given N threads is pinned to N cores and every thread pool of its engine is set to "
        "N; TensorFlow (with and without XLA) is also timed unpinned where the threads are "
        "fewer than the cores, and its better figure counts"
        + (f"; every worker ran at scheduling priority (nice) {nice}, ahead of other jobs"
           if nice and nice != "0" else "") + ".",
        "",
        f"Each contender's figures come from {processes} fresh worker processes (rounds: in "
        f"each round every contender at every thread count has a new process, all alive "
        f"together and timed in rotation), "
        + (f"{per_process} repetitions in each; " if per_process else "")
        + f"a repetition times one epoch over {samples} and one call over the first batch, "
        f"and their difference over N - 1 steps is the *step time*. **Ratios and their 95% "
        f"intervals are computed over processes** (each process's mean step time; the "
        f"paired log ratios of the rounds; Student's t with processes - 1 degrees of "
        f"freedom), so they include whatever differs between two processes of one engine. "
        f"The *A/A control* ({TITLES[CONTROL]}) is the headline engine again in a process "
        f"slot of its own: identical work, so its ratio to the headline shows the "
        f"between-process error, and a comparison is called faster or slower only where its "
        f"interval lies beyond that band. {TITLES[UNPRIMED]} is the headline engine with "
        f"`NUMPY_NN_PRIME_BLAS=0` (see `numpy_nn.backend.prime_blas`). The *GEMM floor* is "
        f"the same steps' matrix products alone (x W, x^T delta, and delta W^T where "
        f"backpropagation needs it) with NumPy's BLAS into preallocated outputs, timed in the "
        f"Numba-path worker (*GEMM floor, MKL*: with MKL's routine, in the MKL worker). "
        f"*Efficiency* is those products' FLOPs per second of step time over the machine's "
        f"peak SGEMM rate at the same thread count. ⚠ marks a figure whose process used more "
        f"CPU-seconds per wall-second than the cores it was given.",
    ] + settle_lines(cells)


def settle_lines(cells):
    """The wait between contenders (Worker.settle), per thread count and contender."""
    waits = {}
    for c in cells:
        for key, ms in c.get("settle_ms", {}).items():
            waits.setdefault(c["threads"], {}).setdefault(key, []).append(ms)
    if not waits:
        return []
    parts = []
    for threads, by_key in sorted(waits.items()):
        longest = sorted(by_key.items(), key=lambda kv: -statistics.median(kv[1]))[:3]
        parts.append(f"at {_threads(threads)} the longest median waits were after "
                     + ", ".join(f"{TITLES.get(k, k)} ({statistics.median(v):.0f} ms)"
                                 for k, v in longest))
    return ["", "Between one contender's turn and the next, the harness waits until the "
                "previous worker's process has used no CPU for 30 ms (at most 1 s): BLAS and "
                "OpenMP thread pools spin-wait for a while after a call, and a pool still "
                "spinning would take the cores of the next contender timed. Per cell, the "
                "median wait; " + "; ".join(parts) + "."]


# ---------------------------------------------------------------- tables
def _header(names, first=("model", "batch")):
    return ["| " + " | ".join(list(first) + list(names)) + " |",
            "|" + "---|" * (len(first) - 1) + "---:|" + "---:|" * len(names)]


def _present(cells, engine):
    return any(counted(c, engine) for c in cells)


def training_table(cells):
    """Median ms per step of every contender, and the best peer."""
    columns = [k for k in COLUMNS if _present(cells, k)]
    rows = _header([TITLES[k] + " (ms)" for k in columns] + ["best peer"])
    for c in cells:
        rows.append(f"| {model_title(c['model'])} | {c['batch']} | "
                    + " | ".join(_step(c, k) for k in columns)
                    + f" | {TITLES.get(c.get('best_peer'), '–')} |")
    unresolved = [f"{TITLES.get(k, k)} on {model_title(c['model'])}, batch {c['batch']}: {why}"
                  for c in cells for k, why in c.get("unresolved", {}).items()]
    if unresolved:
        rows += ["", "– without a time: " + "; ".join(unresolved) + "."]
    return rows


def ratio_table(cells):
    """The headline against the best peer, its floor, the A/A control and the unprimed run,
    each over processes."""
    names = {f"best_peer/{HEADLINE}": "best peer / headline",
             f"{HEADLINE}/floor": "headline / GEMM floor",
             f"{CONTROL}/{HEADLINE}": "A/A control / headline",
             f"{UNPRIMED}/{HEADLINE}": "unprimed / headline",
             "jit_mkl/floor_mkl": "MKL headline / MKL floor"}
    keys = [k for k in names if any(k in c["ratios"] for c in cells)]
    rows = _header([names[k] for k in keys])
    for c in cells:
        rows.append(f"| {model_title(c['model'])} | {c['batch']} | " + " | ".join(
            _ci(c["ratios"][k]) if k in c["ratios"] else "–" for k in keys) + " |")
    return rows


def peer_ratio_table(cells):
    """Every peer's (and numpy_nn path's) step time over the headline's, over processes."""
    keys = [k for k in ("numpy", "numba", "jit_mkl", "keras_tf", "keras_tf_xla", "keras_jax",
                        "torch", "torch_compile") if _present(cells, k)]
    rows = _header([f"{TITLES[k]} / headline" for k in keys])
    for c in cells:
        values = []
        for k in keys:
            key = counted(c, k)
            mine, theirs = c.get("process_step_ms", {}).get(HEADLINE), \
                c.get("process_step_ms", {}).get(key)
            if key is None or not mine or not theirs:
                values.append("–")
                continue
            values.append(_ci(ratio_interval(theirs, mine)))
        rows.append(f"| {model_title(c['model'])} | {c['batch']} | " + " | ".join(values) + " |")
    return rows


def spread_table(cells):
    """Each contender's between-process spread: its slowest process mean over its fastest."""
    keys = [k for k in COLUMNS + CONTROLS if any(k in c.get("process_spread", {})
                                                 for c in cells)]
    rows = _header([TITLES[k] for k in keys])
    for c in cells:
        spread = c.get("process_spread", {})
        rows.append(f"| {model_title(c['model'])} | {c['batch']} | " + " | ".join(
            f"{spread[k]:.2f}x" if k in spread else "–" for k in keys) + " |")
    return rows


def efficiency_table(results, cells):
    keys = [k for k in COLUMNS if _present(cells, k)]
    rows = _header([TITLES[k] for k in keys])
    for c in cells:
        found = efficiency(c, results.get("peak"))
        rows.append(f"| {model_title(c['model'])} | {c['batch']} | " + " | ".join(
            f"{found[counted(c, k)]:.0%}" if counted(c, k) in found else "–" for k in keys)
            + " |")
    return rows


def peak_lines(results):
    peak = results.get("peak")
    if not peak or not peak.get("peak"):
        return []
    rows = ["| threads | " + " | ".join(f"{lib} (GFLOP/s)" for lib in ("numpy", "mkl", "torch"))
            + " | peak |", "|---:|---:|---:|---:|---|"]
    for threads, by_library in sorted(peak["by_library"].items()):
        rows.append(f"| {threads} | " + " | ".join(
            f"{max(by_library[lib].values()) / 1e9:.1f}" if lib in by_library else "–"
            for lib in ("numpy", "mkl", "torch"))
            + f" | {peak['peak'][threads] / 1e9:.1f} ({peak['peak_library'][threads]}) |")
    sizes = ", ".join(str(s) for s in peak["sizes"])
    return [f"The machine's peak single-precision matrix-product rate, measured by "
            f"`benchmarks/peak.py`: square float32 products of sizes {sizes}, the best of "
            f"{peak['repeats']} per size, each library in a fresh process pinned to the "
            f"cores given (numpy: NumPy's BLAS; mkl: the MKL routine of "
            f"`NUMPY_NN_BLAS=mkl`; torch: `torch.mm`).", ""] + rows


def cpu_table(cells):
    keys = [k for k in COLUMNS + CONTROLS + ("keras_tf@unpinned", "keras_tf_xla@unpinned")
            if any(k in c["cpu_per_wall"] for c in cells)]
    rows = _header([TITLES[k] for k in keys])
    for c in cells:
        rows.append(f"| {model_title(c['model'])} | {c['batch']} | " + " | ".join(
            ("–" if k not in c["cpu_per_wall"] else f"{c['cpu_per_wall'][k]:.2f}"
             + (" ⚠" if k in c["over_cores"] else "")) for k in keys) + " |")
    return rows


def speedup_table(results):
    cells = [c for c in results["training"] if "thread_speedup" in c]
    if not cells:
        return []
    keys = [k for k in COLUMNS if any(k in c["thread_speedup"] for c in cells)]
    low = cells[0]["speedup_over"]
    rows = _header([TITLES[k] for k in keys])
    for c in cells:
        rows.append(f"| {model_title(c['model'])} | {c['batch']} | " + " | ".join(
            _ci(c["thread_speedup"][k]) if k in c["thread_speedup"] else "–" for k in keys)
            + " |")
    return [f"Speed-up from {low} to {cells[0]['threads']} threads ({low}-thread step time "
            f"over {cells[0]['threads']}-thread step time, paired by process round; above 1 "
            f"is faster with more threads):", ""] + rows


def allocation_table(results):
    rows = ["| path | model | batch | NumPy buffers / step | NumPy bytes / step | Numba "
            "allocations / step | weights (bytes) |", "|---|---|---:|---:|---:|---:|---:|"]
    for a in results["allocations"]:
        numba = a["numba_count_per_step"]
        rows.append(f"| {TITLES.get(a['engine'], a['engine'])} | {model_title(a['model'])} | "
                    f"{a['batch']} | {a['numpy_count_per_step']:.1f} | "
                    f"{a['numpy_bytes_per_step']:,.0f} | "
                    f"{'–' if numba is None else f'{numba:.1f}'} | {a['weights_bytes']:,} |")
    return rows


def kernel_table(results):
    rows = ["| kernel | operation | NumPy twin (µs) | Numba (µs) | speed-up |",
            "|---|---|---:|---:|---:|"]
    for m in results["kernels"]:
        rows.append(f"| {m['kernel']} | {m['operation']} | {m['numpy_us']:.1f} | "
                    f"{m['numba_us']:.1f} | {m['speedup']:.2f}x |")
    return rows


# ---------------------------------------------------------------- targets
def target_checks(results):
    """``[(target, measured, met)]`` in words, from :func:`benchmarks.findings.target_checks`."""
    return [(f"{HEADLINE_LABEL} {check.family}, {_check_where(check)}", _measured(check),
             check.met) for check in F.target_checks(results)]


def _check_where(check):
    """A check's place in words: (model, batch[, threads]), or an engine's label."""
    return _where(*check.where) if len(check.where) > 1 else check.where[0]


def _measured(check):
    if check.unit == "%":
        return f"{check.value:.0%}"
    if check.unit == "":
        extra = f" ({check.limit['bytes'] / 1e3:,.0f} kB of NumPy buffers)" \
            if check.value and check.limit.get("bytes") else ""
        return f"{check.value:.0f} per step{extra}"
    text = _ci(check.interval) if check.interval else f"{check.value:.2f}x"
    return text + (f" vs {TITLES[check.versus]}" if check.versus else "")


def targets_summary(checks):
    """One generated sentence per target family: how many cells met it."""
    families = {}
    for target, _, ok in checks:
        family = re.split(r",(?![^(]*\))", target)[0]     # the first comma outside brackets
        families.setdefault(family, []).append(ok)
    return [f"{family}: met in {sum(oks)} of {len(oks)} cells." for family, oks in
            families.items()]


def limit_notes(results):
    """For every target not met, what the measurements say limits it."""
    notes = []
    for check in F.target_checks(results):
        if check.met:
            continue
        where, limit = _check_where(check), check.limit
        if "band" in limit and check.versus:
            band = limit["band"]
            text = (f"{where}: {TITLES[check.versus]} / headline {_ci(check.interval)}"
                    + (f", A/A band [{band[0]:.2f}, {band[1]:.2f}]" if band else
                       ", no A/A control"))
            text += _floor_clause(check, limit)
        elif "peer_over_floor" in limit:
            text = (f"{where}: {_ci(check.interval)} vs {TITLES[check.versus]} (target "
                    f"{check.need:g}x)" + _floor_clause(check, limit))
        elif "outside_gemm_ms" in limit:
            text = (f"{where}: {limit['outside_gemm_ms']:.3f} ms per step outside the GEMMs "
                    f"({_ci(check.interval)} the floor, target {check.need:g}x)")
            if limit.get("allocations") is not None:
                text += f"; {limit['allocations']:.0f} allocations per steady step"
        elif check.unit == "%":
            text = f"{where}: {check.value:.0%} of the peak SGEMM rate"
            if limit.get("floor") is not None:
                text += (f"; the step's GEMMs alone reach {limit['floor']:.0%}, so the "
                         f"BLAS on these shapes "
                         + ("limits it" if limit["floor"] < check.need else
                            "does not, the work outside them does"))
        elif "floor" in limit:
            text = f"{where}: {_ci(check.interval)} from 1 to 2 threads"
            if limit["floor"] is not None:
                text += f"; the GEMMs alone gain {limit['floor']:.2f}x"
        elif "rss" in limit:
            stages = limit["rss"]["rss_mb"]
            text = (f"{where}: peak RSS {limit['rss']['peak_rss_mb']:.0f} MB against "
                    f"{limit['rss']['budget_mb']:.0f} MB; RSS by stage: " + ", ".join(
                        f"{k} {v:.0f} MB" for k, v in stages.items()))
        else:
            text = f"{where}: {_measured(check)}"
        notes.append(f"{check.family} — " + text + ".")
    return notes


def _floor_clause(check, limit):
    if "peer_over_floor" not in limit:
        return ""
    text = (f"; the headline spends {limit['outside_gemm_ms']:.3f} ms per step outside its "
            f"GEMMs ({limit['over_floor']:.2f}x its GEMM floor) and {TITLES[check.versus]}'s "
            f"whole step takes {limit['peer_over_floor']:.2f}x that floor (medians)")
    if limit["peer_over_floor"] < max(check.need, 1.0):
        text += (f": a step spending nothing outside these GEMMs would still not reach "
                 f"{max(check.need, 1.0):g}x, so the GEMMs limit this cell")
    return text


# ---------------------------------------------------------------- summary sentences
def _span(items, value):
    low, high = min(items, key=value), max(items, key=value)
    return low, high


def comparison_sentence(results, threads, engine=HEADLINE, label=HEADLINE_LABEL):
    found = [c for c in F.comparisons(results, engine) if c.threads == threads]
    if not found:
        return None
    faster = sum(c.verdict == "faster" for c in found)
    slower = sum(c.verdict == "slower" for c in found)
    low, high = _span(found, lambda c: c.ratio["ratio"])
    return (f"At {_threads(threads)}, {label} is faster than the fastest peer, with the whole "
            f"95% interval beyond the A/A control's band, in {faster} of {len(found)} cells "
            f"and slower in {slower} (the rest cannot be told apart); the best peer's step "
            f"time over ours ranges from {_ci(low.ratio)} ({_where(low.model, low.batch)}, "
            f"vs {TITLES[low.peer]}) to {_ci(high.ratio)} ({_where(high.model, high.batch)}, "
            f"vs {TITLES[high.peer]}).")


def control_sentence(results, threads):
    found = [(c, r) for c, r in F.control_spreads(results) if c["threads"] == threads]
    if not found:
        return None
    widest = max(found, key=lambda p: max(p[1]["high"], 1 / p[1]["low"])
                 if p[1]["low"] > 0 else float("inf"))
    low, high = _span(found, lambda p: p[1]["ratio"])
    return (f"At {_threads(threads)}, the A/A control (the headline engine in two processes "
            f"doing identical work) measured ratios from {low[1]['ratio']:.2f}x to "
            f"{high[1]['ratio']:.2f}x; the widest interval was {_ci(widest[1])} "
            f"({_where(widest[0]['model'], widest[0]['batch'])}).")


def priming_sentence(results, threads):
    found = [(c, r) for c, r in F.priming_effects(results) if c["threads"] == threads]
    if not found:
        return None
    low, high = _span(found, lambda p: p[1]["ratio"])
    beyond = sum(1 for c, r in found
                 if beyond_control(r, control_band(c)) == "above")
    low_where = _where(low[0]["model"], low[0]["batch"])
    high_where = _where(high[0]["model"], high[0]["batch"])
    return (f"At {_threads(threads)}, without the BLAS priming of `numpy_nn.backend.prime_blas` "
            f"the headline's step took from {_ci(low[1])} ({low_where}) to {_ci(high[1])} "
            f"({high_where}) as long; longer beyond the A/A band in {beyond} of "
            f"{len(found)} cells.")


def efficiency_sentence(results, threads):
    found = [(c, e) for c, e in F.efficiencies(results)
             if c["threads"] == threads and c["batch"] == max(x["batch"] for x in
                                                               F.cells(results))]
    if not found or HEADLINE not in found[0][1]:
        return None
    peak = results["peak"]
    ours = [(c, e[HEADLINE]) for c, e in found if HEADLINE in e]
    peers = [(c, max((v, k) for k, v in e.items() if is_peer(k))) for c, e in found
             if any(is_peer(k) for k in e)]
    text = (f"At {_threads(threads)} and batch {found[0][0]['batch']}, {HEADLINE_LABEL} ran "
            f"its matrix products at {min(v for _, v in ours):.0%} to "
            f"{max(v for _, v in ours):.0%} of the peak SGEMM rate "
            f"({peak['peak'][str(threads)] / 1e9:.1f} GFLOP/s, "
            f"{peak['peak_library'][str(threads)]})")
    if peers:
        text += (f"; the most efficient peer per network reached "
                 f"{min(v for _, (v, _) in peers):.0%} to {max(v for _, (v, _) in peers):.0%}")
    return text + "."


def settings_sentence(results, threads):
    """Which setting of TensorFlow won each cell (its default, XLA; pinned or not)."""
    wins = {}
    for c in F.cells(results, threads):
        options = [k for k in ("keras_tf", "keras_tf@unpinned", "keras_tf_xla",
                               "keras_tf_xla@unpinned") if k in c["step_ms"]]
        if options:
            best = min(options, key=lambda k: c["step_ms"][k])
            wins[best] = wins.get(best, 0) + 1
    if not wins:
        return None
    total = sum(wins.values())
    return (f"At {_threads(threads)}, Keras 3 on TensorFlow was fastest as "
            + ", ".join(f"{TITLES[k]} in {n} of {total} cells" for k, n in wins.items()) + ".")


def summary_lines(results):
    lines = []
    for threads in F.thread_counts(results):
        for sentence in (comparison_sentence(results, threads),
                         control_sentence(results, threads),
                         priming_sentence(results, threads),
                         efficiency_sentence(results, threads),
                         settings_sentence(results, threads)):
            if sentence:
                lines.append(sentence)
        won = F.best_peers(results, threads)
        if won:
            total = sum(won.values())
            lines.append(f"At {_threads(threads)} the fastest peer was " + ", ".join(
                f"{TITLES[k]} in {n} of {total} cells" for k, n in won.items()) + ".")
        flagged = sorted({k for c in F.cells(results, threads) for k in c["over_cores"]})
        if flagged:
            lines.append(f"At {_threads(threads)}, CPU-seconds per wall-second exceeded the "
                         f"cores given for: " + ", ".join(TITLES.get(k, k) for k in flagged)
                         + " (see the CPU table).")
    return lines


# ---------------------------------------------------------------- documents
def _training_sections(results):
    lines = ["## Training step time", ""] + method_lines(results) + [""]
    lines += peak_lines(results) + [""]
    for threads in F.thread_counts(results):
        cells = F.cells(results, threads)
        plural = "s" if threads > 1 else ""
        lines += [f"### {threads} thread{plural}: median ms per step", ""]
        lines += training_table(cells) + [""]
        lines += [f"### {threads} thread{plural}: the headline's ratios (over processes)", ""]
        lines += ratio_table(cells) + [""]
        lines += [f"### {threads} thread{plural}: every engine over the headline (above 1: "
                  f"the headline faster)", ""] + peer_ratio_table(cells) + [""]
        lines += [f"### {threads} thread{plural}: between-process spread (slowest process "
                  f"mean over fastest)", ""] + spread_table(cells) + [""]
        if results.get("peak"):
            lines += [f"### {threads} thread{plural}: efficiency (GEMM FLOP/s over the peak "
                      f"SGEMM rate)", ""] + efficiency_table(results, cells) + [""]
        lines += [f"### {threads} thread{plural}: CPU-seconds per wall-second (allowed: "
                  f"{threads})", ""] + cpu_table(cells) + [""]
    speedups = speedup_table(results)
    if speedups:
        lines += ["## Threads", ""] + speedups + [""]
    return lines


def _memory_sections(results):
    lines = []
    if results.get("allocations"):
        lines += ["## Allocations per steady training step", "",
                  "Counted in a fresh process per row: NumPy data buffers through a counting "
                  "NumPy memory handler, Numba's runtime allocations through its statistics "
                  "(`NUMBA_NRT_STATS=1`); an N-step epoch minus a one-step one, over N - 1, "
                  "after a warm-up epoch.", ""] + allocation_table(results) + [""]
    if results.get("peak_rss"):
        stages = list(next(iter(results["peak_rss"].values()))["rss_mb"])
        lines += ["## Memory (one epoch of Fashion-MNIST, each engine in its own process)", "",
                  "*Budget* is the training images and labels, the model's weights and the "
                  "optimizer's state, in bytes.", "",
                  "| engine | peak RSS (MB) | budget (MB) | peak / budget | "
                  + " | ".join(f"RSS {s} (MB)" for s in stages) + " |",
                  "|---|---:|---:|---:|" + "---:|" * len(stages)]
        for label, r in results["peak_rss"].items():
            budget = r.get("budget_mb")
            lines.append(f"| {label} | {r['peak_rss_mb']:.0f} | "
                         + (f"{budget:.0f} | {r['peak_rss_mb'] / budget:.2f}x | " if budget
                            else "– | – | ")
                         + " | ".join(f"{r['rss_mb'][s]:.0f}" for s in stages) + " |")
        lines.append("")
    if results.get("kernels"):
        lines += ["## Kernels vs their NumPy twins (batch 32)", ""] + kernel_table(results)
        lines.append("")
    if results.get("cold_start"):
        lines += ["## Cold start (fresh process: import, build, first training step)", "",
                  "| engine | import done (s) | first step done (s) | whole process (s) |",
                  "|---|---:|---:|---:|"]
        for label, c in results["cold_start"].items():
            lines.append(f"| {label} | {c['import_seconds']:.2f} | "
                         f"{c['first_step_seconds']:.2f} | {c['process_seconds']:.2f} |")
        lines.append("")
    return lines


def markdown(results):
    lines = ["# CPU benchmarks: numpy_nn against Keras 3 (TensorFlow, JAX) and PyTorch", ""]
    lines += machine_lines(results) + [""]
    if results.get("training"):
        lines += ["## Summary", ""] + [f"- {s}" for s in summary_lines(results)] + [""]
        lines += _training_sections(results)
        lines += ["![Training throughput by model and batch size](throughput.png)", ""]
        if results.get("peak"):
            lines += ["![Efficiency against the peak SGEMM rate](efficiency.png)", ""]
    lines += _memory_sections(results)
    checks = target_checks(results)
    if checks:
        lines += ["## Targets", ""] + [f"- {s}" for s in targets_summary(checks)] + [""]
        lines += ["| target | measured | |", "|---|---|---|"]
        lines += [f"| {t} | {m} | {'met' if ok else '**not met**'} |" for t, m, ok in checks]
        lines.append("")
    notes = limit_notes(results)
    if notes:
        lines += ["## What limits the targets that are not met", ""]
        lines += [f"- {n}" for n in notes] + [""]
    return "\n".join(lines)


def front_page_section(results):
    """The README's few lines: the machine and date, and per thread count how the headline
    engine compares with the fastest peer."""
    m = results["machine"]
    sentences = [comparison_sentence(results, threads)
                 for threads in F.thread_counts(results)]
    lines = [FRONT_START, f"{m['cpu']}, {m['cores']} cores, BLAS {m['blas']}; run {m['date']} "
                          f"({m['mode']} mode).", ""]
    lines += [f"- {s}" for s in sentences if s]
    lines += ["", "Every engine, interval, A/A control, GEMM floor, efficiency figure and target "
                  "is in [speed and benchmarks](docs/reports/benchmarks.md).", FRONT_END]
    return "\n".join(lines)


def readme_section(results):
    """The summary block written into ``benchmarks/results/summary.md`` (links relative to
    that folder); the site's benchmark page includes it."""
    lines = [START, "", *machine_lines(results), ""]
    if results.get("training"):
        lines += [f"- {s}" for s in summary_lines(results)] + [""]
        checks = target_checks(results)
        if checks:
            lines += [f"- Target {s}" for s in targets_summary(checks)] + [""]
        lines += ["The method, every table (step times, ratios over processes, the A/A control, "
                  "between-process spreads, efficiency, CPU use, threads, allocations, memory) "
                  "and what limits each target are in "
                  "[`benchmarks/results/benchmarks.md`](benchmarks.md).", ""]
    lines += ["![Training throughput by model and batch size](throughput.png)", ""]
    if results.get("peak"):
        lines += ["![Efficiency against the peak SGEMM rate](efficiency.png)", ""]
    lines.append(END)
    return "\n".join(lines)


def update_readme(readme_path, section, start=START, end=END):
    """Replace the block between ``start`` and ``end`` of the Markdown file with ``section``
    (which carries the markers); a file without the block is an error."""
    with open(readme_path, encoding="utf-8") as handle:
        text = handle.read()
    if start not in text or end not in text:
        raise SystemExit(f"{readme_path} has no {start} ... {end} block")
    text = re.sub(re.escape(start) + ".*?" + re.escape(end), lambda _: section, text,
                  flags=re.DOTALL)
    write_text(readme_path, text)
    return readme_path
