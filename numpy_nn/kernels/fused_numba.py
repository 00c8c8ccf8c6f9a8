r"""Compiled element-wise passes of the fused training step (:mod:`.fused_step`).

The NumPy fused step makes several passes over each activation array (``z += b``, then
``minimum``, ``exp``, ``subtract``, ``multiply``, ``copyto`` for an ELU); each pass here is
one loop over the array, computing the same expression per element:

* :func:`bias_activation` — :math:`z \mathrel{+}= b`, :math:`a = f(z)`;
* :func:`activation_backward` — :math:`g \leftarrow f'(z)\,g` (ELU and SELU from the output,
  as the reference does);
* :func:`softmax_cross_entropy` — per row the log-sum-exp, the label's logit, the loss
  :math:`\log\sum_j e^{z_j} - z_y` and the gradient :math:`(\operatorname{softmax}(z) - Y)/n`,
  and whether the row's largest logit is the label;
* :func:`sgd` — :math:`w \mathrel{-}= \eta\, \nabla w`;
* :func:`column_sums` — the bias gradient :math:`\nabla b_j = \sum_i \delta_{ij}`;
* :func:`train_step` — the whole step in one call: the products :math:`a_{l-1} W_l`,
  :math:`\delta_l W_l^\top` and the update :math:`W_l \mathrel{-}= \eta\, a_{l-1}^\top \delta_l`
  (BLAS with transpose flags, no copy: :func:`numpy_nn.kernels.blas.gemm`, each product
  from the library chosen for it) around the passes above.

The per-element arithmetic is the reference's, in its order and precision (no fastmath);
what may differ is the last bit of ``exp`` and ``log`` (the kernels' own vectorisable float32
exponential, :func:`numpy_nn.kernels.jit.exp`, and the C library's ``log``, against NumPy's
SIMD versions) and the order of a row's sum, so ``tests/test_fused_step.py`` holds
this path to the NumPy fused step within a few units in the last place, not bit for bit.
Activation kinds are small integers (:data:`KINDS`).

:func:`train_step` takes every array inside a ``numba.typed.List`` built once per batch size:
Numba's runtime makes a small record (a "meminfo", no array data) for each NumPy array passed
to a compiled function on every call, while a typed List is passed by reference; so a step is
one call that allocates nothing, not even those records (``NUMBA_NRT_STATS=1`` counts them).
"""
from __future__ import annotations

import numba
import numpy as np

from numpy_nn.kernels.blas import gemm
from numpy_nn.kernels.normalization import batch_norm_backward_kernel, batch_norm_forward_kernel

try:        # the kernels' float32 exponential that LLVM can vectorise (libm's expf it cannot)
    from numpy_nn.kernels.jit import exp
except ImportError:                             # pragma: no cover - kept working if it moves
    exp = np.exp

kernel = numba.njit(cache=True, error_model="numpy")

KINDS = {"linear": 0, "relu": 1, "leaky_relu": 2, "elu": 3, "selu": 4}


@kernel
def bias_activation(z, bias, kind, p, scale, a):
    """``z += bias``; ``a = f(z)`` (``p``: LeakyReLU's slope, ELU's alpha, or SELU's
    scale * alpha; ``scale``: SELU's scale)."""
    rows, cols = z.shape
    one = z.dtype.type(1)
    zero = z.dtype.type(0)
    # one loop per kind, each branch-free inside, so that LLVM vectorises it
    for i in range(rows):
        if kind == 0:
            for j in range(cols):
                v = z[i, j] + bias[j]
                z[i, j] = v
                a[i, j] = v
        elif kind == 1:
            for j in range(cols):
                v = z[i, j] + bias[j]
                z[i, j] = v
                a[i, j] = v if v > zero else zero
        elif kind == 2:
            for j in range(cols):
                v = z[i, j] + bias[j]
                z[i, j] = v
                a[i, j] = v if v > zero else v * p
        elif kind == 3:
            for j in range(cols):
                v = z[i, j] + bias[j]
                z[i, j] = v
                negative = p * (exp(min(v, zero)) - one)
                a[i, j] = v if v > zero else negative
        else:
            for j in range(cols):
                v = z[i, j] + bias[j]
                z[i, j] = v
                negative = p * (exp(min(v, zero)) - one)
                a[i, j] = scale * v if v > zero else negative


