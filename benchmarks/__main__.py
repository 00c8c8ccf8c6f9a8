"""``python -m benchmarks --model PATH_OR_NAME --batch 32 128 --threads 1``: time *your* model.

Times the training step of a saved numpy_nn model (a file written by ``model.save``, loaded
with ``numpy_nn.models.load_model``) or of a chapter network by name
(``leaky_relu_mlp``, ``batch_norm_mlp``, ``selu_100``, ``elu_20x100_cifar``) on both numpy_nn
kernel paths and on its equivalents in every peer installed here: Keras 3 on TensorFlow and
on JAX (the model translated by ``tf_backend.to_keras``, same weights, same compile settings),
PyTorch eager and ``torch.compile`` (translated by :func:`benchmarks.peers.to_torch`). The
harness, the fairness rules and the tables are those of ``make bench``
(:mod:`benchmarks.harness`, :mod:`benchmarks.report`). A saved model trains on random inputs
of its input shape and random labels among its outputs (the speed of these networks does not
depend on the values); a chapter network on its own dataset. A peer that cannot express the
model is named with the reason and left out. Nothing is written unless ``--json`` is given.
"""
from __future__ import annotations

import argparse
import json
import os
import sys

from benchmarks.worker import ENGINES

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m benchmarks",
                                     description=__doc__.splitlines()[0])
    parser.add_argument("--model", required=True,
                        help="a numpy_nn model file, or a chapter network's name")
    parser.add_argument("--batch", type=int, nargs="+", default=[32], help="batch sizes")
    parser.add_argument("--threads", type=int, nargs="+", default=[1], help="thread counts")
    parser.add_argument("--repetitions", type=int, default=7,
                        help="timed repetitions per worker process")
    parser.add_argument("--processes", type=int, default=1,
                        help="fresh worker processes per engine (intervals are over "
                             "processes when above 1, and the headline engine gets its A/A "
                             "control)")
    parser.add_argument("--steps", type=int, default=None,
                        help="training steps per timed call (default: 2048 samples' worth, "
                             "at least 3)")
    parser.add_argument("--engines", default=None,
                        help="comma-separated subset of " + ",".join(ENGINES)
                             + " (default: all installed)")
    parser.add_argument("--nice", type=int, default=-15,
                        help="the workers' scheduling priority, as for make bench (default -15: "
                             "ahead of other jobs, every engine alike; 0 to leave it)")
    parser.add_argument("--json", default=None, help="also write the results to this file")
    args = parser.parse_args(argv)
    sys.path.insert(0, ROOT)
    os.environ.setdefault("NUMPY_NN_DATA_DIR", os.path.join(os.path.dirname(ROOT), "shared",
                                                            "data"))
    from benchmarks import report
    from benchmarks.harness import available_engines, run_training_grid
    from benchmarks.models import MODELS
    from benchmarks.run import _load, machine_description

    model = args.model
    if model not in MODELS:
        if not os.path.exists(model):
            parser.error(f"--model: expected a numpy_nn model file or one of {sorted(MODELS)}, "
                         f"got {model!r} (no such file)")
        model = os.path.abspath(model)       # the workers run from the checkout's root
    for name, values in (("--batch", args.batch), ("--threads", args.threads)):
        if any(v < 1 for v in values):
            parser.error(f"{name}: expected positive integers, got {values}")
    if args.repetitions < 2:
        parser.error(f"--repetitions: expected at least 2 (for an interval), got "
                     f"{args.repetitions}")
    engines, skipped = available_engines()
    if args.engines:
        wanted = [e for e in args.engines.split(",") if e]
        unknown = [e for e in wanted if e not in engines and e not in skipped]
        if unknown:
            parser.error(f"--engines: unknown {unknown}; expected some of "
                         + ",".join(ENGINES))
        engines = [e for e in engines if e in wanted]

    def samples_for(batch):
        steps = args.steps or max(3, -(-2048 // batch))
        return batch * steps

    load_before = _load()
    for engine, reason in skipped.items():
        print(f"skipped {engine}: {reason}")
    cells, versions, failures = run_training_grid(
        [model], sorted(args.batch), samples_for, args.repetitions, tuple(args.threads),
        engines, nice=args.nice, log=lambda line: print(line, flush=True),
        processes=args.processes, controls=args.processes > 1)
    results = {"training": cells,
               "machine": {**machine_description(args.threads, "default", "user", versions),
                           "skipped_engines": skipped, "failed_engines": failures,
                           "load_before": load_before, "load_after": _load(), "seconds": 0}}
    print()
    print("\n".join(report.machine_lines(results)))
    for threads in sorted(args.threads):
        chosen = [c for c in cells if c["threads"] == threads]
        print(f"\n{threads} thread(s): median ms per step")
        print("\n".join(report.training_table(chosen)))
        print(f"\n{threads} thread(s): ratios to the Numba path (95% intervals)")
        print("\n".join(report.peer_ratio_table(chosen)))
        print(f"\n{threads} thread(s): CPU-seconds per wall-second (allowed: {threads})")
        print("\n".join(report.cpu_table(chosen)))
    if args.json:
        report.write_text(args.json, json.dumps(results, indent=1))
    return results


if __name__ == "__main__":
    main()
