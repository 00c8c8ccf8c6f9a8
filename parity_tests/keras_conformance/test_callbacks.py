"""Keras 3's callback tests (keras/src/callbacks/{early_stopping,reduce_lr_on_plateau,
learning_rate_scheduler,csv_logger,terminate_on_nan}_test.py) on numpy_nn's callbacks and fit.

Keras's models there use losses or metrics numpy_nn does not have ("mae" as a loss, "hinge",
F1Score); the cases keep their structure with "mse" in their place, and say so. Keras's
``assertLogs`` on its logger becomes a check of what numpy_nn prints."""
import csv
import math
import re

import numpy as np
import pytest

import numpy_nn as nn
from numpy_nn import callbacks, layers, models, optimizers
from parity_tests.keras_conformance import keras_case

ES = "callbacks/early_stopping_test.py::EarlyStoppingTest::"
RLR = "callbacks/reduce_lr_on_plateau_test.py::ReduceLROnPlateauTest::"
LRS = "callbacks/learning_rate_scheduler_test.py::LearningRateSchedulerTest::"
CSV = "callbacks/csv_logger_test.py::CSVLoggerTest::"
NAN = "callbacks/terminate_on_nan_test.py::TerminateOnNaNTest::"


def _regressor(loss="mse", metrics=("mse",), optimizer="sgd", inputs=5):
    model = models.Sequential([layers.Input((inputs,)), layers.Dense(1, activation="relu"),
                               layers.Dense(1, activation="relu")])
    model.compile(optimizer=optimizer, loss=loss, metrics=list(metrics))
    return model


def _random(shape, seed):
    return np.random.default_rng(seed).random(shape)


@keras_case(ES + "test_early_stopping")
@pytest.mark.parametrize("mode, monitor, expected", [
    ("max", "val_mse", "max"), ("min", "val_loss", "min"), ("auto", "val_mse", "min"),
    ("auto", "loss", "min"), ("auto", "acc", "max"), ("auto", "val_accuracy", "max")])
def test_early_stopping_modes(mode, monitor, expected):
    """(Keras's "hinge" and F1Score cases are left out: numpy_nn has neither metric.)"""
    model = _regressor(metrics=("mse", "acc", "accuracy"), optimizer="adam")
    stopper = callbacks.EarlyStopping(patience=0, monitor=monitor, mode=mode)
    model.fit(_random((10, 5), 0), _random((10, 1), 1), batch_size=5, epochs=2, verbose=0,
              validation_data=(_random((10, 5), 2), _random((10, 1), 3)), callbacks=[stopper])
    assert stopper.resolve_direction() == expected


@keras_case(ES + "test_early_stopping")
def test_early_stopping_unknown_monitor_raises():
    model = _regressor()
    with pytest.raises(ValueError):
        model.fit(_random((10, 5), 0), _random((10, 1), 1), batch_size=5, epochs=2, verbose=0,
                  validation_data=(_random((10, 5), 2), _random((10, 1), 3)),
                  callbacks=[callbacks.EarlyStopping(patience=0, monitor="unknown")])


@keras_case(ES + "test_early_stopping_patience")
@pytest.mark.parametrize("patience", [0, 1, 2, 3])
def test_early_stopping_patience(patience):
    stopper = callbacks.EarlyStopping(monitor="loss", patience=patience)
    stopper.set_model(_regressor())
    stopper.on_train_begin()
    for epoch, loss in enumerate([10.0, 9.0, 8.0, 9.0, 8.9, 8.8, 8.7, 8.6, 8.5]):
        stopper.on_epoch_end(epoch=epoch, logs={"loss": loss})
        if stopper.model.stop_training:
            break
    assert stopper.stopped_epoch == max(patience, 1) + 2


@keras_case(ES + "test_early_stopping_reuse")
def test_early_stopping_reuse():
    """(Keras trains with loss "mae"; "mse" here.)"""
    data = _random((100, 1), 4)
    labels = np.where(data > 0.5, 1, 0)
    model = models.Sequential([layers.Input((1,)), layers.Dense(1, activation="relu"),
                               layers.Dense(1, activation="relu")])
    model.compile(optimizer="sgd", loss="mse", metrics=["mse"])
    stopper = callbacks.EarlyStopping(monitor="mse", patience=3)
    for _ in range(2):
        history = model.fit(data, labels, callbacks=[stopper], verbose=0, epochs=20)
        assert len(history.epoch) >= 3


