"""Gradients of the training loss w.r.t. every trainable weight and the input, against
``tf.GradientTape``, for every layer family × every loss (float32, one batch).

numpy_nn side: the real training path, ``model.train_on_batch``, with an optimizer that only
records the gradients it receives (so regularization penalties are included exactly as ``fit``
includes them); the input gradient comes from running the layers' documented
``call``/``backward`` contract down to the first layer. Keras side: the same model description
built from Keras's classes (``parity_tests.builders``), compiled with the same loss spelling,
and ``model(x, training=True)`` followed by Keras's own ``Model.compute_loss`` (the compiled loss
plus ``model.losses``, the penalties) inside a ``GradientTape``.

Softmax/sigmoid heads exercise Keras's logits path (the loss reads the pre-activation cached on
the output, no clipping); the clipped path for plain probabilities is tested on the losses
directly, with probabilities outside [1e-7, 1 - 1e-7] so that clipping is active.
"""
import keras
import numpy as np
import pytest
import tensorflow as tf

import numpy_nn as nn
from parity_tests import tolerances as tol
from parity_tests.builders import KERAS, NUMPY_NN, resolve, twins, use
from parity_tests.report import check

N_SAMPLES = 24
N_FEATURES = 10


class GradientRecorder(nn.optimizers.Optimizer):
    """An "optimizer" that keeps the gradients it is given and leaves the weights alone."""

    def apply(self, grads, variables):
        self.gradients = [np.array(g) for g in grads]
        self.variables = list(variables)


def dense(units, **kwargs):
    return ("Dense", dict(units=units, **kwargs))


BN_THEN_ACTIVATION = [dense(12, use_bias=False), ("BatchNormalization", {}),
                      ("Activation", dict(activation="elu"))]

#: name -> the hidden layers (the model's body), in Keras's spelling.
BODIES = {
    **{f"Dense({act})": [dense(12, activation=act)]
       for act in ["linear", "relu", "leaky_relu", "elu", "selu", "tanh", "sigmoid", "softmax",
                   "gelu", "silu", "mish"]},
    "Dense(use_bias=False)": [dense(12, activation="elu", use_bias=False)],
    "Flatten→Dense": [("Flatten", {}), dense(12, activation="relu")],
    "LeakyReLU layer": [dense(12), ("LeakyReLU", dict(negative_slope=0.2))],
    "PReLU layer": [dense(12), ("PReLU", {})],
    "ELU layer": [dense(12), ("ELU", dict(alpha=0.5))],
    "ReLU layer": [dense(12), ("ReLU", {})],
    "BN after activation": [dense(12, activation="elu"), ("BatchNormalization", {})],
    "BN before activation, no bias": BN_THEN_ACTIVATION,
    "frozen BN (inference mode)": [BN_THEN_ACTIVATION[0],
                                   ("BatchNormalization", dict(trainable=False)),
                                   BN_THEN_ACTIVATION[2]],
    "frozen Dense": [dense(12, activation="selu", trainable=False), dense(12, activation="relu")],
    "l1 / l2 / l1_l2 penalties": [
        dense(12, activation="elu", kernel_regularizer=use("regularizers.l1", 0.01),
              bias_regularizer=use("regularizers.l2", 0.02)),
        dense(12, activation="relu", kernel_regularizer=use("regularizers.l1_l2", 0.01, 0.03)),
        ("PReLU", dict(alpha_regularizer=use("regularizers.l2", 0.05))),
        ("BatchNormalization", dict(gamma_regularizer=use("regularizers.l2", 0.01)))],
}

#: name -> (output layers, loss as compile() spells it, target maker)
HEADS = {
    "sparse CE (softmax logits)": (
        [dense(5, activation="softmax")], "sparse_categorical_crossentropy",
        lambda rng: rng.integers(0, 5, N_SAMPLES)),
    "sparse CE (Softmax layer logits)": (
        [dense(5), ("Softmax", {})], "sparse_categorical_crossentropy",
        lambda rng: rng.integers(0, 5, N_SAMPLES)),
    "sparse CE (from_logits=True)": (
        [dense(5)], use("losses.SparseCategoricalCrossentropy", from_logits=True),
        lambda rng: rng.integers(0, 5, N_SAMPLES)),
    "categorical CE (softmax logits)": (
        [dense(5), ("Activation", dict(activation="softmax"))], "categorical_crossentropy",
        lambda rng: np.eye(5)[rng.integers(0, 5, N_SAMPLES)]),
    "binary CE (sigmoid logits)": (
        [dense(1, activation="sigmoid")], "binary_crossentropy",
        lambda rng: rng.integers(0, 2, (N_SAMPLES, 1)).astype(np.float64)),
    "binary CE, 3 labels (sigmoid logits)": (
        [dense(3, activation="sigmoid")], "binary_crossentropy",
        lambda rng: rng.integers(0, 2, (N_SAMPLES, 3)).astype(np.float64)),
    "mean squared error": (
        [dense(3)], "mse", lambda rng: rng.normal(0, 1, (N_SAMPLES, 3))),
}


