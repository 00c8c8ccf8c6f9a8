"""Callbacks: each one's decisions on scripted monitored values, and the hooks the chapter's
custom callbacks rely on.

Scripted values are injected by :class:`ScriptedLogs`, a callback placed *before* the one under
test that overwrites ``logs[key]`` at each epoch end, so the callbacks run inside a real
``fit`` (real optimizer, real weights) but see values chosen by the test. Expected decisions
follow Keras 3's rules (keras/src/callbacks/early_stopping.py, reduce_lr_on_plateau.py,
learning_rate_scheduler.py, model_checkpoint.py), which the docstrings of the callbacks restate.
"""
import math
import warnings

import numpy as np
import pytest

import numpy_nn as keras
from numpy_nn import backend as K
from numpy_nn.callbacks import (
    Callback,
    EarlyStopping,
    LearningRateScheduler,
    ReduceLROnPlateau,
    TerminateOnNaN,
)
from numpy_nn.optimizers.schedules import ExponentialDecay


def tiny_model(learning_rate=0.01, optimizer="sgd"):
    model = keras.models.Sequential([keras.layers.Dense(3, activation="softmax",
                                                        input_shape=[4])])
    opt = {"sgd": keras.optimizers.SGD, "nadam": keras.optimizers.Nadam}[optimizer]
    model.compile(loss="sparse_categorical_crossentropy",
                  optimizer=opt(learning_rate=learning_rate), metrics=["accuracy"])
    return model


def tiny_data(n=64):
    rng = np.random.default_rng(1)
    x = rng.normal(size=(n, 4)).astype(np.float32)
    y = rng.integers(0, 3, size=n)
    return x, y


class ScriptedLogs(Callback):
    """Overwrites ``logs[key]`` with ``values[epoch]`` at every epoch end."""

    def __init__(self, key, values):
        super().__init__()
        self.key, self.values = key, list(values)

    def on_epoch_end(self, epoch, logs=None):
        logs[self.key] = self.values[epoch]


class RecordRates(Callback):
    """Records the optimizer's learning rate at every batch start (after earlier callbacks)."""

    def __init__(self):
        super().__init__()
        self.rates = []

    def on_train_batch_begin(self, batch, logs=None):
        self.rates.append(float(np.asarray(self.model.optimizer.learning_rate)))


class RecordWeights(Callback):
    def __init__(self):
        super().__init__()
        self.weights = []

    def on_epoch_end(self, epoch, logs=None):
        self.weights.append(self.model.get_weights())


def fit(model, callbacks, epochs, batch_size=32, **kwargs):
    x, y = tiny_data()
    return model.fit(x, y, epochs=epochs, batch_size=batch_size, callbacks=callbacks,
                     verbose=0, validation_data=(x[:16], y[:16]), **kwargs)


# =============================================================== LearningRateScheduler
def test_scheduler_one_argument_function_gets_0_based_epoch_at_epoch_begin():
    calls = []

    def schedule(epoch):
        calls.append(epoch)
        return 0.01 * 0.1 ** (epoch / 20)

    recorder = RecordRates()
    history = fit(tiny_model(), [LearningRateScheduler(schedule), recorder], epochs=3)
    assert calls == [0, 1, 2]
    expected = [np.float32(0.01 * 0.1 ** (e / 20)) for e in range(3)]
    np.testing.assert_allclose(history.history["learning_rate"], expected, rtol=1e-7)
    # Two batches per epoch (64 samples / 32): each batch of epoch e ran at schedule(e).
    np.testing.assert_allclose(recorder.rates, np.repeat(expected, 2), rtol=1e-7)


def test_scheduler_two_argument_function_receives_the_current_rate():
    seen = []

    def schedule(epoch, lr):
        seen.append(lr)
        return lr * 0.5

    history = fit(tiny_model(0.08), [LearningRateScheduler(schedule)], epochs=3)
    np.testing.assert_allclose(seen, [0.08, 0.04, 0.02], rtol=1e-6)
    np.testing.assert_allclose(history.history["learning_rate"], [0.04, 0.02, 0.01], rtol=1e-6)
    assert all(isinstance(v, float) for v in seen)