@keras_case(ES + "test_state_reset_across_fit_calls")
def test_early_stopping_state_reset():
    stopper = callbacks.EarlyStopping(monitor="loss", patience=3)
    stopper.set_model(_regressor())
    stopper.on_train_begin()
    stopper.best, stopper.wait, stopper.stopped_epoch = 0.1, 3, 5
    stopper.best_epoch, stopper.best_weights = 5, object()
    stopper.on_train_begin()
    assert stopper.best is None and stopper.wait == 0 and stopper.stopped_epoch == 0
    assert stopper.best_epoch == 0 and stopper.best_weights is None


@keras_case(ES + "test_early_stopping_with_baseline")
def test_early_stopping_with_baseline():
    model = _regressor()
    stopper = callbacks.EarlyStopping(monitor="mse", patience=3, baseline=0.6)
    history = model.fit(_random((10, 5), 5), _random((10, 1), 6), callbacks=[stopper],
                        verbose=0, epochs=20)
    assert len(history.epoch) >= 3


class _DummyModel:
    """Keras's stand-in model: its "weights" are the epoch they were set at."""

    def __init__(self):
        self.stop_training = False
        self.weights = -1

    def get_weights(self):
        return self.weights

    def set_weights(self, weights):
        self.weights = weights


def _run_restoring(stopper, losses, stop_at=None):
    stopper.set_model(_DummyModel())
    stopper.on_train_begin()
    trained = 0
    for epoch, loss in enumerate(losses):
        trained += 1
        stopper.model.weights = epoch
        stopper.on_epoch_end(epoch, logs={"val_loss": loss})
        if epoch == stop_at:
            stopper.model.stop_training = True
        if stopper.model.stop_training:
            break
    stopper.on_train_end()
    return trained


@keras_case(ES + "test_early_stopping_final_weights_when_restoring_model_weights")
def test_early_stopping_restores_the_best_weights():
    stopper = callbacks.EarlyStopping(monitor="val_loss", patience=2, restore_best_weights=True)
    _run_restoring(stopper, [0.2, 0.15, 0.1, 0.11, 0.12])
    assert stopper.model.get_weights() == 2
    stopper = callbacks.EarlyStopping(monitor="val_loss", patience=5, baseline=0.5,
                                      restore_best_weights=True)
    assert _run_restoring(stopper, [0.9, 0.8, 0.7, 0.71, 0.72, 0.73]) == 5
    assert stopper.model.get_weights() == 2
    stopper = callbacks.EarlyStopping(monitor="val_loss", patience=5, baseline=0.5,
                                      restore_best_weights=True)
    assert _run_restoring(stopper, [0.9, 0.8, 0.7, 0.71, 0.72, 0.73], stop_at=3) == 4
    assert stopper.model.get_weights() == 2


@keras_case(ES + "test_early_stopping_with_start_from_epoch")
@pytest.mark.parametrize("patience, start", [(3, 2), (0, 2)])
def test_early_stopping_start_from_epoch(patience, start):
    model = _regressor()
    stopper = callbacks.EarlyStopping(monitor="mse", patience=patience, start_from_epoch=start)
    history = model.fit(_random((10, 5), 7), _random((10, 1), 8), callbacks=[stopper],
                        verbose=0, epochs=20)
    assert len(history.epoch) >= patience + start


# ---------------------------------------------------------------------- ReduceLROnPlateau
def _plateau_setup():
    """Keras's setUp: 10 + 10 samples of 3 features, 2 one-hot classes, Dense(5) → Dense(2),
    mse, Adam(0.1)."""
    rng = np.random.default_rng(9)
    x_train, x_test = rng.random((10, 3)), rng.random((10, 3))
    y_train = nn.utils.to_categorical(rng.integers(0, 2, 10), 2)
    y_test = nn.utils.to_categorical(rng.integers(0, 2, 10), 2)
    model = models.Sequential([layers.Input((3,)), layers.Dense(5), layers.Dense(2)])
    model.compile(loss="mse", optimizer=optimizers.Adam(0.1))
    return model, (x_train, y_train), (x_test, y_test)


