"""``python -m benchmarks.run [--quick]``: every benchmark, then the JSON, Markdown, plot and README.

``make bench`` runs the full set and rewrites the README's benchmark section;
``make bench-quick`` (under 3 minutes on a quiet 2-core machine) runs the same measurements
with fewer steps and repetitions and writes to ``benchmarks/results/quick/`` only.

Unless ``--blas-variants default`` is given, the training grid runs twice over in the same
interleaved repetitions: in the environment as it is (the primary figures) and with
``OPENBLAS_CORETYPE=SkylakeX`` (OpenBLAS's AVX-512 kernels), on CPUs that have AVX-512; see
:mod:`benchmarks.harness`.

Timings on a shared machine are noisy: every comparison is interleaved (engines alternate)
and reported as a median of per-repetition ratios, and the load average before and after
the run is recorded with the results.
"""
from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
RESULTS = os.path.join(ROOT, "benchmarks", "results")

FULL = {"batches": (32, 128, 1024), "repetitions": 5, "steps": {32: 300, 128: 100, 1024: 20},
        "threads": (1, 2), "micro_repetitions": 7, "cold_repetitions": 3}
QUICK = {"batches": (32, 128, 1024), "repetitions": 3, "steps": {32: 60, 128: 25, 1024: 5},
         "threads": (1,), "micro_repetitions": 3, "cold_repetitions": 1}


def _cpu_name():
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as handle:
            for line in handle:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _has_avx512():
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as handle:
            return any(line.startswith("flags") and " avx512f" in line for line in handle)
    except OSError:
        return False


def _openblas_kernels(blas_info):
    """The kernel architecture (e.g. ``Haswell``) of NumPy's OpenBLAS in a threadpool_info
    list, or None."""
    libraries = [p for p in blas_info if p.get("internal_api") == "openblas"]
    numpy_first = sorted(libraries, key=lambda p: "numpy" not in (p.get("filepath") or ""))
    return numpy_first[0].get("architecture") if numpy_first else None


def _load():
    return "/".join(f"{v:.2f}" for v in os.getloadavg())


