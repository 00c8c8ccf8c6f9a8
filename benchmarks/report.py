"""Turn the benchmark results into a Markdown report, a PNG plot and the README section."""
from __future__ import annotations

import re

TARGETS = {
    "keras_batch_32": 6.0,       # numba path vs Keras throughput at batch 32 (Leaky, BN, SELU)
    "keras_batch_1024": 1.5,     # ... at batch 1024
    "floor_leaky_32": 1.3,       # numba step time within 1.3x of the matmul floor
    "kernel_speedup": 2.0,       # every kernel vs its NumPy twin
    "cold_start_warm_seconds": 2.0,
    "peak_rss_mb": 400.0,
}
TARGET_MODELS = ("leaky_relu_mlp", "batch_norm_mlp", "selu_100")
MODEL_TITLES = {"leaky_relu_mlp": "LeakyReLU 300-100 MLP", "batch_norm_mlp": "BN 300-100 MLP",
                "selu_100": "SELU, 100 hidden layers", "elu_20x100_cifar": "ELU 20x100, CIFAR-10"}
START, END = "<!-- bench:start -->", "<!-- bench:end -->"
#: how each non-default OpenBLAS variant is labelled (see benchmarks.harness.BLAS_VARIANTS)
VARIANT_TITLES = {
    "skylakex": "numpy_nn with OpenBLAS AVX-512 kernels (OPENBLAS_CORETYPE=SkylakeX)"}
VARIANT_SHORT = {"skylakex": "OPENBLAS_CORETYPE=SkylakeX"}


def _mark(ok):
    return "met" if ok else "**not met**"


def thread_counts(results):
    return sorted({c["threads"] for c in results.get("training", [])})


def blas_variants(results):
    """The non-default OpenBLAS variants the training cells were also measured with."""
    return list(dict.fromkeys(v for c in results.get("training", [])
                              for v in c.get("blas_variants", {})))


def variant_figures(cell, variant):
    """A cell's figures for ``variant`` ("default": the cell's own top-level figures)."""
    return cell if variant == "default" else cell["blas_variants"][variant]


def _training_checks(results, variant):
    checks = []
    suffix = "" if variant == "default" else f", {VARIANT_SHORT[variant]}"
    cells = {(c["threads"], c["model"], c["batch"]): variant_figures(c, variant)
             for c in results.get("training", [])
             if variant == "default" or variant in c.get("blas_variants", {})}
    for threads in thread_counts(results):
        for model in TARGET_MODELS:
            for batch, key in ((32, "keras_batch_32"), (1024, "keras_batch_1024")):
                figures = cells.get((threads, model, batch))
                if figures:
                    ratio = figures["ratios"]["keras_over_numba"]
                    checks.append((f"Numba path >= {TARGETS[key]:g}x Keras, "
                                   f"{MODEL_TITLES[model]}, batch {batch}, {threads} thread(s)"
                                   f"{suffix}", f"{ratio:.2f}x", ratio >= TARGETS[key]))
        figures = cells.get((threads, "leaky_relu_mlp", 32))
        if figures:
            ratio = figures["ratios"]["numba_over_floor"]
            checks.append((f"Numba step <= 1.3x the matmul floor, LeakyReLU MLP, batch 32, "
                           f"{threads} thread(s){suffix}", f"{ratio:.2f}x",
                           ratio <= TARGETS["floor_leaky_32"]))
    return checks


def target_checks(results):
    """``[(target, measured, met)]`` for every target the issue sets (the training targets
    for the environment's own BLAS, then again for each OpenBLAS variant)."""
    checks = _training_checks(results, "default")
    for variant in blas_variants(results):
        checks += _training_checks(results, variant)
    micro = results.get("kernels", [])
    if micro:
        slow = [m for m in micro if m["speedup"] < TARGETS["kernel_speedup"]]
        worst = min(micro, key=lambda m: m["speedup"])
        checks.append(("Every kernel >= 2x its NumPy twin",
                       f"{len(micro) - len(slow)}/{len(micro)} (lowest {worst['speedup']:.2f}x: "
                       f"{worst['kernel']}, {worst['operation']})", not slow))
    cold = results.get("cold_start", {}).get("numpy_nn (Numba path, cache warm)")
    if cold:
        checks.append(("Cold start <= 2 s, Numba cache warm (new process to end of first step)",
                       f"{cold['first_step_seconds']:.2f} s",
                       cold["first_step_seconds"] <= TARGETS["cold_start_warm_seconds"]))
    for label, rss in results.get("peak_rss", {}).items():
        if label.startswith("numpy_nn"):
            checks.append((f"Peak RSS < 400 MB training Fashion-MNIST, {label}",
                           f"{rss['peak_rss_mb']:.0f} MB (TensorFlow imported: "
                           f"{rss['tensorflow_imported']})",
                           rss["peak_rss_mb"] < TARGETS["peak_rss_mb"]
                           and not rss["tensorflow_imported"]))
    return checks


