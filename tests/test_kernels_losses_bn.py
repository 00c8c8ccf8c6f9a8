r"""The fused softmax cross-entropy and BatchNormalization twins against their references.

Cross-entropy: the per-row softmax and log-sum-exp use the kernels' ``exp`` (a few ulp from
NumPy's) and sum in order, and the batch mean of the loss is accumulated in float64 (NumPy
sums float32 pairwise). Gradients are compared to 8 ulp of their scale ``1/N`` (times the
largest sample weight). Loss values are compared to 8 ulp relative plus 8 ulp of the operands
each per-sample loss is computed from: :math:`\ell_i = (m_i + \log s_i) - z_{i,y}` with
:math:`s_i = \sum_j e^{z_{ij} - m_i} \ge 1` summed in a different order on each path, so the
paths differ by a few ulp of :math:`|m_i|`, :math:`\log s_i` and :math:`|z_{i,y}|`, not of
:math:`\ell_i`, which is tiny wherever the target's logit dominates (e.g. 0.046 from
:math:`z = (0, -5, \dots, -5)`, where the float64 paths differ by 6e-16).

BatchNormalization: the batch sums run row after row on both paths (NumPy reduces the outer
axis of a C-ordered array that way too), so statistics, outputs, moving averages and the
gamma/beta gradients agree bit for bit; dL/dx subtracts three terms of similar size in a
slightly different grouping, so it is compared to 16 ulp of the largest of them.
"""
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from kernel_twins import SETTINGS, on_both_paths

from numpy_nn import backend, losses
from numpy_nn.layers import BatchNormalization


def _logits(data, dtype, rows, classes):
    width = 32 if dtype == np.float32 else 64
    z = data.draw(hnp.arrays(dtype, (rows, classes), elements=st.floats(-40, 40, width=width)))
    return z + dtype(data.draw(st.sampled_from([0.0, 1e3, -1e3])))


@SETTINGS
@given(dtype=st.sampled_from([np.float32, np.float64]), rows=st.integers(1, 64),
       classes=st.integers(2, 12), weighted=st.booleans(), sparse=st.booleans(),
       labels_as_column=st.booleans(), data=st.data())
def test_softmax_cross_entropy_twin(dtype, rows, classes, weighted, sparse, labels_as_column,
                                    data):
    z = _logits(data, dtype, rows, classes)
    labels = data.draw(hnp.arrays(np.int64, rows, elements=st.integers(0, classes - 1)))
    if sparse:
        loss = losses.SparseCategoricalCrossentropy()
        y_true = labels[:, None] if labels_as_column else labels.astype(np.uint8)
    else:
        loss = losses.CategoricalCrossentropy()
        y_true = np.eye(classes, dtype=dtype)[labels]
    weights = data.draw(hnp.arrays(dtype, rows, elements=st.floats(0, 3, width=32))) \
        if weighted else None
    probabilities = np.zeros_like(z)    # only the cached logits are used on this path
    (v_ref, g_ref, used_ref), (v_twin, g_twin, used_twin) = on_both_paths(
        loss.value_and_grad, y_true, probabilities, z, weights)
    assert used_ref is used_twin is True
    assert g_twin.dtype == g_ref.dtype == dtype and np.asarray(v_twin).dtype == dtype
    eps = np.finfo(dtype).eps
    largest_weight = 1.0 if weights is None else max(1.0, float(weights.max()))
    np.testing.assert_allclose(g_twin, g_ref, rtol=0, atol=8 * eps * largest_weight / rows)
    # the operands of l_i = (m_i + log s_i) - z_iy: |m_i|, |z_iy| <= max|z|, log s_i <= log K
    operand_scale = (float(np.abs(z).max()) + np.log(classes)) * largest_weight
    np.testing.assert_allclose(v_twin, v_ref, rtol=8 * eps, atol=8 * eps * operand_scale)


def test_cross_entropy_without_logits_uses_the_reference():
    """Plain probabilities take Keras's clipped path, which has no kernel."""
    p = np.full((4, 3), 1 / 3, np.float32)
    loss = losses.SparseCategoricalCrossentropy()
    (v_ref, g_ref, _), (v_twin, g_twin, used) = on_both_paths(
        loss.value_and_grad, np.array([0, 1, 2, 0]), p, None, None)
    assert used is False
    np.testing.assert_array_equal(g_twin, g_ref)
    assert v_twin == v_ref


def test_sparse_kernel_rejects_a_label_outside_the_classes():
    backend.set_kernel_path("numba")
    with pytest.raises(ValueError, match="outside"):
        losses.SparseCategoricalCrossentropy().value_and_grad(
            np.array([0, 3]), np.zeros((2, 3), np.float32), np.zeros((2, 3), np.float32))


