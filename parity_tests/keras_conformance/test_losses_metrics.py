"""Keras 3's loss and metric tests (keras/src/losses/losses_test.py,
keras/src/metrics/accuracy_metrics_test.py, keras/src/metrics/regression_metrics_test.py) on
numpy_nn: every reduction, sample/scalar/timestep weights, logits, shape errors and configs.
``assertAlmostEqual`` in Keras's TestCase means 3 decimals; ``assertAllClose`` 1e-6 unless
stated."""
import numpy as np
import pytest

from numpy_nn import losses, metrics
from parity_tests.keras_conformance import keras_case

L = "losses/losses_test.py::"
Y_TRUE = np.array([[1, 9, 2], [-5, -2, 6]])
Y_PRED = np.array([[4, 8, 12], [8, 1, 3]], dtype="float32")


def _almost(actual, desired, decimal=3):
    np.testing.assert_almost_equal(np.asarray(actual), desired, decimal=decimal)


# ------------------------------------------------------------------------------- MSE
@keras_case(L + "MeanSquaredErrorTest::test_config")
def test_mse_config():
    loss = losses.MeanSquaredError(name="mymse")
    again = losses.get(losses.serialize(loss))
    assert type(again) is losses.MeanSquaredError and again.get_config() == loss.get_config()
    assert again.name == "mymse"


@keras_case(L + "MeanSquaredErrorTest::test_base_function_reduction")
def test_mse_function_is_per_sample():
    values = losses.mean_squared_error(np.array([4, 8, 12]), np.array([[3], [0], [1]]))
    assert np.shape(values) == (3,)


@keras_case(L + "MeanSquaredErrorTest::test_all_correct_unweighted")
def test_mse_all_correct():
    y = np.array([[4, 8, 12], [8, 1, 3]])
    _almost(losses.MeanSquaredError()(y, y), 0.0)


@pytest.mark.parametrize("kwargs, expected", [
    pytest.param({}, 49.5, marks=keras_case(L + "MeanSquaredErrorTest::test_unweighted")),
    pytest.param({"sample_weight": 2.3}, 113.85,
                 marks=keras_case(L + "MeanSquaredErrorTest::test_scalar_weighted")),
    pytest.param({"sample_weight": np.array([[1.2], [3.4]])}, 767.8 / 6,
                 marks=keras_case(L + "MeanSquaredErrorTest::test_sample_weighted")),
    pytest.param({"sample_weight": 0}, 0.0,
                 marks=keras_case(L + "MeanSquaredErrorTest::test_zero_weighted")),
])
def test_mse_weighting(kwargs, expected):
    _almost(losses.MeanSquaredError()(Y_TRUE, Y_PRED, **kwargs), expected)


@keras_case(L + "MeanSquaredErrorTest::test_timestep_weighted")
def test_mse_timestep_weighted():
    y_true = np.asarray([1, 9, 2, -5, -2, 6]).reshape(2, 3, 1)
    y_pred = np.asarray([4, 8, 12, 8, 1, 3]).reshape(2, 3, 1)
    weight = np.array([3, 6, 5, 0, 4, 2]).reshape((2, 3))
    _almost(losses.MeanSquaredError()(y_true, y_pred, sample_weight=weight), 97.833336)


@pytest.mark.parametrize("reduction, weight, expected", [
    pytest.param(None, 2.3, [84.3333, 143.3666],
                 marks=keras_case(L + "MeanSquaredErrorTest::test_no_reduction")),
    pytest.param("sum", 2.3, 227.69998,
                 marks=keras_case(L + "MeanSquaredErrorTest::test_sum_reduction")),
    pytest.param("mean_with_sample_weight", np.array([[1.2], [3.4]]),
                 (110 / 3 * 1.2 + 187 / 3 * 3.4) / (1.2 + 3.4),
                 marks=keras_case(L + "MeanSquaredErrorTest::test_mean_with_sample_weight_"
                                      "reduction")),
])
def test_mse_reductions(reduction, weight, expected):
    loss = losses.MeanSquaredError(reduction=reduction)
    _almost(loss(Y_TRUE, Y_PRED, sample_weight=weight), expected)


