"""``python -m benchmarks.run [--quick]``: every benchmark, then the JSON, Markdown, plot, README.

``make bench`` runs the full set and rewrites the README's benchmark section;
``make bench-quick`` runs the same measurements with fewer steps and repetitions, one model
per kind, and writes to ``benchmarks/results/quick/`` only.

Timings on a shared machine are noisy: every comparison is interleaved (all engines and
thread counts alternate within each repetition), reported with a 95% interval, and the load
average before and after the run is recorded with the results.
"""
from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import sys
import time

from benchmarks.worker import ENGINES

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
RESULTS = os.path.join(ROOT, "benchmarks", "results")
ALL_MODELS = "leaky_relu_mlp,batch_norm_mlp,selu_100,elu_20x100_cifar"

# repetitions are per worker process; "processes" fresh processes per contender and cell
FULL = {"batches": (32, 128, 1024), "repetitions": 2, "processes": 3,
        "steps": {32: 30, 128: 12, 1024: 12}, "threads": (1, 2), "micro_repetitions": 3,
        "cold_repetitions": 1,
        "allocation_steps": {32: 20, 128: 10, 1024: 4}, "allocation_batches": (32, 1024)}
QUICK = {"batches": (32, 1024), "repetitions": 2, "processes": 2,
         "steps": {32: 20, 128: 10, 1024: 3}, "threads": (1,), "micro_repetitions": 3,
         "cold_repetitions": 1,
         "allocation_steps": {32: 10, 128: 5, 1024: 3}, "allocation_batches": (32, 1024)}


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


