"""Bad input gets a clear error: the right exception type, and a message that names the
layer or argument and says what was expected and what was given.

(The hostile-input corpus — adversarial shapes, dtypes and files — lives with the
reliability tests; these are the everyday mistakes a reader of the chapter makes.)
"""
import re

import numpy as np
import pytest

import numpy_nn as nn
from numpy_nn import layers


def chapter_model():
    model = nn.models.Sequential([
        layers.Flatten(input_shape=[28, 28]),
        layers.Dense(30, activation="relu"),
        layers.Dense(10, activation="softmax")])
    model.compile(loss="sparse_categorical_crossentropy", optimizer="sgd", metrics=["accuracy"])
    return model


def images(n=8, seed=0):
    return np.random.default_rng(seed).uniform(size=(n, 28, 28)).astype(np.float32)


def labels(n=8):
    return np.arange(n) % 10


# --------------------------------------------------------------------------- shapes
@pytest.mark.parametrize("method", ["fit", "evaluate", "predict", "call"])
def test_wrong_input_shape_names_the_layer_and_both_shapes(method):
    model = chapter_model()
    x = np.zeros((8, 784), np.float32)
    with pytest.raises(ValueError) as error:
        if method == "predict":
            model.predict(x, verbose=0)
        elif method == "call":
            model(x)
        else:
            getattr(model, method)(x, labels(), verbose=0)
    message = str(error.value)
    assert "'flatten" in message
    assert "(None, 28, 28)" in message and "(None, 784)" in message


def test_wrong_rank_for_a_dense_layer_suggests_flatten():
    with pytest.raises(ValueError, match=r"Dense 'dense\w*' expects inputs of shape "
                                         r"\(batch, features\); got \(None, 4, 5\).*Flatten"):
        nn.models.Sequential([layers.Dense(3, input_shape=(4, 5))])


def test_layer_called_with_the_wrong_shape_after_build():
    layer = layers.Dense(3)
    layer(np.zeros((2, 4), np.float32))
    with pytest.raises(ValueError, match=r"expected input of shape \(None, 4\), got \(None, 5\)"):
        layer(np.zeros((2, 5), np.float32))


# --------------------------------------------------------------------------- targets
@pytest.mark.parametrize("bad_label", [10, -1])
def test_labels_out_of_range_for_the_output_layer(bad_label):
    model = chapter_model()
    y = labels()
    y[3] = bad_label
    with pytest.raises(ValueError, match=rf"y does not fit the output layer 'dense\w*': .*"
                                         rf"label {bad_label} is outside \[0, 10\) for an output "
                                         r"layer with 10 units"):
        model.fit(images(), y, verbose=0)
    with pytest.raises(ValueError, match=r"validation_data\[1\] does not fit the output layer"):
        model.fit(images(), labels(), validation_data=(images(), y), verbose=0)


def test_non_integer_class_labels():
    with pytest.raises(ValueError, match="whole numbers.*1.5"):
        chapter_model().fit(images(), np.full(8, 1.5), verbose=0)


def test_one_hot_targets_with_the_wrong_width():
    model = chapter_model()
    model.compile(loss="categorical_crossentropy", optimizer="sgd")
    with pytest.raises(ValueError, match=r"\(8, 9\).*\(8, 10\)"):
        model.fit(images(), np.eye(9)[np.arange(8)], verbose=0)


def test_mismatched_x_and_y_lengths():
    with pytest.raises(ValueError, match="x has 8 samples but y has 7"):
        chapter_model().fit(images(), labels(7), verbose=0)
    with pytest.raises(ValueError, match="x has 8 samples but validation_data\\[1\\] has 5"):
        chapter_model().fit(images(), labels(), validation_data=(images(), labels(5)), verbose=0)


@pytest.mark.parametrize("x", [np.empty((0, 28, 28), np.float32), []], ids=["0_samples", "list"])
def test_empty_dataset(x):
    with pytest.raises(ValueError, match="empty"):
        chapter_model().fit(x, np.empty((0,), np.int64), verbose=0)


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_non_finite_inputs(bad):
    x = images()
    x[2, 5, 7] = bad
    with pytest.raises(ValueError, match=r"x contains NaN or infinity \(first at index "
                                         r"\(2, 5, 7\)\)"):
        chapter_model().fit(x, labels(), verbose=0)
    with pytest.raises(ValueError, match="NaN or infinity"):
        chapter_model().predict(x, verbose=0)


def test_non_finite_targets():
    model = nn.models.Sequential([layers.Dense(1, input_shape=(3,))])
    model.compile(loss="mse", optimizer="sgd")
    y = np.ones(4)
    y[1] = np.nan
    with pytest.raises(ValueError, match="y contains NaN or infinity"):
        model.fit(np.ones((4, 3)), y, verbose=0)


def test_non_numeric_inputs_are_a_type_error():
    with pytest.raises(TypeError, match="x must be numeric, got dtype <U"):
        chapter_model().fit(np.full((8, 28, 28), "a"), labels(), verbose=0)