def _learning_rate(model):
    return float(model.optimizer.learning_rate.numpy())


@pytest.mark.parametrize("kwargs, epochs, expected", [
    pytest.param({"min_delta": 100}, 2, 0.01, marks=keras_case(RLR + "test_reduces_lr_with_"
                                                                     "model_fit")),
    pytest.param({"min_delta": 10, "min_lr": 0.005}, 4, 0.005,
                 marks=keras_case(RLR + "test_honors_min_lr")),
    pytest.param({"min_delta": 100, "cooldown": 2}, 4, 0.001,
                 marks=keras_case(RLR + "test_cooldown")),
])
def test_reduce_lr_on_plateau(kwargs, epochs, expected):
    model, train, test = _plateau_setup()
    reduce = callbacks.ReduceLROnPlateau(patience=1, factor=0.1, monitor="val_loss", **kwargs)
    model.fit(*train, validation_data=test, callbacks=[reduce], epochs=epochs, verbose=0)
    np.testing.assert_allclose(_learning_rate(model), expected, rtol=1e-6)


@pytest.mark.parametrize("callback", [
    pytest.param(lambda: callbacks.ReduceLROnPlateau(patience=1, factor=0.1, min_delta=100),
                 marks=keras_case(RLR + "test_throws_when_optimizer_has_schedule")),
    pytest.param(lambda: callbacks.LearningRateScheduler(lambda step, lr: lr / 2),
                 marks=keras_case(LRS + "test_throws_when_optimizer_has_schedule")),
])
def test_learning_rate_callbacks_refuse_a_schedule(callback):
    """(Keras's optimizer uses PolynomialDecay; ExponentialDecay is numpy_nn's schedule.)"""
    model, train, test = _plateau_setup()
    model.compile(loss="mse", optimizer=optimizers.Adam(
        optimizers.schedules.ExponentialDecay(0.1, 10, 0.5)))
    with pytest.raises(TypeError, match="LearningRateSchedule|schedule"):
        model.fit(*train, validation_data=test, callbacks=[callback()], epochs=2, verbose=0)


@keras_case(RLR + "test_verbose_logging")
def test_reduce_lr_on_plateau_says_what_it_did(capsys):
    model, train, test = _plateau_setup()
    reduce = callbacks.ReduceLROnPlateau(patience=1, factor=0.1, monitor="val_loss",
                                         min_delta=100, verbose=1)
    model.fit(*train, validation_data=test, callbacks=[reduce], epochs=2, verbose=0)
    assert "ReduceLROnPlateau reducing learning rate to 0.01" in capsys.readouterr().out


@keras_case(RLR + "test_state_reset_across_fit_calls")
def test_reduce_lr_on_plateau_state_reset():
    model, _, _ = _plateau_setup()
    reduce = callbacks.ReduceLROnPlateau(patience=1, factor=0.1, monitor="loss", min_delta=0,
                                         cooldown=2)
    reduce.set_model(model)
    reduce.on_train_begin()
    reduce.best, reduce.wait, reduce.cooldown_counter = 0.5, 3, 2
    reduce.on_train_begin()
    assert reduce.best is None and reduce.wait == 0 and reduce.cooldown_counter == 0


# ------------------------------------------------------------------- LearningRateScheduler
def _scheduler_setup(optimizer="sgd"):
    model, train, _ = _plateau_setup()
    model.compile(loss="mse", optimizer=optimizer)
    return model, train


@keras_case(LRS + "test_updates_learning_rate")
def test_scheduler_updates_the_learning_rate():
    model, train = _scheduler_setup()
    scheduler = callbacks.LearningRateScheduler(lambda step: 1.0 / (2.0 + step))
    model.fit(*train, callbacks=[scheduler], epochs=1, verbose=0)
    assert _learning_rate(model) == 0.5


@keras_case(LRS + "test_verbose_logging")
def test_scheduler_says_what_it_did(capsys):
    model, train = _scheduler_setup()
    scheduler = callbacks.LearningRateScheduler(lambda step: 1.0 / (1.0 + step), verbose=1)
    model.fit(*train, callbacks=[scheduler], epochs=1, verbose=0)
    assert "LearningRateScheduler setting learning rate to 1.0" in capsys.readouterr().out


