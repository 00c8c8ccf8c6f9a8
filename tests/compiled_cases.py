"""The chapter's networks, small, for comparing ``jit_compile=True`` with the reference path.

Each case builds a model (seeded), compiles it with an optimizer and a loss, and is trained
by :func:`train` with ``fit`` (shuffle on, validation data, several epochs). Run as a script,
``python -m tests.compiled_cases``, it trains every case twice in this process, once per
path, and prints one line per case with the largest difference in weights and history; with
``NUMBA_DISABLE_JIT=1`` (the compiled step's *uncompiled form*, its source run as Python) it
exits 1 unless every case agrees bit for bit (``tests/test_compiled_step.py`` runs it so).
"""
from __future__ import annotations

import sys

import numpy as np

import numpy_nn as nn

L = nn.layers


def _mlp(hidden, activation="elu", initializer="he_normal", outputs=5, output="softmax",
         **dense):
    return [L.Dense(units, activation=activation, kernel_initializer=initializer, **dense)
            for units in hidden] + [L.Dense(outputs, activation=output)]


def leaky_relu():
    return [L.Dense(12, kernel_initializer="he_normal"), L.LeakyReLU(),
            L.Dense(8, kernel_initializer="he_normal"), L.LeakyReLU(negative_slope=0.2),
            L.Dense(5, activation="softmax")]


def prelu():
    return [L.Dense(12, kernel_initializer="he_normal"), L.PReLU(),
            L.Dense(8, kernel_initializer="he_normal"), L.PReLU(), L.Dense(5, activation="softmax")]


def selu_deep():
    return _mlp((12,) + (8,) * 6, "selu", "lecun_normal")


def relu_deep():
    return _mlp((12,) + (8,) * 6, "relu", "he_normal")


def bn_after():
    layers = [L.BatchNormalization()]
    for units in (12, 8):
        layers += [L.Dense(units, activation="relu"), L.BatchNormalization()]
    return layers + [L.Dense(5, activation="softmax")]


def bn_before():
    layers = [L.BatchNormalization()]
    for units in (12, 8):
        layers += [L.Dense(units, use_bias=False), L.BatchNormalization(), L.Activation("elu")]
    return layers + [L.Dense(5, activation="softmax")]


def bn_plain():
    return [L.Dense(12), L.BatchNormalization(center=False, scale=False), L.Activation("tanh"),
            L.Dense(5, activation="softmax")]


def dropout():
    return [L.Dropout(0.2), L.Dense(12, activation="elu"), L.Dropout(0.2),
            L.Dense(8, activation="elu"), L.Dropout(0.2), L.Dense(5, activation="softmax")]


def alpha_dropout():
    return [L.AlphaDropout(0.2), L.Dense(12, activation="selu", kernel_initializer="lecun_normal"),
            L.AlphaDropout(0.2), L.Dense(5, activation="softmax")]


def l2():
    return _mlp((12, 8), kernel_regularizer=nn.regularizers.l2(0.01))


def l1_l2_bias():
    return _mlp((12,), "sigmoid", bias_regularizer=nn.regularizers.L1L2(0.01, 0.02),
                kernel_regularizer=nn.regularizers.l1(0.003))


def max_norm():
    return _mlp((12, 8), "selu", "lecun_normal", kernel_constraint=nn.constraints.max_norm(1.0),
                bias_constraint=nn.constraints.max_norm(0.5))


def binary():
    return _mlp((12, 8), outputs=1, output="sigmoid")


def smooth():
    """The third edition's activations, in Dense layers and as layers of their own."""
    return [L.Dense(12, activation="gelu"), L.Dense(8), L.Activation("silu"),
            L.Dense(8, activation="mish"), L.Dense(8, activation=nn.activations.GELU(True)),
            L.Dense(5, activation="softmax")]


def regression():
    return _mlp((12,), "tanh", outputs=3, output="linear")


