"""Gradient clipping (chapter section "Gradient Clipping").

Every optimizer takes ``clipvalue`` (clip each component to [-c, c]) or ``clipnorm`` (rescale
a gradient whose ℓ2 norm exceeds c). The chapter's example vector [0.9, 100.0] shows the
difference: clipvalue=1.0 gives [0.9, 1.0] and changes its direction, clipnorm=1.0 gives
[0.00899964, 0.9999595] and keeps it (``clipping.png``). Then the same SELU network is trained
with SGD(learning_rate=1e-2) without clipping, with clipvalue=1.0 and with clipnorm=1.0
(``learning_curves.png``).
"""
from __future__ import annotations

import numpy as np

import numpy_nn as keras
from examples.common import (
    epochs,
    fit_and_report,
    load_fashion_mnist,
    parse_args,
    plot_learning_curves,
    pyplot,
    save_fig,
    section,
    selu_mlp,
    standardize,
)
from numpy_nn.variables import Variable


def clipped(gradient, **clipping):
    """The update plain SGD with learning rate 1 makes for ``gradient``, with clipping."""
    optimizer = keras.optimizers.SGD(learning_rate=1.0, **clipping)
    weight = Variable(np.zeros(2, np.float32), name="w")
    optimizer.apply([np.asarray(gradient, np.float32)], [weight])
    return -weight.numpy()


def plot_clipping(args, gradient, by_value, by_norm):
    plt = pyplot()
    fig, axes = plt.subplots(1, 2, figsize=(9, 4))
    axes[0].quiver(0, 0, *gradient, angles="xy", scale_units="xy", scale=1, color="k",
                   label=f"gradient {gradient}")
    axes[0].set_xlim(-5, 5)
    axes[0].set_ylim(-5, 105)
    axes[0].set_title("Original gradient")
    for vector, color, label in ((by_value, "b", "clipvalue=1.0"),
                                 (by_norm, "r", "clipnorm=1.0")):
        axes[1].quiver(0, 0, *vector, angles="xy", scale_units="xy", scale=1, color=color,
                       label=f"{label}: [{vector[0]:.4g}, {vector[1]:.4g}]")
    axes[1].set_xlim(-0.2, 1.2)
    axes[1].set_ylim(-0.2, 1.2)
    axes[1].set_title("Clipped")
    for ax in axes:
        ax.grid(True)
        ax.legend(loc="upper left", fontsize=9)
    save_fig(args, "clipping")


def build(**clipping):
    model = selu_mlp()
    optimizer = keras.optimizers.SGD(learning_rate=1e-2, **clipping)
    model.compile(loss="sparse_categorical_crossentropy", optimizer=optimizer,
                  metrics=["accuracy"])
    return model


def main(argv=None):
    args = parse_args("gradient_clipping", __doc__, argv)
    section("Clipping the chapter's example gradient")
    gradient = [0.9, 100.0]
    by_value, by_norm = clipped(gradient, clipvalue=1.0), clipped(gradient, clipnorm=1.0)
    print(f"clipvalue=1.0: {by_value}\nclipnorm=1.0:  {by_norm}")
    plot_clipping(args, gradient, by_value, by_norm)

    (X_train, y_train), (X_valid, y_valid), _ = load_fashion_mnist(args)
    X_train, X_valid = standardize(X_train, X_valid)
    histories = {}
    for label, clipping in (("no clipping", {}), ("clipvalue=1.0", {"clipvalue": 1.0}),
                            ("clipnorm=1.0", {"clipnorm": 1.0})):
        section(label)
        histories[label] = fit_and_report(build(**clipping), X_train, y_train, X_valid,
                                          y_valid, label, epochs=epochs(args, 5))
    plot_learning_curves(args, "learning_curves", histories, title="Gradient clipping (SGD)")
    return by_value, by_norm, histories


if __name__ == "__main__":
    main()
