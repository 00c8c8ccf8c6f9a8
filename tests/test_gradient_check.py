"""numpy_nn.utils.check_gradients: passes correct backward passes, reports wrong ones."""
import numpy as np
import pytest

import numpy_nn as keras
from numpy_nn.utils import check_gradients


class Cube(keras.layers.Layer):
    """y = x**3, with a correct backward (3 x**2 g) or a deliberately wrong one (2 x g)."""

    def __init__(self, wrong=False, **kwargs):
        super().__init__(**kwargs)
        self.wrong = wrong

    def call(self, inputs):
        self._x = inputs
        return inputs ** 3

    def backward(self, grad_output, need_input_grad=True):
        factor = 2 * self._x if self.wrong else 3 * self._x ** 2
        return factor * grad_output


class Scale(keras.layers.Layer):
    """y = x * w with a learned per-feature w; ``wrong`` forgets to sum dw over the batch
    axis correctly (uses the mean), a classic mistake."""

    def __init__(self, wrong=False, **kwargs):
        super().__init__(**kwargs)
        self.wrong = wrong

    def build(self, input_shape):
        self.w = self.add_weight("w", (input_shape[-1],), "ones")
        super().build(input_shape)

    def call(self, inputs):
        self._x = inputs
        return inputs * self.w.value

    def backward(self, grad_output, need_input_grad=True):
        reduce = np.mean if self.wrong else np.sum
        self.w.grad = reduce(grad_output * self._x, axis=0)
        return grad_output * self.w.value


def batch(shape=(4, 5), seed=1):
    return np.random.default_rng(seed).normal(size=shape)


def test_correct_custom_layer_passes():
    result = check_gradients(Cube(), batch())
    assert result.passed and result.worst_relative_error < 1e-8
    assert [row.name for row in result.rows] == ["input"]


def test_wrong_input_gradient_is_reported_not_raised():
    result = check_gradients(Cube(wrong=True), batch())
    assert not result.passed
    assert result.worst_relative_error > 0.1
    assert "WRONG" in str(result) and "FAILED" in str(result)


def test_wrong_weight_gradient_names_the_weight():
    layer = Scale(wrong=True)
    result = check_gradients(layer, batch())
    assert not result.passed
    assert result["input"].passed
    weight_row = next(row for row in result.rows if row.name.endswith("/w"))
    assert not weight_row.passed and weight_row.relative_error > 0.1
    assert check_gradients(Scale(), batch()).passed


@pytest.mark.parametrize("make_layer", [
    lambda: keras.layers.Dense(3, activation="tanh"),
    lambda: keras.layers.Dense(3, activation="selu", kernel_regularizer="l2"),
    lambda: keras.layers.Dense(4, activation="softmax"),
    lambda: keras.layers.PReLU(alpha_initializer=keras.initializers.Constant(0.2)),
    lambda: keras.layers.BatchNormalization(),
    lambda: keras.layers.ELU(),
])
def test_library_layers_pass(make_layer):
    result = check_gradients(make_layer(), batch(), training=True)
    assert result.passed, str(result)


def test_dense_rows_cover_input_and_every_weight():
    result = check_gradients(keras.layers.Dense(3, activation="relu"), batch() + 3.0)
    assert [row.name.split("/")[-1] for row in result.rows] == ["input", "kernel", "bias"]
    assert all(row.analytic.dtype == np.float64 for row in result.rows)


def test_dropout_in_training_mode_uses_one_mask_per_check():
    result = check_gradients(keras.layers.Dropout(0.5), batch(), training=True)
    assert result.passed, str(result)
    seeded = check_gradients(keras.layers.Dropout(0.5, seed=3), batch(), training=True)
    assert seeded.passed, str(seeded)


def test_original_layer_is_left_untouched():
    layer = keras.layers.Dense(3)
    layer.build((None, 5))
    before = [w.copy() for w in layer.get_weights()]
    check_gradients(layer, batch())
    assert layer.kernel.value.dtype == np.float32
    assert all(np.array_equal(a, b) for a, b in zip(before, layer.get_weights()))


def test_model_with_its_compiled_loss():
    keras.utils.set_random_seed(0)
    model = keras.models.Sequential([
        keras.layers.Dense(6, activation="elu", input_shape=[5]),
        keras.layers.BatchNormalization(),
        keras.layers.Dense(3, activation="softmax")])
    model.compile(loss="sparse_categorical_crossentropy", optimizer="sgd")
    result = check_gradients(model, batch(), np.array([0, 1, 2, 1]), training=True)
    assert result.passed, str(result)
    assert len(result.rows) == 1 + len(model.trainable_weights)


def test_model_with_a_wrong_layer_fails():
    model = keras.models.Sequential([keras.layers.Dense(4, input_shape=[5]), Cube(wrong=True),
                                     keras.layers.Dense(2)])
    result = check_gradients(model, batch(), np.zeros((4, 2)), loss="mse")
    assert not result.passed
    first_kernel = next(row for row in result.rows if row.name.endswith("kernel"))
    assert not first_kernel.passed     # the error propagates below the wrong layer


def test_table_prints_one_row_per_parameter():
    text = str(check_gradients(keras.layers.Dense(2), batch()))
    assert len(text.splitlines()) == 2 + 3 + 1
    assert "passed" in text.splitlines()[-1]


def test_bad_arguments_are_named():
    with pytest.raises(TypeError, match="layer_or_model"):
        check_gradients(object(), batch())
    model = keras.models.Sequential([keras.layers.Dense(2, input_shape=[5])])
    with pytest.raises(ValueError, match="loss="):
        check_gradients(model, batch(), np.zeros((4, 2)))
