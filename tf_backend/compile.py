"""Compile settings across the bridge: optimizers, learning-rate schedules, losses, metrics.

Both libraries name their hyper-parameters the same way (numpy_nn copies Keras 3), so each
translation is a table of the arguments that carry over, plus the few places where the two APIs
differ:

* numpy_nn accepts the book's Keras 2 ``decay=`` argument, :math:`\\eta_t = \\eta/(1+d\\,t)`.
  Keras 3 accepts ``decay=`` but *ignores* it (with a warning), so :func:`optimizer_to_keras`
  writes it as the schedule Keras 3 documents as its replacement,
  ``InverseTimeDecay(eta, decay_steps=1, decay_rate=d)``, which computes the same float32 values.
* Keras options that numpy_nn does not implement (``use_ema``, ``loss_scale_factor``,
  ``gradient_accumulation_steps``, losses with ``label_smoothing`` ...) raise
  :class:`~tf_backend.errors.UntranslatableError` instead of being dropped.
"""
from __future__ import annotations

import contextlib

import keras

from numpy_nn import losses as nn_losses
from numpy_nn import metrics as nn_metrics
from numpy_nn import optimizers as nn_optimizers
from numpy_nn.optimizers import schedules as nn_schedules
from tf_backend.errors import UntranslatableError


@contextlib.contextmanager
def keras_floatx(dtype):
    """Temporarily set Keras's default float type (``"float32"`` or ``"float64"``).

    Keras reads ``floatx`` when it creates an optimizer's learning-rate variable and the metric
    accumulators (including the loss tracker), so a float64 comparison needs it set while the
    Keras model is compiled *and* while it trains.
    """
    previous = keras.config.floatx()
    keras.config.set_floatx(str(dtype))
    try:
        yield
    finally:
        keras.config.set_floatx(previous)


def refuse_enabled_options(config, defaults, where):
    """Raise UntranslatableError if any Keras-only option in ``defaults`` is switched on.

    ``defaults`` maps each option to its "off" value, e.g. ``{"use_ema": False}``.
    """
    for option, off in defaults.items():
        if config.get(option, off) != off:
            raise UntranslatableError(f"{where}: {option}={config[option]!r} is not supported "
                                      f"by numpy_nn")


def require_known(name, known, kind, target):
    """Raise UntranslatableError unless class ``name`` is one of the ``known`` translations."""
    if name not in known:
        source = "numpy_nn" if target == "Keras" else "Keras"
        raise UntranslatableError(f"{source} {kind} {name} has no {target} equivalent "
                                  f"(translatable: {', '.join(known)})")


# ---------------------------------------------------------------------------- schedules
#: Schedules that exist on both sides, with the constructor arguments they share.
_SCHEDULE_ARGS = {
    "ExponentialDecay": ("initial_learning_rate", "decay_steps", "decay_rate", "staircase",
                         "name"),
    "InverseTimeDecay": ("initial_learning_rate", "decay_steps", "decay_rate", "staircase",
                         "name"),
    "PiecewiseConstantDecay": ("boundaries", "values", "name"),
}


def schedule_to_keras(schedule):
    """The ``keras.optimizers.schedules`` object computing the same learning rates."""
    name = type(schedule).__name__
    require_known(name, _SCHEDULE_ARGS, "learning-rate schedule", "Keras")
    config = schedule.get_config()
    cls = getattr(keras.optimizers.schedules, name)
    return cls(**{k: config[k] for k in _SCHEDULE_ARGS[name] if k in config})


def schedule_from_keras(schedule):
    """The numpy_nn schedule for a Keras schedule object (or its serialized config dict)."""
    if isinstance(schedule, dict):
        name, config = schedule.get("class_name"), schedule.get("config") or {}
    else:
        name, config = type(schedule).__name__, schedule.get_config()
    require_known(name, _SCHEDULE_ARGS, "learning-rate schedule", "numpy_nn")
    cls = getattr(nn_schedules, name)
    return cls(**{k: config[k] for k in _SCHEDULE_ARGS[name] if k in config})


# ---------------------------------------------------------------------------- optimizers
#: Per optimizer, the hyper-parameters beyond the ones every optimizer has.
_OPTIMIZER_ARGS = {
    "SGD": ("momentum", "nesterov"),
    "Adagrad": ("initial_accumulator_value", "epsilon"),
    "RMSprop": ("rho", "momentum", "epsilon", "centered"),
    "Adam": ("beta_1", "beta_2", "epsilon", "amsgrad"),
    "AdamW": ("beta_1", "beta_2", "epsilon", "amsgrad"),
    "Adamax": ("beta_1", "beta_2", "epsilon"),
    "Nadam": ("beta_1", "beta_2", "epsilon"),
}
_COMMON_ARGS = ("name", "clipnorm", "clipvalue", "global_clipnorm", "weight_decay")
#: Keras options without a numpy_nn counterpart, with the value meaning "off".
_KERAS_ONLY_OPTIONS = {"use_ema": False, "loss_scale_factor": None,
                       "gradient_accumulation_steps": None}


