"""Float64 central-difference checks of every analytic gradient in the engine.

Each test compares an analytic gradient (an activation's ``backward``, a layer's ``backward``
and the ``grad`` it stores, a loss's ``value_and_grad``, or the full training gradient of a
small model with penalties) with :func:`numgrad.numerical_gradient`, relative error <= 1e-6.
Inputs are drawn away from the kinks of ReLU-like functions (|x| >= 0.1), where a
central difference would straddle the non-differentiable point.
"""
import numpy as np
import pytest
from numgrad import (
    assert_gradient_close,
    check_layer,
    check_model,
    numerical_gradient,
    relative_error,
)

import numpy_nn as nn
from numpy_nn import activations, backend, losses

pytestmark = pytest.mark.usefixtures("float64")

ACTIVATION_NAMES = ["sigmoid", "tanh", "relu", "leaky_relu", "elu", "selu", "softmax", "linear"]


def away_from_kinks(rng, shape, low=0.1, high=2.5):
    """Values with |x| in [low, high] and random signs."""
    return rng.uniform(low, high, size=shape) * rng.choice([-1.0, 1.0], size=shape)


def test_helper_detects_a_wrong_gradient():
    """The checker itself must be able to fail: a gradient off by 1e-4 relative is caught."""
    x = np.linspace(-1, 1, 7)
    numerical = numerical_gradient(lambda: np.sum(np.sin(x)), x)
    assert relative_error(np.cos(x), numerical) < 1e-9
    with pytest.raises(AssertionError, match="relative error"):
        assert_gradient_close(np.cos(x) * (1 + 1e-4), numerical, "sin")


# --------------------------------------------------------------------------- activations
@pytest.mark.parametrize("name", ACTIVATION_NAMES)
def test_activation_derivative(name):
    rng = np.random.default_rng(1)
    function = activations.get(name)
    x = away_from_kinks(rng, (6, 5))
    upstream = rng.normal(size=x.shape)
    y = function(x)
    assert y.dtype == np.float64
    analytic = function.backward(x, y, upstream)
    numerical = numerical_gradient(lambda: np.sum(function(x) * upstream), x)
    assert_gradient_close(analytic, numerical, name)


@pytest.mark.parametrize("function", [activations.LeakyReLU(0.05), activations.ELU(0.5),
                                      activations.Softmax(axis=0)], ids=repr)
def test_parametrised_activation_derivative(function):
    rng = np.random.default_rng(2)
    x = away_from_kinks(rng, (4, 3))
    upstream = rng.normal(size=x.shape)
    analytic = function.backward(x, function(x), upstream)
    numerical = numerical_gradient(lambda: np.sum(function(x) * upstream), x)
    assert_gradient_close(analytic, numerical, repr(function))


# --------------------------------------------------------------------------- losses
def _softmax(z):
    e = np.exp(z - z.max(-1, keepdims=True))
    return e / e.sum(-1, keepdims=True)


def _sigmoid(z):
    return 1 / (1 + np.exp(-z))


def _loss_cases():
    rng = np.random.default_rng(3)
    n, k = 6, 4
    labels = rng.integers(0, k, size=n)
    onehot = np.eye(k)[labels]
    soft = rng.dirichlet(np.ones(k), size=n)
    binary = rng.integers(0, 2, size=(n, 3)).astype(np.float64)
    binary_column = rng.integers(0, 2, size=n).astype(np.float64)
    return [
        ("sparse_ce", losses.SparseCategoricalCrossentropy(), labels, "softmax", (n, k)),
        ("sparse_ce_label_column", losses.SparseCategoricalCrossentropy(), labels[:, None],
         "softmax", (n, k)),
        ("categorical_ce", losses.CategoricalCrossentropy(), onehot, "softmax", (n, k)),
        ("categorical_ce_soft_targets", losses.CategoricalCrossentropy(), soft, "softmax", (n, k)),
        ("binary_ce", losses.BinaryCrossentropy(), binary, "sigmoid", (n, 3)),
        ("binary_ce_one_unit", losses.BinaryCrossentropy(), binary_column, "sigmoid", (n, 1)),
    ]


LOSS_CASES = _loss_cases()