# ------------------------------------------------------------------------------- BCE
BCE_TRUE = np.array([1, 0, 1, 0]).reshape([2, 2])
BCE_PRED = np.array([1, 1, 1, 0], dtype="float32").reshape([2, 2])
BCE_LOGIT_TRUE = np.array([[1, 0, 1], [0, 1, 1]])
BCE_LOGITS = np.array([[10.0, -10.0, 10.0], [10.0, 10.0, -10.0]])


@keras_case(L + "BinaryCrossentropyTest::test_config")
def test_bce_config():
    """(Keras passes axis=-1, the only axis numpy_nn's cross-entropies use.)"""
    loss = losses.BinaryCrossentropy(name="bce")
    again = losses.get(losses.serialize(loss))
    assert type(again) is losses.BinaryCrossentropy and again.get_config() == loss.get_config()


@keras_case(L + "BinaryCrossentropyTest::test_all_correct_unweighted")
def test_bce_all_correct():
    y = np.array([[1, 0, 0], [0, 1, 0], [0, 0, 1]], dtype="float32")
    _almost(losses.BinaryCrossentropy()(y, y), 0.0)
    logits = np.where(y == 1, 10.0, -10.0)
    _almost(losses.BinaryCrossentropy(from_logits=True)(y, logits), 0.0)


@keras_case(L + "BinaryCrossentropyTest::test_unweighted")
def test_bce_unweighted():
    y_true = np.array([[1, 0, 0], [0, 1, 0], [0, 0, 1]], dtype="float32")
    y_pred = np.array([[0.9, 0.1, 0.2], [0.3, 0.8, 0.1], [0.1, 0.2, 0.7]], dtype="float32")
    np.testing.assert_allclose(losses.BinaryCrossentropy()(y_true, y_pred), 0.20046903,
                               rtol=1e-6, atol=1e-6)
    _almost(losses.BinaryCrossentropy()(BCE_TRUE, BCE_PRED), 3.98559)
    _almost(losses.BinaryCrossentropy(from_logits=True)(BCE_LOGIT_TRUE, BCE_LOGITS), 3.3333)


@keras_case(L + "BinaryCrossentropyTest::test_scalar_weighted")
def test_bce_scalar_weighted():
    _almost(losses.BinaryCrossentropy()(BCE_TRUE, BCE_PRED, sample_weight=2.3), 9.1668)
    _almost(losses.BinaryCrossentropy(from_logits=True)(BCE_LOGIT_TRUE, BCE_LOGITS,
                                                        sample_weight=2.3), 7.666)


@keras_case(L + "BinaryCrossentropyTest::test_sample_weighted")
def test_bce_sample_weighted():
    weight = np.array([1.2, 3.4]).reshape((2, 1))
    _almost(losses.BinaryCrossentropy()(BCE_TRUE, BCE_PRED, sample_weight=weight), 4.7827)
    _almost(losses.BinaryCrossentropy(from_logits=True)(BCE_LOGIT_TRUE, BCE_LOGITS,
                                                        sample_weight=np.array([4, 3])), 10.0)


@keras_case(L + "BinaryCrossentropyTest::test_no_reduction")
def test_bce_no_reduction():
    loss = losses.BinaryCrossentropy(from_logits=True, reduction=None)
    np.testing.assert_allclose(loss(BCE_LOGIT_TRUE, BCE_LOGITS), [0.0, 6.666], atol=1e-3)


@pytest.mark.parametrize("cls", [
    pytest.param(losses.BinaryCrossentropy,
                 marks=keras_case(L + "BinaryCrossentropyTest::test_shape_mismatch")),
    pytest.param(losses.CategoricalCrossentropy,
                 marks=keras_case(L + "CategoricalCrossentropyTest::test_shape_mismatch")),
])
def test_cross_entropy_shape_mismatch(cls):
    y_true = np.array([[0], [1], [2]])
    y_pred = np.array([[0.9, 0.05, 0.05], [0.5, 0.89, 0.6], [0.05, 0.01, 0.94]])
    with pytest.raises(ValueError, match="do not match|same shape"):
        cls()(y_true, y_pred)


