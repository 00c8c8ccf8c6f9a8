r"""Activation layers: Activation (any activation by name), and those with their own settings:
LeakyReLU, PReLU (learned slope), ELU, ReLU, Softmax."""
from __future__ import annotations

import numpy as np

from numpy_nn import activations, constraints, initializers, regularizers
from numpy_nn._checks import check_number
from numpy_nn.dispatch import has_numba_twin
from numpy_nn.layers.base import Layer


class _ElementwiseActivation(Layer):
    """A layer applying one :class:`~numpy_nn.activations.ActivationFunction`,
    ``self.function``. When it outputs probabilities (softmax, sigmoid), its input is kept as
    ``output_logits`` so a cross-entropy loss can start the backward pass there."""

    any_input_shape = True

    def call(self, inputs):
        outputs = self.function.forward(inputs)
        self._inputs, self._outputs = inputs, outputs
        self.output_logits = inputs if self.function.outputs_probabilities else None
        return outputs

    def backward(self, grad_output, need_input_grad=True):
        if not need_input_grad:
            return None
        return self.function.backward(self._inputs, self._outputs, grad_output)

    def backward_from_logits(self, grad_logits, need_input_grad=True):
        return grad_logits if need_input_grad else None


class Activation(_ElementwiseActivation):
    """Apply an activation function as its own layer, e.g. after BatchNormalization."""

    def __init__(self, activation, **kwargs):
        super().__init__(**kwargs)
        self.function = activations.get(activation)

    @property
    def activation(self):
        return self.function

    def get_config(self):
        return {**super().get_config(), "activation": activations.serialize(self.function)}


class LeakyReLU(_ElementwiseActivation):
    r"""Leaky ReLU layer, :math:`f(x) = x` for :math:`x > 0` else :math:`a x`.

    The layer's default slope is ``negative_slope=0.3`` (Keras's, and Keras 2's ``alpha=0.3``);
    the book's spelling ``LeakyReLU(alpha=0.2)`` is accepted too.
    """

    def __init__(self, negative_slope=0.3, alpha=None, **kwargs):
        if alpha is not None:
            negative_slope = alpha
        super().__init__(**kwargs)
        self.negative_slope = check_number(f"LeakyReLU '{self.name}'", "negative_slope",
                                           negative_slope, low=0)
        self.function = activations.LeakyReLU(self.negative_slope)

    @property
    def alpha(self):
        return self.negative_slope

    def get_config(self):
        return {**super().get_config(), "negative_slope": self.negative_slope}


class ELU(_ElementwiseActivation):
    """ELU layer with :math:`\\alpha` (default 1.0)."""

    def __init__(self, alpha=1.0, **kwargs):
        super().__init__(**kwargs)
        self.alpha = check_number(f"ELU '{self.name}'", "alpha", alpha)
        self.function = activations.ELU(self.alpha)

    def get_config(self):
        return {**super().get_config(), "alpha": self.alpha}


class ReLU(_ElementwiseActivation):
    """ReLU layer with Keras 3's options (keras/src/layers/activations/relu.py): ``max_value``
    (a ceiling, ``None`` for none), ``negative_slope`` and ``threshold``, all >= 0. With the
    defaults it is the plain ReLU, with a slope alone a leaky ReLU; otherwise
    :class:`~numpy_nn.activations.GeneralReLU`."""

    def __init__(self, max_value=None, negative_slope=0.0, threshold=0.0, **kwargs):
        super().__init__(**kwargs)
        owner = f"ReLU '{self.name}'"
        if max_value is not None:
            check_number(owner, "max_value", max_value, low=0)
        for argument, value in (("negative_slope", negative_slope), ("threshold", threshold)):
            if value is None:
                raise ValueError(f"{owner}: {argument} must be a number >= 0, got None")
            check_number(owner, argument, value, low=0)
        self.max_value = None if max_value is None else float(max_value)
        self.negative_slope, self.threshold = float(negative_slope), float(threshold)
        if self.max_value is None and not self.threshold:   # Keras: relu or leaky_relu
            self.function = activations.LeakyReLU(self.negative_slope) if self.negative_slope \
                else activations.relu
        else:
            self.function = activations.GeneralReLU(self.negative_slope, self.max_value,
                                                    self.threshold)

    def get_config(self):
        return {**super().get_config(), "max_value": self.max_value,
                "negative_slope": self.negative_slope, "threshold": self.threshold}


