"""Losses: value and gradient, from logits when the output layer allows it.

:mod:`numpy_nn.losses.loss` holds the base class, the reduction and the logits path with its
equations (as keras/src/losses/loss.py does); :mod:`numpy_nn.losses.losses` the chapter's
four losses. This module names them: classes, Keras's function forms, ``get`` and
``serialize``.
"""
from __future__ import annotations

import numpy as np

from numpy_nn import _registry
from numpy_nn.losses.loss import REDUCTIONS, Loss
from numpy_nn.losses.losses import (
    BinaryCrossentropy,
    CategoricalCrossentropy,
    MeanSquaredError,
    SparseCategoricalCrossentropy,
)

_CLASSES = {
    "SparseCategoricalCrossentropy": SparseCategoricalCrossentropy,
    "CategoricalCrossentropy": CategoricalCrossentropy,
    "BinaryCrossentropy": BinaryCrossentropy,
    "MeanSquaredError": MeanSquaredError,
}
_NAMES = {
    "sparse_categorical_crossentropy": SparseCategoricalCrossentropy,
    "categorical_crossentropy": CategoricalCrossentropy,
    "binary_crossentropy": BinaryCrossentropy,
    "mean_squared_error": MeanSquaredError,
    "mse": MeanSquaredError,
}


def _per_sample(loss, y_true, y_pred):
    y_pred = np.asarray(y_pred)
    return loss.per_sample(y_true, y_pred, y_pred if loss.from_logits else None)


def sparse_categorical_crossentropy(y_true, y_pred, from_logits=False):
    """Per-sample values, like ``keras.losses.sparse_categorical_crossentropy``."""
    return _per_sample(SparseCategoricalCrossentropy(from_logits), y_true, y_pred)


def categorical_crossentropy(y_true, y_pred, from_logits=False):
    return _per_sample(CategoricalCrossentropy(from_logits), y_true, y_pred)


def binary_crossentropy(y_true, y_pred, from_logits=False):
    return _per_sample(BinaryCrossentropy(from_logits), y_true, y_pred)


def mean_squared_error(y_true, y_pred):
    return _per_sample(MeanSquaredError(), y_true, y_pred)


mse = mean_squared_error


#: The loss functions ``compile`` accepts as the book writes them
#: (``loss=keras.losses.sparse_categorical_crossentropy``): each stands for its class.
_FUNCTIONS = {sparse_categorical_crossentropy: SparseCategoricalCrossentropy,
              categorical_crossentropy: CategoricalCrossentropy,
              binary_crossentropy: BinaryCrossentropy, mean_squared_error: MeanSquaredError}


def get(identifier) -> Loss:
    """A loss from a name (``"sparse_categorical_crossentropy"``), a config, a Loss object, a
    Loss class, or one of this module's loss functions (Keras wraps any function in a
    ``LossFunctionWrapper``; numpy_nn needs the loss's gradient, so it takes its own)."""
    if isinstance(identifier, type) and issubclass(identifier, Loss):
        return identifier()
    if callable(identifier) and not isinstance(identifier, Loss):
        if identifier in _FUNCTIONS:
            return _FUNCTIONS[identifier]()
        raise TypeError(f"Could not interpret loss {identifier!r}: numpy_nn needs the loss's "
                        f"gradient, so a function must be one of numpy_nn.losses."
                        f"{{{', '.join(f.__name__ for f in _FUNCTIONS)}}}, or pass a "
                        f"numpy_nn.losses.Loss")
    return _registry.get("loss", identifier, Loss, {**_NAMES, **_CLASSES}, _CLASSES,
                        f": expected one of {', '.join(sorted(_NAMES))} or a "
                        f"numpy_nn.losses.Loss")


def serialize(loss: Loss) -> dict:
    return {"class_name": type(loss).__name__, "config": loss.get_config()}


__all__ = ["binary_crossentropy", "BinaryCrossentropy", "categorical_crossentropy",
           "CategoricalCrossentropy", "get", "Loss", "mean_squared_error", "MeanSquaredError",
           "mse", "REDUCTIONS", "serialize", "sparse_categorical_crossentropy",
           "SparseCategoricalCrossentropy"]
__dir__ = _registry.public_dir(__all__)
