r"""Gradient checking: compare a layer's (or a model's) analytic backward pass with central
differences, for the input and for every trainable weight.

For a scalar :math:`L(\theta)` and each entry :math:`\theta_i`, the numerical derivative is

.. math:: \hat g_i = \frac{L(\theta + h e_i) - L(\theta - h e_i)}{2h},

whose error is :math:`O(h^2)` (truncation) plus :math:`O(\epsilon / h)` (round-off). In float64
(:math:`\epsilon \approx 2.2\times10^{-16}`) with :math:`h = 10^{-6}` both are below
:math:`10^{-9}`, so a relative error

.. math:: r = \frac{\lVert g - \hat g \rVert}{\lVert g \rVert + \lVert \hat g \rVert}

above about :math:`10^{-6}` means the backward formula is wrong, not that the arithmetic is
noisy. That is why the check runs on a float64 *copy* of the layer or model: the object
passed in is never modified.

For a layer, :math:`L = \sum_j y_j u_j` with a fixed random :math:`u` (so
:math:`\partial L/\partial y = u` is what ``backward`` receives); for a model, :math:`L` is
its compiled loss on ``(x, y)`` (or :math:`\sum y \odot u` when ``y`` is None). Like
``torch.autograd.gradcheck(..., raise_exception=False)``, a wrong gradient is *reported*
(``result.passed`` is False and the table shows which parameter), never raised.

Example::

    result = numpy_nn.utils.check_gradients(MyLayer(), np.random.randn(4, 3))
    print(result)            # one row per parameter: shape, relative error, worst entry
    assert result.passed
"""
from __future__ import annotations

import copy
from dataclasses import dataclass, field

import numpy as np

from numpy_nn import backend
from numpy_nn import losses as losses_module
from numpy_nn.layers.base import Layer

__all__ = ["GradientCheckResult", "ParameterCheck", "check_gradients"]


@dataclass
class ParameterCheck:
    """One row of the result: the analytic and numerical gradient of one parameter."""

    name: str
    shape: tuple
    relative_error: float
    max_abs_error: float
    worst_index: tuple
    analytic: np.ndarray = field(repr=False)
    numerical: np.ndarray = field(repr=False)
    passed: bool = True


@dataclass
class GradientCheckResult:
    """What :func:`check_gradients` found: ``passed``, ``worst_relative_error``, ``rows``."""

    passed: bool
    worst_relative_error: float
    tolerance: float
    rows: list

    def __getitem__(self, name):
        for row in self.rows:
            if row.name == name:
                return row
        raise KeyError(f"no parameter named {name!r}; have {[r.name for r in self.rows]}")

    def __bool__(self):
        return self.passed

    def __str__(self):
        header = ("parameter", "shape", "relative error", "max |abs error|", "worst entry", "")
        lines = [(row.name, str(row.shape), f"{row.relative_error:.3e}",
                  f"{row.max_abs_error:.3e}", str(row.worst_index),
                  "ok" if row.passed else "WRONG") for row in self.rows]
        widths = [max(len(h), *(len(line[i]) for line in lines)) for i, h in enumerate(header)]
        text = ["  ".join(h.ljust(w) for h, w in zip(header, widths)).rstrip()]
        text.append("  ".join("-" * w for w in widths))
        text += ["  ".join(c.ljust(w) for c, w in zip(line, widths)).rstrip() for line in lines]
        verdict = "passed" if self.passed else "FAILED"
        text.append(f"{verdict}: worst relative error {self.worst_relative_error:.3e} "
                    f"(tolerance {self.tolerance:.0e})")
        return "\n".join(text)


def _relative_error(analytic, numerical):
    scale = np.linalg.norm(analytic) + np.linalg.norm(numerical)
    if scale == 0:
        return 0.0
    return float(np.linalg.norm(analytic - numerical) / scale)


def _numerical_gradient(loss, array, h):
    """Central differences of ``loss()`` with respect to ``array``, perturbed in place."""
    grad = np.zeros_like(array)
    flat, flat_grad = array.reshape(-1), grad.reshape(-1)
    for i in range(flat.size):
        original = flat[i]
        flat[i] = original + h
        plus = loss()
        flat[i] = original - h
        minus = loss()
        flat[i] = original
        flat_grad[i] = (plus - minus) / (2 * h)
    return grad


def _to_float64(layers):
    """Cast every variable of ``layers`` (copies) to float64, in place."""
    for layer in layers:
        layer.dtype = "float64"
        for variable in layer._variables:
            variable.value = np.array(variable.value, dtype=np.float64)
            variable.grad = None
            variable.grad_buffer = None


def _call(layer, x, training):
    if layer._call_accepts_training:
        return layer.call(x, training=training)
    return layer.call(x)


