"""Turn the benchmark results into a Markdown report, a PNG plot and the README section.

Every sentence that states a result is assembled here from the measured figures (the
functions below take the results dict and nothing else), so a re-run rewrites them all.
"""
from __future__ import annotations

import re
import statistics

from benchmarks.harness import FUSED_FLOORS, PEERS, TITLES

TARGETS = {
    "best_peer_1_thread": 1.5,    # Numba path vs the best peer, every cell, 1 thread
    "best_peer_2_threads": 1.2,   # ... 2 threads
    "floor_batch_32": 1.15,       # Numba step time over the GEMM floor, batch 32, 1 thread
    "floor_batch_1024": 1.05,     # ... batch 1024
    "two_thread_speedup": 1.6,    # 1-thread over 2-thread step time, batch 1024
    "peak_rss_over_budget": 1.2,  # peak RSS over (dataset + model + optimizer state)
    "allocations_per_step": 0,    # NumPy buffers + Numba allocations per steady step
}
MODEL_TITLES = {"leaky_relu_mlp": "LeakyReLU 300-100 MLP", "batch_norm_mlp": "BN 300-100 MLP",
                "selu_100": "SELU, 100 hidden layers", "elu_20x100_cifar": "ELU 20x100, CIFAR-10"}
START, END = "<!-- bench:start -->", "<!-- bench:end -->"
#: The README's summary block (``front_page_section``).
FRONT_START, FRONT_END = "<!-- bench-summary:start -->", "<!-- bench-summary:end -->"
#: The engine the README's summary speaks for: ``fit`` with ``jit_compile=True`` when the run
#: measured it, else the Numba path's ``fit`` (runs from before ``jit_compile``).
HEADLINE = (("jit", "`fit` with `jit_compile=True`"), ("numba", "the Numba path (`fit`)"))
COLUMNS = ("numpy", "numba", "jit", "jit_mkl", "fused", "fused_mkl", "fused_fastest", "keras_tf",
           "keras_jax",
           "torch", "torch_compile", "floor", "floor_mkl", "floor_fastest")
# the compiled steps (jit_compile=True, and the fused step of runs recorded before it), the GEMM
# floor each is compared with, and their names in sentences
FUSED = tuple((fused, FUSED_FLOORS[fused], name, floor_name) for fused, name, floor_name in (
    ("jit", "compiled fit", "the GEMM floor"),
    ("jit_mkl", "compiled fit (MKL)", "MKL's GEMM floor"),
    ("fused", "fused step", "the GEMM floor"),
    ("fused_mkl", "fused step (MKL)", "MKL's GEMM floor"),
    ("fused_fastest", "fused step (fastest BLAS)", "the chosen libraries' GEMM floor")))
# columns shown only when some cell has them
OPTIONAL_COLUMNS = ("jit", "jit_mkl", "fused", "fused_mkl", "fused_fastest", "floor_mkl",
                    "floor_fastest")
#: a Dense layer's three products (the compiled step's order)
PRODUCTS = ("x W", "delta W^T", "x^T delta")


def _mark(ok):
    return "met" if ok else "**not met**"


def model_title(name):
    return MODEL_TITLES.get(name, name)


def thread_counts(results):
    return sorted({c["threads"] for c in results.get("training", [])})


def _ci(r, digits=2):
    return f"{r['ratio']:.{digits}f}x [{r['low']:.{digits}f}, {r['high']:.{digits}f}]"


def _tf_key(cell):
    return cell.get("keras_tf_counted", "keras_tf")


def _step(cell, key):
    if key == "keras_tf":
        key = _tf_key(cell)
    value = cell["step_ms"].get(key)
    if value is None:
        return "–"
    text = f"{value:.3f}"
    if key == "keras_tf@unpinned":
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
    if m.get("compiled_gemm"):
        lines += ["", "The compiled steps' matrix products: " + "; ".join(
            f"{TITLES.get(engine, engine)}, {source}"
            for engine, source in sorted(m["compiled_gemm"].items())) + "."]
    skipped = m.get("skipped_engines") or {}
    failed = m.get("failed_engines") or {}
    if skipped or failed:
        lines += ["", "Engines not measured: " + "; ".join(
            [f"{TITLES.get(k, k)}: {v}" for k, v in skipped.items()]
            + [f"{TITLES.get(k, k)} on {model_title(model)}: {error}"
               for k, by_model in failed.items() for model, error in by_model.items()]) + "."]
    for again in m.get("remeasured", []):
        lines += ["", f"{again['what']} were "
                      f"measured again in a run of their own ({again['date']}, load average "
                      f"{again['load_before']} before, {again['load_after']} after), every "
                      f"engine interleaved as in the main run: {again['reason']}."]
    compiled = [c for c in results.get("training", []) if "torch_compile" in c["step_ms"]]
    if compiled:
        lines += ["", f"torch.compile worked on this CPU (TorchInductor's C++ code generation) "
                      f"and was measured in {len(compiled)} of "
                      f"{len(results['training'])} cells; its compile time is part of its "
                      f"untimed warm-up."]
    if m.get("synthetic_data"):
        lines += ["", f"**Data:** {', '.join(m['synthetic_data'])} not found on this machine; "
                      f"every engine trained on the same random images of the same shapes."]
    return lines