# ------------------------------------------------------------------- (sparse) categorical
ONE_HOT = np.array([[1, 0, 0], [0, 1, 0], [0, 0, 1]])
LABELS = np.array([[0], [1], [2]])
PROBS = np.array([[0.9, 0.05, 0.05], [0.5, 0.89, 0.6], [0.05, 0.01, 0.94]], dtype="float32")
LOGITS = np.array([[8.0, 1.0, 1.0], [0.0, 9.0, 1.0], [2.0, 3.0, 5.0]])
C = "CategoricalCrossentropyTest::"
S = "SparseCategoricalCrossentropyTest::"


def _both(method):
    return [pytest.param(cls, y, id=cls.__name__, marks=keras_case(
        L + (C if cls is losses.CategoricalCrossentropy else S) + method))
        for cls, y in ((losses.CategoricalCrossentropy, ONE_HOT),
                       (losses.SparseCategoricalCrossentropy, LABELS))]


@pytest.mark.parametrize("cls, y", _both("test_config"))
def test_categorical_config(cls, y):
    loss = cls(name="cce")
    again = losses.get(losses.serialize(loss))
    assert type(again) is cls and again.get_config() == loss.get_config()


@pytest.mark.parametrize("cls, y", _both("test_all_correct_unweighted"))
def test_categorical_all_correct(cls, y):
    eye = np.eye(3, dtype="float32")
    _almost(cls()(y, eye), 0.0)
    _almost(cls(from_logits=True)(y, 10 * eye), 0.0)


@pytest.mark.parametrize("cls, y", _both("test_unweighted"))
def test_categorical_unweighted(cls, y):
    y = y.ravel() if cls is losses.SparseCategoricalCrossentropy else y   # Keras uses [0, 1, 2]
    _almost(cls()(y, PROBS), 0.3239)
    _almost(cls(from_logits=True)(y, LOGITS), 0.0573)


@pytest.mark.parametrize("cls, y", _both("test_scalar_weighted"))
def test_categorical_scalar_weighted(cls, y):
    _almost(cls()(y, PROBS, sample_weight=2.3), 0.7449)
    _almost(cls(from_logits=True)(y, LOGITS, sample_weight=2.3), 0.1317)


@pytest.mark.parametrize("cls, y", _both("test_sample_weighted"))
def test_categorical_sample_weighted(cls, y):
    weight = np.array([[1.2], [3.4], [5.6]])
    _almost(cls()(y, PROBS, sample_weight=weight), 1.0696)
    _almost(cls(from_logits=True)(y, LOGITS, sample_weight=weight), 0.31829)


@pytest.mark.parametrize("cls, y", _both("test_no_reduction"))
def test_categorical_no_reduction(cls, y):
    values = cls(from_logits=True, reduction=None)(y, LOGITS)
    np.testing.assert_allclose(values, (0.001822, 0.000459, 0.169846), rtol=1e-6, atol=1e-6)


# --------------------------------------------------------------------------- accuracies
A = "metrics/accuracy_metrics_test.py::"


@pytest.mark.parametrize("cls, name", [
    pytest.param(metrics.BinaryAccuracy, "binary_accuracy",
                 marks=keras_case(A + "BinaryAccuracyTest::test_config")),
    pytest.param(metrics.CategoricalAccuracy, "categorical_accuracy",
                 marks=keras_case(A + "CategoricalAccuracyTest::test_config")),
    pytest.param(metrics.SparseCategoricalAccuracy, "sparse_categorical_accuracy",
                 marks=keras_case(A + "SparseCategoricalAccuracyTest::test_config")),
    pytest.param(metrics.MeanAbsoluteError, "my_mae", marks=keras_case(
        "metrics/regression_metrics_test.py::MeanAbsoluteErrorTest::test_config")),
])
def test_metric_config(cls, name):
    metric = cls(name=name, dtype="float32")
    config = metric.get_config()
    assert config["name"] == name and config["dtype"] == "float32"
    again = cls.from_config(config)
    assert again.name == name and again.dtype == "float32" and again.result().dtype == np.float32


