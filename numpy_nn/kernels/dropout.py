r"""Numba twins of applying a dropout / alpha-dropout mask.

Only the *application* of the mask is compiled. The mask itself is drawn by the layer
(:meth:`~numpy_nn.layers.regularization._RandomMaskLayer.draw_keep_mask`) from NumPy's
generator on both paths, so a seed gives the same dropped units whichever path runs, and
the masked values agree bit for bit. Masks broadcast over ``noise_shape`` use the reference.
"""
from __future__ import annotations

import numpy as np

from numpy_nn.kernels import twin_of
from numpy_nn.kernels.jit import flat, is_float_array, kernel, scalar
from numpy_nn.layers import regularization


@kernel
def dropout_kernel(x, keep_mask, scale, out):
    zero = x.dtype.type(0)
    for i in range(x.size):
        out[i] = x[i] * scale if keep_mask[i] else zero


@kernel
def alpha_dropout_kernel(x, keep, a, alpha_p, b, out):
    one = x.dtype.type(1)
    for i in range(x.size):
        out[i] = a * (x[i] * keep[i] + alpha_p * (one - keep[i])) + b


@kernel
def alpha_dropout_backward_kernel(grad, keep, a, out):
    for i in range(grad.size):
        out[i] = grad[i] * (a * keep[i])


def _same_shape(x, mask):
    return isinstance(x, np.ndarray) and isinstance(mask, np.ndarray) and x.shape == mask.shape \
        and is_float_array(x)


@twin_of(regularization.apply_dropout_mask)
def apply_dropout_mask(x, keep_mask, scale):
    if not _same_shape(x, keep_mask) or keep_mask.dtype != np.bool_:
        return regularization.apply_dropout_mask.reference(x, keep_mask, scale)
    out = np.empty(x.shape, x.dtype)
    dropout_kernel(flat(x), flat(keep_mask), scalar(scale, x.dtype), out.reshape(-1))
    return out


@twin_of(regularization.apply_alpha_dropout_mask)
def apply_alpha_dropout_mask(x, keep, a, alpha_p, b):
    if not _same_shape(x, keep) or keep.dtype != x.dtype:
        return regularization.apply_alpha_dropout_mask.reference(x, keep, a, alpha_p, b)
    out = np.empty(x.shape, x.dtype)
    alpha_dropout_kernel(flat(x), flat(keep), scalar(a, x.dtype), scalar(alpha_p, x.dtype),
                         scalar(b, x.dtype), out.reshape(-1))
    return out


@twin_of(regularization.alpha_dropout_backward)
def alpha_dropout_backward(grad, keep, a):
    if not _same_shape(grad, keep) or keep.dtype != grad.dtype:
        return regularization.alpha_dropout_backward.reference(grad, keep, a)
    out = np.empty(grad.shape, grad.dtype)
    alpha_dropout_backward_kernel(flat(grad), flat(keep), scalar(a, grad.dtype), out.reshape(-1))
    return out
