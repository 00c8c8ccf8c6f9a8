"""OneCycleScheduler's rate curve, the learning-rate finder, and MC-dropout predictions."""
import numpy as np
import pytest
from test_callbacks import RecordRates, tiny_data, tiny_model

import numpy_nn as keras
from numpy_nn.callbacks import OneCycleScheduler
from numpy_nn.utils import find_learning_rate, mc_predict


class ChapterOneCycle:
    """The chapter's class body, transcribed as the reference (minus Keras)."""

    def __init__(self, iterations, max_rate, start_rate=None, last_iterations=None,
                 last_rate=None):
        self.iterations = iterations
        self.max_rate = max_rate
        self.start_rate = start_rate or max_rate / 10
        self.last_iterations = last_iterations or iterations // 10 + 1
        self.half_iteration = (iterations - self.last_iterations) // 2
        self.last_rate = last_rate or self.start_rate / 1000
        self.iteration = 0

    def _interpolate(self, iter1, iter2, rate1, rate2):
        return ((rate2 - rate1) * (self.iteration - iter1) / (iter2 - iter1) + rate1)

    def next_rate(self):
        if self.iteration < self.half_iteration:
            rate = self._interpolate(0, self.half_iteration, self.start_rate, self.max_rate)
        elif self.iteration < 2 * self.half_iteration:
            rate = self._interpolate(self.half_iteration, 2 * self.half_iteration,
                                     self.max_rate, self.start_rate)
        else:
            rate = self._interpolate(2 * self.half_iteration, self.iterations,
                                     self.start_rate, self.last_rate)
        rate = max(rate, self.last_rate)
        self.iteration += 1
        return rate