class PReLU(Layer):
    r"""Parametric ReLU (He et al., 2015, "Delving Deep into Rectifiers"): the slope is learned.

    .. math:: f(x) = \max(0, x) - a \max(0, -x), \qquad
              \frac{\partial f}{\partial x} = [x > 0] + a [x < 0], \qquad
              \frac{\partial f}{\partial a} = \min(x, 0)

    ``a`` has one entry per input unit (shape ``input_shape[1:]``), starting at 0, so a fresh
    PReLU is a ReLU. ``shared_axes`` (1-based, the batch axis being 0) share one slope along
    those axes; the slope gradient is then summed over them too.
    """

    def __init__(self, alpha_initializer="zeros", alpha_regularizer=None, alpha_constraint=None,
                 shared_axes=None, **kwargs):
        super().__init__(**kwargs)
        self.alpha_initializer = initializers.get(alpha_initializer)
        self.alpha_regularizer = regularizers.get(alpha_regularizer)
        self.alpha_constraint = constraints.get(alpha_constraint)
        if shared_axes is None:
            self.shared_axes = None
        else:
            axes = [shared_axes] if isinstance(shared_axes, int) else list(shared_axes)
            if any(not isinstance(a, int) or a < 1 for a in axes):
                raise ValueError(f"PReLU '{self.name}': shared_axes must be axes >= 1 (axis 0 "
                                 f"is the batch), got {shared_axes!r}")
            self.shared_axes = axes
        self.alpha = None

    def build(self, input_shape):
        param_shape = list(input_shape[1:])
        for axis in self.shared_axes or ():
            if axis >= len(input_shape):
                raise ValueError(f"PReLU '{self.name}': shared axis {axis} does not exist for "
                                 f"inputs of shape {input_shape}")
            param_shape[axis - 1] = 1
        self.alpha = self.add_weight("alpha", tuple(param_shape), self.alpha_initializer,
                                     self.alpha_regularizer, self.alpha_constraint)
        super().build(input_shape)

    @has_numba_twin
    def call(self, inputs):
        self._inputs = inputs
        zero = np.asarray(0, inputs.dtype)
        return np.maximum(inputs, zero) - self.alpha.value * np.maximum(-inputs, zero)  # (eq. 2)

    @has_numba_twin
    def backward(self, grad_output, need_input_grad=True):
        x = self._inputs
        if self.trainable:
            per_sample = grad_output * np.minimum(x, np.asarray(0, x.dtype))  # g min(z, 0) (eq. 2)
            reduce_axes = (0,) + tuple(self.shared_axes or ())
            self.alpha.grad = per_sample.sum(axis=reduce_axes, keepdims=True).reshape(
                self.alpha.shape)
        if not need_input_grad:
            return None
        return np.where(x > 0, grad_output,  # (eq. 2)
                        np.where(x < 0, grad_output * self.alpha.value,
                                 np.asarray(0, grad_output.dtype)))

    def get_config(self):
        return {**super().get_config(),
                "alpha_initializer": initializers.serialize(self.alpha_initializer),
                "alpha_regularizer": regularizers.serialize(self.alpha_regularizer),
                "alpha_constraint": constraints.serialize(self.alpha_constraint),
                "shared_axes": self.shared_axes}


class Softmax(_ElementwiseActivation):
    """Softmax as a layer; its logits are kept for cross-entropy (the logits shortcut,
    :mod:`numpy_nn.layers.base`)."""

    def __init__(self, axis=-1, **kwargs):
        super().__init__(**kwargs)
        self.axis = int(axis)
        self.function = activations.Softmax(self.axis)

    def get_config(self):
        return {**super().get_config(), "axis": self.axis}

