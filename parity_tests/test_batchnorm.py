"""BatchNormalization's state against Keras: moving statistics after many training steps, and
the frozen layer (``trainable=False``), which Keras 3 runs in inference mode even when called
with ``training=True``.

(BN's forward pass in every mode is in test_forward.py, its gradients — after an activation,
before one without bias, frozen — in test_gradients.py, and the two chapter placements trained
for 224 steps in test_trajectories.py.)
"""
import numpy as np
import pytest

from parity_tests import tolerances as tol
from parity_tests.builders import twins
from parity_tests.report import check

STEPS = 150


@pytest.mark.parametrize("momentum", [0.99, 0.9])
@pytest.mark.parametrize("input_shape", [(40,), (6, 9)], ids=["2-D", "3-D"])
def test_moving_statistics_follow_keras_over_many_steps(input_shape, momentum):
    """150 training-mode calls on batches of shifted, scaled data: the moving mean starts at 0
    and the variance at 1, far from the data's (mean ≈ 3, variance ≈ 4), so every step's
    update matters. Compared after every step."""
    rng = np.random.default_rng(int(momentum * 100) + len(input_shape))
    model, keras_model = twins([("BatchNormalization", dict(momentum=momentum))], input_shape)
    layer, keras_layer = model.layers[0], keras_model.layers[0]
    feature_means = rng.normal(3.0, 1.0, input_shape[-1])
    for step in range(STEPS):
        x = (feature_means + rng.normal(0, 2.0, (32,) + input_shape)).astype(np.float32)
        ours = model(x, training=True)
        theirs = keras_model(x, training=True).numpy()
        check("forward: BatchNormalization (training, inference, frozen)",
              tol.relative_error(ours, theirs), tol.FORWARD, f"step {step}")
        for name in ("moving_mean", "moving_variance"):
            check("batchnorm: moving statistics after training steps",
                  tol.relative_error(getattr(layer, name).value,
                                     next(w for w in keras_layer.weights if w.name == name)),
                  tol.BN_MOVING_STATISTICS, f"{name}, momentum {momentum}, step {step + 1}")
    # The statistics really moved towards the data's (the test compared something).
    expected = (1 - momentum ** STEPS) * feature_means
    assert np.allclose(layer.moving_mean.value, expected, atol=0.3)


def test_frozen_batch_normalization_runs_in_inference_mode():
    """A frozen BN uses (and keeps) its moving statistics, even inside ``training=True``."""
    rng = np.random.default_rng(1)
    model, keras_model = twins(
        [("BatchNormalization", dict(trainable=False))], (12,),
        weights=lambda m: m.set_weights([rng.uniform(0.5, 2, 12), rng.normal(0, 1, 12),
                                         rng.normal(0, 1, 12), rng.uniform(0.5, 2, 12)]))
    before = [w.copy() for w in model.get_weights()]
    x = rng.normal(2, 3, (16, 12)).astype(np.float32)
    ours = model(x, training=True)
    theirs = keras_model(x, training=True).numpy()
    check("batchnorm: frozen layer = inference mode, statistics unchanged",
          tol.relative_error(ours, theirs), tol.FORWARD, "output with training=True")
    np.testing.assert_array_equal(ours, model(x, training=False))
    for ours_w, keras_w, start in zip(model.get_weights(), keras_model.get_weights(), before):
        np.testing.assert_array_equal(ours_w, start)
        np.testing.assert_array_equal(keras_w, start)
