"""Turn the benchmark results into a Markdown report, a PNG plot and the README table."""
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


def _mark(ok):
    return "met" if ok else "**not met**"


def target_checks(results):
    """``[(target, measured, met)]`` for every target the issue sets."""
    checks = []
    cells = {(c["model"], c["batch"]): c for c in results.get("training", [])}
    for model in TARGET_MODELS:
        for batch, key in ((32, "keras_batch_32"), (1024, "keras_batch_1024")):
            cell = cells.get((model, batch))
            if cell:
                ratio = cell["ratios"]["keras_over_numba"]
                checks.append((f"Numba path >= {TARGETS[key]}x Keras, {MODEL_TITLES[model]}, "
                               f"batch {batch}", f"{ratio:.2f}x", ratio >= TARGETS[key]))
    cell = cells.get(("leaky_relu_mlp", 32))
    if cell:
        ratio = cell["ratios"]["numba_over_floor"]
        checks.append(("Numba step within 1.3x of the matmul floor, LeakyReLU MLP, batch 32",
                       f"{ratio:.2f}x", ratio <= TARGETS["floor_leaky_32"]))
    micro = results.get("kernels", [])
    if micro:
        slow = [m for m in micro if m["speedup"] < TARGETS["kernel_speedup"]]
        worst = min(micro, key=lambda m: m["speedup"])
        checks.append(("Every kernel >= 2x its NumPy twin",
                       f"{len(micro) - len(slow)}/{len(micro)} (lowest {worst['speedup']:.2f}x, "
                       f"{worst['kernel']} {worst['operation']})", not slow))
    cold = results.get("cold_start", {}).get("numpy_nn (Numba path, cache warm)")
    if cold:
        checks.append(("Cold start <= 2 s with the Numba cache warm (import + first step)",
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


def machine_lines(machine):
    return [
        f"Machine: {machine['cpu']}, {machine['cores']} cores, Python {machine['python']}, "
        f"NumPy {machine['numpy']} ({machine['blas']}), Numba {machine.get('numba', '?')}, "
        f"TensorFlow {machine.get('tensorflow', '?')}, Keras {machine.get('keras', '?')}.",
        f"Threads: {machine['threads']} for every engine (BLAS via threadpoolctl; TensorFlow "
        f"intra-op and inter-op pools). TF_ENABLE_ONEDNN_OPTS: {machine['tf_onednn']}. Keras "
        f"runs `model.fit` with its defaults (`jit_compile='auto'`, which Keras resolves to "
        f"no XLA on a CPU-only machine).",
        f"Load average (1/5/15 min) before: {machine['load_before']}, after: "
        f"{machine['load_after']}. Run: {machine['date']}, mode: {machine['mode']}.",
    ]


def training_table(results):
    rows = ["| model | batch | numpy_nn NumPy (samples/s) | numpy_nn Numba (samples/s) | "
            "Keras 3 (samples/s) | Numba vs Keras | Numba vs NumPy | matmul floor (ms/step) | "
            "Numba vs floor | overhead/step Numba / NumPy / Keras (ms) | epoch (s) Numba / "
            "Keras |",
            "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for c in results["training"]:
        sps, r, o, e = c["samples_per_second"], c["ratios"], c["overhead_ms"], c["epoch_seconds"]
        rows.append(
            f"| {MODEL_TITLES[c['model']]} | {c['batch']} | {sps['numpy']:,.0f} | "
            f"{sps['numba']:,.0f} | {sps['keras']:,.0f} | {r['keras_over_numba']:.2f}x | "
            f"{r['numpy_over_numba']:.2f}x | {c['step_ms']['floor']:.3f} | "
            f"{r['numba_over_floor']:.2f}x | {o['numba']:.3f} / {o['numpy']:.3f} / "
            f"{o['keras']:.3f} | {e['numba']:.1f} / {e['keras']:.1f} |")
    return rows


def kernel_table(results):
    rows = ["| kernel | operation | NumPy twin (µs) | Numba (µs) | speed-up |",
            "|---|---|---:|---:|---:|"]
    for m in results["kernels"]:
        flag = "" if m["speedup"] >= TARGETS["kernel_speedup"] else " (below 2x)"
        rows.append(f"| {m['kernel']} | {m['operation']} | {m['numpy_us']:.1f} | "
                    f"{m['numba_us']:.1f} | {m['speedup']:.2f}x{flag} |")
    return rows


def markdown(results, notes):
    lines = ["# CPU benchmarks: numpy_nn (NumPy and Numba paths) vs Keras 3", ""]
    lines += machine_lines(results["machine"]) + [""]
    if results.get("training"):
        cell = results["training"][0]
        lines += ["## Training throughput", "",
                  f"One `fit` epoch per repetition over the first samples of the training set "
                  f"({', '.join(sorted({str(c['samples_per_fit']) for c in results['training']}))}"
                  f" samples depending on the batch size), {cell['repetitions']} repetitions "
                  f"per engine, engines alternated; medians. Ratios are medians of "
                  f"per-repetition ratios. *Overhead* is time per step minus the matmul floor "
                  f"(the forward and backward GEMMs of the same step, timed alone with NumPy's "
                  f"BLAS). *Epoch* extrapolates the step time to a full epoch (55,000 "
                  f"Fashion-MNIST / 45,000 CIFAR-10 images).", ""]
        lines += training_table(results) + [""]
    if results.get("kernels"):
        lines += ["## Kernels vs their NumPy twins (batch 32, the chapter's sizes)", ""]
        lines += kernel_table(results) + [""]
    if results.get("cold_start"):
        lines += ["## Cold start (fresh process: import, build, first training step)", "",
                  "| engine | import (s) | first step done (s) | whole process (s) |",
                  "|---|---:|---:|---:|"]
        for label, c in results["cold_start"].items():
            lines.append(f"| {label} | {c['import_seconds']:.2f} | "
                         f"{c['first_step_seconds']:.2f} | {c['process_seconds']:.2f} |")
        lines.append("")
    if results.get("peak_rss"):
        lines += ["## Peak memory (one epoch of Fashion-MNIST, own process)", "",
                  "| engine | peak RSS (MB) | TensorFlow imported |", "|---|---:|---|"]
        for label, r in results["peak_rss"].items():
            lines.append(f"| {label} | {r['peak_rss_mb']:.0f} | {r['tensorflow_imported']} |")
        lines.append("")
    checks = target_checks(results)
    if checks:
        lines += ["## Targets", "", "| target | measured | |", "|---|---|---|"]
        lines += [f"| {t} | {m} | {_mark(ok)} |" for t, m, ok in checks] + [""]
    if notes:
        lines += ["## Notes", ""] + [f"- {n}" for n in notes] + [""]
    return "\n".join(lines)


def plot(results, path):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    models = list(dict.fromkeys(c["model"] for c in results["training"]))
    engines = [("numpy", "numpy_nn, NumPy path"), ("numba", "numpy_nn, Numba path"),
               ("keras", "Keras 3 (TF CPU)")]
    figure, axes = plt.subplots(1, len(models), figsize=(4.2 * len(models), 4.2), squeeze=False)
    for axis, model in zip(axes[0], models):
        cells = [c for c in results["training"] if c["model"] == model]
        positions = np.arange(len(cells))
        width = 0.26
        for offset, (engine, label) in enumerate(engines):
            axis.bar(positions + (offset - 1) * width,
                     [c["samples_per_second"][engine] for c in cells], width, label=label)
        axis.set_xticks(positions, [str(c["batch"]) for c in cells])
        axis.set_xlabel("batch size")
        axis.set_yscale("log")
        axis.set_title(MODEL_TITLES[model])
        axis.grid(axis="y", which="both", alpha=0.3)
    axes[0][0].set_ylabel("training throughput (samples/s, log scale)")
    axes[0][0].legend(fontsize=8)
    machine = results["machine"]
    figure.suptitle(f"Training throughput, {machine['threads']} thread(s), {machine['cpu']}",
                    fontsize=10)
    figure.tight_layout()
    from numpy_nn.io_utils import atomic_write
    with atomic_write(path, "wb") as handle:
        figure.savefig(handle, format="png", dpi=110)
    plt.close(figure)


START, END = "<!-- bench:start -->", "<!-- bench:end -->"


def readme_section(results, notes):
    lines = [START, "", *machine_lines(results["machine"]), ""]
    if results.get("training"):
        lines += ["Training throughput (samples/s, higher is better) and ratios; full details, "
                  "kernel micro-benchmarks, cold start and memory in "
                  "`benchmarks/results/benchmarks.md`.", ""]
        lines += training_table(results) + [""]
    checks = target_checks(results)
    if checks:
        lines += ["| target | measured | |", "|---|---|---|"]
        lines += [f"| {t} | {m} | {_mark(ok)} |" for t, m, ok in checks] + [""]
    if notes:
        lines += [f"- {n}" for n in notes] + [""]
    lines += ["![throughput](benchmarks/results/throughput.png)", "", END]
    return "\n".join(lines)


def update_readme(readme_path, section):
    with open(readme_path, encoding="utf-8") as handle:
        text = handle.read()
    if START in text and END in text:
        text = re.sub(re.escape(START) + ".*?" + re.escape(END), lambda _: section, text,
                      flags=re.S)
    else:
        text = text.rstrip() + "\n\n## Benchmarks\n\n`make bench` (about 15 minutes) "\
            "regenerates this section; `make bench-quick` (under 3 minutes) writes "\
            "`benchmarks/results/quick/` only.\n\n" + section + "\n"
    write_text(readme_path, text)
    return readme_path


def write_text(path, text):
    """Write ``text`` atomically (a killed run leaves the old file, never half of a new one)."""
    from numpy_nn.io_utils import atomic_write
    with atomic_write(path, "w") as handle:
        handle.write(text)