@kernel
def activation_backward(z, a, g, kind, p, scale):
    """``g <- f'(z) g`` in place (``p`` as in :func:`bias_activation`)."""
    rows, cols = z.shape
    zero = z.dtype.type(0)
    for i in range(rows):
        if kind == 1:
            for j in range(cols):
                g[i, j] = g[i, j] if z[i, j] > zero else zero
        elif kind == 2:
            for j in range(cols):
                g[i, j] = g[i, j] if z[i, j] > zero else g[i, j] * p
        elif kind == 3:
            for j in range(cols):
                g[i, j] = g[i, j] if z[i, j] > zero else g[i, j] * (a[i, j] + p)
        elif kind == 4:
            for j in range(cols):
                y = a[i, j]
                g[i, j] = g[i, j] * (y + p) if y < zero else g[i, j] * scale


@kernel
def softmax_cross_entropy(z, bias, labels, count, g, per_sample):
    """Add ``bias`` to the logits ``z``; then per row the loss and the gradient with respect
    to the logits, divided by ``count``; returns the number of rows whose largest logit (the
    first, on ties) is the label's."""
    rows, cols = z.shape
    correct = 0
    for i in range(rows):
        top = z[i, 0] + bias[0]
        best = 0
        for j in range(cols):
            v = z[i, j] + bias[j]
            z[i, j] = v
            if v > top:
                top = v
                best = j
        total = z.dtype.type(0)
        for j in range(cols):
            e = exp(z[i, j] - top)
            g[i, j] = e
            total += e
        label = labels[i]
        per_sample[i] = (top + np.log(total)) - z[i, label]
        for j in range(cols):
            g[i, j] = g[i, j] / total
        g[i, label] = g[i, label] - z.dtype.type(1)
        for j in range(cols):
            g[i, j] = g[i, j] / count
        if best == label:
            correct += 1
    return correct


@kernel
def sgd(w, grad, rate):
    """``w -= grad * rate`` over every element (any shape)."""
    flat_w = w.reshape(-1)
    flat_g = grad.reshape(-1)
    for k in range(flat_w.size):
        flat_w[k] = flat_w[k] - flat_g[k] * rate


def typed_list(arrays):
    """``arrays`` (all of one dtype, dimension and layout) as a ``numba.typed.List``."""
    return numba.typed.List(arrays)


@kernel
def column_sums(g, out):
    """``out[j] = sum_i g[i, j]``, adding row after row (the order of NumPy's ``sum`` over
    axis 0 of a C-ordered array)."""
    rows, cols = g.shape
    for j in range(cols):
        out[j] = g[0, j]
    for i in range(1, rows):
        for j in range(cols):
            out[j] += g[i, j]


