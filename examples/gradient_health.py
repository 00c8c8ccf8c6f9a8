"""Gradient health, layer by layer: vanishing and exploding gradients made visible with
``numpy_nn.callbacks.LayerStatistics`` (chapter sections "The Vanishing/Exploding Gradients
Problems", "Nonsaturating Activation Functions", "Batch Normalization").

Three comparisons on standardised Fashion-MNIST, each drawn as one figure with a panel per
quantity and the layers on the x axis (lighter line: the first recorded batch, i.e. the
network as initialized; darker: the last):

* ``selu_vs_relu_100_layers.png`` — 100 hidden layers, SELU + LeCun normal vs ReLU + He
  normal, SGD(learning_rate=1e-3) (the chapter's self-normalisation experiment);
* ``sigmoid_init.png`` — 20 sigmoid layers with the default Glorot-uniform vs He-normal
  initialization: saturation and the gradient reaching the first layers;
* ``batch_normalization.png`` — the same 20 sigmoid layers (default init) without and with
  BatchNormalization after every hidden Dense layer.

Each run also prints, from the recorded numbers, how much smaller (or larger) the gradient
reaching the second hidden layer's input is than the one reaching the last hidden layer's
input, at the first recorded batch (both inputs are 100 units wide, so the norms compare).
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

PANELS = ("activation_std", "saturated_fraction", "input_grad_norm", "weight_grad_norm",
          "update_ratio")
COLORS = ("tab:blue", "tab:red")


def build(activation, initializer, n_hidden, units=100, batch_norm=False, learning_rate=1e-3):
    """Flatten, n_hidden Dense layers (BatchNormalization after each with ``batch_norm``),
    softmax output; seeded with 42 so the variants of one figure start alike."""
    keras.utils.set_random_seed(42)
    layers = [keras.layers.Flatten(input_shape=[28, 28])]
    for _ in range(n_hidden):
        layers.append(keras.layers.Dense(units, activation=activation,
                                         kernel_initializer=initializer))
        if batch_norm:
            layers.append(keras.layers.BatchNormalization())
    layers.append(keras.layers.Dense(10, activation="softmax"))
    model = keras.models.Sequential(layers)
    model.compile(loss="sparse_categorical_crossentropy",
                  optimizer=keras.optimizers.SGD(learning_rate=learning_rate),
                  metrics=["accuracy"])
    return model


def watch(model, X, y, args, n_epochs, label):
    """Train with a LayerStatistics callback; print the first/last hidden-layer gradient ratio."""
    stats = LayerStatistics(every=10 if args.quick else "epoch")
    history = model.fit(X, y, epochs=n_epochs, callbacks=[stats], verbose=0)
    dense = [i for i, layer in enumerate(model.layers)
             if isinstance(layer, keras.layers.Dense)][:-1]      # hidden Dense layers
    grads = stats.history["input_grad_norm"][0]
    ratio = grads[dense[1]] / grads[dense[-1]]
    saturated = np.nanmean(stats.history["saturated_fraction"][0][dense])
    print(f"{label}: first batch, ||dL/dx|| at hidden layer 2 / at the last hidden layer = "
          f"{ratio:.3g}; "
          f"mean saturated fraction {saturated:.3f}; final loss "
          f"{history.history['loss'][-1]:.4f}", flush=True)
    return stats, dense + [len(model.layers) - 1]


def compare(args, fig_id, runs, title):
    """One panel per quantity; each run in its colour, first and last record, Dense layers
    only (``runs``: ``{label: (stats, dense_layer_indices)}``)."""
    plt = pyplot()
    fig, grid = plt.subplots(2, 3, figsize=(14, 7.5))
    axes = list(grid.ravel())
    for (label, (stats, dense)), color in zip(runs.items(), COLORS):
        last = len(stats.steps) - 1
        keras.utils.plot_layer_statistics(stats, PANELS, axes=axes[:len(PANELS)], label=label,
                                          color=color, records=sorted({0, last}), layers=dense)
    for ax in axes[:len(PANELS)]:
        ax.set_xlabel("Dense layer")
    handles, labels = axes[0].get_legend_handles_labels()
    axes[0].get_legend().remove()
    axes[-1].axis("off")
    axes[-1].legend(handles, labels, loc="center", fontsize=12,
                    title="lighter: first recorded batch\ndarker: last")
    fig.suptitle(title, fontsize=14)
    return save_fig(args, fig_id)


def main(argv=None):
    args = parse_args("gradient_health", __doc__, argv)
    (X_train, y_train), _, _ = load_fashion_mnist(args)
    (X_train,) = standardize(X_train)
    results = {}

    section("100 hidden layers: SELU vs ReLU")
    n_epochs = epochs(args, 5)
    runs = {}
    for activation, initializer in (("selu", "lecun_normal"), ("relu", "he_normal")):
        label = f"{activation} + {initializer}"
        runs[label] = watch(build(activation, initializer, 100), X_train, y_train, args,
                            n_epochs, label)
    compare(args, "selu_vs_relu_100_layers", runs, "100 hidden layers: SELU vs ReLU")
    results["selu_vs_relu"] = {label: stats for label, (stats, _) in runs.items()}

    section("20 sigmoid layers: default (Glorot) vs He initialization")
    n_epochs = epochs(args, 3)
    runs = {}
    for initializer in ("glorot_uniform", "he_normal"):
        label = f"sigmoid + {initializer}"
        runs[label] = watch(build("sigmoid", initializer, 20, learning_rate=1e-2), X_train,
                            y_train, args, n_epochs, label)
    compare(args, "sigmoid_init", runs, "20 sigmoid layers: Glorot vs He initialization")
    results["sigmoid_init"] = {label: stats for label, (stats, _) in runs.items()}

    section("20 sigmoid layers: without and with batch normalization")
    runs = {}
    for batch_norm in (False, True):
        label = "sigmoid + BN" if batch_norm else "sigmoid"
        runs[label] = watch(build("sigmoid", "glorot_uniform", 20, batch_norm=batch_norm,
                                  learning_rate=1e-2), X_train, y_train, args, n_epochs, label)
    compare(args, "batch_normalization", runs, "20 sigmoid layers: effect of batch normalization")
    results["batch_normalization"] = {label: stats for label, (stats, _) in runs.items()}
    return results


if __name__ == "__main__":
    main()