@keras_case(LRS + "test_schedule_dependent_on_previous_learning_rate")
def test_scheduler_from_the_previous_rate():
    model, train = _scheduler_setup(optimizers.Adam(0.03))
    model.fit(*train, callbacks=[callbacks.LearningRateScheduler(lambda step, lr: lr / 2)],
              epochs=2, verbose=0)
    np.testing.assert_allclose(_learning_rate(model), 0.03 / 4.0, rtol=1e-6)


@keras_case(LRS + "test_learning_rate_in_history")
def test_learning_rate_in_history():
    model, train = _scheduler_setup()
    history = model.fit(*train, callbacks=[callbacks.LearningRateScheduler(lambda s, lr: 0.5)],
                        epochs=1, verbose=0)
    rates = history.history["learning_rate"]
    assert type(rates[0]) is float and rates[0] == 0.5


# --------------------------------------------------------------------------- CSVLogger
def _csv_model():
    model = models.Sequential([layers.Input((3,)), layers.Dense(2, activation="relu"),
                               layers.Dense(1)])
    model.compile(loss="mse", optimizer="sgd", metrics=["mse"])
    return model


@keras_case(CSV + "test_CSVLogger")
def test_csv_logger(tmp_path):
    rng = np.random.default_rng(1337)
    x_train, y_train, x_test, y_test = (rng.random((10, 3)), rng.random((10, 1)),
                                        rng.random((10, 3)), rng.random((10, 1)))
    path = tmp_path / "log.tsv"
    fit = dict(batch_size=4, validation_data=(x_test, y_test), verbose=0)
    _csv_model().fit(x_train, y_train, epochs=1,
                     callbacks=[callbacks.CSVLogger(str(path), separator="\t")], **fit)
    with open(path) as handle:
        assert csv.Sniffer().sniff(handle.read()).delimiter == "\t"
    model = _csv_model()
    logger = [callbacks.CSVLogger(str(path), separator="\t", append=True)]
    model.fit(x_train, y_train, epochs=1, callbacks=logger, **fit)
    model.fit(x_train, y_train, epochs=2, callbacks=logger, **fit)
    lines = path.read_text().splitlines(keepends=True)
    assert all(line.count("\t") == 4 for line in lines) and len(lines) == 5
    assert len(re.findall("epoch", " ".join(lines))) == 1
    path.unlink()
    history = _csv_model().fit(x_train, y_train, epochs=5, validation_freq=3,
                               callbacks=[callbacks.CSVLogger(str(path), separator="\t")], **fit)
    with open(path) as handle:
        for index, row in enumerate(csv.DictReader(handle, delimiter="\t"), 1):
            assert "val_loss" in row
            expected = str(history.history["val_loss"][0]) if index == 3 else "NA"
            assert row["val_loss"] == expected


def _exploding(seed=1337):
    """Keras's net for TerminateOnNaN: five Dense(2, relu) with every kernel weight 1e5, then
    Dense(2): the first loss overflows."""
    rng = np.random.default_rng(seed)
    x_train, x_test = rng.random((10, 3)), rng.random((10, 3))
    y_train = nn.utils.to_categorical(rng.integers(0, 2, 10), 2)
    y_test = nn.utils.to_categorical(rng.integers(0, 2, 10), 2)
    model = models.Sequential([layers.Input((3,))])
    for _ in range(5):
        model.add(layers.Dense(2, activation="relu",
                               kernel_initializer=nn.initializers.Constant(1e5)))
    model.add(layers.Dense(2))
    model.compile(loss="mean_squared_error", optimizer="sgd")
    return model, (x_train, y_train), (x_test, y_test)


@keras_case(CSV + "test_stop_training_csv")
def test_csv_logger_with_terminate_on_nan(tmp_path):
    model, train, test = _exploding()
    path = tmp_path / "csv_logger.csv"
    with np.errstate(all="ignore"):
        history = model.fit(*train, batch_size=4, validation_data=test, epochs=20, verbose=0,
                            callbacks=[callbacks.TerminateOnNaN(), callbacks.CSVLogger(str(path))])
    loss = history.history["loss"]
    assert len(loss) == 1 and not math.isfinite(loss[0])
    with open(path) as handle:
        rows = [row for row in csv.reader(handle) if row]
    assert any(value in ("nan", "inf") for value in rows[-1])