def test_scheduler_accepts_numpy_floats_and_rejects_other_types():
    fit(tiny_model(), [LearningRateScheduler(lambda epoch: np.float64(0.02))], epochs=1)
    fit(tiny_model(), [LearningRateScheduler(lambda epoch: np.float32(0.02))], epochs=1)
    with pytest.raises(ValueError, match="must return a float"):
        fit(tiny_model(), [LearningRateScheduler(lambda epoch: 1)], epochs=1)
    with pytest.raises(ValueError, match="must return a float"):
        fit(tiny_model(), [LearningRateScheduler(lambda epoch: "0.1")], epochs=1)


def test_scheduler_refuses_an_optimizer_with_a_schedule():
    model = tiny_model()
    model.compile(loss="sparse_categorical_crossentropy",
                  optimizer=keras.optimizers.SGD(ExponentialDecay(0.01, 10, 0.1)))
    with pytest.raises(TypeError, match="ExponentialDecay schedule"):
        fit(model, [LearningRateScheduler(lambda epoch: 0.1)], epochs=1)


def test_plain_fit_has_no_learning_rate_key_and_nothing_ever_writes_lr():
    history = fit(tiny_model(), [], epochs=1)
    assert "learning_rate" not in history.history and "lr" not in history.history
    history = fit(tiny_model(), [LearningRateScheduler(lambda e: 0.01),
                                 ReduceLROnPlateau(patience=1)], epochs=2)
    assert "learning_rate" in history.history and "lr" not in history.history


# =============================================================== ReduceLROnPlateau
def test_plateau_keras3_reference_values_with_a_large_min_delta():
    """Keras 3: min_delta=10, factor 0.5, patience 1 logs 0.01, 0.01, 0.005, 0.0025: no epoch
    after the first improves by 10, and the logged rate is the one used during the epoch."""
    callback = ReduceLROnPlateau(factor=0.5, patience=1, min_delta=10)
    history = fit(tiny_model(0.01), [callback], epochs=4)
    np.testing.assert_allclose(history.history["learning_rate"], [0.01, 0.01, 0.005, 0.0025],
                               rtol=1e-6)


def test_plateau_waits_patience_epochs_and_counts_small_improvements_as_none():
    # improvements: 1.0 (first) -> 0.5 (yes) -> 0.49995 (by less than min_delta 1e-4: no)
    # -> 0.4999 (no, 0.4999 + 1e-4 == 0.5 is not < 0.5) -> 0.3 (yes) -> flat...
    values = [1.0, 0.5, 0.49995, 0.4999, 0.3, 0.3, 0.3, 0.3]
    callback = ReduceLROnPlateau(factor=0.5, patience=2)
    history = fit(tiny_model(0.1), [ScriptedLogs("val_loss", values), callback],
                  epochs=len(values))
    # waits: e2 -> 1, e3 -> 2 (reduce after e3), e4 improves, e5 -> 1, e6 -> 2 (reduce), e7 -> 1
    np.testing.assert_allclose(history.history["learning_rate"],
                               [0.1, 0.1, 0.1, 0.1, 0.05, 0.05, 0.05, 0.025], rtol=1e-6)
    assert callback.best == 0.3 and callback.wait == 1


def test_plateau_cooldown():
    """patience 1, cooldown 2 on a flat loss: reduce after e1; e2 and e3 only count down
    the cooldown (wait reset to 0); e3 leaves cooldown at its start, so it counts (wait 1) and
    reduces again."""
    values = [1.0] * 7
    callback = ReduceLROnPlateau(factor=0.5, patience=1, cooldown=2)
    history = fit(tiny_model(0.1), [ScriptedLogs("val_loss", values), callback], epochs=7)
    np.testing.assert_allclose(history.history["learning_rate"],
                               [0.1, 0.1, 0.05, 0.05, 0.025, 0.025, 0.0125], rtol=1e-6)