def _batch_norm_train_step(x, grad, gamma, beta):
    """Forward in training mode and backward of a fresh layer, on both paths."""
    def train_step(inputs):
        layer = BatchNormalization(momentum=0.9, dtype=x.dtype.name)
        layer.build((None,) + x.shape[1:])
        layer.gamma.assign(gamma)
        layer.beta.assign(beta)
        outputs = layer(inputs, training=True)
        dx = layer.backward(grad)
        return {"outputs": outputs, "dx": dx, "gamma.grad": layer.gamma.grad,
                "beta.grad": layer.beta.grad, "moving_mean": layer.moving_mean.numpy(),
                "moving_variance": layer.moving_variance.numpy(), "mean": layer._cache.mean,
                "inv_std": layer._cache.inv_std}
    return on_both_paths(train_step, x)


def _assert_dx_close(ref, twin, grad, gamma):
    """dx = gamma inv_std / n (n g - sum g - x_hat sum g x_hat): 16 ulp of its largest term."""
    eps = np.finfo(grad.dtype).eps
    features = gamma.size
    n = grad.size // features
    term_size = np.abs(gamma) * ref["inv_std"].reshape(-1) / n * (
        n * np.abs(grad).reshape(-1, features).max(axis=0)
        + np.abs(ref["beta.grad"]) + np.abs(ref["gamma.grad"]) * np.sqrt(n))
    np.testing.assert_allclose(twin["dx"], ref["dx"], rtol=0,
                               atol=16 * eps * term_size.max() + 1e-300)


def _draw_batch(data, dtype, shape):
    width = 32 if dtype == np.float32 else 64
    features = shape[-1]
    offset = data.draw(st.sampled_from([0.0, 100.0, -1e4]))
    x = data.draw(hnp.arrays(dtype, shape, elements=st.floats(-5, 5, width=width))) + offset
    grad = data.draw(hnp.arrays(dtype, shape, elements=st.floats(-1, 1, width=width)))
    gamma = data.draw(hnp.arrays(dtype, features, elements=st.floats(-2, 2, width=width)))
    beta = data.draw(hnp.arrays(dtype, features, elements=st.floats(-2, 2, width=width)))
    return x, grad, gamma, beta


@SETTINGS
@given(dtype=st.sampled_from([np.float32, np.float64]), rows=st.integers(1, 48),
       features=st.integers(2, 40), rank3=st.booleans(), data=st.data())
def test_batch_normalization_twin(dtype, rows, features, rank3, data):
    shape = (rows, 3, features) if rank3 else (rows, features)
    x, grad, gamma, beta = _draw_batch(data, dtype, shape)
    ref, twin = _batch_norm_train_step(x, grad, gamma, beta)
    for name in ref:
        assert ref[name].shape == twin[name].shape and ref[name].dtype == twin[name].dtype
        if name != "dx":
            np.testing.assert_array_equal(twin[name], ref[name], err_msg=name)
    _assert_dx_close(ref, twin, grad, gamma)


@SETTINGS
@given(dtype=st.sampled_from([np.float32, np.float64]), rows=st.integers(1, 200),
       data=st.data())
def test_batch_normalization_twin_single_feature(dtype, rows, data):
    """With one feature NumPy sums the (contiguous) column pairwise while the kernel still
    goes row by row, so the statistics agree to the summation error bound instead:
    the batch mean within n ulp of max|x| (the worst case of a sequential sum), and the
    outputs within what that difference can cause."""
    x, grad, gamma, beta = _draw_batch(data, dtype, (rows, 1))
    ref, twin = _batch_norm_train_step(x, grad, gamma, beta)
    eps = np.finfo(dtype).eps
    np.testing.assert_allclose(twin["mean"], ref["mean"], rtol=0,
                               atol=rows * eps * np.abs(x).max())
    # the outputs move with the mean (and, through the deviations, the variance): allow
    # 4 times the mean's bound after scaling by gamma / std, plus 4 ulp of each output
    mean_bound = rows * eps * np.abs(x).max()
    scale = np.abs(gamma) * ref["inv_std"].reshape(-1)
    np.testing.assert_allclose(twin["outputs"], ref["outputs"], rtol=4 * eps,
                               atol=4 * float(scale.max()) * mean_bound + 1e-300)


def test_batch_normalization_inference_and_frozen_use_the_reference():
    x = np.random.default_rng(0).standard_normal((8, 5)).astype(np.float32)
    layer = BatchNormalization()
    layer.build((None, 5))
    ref, twin = on_both_paths(lambda v: (layer(v, training=False), layer.backward(v)), x)
    np.testing.assert_array_equal(ref[0], twin[0])
    np.testing.assert_array_equal(ref[1], twin[1])
    layer.trainable = False
    ref, twin = on_both_paths(lambda v: layer(v, training=True), x)
    np.testing.assert_array_equal(ref, twin)
