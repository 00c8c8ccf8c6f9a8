"""Dropout and AlphaDropout against Keras.

TensorFlow draws its masks with stateless Philox, which NumPy cannot reproduce, so:

* **Same mask** — the keep-mask is read off a Keras output (a dropped unit is exactly 0 for
  Dropout, and the one repeated value for AlphaDropout), handed to numpy_nn's layer, and the
  outputs and input gradients must then be *identical*.
* **Without a shared mask** — large samples from each engine are compared statistically:
  dropped fraction, output mean and variance, as z-scores (tolerance in
  ``tolerances.STATISTICAL_Z``). AlphaDropout's constants (a, b, the dropped value) are compared
  directly with those Keras's outputs reveal.
* **MC dropout** — the chapter's averaging of many ``training=True`` predictions gives the same
  mean prediction in both engines, within sampling error.
"""
import keras
import numpy as np
import pytest
import tensorflow as tf

import numpy_nn as nn
from parity_tests import tolerances as tol
from parity_tests.builders import twins
from parity_tests.report import check, check_z


def keras_output_and_input_gradient(layer, x, upstream):
    x = tf.constant(x)
    with tf.GradientTape() as tape:
        tape.watch(x)
        y = layer(x, training=True)
        objective = tf.reduce_sum(y * upstream)
    return y.numpy(), tape.gradient(objective, x).numpy()


def with_mask(layer, keep_mask):
    """Make numpy_nn's ``layer`` use ``keep_mask`` on its next call."""
    layer.draw_keep_mask = lambda shape: keep_mask
    return layer


def compare_with_keras_mask(component, keras_layer, layer, x, keep_mask_of, what):
    """Run Keras's layer, read its keep-mask off the output, give it to numpy_nn's layer and
    require identical outputs and input gradients."""
    upstream = np.random.default_rng(0).normal(0, 1, x.shape).astype(np.float32)
    keras_y, keras_dx = keras_output_and_input_gradient(keras_layer, x, upstream)
    layer = with_mask(layer, keep_mask_of(keras_y))
    layer.build((None,) + x.shape[1:])
    y = layer(x, training=True)
    dx = layer.backward(upstream)
    check(component, max(tol.relative_error(y, keras_y), tol.relative_error(dx, keras_dx)),
          tol.DROPOUT_SAME_MASK, what)


def most_common_value(values):
    """AlphaDropout's dropped value: the one output that many units share."""
    unique, counts = np.unique(values, return_counts=True)
    assert counts.max() > 1
    return unique[np.argmax(counts)]


@pytest.mark.parametrize("rate", [0.2, 0.5])
def test_dropout_with_keras_mask_is_identical(rate):
    rng = np.random.default_rng(int(rate * 10))
    x = rng.uniform(0.5, 2.0, (64, 50)).astype(np.float32) * rng.choice([-1, 1], (64, 50))
    # x has no zeros, so a zero output is a dropped unit
    compare_with_keras_mask("dropout: same keep-mask (output, input gradient)",
                            keras.layers.Dropout(rate, seed=3), nn.layers.Dropout(rate), x,
                            lambda keras_y: keras_y != 0, f"Dropout({rate})")


@pytest.mark.parametrize("rate", [0.1, 0.2])
def test_alpha_dropout_with_keras_mask_is_identical(rate):
    x = np.random.default_rng(int(rate * 10) + 5).normal(0, 1, (64, 50)).astype(np.float32)
    compare_with_keras_mask("alpha dropout: same keep-mask (output, input gradient)",
                            keras.layers.AlphaDropout(rate, seed=4), nn.layers.AlphaDropout(rate),
                            x, lambda keras_y: keras_y != most_common_value(keras_y),
                            f"AlphaDropout({rate})")


# ------------------------------------------------------------------ statistics
N = 200_000


def mean_and_its_error(values):
    return values.mean(), values.std() / np.sqrt(values.size)


def variance_and_its_error(values):
    centred = values - values.mean()
    variance = np.mean(centred ** 2)
    return variance, np.sqrt((np.mean(centred ** 4) - variance ** 2) / values.size)


def compare_samples(component, ours, theirs, what):
    for statistic in (mean_and_its_error, variance_and_its_error):
        (a, error_a), (b, error_b) = statistic(ours), statistic(theirs)
        check_z(component, a - b, np.hypot(error_a, error_b), tol.STATISTICAL_Z,
                f"{what}: {statistic.__name__}")