def machine_description(thread_counts, tf_onednn, mode, versions):
    import numpy as np
    from threadpoolctl import threadpool_info

    from benchmarks.harness import OPENBLAS_ENVIRONMENT
    blas_libraries = [p for p in threadpool_info() if p.get("user_api") == "blas"]
    numpy_blas = [p for p in blas_libraries if "numpy" in (p.get("filepath") or "")]
    blas = next((f"{p.get('internal_api')} {p.get('version')} ({p.get('architecture')} "
                 f"kernels)" for p in numpy_blas + blas_libraries), "unknown")
    found = {}
    nice = sorted({info.get("nice") for info in (versions or {}).values()
                   if info.get("nice") is not None})
    if nice:
        found["worker_nice"] = nice
    for info in (versions or {}).values():
        for key in ("numba", "tensorflow", "keras", "jax", "torch"):
            if info.get(key):
                found.setdefault(key, info[key])
        if info.get("compiled_gemm"):              # the compiled steps' GEMM, by engine
            found.setdefault("compiled_gemm", {})[info["engine"]] = info["compiled_gemm"]
    return {"cpu": _cpu_name(), "cores": len(os.sched_getaffinity(0)),
            "python": platform.python_version(), "numpy": np.__version__, "blas": blas,
            **found, "threads": list(thread_counts), "mode": mode,
            "tf_onednn": ("TensorFlow's default (oneDNN on)" if tf_onednn == "default"
                          else tf_onednn),
            # what this process's environment had set; the workers run without them
            "openblas_environment": {name: os.environ.get(name, "unset")
                                     for name in OPENBLAS_ENVIRONMENT},
            "worker_blas": sorted({f"{b['internal_api']} {b['version']} "
                                   f"({b['architecture']} kernels)"
                                   for info in (versions or {}).values()
                                   for b in info.get("blas", [])
                                   if b.get("internal_api") == "openblas"}),
            "date": datetime.datetime.now().isoformat(timespec="seconds")}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer steps and repetitions")
    parser.add_argument("--threads", default=None,
                        help="comma-separated thread counts, each given to every engine "
                             "(default: 1,2 for the full run, 1 for --quick)")
    parser.add_argument("--models", default=ALL_MODELS)
    parser.add_argument("--batches", default=None, help="comma-separated batch sizes")
    parser.add_argument("--repetitions", type=int, default=None,
                        help="timed repetitions per worker process")
    parser.add_argument("--processes", type=int, default=None,
                        help="fresh worker processes per contender and cell (full run: 3)")
    parser.add_argument("--engines", default=None,
                        help="comma-separated engines (default: numpy, numba, jit, and "
                             "jit_mkl when the mkl wheel is installed, "
                             "and every peer installed): " + ",".join(ENGINES))
    parser.add_argument("--skip", default="", help="comma-separated parts to skip: "
                        "training,peak,kernels,cold_start,peak_rss,allocations")
    parser.add_argument("--tf-onednn", default="default", choices=["default", "0", "1"],
                        help="TF_ENABLE_ONEDNN_OPTS for Keras ('default' leaves it unset)")
    parser.add_argument("--nice", type=int, default=-15,
                        help="the workers' scheduling priority (default -15: ahead of other "
                             "jobs on a shared machine, every engine alike; 0 to leave it)")
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

    from benchmarks.allocations import measure_allocations
    from benchmarks.harness import available_engines, run_training_grid, worker_env
    from benchmarks.microbench import run_microbenchmarks
    from benchmarks.models import MODELS, SYNTHETIC_ENV, missing_datasets
    from benchmarks.peak import measure_peak
    from benchmarks.startup import measure_cold_start, measure_peak_rss

    config = QUICK if args.quick else FULL
    thread_counts = tuple(int(t) for t in args.threads.split(",")) if args.threads else \
        config["threads"]
    threadpool_limits(thread_counts[0])
    batches = tuple(int(b) for b in args.batches.split(",")) if args.batches else \
        config["batches"]
    repetitions = args.repetitions or config["repetitions"]
    processes = args.processes or config["processes"]
    models = [m for m in args.models.split(",") if m]
    unknown = [m for m in models if m not in MODELS]
    if unknown:
        parser.error(f"--models: unknown {unknown}; expected some of {sorted(MODELS)}")
    skip = set(filter(None, args.skip.split(",")))
    engines, skipped = available_engines()
    if args.engines:
        wanted = [e for e in args.engines.split(",") if e]
        skipped.update({e: "not asked for (--engines)" for e in engines if e not in wanted})
        engines = [e for e in engines if e in wanted]
    needed = sorted({MODELS[m].dataset.replace("_standardized", "") for m in models}
                    | {"fashion_mnist"})
    missing = missing_datasets(needed)
    if missing:
        os.environ[SYNTHETIC_ENV] = ",".join(missing)   # inherited by every worker
        print(f"Not found on this machine: {', '.join(missing)} (set NUMPY_NN_DATA_DIR); "
              f"timing on random images of the same shapes instead.")
    output = args.output or (os.path.join(RESULTS, "quick") if args.quick else RESULTS)
    mode = "quick" if args.quick else "full"
    results = {}
    load_before = _load()
    started = time.perf_counter()
    print(f"numpy_nn benchmarks ({mode}): engines {engines}, thread counts {thread_counts}, "
          f"load average {load_before}" + "".join(f"\n  skipped {k}: {v}"
                                                 for k, v in skipped.items()))
    versions, failures = None, {}
    os.makedirs(output, exist_ok=True)
    partial = os.path.join(output, "benchmarks.partial.json")

    def save_partial():               # a later part failing or killed loses only that part
        from benchmarks.records import write_text
        write_text(partial, json.dumps(results, indent=1))

    if "training" not in skip:
        print("Training step time (interleaved):")
        results["training"], versions, failures = run_training_grid(
            models, batches, lambda batch: batch * config["steps"].get(batch, 10),
            repetitions, thread_counts, engines, args.tf_onednn, args.nice,
            processes=processes)
        save_partial()
    env = worker_env(args.tf_onednn)
    if "peak" not in skip:
        print("Peak SGEMM rate (fresh pinned processes):")
        results["peak"] = measure_peak(thread_counts, env)
        save_partial()
    if "allocations" not in skip:
        print("Allocations per steady training step:")
        results["allocations"] = measure_allocations(
            [(engine, model, batch, config["allocation_steps"].get(batch, 4))
             for engine in ("numba", "numpy", "jit", "jit_mkl")
             if engine in engines
             for model in models for batch in config["allocation_batches"]
             if batch in batches], env)
        save_partial()
    if "peak_rss" not in skip:
        print("Peak memory (fresh processes):")
        results["peak_rss"] = measure_peak_rss(thread_counts[0], env)
        save_partial()
    if "kernels" not in skip:
        print("Kernels vs their NumPy twins:")
        results["kernels"] = run_microbenchmarks(config["micro_repetitions"])
        save_partial()
    if "cold_start" not in skip:
        print("Cold start (fresh processes):")
        results["cold_start"] = measure_cold_start(thread_counts[0], env,
                                                   config["cold_repetitions"])
    results["machine"] = machine_description(thread_counts, args.tf_onednn, mode, versions)
    results["machine"].update(
        processes=processes, repetitions_per_process=repetitions, synthetic_data=missing,
        skipped_engines=skipped, failed_engines=failures,
        load_before=load_before, load_after=_load(),
        seconds=round(time.perf_counter() - started, 1))
    write_reports(results, output, update_readme=not args.quick and not args.no_readme)
    if os.path.exists(partial):
        os.remove(partial)
    print(f"Wrote {output}/benchmarks.{{json,md}} and throughput.png in "
          f"{results['machine']['seconds']:.0f} s (load average after: "
          f"{results['machine']['load_after']}).")
    from benchmarks import report
    for target, measured, ok in report.target_checks(results):
        print(f"  [{'met' if ok else 'NOT MET'}] {target}: {measured}")


def write_reports(results, output, update_readme):
    from benchmarks import report
    from benchmarks.records import write_text
    write_text(os.path.join(output, "benchmarks.json"), json.dumps(results, indent=1))
    write_text(os.path.join(output, "benchmarks.md"), report.markdown(results))
    if results.get("training"):
        from benchmarks import plotting
        plotting.plot_throughput(results, os.path.join(output, "throughput.png"))
        if results.get("peak"):
            plotting.plot_efficiency(results, os.path.join(output, "efficiency.png"))
    if update_readme:
        report.update_readme(os.path.join(output, "summary.md"), report.readme_section(results))
        report.update_readme(os.path.join(ROOT, "README.md"), report.front_page_section(results),
                             report.FRONT_START, report.FRONT_END)


def rewrite_reports(path, no_readme):
    with open(path, encoding="utf-8") as handle:
        results = json.load(handle)
    sys.path.insert(0, ROOT)
    write_reports(results, os.path.dirname(os.path.abspath(path)),
                  update_readme=results["machine"]["mode"] == "full" and not no_readme)
    print(f"Rewrote the reports from {path}.")


if __name__ == "__main__":
    main()
