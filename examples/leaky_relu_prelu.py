"""LeakyReLU and PReLU on Fashion-MNIST (chapter section "Nonsaturating Activation
Functions").

The chapter's two models: 784-300-100-10 with ``he_normal`` Dense layers followed by
``LeakyReLU()`` (default slope 0.3) or ``PReLU()`` (a learned slope per
unit), SGD(learning_rate=1e-3), 10 epochs. Writes ``learning_curves.png`` (validation accuracy
per epoch of both).
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


def build(activation_layer):
    keras.utils.set_random_seed(42)
    model = keras.models.Sequential([
        keras.layers.Flatten(input_shape=[28, 28]),
        keras.layers.Dense(300, kernel_initializer="he_normal"),
        activation_layer(),
        keras.layers.Dense(100, kernel_initializer="he_normal"),
        activation_layer(),
        keras.layers.Dense(10, activation="softmax")
    ])
    model.compile(loss="sparse_categorical_crossentropy",
                  optimizer=keras.optimizers.SGD(learning_rate=1e-3),
                  metrics=["accuracy"])
    return model


def main(argv=None):
    args = parse_args("leaky_relu_prelu", __doc__, argv)
    (X_train, y_train), (X_valid, y_valid), _ = load_fashion_mnist(args)
    n_epochs = epochs(args, 10)
    histories = {}
    for name, layer in (("LeakyReLU", keras.layers.LeakyReLU), ("PReLU", keras.layers.PReLU)):
        section(name)
        model = build(layer)
        histories[name] = fit_and_report(model, X_train, y_train, X_valid, y_valid, name,
                                         epochs=n_epochs)
    plot_learning_curves(args, "learning_curves", histories,
                         title="LeakyReLU vs PReLU (SGD 1e-3)")
    return histories


if __name__ == "__main__":
    main()
