"""Callbacks: LearningRateScheduler, ReduceLROnPlateau, EarlyStopping against Keras 3.

Two kinds of test:

* **Scripted epochs.** Each callback is driven through the ``fit`` hook sequence
  (``on_train_begin``, then per epoch ``on_epoch_begin`` → ``on_epoch_end(logs)``, then
  ``on_train_end``) with the *same* monitored values on both sides, attached to a small compiled
  model of each engine. Every epoch the weights are set to an epoch-specific value, so that
  ``restore_best_weights`` shows which epoch it restored. Compared: the learning rate used in
  every epoch, the logs each epoch ends with (keys and values, e.g. ``learning_rate``), the epoch
  at which ``stop_training`` is set, and the final weights — all must be identical.
* **A real fit** of both engines (``parity_tests.builders.fit_both``) with the callback,
  comparing the History keys and the logged learning rates.

Both sides' models and optimizers are built by their own library from one description
(``parity_tests.builders``).

Keras 2 (the book's version) behaved differently in ways these tests pin down (numpy_nn follows
Keras 3):

* the logged key is ``learning_rate``, never Keras 2's ``lr``;
* EarlyStopping's ``baseline`` is *not* the initial best: a run that improves but never beats
  the baseline never stops (Keras 2.6 stopped after ``patience`` epochs; Keras 2.3 started from
  best = baseline);
* EarlyStopping with ``restore_best_weights=True`` restores the best weights at the end of
  training even when it never stopped early (Keras 2 restored only when it stopped);
* ReduceLROnPlateau / EarlyStopping in ``mode="auto"`` infer the direction from the metric
  (accuracy → max), not from ``"acc" in monitor``.
"""
import keras
import numpy as np
import pytest

import numpy_nn as nn
from parity_tests import tolerances as tol
from parity_tests.builders import compile_both, fit_both, twins, use
from parity_tests.report import check


# ------------------------------------------------------------------ scripted epochs
def small_models():
    """A compiled numpy_nn model and its Keras twin (SGD 0.01), sharing weights."""
    model, keras_model = twins([("Dense", dict(units=2, activation="softmax"))], (3,))
    compile_both(model, keras_model, use("optimizers.SGD", learning_rate=0.01),
                 "sparse_categorical_crossentropy", metrics=["accuracy"])
    # Keras builds its compiled metrics on the first batch, and mode="auto" looks the monitored
    # metric up among them (accuracy -> max); one evaluate() builds them without training.
    keras_model.evaluate(np.zeros((2, 3), np.float32), np.zeros(2, np.int64), verbose=0)
    return model, keras_model


def current_learning_rate(model):
    return float(np.asarray(model.optimizer.learning_rate))


def drive(callback, model, epoch_logs):
    """Run ``callback`` through the hooks ``fit`` calls, one epoch per entry of ``epoch_logs``.

    Returns (rate used in each epoch, logs after each on_epoch_end, epochs run, final weights).
    """
    model.stop_training = False
    callback.set_model(model)
    callback.set_params({"epochs": len(epoch_logs), "steps": 1, "verbose": 0})
    callback.on_train_begin({})
    rates, logs_seen = [], []
    for epoch, values in enumerate(epoch_logs):
        callback.on_epoch_begin(epoch, {})
        rates.append(current_learning_rate(model))
        model.set_weights([np.full(w.shape, epoch + 1.0, np.float32)
                           for w in model.get_weights()])
        logs = dict(values)
        callback.on_epoch_end(epoch, logs)
        logs_seen.append({key: float(value) for key, value in logs.items()})
        if model.stop_training:
            break
    callback.on_train_end({})
    final = float(np.asarray(model.get_weights()[0]).flat[0])
    return rates, logs_seen, len(logs_seen), final


def compare_scripted(component, numpy_cb, keras_cb, epoch_logs):
    model, keras_model = small_models()
    rates, logs, epochs, final = drive(numpy_cb, model, epoch_logs)
    k_rates, k_logs, k_epochs, k_final = drive(keras_cb, keras_model, epoch_logs)
    assert logs == k_logs, f"{component}: epoch logs differ:\n{logs}\n{k_logs}"
    assert epochs == k_epochs, f"{component}: stopped after {epochs} epochs, Keras {k_epochs}"
    assert final == k_final, f"{component}: final weights from epoch {final}, Keras {k_final}"
    assert len(rates) == len(k_rates)
    error = max(abs(a - b) / abs(b) for a, b in zip(rates, k_rates))
    check(f"callback: {component}", error, tol.CALLBACK_EXACT,
          f"learning rates {rates} vs Keras {k_rates}")
    return k_rates, k_logs, k_epochs, k_final


