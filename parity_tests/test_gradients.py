"""Gradients of the training loss w.r.t. every trainable weight and the input, against
``tf.GradientTape``, for every layer family × every loss (float32, one batch).

numpy_nn side: the real training path, ``model.train_on_batch``, with an optimizer that only
records the gradients it receives (so regularization penalties are included exactly as ``fit``
includes them); the input gradient comes from running the layers' documented
``call``/``backward`` contract down to the first layer. Keras side: ``model(x, training=True)``
and the compiled-equivalent loss plus ``model.losses`` inside a ``GradientTape``.

Softmax/sigmoid heads exercise Keras's logits path (the loss reads the pre-activation cached on
the output, no clipping); the clipped path for plain probabilities is tested on the losses
directly, with probabilities outside [1e-7, 1 - 1e-7] so that clipping is active.
"""
import numpy as np
import pytest
import keras
import tensorflow as tf

import numpy_nn as nn
import tf_backend
from parity_tests import tolerances as tol
from parity_tests.report import check

N_SAMPLES = 24
N_FEATURES = 10


class GradientRecorder(nn.optimizers.Optimizer):
    """An "optimizer" that keeps the gradients it is given and leaves the weights alone."""

    def apply(self, grads, variables):
        self.gradients = [np.array(g) for g in grads]
        self.variables = list(variables)


def _bn_then_activation():
    return [nn.layers.Dense(12, use_bias=False), nn.layers.BatchNormalization(),
            nn.layers.Activation("elu")]


def _frozen(layers, index):
    layers[index].trainable = False
    return layers


#: name -> factory of the hidden layers (the model's body).
BODIES = {
    **{f"Dense({act})": (lambda act=act: [nn.layers.Dense(12, activation=act)])
       for act in ["linear", "relu", "leaky_relu", "elu", "selu", "tanh", "sigmoid", "softmax"]},
    "Dense(use_bias=False)": lambda: [nn.layers.Dense(12, activation="elu", use_bias=False)],
    "Flatten→Dense": lambda: [nn.layers.Flatten(), nn.layers.Dense(12, activation="relu")],
    "LeakyReLU layer": lambda: [nn.layers.Dense(12), nn.layers.LeakyReLU(negative_slope=0.2)],
    "PReLU layer": lambda: [nn.layers.Dense(12), nn.layers.PReLU()],
    "ELU layer": lambda: [nn.layers.Dense(12), nn.layers.ELU(alpha=0.5)],
    "ReLU layer": lambda: [nn.layers.Dense(12), nn.layers.ReLU()],
    "BN after activation": lambda: [nn.layers.Dense(12, activation="elu"),
                                    nn.layers.BatchNormalization()],
    "BN before activation, no bias": _bn_then_activation,
    "frozen BN (inference mode)": lambda: _frozen(_bn_then_activation(), 1),
    "frozen Dense": lambda: _frozen([nn.layers.Dense(12, activation="selu"),
                                     nn.layers.Dense(12, activation="relu")], 0),
    "l1 / l2 / l1_l2 penalties": lambda: [
        nn.layers.Dense(12, activation="elu", kernel_regularizer=nn.regularizers.l1(0.01),
                        bias_regularizer=nn.regularizers.l2(0.02)),
        nn.layers.Dense(12, activation="relu",
                        kernel_regularizer=nn.regularizers.l1_l2(0.01, 0.03)),
        nn.layers.PReLU(alpha_regularizer=nn.regularizers.l2(0.05)),
        nn.layers.BatchNormalization(gamma_regularizer=nn.regularizers.l2(0.01))],
}