# --------------------------------------------------------------------------- names
@pytest.mark.parametrize("make, kind, valid", [
    (lambda: layers.Dense(3, activation="relux"), "activation", "relu"),
    (lambda: layers.Activation("sigmoidd"), "activation", "sigmoid"),
    (lambda: layers.Dense(3, kernel_initializer="he_normall"), "initializer", "he_normal"),
    (lambda: chapter_model().compile(loss="mse", optimizer="adamm"), "optimizer", "Nadam"),
    (lambda: chapter_model().compile(loss="sparse_crossentropy", optimizer="sgd"), "loss",
     "sparse_categorical_crossentropy"),
    (lambda: layers.Dense(3, kernel_regularizer="l3"), "regularizer", "l1_l2"),
    (lambda: layers.Dense(3, kernel_constraint="max_norms"), "constraint", "max_norm"),
    (lambda: chapter_model().compile(loss="mse", optimizer="sgd", metrics=["accuracyy"]),
     "metric", "sparse_categorical_accuracy"),
], ids=["activation", "activation_layer", "initializer", "optimizer", "loss", "regularizer",
        "constraint", "metric"])
def test_unknown_names_list_the_valid_ones(make, kind, valid):
    with pytest.raises(ValueError) as error:
        make()
    message = str(error.value)
    assert message.startswith(f"Unknown {kind} "), message
    assert re.search(rf"Valid {kind} names: .*\b{valid}\b", message), message


@pytest.mark.parametrize("make, match", [
    (lambda: layers.Dense(0), "units must be a positive int, got 0"),
    (lambda: layers.Dropout(1.0), "rate must be a number in \\[0, 1\\), got 1.0"),
    (lambda: layers.BatchNormalization(momentum=1.5), "momentum must be <= 1, got 1.5"),
    (lambda: nn.optimizers.SGD(momentum=1.0), "momentum must be in \\[0, 1\\)"),
    (lambda: nn.optimizers.Adam(learning_rate=-0.1), "learning_rate must be >= 0"),
    (lambda: layers.Dense(3, unitz=4), "unknown argument"),
])
def test_bad_constructor_arguments_name_the_argument(make, match):
    with pytest.raises((ValueError, TypeError), match=match):
        make()


def test_fit_before_compile_is_a_clear_error():
    model = nn.models.Sequential([layers.Dense(1, input_shape=(3,))])
    with pytest.raises(RuntimeError, match=r"call compile\(\) before fit\(\)"):
        model.fit(np.ones((4, 3)), np.ones(4), verbose=0)


@pytest.mark.parametrize("kwargs, match", [
    (dict(batch_size=0), "batch_size must be a positive int, got 0"),
    (dict(epochs=-1), "epochs must be an int >= 0"),
    (dict(validation_split=1.0), "validation_split must be in \\[0, 1\\)"),
])
def test_bad_fit_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        chapter_model().fit(images(), labels(), verbose=0, **kwargs)


def test_set_weights_with_the_wrong_shapes():
    model = chapter_model()
    weights = model.get_weights()
    with pytest.raises(ValueError, match="expected 4 arrays, got 3"):
        model.set_weights(weights[:3])
    weights[2] = np.zeros((30, 9))
    with pytest.raises(ValueError, match=r"'dense\w*/kernel' has shape \(30, 10\), got an array "
                                         r"of shape \(30, 9\)"):
        model.set_weights(weights)


@pytest.mark.parametrize("noise_shape, message", [
    ((1,), r"noise_shape \(1,\) does not fit inputs of shape \(None, 6\)"),
    ((None, 3), r"noise_shape \(None, 3\) does not fit inputs of shape \(None, 6\)"),
    ((None, 0), r"noise_shape entries must be positive ints or None"),
])
def test_dropout_noise_shape_must_fit_the_inputs(noise_shape, message):
    """A short noise_shape would otherwise broadcast one mask over the whole batch."""
    with pytest.raises(ValueError, match=message):
        nn.models.Sequential([nn.layers.Input((6,)),
                              nn.layers.Dropout(0.5, noise_shape=noise_shape)])


def test_dropout_noise_shape_shares_the_mask_along_axes_of_size_1():
    layer = nn.layers.Dropout(0.5, noise_shape=(None, 1, 4))
    out = layer(np.ones((8, 5, 4), np.float32), training=True)
    assert np.all(out == out[:, :1, :])
    with pytest.raises(ValueError, match="asks for a batch of 3, got a batch of 8"):
        nn.layers.Dropout(0.5, noise_shape=(3, 1, 4))(np.ones((8, 5, 4), np.float32),
                                                      training=True)


@pytest.mark.parametrize("make, message", [
    (lambda: nn.layers.LeakyReLU(alpha="a"), r"LeakyReLU '.*': negative_slope must be a finite"),
    (lambda: nn.layers.ELU(alpha="a"), r"ELU '.*': alpha must be a finite number"),
    (lambda: nn.layers.BatchNormalization(momentum="x"), r"momentum must be a finite number"),
    (lambda: nn.layers.BatchNormalization(epsilon=0), r"epsilon must be > 0"),
    (lambda: nn.optimizers.Adam(beta_1=1.0), r"Adam: beta_1 must be < 1"),
    (lambda: nn.optimizers.Nadam(beta_2=1.0), r"Nadam: beta_2 must be < 1"),
    (lambda: nn.optimizers.Adamax(beta_1=1), r"Adamax: beta_1 must be < 1"),
    (lambda: nn.optimizers.RMSprop(rho=1.0), r"RMSprop: rho must be < 1"),
])
def test_constructor_arguments_are_checked_with_the_owner_named(make, message):
    """A bad hyper-parameter fails when the object is made, not with a NumPy error (or a
    division by zero: 1 - beta_1**t is 0 when beta_1 = 1) at the first step."""
    with pytest.raises(ValueError, match=message):
        make()
