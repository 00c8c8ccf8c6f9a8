r"""Weight initializers: VarianceScaling and its named presets (Glorot, He, LeCun).

All random presets are one algorithm, :class:`VarianceScaling`, with three settings:

.. math:: s = \frac{\text{scale}}{n}, \qquad n = \begin{cases}
    \text{fan\_in} & \text{mode} = \text{fan\_in} \\
    \text{fan\_out} & \text{mode} = \text{fan\_out} \\
    (\text{fan\_in} + \text{fan\_out})/2 & \text{mode} = \text{fan\_avg} \end{cases}

* ``truncated_normal``: :math:`\mathcal N(0, \sigma^2)` re-drawn outside :math:`\pm 2\sigma`,
  with :math:`\sigma = \sqrt{s} / 0.8796\ldots` so that the *truncated* distribution has
  variance :math:`s` (0.8796 is the std of a standard normal truncated to [-2, 2]);
* ``untruncated_normal``: :math:`\sigma = \sqrt{s}`;
* ``uniform``: :math:`U(-L, L)` with :math:`L = \sqrt{3s}`.

======================  =====  ========  ================
name                    scale  mode      distribution
======================  =====  ========  ================
glorot_uniform          1      fan_avg   uniform
glorot_normal           1      fan_avg   truncated_normal
he_uniform / he_normal  2      fan_in    uniform / trunc.
lecun_uniform / _normal 1      fan_in    uniform / trunc.
======================  =====  ========  ================

References: X. Glorot & Y. Bengio (2010), "Understanding the difficulty of training deep
feedforward neural networks"; K. He et al. (2015), "Delving Deep into Rectifiers";
Y. LeCun et al. (1998), "Efficient BackProp".

Seeding: an initializer built with ``seed=None`` draws a seed from the engine's generator
when it is *constructed* (as Keras does), so calling the same instance twice gives the same
values and ``set_random_seed`` makes model construction reproducible.
"""
from __future__ import annotations

import math

import numpy as np

from numpy_nn import _registry, backend

#: Standard deviation of a standard normal truncated to [-2, 2].
TRUNCATED_NORMAL_STD = 0.87962566103423978


def compute_fans(shape):
    """``(fan_in, fan_out)`` for a weight shape; a Dense kernel is ``(in, units)``."""
    shape = tuple(int(d) for d in shape)
    if len(shape) == 0:
        return 1, 1
    if len(shape) == 1:
        return shape[0], shape[0]
    if len(shape) == 2:
        return shape[0], shape[1]
    receptive_field = math.prod(shape[:-2])
    return shape[-2] * receptive_field, shape[-1] * receptive_field


class Initializer:
    """Base class: ``initializer(shape, dtype=None) -> ndarray``."""

    def __call__(self, shape, dtype=None):
        raise NotImplementedError

    def get_config(self):
        return {}

    @classmethod
    def from_config(cls, config):
        return cls(**config)


class Zeros(Initializer):
    """All zeros (Keras's default bias initializer)."""

    def __call__(self, shape, dtype=None):
        return np.zeros(shape, dtype=dtype or backend.floatx())


class Ones(Initializer):
    """All ones (BatchNormalization's gamma and moving variance start here)."""

    def __call__(self, shape, dtype=None):
        return np.ones(shape, dtype=dtype or backend.floatx())


class Constant(Initializer):
    """Every entry equal to ``value``: a number, or an array broadcast to the shape asked for
    (as ``keras.initializers.Constant`` allows)."""

    def __init__(self, value=0.0):
        array = np.asarray(value, dtype=np.float64)
        if not np.all(np.isfinite(array)):
            raise ValueError(f"Constant: value must be finite, got {value!r}")
        self.value = float(array) if array.ndim == 0 else array

    def __call__(self, shape, dtype=None):
        try:
            return np.array(np.broadcast_to(self.value, shape), dtype=dtype or backend.floatx())
        except ValueError:
            raise ValueError(f"Constant: a value of shape {np.shape(self.value)} cannot fill a "
                             f"weight of shape {tuple(shape)}") from None

    def get_config(self):
        return {"value": self.value if np.ndim(self.value) == 0 else self.value.tolist()}


class _SeededInitializer(Initializer):
    """A random initializer whose seed is fixed at construction (see the module docstring)."""

    def __init__(self, seed=None):
        self.seed = None if seed is None else int(seed)
        self._seed = backend.make_seed() if seed is None else int(seed)

    def generator(self):
        return np.random.default_rng(self._seed)

    def get_config(self):
        return {"seed": self.seed}


