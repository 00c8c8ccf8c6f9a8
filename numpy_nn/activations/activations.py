r"""The first edition's activation functions: sigmoid, tanh, ReLU and its variants, ELU, SELU
and softmax (the package's docstring, :mod:`numpy_nn.activations`, says what every activation
object offers).

Numerics follow TensorFlow's CPU kernels so that the parity suite can hold us to Keras:
ELU and SELU use ``exp(x) - 1`` (TF's kernel does, rather than ``expm1``), LeakyReLU's
gradient at 0 is the slope, ReLU's gradient at 0 is 0, constants are cast to the input's
dtype so float32 stays float32.

Methods marked ``@has_numba_twin`` also have a compiled twin in :mod:`numpy_nn.twins`, used
when ``backend.kernel_path()`` is ``"numba"``; the code here is the definition.

The SELU constants are *derived* here from equation 14 of Klambauer et al. (2017), the
way the chapter does with ``erfc``, instead of being pasted in; the tests check that the
derivation reproduces the published values.
"""
from __future__ import annotations

import math

import numpy as np

from numpy_nn.dispatch import has_numba_twin


def _as_dtype_of(value, x):
    """A scalar constant in ``x``'s dtype, so float32 arithmetic is not promoted to float64."""
    return np.asarray(value, dtype=x.dtype)


class ActivationFunction:
    """Base class: an element-wise (or row-wise, for softmax) function and its derivative."""

    name = "activation"
    #: True for softmax and sigmoid: a loss can work from the pre-activation logits instead.
    outputs_probabilities = False

    def forward(self, x):
        raise NotImplementedError

    def backward(self, x, y, grad_y):
        raise NotImplementedError

    def __call__(self, x):
        return self.forward(np.asarray(x))

    def get_config(self):
        return {}

    def __repr__(self):
        return f"<activation {self.name}>"


class Linear(ActivationFunction):
    r"""Identity: :math:`f(x) = x`, :math:`f'(x) = 1`."""

    name = "linear"

    def forward(self, x):
        return x

    def backward(self, x, y, grad_y):
        return grad_y


class ReLU(ActivationFunction):
    r"""Rectified linear unit (Nair & Hinton, 2010).

    .. math:: f(x) = \max(0, x), \qquad f'(x) = [x > 0]

    The derivative at exactly 0 is taken as 0, as TensorFlow does.
    """

    name = "relu"

    @has_numba_twin
    def forward(self, x):
        return np.maximum(x, _as_dtype_of(0, x))  # max(0, z) (eq. 1)

    @has_numba_twin
    def backward(self, x, y, grad_y):
        return np.where(x > 0, grad_y, _as_dtype_of(0, grad_y))  # g [z > 0] (eq. 1)

    def __call__(self, x, negative_slope=0.0, max_value=None, threshold=0.0):
        """``keras.activations.relu(x, negative_slope=0.0, max_value=None, threshold=0.0)``:
        with any option set, :class:`GeneralReLU` computes it."""
        if max_value is None and threshold == 0:
            if negative_slope == 0:
                return self.forward(np.asarray(x))
            return LeakyReLU(negative_slope).forward(np.asarray(x))
        return GeneralReLU(negative_slope, max_value, threshold).forward(np.asarray(x))


class GeneralReLU(ActivationFunction):
    r"""ReLU with Keras's three options: slope :math:`a` below the threshold :math:`t`, and a
    ceiling :math:`m` (``max_value``), as keras/src/activations/activations.py::ReLU computes:

    .. math:: f(x) = \min(x\,[x > t],\ m) - a \max(t - x, 0), \qquad
              f'(x) = [t < x \le m] + a\,[x < t]

    (with :math:`[x > 0]` for :math:`t = 0`; the ceiling also clips at 0 from below). For
    :math:`m = 6`, :math:`t = 0` Keras uses ``relu6``, whose derivative at :math:`x = 6` is 0.
    """

    name = "general_relu"

    def __init__(self, negative_slope=0.0, max_value=None, threshold=0.0):
        for argument, value in (("negative_slope", negative_slope), ("threshold", threshold)):
            if value is None or not np.isfinite(value):
                raise ValueError(f"relu: {argument} must be a finite number, got {value!r}")
        if max_value is not None and not np.isfinite(max_value):
            raise ValueError(f"relu: max_value must be None or a finite number, got "
                             f"{max_value!r}")
        self.negative_slope = float(negative_slope)
        self.max_value = None if max_value is None else float(max_value)
        self.threshold = float(threshold)

    def forward(self, x):
        t, a, m = (_as_dtype_of(v, x) for v in (self.threshold, self.negative_slope,
                                                self.max_value or 0))
        zero = _as_dtype_of(0, x)
        y = x * (x > t).astype(x.dtype) if self.threshold != 0 else np.maximum(x, zero)
        if self.max_value is not None:
            y = np.clip(y, zero, m)
        if self.negative_slope != 0:
            y = y - a * np.maximum(t - x, zero)
        return y

    def backward(self, x, y, grad_y):
        t, a = _as_dtype_of(self.threshold, x), _as_dtype_of(self.negative_slope, x)
        passing = x > t
        if self.max_value is not None:
            relu6 = self.max_value == 6 and self.threshold == 0
            m = _as_dtype_of(self.max_value, x)
            passing &= (x < m) if relu6 else (x <= m)
        slope = passing.astype(x.dtype) + a * (x < t).astype(x.dtype)
        return grad_y * slope

    def get_config(self):
        return {"negative_slope": self.negative_slope, "max_value": self.max_value,
                "threshold": self.threshold}