@keras_case(A + "BinaryAccuracyTest::test_unweighted")
def test_binary_accuracy_unweighted():
    y_pred = np.array([[0.98], [1], [0], [0.6]])
    for y_true in (np.array([[1], [1], [0], [0]]), np.array([1, 1, 0, 0])):
        metric = metrics.BinaryAccuracy(dtype="float32")
        metric.update_state(y_true, y_pred)
        np.testing.assert_allclose(metric.result(), 0.75, atol=1e-3)


@pytest.mark.parametrize("y_true, y_pred, weight, expected", [
    pytest.param([[1], [1], [0], [0]], [[0.98], [1], [0], [0.6]], [1, 0, 0, 1], 0.5,
                 marks=keras_case(A + "BinaryAccuracyTest::test_weighted")),
    pytest.param([1, 1, 0, 0], [0.98, 1, 0, 0.6], [1, 0, 0, 1], 0.5,
                 marks=keras_case(A + "BinaryAccuracyTest::test_weighted_rank_1")),
    pytest.param([[1, 1], [0, 0]], [[0.98, 1], [0, 0.6]], [[1, 0], [0, 1]], 0.5,
                 marks=keras_case(A + "BinaryAccuracyTest::test_weighted_nd_weights")),
    pytest.param([[1, 1], [0, 0]], [[0.98, 1], [0, 0.6]], [[1, 0]], 1.0,
                 marks=keras_case(A + "BinaryAccuracyTest::test_weighted_nd_broadcast_weights")),
])
def test_binary_accuracy_weighted(y_true, y_pred, weight, expected):
    metric = metrics.BinaryAccuracy(dtype="float32")
    metric.update_state(np.array(y_true), np.array(y_pred), sample_weight=np.array(weight))
    np.testing.assert_allclose(metric.result(), expected, atol=1e-3)


