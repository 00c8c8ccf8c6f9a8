"""Models across the bridge: :func:`to_keras` and :func:`from_keras`.

Each supported layer has one translation in each direction, listed in the two tables at the
bottom of this module (``_TO_KERAS`` and ``_FROM_KERAS``). A translation passes the layer's
settings by name (numpy_nn uses Keras 3's argument names and defaults), then the weights are
copied *by variable name* (``kernel``, ``bias``, ``gamma``, ``beta``, ``moving_mean``,
``moving_variance``, ``alpha``), so BatchNormalization's moving statistics and PReLU's learned
slopes cross over too.

Anything without an exact counterpart — a Keras layer numpy_nn does not have, a Keras-only
option (``activity_regularizer``, ``renorm``, a ReLU ``max_value`` ...), an activation with
non-default settings inside a Dense layer — raises :class:`UntranslatableError` naming the
layer and the setting.
"""
from __future__ import annotations

import keras
import numpy as np

from numpy_nn import activations as nn_activations
from numpy_nn import backend as nn_backend
from numpy_nn import constraints as nn_constraints
from numpy_nn import initializers as nn_initializers
from numpy_nn import layers as nn_layers
from numpy_nn import regularizers as nn_regularizers
from numpy_nn.models import Sequential
from tf_backend import compile as bridge_compile
from tf_backend.errors import UntranslatableError

# Activation names understood by both libraries with the same default settings
# (Keras's "leaky_relu" activation has slope 0.2, like numpy_nn's).
_ACTIVATIONS = ("linear", "relu", "leaky_relu", "elu", "selu", "tanh", "sigmoid", "softmax", "gelu",
                "silu", "mish")
_INITIALIZERS = ("Zeros", "Ones", "Constant", "VarianceScaling", "GlorotUniform",
                 "GlorotNormal", "HeUniform", "HeNormal", "LecunUniform", "LecunNormal")


# ---------------------------------------------------------------------------- settings
def _activation_to_keras(activation, where):
    name = activation.name
    if name not in _ACTIVATIONS or nn_activations.serialize(activation) != name:
        raise UntranslatableError(
            f"{where}: activation {nn_activations.serialize(activation)!r} has no Keras string "
            f"equivalent (only default settings of {', '.join(_ACTIVATIONS)} translate; use a "
            f"LeakyReLU/ELU layer for another slope)")
    return name


def _activation_from_keras(name, where):
    if not isinstance(name, str) or name not in _ACTIVATIONS:
        raise UntranslatableError(f"{where}: Keras activation {name!r} has no numpy_nn "
                                  f"equivalent (translatable: {', '.join(_ACTIVATIONS)})")
    return name


def _object_to_keras(obj, module, kind, where):
    """A Keras initializer/regularizer/constraint with the same class name and config."""
    if obj is None:
        return None
    name = type(obj).__name__
    if not hasattr(module, name):
        raise UntranslatableError(f"{where}: {kind} {name} has no Keras equivalent")
    return getattr(module, name)(**obj.get_config())


def _object_from_keras(config, module, allowed, kind, where):
    """The numpy_nn object for a serialized Keras initializer/regularizer/constraint."""
    if config is None:
        return None
    name = config.get("class_name") if isinstance(config, dict) else config
    if name not in allowed:
        raise UntranslatableError(f"{where}: Keras {kind} {name!r} has no numpy_nn equivalent "
                                  f"(translatable: {', '.join(allowed)})")
    kwargs = dict(config.get("config") or {}) if isinstance(config, dict) else {}
    # Keras 3.13+ adds sharding hints to the variance-scaling family; they never change values.
    kwargs.pop("input_axes", None)
    kwargs.pop("output_axes", None)
    return getattr(module, name)(**kwargs)


def _initializer_from_keras(config, where):
    return _object_from_keras(config, nn_initializers, _INITIALIZERS, "initializer", where)


def _regularizer_from_keras(config, where):
    return _object_from_keras(config, nn_regularizers, ("L1", "L2", "L1L2"), "regularizer",
                              where)


def _constraint_from_keras(config, where):
    return _object_from_keras(config, nn_constraints, ("MaxNorm",), "constraint", where)


def _initializer_to_keras(obj, where):
    return _object_to_keras(obj, keras.initializers, "initializer", where)


def _regularizer_to_keras(obj, where):
    return _object_to_keras(obj, keras.regularizers, "regularizer", where)


