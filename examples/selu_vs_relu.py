"""SELU vs ReLU in a 100-hidden-layer network on Fashion-MNIST (chapter section "SELU").

Both models: Flatten, Dense(300) then 99 × Dense(100), softmax output, SGD(learning_rate=1e-3),
5 epochs on standardised inputs (mean 0, std 1 per pixel, as self-normalisation needs).
SELU uses ``lecun_normal`` and keeps learning; ReLU with ``he_normal`` at this depth suffers
from vanishing/exploding gradients. Writes ``learning_curves.png``.
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
    standardize,
)


def build(activation, initializer, n_hidden=100):
    keras.utils.set_random_seed(42)
    model = keras.models.Sequential()
    model.add(keras.layers.Flatten(input_shape=[28, 28]))
    model.add(keras.layers.Dense(300, activation=activation, kernel_initializer=initializer))
    for _ in range(n_hidden - 1):
        model.add(keras.layers.Dense(100, activation=activation,
                                     kernel_initializer=initializer))
    model.add(keras.layers.Dense(10, activation="softmax"))
    model.compile(loss="sparse_categorical_crossentropy",
                  optimizer=keras.optimizers.SGD(learning_rate=1e-3),
                  metrics=["accuracy"])
    return model


def main(argv=None):
    args = parse_args("selu_vs_relu", __doc__, argv)
    (X_train, y_train), (X_valid, y_valid), (X_test, y_test) = load_fashion_mnist(args)
    X_train_scaled, X_valid_scaled, X_test_scaled = standardize(X_train, X_valid, X_test)
    n_epochs = epochs(args, 5)
    histories = {}
    for activation, initializer in (("selu", "lecun_normal"), ("relu", "he_normal")):
        section(f"100 hidden layers, {activation}")
        model = build(activation, initializer)
        histories[activation] = fit_and_report(model, X_train_scaled, y_train, X_valid_scaled,
                                               y_valid, activation, epochs=n_epochs)
    plot_learning_curves(args, "learning_curves", histories,
                         title="100 hidden layers: SELU vs ReLU")
    return histories


if __name__ == "__main__":
    main()
