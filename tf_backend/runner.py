"""Train one model with both engines, side by side, and return both results.

:func:`train_side_by_side` answers "does my model train the same in Keras?": the numpy_nn
model is translated to Keras (same weights, same optimizer settings), then both are trained on
the same arrays with ``shuffle=False`` — so both see the same batches in the same order — and
the histories and final weights are returned for comparison. (The parity suite does not use it
for its own comparisons: a translation copies numpy_nn's settings into Keras, see
``parity_tests/builders.py``.)

Float type: the Keras side runs under ``keras_floatx`` set to the numpy_nn model's dtype, so a
float64 numpy_nn model is compared with a float64 Keras run (weights, activations, optimizer
learning rate, loss tracker and metrics all in float64).
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from tf_backend.compile import keras_floatx
from tf_backend.convert import _model_dtype, to_keras


@dataclass
class SideBySideResult:
    """What :func:`train_side_by_side` returns.

    ``numpy_history`` / ``keras_history`` are the two ``History.history`` dicts (per-epoch
    values), ``numpy_weights`` / ``keras_weights`` the final weights as arrays, both in the
    numpy_nn model's ``weights`` order, and ``weight_paths`` their names (``"dense/kernel"``).
    The two models are kept for further training.
    """

    numpy_history: dict
    keras_history: dict
    numpy_weights: list
    keras_weights: list
    weight_paths: list
    numpy_model: object = field(repr=False)
    keras_model: object = field(repr=False)


def keras_weights_in_numpy_order(model, keras_model):
    """The Keras model's weights as arrays, ordered like ``model.weights`` (matched by layer
    position and variable name)."""
    arrays = []
    for layer, keras_layer in zip(model.layers, keras_model.layers):
        by_name = {v.name: v for v in keras_layer.weights}
        arrays.extend(np.asarray(by_name[v.name].numpy()) for v in layer.weights)
    return arrays


def train_side_by_side(model, x, y, epochs=1, batch_size=None, validation_data=None,
                       keras_model=None, callbacks=None, keras_callbacks=None,
                       run_eagerly=True):
    """Fit ``model`` (numpy_nn, compiled) and its Keras twin on the same data, same order.

    Args:
        model: a built, compiled numpy_nn ``Sequential``.
        x, y, epochs, batch_size, validation_data: as for ``fit`` (``shuffle`` is always off).
        keras_model: a compiled Keras twin to continue training with, e.g. the ``keras_model``
            of an earlier result after unfreezing layers on both sides and recompiling both.
            Each engine then continues its own trajectory (the weights are not re-synchronised).
            By default a fresh twin is made with ``to_keras``, holding ``model``'s weights.
        callbacks, keras_callbacks: callbacks for each side (they are separate objects).
        run_eagerly: compile the fresh Keras twin to run eagerly (default), which keeps
            TensorFlow's graph optimizer from rewriting ``x / sqrt(y)`` (see ``to_keras``).

    Returns:
        :class:`SideBySideResult`.
    """
    if not model.compiled:
        raise ValueError(f"train_side_by_side: compile model '{model.name}' first")
    dtype = _model_dtype(model)
    if keras_model is None:
        keras_model = to_keras(model, compile=True, run_eagerly=run_eagerly)
    elif len(keras_model.layers) != len(model.layers):
        raise ValueError(f"train_side_by_side: the Keras model has {len(keras_model.layers)} "
                         f"layers, numpy_nn model '{model.name}' has {len(model.layers)}")
    x = np.asarray(x, dtype)
    if validation_data is not None:
        validation_data = (np.asarray(validation_data[0], dtype),) + tuple(validation_data[1:])
    with keras_floatx(dtype):
        keras_history = keras_model.fit(x, y, epochs=epochs, batch_size=batch_size,
                                        validation_data=validation_data, shuffle=False,
                                        callbacks=keras_callbacks, verbose=0)
    numpy_history = model.fit(x, y, epochs=epochs, batch_size=batch_size,
                              validation_data=validation_data, shuffle=False,
                              callbacks=callbacks, verbose=0)
    return SideBySideResult(
        numpy_history=dict(numpy_history.history), keras_history=dict(keras_history.history),
        numpy_weights=[v.numpy() for v in model.weights],
        keras_weights=keras_weights_in_numpy_order(model, keras_model),
        weight_paths=[v.path for v in model.weights],
        numpy_model=model, keras_model=keras_model)

