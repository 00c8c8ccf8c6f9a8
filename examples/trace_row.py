"""Where do numpy_nn's and Keras's trainings of one reproduction experiment part?
``tf_backend.compare`` on a row of the same-batches, same-start diagnostic.

``python -m examples.trace_row EXPERIMENT [--seed 42] [--steps 20] [--batch-size 32]
[--quick] [--report DIR]`` builds the experiment's first model in both engines with the
reproduction's own code (``examples/reproduce.py``: the model and optimizer its first
``compile_model`` call makes), starts numpy_nn from the weights Keras draws for the seed (as
``--init-from keras`` does), and trains both on the diagnostic's batches (one permutation of
the training set drawn by NumPy from the seed, as ``--batch-order same`` does):

1. **teacher-forced**: every layer's output, the loss, every gradient, optimizer slot and
   weight compared at every step from identical inputs and state, each against the error
   model of ``parity_tests/tolerances.py``; the first comparison above its tolerance is the
   place the engines differ;
2. **free-running**: each engine on its own; the relative difference of the two losses per
   step shows how far float rounding alone carries the trainings apart.

What it leaves out: callbacks the experiment gives ``fit`` (learning rates set per epoch or
per batch, early stopping, ``ReduceLROnPlateau``); a schedule object inside the optimizer is
part of the comparison. Transfer learning's first model trains on a subset with 8 classes
and is not traced here. It prints the first divergence and exits 1 when there is one;
``--report DIR`` writes ``tf_backend.compare``'s Markdown report, CSV and plot.
"""
from __future__ import annotations

import argparse
import os
import sys
import time

import numpy as np

# exact float32 matrix products in TensorFlow (see tf_backend), set before Keras is imported
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")
from examples import reproduce  # noqa: E402

#: experiments whose first model does not train on the experiment's training set
NOT_TRACEABLE = {"transfer": "its first model (A) trains on a subset with 8 classes"}


class _Compiled(Exception):
    """Stops an experiment once its first model is compiled."""


def first_model(experiment, kx, data, seed):
    """The compiled model (and optimizer) the experiment's first ``compile_model`` call makes
    with framework ``kx`` after ``kx.utils.set_random_seed(seed)``."""
    made = []

    def take(model):
        made.append(model)
        raise _Compiled
    kx.backend.clear_session()
    reproduce._seed = seed
    kx.utils.set_random_seed(seed)
    reproduce._compiled_hook = take
    try:
        experiment.run(kx, data, experiment.epochs)
    except _Compiled:
        pass
    finally:
        reproduce._compiled_hook = None
    if not made:
        raise RuntimeError(f"{experiment.key}: the experiment compiled no model")
    return made[0]


def models_and_batches(key, seed, quick=False):
    """(numpy_nn model, Keras model, x, y): both models the experiment's first, numpy_nn's
    starting from Keras's initial weights; x, y the training set in the seed's order."""
    import keras

    import numpy_nn
    experiments = {e.key: e for e in reproduce.EXPERIMENTS}
    if key not in experiments:
        raise SystemExit(f"experiment: unknown {key!r}; expected one of "
                         f"{', '.join(experiments)}")
    if key in NOT_TRACEABLE:
        raise SystemExit(f"experiment {key!r} cannot be traced: {NOT_TRACEABLE[key]}")
    experiment = experiments[key]
    data = reproduce.load_data(experiment.data, quick)
    keras_model = first_model(experiment, keras, data, seed)
    numpy_model = first_model(experiment, numpy_nn, data, seed)
    numpy_model.set_weights(keras_model.get_weights())
    x, y = data[0]
    order = np.random.default_rng(seed).permutation(len(x))
    return numpy_model, keras_model, x[order], y[order]


def trace(key, seed=42, steps=20, batch_size=32, quick=False, teacher_forcing=True):
    """``tf_backend.compare`` on the experiment's first model: the result, and its seconds."""
    from tf_backend import compare
    numpy_model, keras_model, x, y = models_and_batches(key, seed, quick)
    started = time.perf_counter()
    result = compare(numpy_model, keras_model, x, y, steps=steps, batch_size=batch_size,
                     teacher_forcing=teacher_forcing)
    return result, time.perf_counter() - started


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m examples.trace_row",
                                     description=__doc__.strip().splitlines()[0])
    parser.add_argument("experiment", help="an experiment key of examples/reproduce.py")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--quick", action="store_true", help="the quick subset's data")
    parser.add_argument("--report", help="write the teacher-forced run's report into DIR")
    args = parser.parse_args(argv)
    if args.steps < 1 or args.batch_size < 1:
        parser.error(f"--steps and --batch-size must be >= 1, got {args.steps}, "
                     f"{args.batch_size}")
    forced, seconds = trace(args.experiment, args.seed, args.steps, args.batch_size,
                            args.quick)
    free, _ = trace(args.experiment, args.seed, args.steps, args.batch_size, args.quick,
                    teacher_forcing=False)
    losses = np.array(free.losses)
    drift = np.abs(losses[:, 0] - losses[:, 1]) / np.abs(losses[:, 1])
    print(f"{args.experiment}, seed {args.seed}: {args.steps} steps of batch "
          f"{args.batch_size}, {len(forced.comparisons)} comparisons ({seconds:.1f} s)")
    print("teacher-forced: " + forced.summary())
    print("free-running, loss difference relative to Keras's: "
          + ", ".join(f"{drift[s - 1]:.1e} (step {s})"
                      for s in sorted({1, 10, 100, 1000, args.steps}) if s <= args.steps))
    if args.report:
        from tf_backend.compare_report import write_report
        write_report(forced, args.report, f"{args.experiment}, seed {args.seed}, "
                     f"teacher-forced")
        print(f"report: {args.report}")
    return 0 if forced.passed else 1


if __name__ == "__main__":
    sys.exit(main())