@pytest.mark.parametrize("weighted", [False, True], ids=["unweighted", "sample_weighted"])
@pytest.mark.parametrize("case", LOSS_CASES, ids=[c[0] for c in LOSS_CASES])
def test_cross_entropy_gradient_from_cached_logits(case, weighted):
    """The logits path: the output layer's pre-activation ``z`` is given, the gradient is with
    respect to ``z``."""
    name, loss, y_true, squash, shape = case
    rng = np.random.default_rng(4)
    z = rng.normal(scale=2.0, size=shape)
    weight = rng.uniform(0.2, 2.0, size=shape[0]) if weighted else None
    to_probabilities = _softmax if squash == "softmax" else _sigmoid
    value, grad, wrt_logits = loss.value_and_grad(y_true, to_probabilities(z), z, weight)
    assert wrt_logits, f"{name}: cached logits were not used"
    numerical = numerical_gradient(
        lambda: loss.value_and_grad(y_true, to_probabilities(z), z, weight)[0], z)
    assert_gradient_close(grad, numerical, name)


@pytest.mark.parametrize("case", LOSS_CASES, ids=[c[0] for c in LOSS_CASES])
def test_cross_entropy_gradient_with_from_logits_true(case):
    name, _, y_true, _, shape = case
    loss = type(case[1])(from_logits=True)
    z = np.random.default_rng(5).normal(scale=2.0, size=shape)
    value, grad, wrt_logits = loss.value_and_grad(y_true, z)
    numerical = numerical_gradient(lambda: loss.value_and_grad(y_true, z)[0], z)
    assert_gradient_close(grad, numerical, name)


@pytest.mark.parametrize("weighted", [False, True], ids=["unweighted", "sample_weighted"])
@pytest.mark.parametrize("case", LOSS_CASES, ids=[c[0] for c in LOSS_CASES])
def test_cross_entropy_gradient_on_clipped_probability_path(case, weighted):
    """Plain probabilities (no logits): the gradient is wrt ``y_pred``. Probabilities are kept
    inside [0.02, 0.98] so the 1e-7 clipping is inactive and the function is smooth; rows are
    deliberately not normalised (the categorical paths renormalise, and that must be in the
    gradient too)."""
    name, loss, y_true, _, shape = case
    rng = np.random.default_rng(6)
    p = rng.uniform(0.02, 0.98, size=shape)
    weight = rng.uniform(0.2, 2.0, size=shape[0]) if weighted else None
    value, grad, wrt_logits = loss.value_and_grad(y_true, p, None, weight)
    assert not wrt_logits
    numerical = numerical_gradient(lambda: loss.value_and_grad(y_true, p, None, weight)[0], p)
    assert_gradient_close(grad, numerical, name)


@pytest.mark.parametrize("shape", [(5, 3), (5, 1), (5,)])
def test_mean_squared_error_gradient(shape):
    rng = np.random.default_rng(7)
    y_true = rng.normal(size=shape)
    y_pred = rng.normal(size=shape)
    weight = rng.uniform(0.5, 1.5, size=shape[0])
    loss = losses.get("mse")
    value, grad, wrt_logits = loss.value_and_grad(y_true, y_pred, None, weight)
    assert not wrt_logits
    numerical = numerical_gradient(lambda: loss.value_and_grad(y_true, y_pred, None, weight)[0],
                                   y_pred)
    assert_gradient_close(grad, numerical, f"mse {shape}")


def test_clipped_path_has_zero_gradient_where_clipped_and_keras_values():
    """Where ``p`` is outside [eps, 1-eps] Keras's clip passes no gradient; the loss saturates
    at -log(eps) for a predicted 0 (16.118) — the logits path, in contrast, is never clipped
    (spec §4: logits [30, 0, 0] with true class 1 give exactly 30)."""
    loss = losses.SparseCategoricalCrossentropy()
    p = np.array([[1.0, 0.0, 0.0], [0.2, 0.5, 0.3]])
    value, grad, _ = loss.value_and_grad(np.array([1, 1]), p)
    assert np.all(grad[0] == 0)
    assert np.all(grad[1] != 0)
    per_sample = loss.per_sample(np.array([1, 1]), p)
    np.testing.assert_allclose(per_sample[0], -np.log(1e-7) + np.log(1 - 1e-7 + 2e-7), rtol=1e-12)
    z = np.array([[30.0, 0.0, 0.0]])
    np.testing.assert_allclose(loss.value_and_grad(np.array([1]), _softmax(z), z)[0], 30.0,
                               rtol=1e-12)


# --------------------------------------------------------------------------- layers
@pytest.mark.parametrize("use_bias", [True, False], ids=["bias", "no_bias"])
@pytest.mark.parametrize("activation", ACTIVATION_NAMES)
def test_dense_gradients(activation, use_bias):
    rng = np.random.default_rng(8)
    layer = nn.layers.Dense(4, activation=activation, use_bias=use_bias)
    layer.build((None, 3))
    if use_bias:
        layer.bias.assign(rng.normal(scale=0.3, size=4))
    x = rng.normal(size=(5, 3))
    errors = check_layer(layer, x)
    assert set(errors) == {"input", "kernel"} | ({"bias"} if use_bias else set())