def _constraint_to_keras(obj, where):
    return _object_to_keras(obj, keras.constraints, "constraint", where)


_TO_KERAS_SETTING = {"initializer": _initializer_to_keras, "regularizer": _regularizer_to_keras,
                     "constraint": _constraint_to_keras}
_FROM_KERAS_SETTING = {"initializer": _initializer_from_keras,
                       "regularizer": _regularizer_from_keras,
                       "constraint": _constraint_from_keras}
#: The initializer / regularizer / constraint arguments of each layer with weights.
_SETTINGS = {
    "Dense": ("kernel_initializer", "bias_initializer", "kernel_regularizer", "bias_regularizer",
              "kernel_constraint", "bias_constraint"),
    "BatchNormalization": ("beta_initializer", "gamma_initializer", "moving_mean_initializer",
                           "moving_variance_initializer", "beta_regularizer",
                           "gamma_regularizer", "beta_constraint", "gamma_constraint"),
    "PReLU": ("alpha_initializer", "alpha_regularizer", "alpha_constraint"),
}


def _settings_to_keras(layer, where):
    """``layer``'s initializer/regularizer/constraint arguments as Keras objects."""
    return {name: _TO_KERAS_SETTING[name.rsplit("_", 1)[1]](getattr(layer, name), where)
            for name in _SETTINGS[type(layer).__name__]}


def _settings_from_keras(class_name, config, where):
    """A Keras layer config's initializer/regularizer/constraint entries as numpy_nn objects."""
    return {name: _FROM_KERAS_SETTING[name.rsplit("_", 1)[1]](config[name], where)
            for name in _SETTINGS[class_name]}


# ---------------------------------------------------------------------------- layers: to Keras
def _dense_to_keras(layer, common, where):
    return keras.layers.Dense(layer.units,
                              activation=_activation_to_keras(layer.activation, where),
                              use_bias=layer.use_bias, **_settings_to_keras(layer, where),
                              **common)


def _batch_norm_to_keras(layer, common, where):
    return keras.layers.BatchNormalization(
        axis=layer.axis, momentum=layer.momentum, epsilon=layer.epsilon, center=layer.center,
        scale=layer.scale, **_settings_to_keras(layer, where), **common)


def _prelu_to_keras(layer, common, where):
    return keras.layers.PReLU(shared_axes=layer.shared_axes, **_settings_to_keras(layer, where),
                              **common)


def _dropout_to_keras(keras_class):
    def translate(layer, common, where):
        noise_shape = None if layer.noise_shape is None else list(layer.noise_shape)
        return keras_class(layer.rate, noise_shape=noise_shape, seed=layer.seed, **common)
    return translate


_TO_KERAS = {
    nn_layers.Dense: _dense_to_keras,
    nn_layers.Flatten: lambda layer, common, where: keras.layers.Flatten(**common),
    nn_layers.Activation: lambda layer, common, where: keras.layers.Activation(
        _activation_to_keras(layer.activation, where), **common),
    nn_layers.LeakyReLU: lambda layer, common, where: keras.layers.LeakyReLU(
        negative_slope=layer.negative_slope, **common),
    nn_layers.PReLU: _prelu_to_keras,
    nn_layers.ELU: lambda layer, common, where: keras.layers.ELU(alpha=layer.alpha, **common),
    nn_layers.ReLU: lambda layer, common, where: keras.layers.ReLU(**common),
    nn_layers.Softmax: lambda layer, common, where: keras.layers.Softmax(axis=layer.axis,
                                                                         **common),
    nn_layers.BatchNormalization: _batch_norm_to_keras,
    nn_layers.Dropout: _dropout_to_keras(keras.layers.Dropout),
    nn_layers.AlphaDropout: _dropout_to_keras(keras.layers.AlphaDropout),
}


def _model_dtype(model):
    weights = model.weights
    return str(weights[0].dtype) if weights else nn_backend.floatx()


