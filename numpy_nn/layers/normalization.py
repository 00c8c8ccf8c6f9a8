r"""Batch normalization (Ioffe & Szegedy, 2015, "Batch Normalization: Accelerating Deep Network
Training by Reducing Internal Covariate Shift")."""
from __future__ import annotations

from typing import NamedTuple

import numpy as np

from numpy_nn import constraints, initializers, regularizers
from numpy_nn._checks import check_number
from numpy_nn.dispatch import has_numba_twin
from numpy_nn.layers.base import Layer


class BatchNormCache(NamedTuple):
    """What :meth:`BatchNormalization.call` leaves for :meth:`~BatchNormalization.backward`
    (each array shaped to broadcast against the inputs)."""

    used_batch_statistics: bool     #: training mode: mu and sigma^2 came from this batch
    inputs: np.ndarray              #: x
    mean: np.ndarray                #: mu (or the moving mean in inference mode)
    inv_std: np.ndarray             #: 1 / sqrt(sigma^2 + eps)
    gamma: np.ndarray               #: gamma (1 when scale=False)


class BatchNormalization(Layer):
    r"""Normalise each feature over the batch, then scale and shift it.

    Training mode (``training=True`` *and* ``trainable``), over the batch axes:

    .. math::
        \mu = \tfrac1N \textstyle\sum x, \qquad
        \sigma^2 = \tfrac1N \textstyle\sum (x - \mu)^2 \quad \text{(biased)}, \qquad
        y = \gamma \frac{x - \mu}{\sqrt{\sigma^2 + \epsilon}} + \beta

    and the moving statistics follow the batch ones:
    :math:`m \leftarrow m \cdot p + \mu (1 - p)`, :math:`v \leftarrow v \cdot p + \sigma^2 (1 - p)`
    with momentum :math:`p` (0.99). Inference mode uses :math:`m, v` in place of
    :math:`\mu, \sigma^2`. A frozen layer (``trainable=False``) always runs in inference
    mode, even inside ``fit``: the behaviour transfer learning needs.

    Backward in training mode, with :math:`\hat x = (x-\mu)/\sqrt{\sigma^2+\epsilon}` and the
    gradient flowing through :math:`\mu` and :math:`\sigma^2`:

    .. math::
        \frac{\partial L}{\partial \gamma} = \textstyle\sum g \hat x, \quad
        \frac{\partial L}{\partial \beta} = \textstyle\sum g, \quad
        \frac{\partial L}{\partial x} = \frac{\gamma}{N\sqrt{\sigma^2+\epsilon}}
            \Big(N g - \textstyle\sum g - \hat x \sum g \hat x\Big)

    Keras parity: ``keras/src/layers/normalization/batch_normalization.py::
    BatchNormalization.call`` (frozen means inference mode, as in Keras 3). The forward pass is
    grouped as TensorFlow's ``tf.nn.batch_normalization`` does, ``y = x * inv + (beta - mu *
    inv)`` with ``inv = gamma / sqrt(var + eps)``, so it agrees with Keras to a few ulp.
    """

    def __init__(self, axis=-1, momentum=0.99, epsilon=1e-3, center=True, scale=True,
                 beta_initializer="zeros", gamma_initializer="ones",
                 moving_mean_initializer="zeros", moving_variance_initializer="ones",
                 beta_regularizer=None, gamma_regularizer=None,
                 beta_constraint=None, gamma_constraint=None, **kwargs):
        super().__init__(**kwargs)
        owner = f"BatchNormalization '{self.name}'"
        self.momentum = check_number(owner, "momentum", momentum, low=0, high=1)
        self.epsilon = check_number(owner, "epsilon", epsilon, low=0, low_inclusive=False)
        if isinstance(axis, bool) or not isinstance(axis, (int, np.integer)):
            raise TypeError(f"{owner}: axis must be an int, got {axis!r}")
        self.axis = int(axis)
        self.center = bool(center)
        self.scale = bool(scale)
        self.beta_initializer = initializers.get(beta_initializer)
        self.gamma_initializer = initializers.get(gamma_initializer)
        self.moving_mean_initializer = initializers.get(moving_mean_initializer)
        self.moving_variance_initializer = initializers.get(moving_variance_initializer)
        self.beta_regularizer = regularizers.get(beta_regularizer)
        self.gamma_regularizer = regularizers.get(gamma_regularizer)
        self.beta_constraint = constraints.get(beta_constraint)
        self.gamma_constraint = constraints.get(gamma_constraint)
        self.gamma = self.beta = self.moving_mean = self.moving_variance = None

    def build(self, input_shape):
        axis = self.axis % len(input_shape)
        if axis == 0:
            raise ValueError(f"BatchNormalization '{self.name}': axis cannot be the batch axis")
        features = input_shape[axis]
        if features is None:
            raise ValueError(f"BatchNormalization '{self.name}': the normalised axis {self.axis} "
                             f"of {input_shape} must have a known size")
        shape = (features,)
        if self.scale:
            self.gamma = self.add_weight("gamma", shape, self.gamma_initializer,
                                         self.gamma_regularizer, self.gamma_constraint)
        if self.center:
            self.beta = self.add_weight("beta", shape, self.beta_initializer,
                                        self.beta_regularizer, self.beta_constraint)
        self.moving_mean = self.add_weight("moving_mean", shape, self.moving_mean_initializer,
                                           trainable=False)
        self.moving_variance = self.add_weight("moving_variance", shape,
                                               self.moving_variance_initializer, trainable=False)
        self._reduce_axes = tuple(a for a in range(len(input_shape)) if a != axis)
        self._broadcast = tuple(features if a == axis else 1 for a in range(len(input_shape)))
        super().build(input_shape)

    def _param(self, variable, fill, dtype):
        if variable is None:
            return np.asarray(fill, dtype)
        return variable.value.reshape(self._broadcast)

    @has_numba_twin
    def call(self, inputs, training=None):
        dtype = inputs.dtype
        gamma = self._param(self.gamma, 1, dtype)
        beta = self._param(self.beta, 0, dtype)
        use_batch_statistics = bool(training) and self.trainable
        if use_batch_statistics:
            mean = inputs.mean(axis=self._reduce_axes, keepdims=True)           # mu (eq. 1)
            variance = np.square(inputs - mean).mean(axis=self._reduce_axes,    # sigma^2 (eq. 1)
                                                     keepdims=True)
            self._update_moving_statistics(mean, variance)
        else:
            mean = self.moving_mean.value.reshape(self._broadcast)  # m (eq. 4)
            variance = self.moving_variance.value.reshape(self._broadcast)
        inv_std = 1 / np.sqrt(variance + np.asarray(self.epsilon, dtype))  # s = 1/√(σ²+ε) (eq. 1)
        inv = inv_std * gamma
        outputs = inputs * inv + (beta - mean * inv)          # y = gamma x_hat + beta (eq. 5)
        self._cache = BatchNormCache(use_batch_statistics, inputs, mean, inv_std, gamma)
        return outputs

    def _update_moving_statistics(self, mean, variance):
        dtype = self.moving_mean.dtype
        momentum = np.asarray(self.momentum, dtype)
        complement = np.asarray(1.0 - self.momentum, dtype)
        # m <- m p + mu (1 - p),  v <- v p + sigma^2 (1 - p)
        self.moving_mean.assign(self.moving_mean.value * momentum + mean.reshape(-1) * complement)
        self.moving_variance.assign(
            self.moving_variance.value * momentum + variance.reshape(-1) * complement)

    @has_numba_twin
    def backward(self, grad_output, need_input_grad=True):
        cache = self._cache
        x, mean, inv_std, gamma = cache.inputs, cache.mean, cache.inv_std, cache.gamma
        x_hat = (x - mean) * inv_std
        if self.trainable:
            if self.gamma is not None:
                self.gamma.grad = (grad_output * x_hat).sum(axis=self._reduce_axes)  # (eq. 2)
            if self.beta is not None:
                self.beta.grad = grad_output.sum(axis=self._reduce_axes)            # sum g (eq. 2)
        if not need_input_grad:
            return None
        if not cache.used_batch_statistics:       # mu, sigma^2 are constants: y is affine in x
            return grad_output * (inv_std * gamma)  # (eq. 4)
        count = np.asarray(x.size // x_hat.shape[self.axis], x.dtype)      # N values per feature
        sum_g = grad_output.sum(axis=self._reduce_axes, keepdims=True)
        sum_g_xhat = (grad_output * x_hat).sum(axis=self._reduce_axes, keepdims=True)
        return (gamma * inv_std / count) * (  # (eq. 2)
            count * grad_output - sum_g - x_hat * sum_g_xhat)

    def get_config(self):
        return {**super().get_config(), "axis": self.axis, "momentum": self.momentum,
                "epsilon": self.epsilon, "center": self.center, "scale": self.scale,
                "beta_initializer": initializers.serialize(self.beta_initializer),
                "gamma_initializer": initializers.serialize(self.gamma_initializer),
                "moving_mean_initializer": initializers.serialize(self.moving_mean_initializer),
                "moving_variance_initializer":
                    initializers.serialize(self.moving_variance_initializer),
                "beta_regularizer": regularizers.serialize(self.beta_regularizer),
                "gamma_regularizer": regularizers.serialize(self.gamma_regularizer),
                "beta_constraint": constraints.serialize(self.beta_constraint),
                "gamma_constraint": constraints.serialize(self.gamma_constraint)}