def method_lines(results):
    cells = results["training"]
    reps = min(c["repetitions"] for c in cells)
    samples = ", ".join(f"{c['samples_per_fit']:,} samples at batch {c['batch']}"
                        for c in {c["batch"]: c for c in cells}.values())
    return [
        "How it is measured: every engine runs in its own process, with the same images and "
        "labels, its own warm-up (one untimed epoch and one untimed one-batch call), and its "
        "user-facing training call: `model.fit` for numpy_nn and Keras (on JAX, `fit` compiles "
        "the whole training step with `jax.jit`), the usual `zero_grad` / forward / loss / "
        "`backward` / `step` loop for PyTorch, with the module wrapped in `torch.compile` "
        "for the compiled variant. A worker given N threads is pinned to N cores "
        "(`os.sched_setaffinity`, before any library starts a thread) and every thread "
        "pool of its engine is set to N (threadpoolctl for BLAS/OpenMP, TensorFlow's "
        "intra- and inter-op pools, `torch.set_num_threads`, XLA's "
        "`--xla_cpu_multi_thread_eigen=false` at one thread). TensorFlow is also timed "
        "unpinned wherever the threads given are fewer than the cores (pinned, its helper "
        "threads share the one core), and its better figure is the one shown and compared "
        "(marked *unpinned* when it is that one)."
        + (f" The workers ran at scheduling priority (nice) "
           f"{'/'.join(str(n) for n in results['machine']['worker_nice'])}, ahead of the "
           f"other jobs on this machine, every engine alike."
           if any(results["machine"].get("worker_nice") or []) else ""),
        "",
        f"Each repetition times two calls per engine, one epoch over the first training "
        f"images ({samples}) and one over the first batch; their difference over N - 1 "
        f"steps is the *step time* (the fixed cost of a call, e.g. Keras's data adapter, is "
        f"reported apart). {reps} repetitions, every engine at every thread count in one "
        f"rotation per repetition. Ratios are geometric means of the per-repetition ratios "
        f"with 95% t-intervals in brackets. The *GEMM floor* is the same steps' matrix "
        f"products alone (x W, x^T delta, and delta W^T where backpropagation needs it) "
        f"with NumPy's BLAS, into preallocated outputs"
        + ("; *GEMM floor, MKL* is the same products with the MKL routine the fused step, MKL "
           "calls (`NUMPY_NN_BLAS=mkl`)"
           if any("floor_mkl" in c["step_ms"] for c in cells) else "")
        + ("; *GEMM floor, chosen BLAS* is the same products, each with the library the fused "
           "step, fastest BLAS per product chose for it when it made the batch size's "
           "buffers (`NUMPY_NN_BLAS=fastest`; the choices are listed below the CPU table)"
           if any("floor_fastest" in c["step_ms"] for c in cells) else "")
        + ". ⚠ marks a figure whose process used more CPU-seconds per wall-second than the "
        "cores it was given.",
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
        parts.append(f"at {threads} thread(s) the longest median waits were after "
                     + ", ".join(f"{TITLES.get(k, k)} ({statistics.median(v):.0f} ms)"
                                 for k, v in longest))
    return ["", "Between one contender's turn and the next, the harness waits until the "
                "previous worker's process has used no CPU for 30 ms (at most 1 s): BLAS and "
                "OpenMP thread pools spin-wait for a while after a call, and a pool still "
                "spinning would take the cores of the next contender timed. Per cell, the "
                "median wait; " + "; ".join(parts) + "."]


# ---------------------------------------------------------------- tables
def _present(cells, key):
    return any(key in c["step_ms"] for c in cells)


def training_table(cells):
    columns = [k for k in COLUMNS if k not in OPTIONAL_COLUMNS or _present(cells, k)]
    ratio_keys = {"best_peer/numba": "best peer / Numba", "numba/floor": "Numba / floor"}
    for fused, floor, name, _ in FUSED:
        if fused in columns:
            ratio_keys[f"best_peer/{fused}"] = f"best peer / {name}"
            ratio_keys[f"{fused}/{floor}"] = f"{name} / {TITLES[floor]}"
    header = ("| model | batch | " + " | ".join(TITLES[c] + " (ms)" for c in columns)
              + " | best peer | " + " | ".join(ratio_keys.values()) + " |")
    rows = [header, "|---|---:|" + "---:|" * len(columns) + "---|" + "---:|" * len(ratio_keys)]
    for c in cells:
        r = c["ratios"]
        best = TITLES.get(c.get("best_peer"), "–")
        rows.append(f"| {model_title(c['model'])} | {c['batch']} | "
                    + " | ".join(_step(c, k) for k in columns)
                    + f" | {best} | "
                    + " | ".join(_ci(r[k]) if k in r else "–" for k in ratio_keys) + " |")
    unresolved = [f"{TITLES.get(k, k)} on {model_title(c['model'])}, batch {c['batch']}: {why}"
                  for c in cells for k, why in c.get("unresolved", {}).items()]
    if unresolved:
        rows += ["", "– without a time: " + "; ".join(unresolved) + "."]
    return rows


def peer_ratio_table(cells):
    peers = [p for p in PEERS if any(p in c["step_ms"] or (p == "keras_tf" and "keras_tf"
                                                             in c["step_ms"]) for c in cells)]
    ours = ["numpy"] + [fused for fused, *_ in FUSED if _present(cells, fused)]
    rows = ["| model | batch | " + " | ".join(
        f"{TITLES[p]} / Numba" for p in ours + peers) + " |",
        "|---|---:|" + "---:|" * len(ours + peers)]
    for c in cells:
        r = c["ratios"]
        keys = ours + [_tf_key(c) if p == "keras_tf" else p for p in peers]
        rows.append(f"| {model_title(c['model'])} | {c['batch']} | "
                    + " | ".join(_ci(r[f"{k}/numba"]) if f"{k}/numba" in r else "–"
                                 for k in keys) + " |")
    return rows


def cpu_table(cells):
    keys = [k for k in COLUMNS + ("keras_tf@unpinned",)
            if any(k in c["cpu_per_wall"] for c in cells)]
    rows = ["| model | batch | " + " | ".join(TITLES[k] for k in keys) + " |",
            "|---|---:|" + "---:|" * len(keys)]
    for c in cells:
        rows.append(f"| {model_title(c['model'])} | {c['batch']} | " + " | ".join(
            ("–" if k not in c["cpu_per_wall"] else f"{c['cpu_per_wall'][k]:.2f}"
             + (" ⚠" if k in c["over_cores"] else "")) for k in keys) + " |")
    return rows


def gemm_choice_table(cells, engine="fused_fastest"):
    """Per cell, the library each product of ``engine``'s step used (empty: not measured)."""
    cells = [c for c in cells if engine in c.get("gemm_choices", {})]
    if not cells:
        return []
    rows = ["| model | batch | libraries per layer (x W / delta W^T / x^T delta) | "
            "products on MKL |", "|---|---:|---|---:|"]
    for c in cells:
        units = c["gemm_choices"][engine]
        text = ", ".join("/".join(unit.get(product, "–") for product in PRODUCTS)
                         for unit in units)
        libraries = [library for unit in units for library in unit.values()]
        rows.append(f"| {model_title(c['model'])} | {c['batch']} | {_compress(text)} | "
                    f"{libraries.count('mkl')} of {len(libraries)} |")
    return rows


def _compress(text):
    """``a, a, a, b`` -> ``a x3, b``: long chains of identical layers read at a glance."""
    parts, out = text.split(", "), []
    for part in parts:
        if out and out[-1][0] == part:
            out[-1][1] += 1
        else:
            out.append([part, 1])
    return ", ".join(p if n == 1 else f"{p} ×{n}" for p, n in out)


def cpu_time_table(cells):
    keys = [k for k in COLUMNS if any(k in c.get("cpu_step_ms", {}) for c in cells)]
    rows = ["| model | batch | " + " | ".join(f"{TITLES[k]} (CPU ms)" for k in keys)
            + " | best peer / Numba (CPU time) |", "|---|---:|" + "---:|" * len(keys) + "---:|"]
    for c in cells:
        cpu, ratios = c.get("cpu_step_ms", {}), c.get("cpu_ratios", {})
        best = c.get("best_peer")
        rows.append(f"| {model_title(c['model'])} | {c['batch']} | " + " | ".join(
            f"{cpu[k]:.3f}" if k in cpu else "–" for k in keys) + " | "
            + (f"{TITLES[best]} " + _ci(ratios[f"{best}/numba"])
               if best and f"{best}/numba" in ratios else "–") + " |")
    return rows


def speedup_table(results):
    cells = [c for c in results["training"] if "thread_speedup" in c]
    if not cells:
        return []
    keys = [k for k in COLUMNS if any(k in c["thread_speedup"] for c in cells)]
    low = cells[0]["speedup_over"]
    rows = ["| model | batch | " + " | ".join(
        f"{TITLES[k]}" for k in keys) + " |", "|---|---:|" + "---:|" * len(keys)]
    for c in cells:
        rows.append(f"| {model_title(c['model'])} | {c['batch']} | " + " | ".join(
            _ci(c["thread_speedup"][k]) if k in c["thread_speedup"] else "–" for k in keys)
            + " |")
    return [f"Speed-up from {low} to {cells[0]['threads']} threads ({low}-thread step time "
            f"over {cells[0]['threads']}-thread step time, repetition by repetition; above 1 "
            f"is faster with more threads):", ""] + rows


def allocation_table(results):
    rows = ["| path | model | batch | NumPy buffers / step | NumPy bytes / step | Numba "
            "allocations / step | weights (bytes) |", "|---|---|---:|---:|---:|---:|---:|"]
    for a in results["allocations"]:
        numba = a["numba_count_per_step"]
        rows.append(f"| {a['engine']} | {model_title(a['model'])} | {a['batch']} | "
                    f"{a['numpy_count_per_step']:.1f} | {a['numpy_bytes_per_step']:,.0f} | "
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
def _cells(results, threads=None, model=None, batch=None):
    return [c for c in results.get("training", [])
            if (threads is None or c["threads"] == threads)
            and (model is None or c["model"] == model) and (batch is None or c["batch"] == batch)]


def target_checks(results):
    """``[(target, measured, met)]``, every one computed from the results."""
    checks = []
    for ours, floor, label, floor_name in (("numba", "floor", "Numba path", "the GEMM floor"),
                                           *[(f, fl, n[0].upper() + n[1:], fn)
                                             for f, fl, n, fn in FUSED]):
        for threads, key in ((1, "best_peer_1_thread"), (2, "best_peer_2_threads")):
            need = TARGETS[key]
            for c in _cells(results, threads):
                r = c["ratios"].get(f"best_peer/{ours}")
                if r:
                    checks.append((f"{label} >= {need:g}x the best peer, "
                                   f"{model_title(c['model'])}, batch {c['batch']}, "
                                   f"{threads} thread(s)",
                                   f"{_ci(r)} vs {TITLES[c['best_peer']]}", r["ratio"] >= need))
        for batch, key in ((32, "floor_batch_32"), (1024, "floor_batch_1024")):
            need = TARGETS[key]
            for c in _cells(results, 1, batch=batch):
                r = c["ratios"].get(f"{ours}/{floor}")
                if r:
                    checks.append((f"{label} <= {need:g}x {floor_name}, "
                                   f"{model_title(c['model'])}, batch {batch}, 1 thread",
                                   _ci(r), r["ratio"] <= need))
    need = TARGETS["two_thread_speedup"]
    for c in _cells(results, batch=1024):
        r = c.get("thread_speedup", {}).get("numba")
        if r:
            checks.append((f"{c['threads']} threads >= {need:g}x faster than "
                           f"{c['speedup_over']}, Numba path, {model_title(c['model'])}, "
                           f"batch 1024", _ci(r), r["ratio"] >= need))
    for label, rss in results.get("peak_rss", {}).items():
        if label.startswith("numpy_nn") and rss.get("budget_mb"):
            ratio = rss["peak_rss_mb"] / rss["budget_mb"]
            checks.append((f"Peak RSS <= {TARGETS['peak_rss_over_budget']:g}x (dataset + "
                           f"model + optimizer state) for {label}, one Fashion-MNIST epoch",
                           f"{ratio:.2f}x ({rss['peak_rss_mb']:.0f} MB / "
                           f"{rss['budget_mb']:.0f} MB)",
                           ratio <= TARGETS["peak_rss_over_budget"]))
    for a in results.get("allocations", []):
        labels = {"numba": "Numba path", **{f: name for f, _, name, _ in FUSED}}
        if a["engine"] not in labels:
            continue
        count = a["numpy_count_per_step"] + (a["numba_count_per_step"] or 0)
        label = labels[a["engine"]]
        buffers = (f" ({a['numpy_bytes_per_step'] / 1e3:,.0f} kB of NumPy buffers)"
                   if a["numpy_count_per_step"] else "")
        checks.append((f"No allocation in the steady training step ({label}), "
                       f"{model_title(a['model'])}, batch {a['batch']}",
                       f"{count:.0f} per step{buffers}", count == 0))
    return checks


def targets_summary(checks):
    """One generated sentence per target family: how many cells met it."""
    families = {}
    for target, _, ok in checks:
        family = re.split(r",(?![^(]*\))", target)[0]     # the first comma outside brackets
        families.setdefault(family, []).append(ok)
    return [f"{family}: met in {sum(oks)} of {len(oks)} cells." for family, oks in
            families.items()]


# ---------------------------------------------------------------- summary sentences
def _summary_sentence(results, threads, ours, label):
    cells = [c for c in _cells(results, threads) if f"best_peer/{ours}" in c["ratios"]]
    if not cells:
        return None
    ratios = [c["ratios"][f"best_peer/{ours}"] for c in cells]
    faster = [c for c, r in zip(cells, ratios) if r["low"] > 1]
    slower = [c for c, r in zip(cells, ratios) if r["high"] < 1]
    worst = min(zip(cells, ratios), key=lambda p: p[1]["ratio"])
    best = max(zip(cells, ratios), key=lambda p: p[1]["ratio"])
    return (f"At {threads} thread(s), {label} is faster than the fastest peer with 95% "
            f"confidence in {len(faster)} of {len(cells)} cells and slower in {len(slower)} "
            f"(the rest are within the interval); the best peer's step time divided by ours "
            f"ranges from {worst[1]['ratio']:.2f}x ({model_title(worst[0]['model'])}, batch "
            f"{worst[0]['batch']}, vs {TITLES[worst[0]['best_peer']]}) to "
            f"{best[1]['ratio']:.2f}x ({model_title(best[0]['model'])}, batch "
            f"{best[0]['batch']}, vs {TITLES[best[0]['best_peer']]}).")


def summary_lines(results):
    lines = []
    for threads in thread_counts(results):
        for ours, label in (("numba", "the Numba path (`fit`)"),
                            ("jit", "`fit` with `jit_compile=True`"),
                            ("jit_mkl", "`fit` with `jit_compile=True` calling MKL's GEMMs"),
                            ("fused", "the fused step (the compiled whole step before "
                                      "`jit_compile`, run by its own loop)"),
                            ("fused_mkl", "the fused step calling MKL's GEMMs"),
                            ("fused_fastest", "the fused step with the faster BLAS per "
                                              "product")):
            sentence = _summary_sentence(results, threads, ours, label)
            if sentence:
                lines.append(sentence)
        for floor, label in (("floor_mkl", "with MKL"),
                             ("floor_fastest", "with the library chosen per product")):
            gemms = [c["ratios"][f"{floor}/floor"] for c in _cells(results, threads)
                     if f"{floor}/floor" in c["ratios"]]
            if gemms:
                low = min(gemms, key=lambda r: r["ratio"])
                high = max(gemms, key=lambda r: r["ratio"])
                lines.append(f"At {threads} thread(s), the steps' GEMMs {label} took from "
                             f"{_ci(low)} to {_ci(high)} the time they took with NumPy's "
                             f"BLAS ({len(gemms)} cells; below 1: faster).")
        if threads == 1:
            cpu = [(c, c["cpu_ratios"][f"{c['best_peer']}/numba"])
                   for c in _cells(results, 1) if c.get("best_peer")
                   and f"{c['best_peer']}/numba" in c.get("cpu_ratios", {})]
            if cpu:
                low = min(cpu, key=lambda p: p[1]["ratio"])
                high = max(cpu, key=lambda p: p[1]["ratio"])
                lines.append(
                    f"Counted in CPU time per step instead (which other processes disturb "
                    f"far less), the same peer's cost over the Numba path's at 1 thread "
                    f"ranges from {low[1]['ratio']:.2f}x ({model_title(low[0]['model'])}, "
                    f"batch {low[0]['batch']}) to {high[1]['ratio']:.2f}x "
                    f"({model_title(high[0]['model'])}, batch {high[0]['batch']}), above 1 "
                    f"in {sum(r['ratio'] > 1 for _, r in cpu)} of {len(cpu)} cells.")
        cells = [c for c in _cells(results, threads) if c.get("best_peer")]
        winners = {}
        for c in cells:
            winners[TITLES[c["best_peer"]]] = winners.get(TITLES[c["best_peer"]], 0) + 1
        if winners:
            lines.append(f"At {threads} thread(s) the fastest peer was " + ", ".join(
                f"{name} in {n} of {len(cells)} cells" for name, n in winners.items()) + ".")
        flagged = sorted({k for c in _cells(results, threads) for k in c["over_cores"]})
        if flagged:
            lines.append(f"At {threads} thread(s), CPU-seconds per wall-second exceeded the "
                         f"cores given for: " + ", ".join(TITLES.get(k, k) for k in flagged)
                         + " (see the CPU table).")
    return lines


def limit_notes(results):
    """For every target not met, what the measurements say limits it."""
    notes = []
    for c in results.get("training", []):
        r = c["ratios"]
        need = TARGETS["best_peer_1_thread" if c["threads"] == 1 else "best_peer_2_threads"]
        if "best_peer/numba" in r and r["best_peer/numba"]["ratio"] < need \
                and "numba/floor" in r:
            best = c["best_peer"]
            peer_floor = r.get(f"{best}/floor", {}).get("ratio")
            overhead = c["step_ms"]["numba"] - c["step_ms"]["floor"]
            text = (f"{model_title(c['model'])}, batch {c['batch']}, {c['threads']} thread(s): "
                    f"Numba {r['best_peer/numba']['ratio']:.2f}x {TITLES[best]} (target "
                    f"{need:g}x). The Numba step is {r['numba/floor']['ratio']:.2f}x the GEMM "
                    f"floor ({overhead:.3f} ms per step outside the GEMMs)")
            if peer_floor is not None and peer_floor < 1:
                text += (f"; {TITLES[best]} takes {peer_floor:.2f}x the time of those GEMMs "
                         f"alone: its own matrix products outrun NumPy's BLAS here, so no "
                         f"engine built on these GEMMs can reach the target in this cell")
            elif peer_floor is not None:
                text += (f"; {TITLES[best]} runs at {peer_floor:.2f}x that floor, so an "
                         f"engine spending nothing outside these GEMMs would be "
                         f"{peer_floor:.2f}x faster than it")
                if peer_floor < need:
                    text += (", below the target: the GEMMs themselves (OpenBLAS here) "
                             "limit this cell")
            floor_gain = c.get("thread_speedup", {}).get("floor")
            if floor_gain and floor_gain["ratio"] < 1:
                text += (f". With {c['threads']} threads the GEMMs alone take "
                         f"{1 / floor_gain['ratio']:.2f}x as long as with "
                         f"{c['speedup_over']} ({_ci(floor_gain)} speed-up): OpenBLAS's threads "
                         f"wait for each other at every product while other processes hold "
                         f"the cores")
            notes.append(text + ".")
        for fused, floor, name, floor_name in FUSED:
            ratio = r.get(f"best_peer/{fused}")
            if not ratio or ratio["ratio"] >= need or floor not in c["step_ms"]:
                continue
            ms, best = c["step_ms"], c["best_peer"]
            text = (f"{model_title(c['model'])}, batch {c['batch']}, {c['threads']} thread(s): "
                    f"{name} {ratio['ratio']:.2f}x {TITLES[best]} (target {need:g}x). It "
                    f"spends {ms[fused] - ms[floor]:.3f} ms per step outside its GEMMs "
                    f"({ms[fused] / ms[floor]:.2f}x {floor_name}, medians), and "
                    f"{TITLES[best]}'s whole step takes {ms[best] / ms[floor]:.2f}x the time "
                    f"of those GEMMs")
            if ms[best] < need * ms[floor]:
                text += (f": even a step spending nothing outside the GEMMs would be "
                         f"{ms[best] / ms[floor]:.2f}x {TITLES[best]}, below the target, so "
                         f"the GEMMs themselves limit this cell")
            notes.append(text + ".")
    allocations = {(a["model"], a["batch"]): a for a in results.get("allocations", [])
                   if a["engine"] == "numba"}
    for batch, key in ((32, "floor_batch_32"), (1024, "floor_batch_1024")):
        for c in _cells(results, 1, batch=batch):
            r = c["ratios"].get("numba/floor")
            if r and r["ratio"] > TARGETS[key]:
                a = allocations.get((c["model"], batch))
                extra = (f"; the step allocates {a['numpy_count_per_step']:.0f} NumPy buffers "
                         f"({a['numpy_bytes_per_step'] / 1e3:,.0f} kB) and "
                         f"{a['numba_count_per_step'] or 0:.0f} times through Numba's "
                         f"runtime"
                         if a else "")
                notes.append(f"{model_title(c['model'])}, batch {batch}, 1 thread: "
                             f"{c['step_ms']['numba'] - c['step_ms']['floor']:.3f} ms per "
                             f"step outside the GEMMs ({r['ratio']:.2f}x the floor, target "
                             f"{TARGETS[key]:g}x){extra}.")
    for c in _cells(results, batch=1024):
        s = c.get("thread_speedup", {})
        if "numba" in s and s["numba"]["ratio"] < TARGETS["two_thread_speedup"] \
                and "floor" in s:
            notes.append(f"{model_title(c['model'])}, batch 1024: the Numba path gains "
                         f"{s['numba']['ratio']:.2f}x from {c['speedup_over']} to "
                         f"{c['threads']} threads; the GEMMs alone gain "
                         f"{s['floor']['ratio']:.2f}x, with the other processes on this "
                         f"machine competing for the second core (load average "
                         f"{results['machine']['load_before']} before the run).")
    for label, rss in results.get("peak_rss", {}).items():
        if label.startswith("numpy_nn") and rss.get("budget_mb") and \
                rss["peak_rss_mb"] > TARGETS["peak_rss_over_budget"] * rss["budget_mb"]:
            stages = rss["rss_mb"]
            first_step = stages["after the first step"] - stages["after loading the data"]
            transient = rss["peak_rss_mb"] - max(stages.values())
            notes.append(f"{label}: peak RSS {rss['peak_rss_mb']:.0f} MB against "
                         f"{rss['budget_mb']:.0f} MB of data, weights and optimizer state. "
                         f"The process holds {stages['after import']:.0f} MB after its "
                         f"imports (the interpreter and NumPy) and "
                         f"{stages['after loading the data']:.0f} MB with the data loaded; "
                         f"the first step adds {first_step:.0f} MB"
                         + (" (Numba and LLVM load and compile there)" if "Numba" in label
                            else "")
                         + (f"; the peak is {transient:.0f} MB above every stage's figure, "
                            f"so it is transient (between the stages measured, e.g. while the "
                            f"loader holds the uint8 images beside their float32 copy)."
                            if transient >= 1 else
                            "; the peak is what the process holds once training runs, so "
                            "the steady footprint itself is over the target."))
    return notes


# ---------------------------------------------------------------- documents
def markdown(results):
    lines = ["# CPU benchmarks: numpy_nn against Keras 3 (TensorFlow, JAX) and PyTorch", ""]
    lines += machine_lines(results) + [""]
    if results.get("training"):
        lines += ["## Summary", ""] + [f"- {s}" for s in summary_lines(results)] + [""]
        lines += ["## Training step time", ""] + method_lines(results) + [""]
        for threads in thread_counts(results):
            cells = _cells(results, threads)
            plural = "s" if threads > 1 else ""
            lines += [f"### {threads} thread{plural}: median ms per step", ""]
            lines += training_table(cells) + [""]
            lines += [f"### {threads} thread{plural}: every ratio to the Numba path "
                      f"(above 1: Numba faster)", ""] + peer_ratio_table(cells) + [""]
            lines += [f"### {threads} thread{plural}: CPU-seconds per wall-second "
                      f"(allowed: {threads})", ""] + cpu_table(cells) + [""]
            choices = gemm_choice_table(cells)
            if choices:
                lines += [f"### {threads} thread{plural}: the library each GEMM of the fused "
                          f"step, fastest BLAS per product used", "",
                          "Per Dense layer (in order), the products x W / delta W^T / "
                          "x^T delta, as timed once by the trainer in this worker when it "
                          "made the batch size's buffers (– : a product the step does not "
                          "compute).", ""] + choices + [""]
            if threads == 1:
                lines += ["### 1 thread: CPU time per step", "",
                          "CPU time counts only the time a process ran, so it moves far "
                          "less than wall time when other processes compete for the "
                          "cores.", ""] + cpu_time_table(cells) + [""]
        speedups = speedup_table(results)
        if speedups:
            lines += ["## Threads", ""] + speedups + [""]
    if results.get("allocations"):
        lines += ["## Allocations per steady training step", "",
                  "Counted in a fresh process per row: NumPy data buffers through a counting "
                  "NumPy memory handler, Numba's runtime allocations through its statistics "
                  "(`NUMBA_NRT_STATS=1`); an N-step epoch minus a one-step one, over N - 1, "
                  "after a warm-up epoch. Numba's count includes the small record its runtime "
                  "makes for every array passed into a compiled function (measured: 2 for one "
                  "call updating a weight from its gradient), which holds no array data. The "
                  "bytes also hold, spread over the steps, what a call allocates once in "
                  "proportion to its samples (the epoch's shuffled order, the labels as "
                  "integers), so a row with no buffer per step can still show bytes.", ""]
        again = results["machine"].get("allocations_remeasured")
        if again:
            lines += [f"Counted again on {again['date']}: {again['reason']}.", ""]
        lines += allocation_table(results) + [""]
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
    checks = target_checks(results)
    if checks:
        lines += ["## Targets", ""] + [f"- {s}" for s in targets_summary(checks)] + [""]
        lines += ["| target | measured | |", "|---|---|---|"]
        lines += [f"| {t} | {m} | {_mark(ok)} |" for t, m, ok in checks] + [""]
    notes = limit_notes(results)
    if notes:
        lines += ["## What limits the targets that are not met", ""]
        lines += [f"- {n}" for n in notes] + [""]
    return "\n".join(lines)


def front_page_section(results):
    """The README's few lines: the machine and date, and per thread count how the headline
    engine compares with the fastest peer (the sentences of :func:`summary_lines`)."""
    m = results["machine"]
    measured = {engine for c in results.get("training", []) for engine in c["step_ms"]}
    engine, label = next(((e, t) for e, t in HEADLINE if e in measured), HEADLINE[-1])
    sentences = [_summary_sentence(results, threads, engine, label)
                 for threads in thread_counts(results)]
    lines = [FRONT_START, f"{m['cpu']}, {m['cores']} cores, BLAS {m['blas']}; run {m['date']} "
                          f"({m['mode']} mode).", ""]
    lines += [f"- {s}" for s in sentences if s]
    if engine != HEADLINE[0][0]:
        lines += ["", "This run measured no `jit_compile=True` engine; the "
                      "[Speed guide](docs/guides/speed.md) has its own measurements."]
    lines += ["", "Every engine, interval, GEMM floor and target is in "
                  "[speed and benchmarks](docs/reports/benchmarks.md).", FRONT_END]
    return "\n".join(lines)


def readme_section(results):
    """The full summary block, written into ``benchmarks/results/summary.md`` (links relative
    to that folder); the site's benchmark page includes it."""
    lines = [START, "", *machine_lines(results), ""]
    if results.get("training"):
        lines += [f"- {s}" for s in summary_lines(results)] + [""]
        checks = target_checks(results)
        if checks:
            lines += [f"- Target {s}" for s in targets_summary(checks)] + [""]
        lines += ["Median ms per step (lower is better); ratios with 95% intervals. The method, "
                  "every peer's ratio, CPU use per engine, thread speed-ups, allocations, memory "
                  "and what limits each target are in "
                  "[`benchmarks/results/benchmarks.md`](benchmarks.md).", ""]
        for threads in thread_counts(results):
            lines += [f"#### {threads} thread{'s' if threads > 1 else ''}", ""]
            lines += training_table(_cells(results, threads)) + [""]
    lines += ["![Training throughput by model and batch size](throughput.png)",
              "", END]
    return "\n".join(lines)


def plot(results, path):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    from numpy_nn.io_utils import atomic_write

    counts = thread_counts(results)
    models = list(dict.fromkeys(c["model"] for c in results["training"]))
    engines = [k for k in COLUMNS if not k.startswith("floor")
               and any(k in c["step_ms"] for c in results["training"])]
    figure, axes = plt.subplots(len(counts), len(models), figsize=(4.2 * len(models),
                                                                   3.8 * len(counts)),
                                squeeze=False)
    for row, threads in enumerate(counts):
        for axis, model in zip(axes[row], models):
            cells = _cells(results, threads, model)
            positions = np.arange(len(cells))
            width = 0.8 / len(engines)
            for offset, engine in enumerate(engines):
                values = [c["batch"] / c["step_ms"][_tf_key(c) if engine == "keras_tf"
                                                    else engine] * 1e3
                          if (engine in c["step_ms"]) else 0 for c in cells]
                axis.bar(positions + (offset - (len(engines) - 1) / 2) * width, values, width,
                         label=TITLES[engine])
            axis.set_xticks(positions, [str(c["batch"]) for c in cells])
            axis.set_xlabel("batch size")
            axis.set_ylim(bottom=0)
            axis.set_title(f"{model_title(model)}, {threads} thread(s)", fontsize=10)
            axis.grid(axis="y", alpha=0.3)
        axes[row][0].set_ylabel("training samples/s")
    handles, labels = axes[0][0].get_legend_handles_labels()
    figure.legend(handles, labels, loc="upper center", ncol=len(engines), fontsize=8,
                  bbox_to_anchor=(0.5, 0.95), frameon=False)
    figure.suptitle(f"Training throughput — {results['machine']['cpu']}", fontsize=10)
    figure.tight_layout(rect=(0, 0, 1, 0.92))
    with atomic_write(path, "wb") as handle:
        figure.savefig(handle, format="png", dpi=100)
    plt.close(figure)


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


def write_text(path, text):
    """Write ``text`` atomically (a killed run leaves the old file, never half of a new one)."""
    from numpy_nn.io_utils import atomic_write
    with atomic_write(path, "w") as handle:
        handle.write(text)