class LeakyReLU(ActivationFunction):
    r"""Leaky ReLU (Maas et al., 2013) with slope :math:`a` for negative inputs.

    .. math:: f(x) = \begin{cases} x & x > 0 \\ a x & x \le 0 \end{cases}, \qquad
              f'(x) = \begin{cases} 1 & x > 0 \\ a & x \le 0 \end{cases}

    ``keras.activations.leaky_relu`` defaults to :math:`a = 0.2`; the *layer*
    ``LeakyReLU`` defaults to 0.3 (see :mod:`numpy_nn.layers.activation`).
    """

    name = "leaky_relu"

    def __init__(self, negative_slope=0.2):
        self.negative_slope = float(negative_slope)

    @has_numba_twin
    def forward(self, x):
        return np.where(x > 0, x, x * _as_dtype_of(self.negative_slope, x))  # (eq. 1)

    @has_numba_twin
    def backward(self, x, y, grad_y):
        slope = _as_dtype_of(self.negative_slope, grad_y)
        return np.where(x > 0, grad_y, grad_y * slope)  # (eq. 1)

    def __call__(self, x, negative_slope=None):
        if negative_slope is not None:
            return LeakyReLU(negative_slope).forward(np.asarray(x))
        return self.forward(np.asarray(x))

    def get_config(self):
        return {"negative_slope": self.negative_slope}


class ELU(ActivationFunction):
    r"""Exponential linear unit (Clevert, Unterthiner & Hochreiter, 2015).

    .. math:: f(x) = \begin{cases} x & x > 0 \\ \alpha (e^{x} - 1) & x \le 0 \end{cases},
              \qquad f'(x) = \begin{cases} 1 & x > 0 \\ f(x) + \alpha & x \le 0 \end{cases}

    The derivative is written with the output :math:`f(x)` (no second ``exp``).
    """

    name = "elu"

    def __init__(self, alpha=1.0):
        self.alpha = float(alpha)

    @has_numba_twin
    def forward(self, x):
        alpha = _as_dtype_of(self.alpha, x)
        return np.where(x > 0, x, alpha * (np.exp(np.minimum(x, 0)) - 1))  # (eq. 1)

    @has_numba_twin
    def backward(self, x, y, grad_y):
        alpha = _as_dtype_of(self.alpha, y)
        return np.where(x > 0, grad_y, grad_y * (y + alpha))  # (eq. 1)

    def __call__(self, x, alpha=None):
        if alpha is not None:
            return ELU(alpha).forward(np.asarray(x))
        return self.forward(np.asarray(x))

    def get_config(self):
        return {"alpha": self.alpha}


def selu_constants():
    r"""Derive SELU's :math:`(\alpha_{01}, \lambda_{01})` from equation 14 of Klambauer et al.

    With the fixed point mean 0 and variance 1, the paper solves for

    .. math::
        \alpha_{01} = -\frac{\sqrt{2/\pi}}{\operatorname{erfc}(1/\sqrt{2})\,e^{1/2} - 1}

    .. math::
        \lambda_{01} = \left(1 - \operatorname{erfc}(1/\sqrt 2)\sqrt e\right)\sqrt{2\pi}
          \Big(2\operatorname{erfc}(\sqrt 2)\,e^2 + \pi \operatorname{erfc}(1/\sqrt 2)^2 e
          - 2(2+\pi)\operatorname{erfc}(1/\sqrt 2)\sqrt e + \pi + 2\Big)^{-1/2}

    Returns ``(alpha, scale)`` as Python floats (about 1.6733 and 1.0507).

    Reference: G. Klambauer, T. Unterthiner, A. Mayr, S. Hochreiter, "Self-Normalizing
    Neural Networks", NeurIPS 2017, eq. 14.
    """
    e = math.e
    erfc_a = math.erfc(1 / math.sqrt(2))     # the standard library's erfc is enough here
    erfc_b = math.erfc(math.sqrt(2))
    alpha = -math.sqrt(2 / math.pi) / (erfc_a * math.exp(0.5) - 1)  # alpha (eq. 3)
    scale = ((1 - erfc_a * math.sqrt(e)) * math.sqrt(2 * math.pi)  # lambda (eq. 4)
             * (2 * erfc_b * e ** 2 + math.pi * erfc_a ** 2 * e
                - 2 * (2 + math.pi) * erfc_a * math.sqrt(e) + math.pi + 2) ** -0.5)
    return alpha, scale