def losses(*values):
    return [{"loss": v + 0.1, "val_loss": v} for v in values]


# The chapter's schedules (section "Learning rate scheduling").
def exponential_decay_fn(epoch):
    return 0.01 * 0.1 ** (epoch / 20)


def piecewise_constant_fn(epoch):
    if epoch < 5:
        return 0.01
    elif epoch < 15:
        return 0.005
    return 0.001


def decay_after_three(epoch, lr):
    return lr * 0.9 if epoch >= 3 else lr


@pytest.mark.parametrize("schedule", [exponential_decay_fn, piecewise_constant_fn,
                                      decay_after_three],
                         ids=["1-arg exponential (chapter)", "1-arg piecewise (chapter)",
                              "2-arg (epoch, lr)"])
def test_learning_rate_scheduler(schedule):
    cls = nn.callbacks.LearningRateScheduler
    logs = losses(*np.linspace(1.0, 0.5, 20))
    compare_scripted("LearningRateScheduler", cls(schedule),
                     keras.callbacks.LearningRateScheduler(schedule), logs)


PLATEAU_CASES = {
    "patience 2, factor 0.5": (dict(patience=2, factor=0.5),
                               losses(1.0, 0.9, 0.9, 0.95, 0.9, 0.8, 0.85, 0.85, 0.85, 0.7, 0.7,
                                      0.7)),
    "min_delta 0.05 (small gains are plateaus)": (
        dict(patience=1, factor=0.5, min_delta=0.05),
        losses(1.0, 0.97, 0.94, 0.91, 0.80, 0.78, 0.77, 0.6)),
    "cooldown 2, min_lr": (dict(patience=1, factor=0.2, cooldown=2, min_lr=0.0005),
                           losses(*[1.0] * 14)),
    "mode max on val_accuracy (auto)": (
        dict(monitor="val_accuracy", patience=1, factor=0.5),
        [{"loss": 1.0, "val_accuracy": a} for a in (0.5, 0.6, 0.6, 0.55, 0.7, 0.7, 0.7, 0.71)]),
    "ties are not improvements": (dict(patience=1, factor=0.5),
                                  losses(0.5, 0.5, 0.5, 0.5, 0.4, 0.4)),
}


@pytest.mark.parametrize("case", list(PLATEAU_CASES))
def test_reduce_lr_on_plateau(case):
    cls = nn.callbacks.ReduceLROnPlateau
    kwargs, logs = PLATEAU_CASES[case]
    k_rates, k_logs, _, _ = compare_scripted("ReduceLROnPlateau", cls(**kwargs),
                                             keras.callbacks.ReduceLROnPlateau(**kwargs), logs)
    assert "learning_rate" in k_logs[0] and "lr" not in k_logs[0]
    assert len(set(k_rates)) > 1 or case == "ties are not improvements", \
        "the scripted values should make Keras reduce the learning rate"


EARLY_STOPPING_CASES = {
    "patience 0 (constant loss runs 2 epochs)": (dict(patience=0), losses(*[1.0] * 6)),
    "patience 2": (dict(patience=2), losses(1.0, 0.9, 0.95, 0.92, 0.85, 0.9, 0.91, 0.92)),
    "min_delta 0.05": (dict(patience=1, min_delta=0.05),
                       losses(1.0, 0.9, 0.88, 0.86, 0.7, 0.69, 0.68)),
    "restore_best_weights after stopping": (
        dict(patience=2, restore_best_weights=True), losses(1.0, 0.8, 0.9, 0.85, 0.95, 0.7)),
    "restore_best_weights without stopping (Keras 3)": (
        dict(patience=10, restore_best_weights=True), losses(1.0, 0.6, 0.9, 0.85, 0.95, 0.7)),
    "baseline never beaten: never stops (Keras 3)": (
        dict(patience=1, baseline=0.5), losses(1.0, 0.95, 0.9, 0.85, 0.8, 0.75, 0.7)),
    "baseline beaten": (dict(patience=1, baseline=0.5),
                        losses(1.0, 0.6, 0.45, 0.47, 0.46, 0.44, 0.48, 0.49)),
    "start_from_epoch 3": (dict(patience=0, start_from_epoch=3), losses(*[1.0] * 8)),
    "mode max on val_accuracy (auto)": (
        dict(monitor="val_accuracy", patience=1, restore_best_weights=True),
        [{"loss": 1.0, "val_accuracy": a} for a in (0.5, 0.6, 0.58, 0.59, 0.7)]),
}