def numpy_input_gradient(model, x, y, sample_weight=None):
    """dL/dx (data loss only: penalties do not depend on x) through the layer contract."""
    out = x
    for layer in model.layers:
        out = layer(out, training=True)
    _, grad, wrt_logits = model.loss.value_and_grad(
        y, out, model.layers[-1].output_logits, sample_weight)
    for index in range(len(model.layers) - 1, -1, -1):
        layer = model.layers[index]
        if wrt_logits and index == len(model.layers) - 1:
            grad = layer.backward_from_logits(grad)
        else:
            grad = layer.backward(grad)
    return grad


def keras_gradients(keras_model, x, y, sample_weight=None):
    """(total loss, gradients of ``keras_model.trainable_weights``, input gradient), the loss
    computed as Keras's trainer does (``Model.compute_loss``: the compiled loss plus
    ``model.losses``, the penalties)."""
    x = tf.constant(x)
    variables = keras_model.trainable_weights
    with tf.GradientTape() as tape:
        tape.watch(x)
        y_pred = keras_model(x, training=True)
        value = keras_model.compute_loss(x=x, y=y, y_pred=y_pred, sample_weight=sample_weight)
    gradients = tape.gradient(value, variables + [x])
    return float(value), [g.numpy() for g in gradients[:-1]], gradients[-1].numpy()


def randomize(model, rng):
    """Non-trivial biases, slopes and BN parameters (positive scales and variances)."""
    for variable in model.weights:
        if variable.name in ("bias", "alpha", "beta", "moving_mean"):
            variable.assign(rng.normal(0, 0.3, variable.shape))
        elif variable.name in ("gamma", "moving_variance"):
            variable.assign(rng.uniform(0.5, 1.5, variable.shape))