@kernel
def train_step(a, z, delta, kernels, biases, grad_kernels, grad_biases, constants, labels,
               per_sample, libraries, count, rate, update, norm):
    """One step of the units ``i = 0 .. L-1``: the gradients, and with ``update`` also plain
    SGD at ``rate``; returns the number of correct predictions.

    ``a[0]`` holds the batch's inputs and ``a[i + 1]`` unit i's output :math:`f_i(z_i)` (a
    linear unit's is its ``z[i]``); ``constants[i]`` is ``(kind, p, scale, has_norm, epsilon,
    momentum, 1 - momentum)`` of unit i in the weights' dtype (the kind and the flag, small
    integers, are exact there); ``labels[0]`` and ``per_sample[0]`` are the batch's labels and
    per-sample losses, and ``libraries[0][i, j]`` the BLAS library (an index into
    :data:`numpy_nn.kernels.blas.LIBRARIES`) of unit i's product j: 0 is x_i W_i, 1 is
    delta_i W_i^T, 2 is x_i^T delta_i (each list holds one array, for the reason in the
    module docstring).
    ``norm`` holds, per unit, what a BatchNormalization before it needs (empty arrays for a
    unit without one): its output ``normed`` (the unit's input x_i), the gradient reaching
    that output, gamma, beta, the moving mean and variance, their gradients, the batch mean,
    1/sqrt(variance + eps) and scratch::

        x_i = BN(a_i) if unit i has one, else a_i
        z_i = x_i W_i + b_i,  a_{i+1} = f_i(z_i)               (forward)
        delta_{L-1} = (softmax(z_{L-1}) - Y) / n                (loss)
        delta_{i-1} = f'_{i-1} * (BN'(delta_i W_i^T))           (backward, from the top)
        grad W_i = x_i^T delta_i,  grad b_i = column sums of delta_i
        W_i <- W_i - rate grad W_i, and b_i, gamma_i, beta_i alike  (with ``update``)

    BatchNormalization runs :mod:`.normalization`'s kernels, the Numba path's own. Without
    ``update`` the gradients land in ``grad_kernels``, ``grad_biases`` and the gradients in
    ``norm`` for the optimizer's own ``apply``. With it, ``grad_kernels`` is not touched: where
    the reference updates after the whole backward pass (``optimizer.apply``), W_i is updated
    here as soon as delta_{i-1} no longer needs it, which gives the same values without
    storing grad W_i or passing over W_i again: BLAS adds -rate x_i^T delta_i into W_i as it
    computes the product. Its roundings are not the reference's (which rounds grad W_i, then
    rate grad W_i, then the difference), so a weight may differ from the reference's in its
    last bits.
    """
    (normed, norm_grad, gamma, beta, moving_mean, moving_variance, grad_gamma, grad_beta,
     mean, inv_std, scratch) = norm
    last = len(kernels) - 1
    library = libraries[0]
    one, zero = kernels[0].dtype.type(1), kernels[0].dtype.type(0)
    for i in range(last + 1):
        c = constants[i]
        inputs = a[i]
        if c[3] != zero:
            batch_norm_forward_kernel(a[i], gamma[i], beta[i], c[4], c[5], c[6], moving_mean[i],
                                      moving_variance[i], normed[i], mean[i], inv_std[i],
                                      scratch[i])
            inputs = normed[i]
        gemm(inputs, kernels[i], z[i], False, False, one, zero, library[i, 0])
        if i < last:
            bias_activation(z[i], biases[i], int(c[0]), c[1], c[2], a[i + 1])
    correct = softmax_cross_entropy(z[last], biases[last], labels[0], count, delta[last],
                                    per_sample[0])
    for i in range(last, -1, -1):
        has_norm = constants[i][3] != zero
        inputs = normed[i] if has_norm else a[i]
        if has_norm:
            gemm(delta[i], kernels[i], norm_grad[i], False, True, one, zero, library[i, 1])
            coefficient = scratch[i][0]         # the variance's row, free after the forward
            if i > 0:
                batch_norm_backward_kernel(a[i], norm_grad[i], mean[i], inv_std[i], gamma[i],
                                           grad_gamma[i], grad_beta[i], delta[i - 1],
                                           coefficient)
            else:
                batch_norm_backward_kernel(a[i], norm_grad[i], mean[i], inv_std[i], gamma[i],
                                           grad_gamma[i], grad_beta[i], None, coefficient)
        elif i > 0:
            gemm(delta[i], kernels[i], delta[i - 1], False, True, one, zero, library[i, 1])
        if i > 0:
            c = constants[i - 1]
            activation_backward(z[i - 1], a[i], delta[i - 1], int(c[0]), c[1], c[2])
        column_sums(delta[i], grad_biases[i])
        if update:
            gemm(inputs, delta[i], kernels[i], True, False, -rate, one, library[i, 2])
            sgd(biases[i], grad_biases[i], rate)
            if has_norm:
                sgd(gamma[i], grad_gamma[i], rate)
                sgd(beta[i], grad_beta[i], rate)
        else:
            gemm(inputs, delta[i], grad_kernels[i], True, False, one, zero,
                 library[i, 2])
    return correct
