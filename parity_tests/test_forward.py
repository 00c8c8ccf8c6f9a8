"""Forward passes: every layer × activation × option, on random shapes, against Keras.

Each case describes a one-layer model once, in Keras's spelling, and each library builds it from its
own classes and defaults (``parity_tests.builders``); numpy_nn's weights are then randomized (random
biases, PReLU slopes, BatchNormalization statistics — never the trivial initial values) and copied
to Keras with ``set_weights``, and the outputs of one call are compared in float32. Inputs are
N(0, 2²) with some exact zeros: wide enough to reach the saturated ends of sigmoid/softmax and the
exponential branch of ELU/SELU.

Dense kernels keep their Glorot-initialised values, so pre-activations have the spread of a real
network (std ≈ 2). A float32 sum of K products is only exact to about sqrt(K) ulp of the partial
sums, and TensorFlow's Eigen matmul adds in a different order than OpenBLAS; feeding a bounded
activation (tanh, sigmoid) pre-activations of size 20 would measure that summation order at the
scale of the activation's output (1), not the layer.
"""
import numpy as np
import pytest

from parity_tests import tolerances as tol
from parity_tests.builders import twins
from parity_tests.report import check

ACTIVATIONS = ["linear", "relu", "leaky_relu", "elu", "selu", "tanh", "sigmoid", "softmax", "gelu",
               "silu", "mish"]
SHAPE_SEEDS = [1, 2, 3]


def random_inputs(rng, shape):
    x = rng.normal(0.0, 2.0, size=shape)
    x.flat[::7] = 0.0
    return x.astype(np.float32)


def randomize_weights(model, rng):
    """Non-trivial values for every weight except Dense kernels (see the module docstring);
    variances stay positive."""
    for variable in model.weights:
        if variable.name == "kernel":
            continue
        if variable.name == "moving_variance":
            variable.assign(rng.uniform(0.2, 3.0, variable.shape))
        elif variable.name == "gamma":
            variable.assign(rng.uniform(0.5, 2.0, variable.shape))
        else:
            variable.assign(rng.normal(0.0, 0.5, variable.shape))


def compare(component, layer, input_shape, rng, training=False, frozen=False):
    """``layer`` is ``(class name, kwargs)``; ``frozen`` passes ``trainable=False`` to both."""
    name, kwargs = layer
    if frozen:
        kwargs = {**kwargs, "trainable": False}
    model, keras_model = twins([(name, kwargs)], input_shape[1:],
                               weights=lambda m: randomize_weights(m, rng))
    x = random_inputs(rng, input_shape)
    actual = model(x, training=training)
    desired = keras_model(x, training=training).numpy()
    check(f"forward: {component}", tol.relative_error(actual, desired), tol.FORWARD,
          f"{name}({kwargs}) input {input_shape} training={training}")
    return model, keras_model


def random_2d_shape(seed):
    rng = np.random.default_rng(seed)
    return (int(rng.integers(1, 65)), int(rng.integers(1, 41)))


@pytest.mark.parametrize("seed", SHAPE_SEEDS)
@pytest.mark.parametrize("use_bias", [True, False])
@pytest.mark.parametrize("activation", ACTIVATIONS)
def test_dense(activation, use_bias, seed):
    rng = np.random.default_rng(seed)
    shape = random_2d_shape(seed)
    units = int(rng.integers(1, 33))
    compare("Dense × activation × use_bias",
            ("Dense", dict(units=units, activation=activation, use_bias=use_bias)), shape, rng)


@pytest.mark.parametrize("seed", SHAPE_SEEDS)
def test_frozen_dense_is_unchanged(seed):
    rng = np.random.default_rng(seed)
    compare("Dense × activation × use_bias", ("Dense", dict(units=7, activation="elu")),
            random_2d_shape(seed), rng, training=True, frozen=True)


