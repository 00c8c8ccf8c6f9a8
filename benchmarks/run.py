"""``python -m benchmarks.run [--quick]``: every benchmark, then the JSON, Markdown, plot and README.

``make bench`` runs the full set and rewrites the README's benchmark section;
``make bench-quick`` (under 3 minutes on a quiet 2-core machine) runs the same measurements
with fewer steps and repetitions and writes to ``benchmarks/results/quick/`` only.

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

FULL = {"batches": (32, 128, 1024), "repetitions": 5, "steps": {32: 400, 128: 150, 1024: 30},
        "micro_repetitions": 7, "cold_repetitions": 3}
QUICK = {"batches": (32, 128, 1024), "repetitions": 3, "steps": {32: 60, 128: 25, 1024: 5},
         "micro_repetitions": 3, "cold_repetitions": 1}


def _cpu_name():
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as handle:
            for line in handle:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _load():
    return "/".join(f"{v:.2f}" for v in os.getloadavg())


def machine_description(threads, tf_onednn, mode, versions):
    import numpy as np
    from threadpoolctl import threadpool_info
    blas = next((f"{p.get('internal_api')} {p.get('version')}" for p in threadpool_info()
                 if p.get("user_api") == "blas"), "unknown BLAS")
    keras_versions = versions.get("keras", {}) if versions else {}
    numba_versions = versions.get("numba", {}) if versions else {}
    return {"cpu": _cpu_name(), "cores": os.cpu_count(), "python": platform.python_version(),
            "numpy": np.__version__, "blas": blas, "numba": numba_versions.get("numba"),
            "tensorflow": keras_versions.get("tensorflow"), "keras": keras_versions.get("keras"),
            "threads": threads, "mode": mode,
            "tf_onednn": ("left at TensorFlow's default (unset: oneDNN on)"
                          if tf_onednn == "default" else tf_onednn),
            "date": datetime.datetime.now().isoformat(timespec="seconds")}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer steps and repetitions")
    parser.add_argument("--threads", type=int, default=None,
                        help="threads for every engine (default: all cores)")
    parser.add_argument("--models", default="leaky_relu_mlp,batch_norm_mlp,selu_100,"
                        "elu_20x100_cifar")
    parser.add_argument("--batches", default=None, help="comma-separated batch sizes")
    parser.add_argument("--skip", default="", help="comma-separated parts to skip: "
                        "training,kernels,cold_start,peak_rss")
    parser.add_argument("--tf-onednn", default="default", choices=["default", "0", "1"],
                        help="TF_ENABLE_ONEDNN_OPTS for Keras ('default' leaves it unset)")
    parser.add_argument("--output", default=None, help="results directory")
    parser.add_argument("--no-readme", action="store_true", help="do not touch README.md")
    args = parser.parse_args(argv)

    os.environ.setdefault("NUMPY_NN_DATA_DIR", os.path.join(os.path.dirname(ROOT), "shared",
                                                            "data"))
    os.environ.setdefault("NUMPY_NN_NO_DOWNLOAD", "1")
    sys.path.insert(0, ROOT)
    from threadpoolctl import threadpool_limits

    from benchmarks import report
    from benchmarks.harness import run_training_grid, worker_env
    from benchmarks.microbench import run_microbenchmarks
    from benchmarks.startup import measure_cold_start, measure_peak_rss

    config = QUICK if args.quick else FULL
    threads = args.threads or os.cpu_count()
    threadpool_limits(threads)
    batches = tuple(int(b) for b in args.batches.split(",")) if args.batches else \
        config["batches"]
    models = [m for m in args.models.split(",") if m]
    skip = set(filter(None, args.skip.split(",")))
    output = args.output or (os.path.join(RESULTS, "quick") if args.quick else RESULTS)
    mode = "quick" if args.quick else "full"
    results = {}
    load_before = _load()
    started = time.perf_counter()
    print(f"numpy_nn benchmarks ({mode}), {threads} thread(s), load average {load_before}")

    versions = None
    if "training" not in skip:
        print("Training throughput (interleaved; ms per step):")
        results["training"], versions = run_training_grid(
            models, batches, lambda batch: batch * config["steps"][batch],
            config["repetitions"], threads, args.tf_onednn)
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

    results["machine"] = machine_description(threads, args.tf_onednn, mode, versions)
    results["machine"]["load_before"] = load_before
    results["machine"]["load_after"] = _load()
    results["machine"]["seconds"] = round(time.perf_counter() - started, 1)
    notes = limits_notes(results)
    os.makedirs(output, exist_ok=True)
    report.write_text(os.path.join(output, "benchmarks.json"),
                      json.dumps({**results, "notes": notes}, indent=1))
    report.write_text(os.path.join(output, "benchmarks.md"), report.markdown(results, notes))
    if results.get("training"):
        report.plot(results, os.path.join(output, "throughput.png"))
    if not args.quick and not args.no_readme:
        report.update_readme(os.path.join(ROOT, "README.md"),
                             report.readme_section(results, notes))
    print(f"Wrote {output}/benchmarks.{{json,md}} and throughput.png in "
          f"{results['machine']['seconds']:.0f} s (load average after: "
          f"{results['machine']['load_after']}).")
    for target, measured, ok in report.target_checks(results):
        print(f"  [{'met' if ok else 'NOT MET'}] {target}: {measured}")


def limits_notes(results):
    """What limits each target that is not met, computed from the measured figures."""
    notes = []
    for cell in results.get("training", []):
        if cell["model"] in ("leaky_relu_mlp", "batch_norm_mlp", "selu_100"):
            keras_over_floor = cell["ratios"]["keras_over_floor"]
            needed = 6.0 if cell["batch"] == 32 else 1.5 if cell["batch"] == 1024 else None
            if needed and keras_over_floor < needed:
                notes.append(
                    f"{cell['model']}, batch {cell['batch']}: Keras itself runs at "
                    f"{keras_over_floor:.2f}x the matmul floor, so no implementation using "
                    f"these GEMMs can be {needed:g}x faster than Keras here; the Numba path is "
                    f"{cell['ratios']['numba_over_floor']:.2f}x the floor.")
    return notes


if __name__ == "__main__":
    main()
