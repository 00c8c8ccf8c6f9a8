"""Faster optimizers (chapter section "Faster Optimizers"): momentum, Nesterov, AdaGrad,
RMSProp, Adam, AdaMax and Nadam, each with the chapter's hyperparameters and learning rate
0.001, training the same SELU network (784-300-100-10, standardised inputs) for 5 epochs.
Writes ``learning_curves.png`` (validation loss per epoch for every optimizer).

Keras 2 → 3: the book writes ``lr=``; Keras 3 only accepts ``learning_rate=`` (numpy_nn
accepts both). Nadam in Keras 3 uses the momentum schedule 0.9·(1 − 0.5·0.96^t) without
Keras 2's 0.004 factor, so its first steps differ from the book's runs.
"""
from __future__ import annotations

import numpy_nn as keras
from examples.common import (
    epochs,
    fit_and_report,
    load_fashion_mnist,
    parse_args,
    plot_learning_curves,
    section,
    selu_mlp,
    standardize,
)

OPTIMIZERS = {
    "SGD + momentum": lambda: keras.optimizers.SGD(learning_rate=0.001, momentum=0.9),
    "Nesterov": lambda: keras.optimizers.SGD(learning_rate=0.001, momentum=0.9,
                                             nesterov=True),
    "Adagrad": lambda: keras.optimizers.Adagrad(learning_rate=0.001),
    "RMSprop": lambda: keras.optimizers.RMSprop(learning_rate=0.001, rho=0.9),
    "Adam": lambda: keras.optimizers.Adam(learning_rate=0.001, beta_1=0.9, beta_2=0.999),
    "Adamax": lambda: keras.optimizers.Adamax(learning_rate=0.001, beta_1=0.9, beta_2=0.999),
    "Nadam": lambda: keras.optimizers.Nadam(learning_rate=0.001, beta_1=0.9, beta_2=0.999),
}


def build(optimizer):
    model = selu_mlp()
    model.compile(loss="sparse_categorical_crossentropy", optimizer=optimizer,
                  metrics=["accuracy"])
    return model


def main(argv=None):
    args = parse_args("optimizers", __doc__, argv)
    (X_train, y_train), (X_valid, y_valid), _ = load_fashion_mnist(args)
    X_train, X_valid = standardize(X_train, X_valid)
    histories = {}
    for name, make_optimizer in OPTIMIZERS.items():
        section(name)
        histories[name] = fit_and_report(build(make_optimizer()), X_train, y_train, X_valid,
                                         y_valid, name, epochs=epochs(args, 5, quick=2))
    plot_learning_curves(args, "learning_curves", histories, metric="val_loss",
                         title="Optimizers (learning rate 0.001)")
    return histories


if __name__ == "__main__":
    main()
