"""A ready-made task: the chapter's Fashion-MNIST MLP with configurable depth, width,
activation, initializer, optimizer and learning rate.

``Task("numpy_nn.experiments.mlp:train_mlp", {"hidden": [300, 100], "seed": 0, ...})``.
Configuration keys (defaults in :data:`DEFAULTS`):

``dataset``      ``"fashion_mnist"`` (pixels / 255, the first 5,000 training images validate)
                 or ``"synthetic"`` (Gaussian blobs drawn from a fixed seed; no files needed)
``train``/``valid``  how many training / validation images (slices of the split)
``hidden``       list of hidden-layer widths; ``activation``, ``initializer``
``optimizer``    a name numpy_nn's ``optimizers.get`` knows, with ``learning_rate``
``epochs``, ``batch_size``, ``seed``

It returns the per-epoch history, the final validation loss and accuracy, the seconds of
every epoch, and a digest of the trained weights (equal digests: bit-identical weights).
"""
from __future__ import annotations

import time

import numpy as np

import numpy_nn
from numpy_nn.callbacks import Callback
from numpy_nn.datasets import fashion_mnist
from numpy_nn.experiments.worker import cached, weights_digest

__all__ = ["DEFAULTS", "load_split", "train_mlp"]

DEFAULTS = {"dataset": "fashion_mnist", "train": 2000, "valid": 500, "hidden": [300, 100],
            "activation": "relu", "initializer": "he_normal", "optimizer": "sgd",
            "learning_rate": 1e-2, "epochs": 3, "batch_size": 32, "seed": 0}


def load_split(dataset, train, valid):
    """``((X_train, y_train), (X_valid, y_valid))`` as float32 images in [0, 1], flattened."""
    if dataset == "fashion_mnist":
        (X_full, y_full), _ = fashion_mnist.load_data()
        X_valid, y_valid = X_full[:5000][:valid], y_full[:5000][:valid]
        X_train, y_train = X_full[5000:][:train], y_full[5000:][:train]
    elif dataset == "synthetic":
        generator = np.random.default_rng(1234)
        centers = generator.normal(0.5, 0.15, size=(10, 784))
        y_all = generator.integers(0, 10, size=train + valid)
        X_all = np.clip(centers[y_all] + generator.normal(0, 0.25, (train + valid, 784)), 0, 1)
        X_train, y_train = X_all[:train], y_all[:train]
        X_valid, y_valid = X_all[train:], y_all[train:]
    else:
        raise ValueError(f"train_mlp: dataset must be 'fashion_mnist' or 'synthetic', got "
                         f"{dataset!r}")
    scale = 255.0 if X_train.dtype == np.uint8 else 1.0
    X_train, X_valid = ((np.asarray(X, np.float32) / np.float32(scale)).reshape(len(X), -1)
                        for X in (X_train, X_valid))
    return (X_train, np.asarray(y_train)), (X_valid, np.asarray(y_valid))


def train_mlp(config: dict) -> dict:
    unknown = set(config) - set(DEFAULTS) - {"framework"}
    if unknown:
        raise ValueError(f"train_mlp: unknown configuration key(s) {sorted(unknown)}; "
                         f"expected some of {sorted(DEFAULTS)}")
    settings = dict(DEFAULTS, **config)
    if settings.get("framework", "numpy_nn") != "numpy_nn":
        raise ValueError(f"train_mlp: framework must be 'numpy_nn', got "
                         f"{settings['framework']!r}")
    (X_train, y_train), (X_valid, y_valid) = cached(
        load_split, settings["dataset"], settings["train"], settings["valid"])
    numpy_nn.backend.clear_session()
    numpy_nn.utils.set_random_seed(settings["seed"])
    layers = [numpy_nn.layers.Input(shape=[X_train.shape[1]])]
    layers += [numpy_nn.layers.Dense(units, activation=settings["activation"],
                                     kernel_initializer=settings["initializer"])
               for units in settings["hidden"]]
    layers.append(numpy_nn.layers.Dense(10, activation="softmax"))
    model = numpy_nn.models.Sequential(layers)
    optimizer = numpy_nn.optimizers.get({"class_name": settings["optimizer"],
                                         "config": {"learning_rate": settings["learning_rate"]}})
    model.compile(loss="sparse_categorical_crossentropy", optimizer=optimizer,
                  metrics=["accuracy"])
    timer = EpochTimer()
    history = model.fit(X_train, y_train, epochs=settings["epochs"],
                        batch_size=settings["batch_size"], validation_data=(X_valid, y_valid),
                        verbose=0, callbacks=[timer])
    return {"history": {key: [float(v) for v in values]
                        for key, values in history.history.items()},
            "metrics": {key: float(values[-1]) for key, values in history.history.items()},
            "seconds_per_epoch": timer.seconds,
            "weights_digest": weights_digest(model.get_weights())}


class EpochTimer(Callback):
    """Wall time of each epoch (training plus validation)."""

    def __init__(self):
        super().__init__()
        self.seconds = []

    def on_epoch_begin(self, epoch, logs=None):
        self._start = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        self.seconds.append(time.perf_counter() - self._start)