def to_keras(model, compile=None, run_eagerly=False):
    """The equivalent ``keras.Sequential``, holding a copy of ``model``'s current weights.

    Args:
        model: a built numpy_nn ``Sequential`` (its input shape must be known).
        compile: ``True`` to compile the Keras model with the equivalent loss, metrics and
            optimizer (a fresh optimizer at step 0 with the same hyper-parameters, clipping and
            schedule); ``False`` not to; ``None`` (default) compiles when ``model`` is compiled.
        run_eagerly: passed to Keras's ``compile``. Eager execution avoids TensorFlow's graph
            rewrite of ``x / sqrt(y)`` into ``x * rsqrt(y)``, which moves Adagrad and RMSprop
            by a few ulp (TensorFlow's Grappler arithmetic optimizer, which rewrites graphs
            only).

    The Keras layers are created with the numpy_nn weights' dtype. For a float64 model, also
    run Keras under ``keras_floatx("float64")`` (or ``keras.config.set_floatx``): Keras takes
    the dtype of its loss tracker, metrics and learning rate from the global setting.
    """
    if not isinstance(model, Sequential):
        raise TypeError(f"to_keras: expected a numpy_nn Sequential model, got "
                        f"{type(model).__name__}")
    if not model.built:
        raise ValueError(f"to_keras: model '{model.name}' is not built (its input shape is "
                         f"unknown); build it or give the first layer input_shape=")
    if compile is None:
        compile = model.compiled
    dtype = _model_dtype(model)
    with bridge_compile.keras_floatx(dtype):
        keras_layers = []
        for layer in model.layers:
            translate = _TO_KERAS.get(type(layer))
            where = f"layer '{layer.name}' ({type(layer).__name__})"
            if translate is None:
                raise UntranslatableError(f"to_keras: {where} has no Keras translation "
                                          f"(translatable: "
                                          f"{', '.join(c.__name__ for c in _TO_KERAS)})")
            common = {"name": layer.name, "dtype": layer.dtype or dtype}
            keras_layer = translate(layer, common, where)
            keras_layer.trainable = layer.trainable
            keras_layers.append(keras_layer)
        keras_model = keras.Sequential(
            [keras.Input(shape=tuple(model.input_shape[1:]), dtype=dtype)] + keras_layers,
            name=model.name)
        for layer, keras_layer in zip(model.layers, keras_model.layers):
            _copy_weights(layer.weights, keras_layer.weights, layer.name)
        if compile:
            if not model.compiled:
                raise ValueError(f"to_keras: compile=True but model '{model.name}' is not "
                                 f"compiled")
            keras_model.compile(
                optimizer=bridge_compile.optimizer_to_keras(model.optimizer),
                loss=bridge_compile.loss_to_keras(model.loss),
                metrics=bridge_compile.metrics_to_keras(model.metric_names),
                run_eagerly=run_eagerly, jit_compile=False)
    return keras_model


def _copy_weights(source, target, layer_name):
    """Assign each source variable to the target variable of the same name."""
    by_name = {v.name: v for v in target}
    if sorted(by_name) != sorted(v.name for v in source):
        raise UntranslatableError(
            f"layer '{layer_name}': weights {[v.name for v in source]} do not match "
            f"{[v.name for v in target]} on the other side")
    for variable in source:
        destination = by_name[variable.name]
        value = np.asarray(variable.numpy() if hasattr(variable, "numpy") else variable)
        if tuple(destination.shape) != value.shape:
            raise UntranslatableError(
                f"layer '{layer_name}': weight '{variable.name}' has shape {value.shape} but "
                f"{tuple(destination.shape)} on the other side")
        destination.assign(value.astype(np.dtype(str(destination.dtype))))


# ---------------------------------------------------------------------------- layers: from Keras
def _dense_from_keras(config, common, where):
    bridge_compile.refuse_enabled_options(
        config, {"activity_regularizer": None, "lora_rank": None, "quantization_config": None},
        where)
    return nn_layers.Dense(config["units"],
                           activation=_activation_from_keras(config["activation"], where),
                           use_bias=config["use_bias"],
                           **_settings_from_keras("Dense", config, where), **common)


def _batch_norm_from_keras(config, common, where):
    bridge_compile.refuse_enabled_options(config, {"synchronized": False, "renorm": False}, where)
    axis = config["axis"]
    if isinstance(axis, (list, tuple)):
        if len(axis) != 1:
            raise UntranslatableError(f"{where}: normalising over several axes {axis} is not "
                                      f"supported by numpy_nn")
        axis = axis[0]
    return nn_layers.BatchNormalization(
        axis=axis, **{key: config[key] for key in ("momentum", "epsilon", "center", "scale")},
        **_settings_from_keras("BatchNormalization", config, where), **common)


def _prelu_from_keras(config, common, where):
    return nn_layers.PReLU(shared_axes=config["shared_axes"],
                           **_settings_from_keras("PReLU", config, where), **common)