def optimizer_to_keras(optimizer):
    """A fresh Keras optimizer with the same algorithm, hyper-parameters, clipping and
    learning rate (its *current* value, or the same schedule).

    Optimizer state (slots, iteration count) is not copied: the result starts at step 0.
    """
    optimizer = nn_optimizers.get(optimizer)
    name = nn_optimizers.class_name(optimizer)
    if isinstance(optimizer, nn_optimizers.legacy.Keras2Optimizer):
        raise UntranslatableError(f"numpy_nn optimizer {name} computes Keras 2's updates, which "
                                  f"Keras 3 does not offer (they live on in "
                                  f"tf_keras.optimizers.legacy, for Keras 2 models)")
    require_known(name, _OPTIMIZER_ARGS, "optimizer", "Keras")
    config = optimizer.get_config()
    kwargs = {k: config[k] for k in _OPTIMIZER_ARGS[name] + _COMMON_ARGS
              if config.get(k) is not None}
    schedule = optimizer.learning_rate_schedule
    if optimizer.decay:
        if schedule is not None:
            raise UntranslatableError(
                f"{name}: decay={optimizer.decay} on top of a {type(schedule).__name__} schedule "
                f"has no Keras 3 equivalent (Keras 3 ignores decay=); use one or the other")
        learning_rate = keras.optimizers.schedules.InverseTimeDecay(
            float(config["learning_rate"]), decay_steps=1, decay_rate=optimizer.decay)
    elif schedule is not None:
        learning_rate = schedule_to_keras(schedule)
    else:
        learning_rate = float(config["learning_rate"])
    return getattr(keras.optimizers, name)(learning_rate=learning_rate, **kwargs)


def optimizer_from_keras(optimizer):
    """A fresh numpy_nn optimizer equivalent to a Keras optimizer (state not copied)."""
    name = type(optimizer).__name__
    require_known(name, _OPTIMIZER_ARGS, "optimizer", "numpy_nn")
    config = optimizer.get_config()
    refuse_enabled_options(config, _KERAS_ONLY_OPTIONS, f"Keras optimizer {name}")
    kwargs = {k: config[k] for k in _OPTIMIZER_ARGS[name] + _COMMON_ARGS
              if config.get(k) is not None}
    learning_rate = config["learning_rate"]
    if isinstance(learning_rate, dict):
        learning_rate = schedule_from_keras(learning_rate)
    return getattr(nn_optimizers, name)(learning_rate=learning_rate, **kwargs)


# ---------------------------------------------------------------------------- losses
_LOSS_CLASSES = ("SparseCategoricalCrossentropy", "CategoricalCrossentropy",
                 "BinaryCrossentropy", "MeanSquaredError")
#: Keras loss options that change the numbers, with the value meaning "off".
_KERAS_LOSS_DEFAULTS = {"reduction": "sum_over_batch_size", "ignore_class": None,
                        "label_smoothing": 0.0, "axis": -1}


def loss_to_keras(loss):
    """The Keras loss object computing the same value (same ``from_logits``)."""
    loss = nn_losses.get(loss)
    name = type(loss).__name__
    require_known(name, _LOSS_CLASSES, "loss", "Keras")
    config = loss.get_config()
    kwargs = {"from_logits": config["from_logits"]} if "from_logits" in config else {}
    return getattr(keras.losses, name)(name=config["name"], **kwargs)


def loss_from_keras(loss):
    """The numpy_nn loss for what ``keras_model.loss`` holds (a name, a function or a Loss)."""
    if isinstance(loss, str) or callable(loss) and not isinstance(loss, keras.losses.Loss):
        name = loss if isinstance(loss, str) else getattr(loss, "__name__", repr(loss))
        try:
            return nn_losses.get(name)
        except (ValueError, TypeError):
            raise UntranslatableError(f"Keras loss {name!r} has no numpy_nn equivalent") from None
    name = type(loss).__name__
    require_known(name, _LOSS_CLASSES, "loss", "numpy_nn")
    config = loss.get_config()
    refuse_enabled_options(config, _KERAS_LOSS_DEFAULTS, f"Keras loss {name}")
    kwargs = {"from_logits": config["from_logits"]} if "from_logits" in config else {}
    return getattr(nn_losses, name)(name=config.get("name"), **kwargs)


# ---------------------------------------------------------------------------- metrics
_METRIC_CLASSES = ("BinaryAccuracy", "SparseCategoricalAccuracy", "CategoricalAccuracy")


def metrics_to_keras(metric_names):
    """Keras ``metrics=`` for numpy_nn's compiled metrics (names pass through unchanged)."""
    translated = []
    for metric in metric_names:
        if isinstance(metric, str):
            translated.append(metric)
        elif type(metric).__name__ in _METRIC_CLASSES:
            translated.append(getattr(keras.metrics, type(metric).__name__)(name=metric.name))
        else:
            raise UntranslatableError(f"metric {metric!r} has no Keras equivalent")
    return translated


def metrics_from_keras(serialized):
    """numpy_nn ``metrics=`` from ``keras_model.get_compile_config()["metrics"]``."""
    translated = []
    for metric in serialized or []:
        if isinstance(metric, str):
            try:
                nn_metrics.get(metric, (1,), (1, 2))
            except (ValueError, TypeError):
                raise UntranslatableError(f"Keras metric {metric!r} has no numpy_nn "
                                          f"equivalent") from None
            translated.append(metric)
        elif isinstance(metric, dict) and metric.get("class_name") in _METRIC_CLASSES:
            config = metric.get("config") or {}
            cls = getattr(nn_metrics, metric["class_name"])
            translated.append(cls(name=config.get("name")) if config.get("name") else cls())
        else:
            raise UntranslatableError(f"Keras metric {metric!r} has no numpy_nn equivalent "
                                      f"(translatable: 'accuracy' and "
                                      f"{', '.join(_METRIC_CLASSES)})")
    return translated