def test_plateau_respects_min_lr_and_mode_max():
    values = [0.5, 0.4, 0.4, 0.4, 0.4]        # accuracy going *down*: never improves after e0
    callback = ReduceLROnPlateau(monitor="val_accuracy", factor=0.1, patience=1, min_lr=0.003)
    history = fit(tiny_model(0.1), [ScriptedLogs("val_accuracy", values), callback], epochs=5)
    assert callback.direction == "max"
    np.testing.assert_allclose(history.history["learning_rate"],
                               [0.1, 0.1, 0.01, 0.003, 0.003], rtol=1e-6)


def test_plateau_rejects_factor_at_least_one():
    with pytest.raises(ValueError, match="factor"):
        ReduceLROnPlateau(factor=1.0)


def test_auto_mode_needs_a_known_metric():
    callback = ReduceLROnPlateau(monitor="val_f1")
    with pytest.raises(ValueError, match="mode='min' or mode='max'"):
        fit(tiny_model(), [ScriptedLogs("val_f1", [0.3]), callback], epochs=1)
    with pytest.raises(ValueError, match="mode must be one of"):
        EarlyStopping(mode="maximum")


# =============================================================== EarlyStopping
@pytest.mark.parametrize("patience", [0, 2])
def test_early_stopping_constant_loss_runs_patience_plus_one_epochs(patience):
    """Keras 3: a constant loss runs patience + 1 epochs, but at least 2 (never stops at
    epoch 0), so patience 0 gives 2 epochs."""
    stopper = EarlyStopping(patience=patience)
    history = fit(tiny_model(), [ScriptedLogs("val_loss", [1.0] * 10), stopper], epochs=10)
    assert len(history.epoch) == max(patience, 1) + 1
    assert stopper.stopped_epoch == max(patience, 1)


def test_early_stopping_improvement_smaller_than_min_delta_does_not_reset_patience():
    values = [1.0, 0.95, 0.91, 0.88, 0.86, 0.85]   # each step improves by < 0.1 after e1
    stopper = EarlyStopping(patience=2, min_delta=0.1)
    history = fit(tiny_model(), [ScriptedLogs("val_loss", values), stopper], epochs=6)
    # e0 best=1.0; e1: 0.95+0.1 !< 1.0 -> wait 1; e2: 0.91+0.1 !< 1.0 -> wait 2 -> stop
    assert history.epoch == [0, 1, 2]
    assert stopper.best == 1.0


def test_early_stopping_restores_best_weights_even_without_stopping():
    """Keras 3 restores in on_train_end whether or not training stopped (Keras 2 did not)."""
    values = [0.9, 0.5, 0.7, 0.6]
    recorder = RecordWeights()
    model = tiny_model(0.1)
    history = fit(model, [ScriptedLogs("val_loss", values),
                          EarlyStopping(patience=10, restore_best_weights=True), recorder],
                  epochs=4)
    assert len(history.epoch) == 4                     # no early stop
    for restored, best in zip(model.get_weights(), recorder.weights[1]):
        np.testing.assert_array_equal(restored, best)
    assert not np.array_equal(recorder.weights[1][0], recorder.weights[3][0])


def test_early_stopping_restores_best_weights_after_stopping():
    values = [0.9, 0.4, 0.5, 0.6, 0.7, 0.8]
    recorder = RecordWeights()
    model = tiny_model(0.1)
    history = fit(model, [ScriptedLogs("val_loss", values),
                          EarlyStopping(patience=2, restore_best_weights=True), recorder],
                  epochs=6)
    assert history.epoch == [0, 1, 2, 3]
    for restored, best in zip(model.get_weights(), recorder.weights[1]):
        np.testing.assert_array_equal(restored, best)


def test_early_stopping_baseline_is_not_the_initial_best():
    """Keras 3: a run that keeps improving but never beats the baseline never stops
    (Keras 2.6 stopped it after `patience` epochs)."""
    values = [1.0 - 0.01 * e for e in range(10)]        # improves every epoch, stays > 0.5
    stopper = EarlyStopping(patience=1, baseline=0.5)
    history = fit(tiny_model(), [ScriptedLogs("val_loss", values), stopper], epochs=10)
    assert len(history.epoch) == 10
    assert stopper.best == pytest.approx(0.91)