def blas_kernel_line(machine, variants):
    """Which OpenBLAS kernels the primary figures used, and what each variant changed."""
    kernels = machine.get("blas_kernels")
    if not kernels:
        return []
    default = kernels.get("default", {})
    coretype = default.get("openblas_coretype", "unset")
    line = (f"BLAS kernels: the primary tables run in the environment as it is, where NumPy's "
            f"OpenBLAS uses its {default.get('architecture') or '?'} kernels ("
            + ("OPENBLAS_CORETYPE unset: OpenBLAS's own choice for this CPU)" if coretype == "unset"
               else f"OPENBLAS_CORETYPE={coretype} set by the environment)") + ".")
    for variant in variants:
        info = kernels.get(variant, {})
        line += (f" The tables marked {VARIANT_SHORT[variant]} run every engine, Keras "
                 f"included, with that variable set (OpenBLAS then uses its "
                 f"{info.get('architecture') or '?'} kernels); TensorFlow multiplies matrices "
                 f"with its own kernels, so Keras is measured under both settings to show it "
                 f"does not depend on this.")
    return ["", line]


def machine_lines(machine, variants=()):
    threads = ", ".join(str(t) for t in machine["threads"])
    return [
        f"Machine: {machine['cpu']}, {machine['cores']} cores; Python {machine['python']}, "
        f"NumPy {machine['numpy']} ({machine['blas']}), Numba {machine.get('numba') or '?'}, "
        f"TensorFlow {machine.get('tensorflow') or '?'}, Keras {machine.get('keras') or '?'}. "
        f"Run {machine['date']} ({machine['mode']} mode, {machine['seconds']:.0f} s); load "
        f"average (1/5/15 min) {machine['load_before']} before, {machine['load_after']} after.",
        "",
        f"Every engine gets the same number of threads ({threads}; BLAS through threadpoolctl, "
        f"TensorFlow's intra-op and inter-op pools set to match) and the same images. Keras "
        f"trains with `model.fit`, as a user would, with Keras's defaults (`jit_compile='auto'`"
        f" resolves to no XLA on a CPU-only machine); TF_ENABLE_ONEDNN_OPTS "
        f"{machine['tf_onednn']}. Warm-up epochs are not timed.",
        *blas_kernel_line(machine, variants),
        *synthetic_data_line(machine),
    ]


def synthetic_data_line(machine):
    missing = machine.get("synthetic_data")
    if not missing:
        return []
    return ["", f"**Data:** {', '.join(missing)} not found on this machine; every engine "
                f"trained on the same random images of the same shapes instead."]


_SHARED_HEADER = ("| model | batch | NumPy path (samples/s) | Numba path (samples/s) | "
                  "Keras 3 (samples/s) | Numba vs Keras | Numba vs NumPy | "
                  "matmul floor (ms/step) | Numba / floor | Keras / floor |")


def _shared_columns(cell, figures):
    """The columns every training table starts with, from one BLAS variant's ``figures``."""
    sps, r = figures["samples_per_second"], figures["ratios"]
    return (f"| {MODEL_TITLES[cell['model']]} | {cell['batch']} | {sps['numpy']:,.0f} | "
            f"{sps['numba']:,.0f} | {sps['keras']:,.0f} | {r['keras_over_numba']:.2f}x | "
            f"{r['numpy_over_numba']:.2f}x | {figures['step_ms']['floor']:.3f} | "
            f"{r['numba_over_floor']:.2f}x | {r['keras_over_floor']:.2f}x |")


def _setup_column(cell):
    setup = cell.get("fit_setup_ms")        # absent from results of older runs
    if not setup:
        return " – |"
    return f" {setup['numba']:.1f} / {setup['numpy']:.1f} / {setup['keras']:.1f} |"