class RandomNormal(_SeededInitializer):
    r""":math:`\mathcal N(\text{mean}, \text{stddev}^2)` (Keras's defaults: 0 and 0.05)."""

    def __init__(self, mean=0.0, stddev=0.05, seed=None):
        super().__init__(seed)
        self.mean, self.stddev = float(mean), float(stddev)

    def __call__(self, shape, dtype=None):
        values = self.generator().normal(self.mean, self.stddev, size=shape)
        return values.astype(dtype or backend.floatx())

    def get_config(self):
        return {"mean": self.mean, "stddev": self.stddev, **super().get_config()}


class TruncatedNormal(RandomNormal):
    r""":math:`\mathcal N(\text{mean}, \text{stddev}^2)` with values beyond 2 stddev re-drawn."""

    def __call__(self, shape, dtype=None):
        values = self.mean + sample_truncated_normal(self.generator(), shape, self.stddev)
        return values.astype(dtype or backend.floatx())


class RandomUniform(_SeededInitializer):
    r""":math:`U(\text{minval}, \text{maxval})` (Keras's defaults: -0.05 and 0.05)."""

    def __init__(self, minval=-0.05, maxval=0.05, seed=None):
        super().__init__(seed)
        self.minval, self.maxval = float(minval), float(maxval)

    def __call__(self, shape, dtype=None):
        values = self.generator().uniform(self.minval, self.maxval, size=shape)
        return values.astype(dtype or backend.floatx())

    def get_config(self):
        return {"minval": self.minval, "maxval": self.maxval, **super().get_config()}


class VarianceScaling(_SeededInitializer):
    """Random weights whose variance is ``scale / n`` (see the module docstring).

    Args:
        scale: positive multiplier of the variance.
        mode: ``"fan_in"``, ``"fan_out"`` or ``"fan_avg"``.
        distribution: ``"truncated_normal"`` (alias ``"normal"``), ``"untruncated_normal"``
            or ``"uniform"``.
        seed: int for reproducible values; ``None`` draws one from the engine's generator now.
    """

    _MODES = ("fan_in", "fan_out", "fan_avg")
    _DISTRIBUTIONS = ("truncated_normal", "untruncated_normal", "uniform")

    def __init__(self, scale=1.0, mode="fan_in", distribution="truncated_normal", seed=None):
        if not scale > 0:
            raise ValueError(f"VarianceScaling: scale must be positive, got {scale!r}")
        if mode not in self._MODES:
            raise ValueError(f"VarianceScaling: mode must be one of {self._MODES}, got {mode!r}")
        distribution = "truncated_normal" if distribution == "normal" else distribution
        if distribution not in self._DISTRIBUTIONS:
            raise ValueError(f"VarianceScaling: distribution must be one of "
                             f"{self._DISTRIBUTIONS}, got {distribution!r}")
        self.scale = float(scale)
        self.mode = mode
        self.distribution = distribution
        super().__init__(seed)

    def variance(self, shape):
        """The target variance ``s = scale / n`` for this weight shape."""
        fan_in, fan_out = compute_fans(shape)
        n = {"fan_in": max(1.0, fan_in), "fan_out": max(1.0, fan_out),
             "fan_avg": max(1.0, (fan_in + fan_out) / 2.0)}[self.mode]
        return self.scale / n  # σ² = scale / fan (eq. 1)

    def __call__(self, shape, dtype=None):
        dtype = dtype or backend.floatx()
        generator = self.generator()
        s = self.variance(shape)
        if self.distribution == "truncated_normal":
            std = math.sqrt(s) / TRUNCATED_NORMAL_STD       # widened for the cut at 2 std (eq. 1)
            values = sample_truncated_normal(generator, shape, std)
        elif self.distribution == "untruncated_normal":
            values = generator.normal(0.0, math.sqrt(s), size=shape)
        else:
            limit = math.sqrt(3.0 * s)
            values = generator.uniform(-limit, limit, size=shape)
        return values.astype(dtype)

    def get_config(self):
        return {"scale": self.scale, "mode": self.mode,
                "distribution": self.distribution, "seed": self.seed}


def sample_truncated_normal(generator, shape, stddev):
    """Samples of N(0, stddev^2) with every value outside ±2·stddev re-drawn."""
    values = generator.normal(0.0, stddev, size=shape)
    outside = np.abs(values) > 2 * stddev
    while outside.any():
        values[outside] = generator.normal(0.0, stddev, size=int(outside.sum()))
        outside = np.abs(values) > 2 * stddev
    return values