def test_early_stopping_baseline_beaten_then_plateau_stops():
    values = [0.8, 0.6, 0.4, 0.45, 0.45, 0.45, 0.45]
    stopper = EarlyStopping(patience=2, baseline=0.5)
    history = fit(tiny_model(), [ScriptedLogs("val_loss", values), stopper], epochs=7)
    # e0, e1 improve without beating 0.5: wait 1, 2 (not reset, but the check is skipped);
    # e2 beats it -> wait 0; e3 -> 1, e4 -> 2 -> stop.
    assert history.epoch == [0, 1, 2, 3, 4]


def test_early_stopping_ignores_epochs_before_start_from_epoch():
    values = [0.1, 0.1, 0.9, 0.9, 0.9, 0.9, 0.9]
    stopper = EarlyStopping(patience=1, start_from_epoch=2)
    history = fit(tiny_model(), [ScriptedLogs("val_loss", values), stopper], epochs=7)
    # without start_from_epoch it would stop at e1; here e2 sets best 0.9, e3 -> wait 1 -> stop
    assert history.epoch == [0, 1, 2, 3]
    assert stopper.best == 0.9


def test_early_stopping_on_accuracy_auto_mode_is_max():
    values = [0.5, 0.6, 0.6, 0.6]
    stopper = EarlyStopping(monitor="val_accuracy", patience=1)
    history = fit(tiny_model(), [ScriptedLogs("val_accuracy", values), stopper], epochs=4)
    assert stopper.direction == "max"
    assert history.epoch == [0, 1, 2]


def test_early_stopping_warns_and_continues_when_monitor_is_missing():
    with pytest.warns(UserWarning, match="val_nothing"):
        history = fit(tiny_model(), [EarlyStopping(monitor="val_nothing", mode="min")],
                      epochs=2)
    assert len(history.epoch) == 2


# =============================================================== TerminateOnNaN
def test_terminate_on_nan_stops_after_the_bad_batch():
    model = tiny_model()
    terminate = TerminateOnNaN()
    terminate.set_model(model)
    terminate.on_batch_end(0, {"loss": 0.5})
    assert not model.stop_training
    terminate.on_batch_end(1, {"loss": float("inf")})
    assert model.stop_training
    with pytest.raises(RuntimeError, match="nan"):
        TerminateOnNaN(raise_error=True).on_batch_end(3, {"loss": float("nan")})


def test_terminate_on_nan_raise_error_names_epoch_and_batch():
    """raise_error gives the library's NonFiniteLossError, still a RuntimeError like Keras's."""
    from numpy_nn.errors import NonFiniteLossError
    terminate = TerminateOnNaN(raise_error=True)
    terminate.on_epoch_begin(4)
    with pytest.raises(NonFiniteLossError, match="epoch 4, batch 3") as caught:
        terminate.on_batch_end(3, {"loss": float("inf")})
    assert isinstance(caught.value, RuntimeError)
    assert (caught.value.epoch, caught.value.batch) == (4, 3)


def test_terminate_on_nan_ends_a_diverging_fit():
    """A learning rate of 1e30 overflows the weights within a few batches; fit stops there."""
    model = tiny_model(1e30)
    x, y = tiny_data(640)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        history = model.fit(x * 1e10, y, epochs=5, batch_size=32, verbose=0,
                            callbacks=[TerminateOnNaN()])
    assert model.stop_training
    assert len(history.epoch) == 1
    assert not math.isfinite(history.history["loss"][0])


# =============================================================== the chapter's custom callbacks
def test_chapter_exponential_decay_callback_runs_unchanged_in_spirit():
    """The chapter's per-batch ExponentialDecay with ``K.get_value``/``K.set_value`` on
    ``optimizer.lr``: the rate set in on_batch_begin is the one that batch uses."""
    s = 4

    class ExponentialDecay(keras.callbacks.Callback):
        def __init__(self, s=40000):
            super().__init__()
            self.s = s

        def on_batch_begin(self, batch, logs=None):
            lr = K.get_value(self.model.optimizer.lr)
            K.set_value(self.model.optimizer.lr, lr * 0.1 ** (1 / s))

        def on_epoch_end(self, epoch, logs=None):
            logs = logs or {}
            logs["learning_rate"] = K.get_value(self.model.optimizer.lr)

    recorder = RecordRates()
    model = tiny_model(0.01, optimizer="nadam")
    history = fit(model, [ExponentialDecay(s), recorder], epochs=2)
    expected = 0.01 * 0.1 ** (np.arange(1, 5) / s)
    np.testing.assert_allclose(recorder.rates, expected, rtol=1e-5)
    np.testing.assert_allclose(history.history["learning_rate"], expected[[1, 3]], rtol=1e-5)


