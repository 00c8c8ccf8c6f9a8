r"""The layers of a compiled training step: each one's forward and backward pass over arrays.

A model reaches compiled code as a typed List of :class:`StepLayer` records, one per layer
(``op`` says which kind; arrays a kind does not use are empty), and a :class:`StepBatch` of
per-batch-size buffers: ``outputs[k]`` is layer k's input and ``outputs[k + 1]`` its output
(``outputs[0]`` the batch), ``grads[k + 1]`` the gradient of the loss with respect to that
output. Every pass evaluates the reference layer's expressions (:mod:`numpy_nn.layers`) in its
order; the matrix products go to the BLAS ``np.matmul`` uses (:func:`.blas.gemm`); sums over
the batch add row after row, as NumPy's do:

* Dense: :math:`z = xW + b`, :math:`a = f(z)`; backward :math:`\delta = f'(z) \odot g`,
  :math:`\nabla W = x^\top \delta`, :math:`\nabla b = \sum_i \delta_i`,
  :math:`\partial L/\partial x = \delta W^\top`;
* Activation, LeakyReLU, ELU, ReLU layers: :math:`a = f(x)` (:mod:`.activation_table`);
* PReLU: :math:`\max(0, x) - \alpha \max(0, -x)`; backward :math:`\nabla\alpha = \sum_i g
  \min(x, 0)`, :math:`\partial L/\partial x = g` where :math:`x > 0`, :math:`\alpha g` where
  :math:`x < 0`, 0 at 0;
* BatchNormalization with the batch's statistics (:mod:`.normalization`'s kernels) or, in
  inference mode and when frozen, the moving ones: :math:`y = x\,\text{inv} + (\beta -
  m\,\text{inv})`, :math:`\text{inv} = \gamma/\sqrt{v + \epsilon}`, backward
  :math:`g\,\text{inv}`;
* Dropout: :math:`y = m \odot x \cdot s` (``s`` = :math:`1/(1-p)` rounded once); AlphaDropout:
  :math:`y = a(m \odot x + \alpha'(1 - m)) + b`, backward :math:`g\,(a\,m)`. The keep mask
  :math:`m = [u \ge p]` comes from uniform draws :math:`u` made before the call by the layer's
  own generator, so the masks are the reference's.
"""
from __future__ import annotations

from typing import NamedTuple

import numpy as np

from numpy_nn.kernels.activation_table import activate, derivative
from numpy_nn.kernels.blas import gemm
from numpy_nn.kernels.codes import (
    ACTIVATION,
    BATCH_NORMALIZATION,
    DENSE,
    DROPOUT,
    FORWARD_PRODUCT,
    INPUT_GRADIENT_PRODUCT,
    KERNEL_GRADIENT_PRODUCT,
    PRELU,
)
from numpy_nn.kernels.jit import helper, nan_max, nan_min
from numpy_nn.kernels.normalization import batch_norm_backward_kernel, batch_norm_forward_kernel
from numpy_nn.kernels.reductions import pairwise_sum


class StepLayer(NamedTuple):
    """One layer's settings and arrays (scalars in the weights' dtype; empty arrays where the
    kind has no such array)."""

    op: int                       #: DENSE, ACTIVATION, PRELU, BATCH_NORMALIZATION, ...
    activation: int               #: :mod:`.activation_table` kind (Dense and activation layers)
    trainable: bool               #: its weights get gradients
    sgd_in_product: bool          #: plain SGD may update the kernel in its gradient's product
    batch_statistics: bool        #: BatchNormalization normalises with the batch's statistics
    p: object                     #: the activation's slope, alpha or lambda alpha
    scale: object                 #: SELU's lambda
    epsilon: object               #: BatchNormalization's epsilon
    momentum: object              #: BatchNormalization's momentum
    complement: object            #: 1 - momentum, rounded once
    rate: object                  #: dropout rate (float32: it is compared with float32 draws)
    multiplier: object            #: Dropout's 1/(1-p), AlphaDropout's a
    alpha_p: object               #: AlphaDropout's alpha'
    shift: object                 #: AlphaDropout's b
    libraries: np.ndarray         #: BLAS library of each product (:func:`.blas.gemm`)
    kernel: np.ndarray
    bias: np.ndarray
    gamma: np.ndarray             #: ones when ``scale=False``
    beta: np.ndarray              #: zeros when ``center=False``
    moving_mean: np.ndarray
    moving_variance: np.ndarray
    alpha: np.ndarray             #: PReLU's slopes
    grad_kernel: np.ndarray
    grad_bias: np.ndarray
    grad_gamma: np.ndarray        #: written only when the layer has gamma and is trainable
    grad_beta: np.ndarray
    grad_alpha: np.ndarray
    mean: np.ndarray              #: BatchNormalization: this batch's mean ...
    inv_std: np.ndarray           #: ... and 1/sqrt(variance + epsilon)
    scratch: np.ndarray           #: (3, features) BatchNormalization's working rows


