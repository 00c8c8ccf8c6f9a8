"""A loss called directly, as Keras's own tests call it (``keras/src/losses/losses_test.py``):
``sum_over_batch_size`` divides by the number of loss *elements* (every axis but the last),
not by the batch size, and a cross-entropy refuses targets and predictions of different
shapes (``test_shape_mismatch`` of BinaryCrossentropy and CategoricalCrossentropy there)."""
import numpy as np
import pytest

import numpy_nn as nn


def test_mean_squared_error_of_rank_3_averages_over_every_element():
    y_true = np.array([[[1.0], [9.0], [2.0]], [[-5.0], [-2.0], [6.0]]])      # (2, 3, 1)
    y_pred = np.array([[[4.0], [8.0], [12.0]], [[8.0], [1.0], [3.0]]])
    expected = np.mean((y_true - y_pred) ** 2)          # 6 loss elements, not 2 samples
    assert nn.losses.MeanSquaredError()(y_true, y_pred) == pytest.approx(expected)
    weights = np.array([1.0, 3.0])                       # one per sample, broadcast
    per_element = ((y_true - y_pred) ** 2)[..., 0] * weights[:, None]
    assert nn.losses.MeanSquaredError()(y_true, y_pred, sample_weight=weights) == \
        pytest.approx(per_element.sum() / 6)


def test_sparse_cross_entropy_over_a_grid_of_labels():
    rng = np.random.default_rng(0)
    logits = rng.normal(size=(4, 4, 3))
    labels = rng.integers(0, 3, size=(4, 4))
    shifted = logits - logits.max(axis=-1, keepdims=True)
    log_softmax = shifted - np.log(np.exp(shifted).sum(axis=-1, keepdims=True))
    per_element = -np.take_along_axis(log_softmax, labels[..., None], axis=-1)[..., 0]
    loss = nn.losses.SparseCategoricalCrossentropy(from_logits=True)
    assert loss(labels, logits) == pytest.approx(per_element.mean())     # over 16, not 4


@pytest.mark.parametrize("loss", [nn.losses.BinaryCrossentropy(),
                                  nn.losses.CategoricalCrossentropy()])
def test_cross_entropies_refuse_mismatched_shapes(loss):
    y_true = np.array([[0], [1], [2]])
    y_pred = np.array([[0.9, 0.05, 0.05], [0.5, 0.89, 0.6], [0.05, 0.01, 0.94]])
    with pytest.raises(ValueError, match=r"targets of shape \(3, 1\).*predictions of shape "
                                         r"\(3, 3\)"):
        loss(y_true, y_pred)


def test_a_training_step_is_unchanged_for_the_usual_shapes():
    """2-D predictions: the per-sample losses are the loss elements, so nothing moves."""
    y_true, y_pred = np.array([0.0, 1.0, 1.0]), np.array([[0.2], [0.7], [0.4]])
    elementwise = -(y_true * np.log(y_pred[:, 0]) + (1 - y_true) * np.log(1 - y_pred[:, 0]))
    assert nn.losses.BinaryCrossentropy()(y_true, y_pred) == pytest.approx(elementwise.mean())
