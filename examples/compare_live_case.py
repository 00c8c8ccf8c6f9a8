"""Is the first-epoch loss gap of the exponential-per-batch Nadam row a difference between the
engines, or float32 rounding grown over 1,700 steps? ``tf_backend.compare`` on that row.

The row (``examples/reproduce.py``, ``exponential_batch``): the chapter's SELU 300-100 network
(lecun_normal), Nadam(learning_rate=0.01), the learning rate multiplied by 0.1**(1/s) before
every batch (s = 20 epochs of batches, the chapter's per-batch callback), Fashion-MNIST
standardized, batch 32. Both engines start from the same weights (numpy_nn's, copied into
Keras) and see the same batches (one permutation drawn by NumPy from the seed, as
``--batch-order same`` does), for one epoch.

Two runs of the same steps:

1. **teacher-forced** (``compare``'s default): every layer, loss, gradient and update compared
   from identical inputs and state. No divergence means that at every step of the epoch the
   two engines compute the same thing up to one operation's float32 rounding.
2. **free-running** (``teacher_forcing=False``): each engine trains on its own; the relative
   loss difference per step shows how that rounding grows, and the two first-epoch mean
   losses are the quantity the reproduction reports.

``python -m examples.compare_live_case [--steps N] [--seed 45]`` writes
``examples/records/compare_live_case/seed-<seed>.json`` (the numbers the docs quote) and the
teacher-forced run's report (``report.md``, ``comparisons.csv``, ``errors.png``) beside it.
"""
from __future__ import annotations

import argparse
import json
import os
import time

import numpy as np

# exact float32 matrix products in TensorFlow (see tf_backend), set before examples.common
# imports Keras
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")
from examples import common  # noqa: E402

OUT = os.path.join(common.EXAMPLES_DIR, "records", "compare_live_case")


def models(kx, seed):
    kx.utils.set_random_seed(seed)
    model = kx.models.Sequential(
        [kx.layers.Input(shape=[28, 28]), kx.layers.Flatten()]
        + [kx.layers.Dense(n, activation="selu", kernel_initializer="lecun_normal")
           for n in (300, 100)] + [kx.layers.Dense(10, activation="softmax")])
    model.compile(loss="sparse_categorical_crossentropy",
                  optimizer=kx.optimizers.Nadam(learning_rate=0.01))
    return model


def per_batch_decay(steps_per_epoch):
    """The reproduction's callback, on both sides: lr <- float(lr) * 0.1**(1/s) per batch."""
    s = 20 * steps_per_epoch

    def before_step(step, numpy_model, keras_model):
        for optimizer in (numpy_model.optimizer, keras_model.optimizer):
            optimizer.learning_rate = float(np.asarray(optimizer.learning_rate)) * 0.1 ** (1 / s)
    return before_step


def run(seed, steps, teacher_forcing, data):
    import keras

    import numpy_nn
    from tf_backend import compare
    x, y = data
    numpy_model, keras_model = models(numpy_nn, seed), models(keras, seed)
    started = time.perf_counter()
    result = compare(numpy_model, keras_model, x, y, steps=steps, batch_size=32,
                     teacher_forcing=teacher_forcing,
                     before_step=per_batch_decay(len(x) // 32))
    return result, time.perf_counter() - started


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m examples.compare_live_case")
    parser.add_argument("--seed", type=int, default=45)
    parser.add_argument("--steps", type=int, default=None, help="default: one epoch")
    args = parser.parse_args(argv)
    (x, y), _, _ = common.load_fashion_mnist(argparse.Namespace(quick=False))
    (x,) = common.standardize(x)
    order = np.random.default_rng(args.seed).permutation(len(x))
    data = (x[order].astype("float32"), y[order])
    steps = args.steps or len(x) // 32
    forced, forced_seconds = run(args.seed, steps, True, data)
    free, free_seconds = run(args.seed, steps, False, data)
    losses = np.array(free.losses)
    drift = np.abs(losses[:, 0] - losses[:, 1]) / np.abs(losses[:, 1])
    checkpoints = [s for s in (1, 10, 100, 1000, steps) if s <= steps]
    first = forced.first_divergence
    record = {
        "seed": args.seed, "steps": steps, "batch_size": 32, "dtype": forced.dtype,
        "teacher_forced": {
            "divergence": None if first is None else first.describe(),
            "comparisons": len(forced.comparisons), "seconds": round(forced_seconds, 1),
            "closest_to_tolerance": {phase: {"step": w.step, "layer": w.layer,
                                             "tensor": w.tensor,
                                             "relative_error": w.max_rel_error,
                                             "tolerance": w.tolerance}
                                     for phase in ("forward", "loss", "gradient",
                                                   "optimizer_state", "weights")
                                     for w in [forced.worst(phase)]}},
        "free_running": {
            "seconds": round(free_seconds, 1),
            "mean_loss_numpy_nn": float(losses[:, 0].mean()),
            "mean_loss_keras": float(losses[:, 1].mean()),
            "loss_relative_difference_at_step": {str(s): float(drift[s - 1])
                                                 for s in checkpoints},
            "weights_largest_relative_error_at_step": {
                str(s): max(c.max_rel_error for c in free.comparisons
                            if c.phase == "weights" and c.step == s - 1)
                for s in checkpoints}},
    }
    os.makedirs(OUT, exist_ok=True)
    from numpy_nn.io_utils import atomic_write
    from tf_backend.compare_report import write_report
    with atomic_write(os.path.join(OUT, f"seed-{args.seed}.json"), "w") as handle:
        json.dump(record, handle, indent=1)
    write_report(forced, os.path.join(OUT, f"seed-{args.seed}-teacher-forced"),
                 f"Exponential scheduling per batch (Nadam), seed {args.seed}, teacher-forced")
    print(json.dumps(record, indent=1))


if __name__ == "__main__":
    main()