class StepBatch(NamedTuple):
    """Buffers of one batch size, typed Lists indexed by layer (see the module docstring)."""

    outputs: object               #: K + 1 arrays (n, features)
    pre_activations: object       #: Dense's z (the output itself for a linear Dense)
    grads: object                 #: K + 1 arrays; grads[0] is empty (no input grad)
    uniforms: object              #: dropout's U[0, 1) draws, float32
    keeps: object                 #: dropout's keep mask as 0/1 in the weights' dtype
    stack: np.ndarray             #: :func:`.reductions.new_stack` scratch


@helper
def column_sums(g, out, stack):
    """``out[j] = sum_i g[i, j]`` in NumPy's order for ``sum(axis=0)``: row after row, except
    for a single column, which NumPy sums as the contiguous run it is (pairwise)."""
    rows, cols = g.shape
    if cols == 1:
        out[0] = pairwise_sum(g.reshape(rows), 0, rows, stack)
        return
    for j in range(cols):
        out[j] = g[0, j]
    for i in range(1, rows):
        for j in range(cols):
            out[j] += g[i, j]


# --------------------------------------------------------------------------- forward
@helper
def dense_forward(layer, x, z, out, stack):
    one, zero = z.dtype.type(1), z.dtype.type(0)
    gemm(x, layer.kernel, z, False, False, one, zero, layer.libraries[FORWARD_PRODUCT])
    activate(layer.activation, z, layer.bias, layer.p, layer.scale, out, stack)


@helper
def prelu_forward(alpha, x, out):
    """``max(x, 0) - alpha * max(-x, 0)``."""
    rows, cols = x.shape
    zero = x.dtype.type(0)
    for i in range(rows):
        for j in range(cols):
            v = x[i, j]
            out[i, j] = nan_max(v, zero) - alpha[j] * nan_max(-v, zero)


@helper
def batch_norm_inference(layer, x, out):
    """The moving statistics in place of the batch's: ``x * inv + (beta - m * inv)``."""
    rows, cols = x.shape
    one = x.dtype.type(1)
    for j in range(cols):
        layer.inv_std[j] = one / np.sqrt(layer.moving_variance[j] + layer.epsilon)
        layer.mean[j] = layer.moving_mean[j]
    for i in range(rows):
        for j in range(cols):
            inv = layer.inv_std[j] * layer.gamma[j]
            out[i, j] = x[i, j] * inv + (layer.beta[j] - layer.mean[j] * inv)


@helper
def dropout_forward(layer, x, uniform, keep, out):
    """Keep where ``uniform >= rate``: Dropout scales the kept values, AlphaDropout maps."""
    rows, cols = x.shape
    zero, one = x.dtype.type(0), x.dtype.type(1)
    for i in range(rows):
        for j in range(cols):
            kept = uniform[i, j] >= layer.rate
            keep[i, j] = one if kept else zero
            if layer.op == DROPOUT:
                out[i, j] = x[i, j] * layer.multiplier if kept else zero
            else:
                out[i, j] = layer.multiplier * (
                    x[i, j] * keep[i, j] + layer.alpha_p * (one - keep[i, j])) + layer.shift


@helper
def layer_forward(k, layer, batch, training):
    x, out = batch.outputs[k], batch.outputs[k + 1]
    if layer.op == DENSE:
        dense_forward(layer, x, batch.pre_activations[k], out, batch.stack)
    elif layer.op == ACTIVATION:
        out[:, :] = x
        activate(layer.activation, out, layer.bias, layer.p, layer.scale, out, batch.stack)
    elif layer.op == PRELU:
        prelu_forward(layer.alpha, x, out)
    elif layer.op == BATCH_NORMALIZATION:
        if training and layer.batch_statistics:
            batch_norm_forward_kernel(x, layer.gamma, layer.beta, layer.epsilon, layer.momentum,
                                      layer.complement, layer.moving_mean,
                                      layer.moving_variance, out, layer.mean, layer.inv_std,
                                      layer.scratch)
        else:
            batch_norm_inference(layer, x, out)
    elif training and layer.rate > 0:
        dropout_forward(layer, x, batch.uniforms[k], batch.keeps[k], out)
    else:
        out[:, :] = x


@helper
def forward(layers, batch, training):
    """Every layer's forward pass, from ``outputs[0]`` to ``outputs[K]``."""
    for k in range(len(layers)):
        layer_forward(k, layers[k], batch, training)