def compare_gradients(body_name, head_name, seed, sample_weight=None):
    rng = np.random.default_rng(seed)
    head, loss, make_targets = HEADS[head_name]
    body = BODIES[body_name]
    input_shape = (2, N_FEATURES // 2) if body[0][0] == "Flatten" else (N_FEATURES,)
    model, keras_model = twins(body + head, input_shape, weights=lambda m: randomize(m, rng))
    recorder = GradientRecorder()
    model.compile(optimizer=recorder, loss=resolve(NUMPY_NN, loss))
    keras_model.compile(loss=resolve(KERAS, loss))
    x = rng.normal(0, 1.5, (N_SAMPLES,) + input_shape).astype(np.float32)
    y = make_targets(rng)
    y_keras = y.astype(np.float32) if y.dtype.kind == "f" else y

    keras_value, keras_grads, keras_dx = keras_gradients(keras_model, x, y_keras, sample_weight)
    value = model.train_on_batch(x, y, sample_weight=sample_weight)
    numpy_dx = numpy_input_gradient(model, x, y, sample_weight)

    assert [v.path for v in recorder.variables] == [v.path for v in model.trainable_weights]
    assert [v.name for v in model.trainable_weights] == \
        [v.name for v in keras_model.trainable_weights]
    what = f"{body_name} → {head_name}"
    check("loss value (with penalties)", tol.relative_error(value, keras_value), tol.FORWARD,
          what)
    errors = [tol.relative_error(g, k) for g, k in zip(recorder.gradients, keras_grads)]
    errors.append(tol.relative_error(numpy_dx, keras_dx))
    # One comparison, recorded once, under its body; the head is named in the message.
    check(f"gradient: {body_name}", max(errors), tol.GRADIENT, what)


@pytest.mark.parametrize("head_name", list(HEADS))
@pytest.mark.parametrize("body_name", list(BODIES))
def test_gradients(body_name, head_name):
    compare_gradients(body_name, head_name, seed=len(body_name) * 31 + len(head_name))


@pytest.mark.parametrize("head_name", ["sparse CE (softmax logits)", "binary CE (sigmoid logits)",
                                       "mean squared error"])
def test_gradients_with_sample_weights(head_name):
    weights = np.random.default_rng(7).uniform(0, 2, N_SAMPLES).astype(np.float32)
    compare_gradients("Dense(relu)", head_name, seed=11, sample_weight=weights)


# ------------------------------------------------------------------ the clipped path
def _probabilities(rng, n, k):
    """Rows of probabilities with entries below 1e-7 and above 1 - 1e-7 (clipping active)."""
    logits = rng.normal(0, 3, (n, k))
    logits[0, 0] = 40.0            # p ≈ 1 - 1e-17: clipped at the top
    logits[1, :] = [-30.0] + [0.0] * (k - 1)   # p ≈ 1e-13 for class 0: clipped at the bottom
    p = np.exp(logits - logits.max(1, keepdims=True))
    return (p / p.sum(1, keepdims=True)).astype(np.float32)


#: name -> (loss as compile() spells it, its class in both libraries, target maker)
CLIPPED_CASES = {
    "sparse CE": ("sparse_categorical_crossentropy", "SparseCategoricalCrossentropy",
                  lambda rng, p: np.r_[0, 0, rng.integers(0, p.shape[1], len(p) - 2)]),
    "categorical CE": ("categorical_crossentropy", "CategoricalCrossentropy",
                       lambda rng, p: np.eye(p.shape[1], dtype=np.float32)[
                           np.r_[1, 0, rng.integers(0, p.shape[1], len(p) - 2)]]),
    "binary CE": ("binary_crossentropy", "BinaryCrossentropy",
                  lambda rng, p: rng.integers(0, 2, p.shape).astype(np.float32)),
}


@pytest.mark.parametrize("case", list(CLIPPED_CASES))
def test_clipped_probability_path(case):
    """Plain probabilities (not tagged with logits) go through Keras's clip(p, 1e-7, 1 - 1e-7);
    the gradient is zero where the clip is active."""
    loss_name, class_name, make_targets = CLIPPED_CASES[case]
    rng = np.random.default_rng(3)
    p = _probabilities(rng, 16, 4)
    y = make_targets(rng, p)
    loss = nn.losses.get(loss_name)
    value, grad, wrt_logits = loss.value_and_grad(y, p)
    assert not wrt_logits
    p_tf = tf.constant(p)
    with tf.GradientTape() as tape:
        tape.watch(p_tf)
        keras_value = getattr(keras.losses, class_name)()(y, p_tf)
    keras_grad = tape.gradient(keras_value, p_tf).numpy()
    check("loss value, clipped probability path", tol.relative_error(value, keras_value.numpy()),
          tol.FORWARD, case)
    check("gradient: clipped probability path", tol.relative_error(grad, keras_grad),
          tol.GRADIENT, case)


#: 0, and inputs so small that ``exp(x)`` rounds to exactly 1 in float32 on both sides.
#: (Not, say, -3e-8: there exp(x) lies within a hair of half an ulp below 1, Eigen rounds it
#: to 1 - 2**-24 and NumPy to 1, so the two forward values differ by that ulp and the
#: derivative's branch with them; that is an exp rounding difference, not a derivative rule.)
KINK_INPUTS = np.array([0.0, -0.0, 1e-9, -1e-9, 1e-30, -1e-30, 0.5, -0.5], dtype=np.float32)


@pytest.mark.parametrize("name", ["relu", "leaky_relu", "elu", "selu", "tanh", "sigmoid",
                                  "linear", "gelu", "silu", "mish"])
def test_activation_derivatives_at_and_near_the_kink(name):
    """Element by element (not relative to the array's largest value), at 0 and at inputs so
    small that ``exp(x) - 1`` rounds to 0: a derivative that branches on the wrong condition
    shows up only here. TensorFlow's SELU gradient branches on the *output* (``y < 0``), so at
    x = 0 it is ``scale``, not ``scale * alpha``; ReLU's is 0 and LeakyReLU's is the slope."""
    x = KINK_INPUTS
    with tf.GradientTape() as tape:
        tx = tf.constant(x)
        tape.watch(tx)
        ty = getattr(keras.activations, name)(tx)
    expected = tape.gradient(ty, tx).numpy()
    function = nn.activations.get(name)
    y = function.forward(x)
    ours = function.backward(x, y, np.ones_like(x))
    error = np.max(np.abs(ours - expected) / np.maximum(np.abs(expected), 1e-30))
    check("activation derivative at kinks (element-wise)", error, tol.GRADIENT, name)
