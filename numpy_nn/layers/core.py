r"""Core layers: InputLayer, Dense, Flatten (``Activation`` is in :mod:`.activation`)."""
from __future__ import annotations

import math

import numpy as np

from numpy_nn import activations, constraints, initializers, regularizers
from numpy_nn.dispatch import has_numba_twin
from numpy_nn.layers.base import Layer, normalize_shape


class InputLayer(Layer):
    """Declares the shape of one sample; ``Sequential`` uses it and does not list it as a layer."""

    def __init__(self, shape=None, batch_size=None, name=None, dtype=None, input_shape=None,
                 **kwargs):
        shape = shape if shape is not None else input_shape
        if shape is None:
            raise ValueError("InputLayer: shape is required, e.g. Input(shape=(28, 28))")
        super().__init__(name=name, dtype=dtype, input_shape=shape, **kwargs)
        self.batch_size = batch_size
        self.build((batch_size,) + self.input_shape_arg)

    def call(self, inputs):
        return inputs

    def backward(self, grad_output, need_input_grad=True):
        return grad_output

    def get_config(self):
        config = super().get_config()
        config["shape"] = config.pop("input_shape")
        config.pop("trainable", None)
        return config


def Input(shape=None, batch_size=None, name=None, dtype=None):
    """``keras.Input``: an :class:`InputLayer` to put first in a ``Sequential`` list."""
    return InputLayer(shape=normalize_shape(shape, "Input: shape"), batch_size=batch_size,
                      name=name, dtype=dtype)


class Flatten(Layer):
    """Reshape each sample to a vector, in C (row-major) order: ``(N, 28, 28) → (N, 784)``."""

    def compute_output_shape(self, input_shape):
        rest = input_shape[1:]
        size = None if any(d is None for d in rest) else math.prod(rest)
        return (input_shape[0], size)

    def call(self, inputs):
        self._input_shape = inputs.shape
        # the feature count from the shape, not -1: an empty batch has no size to divide
        return inputs.reshape(inputs.shape[0], math.prod(inputs.shape[1:]))

    def backward(self, grad_output, need_input_grad=True):
        return grad_output.reshape(self._input_shape) if need_input_grad else None


class Dense(Layer):
    r"""Fully connected layer.

    .. math:: z = x W + b, \qquad y = f(z)

    with ``W`` of shape ``(inputs, units)``. Backward, given :math:`g = \partial L/\partial y`:

    .. math:: \delta = f'(z) \odot g, \quad
              \frac{\partial L}{\partial W} = x^\top \delta, \quad
              \frac{\partial L}{\partial b} = \textstyle\sum_{\text{batch}} \delta, \quad
              \frac{\partial L}{\partial x} = \delta W^\top

    When ``f`` is softmax or sigmoid, ``z`` is kept in ``output_logits`` so a cross-entropy
    loss can start the backward pass at :math:`\delta` directly (the logits shortcut,
    :mod:`numpy_nn.layers.base`).

    On the Numba path the bias addition and the activation (and, backward, the activation's
    derivative and the bias gradient) run fused in one pass (:mod:`numpy_nn.kernels.dense`).
    """

    def __init__(self, units, activation=None, use_bias=True,
                 kernel_initializer="glorot_uniform", bias_initializer="zeros",
                 kernel_regularizer=None, bias_regularizer=None,
                 kernel_constraint=None, bias_constraint=None, **kwargs):
        super().__init__(**kwargs)
        if isinstance(units, bool) or not isinstance(units, (int, np.integer)) or units <= 0:
            raise ValueError(f"Dense '{self.name}': units must be a positive int, got {units!r}")
        self.units = int(units)
        self.activation = activations.get(activation)
        self.use_bias = bool(use_bias)
        self.kernel_initializer = initializers.get(kernel_initializer)
        self.bias_initializer = initializers.get(bias_initializer)
        self.kernel_regularizer = regularizers.get(kernel_regularizer)
        self.bias_regularizer = regularizers.get(bias_regularizer)
        self.kernel_constraint = constraints.get(kernel_constraint)
        self.bias_constraint = constraints.get(bias_constraint)
        self.kernel = None
        self.bias = None

    @property
    def activation(self):
        """The activation function; assigning a name, a function or ``None`` (linear) later
        works as in the constructor (Keras 3's Dense accepts ``layer.activation = None``)."""
        return self._activation

    @activation.setter
    def activation(self, value):
        self._activation = activations.get(value)

    def build(self, input_shape):
        if len(input_shape) != 2 or input_shape[-1] is None:
            raise ValueError(f"Dense '{self.name}' expects inputs of shape (batch, features); "
                             f"got {input_shape}. Put a Flatten layer before it.")
        self.kernel = self.add_weight("kernel", (input_shape[-1], self.units),
                                      self.kernel_initializer, self.kernel_regularizer,
                                      self.kernel_constraint)
        if self.use_bias:
            self.bias = self.add_weight("bias", (self.units,), self.bias_initializer,
                                        self.bias_regularizer, self.bias_constraint)
        super().build(input_shape)

    def compute_output_shape(self, input_shape):
        return tuple(input_shape[:-1]) + (self.units,)

    @has_numba_twin
    def call(self, inputs):
        z = inputs @ self.kernel.value
        if self.use_bias:
            z += self.bias.value
        outputs = self.activation.forward(z)
        self._inputs, self._z, self._outputs = inputs, z, outputs
        self.output_logits = z if self.activation.outputs_probabilities else None
        return outputs

    @has_numba_twin
    def backward(self, grad_output, need_input_grad=True):
        delta = self.activation.backward(self._z, self._outputs, grad_output)
        return self.backward_from_logits(delta, need_input_grad)

    @has_numba_twin
    def backward_from_logits(self, grad_logits, need_input_grad=True):
        r"""The backward pass from :math:`\delta` (the logits shortcut starts here, see
        :mod:`numpy_nn.layers.base`)."""
        if self.trainable:                          # frozen: W and b get no gradient (eq. 1)
            self.kernel.grad = self._inputs.T @ grad_logits             # x^T delta
            if self.use_bias:
                self.bias.grad = grad_logits.sum(axis=0)                # sum over the batch
        return grad_logits @ self.kernel.value.T if need_input_grad else None  # delta W^T (eq. 1)

    def get_config(self):
        config = super().get_config()
        config.update({
            "units": self.units,
            "activation": activations.serialize(self.activation),
            "use_bias": self.use_bias,
            "kernel_initializer": initializers.serialize(self.kernel_initializer),
            "bias_initializer": initializers.serialize(self.bias_initializer),
            "kernel_regularizer": regularizers.serialize(self.kernel_regularizer),
            "bias_regularizer": regularizers.serialize(self.bias_regularizer),
            "kernel_constraint": constraints.serialize(self.kernel_constraint),
            "bias_constraint": constraints.serialize(self.bias_constraint),
        })
        return config