#: name -> (output layers, loss, target maker)
HEADS = {
    "sparse CE (softmax logits)": (
        lambda: [nn.layers.Dense(5, activation="softmax")], "sparse_categorical_crossentropy",
        lambda rng: rng.integers(0, 5, N_SAMPLES)),
    "sparse CE (Softmax layer logits)": (
        lambda: [nn.layers.Dense(5), nn.layers.Softmax()], "sparse_categorical_crossentropy",
        lambda rng: rng.integers(0, 5, N_SAMPLES)),
    "sparse CE (from_logits=True)": (
        lambda: [nn.layers.Dense(5)], nn.losses.SparseCategoricalCrossentropy(from_logits=True),
        lambda rng: rng.integers(0, 5, N_SAMPLES)),
    "categorical CE (softmax logits)": (
        lambda: [nn.layers.Dense(5), nn.layers.Activation("softmax")],
        "categorical_crossentropy",
        lambda rng: np.eye(5)[rng.integers(0, 5, N_SAMPLES)]),
    "binary CE (sigmoid logits)": (
        lambda: [nn.layers.Dense(1, activation="sigmoid")], "binary_crossentropy",
        lambda rng: rng.integers(0, 2, (N_SAMPLES, 1)).astype(np.float64)),
    "binary CE, 3 labels (sigmoid logits)": (
        lambda: [nn.layers.Dense(3, activation="sigmoid")], "binary_crossentropy",
        lambda rng: rng.integers(0, 2, (N_SAMPLES, 3)).astype(np.float64)),
    "mean squared error": (
        lambda: [nn.layers.Dense(3)], "mse", lambda rng: rng.normal(0, 1, (N_SAMPLES, 3))),
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


def keras_gradients(keras_model, model, loss, x, y, sample_weight=None):
    """(total loss, gradients in numpy_nn's trainable-weight order, input gradient)."""
    variables = []
    for layer, keras_layer in zip(model.layers, keras_model.layers):
        by_name = {v.name: v for v in keras_layer.trainable_weights}
        variables.extend(by_name[v.name] for v in layer.trainable_weights)
    x = tf.constant(x)
    with tf.GradientTape() as tape:
        tape.watch(x)
        y_pred = keras_model(x, training=True)
        value = loss(y, y_pred, sample_weight=sample_weight)
        for penalty in keras_model.losses:
            value = value + penalty
    gradients = tape.gradient(value, variables + [x])
    return float(value), [g.numpy() for g in gradients[:-1]], gradients[-1].numpy()


def compare_gradients(body_name, head_name, seed, sample_weight=None):
    rng = np.random.default_rng(seed)
    head_layers, loss, make_targets = HEADS[head_name]
    body = BODIES[body_name]()
    input_shape = (2, N_FEATURES // 2) if isinstance(body[0], nn.layers.Flatten) else (N_FEATURES,)
    model = nn.models.Sequential([nn.layers.Input(shape=input_shape)] + body + head_layers())
    for variable in model.weights:          # non-trivial biases, slopes, BN parameters
        if variable.name in ("bias", "alpha", "beta", "moving_mean"):
            variable.assign(rng.normal(0, 0.3, variable.shape))
        elif variable.name in ("gamma", "moving_variance"):
            variable.assign(rng.uniform(0.5, 1.5, variable.shape))
    recorder = GradientRecorder()
    model.compile(optimizer=recorder, loss=loss)
    keras_model = tf_backend.to_keras(model, compile=False)
    keras_loss = tf_backend.loss_to_keras(model.loss)
    x = rng.normal(0, 1.5, (N_SAMPLES,) + input_shape).astype(np.float32)
    y = make_targets(rng)
    y_keras = y.astype(np.float32) if y.dtype.kind == "f" else y

    keras_value, keras_grads, keras_dx = keras_gradients(keras_model, model, keras_loss, x,
                                                         y_keras, sample_weight)
    value = model.train_on_batch(x, y, sample_weight=sample_weight)
    numpy_dx = numpy_input_gradient(model, x, y, sample_weight)

    assert [v.path for v in recorder.variables] == [v.path for v in model.trainable_weights]
    what = f"{body_name} → {head_name}"
    check("loss value (with penalties)", tol.relative_error(value, keras_value), tol.FORWARD,
          what)
    errors = [tol.relative_error(g, k) for g, k in zip(recorder.gradients, keras_grads)]
    errors.append(tol.relative_error(numpy_dx, keras_dx))
    worst = max(errors)
    check(f"gradient: {body_name}", worst, tol.GRADIENT, what)
    check(f"gradient by loss: {head_name}", worst, tol.GRADIENT, what)


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


CLIPPED_CASES = {
    "sparse CE": ("sparse_categorical_crossentropy",
                  lambda rng, p: np.r_[0, 0, rng.integers(0, p.shape[1], len(p) - 2)]),
    "categorical CE": ("categorical_crossentropy",
                       lambda rng, p: np.eye(p.shape[1], dtype=np.float32)[
                           np.r_[1, 0, rng.integers(0, p.shape[1], len(p) - 2)]]),
    "binary CE": ("binary_crossentropy",
                  lambda rng, p: rng.integers(0, 2, p.shape).astype(np.float32)),
}


@pytest.mark.parametrize("case", list(CLIPPED_CASES))
def test_clipped_probability_path(case):
    """Plain probabilities (not tagged with logits) go through Keras's clip(p, 1e-7, 1 - 1e-7);
    the gradient is zero where the clip is active."""
    loss_name, make_targets = CLIPPED_CASES[case]
    rng = np.random.default_rng(3)
    p = _probabilities(rng, 16, 4)
    y = make_targets(rng, p)
    loss = nn.losses.get(loss_name)
    value, grad, wrt_logits = loss.value_and_grad(y, p)
    assert not wrt_logits
    p_tf = tf.constant(p)
    with tf.GradientTape() as tape:
        tape.watch(p_tf)
        keras_value = tf_backend.loss_to_keras(loss)(y, p_tf)
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
                                  "linear"])
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