@keras_case(A + "BinaryAccuracyTest::test_threshold")
def test_binary_accuracy_threshold():
    y_true, y_pred = np.array([[1], [1], [0], [0]]), np.array([[0.98], [0.5], [0.1], [0.2]])
    low, high = metrics.BinaryAccuracy(threshold=0.3), metrics.BinaryAccuracy(threshold=0.9)
    low.update_state(y_true, y_pred)
    high.update_state(y_true, y_pred)
    np.testing.assert_allclose(low.result(), 1.0, rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(high.result(), 0.75, rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("weight, expected", [
    pytest.param(None, 0.5, marks=keras_case(A + "CategoricalAccuracyTest::test_unweighted")),
    pytest.param([0.7, 0.3], 0.3, marks=keras_case(A + "CategoricalAccuracyTest::test_weighted")),
])
def test_categorical_accuracy(weight, expected):
    metric = metrics.CategoricalAccuracy(dtype="float32")
    metric.update_state(np.array([[0, 0, 1], [0, 1, 0]]),
                        np.array([[0.1, 0.9, 0.8], [0.05, 0.95, 0]]),
                        sample_weight=None if weight is None else np.array(weight))
    np.testing.assert_allclose(metric.result(), expected, atol=1e-3)


@pytest.mark.parametrize("weight, expected", [
    pytest.param(None, 0.5, marks=keras_case(A + "SparseCategoricalAccuracyTest::"
                                                 "test_unweighted")),
    pytest.param([0.7, 0.3], 0.3, marks=keras_case(A + "SparseCategoricalAccuracyTest::"
                                                       "test_weighted")),
])
def test_sparse_categorical_accuracy(weight, expected):
    metric = metrics.SparseCategoricalAccuracy(dtype="float32")
    metric.update_state(np.array([[2], [1]]), np.array([[0.1, 0.6, 0.3], [0.05, 0.95, 0]]),
                        sample_weight=None if weight is None else np.array(weight))
    np.testing.assert_allclose(metric.result(), expected, atol=1e-3)


_SCA = A + "SparseCategoricalAccuracyTest::"


@pytest.mark.parametrize("y_true, y_pred", [
    pytest.param(np.array([[0], [1], [2]]),
                 np.array([[0.9, 0.05, 0.05], [0.05, 0.9, 0.05], [0.05, 0.05, 0.9]]),
                 marks=keras_case(_SCA + "test_squeeze_y_true")),
    pytest.param(np.array([0, 1], np.int64), np.array([[0.9, 0.1], [0.1, 0.9]], np.float32),
                 marks=keras_case(_SCA + "test_cast_y_pred_dtype")),
    pytest.param(np.array([[0], [0]], np.int64),
                 np.array([[[0.9, 0.1, 0.0], [0.8, 0.15, 0.05]]], np.float32),
                 marks=keras_case(_SCA + "test_reshape_matches")),
    pytest.param(np.array([[0], [1], [2]]), np.eye(3),
                 marks=keras_case(_SCA + "test_squeeze_y_true_shape")),
    pytest.param(np.array([0, 1, 2], np.int32),
                 np.array([[0.9, 0.1, 0.0], [0.0, 0.9, 0.1], [0.1, 0.0, 0.9]], np.float64),
                 marks=keras_case(_SCA + "test_cast_y_pred_to_match_y_true_dtype")),
    pytest.param(np.array([[0], [1]]), np.array([[0.9, 0.1], [0.1, 0.9]]),
                 marks=keras_case(_SCA + "test_reshape_matches_to_original_y_true_shape")),
    pytest.param(np.array([2, 1, 0], np.int32), np.eye(3, dtype=np.float32)[::-1],
                 marks=keras_case(_SCA + "test_matching_shapes_without_squeeze")),
])
def test_sparse_categorical_accuracy_shapes(y_true, y_pred):
    metric = metrics.SparseCategoricalAccuracy(dtype="float32")
    metric.update_state(y_true, y_pred)
    np.testing.assert_allclose(metric.result(), 1.0, atol=1e-4)


# --------------------------------------------------------------------------- regression
R = "metrics/regression_metrics_test.py::"
REG_TRUE = np.array([[0, 1, 0, 1, 0], [0, 0, 1, 1, 1], [1, 1, 1, 1, 0], [0, 0, 0, 0, 1]])
REG_PRED = np.array([[0, 0, 1, 1, 0], [1, 1, 1, 1, 1], [0, 1, 0, 1, 0], [1, 1, 1, 1, 1]])


@pytest.mark.parametrize("cls", [
    pytest.param(metrics.MeanSquaredError, marks=keras_case(R + "MeanSquaredErrorTest::"
                                                                "test_unweighted")),
    pytest.param(metrics.MeanAbsoluteError, marks=keras_case(R + "MeanAbsoluteErrorTest::"
                                                                 "test_unweighted")),
])
def test_regression_metric_unweighted(cls):
    metric = cls()
    metric.update_state(REG_TRUE, REG_PRED)
    np.testing.assert_allclose(metric.result(), 0.5, atol=1e-5)


@pytest.mark.parametrize("cls", [
    pytest.param(metrics.MeanSquaredError, marks=keras_case(R + "MeanSquaredErrorTest::"
                                                                "test_weighted")),
    pytest.param(metrics.MeanAbsoluteError, marks=keras_case(R + "MeanAbsoluteErrorTest::"
                                                                 "test_weighted")),
])
def test_regression_metric_weighted(cls):
    result = cls()(REG_TRUE, REG_PRED, sample_weight=np.array([1.0, 1.5, 2.0, 2.5]))
    np.testing.assert_allclose(result, 0.54285, atol=1e-5)


@keras_case(R + "MeanSquaredErrorTest::test_config")
def test_mse_metric_config():
    """(Keras's test body is a TODO; the round trip it names is checked.)"""
    metric = metrics.MeanSquaredError(name="my_mse", dtype="float64")
    assert metrics.MeanSquaredError.from_config(metric.get_config()).get_config() == \
        metric.get_config()