def _preset(name, scale, mode, distribution, doc):
    def __init__(self, seed=None):
        VarianceScaling.__init__(self, scale=scale, mode=mode, distribution=distribution,
                                 seed=seed)

    def get_config(self):
        return {"seed": self.seed}

    return type(name, (VarianceScaling,), {"__init__": __init__, "get_config": get_config,
                                          "__doc__": doc})


GlorotUniform = _preset("GlorotUniform", 1.0, "fan_avg", "uniform",
                        "Glorot/Xavier uniform: U(±sqrt(6/(fan_in+fan_out))). Dense's default.")
GlorotNormal = _preset("GlorotNormal", 1.0, "fan_avg", "truncated_normal",
                       "Glorot/Xavier normal: truncated normal, variance 2/(fan_in+fan_out).")
HeUniform = _preset("HeUniform", 2.0, "fan_in", "uniform",
                    "He uniform: U(±sqrt(6/fan_in)), for ReLU-family activations.")
HeNormal = _preset("HeNormal", 2.0, "fan_in", "truncated_normal",
                   "He normal: truncated normal, variance 2/fan_in, for ReLU-family activations.")
LecunUniform = _preset("LecunUniform", 1.0, "fan_in", "uniform",
                       "LeCun uniform: U(±sqrt(3/fan_in)).")
LecunNormal = _preset("LecunNormal", 1.0, "fan_in", "truncated_normal",
                      "LeCun normal: truncated normal, variance 1/fan_in (use with SELU).")

_CLASSES = {
    "Zeros": Zeros, "Ones": Ones, "Constant": Constant, "VarianceScaling": VarianceScaling,
    "GlorotUniform": GlorotUniform, "GlorotNormal": GlorotNormal, "HeUniform": HeUniform,
    "HeNormal": HeNormal, "LecunUniform": LecunUniform, "LecunNormal": LecunNormal,
    "RandomNormal": RandomNormal, "RandomUniform": RandomUniform,
    "TruncatedNormal": TruncatedNormal,
}
_SNAKE_NAMES = {
    "zeros": Zeros, "ones": Ones, "constant": Constant, "variance_scaling": VarianceScaling,
    "glorot_uniform": GlorotUniform, "glorot_normal": GlorotNormal, "he_uniform": HeUniform,
    "he_normal": HeNormal, "lecun_uniform": LecunUniform, "lecun_normal": LecunNormal,
    "random_normal": RandomNormal, "random_uniform": RandomUniform,
    "truncated_normal": TruncatedNormal,
}

# Keras-style lower-case aliases, e.g. ``numpy_nn.initializers.he_normal()``.
zeros, ones, constant = Zeros, Ones, Constant
glorot_uniform, glorot_normal = GlorotUniform, GlorotNormal
he_uniform, he_normal = HeUniform, HeNormal
lecun_uniform, lecun_normal = LecunUniform, LecunNormal
random_normal, random_uniform, truncated_normal = RandomNormal, RandomUniform, TruncatedNormal


def get(identifier) -> Initializer:
    """An initializer from a name (``"he_normal"``), a config dict, or an initializer object;
    ``None`` gives ``None``, as ``keras.initializers.get`` does."""
    if identifier is None:
        return None
    return _registry.get("initializer", identifier, Initializer, {**_SNAKE_NAMES, **_CLASSES},
                        _CLASSES, f": expected a name ({', '.join(sorted(_SNAKE_NAMES))}) or an "
                        f"Initializer")


def serialize(initializer: Initializer | None) -> dict | None:
    if initializer is None:
        return None
    return {"class_name": type(initializer).__name__, "config": initializer.get_config()}


__all__ = [
    "compute_fans", "Constant", "constant", "get", "glorot_normal", "glorot_uniform",
    "GlorotNormal", "GlorotUniform", "he_normal", "he_uniform", "HeNormal", "HeUniform",
    "Initializer", "lecun_normal", "lecun_uniform", "LecunNormal", "LecunUniform", "Ones",
    "ones", "random_normal", "random_uniform", "RandomNormal", "RandomUniform", "serialize",
    "truncated_normal", "TruncatedNormal", "VarianceScaling", "Zeros", "zeros",
]


__dir__ = _registry.public_dir(__all__)