@keras_case(NAN + "test_TerminateOnNaN")
def test_terminate_on_nan():
    model, train, test = _exploding()
    with np.errstate(all="ignore"):
        history = model.fit(*train, batch_size=4, validation_data=test, epochs=20, verbose=0,
                            callbacks=[callbacks.TerminateOnNaN()])
    assert len(history.history["loss"]) == 1 and not math.isfinite(history.history["loss"][0])


# Keras's targets here are inf; numpy_nn refuses non-finite targets before training (a clear
# ValueError naming y), so the non-finite loss comes from a target of 1e30, whose square
# overflows float32 -- the same loss the callback sees.
HUGE1 = np.array([[1e30]])
HUGE2 = np.array([[1e30], [1e30]])


def _one_unit():
    model = models.Sequential([layers.Dense(1, input_shape=(1,))])
    model.compile(optimizer="sgd", loss="mse")
    return model


@keras_case(NAN + "test_terminate_on_nan_graceful_stop")
def test_terminate_on_nan_stops_quietly():
    with np.errstate(all="ignore"):
        history = _one_unit().fit(np.array([[1.0], [2.0]]), HUGE2,
                                  epochs=2, batch_size=1, verbose=0,
                                  callbacks=[callbacks.TerminateOnNaN(raise_error=False)])
    assert len(history.history["loss"]) < 4


@keras_case(NAN + "test_terminate_on_nan_raise_error_raises_error")
def test_terminate_on_nan_raises():
    with np.errstate(all="ignore"), pytest.raises(RuntimeError, match="loss is"):
        _one_unit().fit(np.array([[1.0], [2.0]]), HUGE2, epochs=1,
                        batch_size=1, verbose=0,
                        callbacks=[callbacks.TerminateOnNaN(raise_error=True)])


class _Tracking(callbacks.Callback):
    def __init__(self):
        super().__init__()
        self.train_end_called = False

    def on_train_end(self, logs=None):
        self.train_end_called = True


@keras_case(NAN + "test_raise_error_terminate_does_not_trigger_on_train_end")
def test_raise_error_skips_on_train_end():
    tracking = _Tracking()
    with np.errstate(all="ignore"), pytest.raises(RuntimeError):
        _one_unit().fit(np.array([[1.0]]), HUGE1, epochs=1, verbose=0,
                        callbacks=[tracking, callbacks.TerminateOnNaN(raise_error=True)])
    assert not tracking.train_end_called


@keras_case(NAN + "test_raise_error_terminate_preserves_backup")
def test_raise_error_preserves_the_backup(tmp_path):
    backup_dir = tmp_path / "backups"
    backup_dir.mkdir()
    marker = backup_dir / "checkpoint.txt"
    marker.write_text("dummy checkpoint")
    backup = callbacks.BackupAndRestore(backup_dir=str(backup_dir))
    backup.on_train_end = lambda logs=None: None
    with np.errstate(all="ignore"), pytest.raises(RuntimeError):
        _one_unit().fit(np.array([[1.0]]), HUGE1, epochs=1, verbose=0,
                        callbacks=[backup, callbacks.TerminateOnNaN(raise_error=True)])
    assert backup_dir.exists() and marker.exists()


@keras_case(NAN + "test_normal_training_does_not_raise")
@pytest.mark.parametrize("raise_error", [False, True])
def test_terminate_on_nan_leaves_normal_training_alone(raise_error):
    history = _one_unit().fit(np.array([[1.0], [2.0]]), np.array([[1.0], [2.0]]), epochs=2,
                              verbose=0, callbacks=[callbacks.TerminateOnNaN(raise_error)])
    assert len(history.history["loss"]) == 2


@keras_case(NAN + "test_raise_error_terminate_stops_on_later_batch")
def test_terminate_on_nan_names_the_batch():
    with np.errstate(all="ignore"), pytest.raises(RuntimeError) as raised:
        _one_unit().fit(np.array([[1.0], [2.0]]), np.array([[1.0], [1e30]]), epochs=1,
                        batch_size=1, verbose=0,
                        callbacks=[callbacks.TerminateOnNaN(raise_error=True)])
    assert any(f"batch {i}" in str(raised.value) for i in (0, 1))