def test_flatten_gradient():
    check_layer(nn.layers.Flatten(), np.random.default_rng(9).normal(size=(4, 3, 2)))


@pytest.mark.parametrize("activation", ACTIVATION_NAMES)
def test_activation_layer_gradient(activation):
    x = away_from_kinks(np.random.default_rng(10), (4, 5))
    check_layer(nn.layers.Activation(activation), x)


@pytest.mark.parametrize("layer_factory", [
    lambda: nn.layers.LeakyReLU(), lambda: nn.layers.LeakyReLU(alpha=0.2),
    lambda: nn.layers.ELU(), lambda: nn.layers.ELU(alpha=0.7), lambda: nn.layers.ReLU(),
    lambda: nn.layers.Softmax()],
    ids=["LeakyReLU", "LeakyReLU(alpha=0.2)", "ELU", "ELU(0.7)", "ReLU", "Softmax"])
def test_activation_layers_gradient(layer_factory):
    x = away_from_kinks(np.random.default_rng(11), (4, 5))
    check_layer(layer_factory(), x)


@pytest.mark.parametrize("input_shape, shared_axes, alpha_shape", [
    ((5,), None, (5,)),
    ((3, 4), None, (3, 4)),
    ((3, 4), [1], (1, 4)),
    ((3, 4), [1, 2], (1, 1)),
])
def test_prelu_input_and_alpha_gradients(input_shape, shared_axes, alpha_shape):
    rng = np.random.default_rng(12)
    layer = nn.layers.PReLU(shared_axes=shared_axes)
    layer.build((None,) + input_shape)
    assert layer.alpha.shape == alpha_shape
    assert np.all(layer.alpha.value == 0), "alpha_initializer defaults to zeros"
    layer.alpha.assign(rng.uniform(0.05, 0.5, size=alpha_shape))
    errors = check_layer(layer, away_from_kinks(rng, (6,) + input_shape))
    assert set(errors) == {"input", "alpha"}


@pytest.mark.parametrize("center, scale", [(True, True), (False, True), (True, False)])
@pytest.mark.parametrize("input_shape", [(5, 3), (2, 3), (4, 3, 2)], ids=["batch5", "batch2",
                                                                         "rank3"])
def test_batch_normalization_training_mode_gradients(input_shape, center, scale):
    """Training mode: the gradient flows through the batch mean and (biased) variance."""
    rng = np.random.default_rng(13)
    layer = nn.layers.BatchNormalization(center=center, scale=scale)
    layer.build((None,) + input_shape[1:])
    if scale:
        layer.gamma.assign(rng.uniform(0.5, 1.5, size=layer.gamma.shape))
    if center:
        layer.beta.assign(rng.normal(size=layer.beta.shape))
    x = rng.normal(loc=1.0, scale=2.0, size=input_shape)
    errors = check_layer(layer, x, training=True)
    expected = {"input"} | ({"gamma"} if scale else set()) | ({"beta"} if center else set())
    assert set(errors) == expected


def test_batch_normalization_over_a_middle_axis():
    """``axis=1`` on (batch, 3, 2) inputs: statistics over axes 0 and 2, three features."""
    rng = np.random.default_rng(19)
    layer = nn.layers.BatchNormalization(axis=1)
    layer.build((None, 3, 2))
    assert layer.gamma.shape == (3,)
    layer.gamma.assign(rng.uniform(0.5, 1.5, size=3))
    check_layer(layer, rng.normal(size=(4, 3, 2)), training=True)


@pytest.mark.parametrize("trainable", [True, False], ids=["inference_mode", "frozen"])
@pytest.mark.parametrize("scale", [True, False], ids=["scale", "no_scale"])
def test_batch_normalization_inference_mode_gradients(trainable, scale):
    """Inference mode uses the moving statistics (constants); a frozen BN called with
    ``training=True`` must behave the same and store no gradients."""
    rng = np.random.default_rng(14)
    layer = nn.layers.BatchNormalization(trainable=trainable, scale=scale)
    layer.build((None, 3))
    layer.set_weights(([rng.uniform(0.5, 1.5, 3)] if scale else [])
                      + [rng.normal(size=3), rng.normal(size=3), rng.uniform(0.5, 2.0, 3)])
    x = rng.normal(size=(4, 3))
    errors = check_layer(layer, x, training=False if trainable else True)
    expected = {"input", "beta"} | ({"gamma"} if scale else set()) if trainable else {"input"}
    assert set(errors) == expected


