"""Batch normalisation, after and before the activation (chapter section "Batch
Normalization").

Model 1: BN after the input and after each hidden Dense+ReLU layer. Model 2: BN between each
Dense (``use_bias=False``, since BN's beta replaces the bias) and its activation. Both: SGD
(learning_rate=1e-3), 10 epochs, inputs scaled to [0, 1]. Prints the summary and the BN
layer's variables (gamma and beta are trained; the moving mean and variance are not), and
writes ``learning_curves.png``.
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
)


def bn_after_activation():
    keras.utils.set_random_seed(42)
    return keras.models.Sequential([
        keras.layers.Flatten(input_shape=[28, 28]),
        keras.layers.BatchNormalization(),
        keras.layers.Dense(300, activation="relu"),
        keras.layers.BatchNormalization(),
        keras.layers.Dense(100, activation="relu"),
        keras.layers.BatchNormalization(),
        keras.layers.Dense(10, activation="softmax")
    ])


def bn_before_activation():
    keras.utils.set_random_seed(42)
    return keras.models.Sequential([
        keras.layers.Flatten(input_shape=[28, 28]),
        keras.layers.BatchNormalization(),
        keras.layers.Dense(300, use_bias=False),
        keras.layers.BatchNormalization(),
        keras.layers.Activation("relu"),
        keras.layers.Dense(100, use_bias=False),
        keras.layers.BatchNormalization(),
        keras.layers.Activation("relu"),
        keras.layers.Dense(10, activation="softmax")
    ])


def main(argv=None):
    args = parse_args("batch_normalization", __doc__, argv)
    (X_train, y_train), (X_valid, y_valid), _ = load_fashion_mnist(args)
    n_epochs = epochs(args, 10)
    histories = {}
    for label, build in (("BN after activation", bn_after_activation),
                         ("BN before activation", bn_before_activation)):
        section(label)
        model = build()
        model.summary()
        bn1 = model.layers[1]
        print([(var.name, var.trainable) for var in bn1.variables])
        model.compile(loss="sparse_categorical_crossentropy",
                      optimizer=keras.optimizers.SGD(learning_rate=1e-3),
                      metrics=["accuracy"])
        histories[label] = fit_and_report(model, X_train, y_train, X_valid, y_valid, label,
                                          epochs=n_epochs)
    plot_learning_curves(args, "learning_curves", histories,
                         title="Batch normalization placements")
    return histories


if __name__ == "__main__":
    main()
