r"""Numba twins of applying a dropout / alpha-dropout mask.

Only the *application* of the mask is compiled. The mask itself is drawn by the layer
(:meth:`~numpy_nn.layers.regularization._RandomMaskLayer.draw_keep_mask`) from NumPy's
generator on both paths, so a seed gives the same dropped units whichever path runs, and
the masked values agree bit for bit. Masks broadcast over ``noise_shape`` use the reference.

AlphaDropout's backward pass, :math:`a\,m \odot g`, has no twin: it is two NumPy calls on a
small array, as fast as calling a kernel at all.
"""
from __future__ import annotations

import numpy as np

from numpy_nn.dispatch import twin_of
from numpy_nn.kernels.dropout import alpha_dropout_kernel, dropout_kernel
from numpy_nn.kernels.jit import compatible
from numpy_nn.layers import regularization


@twin_of(regularization.apply_dropout_mask)
def apply_dropout_mask(x, keep_mask, scale):
    if not compatible(x) or type(keep_mask) is not np.ndarray or keep_mask.dtype != np.bool_ \
            or keep_mask.shape != x.shape:
        return regularization.apply_dropout_mask.reference(x, keep_mask, scale)
    out = np.empty(x.shape, x.dtype)
    dropout_kernel(x.ravel(), keep_mask.ravel(), x.dtype.type(scale), out.ravel())
    return out


@twin_of(regularization.apply_alpha_dropout_mask)
def apply_alpha_dropout_mask(x, keep, a, alpha_p, b):
    if not compatible(x, keep):
        return regularization.apply_alpha_dropout_mask.reference(x, keep, a, alpha_p, b)
    out = np.empty(x.shape, x.dtype)
    to_dtype = x.dtype.type
    alpha_dropout_kernel(x.ravel(), keep.ravel(), to_dtype(a), to_dtype(alpha_p), to_dtype(b),
                         out.ravel())
    return out
