"""What every chapter example shares: arguments, data, scaling, figures.

Each example is ``python -m examples.<name> [--quick] [--out DIR]``:

* full mode uses the real data and the chapter's epochs;
* ``--quick`` uses a small slice of the data and one or two epochs, so every example runs in
  seconds (the test suite runs them all this way);
* figures are PNG files in ``--out`` (default ``examples/results/<name>/``), drawn headless.
"""
from __future__ import annotations

import argparse
import os
import time

import numpy as np

EXAMPLES_DIR = os.path.dirname(os.path.abspath(__file__))
REPO_DIR = os.path.dirname(EXAMPLES_DIR)

# Run from a checkout, the examples find the shared data folder the Makefile points to.
_shared_data = os.path.join(REPO_DIR, "..", "shared", "data")
if not os.environ.get("NUMPY_NN_DATA_DIR") and os.path.isdir(_shared_data):
    os.environ["NUMPY_NN_DATA_DIR"] = os.path.abspath(_shared_data)
os.environ.setdefault("MPLBACKEND", "Agg")

import numpy_nn as keras  # noqa: E402

#: Sizes used by ``--quick``: enough to run every line, small enough to take seconds.
QUICK_TRAIN, QUICK_VALID, QUICK_TEST = 2000, 500, 500
#: CIFAR-10 images are four times larger and its networks 20 layers deep: fewer of them.
QUICK_CIFAR_TRAIN, QUICK_CIFAR_VALID = 640, 200


# --------------------------------------------------------------------------- arguments
def parse_args(name, description, argv=None):
    """``--quick`` and ``--out``; returns the namespace with ``out`` created."""
    parser = argparse.ArgumentParser(prog=f"python -m examples.{name}",
                                     description=description.strip().splitlines()[0])
    parser.add_argument("--quick", action="store_true",
                        help="small data and 1-2 epochs (seconds), to check that it all runs")
    parser.add_argument("--out", default=os.path.join(EXAMPLES_DIR, "results", name),
                        help="folder for the figures (default: %(default)s)")
    args = parser.parse_args(argv)
    os.makedirs(args.out, exist_ok=True)
    return args


def epochs(args, full, quick=1):
    """The chapter's epoch count, or ``quick`` with ``--quick``."""
    return quick if args.quick else full


def section(title):
    print(f"\n=== {title} " + "=" * max(3, 70 - len(title)), flush=True)


# --------------------------------------------------------------------------- figures
def pyplot():
    """matplotlib.pyplot with the chapter's font sizes (imported only when plotting)."""
    import matplotlib as mpl
    import matplotlib.pyplot as plt
    mpl.rc("axes", labelsize=14)
    mpl.rc("xtick", labelsize=12)
    mpl.rc("ytick", labelsize=12)
    return plt


def save_fig(args, fig_id, tight_layout=True, resolution=100):
    """The chapter's ``save_fig``: write the current figure as ``<out>/<fig_id>.png``."""
    plt = pyplot()
    path = os.path.join(args.out, fig_id + ".png")
    if tight_layout:
        plt.tight_layout()
    plt.savefig(path, format="png", dpi=resolution)
    plt.close("all")
    print("Saving figure", path)
    return path


def plot_learning_curves(args, fig_id, histories, metric="val_accuracy", title=None):
    """One line per ``{label: history}`` of ``metric`` against the epoch."""
    plt = pyplot()
    plt.figure(figsize=(8, 4))
    for label, history in histories.items():
        values = history.history[metric]
        plt.plot(np.arange(1, len(values) + 1), values, "o-", label=label)
    plt.xlabel("Epoch")
    plt.ylabel(metric)
    plt.grid(True)
    plt.legend()
    if title:
        plt.title(title, fontsize=14)
    return save_fig(args, fig_id)


