r"""The smooth, non-monotonic activations of the chapter's third edition: GELU, SiLU (Swish)
and Mish.

All three are :math:`x` times a *gate* that rises from 0 to 1 — ReLU is :math:`x\,[x > 0]`,
a hard gate — and all three dip a little below 0 for negative :math:`x` before returning to
it, which is why they are not monotonic. Their technique pages derive each derivative below
(``docs/techniques/gelu.md``, ``silu.md``, ``mish.md``).

Numerics follow TensorFlow's, which Keras 3 calls (``keras/src/backend/tensorflow/nn.py``):
exact GELU is ``0.5 * x * erfc(-x / sqrt(2))`` (``tf.nn.gelu``), whose ``erfc`` keeps its
precision for large negative :math:`x` where ``1 + erf`` would cancel; SiLU's derivative is
``tf.nn.silu``'s custom gradient, written with :math:`\sigma(x)` only; Mish is
``x * tanh(softplus(x))`` (``keras/src/activations/activations.py::Mish``).
"""
from __future__ import annotations

import math

import numpy as np

from numpy_nn.activations.activations import ActivationFunction, Sigmoid, _as_dtype_of
from numpy_nn.dispatch import has_numba_twin

#: NumPy has no erf/erfc; the standard library's is accurate to double precision, applied
#: element by element (the Numba twin calls the same function compiled).
_erfc = np.frompyfunc(math.erfc, 1, 1)

SQRT_HALF = math.sqrt(0.5)                   # 1/sqrt(2)
INV_SQRT_2PI = 1 / math.sqrt(2 * math.pi)    # the normal density's constant
SQRT_2_OVER_PI = math.sqrt(2 / math.pi)      # the tanh approximation's slope at 0
GELU_CUBIC = 0.044715                        # Hendrycks & Gimpel's cubic coefficient

_sigmoid = Sigmoid()


def softplus(x):
    r""":math:`\operatorname{softplus}(x) = \log(1 + e^{x}) = \max(x, 0) + \log(1 + e^{-|x|})`,
    the second form so that :math:`e^{x}` never overflows."""
    return np.maximum(x, _as_dtype_of(0, x)) + np.log1p(np.exp(-np.abs(x)))  # (eq. 3)


class GELU(ActivationFunction):
    r"""Gaussian error linear unit (Hendrycks & Gimpel, 2016): :math:`x` gated by the
    probability :math:`\Phi(x)` that a standard normal variable is below it.

    .. math:: f(x) = x\,\Phi(x) = \tfrac12\, x\, \operatorname{erfc}\!\big(-x/\sqrt2\big),
              \qquad f'(x) = \Phi(x) + x\,\varphi(x), \quad
              \varphi(x) = \frac{e^{-x^2/2}}{\sqrt{2\pi}}

    With ``approximate=True``, :math:`\Phi` is replaced by the paper's tanh form,
    :math:`u = \sqrt{2/\pi}\,(x + 0.044715\,x^3)`:

    .. math:: f(x) = \tfrac12\, x\,(1 + \tanh u), \qquad
              f'(x) = \tfrac12 (1 + \tanh u)
                      + \tfrac12\, x\,(1 - \tanh^2 u)\,\sqrt{2/\pi}\,(1 + 3 \cdot 0.044715\,x^2)

    ``keras.activations.gelu(x, approximate=False)`` (exact by default).
    """

    name = "gelu"

    def __init__(self, approximate=False):
        if not isinstance(approximate, (bool, np.bool_)):
            raise TypeError(f"gelu: approximate must be True or False, got {approximate!r}")
        self.approximate = bool(approximate)

    @has_numba_twin
    def forward(self, x):
        half = _as_dtype_of(0.5, x)
        if self.approximate:
            return half * x * (1 + np.tanh(self._tanh_argument(x)))  # (eq. 2)
        return half * x * self._erfc(-x * _as_dtype_of(SQRT_HALF, x))  # z Φ(z) (eq. 1)

    @has_numba_twin
    def backward(self, x, y, grad_y):
        half = _as_dtype_of(0.5, x)
        if self.approximate:
            t = np.tanh(self._tanh_argument(x))
            slope = _as_dtype_of(SQRT_2_OVER_PI, x) * (1 + _as_dtype_of(3 * GELU_CUBIC, x) * x * x)
            return grad_y * (half * (1 + t) + half * x * (1 - t * t) * slope)  # (eq. 2)
        cdf = half * self._erfc(-x * _as_dtype_of(SQRT_HALF, x))  # Φ(z) (eq. 3)
        density = _as_dtype_of(INV_SQRT_2PI, x) * np.exp(-half * x * x)
        return grad_y * (cdf + x * density)  # g (Φ + z φ) (eq. 1)

    @staticmethod
    def _erfc(z):
        return np.asarray(_erfc(z), dtype=z.dtype).reshape(z.shape)

    @staticmethod
    def _tanh_argument(x):
        return _as_dtype_of(SQRT_2_OVER_PI, x) * (x + _as_dtype_of(GELU_CUBIC, x) * x * x * x)

    def __call__(self, x, approximate=None):
        if approximate is not None:
            return GELU(approximate).forward(np.asarray(x))
        return self.forward(np.asarray(x))

    def get_config(self):
        return {"approximate": self.approximate}


class SiLU(ActivationFunction):
    r"""Sigmoid linear unit, also called Swish (Elfwing et al., 2017; Ramachandran et al., 2017):
    :math:`x` gated by :math:`\sigma(x)`.

    .. math:: f(x) = x\,\sigma(x), \qquad f'(x) = \sigma(x)\,\big(1 + x\,(1 - \sigma(x))\big)

    The derivative is ``tf.nn.silu``'s gradient, which needs :math:`\sigma(x)` only.
    """

    name = "silu"

    @has_numba_twin
    def forward(self, x):
        return x * _sigmoid.forward(x)  # z σ(z) (eq. 1)

    @has_numba_twin
    def backward(self, x, y, grad_y):
        s = _sigmoid.forward(x)
        return grad_y * (s * (1 + x * (1 - s)))  # (eq. 1)


class Mish(ActivationFunction):
    r"""Mish (Misra, 2019): :math:`x` gated by :math:`\tanh(\operatorname{softplus}(x))`.

    .. math:: f(x) = x \tanh\big(\operatorname{softplus}(x)\big), \qquad
              f'(x) = \tanh\big(\operatorname{softplus}(x)\big)
                      + x\,\sigma(x)\,\Big(1 - \tanh^2\big(\operatorname{softplus}(x)\big)\Big)

    using :math:`\operatorname{softplus}'(x) = \sigma(x)`.
    """

    name = "mish"

    @has_numba_twin
    def forward(self, x):
        return x * np.tanh(softplus(x))  # (eq. 1)

    @has_numba_twin
    def backward(self, x, y, grad_y):
        t = np.tanh(softplus(x))
        return grad_y * (t + x * _sigmoid.forward(x) * (1 - t * t))  # (eq. 2)


__all__ = ["GELU", "Mish", "SiLU", "softplus"]
