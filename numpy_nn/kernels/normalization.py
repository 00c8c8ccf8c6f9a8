r"""The compiled kernels behind :mod:`numpy_nn.twins.normalization`, the Numba twins of the
reference code (that module's docstring says what they compute and how they match it)."""
from __future__ import annotations

import numpy as np

from numpy_nn.kernels.jit import kernel


@kernel
def batch_norm_forward_kernel(x, gamma, beta, epsilon, momentum, complement, moving_mean,
                              moving_variance, out, mean, inv_std, scratch):
    """Normalise the rows of ``x`` (count, features); fill ``out``, ``mean``, ``inv_std``;
    update the moving statistics in place. ``scratch`` (3, features) holds the variance and the
    output's per-feature factor and shift while it works."""
    count, features = x.shape
    count_float, one = x.dtype.type(count), x.dtype.type(1)
    variance, inv, shift = scratch[0], scratch[1], scratch[2]
    variance[:] = 0
    mean[:] = 0
    for i in range(count):
        for j in range(features):
            mean[j] += x[i, j]
    for j in range(features):
        mean[j] = mean[j] / count_float
    for i in range(count):
        for j in range(features):
            deviation = x[i, j] - mean[j]
            variance[j] += deviation * deviation
    for j in range(features):
        variance[j] = variance[j] / count_float
        moving_mean[j] = moving_mean[j] * momentum + mean[j] * complement
        moving_variance[j] = moving_variance[j] * momentum + variance[j] * complement
        inv_std[j] = one / np.sqrt(variance[j] + epsilon)
        inv[j] = inv_std[j] * gamma[j]
        shift[j] = beta[j] - mean[j] * inv[j]
    for i in range(count):
        for j in range(features):
            out[i, j] = x[i, j] * inv[j] + shift[j]


@kernel
def batch_norm_backward_kernel(x, grad, mean, inv_std, gamma, gamma_grad, beta_grad, out,
                               coefficient):
    """Fill ``beta_grad`` = sum g, ``gamma_grad`` = sum g * x_hat over the rows and, unless
    ``out`` is None, ``out`` = dL/dx (``coefficient``, one value per feature, is scratch)."""
    count, features = x.shape
    count_float = x.dtype.type(count)
    gamma_grad[:] = 0
    beta_grad[:] = 0
    for i in range(count):
        for j in range(features):
            g = grad[i, j]
            x_hat = (x[i, j] - mean[j]) * inv_std[j]
            beta_grad[j] += g
            gamma_grad[j] += g * x_hat
    if out is None:
        return
    for j in range(features):
        coefficient[j] = gamma[j] * inv_std[j] / count_float
    for i in range(count):
        for j in range(features):
            x_hat = (x[i, j] - mean[j]) * inv_std[j]
            out[i, j] = coefficient[j] * (
                count_float * grad[i, j] - beta_grad[j] - x_hat * gamma_grad[j])