def machine_description(threads, tf_onednn, mode, versions):
    import numpy as np
    from threadpoolctl import threadpool_info
    blas_libraries = [p for p in threadpool_info() if p.get("user_api") == "blas"]
    numpy_blas = [p for p in blas_libraries if "numpy" in (p.get("filepath") or "")]
    blas = next((f"{p.get('internal_api')} {p.get('version')}"
                 for p in numpy_blas + blas_libraries), "unknown BLAS")
    keras_versions = versions.get("keras", {}) if versions else {}
    numba_versions = versions.get("numba", {}) if versions else {}
    # which OpenBLAS kernels each set of workers really ran (read back from the workers)
    blas_kernels = {"default": {"openblas_coretype": os.environ.get("OPENBLAS_CORETYPE", "unset"),
                                "architecture": _openblas_kernels(blas_libraries)}}
    for name, info in (versions or {}).items():
        if name.startswith("numpy"):
            variant = name.partition("@")[2] or "default"
            blas_kernels[variant] = {"openblas_coretype": info.get("openblas_coretype"),
                                     "architecture": _openblas_kernels(info.get("blas", []))}
    return {"cpu": _cpu_name(), "cores": os.cpu_count(), "python": platform.python_version(),
            "numpy": np.__version__, "blas": blas, "blas_kernels": blas_kernels,
            "numba": numba_versions.get("numba"),
            "tensorflow": keras_versions.get("tensorflow"), "keras": keras_versions.get("keras"),
            "threads": threads, "mode": mode,
            "tf_onednn": ("left at TensorFlow's default (unset: oneDNN on)"
                          if tf_onednn == "default" else tf_onednn),
            "date": datetime.datetime.now().isoformat(timespec="seconds")}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer steps and repetitions")
    parser.add_argument("--threads", default=None,
                        help="comma-separated thread counts, each given to every engine "
                             "(default: 1 and 2 for the full run, 1 for --quick)")
    parser.add_argument("--models", default="leaky_relu_mlp,batch_norm_mlp,selu_100,"
                        "elu_20x100_cifar")
    parser.add_argument("--batches", default=None, help="comma-separated batch sizes")
    parser.add_argument("--skip", default="", help="comma-separated parts to skip: "
                        "training,kernels,cold_start,peak_rss")
    parser.add_argument("--blas-variants", default=None,
                        help="comma-separated OpenBLAS settings for the training grid: "
                             "'default' (the environment as it is) and/or 'skylakex' "
                             "(OPENBLAS_CORETYPE=SkylakeX); default: both when the CPU has "
                             "AVX-512, else 'default'")
    parser.add_argument("--tf-onednn", default="default", choices=["default", "0", "1"],
                        help="TF_ENABLE_ONEDNN_OPTS for Keras ('default' leaves it unset)")
    parser.add_argument("--output", default=None, help="results directory")
    parser.add_argument("--no-readme", action="store_true", help="do not touch README.md")
    parser.add_argument("--from-json", default=None,
                        help="measure nothing: rewrite the Markdown, plot (and README for a "
                             "full run) from a saved benchmarks.json")
    args = parser.parse_args(argv)
    if args.from_json:
        return rewrite_reports(args.from_json, args.no_readme)

    os.environ.setdefault("NUMPY_NN_DATA_DIR", os.path.join(os.path.dirname(ROOT), "shared",
                                                            "data"))
    os.environ.setdefault("NUMPY_NN_NO_DOWNLOAD", "1")
    sys.path.insert(0, ROOT)
    from threadpoolctl import threadpool_limits

    from benchmarks import report
    from benchmarks.harness import BLAS_VARIANTS, run_training_grid, worker_env
    from benchmarks.microbench import run_microbenchmarks
    from benchmarks.startup import measure_cold_start, measure_peak_rss

    config = QUICK if args.quick else FULL
    thread_counts = tuple(int(t) for t in args.threads.split(",")) if args.threads else \
        config["threads"]
    threads = thread_counts[0]          # for the kernels, cold start and memory figures
    threadpool_limits(threads)
    batches = tuple(int(b) for b in args.batches.split(",")) if args.batches else \
        config["batches"]
    models = [m for m in args.models.split(",") if m]
    skip = set(filter(None, args.skip.split(",")))
    variants = tuple(v for v in (args.blas_variants or (
        "default,skylakex" if _has_avx512() else "default")).split(",") if v)
    unknown = [v for v in variants if v not in BLAS_VARIANTS]
    if unknown or variants[:1] != ("default",):
        parser.error(f"--blas-variants: start with 'default', then any of "
                     f"{sorted(BLAS_VARIANTS)}; got {args.blas_variants!r}")
    import numpy  # noqa: F401  (loads OpenBLAS, so threadpool_info can name its kernels)
    from threadpoolctl import threadpool_info
    if args.blas_variants is None and "skylakex" in variants \
            and _openblas_kernels(threadpool_info()) == "SkylakeX":
        variants = tuple(v for v in variants if v != "skylakex")
        print("OpenBLAS already runs its SkylakeX kernels here: no separate variant.")
    from benchmarks.models import MODELS, SYNTHETIC_ENV, missing_datasets
    needed = sorted({MODELS[m].dataset.replace("_standardized", "") for m in models}
                    | {"fashion_mnist"})        # cold start and peak RSS train on it
    missing = missing_datasets(needed)
    if missing:
        os.environ[SYNTHETIC_ENV] = ",".join(missing)   # inherited by every worker
        print(f"Not found on this machine: {', '.join(missing)} (set NUMPY_NN_DATA_DIR); "
              f"timing on random images of the same shapes instead (speed does not depend "
              f"on pixel values here).")
    output = args.output or (os.path.join(RESULTS, "quick") if args.quick else RESULTS)
    mode = "quick" if args.quick else "full"
    results = {}
    load_before = _load()
    started = time.perf_counter()
    print(f"numpy_nn benchmarks ({mode}), thread counts {thread_counts}, BLAS variants "
          f"{variants}, load average {load_before}")

    versions = None
    if "training" not in skip:
        print("Training throughput (interleaved; ms per step):")
        results["training"] = []
        for count in thread_counts:
            cells, versions = run_training_grid(
                models, batches, lambda batch: batch * config["steps"].get(batch, 20),
                config["repetitions"], count, args.tf_onednn, variants)
            results["training"] += cells
    if "kernels" not in skip:
        print("Kernels vs their NumPy twins:")
        results["kernels"] = run_microbenchmarks(config["micro_repetitions"])
    env = worker_env(args.tf_onednn)
    if "cold_start" not in skip:
        print("Cold start (fresh processes):")
        results["cold_start"] = measure_cold_start(threads, env, config["cold_repetitions"])
    if "peak_rss" not in skip:
        print("Peak memory (fresh processes):")
        results["peak_rss"] = measure_peak_rss(threads, env)

    results["machine"] = machine_description(thread_counts, args.tf_onednn, mode, versions)
    results["machine"]["synthetic_data"] = missing
    results["machine"]["load_before"] = load_before
    results["machine"]["load_after"] = _load()
    results["machine"]["seconds"] = round(time.perf_counter() - started, 1)
    os.makedirs(output, exist_ok=True)
    write_reports(results, output, update_readme=not args.quick and not args.no_readme)
    print(f"Wrote {output}/benchmarks.{{json,md}} and throughput.png in "
          f"{results['machine']['seconds']:.0f} s (load average after: "
          f"{results['machine']['load_after']}).")
    for target, measured, ok in report.target_checks(results):
        print(f"  [{'met' if ok else 'NOT MET'}] {target}: {measured}")