def check_gradients(layer_or_model, x, y=None, *, training=False, loss=None, h=1e-6,
                    tolerance=1e-6, seed=0, upstream=None):
    r"""Check the backward pass of ``layer_or_model`` on the batch ``x`` against central
    differences in float64, for the input and every trainable weight.

    Args:
        layer_or_model: a :class:`~numpy_nn.layers.Layer` (built or not) or a ``Sequential``.
            It is copied (``copy.deepcopy``) and the copy cast to float64; the original is
            left as it was.
        x: a batch of inputs.
        y: for a model, targets for its loss (the compiled one, or ``loss``); when None the
            scalar is :math:`\sum y \odot u` with a fixed random ``u``, as for a layer.
        training: the mode of every forward pass. With ``True``, dropout is active: the
            engine's random generator is reseeded with ``seed`` before each pass so every
            pass draws the same mask.
        loss: a loss (name or object) for a model that is not compiled.
        h: the finite-difference step. tolerance: largest relative error that passes.
        seed: seeds ``u`` and, with ``training=True``, the dropout masks.
        upstream: ``u`` itself, instead of a random one.

    Returns:
        :class:`GradientCheckResult` — ``passed``, ``worst_relative_error`` and one
        :class:`ParameterCheck` per parameter (``"input"`` first); ``print(result)`` shows
        the table. A wrong backward pass gives ``passed=False``; nothing is raised for it.
    """
    x = np.array(x, dtype=np.float64)
    if x.ndim < 1 or x.shape[0] == 0:
        raise ValueError(f"check_gradients: x must be a non-empty batch, got shape {x.shape}")
    layers, output_loss = _float64_copy(layer_or_model, x, y, loss)
    passes = _Passes(layers, x, None if y is None else np.asarray(y), output_loss, training,
                     seed)
    parameters = [v for layer in layers for v in layer.trainable_weights]
    rng_state = backend.get_rng_state()         # the passes reseed it; the caller's comes back
    try:
        if output_loss is None:
            passes.upstream = (np.random.default_rng(seed).normal(size=passes.forward().shape)
                               if upstream is None else np.asarray(upstream, dtype=np.float64))
        analytic = passes.analytic(parameters)
        numerical = {"input": _numerical_gradient(passes.scalar_loss, x, h)}
        for variable in parameters:
            numerical[variable.path] = _numerical_gradient(passes.scalar_loss, variable.value, h)
    finally:
        backend.set_rng_state(rng_state)
    rows = [_compare(name, analytic[name], numeric, tolerance)
            for name, numeric in numerical.items()]
    worst = max(row.relative_error for row in rows)
    return GradientCheckResult(all(row.passed for row in rows), worst, tolerance, rows)


def _float64_copy(layer_or_model, x, y, loss):
    """A built float64 copy of the layer or model's layers, and the loss for ``y`` (or None)."""
    output_loss = None
    if isinstance(layer_or_model, Layer):
        layers = [copy.deepcopy(layer_or_model)]
    elif isinstance(getattr(layer_or_model, "layers", None), list) and hasattr(
            layer_or_model, "build"):
        model = copy.deepcopy(layer_or_model)
        if not model.built:
            model.build((None,) + x.shape[1:])
        layers = model.layers
        if y is not None:
            if loss is None and model.loss is None:
                raise ValueError("check_gradients: y was given but the model is not compiled; "
                                 "pass loss=... (e.g. 'sparse_categorical_crossentropy')")
            output_loss = losses_module.get(loss if loss is not None else model.loss)
    else:
        raise TypeError(f"check_gradients: layer_or_model must be a numpy_nn Layer or "
                        f"Sequential model, got {type(layer_or_model).__name__}")
    if not layers[0].built:
        layers[0].build((None,) + x.shape[1:])
    _to_float64(layers)
    for index in range(1, len(layers)):          # a model copy is built already
        if not layers[index].built:
            layers[index].build(layers[index - 1].output_shape)
    return layers, output_loss


class _Passes:
    """The forward pass, the scalar being differentiated, and the analytic backward pass.

    The scalar is the loss of ``y`` when there is one, else :math:`\\sum y \\odot u`. With
    ``training=True`` every forward pass reseeds the engine's generator and rewinds the
    generators that layers own (``Dropout(seed=...)``), so every pass draws the same mask.
    """

    def __init__(self, layers, x, y, output_loss, training, seed):
        self.layers, self.x, self.y, self.output_loss = layers, x, y, output_loss
        self.training, self.seed, self.upstream = training, seed, None
        self.own_generators = [(layer, name, copy.deepcopy(value)) for layer in layers
                               for name, value in vars(layer).items()
                               if isinstance(value, np.random.Generator)]

    def forward(self):
        if self.training:
            backend.set_random_seed(self.seed)
            for layer, name, generator in self.own_generators:
                setattr(layer, name, copy.deepcopy(generator))
        out = self.x
        for layer in self.layers:
            out = _call(layer, out, self.training)
        return out

    def _loss_and_grad(self, y_pred):
        return self.output_loss.value_and_grad(self.y, y_pred, self.layers[-1].output_logits,
                                               None)

    def scalar_loss(self):
        y_pred = self.forward()
        if self.output_loss is None:
            return float(np.sum(y_pred * self.upstream))
        return float(self._loss_and_grad(y_pred)[0])

    def analytic(self, parameters):
        """The layers' own backward, from the output down to the input."""
        y_pred = self.forward()
        if self.output_loss is None:
            grad, from_logits = self.upstream, False
        else:
            _, grad, from_logits = self._loss_and_grad(y_pred)
        last = len(self.layers) - 1
        for index in range(last, -1, -1):
            layer = self.layers[index]
            grad = (layer.backward_from_logits(grad, True) if from_logits and index == last
                    else layer.backward(grad, True))
        gradients = {"input": np.array(grad, dtype=np.float64)}
        for variable in parameters:
            gradients[variable.path] = (np.zeros_like(variable.value) if variable.grad is None
                                        else np.array(variable.grad, dtype=np.float64))
        return gradients


def _compare(name, exact, numeric, tolerance):
    """One row of the result: the analytic gradient ``exact`` against ``numeric``."""
    if exact.shape != numeric.shape:
        return ParameterCheck(name, numeric.shape, float("inf"), float("inf"), (), exact,
                              numeric, passed=False)
    difference = np.abs(exact - numeric)
    worst = (np.unravel_index(int(np.argmax(difference)), difference.shape)
             if difference.size else ())
    error = _relative_error(exact, numeric)
    return ParameterCheck(name, tuple(numeric.shape), error,
                          float(difference.max()) if difference.size else 0.0,
                          tuple(int(i) for i in worst), exact, numeric,
                          passed=bool(error <= tolerance))
