"""One model description, built twice: by numpy_nn and by Keras, each from its own classes.

A parity test must not let numpy_nn decide what the Keras side looks like: a setting copied from
numpy_nn into Keras (as ``tf_backend.to_keras`` does, by design) carries a wrong numpy_nn default
along and hides it. So every parity test writes its model once, as data in the chapter's
spelling, and this module executes that description against each library::

    DESCRIPTION = [("Dense", dict(units=300, activation="elu", kernel_initializer="he_normal")),
                   ("Dense", dict(units=10, activation="softmax"))]
    build(numpy_nn, DESCRIPTION, input_shape=(784,))  # numpy_nn.layers.Dense(units=300, ...)
    build(keras, DESCRIPTION, input_shape=(784,))     # keras.layers.Dense(units=300, ...)

Whatever the description leaves out comes from each library's own defaults. Arguments that are
objects (a regularizer, a constraint, a loss, an optimizer, a schedule) are written with
:func:`use`, e.g. ``use("regularizers.l2", 0.01)``, and resolved in the library being built.

The two models then get the same weights through the public ``get_weights`` / ``set_weights``
(the only thing copied from numpy_nn to Keras), after :func:`check_initial_weights` has
compared each library's *own* initial weights: constants (zero biases, BatchNormalization's
ones) must be identical, random kernels must come from the same distribution (a two-sample
Kolmogorov-Smirnov test), so a wrong default initializer is caught as well.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import keras
import numpy as np

import numpy_nn
from parity_tests import tolerances as tol
from parity_tests.report import check

NUMPY_NN, KERAS = numpy_nn, keras


@dataclass(frozen=True)
class Use:
    """``library.<path>(*args, **kwargs)``, made by whichever library builds the model."""

    path: str
    args: tuple = ()
    kwargs: dict = field(default_factory=dict)

    def with_kwargs(self, **kwargs):
        return Use(self.path, self.args, {**self.kwargs, **kwargs})


def use(path, *args, **kwargs):
    """An object argument in the chapter's spelling, e.g. ``use("optimizers.SGD",
    learning_rate=1e-3)`` for ``keras.optimizers.SGD(learning_rate=1e-3)``."""
    return Use(path, args, kwargs)


def resolve(library, value):
    """``value`` with every :class:`Use` in it made by ``library`` (numpy_nn or keras)."""
    if isinstance(value, Use):
        target = library
        for part in value.path.split("."):
            target = getattr(target, part)
        return target(*(resolve(library, a) for a in value.args),
                      **{k: resolve(library, v) for k, v in value.kwargs.items()})
    if isinstance(value, (list, tuple)):
        return type(value)(resolve(library, v) for v in value)
    if isinstance(value, dict):
        return {k: resolve(library, v) for k, v in value.items()}
    return value


def build_layers(library, description):
    """The layers of ``description`` — ``[(class name, kwargs), ...]`` — from ``library``."""
    return [getattr(library.layers, name)(**resolve(library, kwargs))
            for name, kwargs in description]


def build(library, description, input_shape):
    """``library.models.Sequential([library.layers.Input(shape=input_shape), *layers])``."""
    return library.models.Sequential([library.layers.Input(shape=tuple(input_shape))]
                                     + build_layers(library, description))


def twins(description, input_shape, weights=None):
    """The numpy_nn model and the Keras model of ``description``, each built by its library,
    with the same weights: numpy_nn's (after ``weights(model)`` if given, e.g. to randomize
    them) copied with ``keras_model.set_weights(model.get_weights())``."""
    model = build(NUMPY_NN, description, input_shape)
    keras_model = build(KERAS, description, input_shape)
    check_initial_weights(model, keras_model)
    if weights is not None:
        weights(model)
    keras_model.set_weights(model.get_weights())
    return model, keras_model


def ks_statistic(a, b):
    """The two-sample Kolmogorov-Smirnov distance scaled to its null distribution,
    ``sqrt(n m / (n + m)) * max |F_a - F_b|`` (asymptotically Kolmogorov's)."""
    a, b = np.sort(np.ravel(a)), np.sort(np.ravel(b))
    grid = np.concatenate([a, b])
    distance = np.max(np.abs(np.searchsorted(a, grid, side="right") / a.size
                             - np.searchsorted(b, grid, side="right") / b.size))
    return math.sqrt(a.size * b.size / (a.size + b.size)) * distance


def check_initial_weights(model, keras_model):
    """Each library's own initial weights, before any copying: same names and shapes, equal
    constants, and random arrays drawn from the same distribution."""
    for layer, keras_layer in zip(model.layers, keras_model.layers):
        ours, theirs = layer.weights, keras_layer.weights
        assert [(v.name, tuple(v.shape)) for v in ours] == \
            [(v.name, tuple(v.shape)) for v in theirs], \
            f"layer {layer.name}: weights {[(v.name, v.shape) for v in ours]} vs Keras's " \
            f"{[(v.name, tuple(v.shape)) for v in theirs]}"
        for variable, keras_variable in zip(ours, theirs):
            a, b = np.asarray(variable.numpy()), np.asarray(keras_variable.numpy())
            assert a.dtype == b.dtype, \
                f"layer {layer.name}: {variable.name} is {a.dtype}, Keras's is {b.dtype}"
            what = f"{type(layer).__name__}.{variable.name} {a.shape}"
            if b.size < 2:       # one number: nothing tells a constant from a random draw
                continue
            if np.all(b == b.flat[0]):
                check("initial weights: constants (library defaults)",
                      tol.relative_error(a, b), tol.INITIAL_CONSTANTS, what)
            elif b.size >= tol.INITIAL_DISTRIBUTION_MIN_SIZE:
                check("initial weights: random (library defaults, two-sample KS)",
                      ks_statistic(a, b), tol.INITIAL_DISTRIBUTION_KS, what, unit="KS")


def compile_both(model, keras_model, optimizer, loss, metrics=None, numpy_optimizer=None):
    """Compile each model with its own library's optimizer and loss built from the same
    description (``optimizer`` / ``loss``: a name or a :func:`use`). ``numpy_optimizer``
    replaces numpy_nn's (a test's documented stand-in); Keras's is always Keras's own.

    Keras runs as a graph without XLA (``jit_compile=False``): XLA may fuse and reorder float
    operations, which is a different arithmetic, not a different algorithm."""
    model.compile(optimizer=numpy_optimizer or resolve(NUMPY_NN, optimizer),
                  loss=resolve(NUMPY_NN, loss), metrics=metrics)
    keras_model.compile(optimizer=resolve(KERAS, optimizer), loss=resolve(KERAS, loss),
                        metrics=metrics, run_eagerly=False, jit_compile=False)


@dataclass
class FitResult:
    """Both histories and both final weight lists (numpy_nn's order = Keras's order)."""

    numpy_history: dict
    keras_history: dict
    numpy_weights: list
    keras_weights: list
    weight_paths: list


def fit_both(model, keras_model, x, y, validation_data=None, callbacks=None,
             keras_callbacks=None, **fit_options):
    """``fit`` both compiled models on the same data in the same order (``shuffle=False``),
    inputs cast to the current float type."""
    dtype = numpy_nn.backend.floatx()
    x = np.asarray(x, dtype)
    if validation_data is not None:
        validation_data = (np.asarray(validation_data[0], dtype),) + tuple(validation_data[1:])
    options = dict(validation_data=validation_data, shuffle=False, verbose=0, **fit_options)
    keras_history = keras_model.fit(x, y, callbacks=keras_callbacks, **options).history
    numpy_history = model.fit(x, y, callbacks=callbacks, **options).history
    return FitResult(dict(numpy_history), dict(keras_history),
                     [np.asarray(w) for w in model.get_weights()],
                     [np.asarray(w) for w in keras_model.get_weights()],
                     [v.path for v in model.weights])