@pytest.mark.parametrize("layer_class", [nn.layers.Dropout, nn.layers.AlphaDropout])
def test_dropout_gradients_with_a_fixed_mask(layer_class):
    """Reseeding before every forward pass makes each call draw the same mask."""
    layer = layer_class(0.4)
    x = np.random.default_rng(15).normal(size=(6, 5))
    backend.set_random_seed(7)
    y = layer.call(x, training=True)
    assert not np.allclose(y, x), "dropout was not active"
    check_layer(layer, x, training=True, before_call=lambda: backend.set_random_seed(7))


@pytest.mark.parametrize("layer_class", [nn.layers.Dropout, nn.layers.AlphaDropout])
def test_dropout_with_a_noise_shape_drops_whole_rows(layer_class):
    """``noise_shape=(None, 1)`` draws one keep/drop decision per sample, broadcast over units."""
    layer = layer_class(0.5, noise_shape=(None, 1))
    x = np.random.default_rng(20).normal(size=(8, 5))
    backend.set_random_seed(3)
    y = layer.call(x, training=True)
    rows_equal_to_dropped_value = [np.allclose(row, row[0]) for row in y]
    assert any(rows_equal_to_dropped_value) and not all(rows_equal_to_dropped_value)
    check_layer(layer, x, training=True, before_call=lambda: backend.set_random_seed(3))


# --------------------------------------------------------------------------- whole models
def _compiled(layers, loss, input_shape):
    model = nn.models.Sequential([nn.layers.Input(shape=input_shape)] + layers)
    model.compile(loss=loss, optimizer=nn.optimizers.SGD(learning_rate=0.0))
    rng = np.random.default_rng(16)
    model.set_weights([rng.normal(scale=0.5, size=w.shape) for w in model.get_weights()])
    return model


@pytest.mark.parametrize("regularizer", [nn.regularizers.l1(0.01), nn.regularizers.l2(0.02),
                                         nn.regularizers.l1_l2(l1=0.01, l2=0.03)],
                         ids=["l1", "l2", "l1_l2"])
def test_dense_regularizer_penalty_gradient_through_total_loss(regularizer):
    """The penalty gradient is checked through the model's total loss (data + penalty)."""
    model = _compiled([nn.layers.Dense(4, activation="elu", kernel_regularizer=regularizer,
                                       bias_regularizer=regularizer),
                       nn.layers.Dense(3, activation="softmax", kernel_regularizer=regularizer)],
                      "sparse_categorical_crossentropy", (5,))
    rng = np.random.default_rng(17)
    x, y = rng.normal(size=(6, 5)), rng.integers(0, 3, size=6)
    penalty = sum(float(p) for p in model.losses)
    assert penalty > 0.01, "the penalty must matter for this check to mean anything"
    assert len(check_model(model, x, y)) == 4


@pytest.mark.parametrize("head, loss, targets", [
    ([nn.layers.Dense(3, activation="softmax")], "sparse_categorical_crossentropy", "labels"),
    ([nn.layers.Dense(3), nn.layers.Activation("softmax")], "categorical_crossentropy", "onehot"),
    ([nn.layers.Dense(3), nn.layers.Softmax()], "sparse_categorical_crossentropy", "labels"),
    ([nn.layers.Dense(1, activation="sigmoid")], "binary_crossentropy", "binary"),
    ([nn.layers.Dense(3, activation="sigmoid")], "binary_crossentropy", "multilabel"),
    ([nn.layers.Dense(2)], "mse", "real"),
], ids=["dense_softmax", "activation_softmax", "softmax_layer", "sigmoid_1", "sigmoid_3", "mse"])
def test_model_gradient_through_each_output_head(head, loss, targets):
    """End to end: hidden ELU + PReLU layers and each output/loss combination (the logits path
    starts the backward pass at the output layer's ``backward_from_logits``)."""
    model = _compiled([nn.layers.Dense(4, activation="elu"), nn.layers.PReLU()] + head, loss, (3,))
    rng = np.random.default_rng(18)
    x = rng.normal(size=(5, 3))
    y = {"labels": rng.integers(0, 3, size=5), "onehot": np.eye(3)[rng.integers(0, 3, size=5)],
         "binary": rng.integers(0, 2, size=(5, 1)).astype(float),
         "multilabel": rng.integers(0, 2, size=(5, 3)).astype(float),
         "real": rng.normal(size=(5, 2))}[targets]
    check_model(model, x, y)
