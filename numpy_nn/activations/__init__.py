r"""Activation functions, each with its derivative (``keras.activations``).

Every activation is a small object with two methods:

* ``forward(x) -> y`` (also reachable as ``activation(x)``, so
  ``numpy_nn.activations.relu(x)`` reads like ``keras.activations.relu(x)``);
* ``backward(x, y, grad_y) -> grad_x``, the chain rule through the activation. It gets
  both the input and the output so each derivative can use the cheaper of the two
  (ELU and SELU, like TensorFlow, write theirs in terms of the output).

The first edition's functions (sigmoid, tanh, ReLU and its variants, ELU, SELU, softmax) are in
:mod:`numpy_nn.activations.activations`; the third edition's smooth ones (GELU, SiLU/Swish,
Mish) in :mod:`numpy_nn.activations.smooth`. This module names them as Keras does: the
instances ``relu``, ``gelu``, ... and :func:`get` from a name (``"swish"`` is SiLU, as in
Keras's ``keras/src/activations/__init__.py``).
"""
from __future__ import annotations

from numpy_nn import _registry
from numpy_nn.activations.activations import (
    ELU,
    SELU,
    SELU_ALPHA,
    SELU_SCALE,
    ActivationFunction,
    GeneralReLU,
    LeakyReLU,
    Linear,
    ReLU,
    Sigmoid,
    Softmax,
    Tanh,
    selu_constants,
)
from numpy_nn.activations.smooth import GELU, Mish, SiLU, softplus

linear = Linear()
relu = ReLU()
leaky_relu = LeakyReLU(0.2)
elu = ELU(1.0)
selu = SELU()
tanh = Tanh()
sigmoid = Sigmoid()
softmax = Softmax()
gelu = GELU(approximate=False)
silu = SiLU()
swish = silu
mish = Mish()

_BY_NAME = {
    "linear": linear, "relu": relu, "leaky_relu": leaky_relu, "elu": elu, "selu": selu,
    "tanh": tanh, "sigmoid": sigmoid, "softmax": softmax, "gelu": gelu, "silu": silu,
    "swish": swish, "mish": mish,
}
_CLASSES = {
    "linear": Linear, "relu": ReLU, "leaky_relu": LeakyReLU, "elu": ELU, "selu": SELU,
    "tanh": Tanh, "sigmoid": Sigmoid, "softmax": Softmax, "general_relu": GeneralReLU,
    "gelu": GELU, "silu": SiLU, "swish": SiLU, "mish": Mish,
}


def get(identifier) -> ActivationFunction:
    """An activation from ``None`` (linear), a name such as ``"relu"``, or an activation object."""
    if identifier is None:
        return linear
    return _registry.get("activation", identifier, ActivationFunction, _BY_NAME, _CLASSES,
                        f": expected a name ({', '.join(sorted(_BY_NAME))}) or an "
                        f"ActivationFunction")


def serialize(activation: ActivationFunction):
    """A JSON-friendly description: the bare name when default settings, else a dict."""
    config = activation.get_config()
    if activation is _BY_NAME.get(activation.name) or not config:
        return activation.name
    return {"class_name": activation.name, "config": config}


__all__ = [
    "ActivationFunction", "elu", "ELU", "gelu", "GELU", "GeneralReLU", "get", "leaky_relu",
    "LeakyReLU", "linear", "Linear", "mish", "Mish", "relu", "ReLU", "selu", "SELU",
    "SELU_ALPHA", "selu_constants", "SELU_SCALE", "serialize", "sigmoid", "Sigmoid", "silu",
    "SiLU", "softmax", "Softmax", "softplus", "swish", "tanh", "Tanh",
]


__dir__ = _registry.public_dir(__all__)