#: name -> (layers, loss, optimizer factory)
CASES = {
    "leaky_relu/sgd": (leaky_relu, "sparse_categorical_crossentropy",
                       lambda: nn.optimizers.SGD(1e-2)),
    "prelu/momentum": (prelu, "sparse_categorical_crossentropy",
                       lambda: nn.optimizers.SGD(1e-2, momentum=0.9)),
    "selu_deep/nesterov": (selu_deep, "sparse_categorical_crossentropy",
                           lambda: nn.optimizers.SGD(1e-2, momentum=0.9, nesterov=True)),
    "relu_deep/adagrad": (relu_deep, "sparse_categorical_crossentropy",
                          lambda: nn.optimizers.Adagrad(0.05)),
    "bn_after/rmsprop": (bn_after, "sparse_categorical_crossentropy",
                         lambda: nn.optimizers.RMSprop(1e-3)),
    "bn_before/rmsprop_centered_momentum": (
        bn_before, "sparse_categorical_crossentropy",
        lambda: nn.optimizers.RMSprop(1e-3, momentum=0.5, centered=True)),
    "bn_plain/adam_amsgrad": (bn_plain, "sparse_categorical_crossentropy",
                              lambda: nn.optimizers.Adam(1e-3, amsgrad=True)),
    "dropout/nadam": (dropout, "sparse_categorical_crossentropy", lambda: nn.optimizers.Nadam()),
    "alpha_dropout/adamw": (alpha_dropout, "sparse_categorical_crossentropy",
                            lambda: nn.optimizers.AdamW(1e-3)),
    "l2/nadam_schedule": (l2, "sparse_categorical_crossentropy", lambda: nn.optimizers.Nadam(
        nn.optimizers.schedules.PiecewiseConstantDecay([3, 6], [0.01, 0.005, 0.001]))),
    "l1_l2_bias/adamax_clipnorm": (l1_l2_bias, "categorical_crossentropy",
                                   lambda: nn.optimizers.Adamax(1e-2, clipnorm=0.1)),
    "max_norm/sgd_global_clipnorm": (
        max_norm, "sparse_categorical_crossentropy",
        lambda: nn.optimizers.SGD(nn.optimizers.schedules.ExponentialDecay(0.05, 4, 0.5),
                                  global_clipnorm=0.5)),
    "binary/sgd_clipvalue_decay": (binary, "binary_crossentropy",
                                   lambda: nn.optimizers.SGD(0.05, clipvalue=0.01, decay=1e-2)),
    "smooth/adam": (smooth, "sparse_categorical_crossentropy",
                    lambda: nn.optimizers.Adam(1e-2)),
    "regression/adam_weight_decay": (regression, "mse",
                                     lambda: nn.optimizers.Adam(1e-2, weight_decay=0.01)),
}


def data(loss, n=70, features=6, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, features))
    if loss == "binary_crossentropy":
        y = (rng.random(n) < 0.5).astype(float)
    elif loss == "categorical_crossentropy":
        y = np.eye(5)[rng.integers(0, 5, n)]
    elif loss == "mse":
        y = rng.normal(size=(n, 3))
    else:
        y = rng.integers(0, 5, n)
    return x, y


def build(name, jit_compile, dtype="float32", seed=3):
    """The case's model, compiled, with weights from ``seed``."""
    layers, loss, optimizer = CASES[name]
    nn.backend.set_floatx(dtype)
    nn.utils.set_random_seed(seed)
    model = nn.models.Sequential([L.Input((6,))] + layers())
    model.compile(optimizer=optimizer(), loss=loss, metrics=["accuracy"],
                  jit_compile=jit_compile)
    return model


def train(model, name, epochs=3, seed=5, **fit):
    """``fit`` with shuffling, validation data and a sample weight per sample."""
    loss = CASES[name][1]
    x, y = data(loss)
    x_val, y_val = data(loss, n=20, seed=1)
    weights = np.linspace(0.5, 1.5, len(x))
    nn.utils.set_random_seed(seed)
    history = model.fit(x, y, batch_size=16, epochs=epochs, validation_data=(x_val, y_val),
                        sample_weight=weights, verbose=0, **fit)
    return history.history


def frozen_then_unfrozen(jit_compile, dtype="float32"):
    """Transfer learning's pattern: freeze the lower layers, train, unfreeze, recompile."""
    model = build("binary/sgd_clipvalue_decay", jit_compile, dtype)
    for layer in model.layers[:-1]:
        layer.trainable = False
    model.compile(optimizer=nn.optimizers.SGD(0.05), loss="binary_crossentropy",
                  metrics=["accuracy"], jit_compile=jit_compile)
    first = train(model, "binary/sgd_clipvalue_decay", epochs=2)
    for layer in model.layers[:-1]:
        layer.trainable = True
    model.compile(optimizer=nn.optimizers.SGD(0.05), loss="binary_crossentropy",
                  metrics=["accuracy"], jit_compile=jit_compile)
    second = train(model, "binary/sgd_clipvalue_decay", epochs=2)
    return model, {key: first[key] + second[key] for key in first}


def run(name, jit_compile, dtype):
    """``(weights, history)`` after training the case on one path."""
    if name == "frozen":
        model, history = frozen_then_unfrozen(jit_compile, dtype)
    else:
        model = build(name, jit_compile, dtype)
        history = train(model, name)
    assert model.jit_compile is jit_compile
    return model.get_weights(), history


def differences(name, dtype):
    """Largest absolute difference between the two paths, in weights and in history."""
    (w_ref, h_ref), (w_jit, h_jit) = run(name, False, dtype), run(name, True, dtype)
    weights = max(float(np.max(np.abs(a - b))) for a, b in zip(w_ref, w_jit))
    history = max(abs(a - b) for key in h_ref for a, b in zip(h_ref[key], h_jit[key]))
    return weights, history


def main():
    failed = 0
    for dtype in ("float32", "float64"):
        for name in [*CASES, "frozen"]:
            weights, history = differences(name, dtype)
            print(f"{dtype} {name}: weights {weights:.3g}, history {history:.3g}")
            failed += weights != 0 or history != 0
    print(f"{failed} cases differ")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
