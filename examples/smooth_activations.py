"""GELU, SiLU (Swish) and Mish, the third edition's activations: their shapes, and their
gradient health in 100-layer networks (chapter sections "Nonsaturating Activation Functions"
and, for the experiment's design, "Self-normalization").

Two figures:

* ``activations.png`` — the three functions and their derivatives on [-5, 5], beside ReLU and
  ELU (the derivatives from each function's backward pass);
* ``gradient_health.png`` — 100 hidden layers of 100 units, He-normal initialization,
  SGD(learning_rate=1e-3), on standardised Fashion-MNIST, one network per activation, with
  ``LayerStatistics``: per Dense layer, the activations' spread, the saturated fraction and the
  gradient norms, at the first recorded batch (lighter) and the last (darker).

Each run prints, from the recorded numbers, the ratio of the gradient norm reaching the second
hidden layer's input to the one reaching the last hidden layer's input at the first recorded
batch (below 1: the gradient shrinks on its way down), and the final training loss.
"""
from __future__ import annotations

import numpy as np

import numpy_nn as keras
from examples.common import (
    epochs,
    load_fashion_mnist,
    parse_args,
    pyplot,
    save_fig,
    section,
    standardize,
)
from numpy_nn.callbacks import LayerStatistics

ACTIVATIONS = ("gelu", "silu", "mish", "relu")
COLORS = {"gelu": "tab:blue", "silu": "tab:green", "mish": "tab:purple", "relu": "tab:red",
          "elu": "tab:orange"}
PANELS = ("activation_std", "saturated_fraction", "input_grad_norm", "weight_grad_norm",
          "update_ratio")


def plot_functions(args):
    plt = pyplot()
    z = np.linspace(-5, 5, 401)
    fig, (left, right) = plt.subplots(1, 2, figsize=(12, 4.5))
    for name in ("gelu", "silu", "mish", "relu", "elu"):
        function = keras.activations.get(name)
        y = function(z)
        style = "-" if name in ("gelu", "silu", "mish") else ":"
        left.plot(z, y, style, color=COLORS[name], label=name, linewidth=2)
        right.plot(z, function.backward(z, y, np.ones_like(z)), style, color=COLORS[name],
                   label=name, linewidth=2)
    for ax, title in ((left, "f(z)"), (right, "f'(z)")):
        ax.axhline(0, color="k", linewidth=0.5)
        ax.axvline(0, color="k", linewidth=0.5)
        ax.set_xlabel("z")
        ax.set_title(title)
        ax.grid(True)
    left.set_ylim(-1.2, 3)
    right.set_ylim(-0.3, 1.3)
    left.legend(loc="upper left")
    return save_fig(args, "activations")


def build(activation, n_hidden=100, units=100):
    keras.utils.set_random_seed(42)
    layers = [keras.layers.Flatten(input_shape=[28, 28])]
    layers += [keras.layers.Dense(units, activation=activation, kernel_initializer="he_normal")
               for _ in range(n_hidden)]
    layers.append(keras.layers.Dense(10, activation="softmax"))
    model = keras.models.Sequential(layers)
    model.compile(loss="sparse_categorical_crossentropy",
                  optimizer=keras.optimizers.SGD(learning_rate=1e-3), metrics=["accuracy"])
    return model


def watch(model, X, y, args, label):
    stats = LayerStatistics(every=10 if args.quick else "epoch")
    history = model.fit(X, y, epochs=epochs(args, 3), callbacks=[stats], verbose=0)
    dense = [i for i, layer in enumerate(model.layers)
             if isinstance(layer, keras.layers.Dense)][:-1]
    grads = stats.history["input_grad_norm"][0]
    ratio = grads[dense[1]] / grads[dense[-1]]
    print(f"{label}: first batch, ||dL/dx|| at hidden layer 2 / at the last hidden layer = "
          f"{ratio:.3g}; final loss {history.history['loss'][-1]:.4f}", flush=True)
    return stats, dense + [len(model.layers) - 1]


def plot_health(args, runs):
    plt = pyplot()
    fig, grid = plt.subplots(2, 3, figsize=(14, 7.5))
    axes = list(grid.ravel())
    for label, (stats, dense) in runs.items():
        last = len(stats.steps) - 1
        keras.utils.plot_layer_statistics(stats, PANELS, axes=axes[:len(PANELS)], label=label,
                                          color=COLORS[label], records=sorted({0, last}),
                                          layers=dense)
    for ax in axes[:len(PANELS)]:
        ax.set_xlabel("Dense layer")
    handles, labels = axes[0].get_legend_handles_labels()
    axes[0].get_legend().remove()
    axes[-1].axis("off")
    axes[-1].legend(handles, labels, loc="center", fontsize=12,
                    title="lighter: first recorded batch\ndarker: last")
    fig.suptitle("100 hidden layers, He-normal initialization: GELU, SiLU, Mish and ReLU",
                 fontsize=14)
    return save_fig(args, "gradient_health")


def main(argv=None):
    args = parse_args("smooth_activations", __doc__, argv)
    section("The functions and their derivatives")
    plot_functions(args)
    section("100 hidden layers of each")
    (X_train, y_train), _, _ = load_fashion_mnist(args)
    (X_train,) = standardize(X_train)
    runs = {name: watch(build(name), X_train, y_train, args, name) for name in ACTIVATIONS}
    plot_health(args, runs)
    return {name: stats for name, (stats, _) in runs.items()}


if __name__ == "__main__":
    main()