def test_rate_set_in_on_batch_begin_is_used_by_that_batch():
    class ZeroRate(Callback):
        def on_batch_begin(self, batch, logs=None):
            self.model.optimizer.learning_rate = 0.0

    model = tiny_model(0.5)
    before = model.get_weights()
    fit(model, [ZeroRate()], epochs=2)
    for a, b in zip(before, model.get_weights()):
        np.testing.assert_array_equal(a, b)


def test_chapter_exponential_learning_rate_and_find_learning_rate_verbatim():
    """The chapter's hand-written LR finder, as printed (Keras 2 calls included), runs."""
    class ExponentialLearningRate(keras.callbacks.Callback):
        def __init__(self, factor):
            self.factor = factor
            self.rates = []
            self.losses = []

        def on_batch_end(self, batch, logs):
            self.rates.append(K.get_value(self.model.optimizer.lr))
            self.losses.append(logs["loss"])
            K.set_value(self.model.optimizer.lr, self.model.optimizer.lr * self.factor)

    def find_learning_rate(model, X, y, epochs=1, batch_size=32, min_rate=10**-5, max_rate=10):
        init_weights = model.get_weights()
        iterations = len(X) // batch_size * epochs
        factor = np.exp(np.log(max_rate / min_rate) / iterations)
        init_lr = K.get_value(model.optimizer.lr)
        K.set_value(model.optimizer.lr, min_rate)
        exp_lr = ExponentialLearningRate(factor)
        model.fit(X, y, epochs=epochs, batch_size=batch_size, callbacks=[exp_lr])
        K.set_value(model.optimizer.lr, init_lr)
        model.set_weights(init_weights)
        return exp_lr.rates, exp_lr.losses

    model = tiny_model(1e-3)
    x, y = tiny_data(320)
    rates, losses = find_learning_rate(model, x, y, batch_size=32)
    np.testing.assert_allclose(rates, 1e-5 * (1e6 ** (np.arange(10) / 10)), rtol=1e-5)
    assert len(losses) == 10
    assert float(model.optimizer.learning_rate) == pytest.approx(1e-3)

    ours = keras.utils.find_learning_rate(tiny_model(1e-3), x, y, batch_size=32)
    np.testing.assert_allclose(ours[0], rates, rtol=1e-5)


def test_numpy_nn_imports_without_matplotlib_and_tensorboardx():
    import subprocess
    import sys
    code = ("import sys; sys.modules['matplotlib'] = None; sys.modules['tensorboardX'] = None; "
            "import numpy_nn, numpy_nn.utils, numpy_nn.callbacks; "
            "print(numpy_nn.utils.find_learning_rate.__name__)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert "find_learning_rate" in out.stdout


def test_improvement_is_judged_in_float32_like_keras():
    """Keras 3 compares through float32 tensors: 0.5 - 1e-9 is no gain over 0.5, but
    0.5 - 1e-7 (more than half a float32 ulp at 0.5, 3e-8) is."""
    stopper = EarlyStopping(patience=1)
    history = fit(tiny_model(), [ScriptedLogs("val_loss", [0.5, 0.5 - 1e-9, 0.5 - 2e-9]),
                                 stopper], epochs=3)
    assert history.epoch == [0, 1]
    stopper = EarlyStopping(patience=1)
    history = fit(tiny_model(), [ScriptedLogs("val_loss", [0.5, 0.5 - 1e-7, 0.5 - 2e-7]),
                                 stopper], epochs=3)
    assert history.epoch == [0, 1, 2]