def training_table(cells):
    rows = [_SHARED_HEADER + " overhead per step, Numba / NumPy / Keras (ms) | "
            "set-up per fit() call, Numba / NumPy / Keras (ms) | epoch (s), Numba / Keras |",
            "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for c in cells:
        o, e = c["overhead_ms"], c["epoch_seconds"]
        rows.append(_shared_columns(c, c)
                    + f" {o['numba']:.3f} / {o['numpy']:.3f} / {o['keras']:.3f} |"
                    + _setup_column(c) + f" {e['numba']:.1f} / {e['keras']:.1f} |")
    return rows


def training_tables(results, heading="###"):
    lines = []
    for threads in thread_counts(results):
        cells = [c for c in results["training"] if c["threads"] == threads]
        lines += [f"{heading} {threads} thread{'s' if threads > 1 else ''}", ""]
        lines += training_table(cells) + [""]
    return lines


def variant_table(cells, variant):
    rows = [_SHARED_HEADER + " speed-up over the default BLAS: floor / NumPy / Numba / Keras |",
            "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for c in cells:
        figures = c["blas_variants"][variant]
        gain = figures["gain_over_default"]
        rows.append(_shared_columns(c, figures)
                    + f" {gain['floor']:.2f}x / {gain['numpy']:.2f}x / {gain['numba']:.2f}x / "
                    f"{gain['keras']:.2f}x |")
    return rows


def variant_groups(results):
    """``(variant, threads, cells)`` for every OpenBLAS variant and thread count measured."""
    for variant in blas_variants(results):
        for threads in thread_counts(results):
            cells = [c for c in results["training"]
                     if c["threads"] == threads and variant in c.get("blas_variants", {})]
            if cells:
                yield variant, threads, cells


def variant_tables(results, heading="###"):
    lines = []
    for variant, threads, cells in variant_groups(results):
        lines += [f"{heading} {threads} thread{'s' if threads > 1 else ''}: "
                  f"{VARIANT_TITLES[variant]}", "",
                  f"Every engine's workers started with {VARIANT_SHORT[variant]}, timed in "
                  f"the same repetitions as the table above (each right before or after "
                  f"its default twin, alternately). The last column is the default run's "
                  f"time over this one, repetition by repetition: above 1 means faster "
                  f"with this setting.", ""]
        lines += variant_table(cells, variant) + [""]
    return lines


def kernel_table(results):
    rows = ["| kernel | operation | NumPy twin (µs) | Numba (µs) | speed-up |",
            "|---|---|---:|---:|---:|"]
    for m in results["kernels"]:
        flag = "" if m["speedup"] >= TARGETS["kernel_speedup"] else " (below 2x)"
        rows.append(f"| {m['kernel']} | {m['operation']} | {m['numpy_us']:.1f} | "
                    f"{m['numba_us']:.1f} | {m['speedup']:.2f}x{flag} |")
    return rows


def _training_explanation(results):
    cells = results["training"]
    samples = ", ".join(f"{c['samples_per_fit']:,} at batch {c['batch']}" for c in
                        {c["batch"]: c for c in cells}.values())
    if "fit_setup_ms" in cells[0]:
        timing = (f"Each repetition times two `fit` epochs per engine: one over the first "
                  f"training images ({samples}), N steps, and one over the first batch only. "
                  f"Their difference divided by N - 1 is the *time per step*, from which the "
                  f"throughputs and every ratio are computed; the rest of the one-batch call "
                  f"is the fixed *set-up per fit() call*, shown on its own so that the number "
                  f"of steps timed per call does not dilute or inflate it. ")
    else:
        timing = f"Each repetition is one `fit` epoch over the first training images ({samples}). "
    return (f"{timing}{cells[0]['repetitions']} repetitions per engine, engines alternated in "
            f"rotating order; the tables give medians, and each ratio is the median of "
            f"per-repetition ratios. The *matmul floor* is the forward and backward GEMMs of the same steps "
            f"timed alone with NumPy's BLAS (x W per layer, x^T delta per layer, delta W^T "
            f"wherever backpropagation needs the layer's input gradient); *overhead* is an engine's time per step minus that floor "
            f"(Keras uses its own GEMMs, so its overhead is approximate). *Epoch* is the time of "
            f"one `fit` call over a full epoch (55,000 Fashion-MNIST / 45,000 CIFAR-10 "
            f"images): the step time times its steps, plus the set-up once.")


def markdown(results, notes):
    lines = ["# CPU benchmarks: numpy_nn (NumPy and Numba paths) vs Keras 3", ""]
    lines += machine_lines(results["machine"], blas_variants(results)) + [""]
    if results.get("training"):
        lines += ["## Training throughput", "", _training_explanation(results), ""]
        lines += training_tables(results)
        lines += variant_tables(results)
    if results.get("kernels"):
        lines += ["## Kernels vs their NumPy twins (batch 32, the chapter's sizes)", "",
                  "Each row calls the public method on each kernel path (dispatch and glue "
                  "included), alternating paths; medians of single-threaded CPU time.", ""]
        lines += kernel_table(results) + [""]
    if results.get("cold_start"):
        lines += ["## Cold start (fresh process: import, build, first training step)", "",
                  "| engine | import done (s) | first step done (s) | whole process (s) |",
                  "|---|---:|---:|---:|"]
        for label, c in results["cold_start"].items():
            lines.append(f"| {label} | {c['import_seconds']:.2f} | "
                         f"{c['first_step_seconds']:.2f} | {c['process_seconds']:.2f} |")
        lines.append("")
    if results.get("peak_rss"):
        stages = list(next(iter(results["peak_rss"].values()))["rss_mb"])
        lines += ["## Memory (one epoch of Fashion-MNIST, each engine in its own process)", "",
                  "| engine | peak RSS (MB) | " + " | ".join(f"RSS {s} (MB)" for s in stages)
                  + " | TensorFlow imported |",
                  "|---|---:|" + "---:|" * len(stages) + "---|"]
        for label, r in results["peak_rss"].items():
            lines.append(f"| {label} | {r['peak_rss_mb']:.0f} | "
                         + " | ".join(f"{r['rss_mb'][s]:.0f}" for s in stages)
                         + f" | {r['tensorflow_imported']} |")
        lines.append("")
    checks = target_checks(results)
    if checks:
        lines += ["## Targets", "", "| target | measured | |", "|---|---|---|"]
        lines += [f"| {t} | {m} | {_mark(ok)} |" for t, m, ok in checks] + [""]
    if notes:
        lines += ["## What limits the targets that are not met", ""]
        lines += [f"- {n}" for n in notes] + [""]
    return "\n".join(lines)


def plot(results, path):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    from numpy_nn.io_utils import atomic_write

    counts = thread_counts(results)
    models = list(dict.fromkeys(c["model"] for c in results["training"]))
    engines = [("numpy", "default", "numpy_nn, NumPy path"),
               ("numba", "default", "numpy_nn, Numba path")]
    engines += [("numba", variant, f"numpy_nn, Numba path, {VARIANT_SHORT[variant]}")
                for variant in blas_variants(results)]
    engines += [("keras", "default", "Keras 3 (TF CPU)")]
    figure, axes = plt.subplots(len(counts), len(models), figsize=(4.2 * len(models),
                                                                   3.8 * len(counts)),
                                squeeze=False)
    for row, threads in enumerate(counts):
        for axis, model in zip(axes[row], models):
            cells = [c for c in results["training"]
                     if c["model"] == model and c["threads"] == threads]
            positions = np.arange(len(cells))
            width = 0.8 / len(engines)
            for offset, (engine, variant, label) in enumerate(engines):
                axis.bar(positions + (offset - (len(engines) - 1) / 2) * width,
                         [variant_figures(c, variant)["samples_per_second"][engine]
                          for c in cells], width, label=label,
                         hatch="//" if variant != "default" else None)
            axis.set_xticks(positions, [str(c["batch"]) for c in cells])
            axis.set_xlabel("batch size")
            axis.set_ylim(bottom=0)             # bars start at zero: no exaggerated gaps
            axis.set_title(f"{MODEL_TITLES[model]}, {threads} thread(s)", fontsize=10)
            axis.grid(axis="y", alpha=0.3)
        axes[row][0].set_ylabel("training samples/s")
    # one legend above the panels, where it cannot cover a bar
    handles, labels = axes[0][0].get_legend_handles_labels()
    figure.legend(handles, labels, loc="upper center", ncol=len(engines), fontsize=8,
                  bbox_to_anchor=(0.5, 0.95), frameon=False)
    figure.suptitle(f"Training throughput — {results['machine']['cpu']}", fontsize=10)
    figure.tight_layout(rect=(0, 0, 1, 0.92))
    with atomic_write(path, "wb") as handle:
        figure.savefig(handle, format="png", dpi=100)
    plt.close(figure)


def readme_section(results, notes):
    lines = [START, "", *machine_lines(results["machine"], blas_variants(results)), ""]
    if results.get("training"):
        lines += ["Training throughput (samples/s, higher is better). Kernel micro-benchmarks, "
                  "cold start, memory and the method are in "
                  "[`benchmarks/results/benchmarks.md`](benchmarks/results/benchmarks.md).", ""]
        lines += training_tables(results, heading="####")
        lines += variant_tables(results, heading="####")
    checks = target_checks(results)
    if checks:
        lines += ["| target | measured | |", "|---|---|---|"]
        lines += [f"| {t} | {m} | {_mark(ok)} |" for t, m, ok in checks] + [""]
    if notes:
        lines += [f"- {n}" for n in notes] + [""]
    lines += ["![Training throughput by model and batch size](benchmarks/results/throughput.png)",
              "", END]
    return "\n".join(lines)


def update_readme(readme_path, section):
    with open(readme_path, encoding="utf-8") as handle:
        text = handle.read()
    if START in text and END in text:
        text = re.sub(re.escape(START) + ".*?" + re.escape(END), lambda _: section, text,
                      flags=re.S)
    else:
        text = text.rstrip() + "\n\n## Benchmarks\n\n" + section + "\n"
    write_text(readme_path, text)
    return readme_path


def write_text(path, text):
    """Write ``text`` atomically (a killed run leaves the old file, never half of a new one)."""
    from numpy_nn.io_utils import atomic_write
    with atomic_write(path, "w") as handle:
        handle.write(text)