@pytest.mark.parametrize("case", list(EARLY_STOPPING_CASES))
def test_early_stopping(case):
    cls = nn.callbacks.EarlyStopping
    kwargs, logs = EARLY_STOPPING_CASES[case]
    compare_scripted("EarlyStopping", cls(**kwargs), keras.callbacks.EarlyStopping(**kwargs),
                     logs)


def test_improvement_is_judged_through_float32_like_keras():
    """Keras 3 decides "improved?" with ``keras.ops.less(current - min_delta, best)`` on Python
    floats, which converts both to float32 tensors (whatever floatx is): a gain smaller than
    float32's resolution (1e-9 on 0.5) is *not* an improvement. numpy_nn's
    ``MonitorCallback.is_improvement`` rounds both sides to float32 the same way, so even
    monitored values within a float32 ulp of each other give the same decisions.
    """
    cls = nn.callbacks.EarlyStopping
    logs = losses(0.5, 0.5 - 1e-9, 0.5 - 2e-9, 0.5 - 3e-9)
    model, keras_model = small_models()
    _, _, epochs, _ = drive(cls(patience=1), model, logs)
    _, _, keras_epochs, _ = drive(keras.callbacks.EarlyStopping(patience=1), keras_model, logs)
    assert keras_epochs == 2      # 0.5 - 1e-9 is 0.5 in float32: no gain, patience 1 -> stop
    check("callback: EarlyStopping", abs(epochs - keras_epochs), tol.CALLBACK_EXACT,
          f"improvement within a float32 ulp: {epochs} epochs run vs Keras {keras_epochs}")
    assert epochs == keras_epochs


# ------------------------------------------------------------------ a real fit
def _fit_both(numpy_cb, keras_cb, epochs=6):
    rng = np.random.default_rng(0)
    x = rng.normal(0, 1, (96, 6)).astype(np.float32)
    y = (x[:, 0] + x[:, 1] > 0).astype(np.int64)
    model, keras_model = twins([("Dense", dict(units=8, activation="relu")),
                                ("Dense", dict(units=2, activation="softmax"))], (6,))
    compile_both(model, keras_model, use("optimizers.SGD", learning_rate=0.05),
                 "sparse_categorical_crossentropy", metrics=["accuracy"])
    return fit_both(model, keras_model, x[:64], y[:64], epochs=epochs, batch_size=16,
                    validation_data=(x[64:], y[64:]), callbacks=[numpy_cb],
                    keras_callbacks=[keras_cb])


@pytest.mark.parametrize("name, kwargs", [
    ("LearningRateScheduler", dict(schedule=exponential_decay_fn)),
    ("ReduceLROnPlateau", dict(monitor="loss", patience=0, factor=0.5, min_delta=10.0)),
    ("EarlyStopping", dict(monitor="loss", patience=0, min_delta=10.0)),
])
def test_history_keys_in_a_real_fit(name, kwargs):
    cls = getattr(nn.callbacks, name)
    result = _fit_both(cls(**kwargs), getattr(keras.callbacks, name)(**kwargs))
    assert sorted(result.numpy_history) == sorted(result.keras_history)
    assert len(result.numpy_history["loss"]) == len(result.keras_history["loss"])
    if "learning_rate" in result.keras_history:
        ours = np.array(result.numpy_history["learning_rate"])
        theirs = np.array(result.keras_history["learning_rate"])
        check(f"callback: {name}", float(np.max(np.abs(ours - theirs) / theirs)),
              tol.CALLBACK_EXACT, "History['learning_rate'] in a real fit")
