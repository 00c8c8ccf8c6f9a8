"""The CIFAR-10 + batch normalization row of the reproduction table: does the gap between the
engines come from the engines, or from the order in which each visits the batches?

Two diagnostics, each run recorded (one JSON file per run, written atomically, skipped when
already there) and the tables and sentences of ``docs/reports/reproduction.md`` generated from
the records:

* ``same`` — the row's network and optimizer (20 x 100 BN + ELU, Nadam 5e-4, batch 32,
  float32), both engines from Keras's initial weights for the seed, all 45,000 training
  images in their stored order (``shuffle=False``): the same batches from the same start;
  the mean training loss of each of 4 epochs.
* ``orders`` — all 45,000 images, both engines from Keras's initial weights, 3 epochs, three
  orders: ``fixed`` (``shuffle=False``), ``fresh`` (a new permutation every epoch, drawn by
  NumPy from the seed outside ``fit``, then ``shuffle=False``) and ``own`` (the engine's own
  ``fit(shuffle=True)`` after its ``set_random_seed``, the call the table makes).

    python -m examples.batch_order_cifar                 # run what is missing, write the report
    python -m examples.batch_order_cifar --report-only   # the report from the records

Each run uses one thread (BLAS, Numba, TensorFlow); the numpy_nn runs use the NumPy path.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import os
import statistics
import time

import numpy as np

from examples import reproduce

HERE = os.path.dirname(os.path.abspath(__file__))
RECORDS = os.path.join(HERE, "records", "batch_order_cifar")
REPORT = os.path.join(HERE, "records", "batch_order_cifar.md")
SEEDS = (42, 43, 44)
FRAMEWORKS = ("numpy_nn", "keras")
ORDERS = ("fixed", "fresh", "own")
PARTS = {"same": {"images": 45000, "epochs": 4, "orders": ("fixed",)},
         "orders": {"images": 45000, "epochs": 3, "orders": ORDERS}}


def configs(seeds):
    return [{"part": part, "order": order, "framework": framework, "seed": seed,
             "images": spec["images"], "epochs": spec["epochs"]}
            for part, spec in PARTS.items() for order in spec["orders"] for seed in seeds
            for framework in FRAMEWORKS]


def run_id(config):
    return hashlib.sha256(json.dumps(config, sort_keys=True).encode()).hexdigest()[:16]


def initial_weights(seed):
    """Keras's initial weights for the row's network and ``seed``."""
    keras = reproduce.framework_module("keras")
    keras.backend.clear_session()
    keras.utils.set_random_seed(seed)
    return reproduce.cifar_model(keras, "bn").get_weights()


def train(config, X, y):
    """One run: the per-epoch mean training losses."""
    kx = reproduce.framework_module(config["framework"])
    weights = initial_weights(config["seed"])
    kx.backend.clear_session()
    kx.utils.set_random_seed(config["seed"])
    model = reproduce.cifar_model(kx, "bn")
    model.set_weights(weights)
    model.compile(loss="sparse_categorical_crossentropy",
                  optimizer=kx.optimizers.Nadam(learning_rate=5e-4))
    X, y = X[:config["images"]], y[:config["images"]]
    if config["order"] == "own":
        return model.fit(X, y, epochs=config["epochs"], batch_size=32, shuffle=True,
                         verbose=0).history["loss"]
    losses = []
    orders = np.random.default_rng(config["seed"])
    for _ in range(config["epochs"]):
        order = orders.permutation(len(X)) if config["order"] == "fresh" else np.arange(len(X))
        history = model.fit(X[order], y[order], epochs=1, batch_size=32, shuffle=False,
                            verbose=0)
        losses.append(history.history["loss"][0])
    return losses


def run_missing(seeds, folder):
    from threadpoolctl import threadpool_limits

    from numpy_nn.experiments.store import ResultsStore
    store = ResultsStore(folder)
    missing = [c for c in configs(seeds) if not store.finished(run_id(c))]
    if not missing:
        return
    (X, y), _, _ = reproduce.load_data("cifar", quick=False)
    with threadpool_limits(1):
        for config in missing:
            start = time.perf_counter()
            losses = train(config, X, y)
            store.write({"id": run_id(config), "status": "ok", "config": config,
                         "loss": [float(v) for v in losses],
                         "seconds": time.perf_counter() - start})
            print(f"{config['part']}/{config['order']}/{config['framework']}/seed "
                  f"{config['seed']}: " + ", ".join(f"{v:.4f}" for v in losses), flush=True)


# ------------------------------------------------------------------------------ the report
def load(folder):
    from numpy_nn.experiments.store import ResultsStore
    runs = {}
    for record in ResultsStore(folder).records("ok"):
        c = record["config"]
        spec = PARTS.get(c["part"], {})
        if (c["images"], c["epochs"]) == (spec.get("images"), spec.get("epochs")):
            runs[(c["part"], c["order"], c["framework"], c["seed"])] = record["loss"]
    return runs


def mean_losses(runs, part, order, framework):
    seeds = sorted(s for (p, o, f, s) in runs if (p, o, f) == (part, order, framework))
    if not seeds:
        return seeds, []
    return seeds, [statistics.fmean(runs[(part, order, framework, s)][e] for s in seeds)
                   for e in range(PARTS[part]["epochs"])]


def same_section(runs):
    seeds, _ = mean_losses(runs, "same", "fixed", "numpy_nn")
    seeds = [s for s in seeds if ("same", "fixed", "keras", s) in runs]
    if not seeds:
        return "*(no records of the `same` diagnostic yet)*"
    epochs = PARTS["same"]["epochs"]
    lines = ["| seed | engine | " + " | ".join(f"epoch {e + 1}" for e in range(epochs)) + " |",
             "|---|---|" + "---:|" * epochs]
    for seed in seeds:
        for framework in FRAMEWORKS:
            lines.append(f"| {seed} | {reproduce.FRAMEWORK_NAMES[framework]} | " + " | ".join(
                f"{v:.4f}" for v in runs[("same", "fixed", framework, seed)]) + " |")
    differences = [runs[("same", "fixed", "numpy_nn", s)][-1] - runs[("same", "fixed", "keras",
                                                                      s)][-1] for s in seeds]
    relative = [abs(d) / runs[("same", "fixed", "keras", s)][-1]
                for d, s in zip(differences, seeds)]
    seed_list = ", ".join(map(str, seeds))
    lines += ["", f"At epoch {epochs}, numpy_nn's mean training loss minus Keras's is "
              + ", ".join(f"{d:+.4f}" for d in differences) + f" (seeds {seed_list}): at most "
              f"{max(relative):.1%} of Keras's loss. Same weights, same batches: only the engine "
              f"differs, over {epochs * 45000 // 32:,} steps."]
    return "\n".join(lines)


def orders_section(runs):
    lines = ["| order of the batches | " + " | ".join(
        f"{reproduce.FRAMEWORK_NAMES[f]}, epochs 1-{PARTS['orders']['epochs']}"
        for f in FRAMEWORKS) + " |", "|---|---|---|"]
    labels = {"fixed": "fixed (`shuffle=False`)",
              "fresh": "a new permutation every epoch (drawn outside `fit`, `shuffle=False`)",
              "own": "`fit(shuffle=True)` after the framework's `set_random_seed`"}
    finals = {}
    seeds = None
    for order in ORDERS:
        cells = []
        for framework in FRAMEWORKS:
            seeds, means = mean_losses(runs, "orders", order, framework)
            if not seeds:
                return "*(no records of the `orders` diagnostic yet)*"
            finals[(order, framework)] = means[-1]
            cells.append(", ".join(f"{v:.4f}" for v in means))
        lines.append(f"| {labels[order]} | " + " | ".join(cells) + " |")
    lines += ["", f"Mean training loss per epoch over seeds {', '.join(map(str, seeds))}. "]
    for framework in FRAMEWORKS:
        own = finals[("own", framework)]
        to_fixed = abs(own - finals[("fixed", framework)])
        to_fresh = abs(own - finals[("fresh", framework)])
        lines[-1] += (f"{reproduce.FRAMEWORK_NAMES[framework]}'s own `fit(shuffle=True)` ends "
                      f"{to_fixed:.4f} from its fixed-order run and {to_fresh:.4f} from its "
                      f"run on fresh permutations. ")
    return "\n".join(lines).rstrip()


def write_report(runs, path):
    text = ("<!-- generated by python -m examples.batch_order_cifar from "
            "examples/records/batch_order_cifar/; do not edit -->\n\n"
            "**The same batches from the same start** (all 45,000 images, `shuffle=False`, "
            "Keras's initial weights in both), mean training loss per epoch:\n\n"
            + same_section(runs) + "\n\n**Three orders of the batches** (all 45,000 images, "
            "Keras's initial weights in both):\n\n" + orders_section(runs) + "\n")
    from numpy_nn.io_utils import atomic_write
    with atomic_write(path, "w") as handle:
        handle.write(text)
    return text


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m examples.batch_order_cifar",
                                     description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=list(SEEDS))
    parser.add_argument("--results", default=RECORDS)
    parser.add_argument("--report", default=REPORT)
    parser.add_argument("--report-only", action="store_true",
                        help="write the report from the records already there")
    args = parser.parse_args(argv)
    if not args.report_only:
        run_missing(args.seeds, args.results)
    print(write_report(load(args.results), args.report))


if __name__ == "__main__":
    main()