def compare_fractions(component, dropped_ours, dropped_theirs, rate, what):
    p = rate
    standard_error = np.sqrt(2 * p * (1 - p) / N)
    check_z(component, dropped_ours.mean() - dropped_theirs.mean(), standard_error,
            tol.STATISTICAL_Z, f"{what}: dropped fraction")
    check_z(component, dropped_ours.mean() - rate, np.sqrt(p * (1 - p) / N), tol.STATISTICAL_Z,
            f"{what}: numpy_nn dropped fraction vs rate")


@pytest.mark.parametrize("rate", [0.2, 0.5])
def test_dropout_statistics(rate):
    x = np.random.default_rng(0).normal(1.0, 1.0, (N // 100, 100)).astype(np.float32)
    x[x == 0] = 1.0
    theirs = keras.layers.Dropout(rate, seed=7)(x, training=True).numpy().ravel()
    layer = nn.layers.Dropout(rate)
    layer.build((None, 100))
    ours = layer(x, training=True).ravel()
    compare_fractions("dropout: statistics without a shared mask", ours == 0, theirs == 0, rate,
                      f"Dropout({rate})")
    compare_samples("dropout: statistics without a shared mask", ours, theirs,
                    f"Dropout({rate})")
    # Kept units are multiplied by the same float32 constant 1/(1 - rate) on both sides.
    np.testing.assert_array_equal(np.unique(ours[ours != 0] / x.ravel()[ours != 0]),
                                  np.unique(theirs[theirs != 0] / x.ravel()[theirs != 0]))


@pytest.mark.parametrize("rate", [0.1, 0.2])
def test_alpha_dropout_statistics_and_constants(rate):
    x = np.random.default_rng(1).normal(0.0, 1.0, (N // 100, 100)).astype(np.float32)
    theirs = keras.layers.AlphaDropout(rate, seed=8)(x, training=True).numpy().ravel()
    layer = nn.layers.AlphaDropout(rate)
    layer.build((None, 100))
    ours = layer(x, training=True).ravel()
    keras_dropped = most_common_value(theirs)
    alpha_p, a, b = layer.affine_constants
    our_dropped = np.float32(a) * np.float32(alpha_p) + np.float32(b)
    kept = theirs != keras_dropped
    # a and b from Keras's kept outputs y = a x + b (least squares over ~1e5 points).
    keras_a, keras_b = np.polyfit(x.ravel()[kept].astype(np.float64), theirs[kept], 1)
    for name, ours_value, keras_value in (("dropped value", our_dropped, keras_dropped),
                                          ("a", a, keras_a), ("b", b, keras_b)):
        check("alpha dropout: constants a, b and the dropped value",
              tol.relative_error(ours_value, keras_value), tol.ALPHA_DROPOUT_CONSTANTS,
              f"AlphaDropout({rate}): {name}")
    compare_fractions("alpha dropout: statistics without a shared mask",
                      ours == our_dropped, theirs == keras_dropped, rate,
                      f"AlphaDropout({rate})")
    compare_samples("alpha dropout: statistics without a shared mask", ours, theirs,
                    f"AlphaDropout({rate})")


def test_mc_dropout_averages_agree():
    """The chapter's MC dropout: average 200 predictions made with ``training=True``."""
    rng = np.random.default_rng(2)
    model, keras_model = twins([("Dense", dict(units=64, activation="elu")),
                                ("Dropout", dict(rate=0.3)),
                                ("Dense", dict(units=32, activation="elu")),
                                ("Dropout", dict(rate=0.3)),
                                ("Dense", dict(units=5, activation="softmax"))], (20,))
    x = rng.normal(0, 1, (8, 20)).astype(np.float32)
    samples = 200
    ours = np.stack([model(x, training=True) for _ in range(samples)])
    theirs = np.stack([keras_model(x, training=True).numpy() for _ in range(samples)])
    difference = ours.mean(0) - theirs.mean(0)
    standard_error = np.sqrt((ours.var(0) + theirs.var(0)) / samples)
    worst = np.argmax(np.abs(difference) / standard_error)
    check_z("mc dropout: mean of 200 training-mode predictions", difference.flat[worst],
            standard_error.flat[worst], tol.STATISTICAL_Z, "worst of 8 samples × 5 classes")
    # Dropout is really active: the predictions vary.
    assert ours.std(0).mean() > 1e-3 and theirs.std(0).mean() > 1e-3