def write_reports(results, output, update_readme):
    from benchmarks import report
    notes = limits_notes(results)
    report.write_text(os.path.join(output, "benchmarks.json"),
                      json.dumps({**results, "notes": notes}, indent=1))
    report.write_text(os.path.join(output, "benchmarks.md"), report.markdown(results, notes))
    if results.get("training"):
        report.plot(results, os.path.join(output, "throughput.png"))
    if update_readme:
        report.update_readme(os.path.join(ROOT, "README.md"),
                             report.readme_section(results, notes))


def rewrite_reports(path, no_readme):
    with open(path, encoding="utf-8") as handle:
        results = json.load(handle)
    results.pop("notes", None)
    sys.path.insert(0, ROOT)
    write_reports(results, os.path.dirname(os.path.abspath(path)),
                  update_readme=results["machine"]["mode"] == "full" and not no_readme)
    print(f"Rewrote the reports from {path}.")


def limits_notes(results):
    """What limits each target that is not met, computed from the measured figures; and a
    warning when the measurements themselves look disturbed by other processes."""
    notes = []
    by_threads = {}
    for cell in results.get("training", []):
        by_threads.setdefault(cell["threads"], []).append(cell)
    disturbed = set()
    for threads, cells in sorted(by_threads.items()):
        # every BLAS variant's figures count: a disturbance hits whichever engine ran then
        figures = [f for c in cells for f in [c, *c.get("blas_variants", {}).values()]]
        below_floor = [f for f in figures if min(f["ratios"]["numba_over_floor"],
                                                 f["ratios"]["numpy_over_floor"]) < 0.9]
        unsteady = [f for f in figures if max(f["spread"].values()) > 1.5]
        if below_floor or unsteady:
            disturbed.add(threads)
            notes.append(
                f"{threads} thread(s): the machine was busy during these measurements "
                f"(load average {results['machine']['load_before']} before); in "
                f"{len(below_floor)} of {len(figures)} measured cells an engine beat the GEMM "
                f"floor timed beside it, and in {len(unsteady)} the repetitions of one engine "
                f"differ by more than 1.5x. Treat this table as indicative and re-run "
                f"`make bench` on a quiet machine." + (
                    " With more than one thread per engine, OpenBLAS's threads wait for each "
                    "other at every GEMM, so a process on another core stalls numpy_nn far "
                    "more than TensorFlow's thread pool." if threads > 1 else ""))
    notes += variant_notes(results)
    for cell in results.get("training", []):
        needed = {32: 6.0, 1024: 1.5}.get(cell["batch"])
        if cell["model"] not in ("leaky_relu_mlp", "batch_norm_mlp", "selu_100") or not needed \
                or cell["ratios"]["keras_over_numba"] >= needed:
            continue
        keras_over_floor = cell["ratios"]["keras_over_floor"]
        numba_over_floor = cell["ratios"]["numba_over_floor"]
        if keras_over_floor < 1:
            limit = (f"Keras runs faster than the GEMMs alone take with NumPy's BLAS "
                     f"({keras_over_floor:.2f}x that floor): TensorFlow's own matrix "
                     f"multiplications (oneDNN) beat OpenBLAS at this size, and the Numba "
                     f"path, at {numba_over_floor:.2f}x the floor, is bound by OpenBLAS")
        elif keras_over_floor < needed:
            limit = (f"Keras itself runs at {keras_over_floor:.2f}x the matmul floor, so even "
                     f"an engine with zero overhead using these GEMMs would be at most "
                     f"{keras_over_floor:.2f}x faster than Keras; the Numba path is at "
                     f"{numba_over_floor:.2f}x the floor")
        else:
            limit = (f"Keras runs at {keras_over_floor:.2f}x the matmul floor, the Numba path "
                     f"at {numba_over_floor:.2f}x")
        notes.append(f"{cell['model']}, batch {cell['batch']}, {cell['threads']} thread(s): "
                     f"Numba path {cell['ratios']['keras_over_numba']:.2f}x Keras (target "
                     f"{needed:g}x). {limit}.")
    for cell in results.get("training", []):
        if cell["model"] == "leaky_relu_mlp" and cell["batch"] == 32 \
                and cell["ratios"]["numba_over_floor"] > 1.3 and cell["threads"] not in disturbed:
            notes.append(f"LeakyReLU MLP, batch 32, {cell['threads']} thread(s): the Numba path "
                         f"spends {cell['overhead_ms']['numba'] * 1e3:.0f} µs per step outside "
                         f"the GEMMs (floor {cell['step_ms']['floor'] * 1e3:.0f} µs): the SGD "
                         f"update of 266,610 weights, bias additions and sums, softmax and "
                         f"cross-entropy, gathering the shuffled batch, metrics and Python.")
    slow = [m for m in results.get("kernels", []) if m["speedup"] < 2.0]
    for m in slow:
        if m["kernel"].startswith("SGD"):
            reason = ("plain SGD is memory-bound: the reference reads and writes the weights "
                      "once plus a temporary, the kernel reads the weights and gradients and "
                      "writes the weights once, a traffic ratio of 5:3")
        else:
            reason = (f"the NumPy twin takes {m['numpy_us']:.1f} µs at this size, and about "
                      f"1 µs of the kernel path's {m['numba_us']:.1f} µs is the fixed cost of "
                      f"any call (checking the inputs, allocating the output, converting the "
                      f"scalar arguments, Numba's dispatch), not the loop")
        notes.append(f"Kernel {m['kernel']} ({m['operation']}): {m['speedup']:.2f}x; {reason}.")
    for label, rss in results.get("peak_rss", {}).items():
        if label.startswith("numpy_nn") and rss["peak_rss_mb"] >= 400:
            stages = rss["rss_mb"]
            notes.append(
                f"{label}: peak RSS {rss['peak_rss_mb']:.0f} MB. The training images as float32 "
                f"take 172 MB; RSS is {stages['after import']:.0f} MB after import and "
                f"{stages['after loading the data']:.0f} MB with the data loaded; the first "
                f"step adds "
                f"{stages['after the first step'] - stages['after loading the data']:.0f} MB"
                + (", which is Numba and LLVM themselves (libllvmlite alone maps about 80 MB)."
                   if "Numba" in label else "."))
    return notes


