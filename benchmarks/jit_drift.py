"""``python -m benchmarks.jit_drift``: how far ``jit_compile=True`` drifts from the reference.

For each family of the chapter's networks (at full size, float64, on Fashion-MNIST or
CIFAR-10), two copies of one model, the same initial weights, train on the same batches, one
with ``jit_compile=False`` and one with ``jit_compile=True``, for 1,000 steps; after steps 1,
10, 100 and 1,000 the largest relative difference of any weight,
:math:`\\max |w_\\text{jit} - w_\\text{ref}| / \\max |w_\\text{ref}|`, is recorded. The record
(``benchmarks/results/jit_compile/drift.json``) and its table (``drift.md``, included by the
Speed guide) are written atomically; ``--quick`` runs 100 steps on fewer families.
"""
from __future__ import annotations

import argparse
import json
import os
import platform

import numpy as np

import numpy_nn as nn

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUTPUT = os.path.join(ROOT, "benchmarks", "results", "jit_compile")
CHECKPOINTS = (1, 10, 100, 1000)


def families(nn):
    """name -> (dataset, layers builder, optimizer builder)."""
    L = nn.layers

    def mlp(activation, initializer, hidden=(300, 100), **dense):
        return [L.Dense(units, activation=activation, kernel_initializer=initializer, **dense)
                for units in hidden] + [L.Dense(10, activation="softmax")]

    return {
        "LeakyReLU layers, SGD": ("fashion", lambda: [
            L.Dense(300, kernel_initializer="he_normal"), L.LeakyReLU(),
            L.Dense(100, kernel_initializer="he_normal"), L.LeakyReLU(),
            L.Dense(10, activation="softmax")], lambda: nn.optimizers.SGD(1e-3)),
        "BatchNormalization, SGD": ("fashion", lambda: [L.BatchNormalization()] + [
            layer for units in (300, 100) for layer in (
                L.Dense(units, activation="relu"), L.BatchNormalization())] + [
            L.Dense(10, activation="softmax")], lambda: nn.optimizers.SGD(1e-3)),
        "SELU, 100 layers, SGD": ("fashion", lambda: mlp("selu", "lecun_normal",
                                                         (300,) + (100,) * 99),
                                  lambda: nn.optimizers.SGD(1e-3)),
        "ELU 20x100 CIFAR-10, Nadam": ("cifar", lambda: mlp("elu", "he_normal", (100,) * 20),
                                       lambda: nn.optimizers.Nadam(5e-5)),
        "Dropout, Nadam": ("fashion", lambda: [L.Dropout(0.2)] + [
            layer for units in (300, 100) for layer in (
                L.Dense(units, activation="elu", kernel_initializer="he_normal"),
                L.Dropout(0.2))] + [L.Dense(10, activation="softmax")],
            lambda: nn.optimizers.Nadam()),
        "l2 regularization, Adam": ("fashion", lambda: mlp(
            "elu", "he_normal", kernel_regularizer=nn.regularizers.l2(0.01)),
            lambda: nn.optimizers.Adam()),
        "max-norm, RMSprop": ("fashion", lambda: mlp(
            "selu", "lecun_normal", kernel_constraint=nn.constraints.max_norm(1.0)),
            lambda: nn.optimizers.RMSprop()),
    }


def load(kind, samples):
    import numpy_nn as nn
    if kind == "cifar":
        (x, y), _ = nn.datasets.cifar10.load_data()
    else:
        (x, y), _ = nn.datasets.fashion_mnist.load_data()
    x = (x[:samples].astype(np.float64) / 255.0).reshape(samples, -1)
    return x, y[:samples].reshape(-1)


def drift(name, steps, batch_size=32):
    """Relative weight difference after each checkpoint (within ``steps``)."""
    import numpy_nn as nn
    nn.backend.set_floatx("float64")
    kind, layers, optimizer = families(nn)[name]
    x, y = load(kind, batch_size * steps)
    models = []
    for jit_compile in (False, True):
        nn.utils.set_random_seed(7)
        model = nn.models.Sequential([nn.layers.Input((x.shape[1],))] + layers())
        model.compile(optimizer=optimizer(), loss="sparse_categorical_crossentropy",
                      jit_compile=jit_compile)
        models.append(model)
    models[1].set_weights(models[0].get_weights())
    found = {}
    for step in range(1, steps + 1):
        batch = slice((step - 1) * batch_size, step * batch_size)
        for model in models:
            nn.utils.set_random_seed(step)          # the same dropout masks on both paths
            model.train_on_batch(x[batch], y[batch])
        if step in CHECKPOINTS:
            reference, compiled = models[0].get_weights(), models[1].get_weights()
            scale = max(float(np.max(np.abs(w))) for w in reference)
            found[step] = max(float(np.max(np.abs(a - b))) for a, b in
                              zip(reference, compiled)) / scale
    nn.backend.set_floatx("float32")
    return found


def table(record):
    steps = [s for s in CHECKPOINTS if s <= record["steps"]]
    lines = ["| network, optimizer | " + " | ".join(f"after {s:,} step{'s' * (s > 1)}"
                                                  for s in steps) + " |",
             "|---|" + "---:|" * len(steps)]
    for name, values in record["drift"].items():
        lines.append(f"| {name} | " + " | ".join(
            "0 (bit for bit)" if values[str(s)] == 0 else f"{values[str(s)]:.1e}"
            for s in steps) + " |")
    lines += ["", f"*Largest weight difference relative to the largest weight, float64, batch "
                  f"32; {record['machine']}; `python -m benchmarks.jit_drift`.*"]
    return "\n".join(lines) + "\n"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--output", default=OUTPUT)
    args = parser.parse_args(argv)
    os.environ.setdefault("NUMPY_NN_DATA_DIR", os.path.join(os.path.dirname(ROOT), "shared",
                                                            "data"))
    from numpy_nn.io_utils import atomic_write
    steps = 100 if args.quick else 1000
    names = list(families(nn))
    if args.quick:
        names = names[:2]
    record = {"steps": steps, "machine": f"{platform.machine()}, Python "
              f"{platform.python_version()}, NumPy {np.__version__}",
              "drift": {name: {str(k): v for k, v in drift(name, steps).items()}
                        for name in names}}
    os.makedirs(args.output, exist_ok=True)
    with atomic_write(os.path.join(args.output, "drift.json"), "w") as handle:
        json.dump(record, handle, indent=1)
    with atomic_write(os.path.join(args.output, "drift.md"), "w") as handle:
        handle.write(table(record))
    print(table(record))


if __name__ == "__main__":
    main()