def _relu_from_keras(config, common, where):
    bridge_compile.refuse_enabled_options(
        config, {"max_value": None, "negative_slope": 0.0, "threshold": 0.0}, where)
    return nn_layers.ReLU(**common)


def _flatten_from_keras(config, common, where):
    bridge_compile.refuse_enabled_options(config, {"data_format": "channels_last"}, where)
    return nn_layers.Flatten(**common)


def _dropout_from_keras(numpy_class):
    def translate(config, common, where):
        return numpy_class(config["rate"], noise_shape=config.get("noise_shape"),
                           seed=config.get("seed"), **common)
    return translate


_FROM_KERAS = {
    "Dense": _dense_from_keras,
    "Flatten": _flatten_from_keras,
    "Activation": lambda config, common, where: nn_layers.Activation(
        _activation_from_keras(config["activation"], where), **common),
    "LeakyReLU": lambda config, common, where: nn_layers.LeakyReLU(
        negative_slope=config["negative_slope"], **common),
    "PReLU": _prelu_from_keras,
    "ELU": lambda config, common, where: nn_layers.ELU(alpha=config.get("alpha", 1.0),
                                                       **common),
    "ReLU": _relu_from_keras,
    "Softmax": lambda config, common, where: nn_layers.Softmax(axis=config.get("axis", -1),
                                                               **common),
    "BatchNormalization": _batch_norm_from_keras,
    "Dropout": _dropout_from_keras(nn_layers.Dropout),
    "AlphaDropout": _dropout_from_keras(nn_layers.AlphaDropout),
}


def from_keras(keras_model, compile=None):
    """The equivalent numpy_nn ``Sequential``, holding a copy of the Keras model's weights.

    Args:
        keras_model: a built ``keras.Sequential``.
        compile: ``True`` to compile with the equivalent loss, metrics and a fresh optimizer of
            the same kind and settings; ``False`` not to; ``None`` (default) compiles when the
            Keras model is compiled. Optimizer state (slots, iteration count) is not copied.

    Raises :class:`UntranslatableError` naming every layer (or setting) that has no numpy_nn
    equivalent. The numpy_nn model is built with the Keras weights' dtype.
    """
    if not isinstance(keras_model, keras.Sequential):
        raise UntranslatableError(f"from_keras: only keras.Sequential models translate, got "
                                  f"{type(keras_model).__name__} '{keras_model.name}'")
    if not keras_model.built:
        raise ValueError(f"from_keras: Keras model '{keras_model.name}' is not built; call it "
                         f"on data or start it with keras.Input(shape=...)")
    unknown = [f"'{layer.name}' ({type(layer).__name__})" for layer in keras_model.layers
               if type(layer).__name__ not in _FROM_KERAS]
    if unknown:
        raise UntranslatableError(
            f"from_keras: model '{keras_model.name}' has layer(s) numpy_nn cannot translate: "
            f"{', '.join(unknown)} (translatable: {', '.join(_FROM_KERAS)})")
    weights = keras_model.weights
    dtype = str(weights[0].dtype) if weights else keras.config.floatx()
    previous_floatx = nn_backend.floatx()
    nn_backend.set_floatx(dtype)
    try:
        layers = []
        for keras_layer in keras_model.layers:
            config = keras_layer.get_config()
            where = f"Keras layer '{keras_layer.name}' ({type(keras_layer).__name__})"
            common = {"name": keras_layer.name, "trainable": keras_layer.trainable}
            layers.append(_FROM_KERAS[type(keras_layer).__name__](config, common, where))
        model = Sequential([nn_layers.Input(shape=tuple(keras_model.input_shape[1:]))] + layers,
                           name=keras_model.name)
        for layer, keras_layer in zip(model.layers, keras_model.layers):
            _copy_weights(keras_layer.weights, layer.weights, keras_layer.name)
    finally:
        nn_backend.set_floatx(previous_floatx)
    if compile is None:
        compile = bool(getattr(keras_model, "compiled", False))
    if compile:
        config = keras_model.get_compile_config()
        if not config:
            raise ValueError(f"from_keras: compile=True but Keras model '{keras_model.name}' "
                             f"is not compiled")
        model.compile(optimizer=bridge_compile.optimizer_from_keras(keras_model.optimizer),
                      loss=bridge_compile.loss_from_keras(keras_model.loss),
                      metrics=bridge_compile.metrics_from_keras(config.get("metrics")))
    return model
