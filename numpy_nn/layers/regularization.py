r"""Dropout (Srivastava et al., 2014) and AlphaDropout (Klambauer et al., 2017)."""
from __future__ import annotations

import numpy as np

from numpy_nn import backend
from numpy_nn.activations import SELU_ALPHA, SELU_SCALE
from numpy_nn.dispatch import has_numba_twin
from numpy_nn.layers.base import Layer


@has_numba_twin
def apply_dropout_mask(x, keep_mask, scale):
    r""":math:`m \odot x \cdot s`: kept units scaled by ``scale``, dropped units 0 (forward and
    backward of :class:`Dropout` alike)."""
    return np.where(keep_mask, x * scale, np.asarray(0, x.dtype))  # (eq. 1)


@has_numba_twin
def apply_alpha_dropout_mask(x, keep, a, alpha_p, b):
    r""":math:`a\,(m \odot x + \alpha'(1 - m)) + b` with ``keep`` (:math:`m`) as 0/1 floats."""
    return a * (x * keep + alpha_p * (1 - keep)) + b  # (eq. 1)


class _RandomMaskLayer(Layer):
    """Shared set-up of the two dropout layers: the rate check, the generator, the keep-mask."""

    def __init__(self, rate, noise_shape=None, seed=None, **kwargs):
        super().__init__(**kwargs)
        if isinstance(rate, bool) or not isinstance(rate, (int, float, np.floating)) \
                or not 0 <= rate < 1:
            raise ValueError(f"{type(self).__name__} '{self.name}': rate must be a number in "
                             f"[0, 1), got {rate!r}")
        self.rate = float(rate)
        if noise_shape is not None:
            noise_shape = tuple(noise_shape)
            if any(n is not None and (isinstance(n, bool) or not isinstance(n, (int, np.integer))
                                      or n < 1) for n in noise_shape):
                raise ValueError(f"{type(self).__name__} '{self.name}': noise_shape entries must "
                                 f"be positive ints or None, got {noise_shape!r}")
        self.noise_shape = noise_shape
        self.seed = seed
        # With a seed, the layer owns its generator (reproducible on its own); without, it
        # draws from the engine's generator so set_random_seed governs the whole run.
        self._own_generator = None if seed is None else np.random.default_rng(int(seed))

    def build(self, input_shape):
        if self.noise_shape is not None and (
                len(self.noise_shape) != len(input_shape)
                or any(n not in (None, 1, d) for n, d in zip(self.noise_shape[1:],
                                                              input_shape[1:]))):
            raise ValueError(f"{type(self).__name__} '{self.name}': noise_shape "
                             f"{self.noise_shape} does not fit inputs of shape {input_shape}; "
                             f"give one entry per axis, each None, 1 or the axis size")
        super().build(input_shape)

    @property
    def own_generator(self):
        """The layer's own generator when it was given a ``seed`` (``None``: it draws from the
        engine's); checkpoints save and restore its state."""
        return self._own_generator

    def generator(self):
        return self._own_generator if self._own_generator is not None else backend.rng()

    def draw_keep_mask(self, shape):
        """Boolean mask of kept units: ``U[0, 1) >= rate``, one draw per unit of ``shape``."""
        if self.noise_shape is not None:
            if self.noise_shape[0] not in (None, 1, shape[0]):
                raise ValueError(f"{type(self).__name__} '{self.name}': noise_shape "
                                 f"{self.noise_shape} asks for a batch of {self.noise_shape[0]}, "
                                 f"got a batch of {shape[0]}")
            shape = tuple(s if n is None else n for s, n in zip(shape, self.noise_shape))
        return self.generator().random(shape, dtype=np.float32) >= np.float32(self.rate)

    def get_config(self):
        return {**super().get_config(), "rate": self.rate,
                "noise_shape": None if self.noise_shape is None else list(self.noise_shape),
                "seed": self.seed}


class Dropout(_RandomMaskLayer):
    r"""Inverted dropout: in training, zero each unit with probability :math:`p`, scale the rest.

    .. math:: y = \frac{m \odot x}{1 - p}, \quad m_i \sim \text{Bernoulli}(1 - p), \qquad
              \frac{\partial L}{\partial x} = \frac{m \odot g}{1-p}

    At inference it is the identity.

    Keras parity: ``keras/src/backend/tensorflow/random.py::dropout`` calls TensorFlow's
    ``stateless_dropout``, which multiplies the kept values by the constant :math:`1/(1-p)` in
    the inputs' dtype rather than dividing by :math:`1-p`; so does this layer.
    """

    def call(self, inputs, training=False):
        self._keep_mask = None
        if not training or self.rate == 0:
            return inputs
        keep = self.draw_keep_mask(inputs.shape)
        scale = np.asarray(1.0 / (1.0 - self.rate), inputs.dtype)  # 1/(1 − p) (eq. 1)
        self._keep_mask, self._scale = keep, scale
        return apply_dropout_mask(inputs, keep, scale)

    def backward(self, grad_output, need_input_grad=True):
        if not need_input_grad:
            return None
        if self._keep_mask is None:
            return grad_output
        return apply_dropout_mask(grad_output, self._keep_mask, self._scale)


class AlphaDropout(_RandomMaskLayer):
    r"""Dropout that keeps SELU's self-normalisation (Klambauer et al., 2017, section 3).

    Dropped units are set to SELU's negative saturation value
    :math:`\alpha' = -\lambda\alpha \approx -1.7581` instead of 0, then an affine map restores
    mean 0 and variance 1 for standardised inputs:

    .. math:: a = \big((1-p)(1 + p\,\alpha'^2)\big)^{-1/2}, \qquad b = -a\,\alpha'\,p

    .. math:: y = a\,\big(m \odot x + \alpha'(1 - m)\big) + b, \qquad
              \frac{\partial L}{\partial x} = a\, m \odot g
    """

    @property
    def affine_constants(self):
        """``(alpha_p, a, b)`` as Python floats for this layer's rate."""
        alpha_p = -SELU_ALPHA * SELU_SCALE
        a = ((1 - self.rate) * (1 + self.rate * alpha_p ** 2)) ** -0.5  # (eq. 1)
        b = -a * alpha_p * self.rate  # (eq. 1)
        return alpha_p, a, b

    def call(self, inputs, training=False):
        self._keep = None
        if not training or self.rate == 0:
            return inputs
        alpha_p, a, b = (np.asarray(c, inputs.dtype) for c in self.affine_constants)
        keep = self.draw_keep_mask(inputs.shape).astype(inputs.dtype)
        self._keep, self._a = keep, a
        return apply_alpha_dropout_mask(inputs, keep, a, alpha_p, b)

    def backward(self, grad_output, need_input_grad=True):
        if not need_input_grad:
            return None
        if self._keep is None:
            return grad_output
        return grad_output * (self._a * self._keep)  # (eq. 1)
