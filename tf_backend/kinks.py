r"""The kink term of ``tf_backend.compare``'s error model.

A Dense layer with an activation whose derivative jumps at 0 (ReLU, LeakyReLU, SELU, ELU with
:math:`\alpha \ne 1`) computes its pre-activation :math:`z = xW + b` on each side with that
side's summation order. Where the two roundings of :math:`z` fall on opposite sides of 0, each
engine takes the derivative of its own side, and the layer's :math:`\delta = f'(z) \odot g`
differs there by the jump :math:`J = |f'(0^+) - f'(0^-)|` times the upstream gradient
:math:`g`, although both codes are right. The comparison is teacher-forced (both sides see the
same :math:`x`, :math:`W`, :math:`b` and :math:`g`), so those elements are known exactly: they
are where the activation's derivative at numpy_nn's :math:`z` and at Keras's
(``keras.ops.matmul`` on the same inputs, the operation
``keras/src/layers/core/dense.py::Dense.call`` runs) differ: a different branch (numpy_nn's
SELU and ELU branch on the output, like TensorFlow's kernels, so the branch changes where the
output's sign does). With :math:`\Delta f'` that difference, their contribution bounds the
parameter gradients' extra difference,

.. math::
    \Delta_{\partial W} \le \max_{ij} \sum_b |x_{bi}|\, |\Delta f'_{bj}|\, |g_{bj}|,
    \qquad
    \Delta_{\partial b} \le \max_j \sum_b |\Delta f'_{bj}|\, |g_{bj}|,

which :func:`allowances` returns; the comparison adds it to its tolerance (in units of the
tensor's scale). Where both sides take the same branch, :math:`\Delta f'` is the derivative's
change over one rounding of :math:`z` (a few units of roundoff, far below the tolerance), so a
fault in such a layer is still found at the tolerance of a smooth one.
"""
from __future__ import annotations

import numpy as np

#: a derivative that changes by more than this across 0 has a kink there (a smooth one changes
#: by about sqrt(eps) times its second derivative between the two probes of :func:`jump`)
KINK = 1e-2


def _derivative(activation, z):
    z = np.asarray(z)
    return np.asarray(activation.backward(z, activation.forward(z), np.ones_like(z)),
                      np.float64)


def jump(activation, dtype):
    """:math:`|f'(+h) - f'(-h)|` with :math:`h = \\sqrt{\\epsilon}` of the dtype: about
    :math:`|f'(0^+) - f'(0^-)|` for an activation with a kink at 0, nearly 0 for a smooth one."""
    h = float(np.sqrt(np.finfo(dtype).eps))
    derivative = _derivative(activation, np.array([-h, h], dtype))
    return abs(float(derivative[1] - derivative[0]))


def has_kink(layer):
    """True for a layer that fuses an activation with a jump in its derivative at 0 into a
    matrix product (its pre-activation is then computed differently on each side)."""
    activation = getattr(layer, "activation", None)
    kernel = getattr(layer, "kernel", None)
    return (activation is not None and kernel is not None
            and not activation.outputs_probabilities
            and jump(activation, kernel.value.dtype) > KINK)


def keras_pre_activation(keras, keras_layer, inputs):
    """Keras's :math:`z = xW + b` for the layer, as its ``Dense.call`` computes it."""
    z = keras.ops.matmul(inputs, keras_layer.kernel)
    if getattr(keras_layer, "bias", None) is not None:
        z = keras.ops.add(z, keras_layer.bias)
    return np.array(z)


def _derivative_difference(layer, keras_z):
    """:math:`|\\Delta f'|` per element: the activation's derivative at numpy_nn's
    pre-activation minus at Keras's (None when there is nothing to compare)."""
    z = getattr(layer, "_z", None)
    if keras_z is None or z is None or np.shape(z) != np.shape(keras_z):
        return None
    keras_z = np.asarray(keras_z, np.asarray(z).dtype)
    return np.abs(_derivative(layer.activation, z) - _derivative(layer.activation, keras_z))


def allowances(layer, grad_output, keras_z):
    """``{tensor name: absolute allowance}`` for the layer's parameter gradients: the upstream
    gradient times the difference of the activation's derivative at the two sides'
    pre-activations, summed as the gradients sum it (empty when the derivatives agree)."""
    differs = _derivative_difference(layer, keras_z)
    if differs is None or not differs.any():
        return {}
    wrong = differs * np.abs(np.asarray(grad_output, np.float64))
    found = {"kernel": float((np.abs(np.asarray(layer._inputs, np.float64)).T @ wrong).max())}
    if getattr(layer, "bias", None) is not None:
        found["bias"] = float(wrong.sum(axis=0).max())
    return found


def flipped(layer, keras_z):
    """How many elements take a different branch of the activation on the two sides (their
    derivatives differ by more than :data:`KINK`)."""
    differs = _derivative_difference(layer, keras_z)
    return 0 if differs is None else int((differs > KINK).sum())