# --------------------------------------------------------------------------- backward
@helper
def dense_backward(layer, x, z, a, g, grad_input, from_logits, stack, sgd_rate):
    r"""``g`` becomes delta in place; then dL/dx, if asked, and the weight gradients.

    With ``sgd_rate`` nonzero and a kernel marked ``sgd_in_product``, plain SGD's update
    :math:`W \leftarrow W - \eta\, x^\top\delta` is made by the product itself (BLAS's
    :math:`C \leftarrow \alpha AB + \beta C` with :math:`\alpha = -\eta`, :math:`\beta = 1`):
    no gradient array written and read again. dL/dx is computed first, from the old W."""
    one, zero = g.dtype.type(1), g.dtype.type(0)
    if not from_logits:
        derivative(layer.activation, z, a, g, layer.p, layer.scale)
    if grad_input.size:
        gemm(g, layer.kernel, grad_input, False, True, one, zero,
             layer.libraries[INPUT_GRADIENT_PRODUCT])
    if layer.trainable:
        if sgd_rate != 0 and layer.sgd_in_product:
            gemm(x, g, layer.kernel, True, False, -sgd_rate, one,
                 layer.libraries[KERNEL_GRADIENT_PRODUCT])
        else:
            gemm(x, g, layer.grad_kernel, True, False, one, zero,
                 layer.libraries[KERNEL_GRADIENT_PRODUCT])
        if layer.bias.size:
            column_sums(g, layer.grad_bias, stack)


@helper
def prelu_backward(layer, x, g, grad_input):
    rows, cols = x.shape
    zero = x.dtype.type(0)
    if layer.trainable:
        for j in range(cols):
            layer.grad_alpha[j] = g[0, j] * nan_min(x[0, j], zero)
        for i in range(1, rows):
            for j in range(cols):
                layer.grad_alpha[j] += g[i, j] * nan_min(x[i, j], zero)
    if grad_input.size:
        for i in range(rows):
            for j in range(cols):
                v = x[i, j]
                grad_input[i, j] = g[i, j] if v > zero else (
                    g[i, j] * layer.alpha[j] if v < zero else zero)


@helper
def batch_norm_backward(layer, x, g, grad_input, training):
    """Through the batch's statistics when they were used, else the affine map's gradient;
    gamma's and beta's gradients only for a trainable layer that has them."""
    if training and layer.batch_statistics:
        if grad_input.size:
            batch_norm_backward_kernel(x, g, layer.mean, layer.inv_std, layer.gamma,
                                       layer.grad_gamma, layer.grad_beta, grad_input,
                                       layer.scratch[0])
        else:
            batch_norm_backward_kernel(x, g, layer.mean, layer.inv_std, layer.gamma,
                                       layer.grad_gamma, layer.grad_beta, None,
                                       layer.scratch[0])
        return
    rows, cols = x.shape
    if grad_input.size:
        for i in range(rows):
            for j in range(cols):
                grad_input[i, j] = g[i, j] * (layer.inv_std[j] * layer.gamma[j])


@helper
def dropout_backward(layer, keep, g, grad_input, training):
    rows, cols = g.shape
    zero = g.dtype.type(0)
    for i in range(rows):
        for j in range(cols):
            if not training or layer.rate == 0:
                grad_input[i, j] = g[i, j]
            elif layer.op == DROPOUT:
                grad_input[i, j] = g[i, j] * layer.multiplier if keep[i, j] != zero else zero
            else:
                grad_input[i, j] = g[i, j] * (layer.multiplier * keep[i, j])


@helper
def layer_backward(k, layer, batch, grad_input, from_logits, training, sgd_rate):
    x, a, g = batch.outputs[k], batch.outputs[k + 1], batch.grads[k + 1]
    if layer.op == DENSE:
        dense_backward(layer, x, batch.pre_activations[k], a, g, grad_input, from_logits,
                       batch.stack, sgd_rate)
    elif layer.op == ACTIVATION:
        if grad_input.size:
            grad_input[:, :] = g
            derivative(layer.activation, x, a, grad_input, layer.p, layer.scale)
    elif layer.op == PRELU:
        prelu_backward(layer, x, g, grad_input)
    elif layer.op == BATCH_NORMALIZATION:
        batch_norm_backward(layer, x, g, grad_input, training)
    elif grad_input.size:
        dropout_backward(layer, batch.keeps[k], g, grad_input, training)


@helper
def backward(layers, batch, lowest, from_logits, training, sgd_rate):
    """From the output down to layer ``lowest`` (the lowest with trainable weights), which
    computes no input gradient; the output layer starts from the loss's gradient with respect
    to its logits when ``from_logits``. ``sgd_rate``: 0, or plain SGD's rate for the kernels
    it updates in their own product (:func:`dense_backward`)."""
    last = len(layers) - 1
    for k in range(last, lowest - 1, -1):
        grad_input = batch.grads[k] if k > lowest else batch.grads[0]   # empty: none
        layer_backward(k, layers[k], batch, grad_input, from_logits and k == last, training,
                       sgd_rate)