# --------------------------------------------------------------------------- data
def load_fashion_mnist(args):
    """The chapter's Fashion-MNIST split, pixels scaled to [0, 1]:
    ``(X_train, y_train), (X_valid, y_valid), (X_test, y_test)`` with the first 5,000
    training images as the validation set (``--quick``: small slices of each)."""
    (X_train_full, y_train_full), (X_test, y_test) = keras.datasets.fashion_mnist.load_data()
    X_train_full = X_train_full / 255.0
    X_test = X_test / 255.0
    X_valid, X_train = X_train_full[:5000], X_train_full[5000:]
    y_valid, y_train = y_train_full[:5000], y_train_full[5000:]
    if args.quick:
        X_train, y_train = X_train[:QUICK_TRAIN], y_train[:QUICK_TRAIN]
        X_valid, y_valid = X_valid[:QUICK_VALID], y_valid[:QUICK_VALID]
        X_test, y_test = X_test[:QUICK_TEST], y_test[:QUICK_TEST]
    return (X_train, y_train), (X_valid, y_valid), (X_test, y_test)


def load_cifar10(args):
    """The exercise's CIFAR-10 split: the first 5,000 training images validate, the other
    45,000 train (``--quick``: small slices). The test set here holds only the first 1,000
    test images (what the shared data folder has)."""
    (X_train_full, y_train_full), (X_test, y_test) = keras.datasets.cifar10.load_data()
    X_train, y_train = X_train_full[5000:], y_train_full[5000:]
    X_valid, y_valid = X_train_full[:5000], y_train_full[:5000]
    if args.quick:
        X_train, y_train = X_train[:QUICK_CIFAR_TRAIN], y_train[:QUICK_CIFAR_TRAIN]
        X_valid, y_valid = X_valid[:QUICK_CIFAR_VALID], y_valid[:QUICK_CIFAR_VALID]
        X_test, y_test = X_test[:QUICK_CIFAR_VALID], y_test[:QUICK_CIFAR_VALID]
    return (X_train, y_train), (X_valid, y_valid), (X_test, y_test)


def standardize(X_train, *others):
    """Scale every pixel to mean 0 and standard deviation 1 with the training set's
    statistics (what SELU's self-normalisation assumes); returns the scaled arrays."""
    means = X_train.mean(axis=0, keepdims=True)
    stds = X_train.std(axis=0, keepdims=True)
    return tuple((X - means) / stds for X in (X_train,) + others)


# --------------------------------------------------------------------------- training
class Timer:
    """``with Timer() as t: ...``; then ``t.seconds``."""

    def __enter__(self):
        self.start = time.perf_counter()
        return self

    def __exit__(self, *exc):
        self.seconds = time.perf_counter() - self.start


def fit_and_report(model, X_train, y_train, X_valid, y_valid, label, **fit_kwargs):
    """``model.fit`` with validation, then one summary line; returns the History."""
    fit_kwargs.setdefault("verbose", 2)
    with Timer() as timer:
        history = model.fit(X_train, y_train, validation_data=(X_valid, y_valid), **fit_kwargs)
    n_epochs = len(history.epoch)
    print(f"{label}: val_accuracy {history.history['val_accuracy'][-1]:.4f} after "
          f"{n_epochs} epochs ({timer.seconds / max(n_epochs, 1):.1f} s/epoch)", flush=True)
    return history



# --------------------------------------------------------------------------- models
def selu_mlp():
    """The network the chapter's optimizer and schedule sections train again and again:
    784-300-100-10 with SELU and LeCun-normal weights (not compiled). Seeds the engine with 42
    first, so every variant starts from the same weights."""
    keras.utils.set_random_seed(42)
    return keras.models.Sequential([
        keras.layers.Flatten(input_shape=[28, 28]),
        keras.layers.Dense(300, activation="selu", kernel_initializer="lecun_normal"),
        keras.layers.Dense(100, activation="selu", kernel_initializer="lecun_normal"),
        keras.layers.Dense(10, activation="softmax")
    ])
