"""What ``compile(jit_compile=True)`` can run as one compiled call, read from a model.

:func:`plan` walks a compiled Sequential model and describes it for the compiled step
(:mod:`numpy_nn.models.compiled_step`): one :class:`LayerPlan` per layer, the loss's kind and
whether its gradient starts at the output layer's logits, and the optimizer. Anything the
compiled step does not implement raises :class:`NotCompilable`, naming the layer or option
and saying that ``jit_compile=False`` trains the model.

Supported, as the chapter uses them: ``Flatten`` first; ``Dense`` with any of the engine's
activations (softmax on the output, with a cross-entropy); the activation layers
(``Activation``, ``ReLU``, ``LeakyReLU``, ``ELU``) and ``PReLU``; ``BatchNormalization`` of
2-D inputs, with or without center and scale, trainable or frozen; ``Dropout`` and
``AlphaDropout``; ℓ1/ℓ2 regularizers and max-norm constraints on any weight; the four losses
of :mod:`numpy_nn.losses`; and the seven Keras 3 optimizers, with schedules, ``decay``,
``weight_decay`` and any clipping option. Layer and optimizer classes are matched exactly: a
subclass may change what a method computes (the chapter's ``MCDropout`` does), and only
``jit_compile=False`` runs code it cannot see.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from numpy_nn import activations, constraints, losses, regularizers
from numpy_nn import layers as L
from numpy_nn import optimizers as O
from numpy_nn.kernels.codes import (
    ACTIVATION,
    ACTIVATIONS,
    ADAGRAD,
    ADAM,
    ADAMAX,
    ALPHA_DROPOUT,
    BATCH_NORMALIZATION,
    BINARY,
    CATEGORICAL,
    DENSE,
    DROPOUT,
    MEAN_SQUARED,
    NADAM,
    PRELU,
    RMSPROP,
    SGD,
    SPARSE_CATEGORICAL,
)

HINT = "compile(..., jit_compile=False) trains it on the reference path"
_ACTIVATION_LAYERS = (L.Activation, L.ReLU, L.LeakyReLU, L.ELU)
_LOSSES = {losses.SparseCategoricalCrossentropy: SPARSE_CATEGORICAL,
           losses.CategoricalCrossentropy: CATEGORICAL, losses.BinaryCrossentropy: BINARY,
           losses.MeanSquaredError: MEAN_SQUARED}
#: the output activation whose logits each cross-entropy starts from
_LOGITS_OF = {SPARSE_CATEGORICAL: "softmax", CATEGORICAL: "softmax", BINARY: "sigmoid"}
OPTIMIZERS = {O.SGD: SGD, O.Adagrad: ADAGRAD, O.RMSprop: RMSPROP, O.Adam: ADAM, O.AdamW: ADAM,
              O.Adamax: ADAMAX, O.Nadam: NADAM}
_REGULARIZERS = (regularizers.L1L2, regularizers.L1, regularizers.L2)


class NotCompilable(ValueError):
    """The model uses something the compiled step does not implement."""


@dataclass
class LayerPlan:
    """One layer of the compiled step (see ``numpy_nn.kernels.step_layers.StepLayer``)."""

    layer: object
    op: int
    activation: int = ACTIVATIONS["linear"]
    p: float = 0.0
    scale: float = 0.0
    features: int = 0                       #: width of the layer's output
    weights: dict = field(default_factory=dict)   #: StepLayer field -> Variable


@dataclass
class Plan:
    layers: list
    inputs: int                             #: features per sample after Flatten
    loss_kind: int
    from_logits: bool
    dtype: np.dtype


def _fail(what):
    raise NotCompilable(f"jit_compile=True: {what} is not compiled; {HINT}")


def _activation(function, where, output):
    name = function.name
    if name == "softmax" and not output:
        _fail(f"{where}: softmax before the output layer")
    if name not in ACTIVATIONS:
        _fail(f"{where}: activation {name!r}")
    p = getattr(function, "negative_slope", 0.0)
    if name == "elu":
        p = function.alpha
    if name == "gelu":
        p = 1.0 if function.approximate else 0.0        # the tanh form, or erfc
    if name == "selu":
        return ACTIVATIONS[name], activations.SELU_SCALE * activations.SELU_ALPHA, \
            activations.SELU_SCALE
    return ACTIVATIONS[name], p, 0.0


def _check_variable(variable, where):
    if variable.regularizer is not None and type(variable.regularizer) not in _REGULARIZERS:
        _fail(f"{where}: regularizer {type(variable.regularizer).__name__}")
    constraint = variable.constraint
    if constraint is not None and (type(constraint) is not constraints.MaxNorm
                                   or constraint.axis not in (0, -variable.value.ndim)):
        _fail(f"{where}: constraint {type(constraint).__name__} "
              f"(axis {getattr(constraint, 'axis', None)})")


def _layer_plan(layer, index, count):
    """The :class:`LayerPlan` of one model layer (``index`` of ``count``)."""
    where = f"layer '{layer.name}' ({type(layer).__name__})"
    kind = type(layer)
    for variable in layer.weights:
        _check_variable(variable, where)
    if kind is L.Dense:
        activation, p, scale = _activation(layer.activation, where, index == count - 1)
        weights = {"kernel": layer.kernel, "bias": layer.bias}
        return LayerPlan(layer, DENSE, activation, p, scale, layer.units, weights)
    if kind in _ACTIVATION_LAYERS:
        activation, p, scale = _activation(layer.function, where, False)
        return LayerPlan(layer, ACTIVATION, activation, p, scale)
    if kind is L.PReLU:
        if layer.shared_axes or len(layer.input_shape) != 2:
            _fail(f"{where}: shared_axes or inputs of rank {len(layer.input_shape)}")
        return LayerPlan(layer, PRELU, weights={"alpha": layer.alpha})
    if kind is L.BatchNormalization:
        if len(layer.input_shape) != 2 or layer.axis not in (-1, 1):
            _fail(f"{where}: inputs of shape {layer.input_shape} or axis {layer.axis}")
        weights = {"gamma": layer.gamma, "beta": layer.beta, "moving_mean": layer.moving_mean,
                   "moving_variance": layer.moving_variance}
        return LayerPlan(layer, BATCH_NORMALIZATION, weights=weights)
    if kind in (L.Dropout, L.AlphaDropout):
        if layer.noise_shape is not None:
            _fail(f"{where}: noise_shape")
        return LayerPlan(layer, DROPOUT if kind is L.Dropout else ALPHA_DROPOUT)
    _fail(where)


def plan(model):
    """The model as the compiled step runs it, or :class:`NotCompilable`."""
    layers = list(model.layers)
    if not layers or not model.built:
        _fail(f"model '{model.name}' before it is built (give it an Input)")
    if layers and type(layers[0]) is L.Flatten:
        layers = layers[1:]
    plans = _fold_activations([_layer_plan(layer, i, len(layers))
                               for i, layer in enumerate(layers)])
    features = int(np.prod(model.input_shape[1:]))
    for step in plans:
        step.features = int(step.layer.output_shape[-1])      # (a folded activation keeps it)
    dtypes = {v.value.dtype for v in model.weights}
    if len(dtypes) != 1 or next(iter(dtypes)) not in (np.float32, np.float64):
        _fail(f"weights of dtypes {sorted(str(d) for d in dtypes)}")
    loss_kind, from_logits = _loss(model, plans)
    _optimizer(model.optimizer)
    return Plan(plans, features, loss_kind, from_logits, next(iter(dtypes)))


def _fold_activations(plans):
    """A linear Dense layer followed by an activation layer becomes one Dense layer with that
    activation: the same arithmetic (z, then f(z); backward f'(z) g, then the products) in one
    pass instead of two."""
    folded = []
    for step in plans:
        previous = folded[-1] if folded else None
        if (step.op == ACTIVATION and previous is not None and previous.op == DENSE
                and previous.activation == ACTIVATIONS["linear"]):
            previous.activation, previous.p, previous.scale = step.activation, step.p, step.scale
            continue
        folded.append(step)
    return folded


def _loss(model, plans):
    kind = _LOSSES.get(type(model.loss))
    if kind is None:
        _fail(f"loss {type(model.loss).__name__}")
    output = plans[-1]
    wanted = _LOGITS_OF.get(kind)
    name = output.layer.activation.name if output.op == DENSE else None
    if wanted is not None:
        if model.loss.from_logits or name != wanted:
            _fail(f"loss {model.loss.name} without a Dense {wanted} output layer "
                  f"(from_logits={model.loss.from_logits}, output activation {name!r})")
        return kind, True
    if output.activation == ACTIVATIONS["softmax"]:
        _fail("mean squared error after a softmax output")
    return kind, False


def _optimizer(optimizer):
    if type(optimizer) not in OPTIMIZERS:
        _fail(f"optimizer {type(optimizer).__name__} (the Keras 3 SGD, Adagrad, RMSprop, Adam, "
              f"AdamW, Adamax and Nadam are)")
    if optimizer.excluded_from_decay or optimizer.excluded_name_pattern is not None:
        _fail("an optimizer with exclude_from_weight_decay (the compiled step decays every "
              "variable alike)")
    return OPTIMIZERS[type(optimizer)]