@pytest.mark.parametrize("seed", SHAPE_SEEDS)
@pytest.mark.parametrize("activation", ACTIVATIONS)
def test_activation_layer(activation, seed):
    compare("Activation layer × activation", ("Activation", dict(activation=activation)),
            random_2d_shape(seed), np.random.default_rng(seed))


@pytest.mark.parametrize("seed", SHAPE_SEEDS)
@pytest.mark.filterwarnings("ignore:Argument `alpha` is deprecated")
@pytest.mark.parametrize("kwargs", [{}, dict(negative_slope=0.2), dict(alpha=0.01)],
                         ids=["default", "0.2", "alpha=0.01 (the book's spelling)"])
def test_leaky_relu_layer(kwargs, seed):
    compare("LeakyReLU layer", ("LeakyReLU", kwargs), random_2d_shape(seed),
            np.random.default_rng(seed))


@pytest.mark.parametrize("seed", SHAPE_SEEDS)
@pytest.mark.parametrize("alpha", [1.0, 0.5])
def test_elu_layer(alpha, seed):
    compare("ELU layer", ("ELU", dict(alpha=alpha)), random_2d_shape(seed),
            np.random.default_rng(seed))


@pytest.mark.parametrize("seed", SHAPE_SEEDS)
@pytest.mark.parametrize("name", ["ReLU", "Softmax"])
def test_relu_and_softmax_layers(name, seed):
    compare(f"{name} layer", (name, {}), random_2d_shape(seed),
            np.random.default_rng(seed))


@pytest.mark.parametrize("seed", SHAPE_SEEDS)
@pytest.mark.parametrize("shape, shared_axes", [((None, 12), None), ((None, 5, 4), None),
                                                ((None, 5, 4), [1]), ((None, 5, 4), [2])])
def test_prelu_with_learned_slopes(shape, shared_axes, seed):
    rng = np.random.default_rng(seed)
    shape = (int(rng.integers(1, 40)),) + shape[1:]
    compare("PReLU (random slopes, shared_axes)", ("PReLU", dict(shared_axes=shared_axes)),
            shape, rng)


@pytest.mark.parametrize("shape", [(9, 4, 7), (3, 2, 5, 6), (1, 11)])
def test_flatten(shape):
    compare("Flatten", ("Flatten", {}), shape, np.random.default_rng(0))


@pytest.mark.parametrize("seed", SHAPE_SEEDS)
@pytest.mark.parametrize("options", [{}, {"center": False}, {"scale": False},
                                     {"momentum": 0.9, "epsilon": 1e-5}],
                         ids=["default", "no-center", "no-scale", "momentum-epsilon"])
@pytest.mark.parametrize("mode", ["training", "inference", "frozen-training"])
def test_batch_normalization(mode, options, seed):
    rng = np.random.default_rng(seed)
    shape = (int(rng.integers(2, 65)), int(rng.integers(1, 30)))
    model, keras_model = compare("BatchNormalization (training, inference, frozen)",
                                 ("BatchNormalization", options),
                                 shape, rng, training=mode != "inference",
                                 frozen=mode == "frozen-training")
    # The forward pass in training mode also updates the moving statistics (once here).
    check("batchnorm: moving statistics after training steps",
          tol.worst_relative_error(model.get_weights(), keras_model.get_weights()),
          tol.BN_MOVING_STATISTICS, f"after one {mode} call")


@pytest.mark.parametrize("mode", ["training", "inference"])
def test_batch_normalization_over_the_last_axis_of_3d_inputs(mode):
    rng = np.random.default_rng(5)
    compare("BatchNormalization (training, inference, frozen)", ("BatchNormalization", {}),
            (6, 5, 4), rng, training=mode == "training")


@pytest.mark.parametrize("name", ["Dropout", "AlphaDropout"])
def test_dropout_layers_are_the_identity_at_inference(name):
    compare("Dropout / AlphaDropout at inference", (name, dict(rate=0.3)), (17, 9),
            np.random.default_rng(0), training=False)
