"""numpy_nn: the training techniques of "Training Deep Neural Networks" (Hands-On Machine
Learning, 2nd ed., chapter 11) in plain NumPy, with Keras 3's API and numbers.

Replace ``keras`` by ``numpy_nn`` in the chapter's code::

    import numpy_nn as keras   # or: from numpy_nn import layers, models, optimizers
    model = keras.models.Sequential([
        keras.layers.Flatten(input_shape=[28, 28]),
        keras.layers.Dense(300, kernel_initializer="he_normal"),
        keras.layers.LeakyReLU(),
        keras.layers.Dense(10, activation="softmax")])
    model.compile(loss="sparse_categorical_crossentropy",
                  optimizer=keras.optimizers.SGD(lr=1e-3), metrics=["accuracy"])
"""
import importlib

from numpy_nn import (
    activations,
    backend,
    callbacks,
    constraints,
    datasets,
    initializers,
    layers,
    losses,
    metrics,
    models,
    optimizers,
    regularizers,
    utils,
)
from numpy_nn.dispatch import set_twin_loader
from numpy_nn.models import Sequential

__version__ = "0.1.0"


def _load_twins():
    """Import the Numba twins (and Numba): the seam calls this the first time the Numba path
    is chosen, so ``import numpy_nn`` needs NumPy alone."""
    from numpy_nn import twins  # noqa: F401  (registering them is the import's effect)


set_twin_loader(_load_twins)


def __getattr__(name):
    """``numpy_nn.wrappers`` as ``keras.wrappers`` is reached, loaded on first use (it is built
    on the engine, which never imports it)."""
    if name == "wrappers":
        return importlib.import_module("numpy_nn.wrappers")
    raise AttributeError(f"module 'numpy_nn' has no attribute {name!r}")

__all__ = ["activations", "backend", "callbacks", "constraints", "datasets", "initializers",
           "layers", "losses", "metrics", "models", "optimizers", "regularizers", "utils",
           "Sequential", "wrappers", "__version__"]