SELU_ALPHA, SELU_SCALE = selu_constants()


class SELU(ActivationFunction):
    r"""Scaled ELU (Klambauer et al., 2017): self-normalising with LeCun-normal weights.

    .. math:: f(x) = \lambda \begin{cases} x & x > 0 \\ \alpha (e^{x} - 1) & x \le 0 \end{cases},
              \qquad f'(x) = \begin{cases} \lambda & f(x) \ge 0 \\
                                           f(x) + \lambda\alpha & f(x) < 0 \end{cases}

    :math:`\alpha` and :math:`\lambda` come from :func:`selu_constants`. Like TensorFlow's
    kernel, the derivative branches on the *output*: where :math:`f(x) = 0` (at :math:`x = 0`,
    and for tiny negative :math:`x` whose :math:`e^x - 1` rounds to 0) it is :math:`\lambda`.
    """

    name = "selu"

    @has_numba_twin
    def forward(self, x):
        scale = _as_dtype_of(SELU_SCALE, x)
        scale_alpha = _as_dtype_of(SELU_SCALE * SELU_ALPHA, x)
        return np.where(x > 0, scale * x, scale_alpha * (np.exp(np.minimum(x, 0)) - 1))  # (eq. 1)

    @has_numba_twin
    def backward(self, x, y, grad_y):
        scale = _as_dtype_of(SELU_SCALE, y)
        scale_alpha = _as_dtype_of(SELU_SCALE * SELU_ALPHA, y)
        return np.where(y < 0, grad_y * (y + scale_alpha), grad_y * scale)  # (eq. 2)


class Tanh(ActivationFunction):
    r"""Hyperbolic tangent: :math:`f(x) = \tanh x`, :math:`f'(x) = 1 - f(x)^2`."""

    name = "tanh"

    def forward(self, x):
        return np.tanh(x)

    def backward(self, x, y, grad_y):
        return grad_y * (1 - y * y)


class Sigmoid(ActivationFunction):
    r"""Logistic sigmoid: :math:`\sigma(x) = 1/(1+e^{-x})`, :math:`\sigma' = \sigma(1-\sigma)`.

    Evaluated as :math:`e^{-|x|}`-based branches so that neither branch overflows.
    As an output layer with binary cross-entropy, the loss uses the logits instead.
    """

    name = "sigmoid"
    outputs_probabilities = True

    def forward(self, x):
        e = np.exp(-np.abs(x))
        one = _as_dtype_of(1, x)
        return np.where(x >= 0, one / (one + e), e / (one + e))  # (eq. 2)

    def backward(self, x, y, grad_y):
        return grad_y * y * (1 - y)  # g σ(1 − σ) (eq. 1)


class Softmax(ActivationFunction):
    r"""Softmax along ``axis`` (last by default).

    .. math:: s_i = \frac{e^{x_i - \max_j x_j}}{\sum_k e^{x_k - \max_j x_j}}, \qquad
              \frac{\partial L}{\partial x_i} = s_i\Big(g_i - \sum_k g_k s_k\Big)

    where :math:`g = \partial L / \partial s`. As an output layer with a cross-entropy loss,
    the loss works from the logits and this Jacobian product is never needed.
    """

    name = "softmax"
    outputs_probabilities = True

    def __init__(self, axis=-1):
        self.axis = int(axis)

    @has_numba_twin
    def forward(self, x):
        if x.size == 0:              # nothing to normalise (max has no identity)
            return x.copy()
        shifted = np.exp(x - x.max(axis=self.axis, keepdims=True))
        return shifted / shifted.sum(axis=self.axis, keepdims=True)

    def backward(self, x, y, grad_y):
        return y * (grad_y - (grad_y * y).sum(axis=self.axis, keepdims=True))

    def __call__(self, x, axis=None):
        """``keras.activations.softmax(x, axis=-1)`` (one axis)."""
        if axis is not None:
            return Softmax(axis).forward(np.asarray(x))
        return self.forward(np.asarray(x))

    def get_config(self):
        return {"axis": self.axis}