def test_one_cycle_break_points():
    # The chapter's CIFAR run: 45,000 // 128 * 15 = 5,265 iterations, max_rate 0.05.
    schedule = OneCycleScheduler(5265, max_rate=0.05)
    assert schedule.start_rate == pytest.approx(0.005)
    assert schedule.last_iterations == 527
    assert schedule.half_iteration == 2369
    assert schedule.last_rate == pytest.approx(5e-6)
    h = schedule.half_iteration
    assert schedule.rate_at(0) == pytest.approx(0.005)
    assert schedule.rate_at(h // 2) == pytest.approx(0.005 + 0.045 * (h // 2) / h)
    assert schedule.rate_at(h) == pytest.approx(0.05)                  # the peak
    assert schedule.rate_at(2 * h) == pytest.approx(0.005)             # back to the start
    assert schedule.rate_at(5265) == pytest.approx(5e-6)               # the end
    assert schedule.rate_at(10_000) == pytest.approx(5e-6)             # floored afterwards
    rates = np.array([schedule.rate_at(i) for i in range(5266)])
    assert np.all(np.diff(rates[:h + 1]) > 0)
    assert np.all(np.diff(rates[h:2 * h + 1]) < 0)
    assert np.all(np.diff(rates[2 * h:]) < 0)


@pytest.mark.parametrize("arguments", [dict(iterations=5265, max_rate=0.05),
                                       dict(iterations=100, max_rate=1.0, start_rate=0.2,
                                            last_iterations=30, last_rate=0.01),
                                       dict(iterations=7, max_rate=0.3)])
def test_one_cycle_equals_the_chapter_at_every_iteration(arguments):
    ours, chapter = OneCycleScheduler(**arguments), ChapterOneCycle(**arguments)
    for i in range(arguments["iterations"] + 5):
        assert ours.rate_at(i) == chapter.next_rate()


def test_one_cycle_callback_sets_the_rate_before_each_batch_across_epochs():
    schedule = OneCycleScheduler(6, max_rate=0.1)        # 3 epochs of 2 batches
    recorder = RecordRates()
    x, y = tiny_data()
    tiny_model().fit(x, y, epochs=3, batch_size=32, verbose=0, callbacks=[schedule, recorder])
    expected = [np.float32(schedule.rate_at(i)) for i in range(6)]
    np.testing.assert_array_equal(np.float32(recorder.rates), expected)
    assert schedule.iteration == 6


# =============================================================== find_learning_rate
def test_find_learning_rate_sweeps_exponentially_and_restores_everything():
    model = tiny_model(0.003, optimizer="nadam")
    x, y = tiny_data(640)
    model.fit(x, y, epochs=1, verbose=0)              # so the optimizer has state to keep
    weights = model.get_weights()
    iterations = model.optimizer.iterations
    slots = {v.path: {k: np.array(a) for k, a in s.items()}
             for v, s in model.optimizer.slots.items()}

    rates, losses = find_learning_rate(model, x, y, epochs=2, batch_size=64,
                                       min_rate=1e-4, max_rate=1.0)
    assert len(rates) == len(losses) == 20
    np.testing.assert_allclose(rates[0], 1e-4, rtol=1e-6)
    np.testing.assert_allclose(np.diff(np.log(rates)), np.log(1e4) / 20, rtol=1e-4)
    assert np.all(np.isfinite(losses))

    for a, b in zip(model.get_weights(), weights):
        np.testing.assert_array_equal(a, b)
    assert float(model.optimizer.learning_rate) == pytest.approx(0.003)
    assert model.optimizer.iterations == iterations
    for variable, state in model.optimizer.slots.items():
        for name, array in state.items():
            np.testing.assert_array_equal(array, slots[variable.path][name])
    # the slots are still keyed by the model's own variables, so training continues normally
    assert set(map(id, model.optimizer.slots)) == set(map(id, model.trainable_weights))
    model.fit(x, y, epochs=1, verbose=0)
    assert model.optimizer.iterations == iterations + 20


@pytest.mark.parametrize("kernel_path", ["numpy", "numba"])
@pytest.mark.parametrize("trained_first", [False, True])
def test_training_after_find_learning_rate_is_training_without_it(kernel_path, trained_first):
    """The finder leaves no trace: fit after it gives the same bits as fit without it, on both
    kernel paths (the Numba path keeps slots in flat buffers that must be restored in place)."""
    keras.backend.set_kernel_path(kernel_path)
    x, y = tiny_data(320)

    def run(with_finder):
        keras.utils.set_random_seed(3)
        model = tiny_model(0.01, optimizer="nadam")
        if trained_first:
            model.fit(x, y, epochs=1, verbose=0)
        if with_finder:
            find_learning_rate(model, x, y, batch_size=32, min_rate=1e-4, max_rate=1.0)
        keras.utils.set_random_seed(4)
        model.fit(x, y, epochs=2, verbose=0)
        return model.get_weights()

    for a, b in zip(run(True), run(False)):
        np.testing.assert_array_equal(a, b)


def test_find_learning_rate_restores_even_if_training_fails():
    model = tiny_model(0.01)
    x, y = tiny_data()
    weights = model.get_weights()

    class Boom(Exception):
        pass

    original_fit = model.fit

    def failing_fit(*args, **kwargs):
        original_fit(*args, **kwargs)
        raise Boom

    model.fit = failing_fit
    with pytest.raises(Boom):
        find_learning_rate(model, x, y)
    for a, b in zip(model.get_weights(), weights):
        np.testing.assert_array_equal(a, b)
    assert float(model.optimizer.learning_rate) == pytest.approx(0.01)


def test_find_learning_rate_bad_arguments():
    model = tiny_model()
    x, y = tiny_data()
    with pytest.raises(ValueError, match="min_rate < max_rate"):
        find_learning_rate(model, x, y, min_rate=1.0, max_rate=0.1)
    with pytest.raises(ValueError, match="no full batch"):
        find_learning_rate(model, x[:10], y[:10], batch_size=32)


def test_plot_lr_vs_loss_draws(tmp_path):
    matplotlib = pytest.importorskip("matplotlib", reason="plotting is optional")
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from numpy_nn.utils import plot_lr_vs_loss

    ax = plot_lr_vs_loss([1e-4, 1e-3, 1e-2, 1e-1], [2.0, 1.5, 1.0, 3.0])
    assert ax.get_xscale() == "log"
    assert ax.get_ylim() == (1.0, 1.5)
    plt.close("all")


# =============================================================== mc_predict
def dropout_model(layer=keras.layers.Dropout, rate=0.3, batch_norm=False):
    layers = [keras.layers.Dense(32, activation="selu", input_shape=[4])]
    if batch_norm:
        layers.append(keras.layers.BatchNormalization())
    layers += [layer(rate=rate), keras.layers.Dense(3, activation="softmax")]
    model = keras.models.Sequential(layers)
    model.compile(loss="sparse_categorical_crossentropy", optimizer="sgd")
    return model


@pytest.mark.parametrize("layer", [keras.layers.Dropout, keras.layers.AlphaDropout])
def test_mc_predict_shapes_and_spread(layer):
    model = dropout_model(layer)
    x, _ = tiny_data(50)
    mean, std = mc_predict(model, x, n_samples=30)
    assert mean.shape == std.shape == (50, 3)
    assert mean.dtype == np.float32
    np.testing.assert_allclose(mean.sum(axis=1), 1.0, rtol=1e-5)   # still probabilities
    assert np.all(std >= 0) and std.mean() > 1e-3                 # dropout makes them differ
    # the mean of many masks is close to, but not the same as, the deterministic prediction
    assert not np.allclose(mean, model.predict(x))


def test_mc_predict_equals_the_chapters_stack_of_training_mode_calls():
    """Same seed, same masks: the chapter's ``np.stack([model(X, training=True) ...])``."""
    model = dropout_model()
    x, _ = tiny_data(40)
    keras.utils.set_random_seed(7)
    mean, std = mc_predict(model, x, n_samples=10)
    keras.utils.set_random_seed(7)
    y_probas = np.stack([model(x, training=True) for sample in range(10)])
    np.testing.assert_allclose(mean, y_probas.mean(axis=0), rtol=1e-6)
    np.testing.assert_allclose(std, y_probas.std(axis=0), rtol=1e-5, atol=1e-7)


def test_mc_predict_leaves_batch_normalization_in_inference_mode():
    model = dropout_model(batch_norm=True)
    x, _ = tiny_data(40)
    moving = [w.copy() for w in model.get_weights()]
    mean, _ = mc_predict(model, x * 5 + 3, n_samples=5)
    for a, b in zip(model.get_weights(), moving):
        np.testing.assert_array_equal(a, b)


def test_mc_predict_needs_dropout_and_positive_samples():
    model = tiny_model()
    x, _ = tiny_data(8)
    with pytest.raises(ValueError, match="no Dropout"):
        mc_predict(model, x, 10)
    with pytest.raises(ValueError, match="n_samples"):
        mc_predict(dropout_model(), x, 0)