def variant_notes(results):
    """What each OpenBLAS variant changed, per thread count: the range of the speed-up over
    the default BLAS of the floor, the two numpy_nn paths and Keras, across all cells."""
    from benchmarks.report import VARIANT_SHORT, variant_groups
    notes = []
    for variant, threads, cells in variant_groups(results):
        figures = [c["blas_variants"][variant] for c in cells]

        def span(name):
            gains = [f["gain_over_default"][name] for f in figures]
            return f"{min(gains):.2f}x to {max(gains):.2f}x"

        at_32 = ", ".join(f"{c['model']} {f['ratios']['keras_over_numba']:.2f}x"
                          for c, f in zip(cells, figures) if c["batch"] == 32)
        notes.append(
            f"{threads} thread(s), {VARIANT_SHORT[variant]}: against the environment's default "
            f"BLAS, the matmul floor runs {span('floor')} as fast across the {len(cells)} "
            f"cells, the NumPy path {span('numpy')}, the Numba path {span('numba')}, and Keras "
            f"{span('keras')} (TensorFlow multiplies matrices with its own kernels, not "
            f"OpenBLAS, so Keras's spread around 1.00x is this run's noise). Numba path vs "
            f"Keras at batch 32 with this setting: {at_32}.")
    return notes


if __name__ == "__main__":
    main()
