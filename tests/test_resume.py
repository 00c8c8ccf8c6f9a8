"""Resuming training: a run interrupted after epoch k and resumed from its checkpoint ends with
weights *bit-identical* to a run that was never interrupted (same seed, same machine).

That needs everything training depends on to be in the checkpoint: the weights (with
BatchNormalization's moving statistics), the optimizer's slots, iteration count and learning
rate (and Nadam's momentum product), the epoch, and the state of every random generator
(shuffling, dropout masks, seeded Dropout layers). Each test resumes into a model built with a
*different* seed, so nothing can come from the model's own initialisation.

Two resume paths are covered: the ``BackupAndRestore`` callback (Keras's), and the manual one
(``save_checkpoint`` → ``load_model`` → ``restore_training_state`` → ``fit(initial_epoch=...)``).
A loss that turns NaN never overwrites the last good checkpoint.
"""
import math
import os

import numpy as np
import pytest

import numpy_nn as keras
from numpy_nn import backend
from numpy_nn.errors import ModelFileError, NonFiniteLossError

EPOCHS, STOP_AT = 6, 3
X = np.random.default_rng(10).random((120, 3, 4)).astype(np.float32)
Y = np.random.default_rng(11).integers(0, 3, 120)

OPTIMIZERS = {
    "Nadam": lambda: keras.optimizers.Nadam(learning_rate=2e-3),
    "Adam-amsgrad": lambda: keras.optimizers.Adam(learning_rate=2e-3, amsgrad=True),
    "AdamW": lambda: keras.optimizers.AdamW(learning_rate=2e-3),
    "SGD-nesterov-schedule": lambda: keras.optimizers.SGD(
        learning_rate=keras.optimizers.schedules.ExponentialDecay(0.05, 10, 0.5),
        momentum=0.9, nesterov=True),
    "RMSprop-centered-clipnorm": lambda: keras.optimizers.RMSprop(centered=True, momentum=0.5,
                                                                  clipnorm=1.0),
    "Adagrad-decay": lambda: keras.optimizers.Adagrad(learning_rate=0.05, decay=1e-2),
    "Adamax": lambda: keras.optimizers.Adamax(),
    "legacy.Nadam": lambda: keras.optimizers.legacy.Nadam(lr=2e-3),
    "legacy.RMSprop-decay": lambda: keras.optimizers.legacy.RMSprop(lr=2e-3, decay=1e-2),
}


def build(seed, optimizer="Nadam"):
    """Everything random at once: initializers, shuffling, Dropout (global generator), a
    seeded Dropout (its own generator), AlphaDropout, BatchNormalization, max-norm, l2."""
    backend.set_random_seed(seed)
    model = keras.models.Sequential([
        keras.layers.Flatten(input_shape=(3, 4)),
        keras.layers.Dense(16, activation="elu", kernel_initializer="he_normal",
                           kernel_regularizer=keras.regularizers.l2(1e-3)),
        keras.layers.BatchNormalization(),
        keras.layers.Dropout(0.3),
        keras.layers.Dense(16, activation="selu", kernel_initializer="lecun_normal",
                           kernel_constraint=keras.constraints.max_norm(2.0)),
        keras.layers.AlphaDropout(0.1),
        keras.layers.Dropout(0.2, seed=42),
        keras.layers.Dense(3, activation="softmax")])
    model.compile(loss="sparse_categorical_crossentropy", optimizer=OPTIMIZERS[optimizer](),
                  metrics=["accuracy"])
    return model


FIT = dict(epochs=EPOCHS, batch_size=16, verbose=0, validation_split=0.2,
           class_weight={0: 1.0, 1: 2.0, 2: 0.5})


class Interrupt(Exception):
    pass


class InterruptAt(keras.callbacks.Callback):
    """Simulates a crash at the start of epoch ``epoch`` (as in Keras's own example)."""

    def __init__(self, epoch):
        super().__init__()
        self.epoch = epoch

    def on_epoch_begin(self, epoch, logs=None):
        if epoch == self.epoch:
            raise Interrupt(f"interrupted at epoch {epoch}")


def uninterrupted(optimizer="Nadam"):
    model = build(1, optimizer)
    history = model.fit(X, Y, **FIT)
    return model.get_weights(), history.history


def assert_bit_identical(expected, actual):
    assert len(expected) == len(actual)
    for a, b in zip(expected, actual):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("optimizer", sorted(OPTIMIZERS))
def test_backup_and_restore_resumes_bit_identically(tmp_path, optimizer):
    reference_weights, reference_history = uninterrupted(optimizer)
    backup = keras.callbacks.BackupAndRestore(tmp_path / "backup")
    with pytest.raises(Interrupt):
        build(1, optimizer).fit(X, Y, callbacks=[backup, InterruptAt(STOP_AT)], **FIT)
    assert os.listdir(tmp_path / "backup") == ["latest.checkpoint"]

    resumed = build(999, optimizer)
    history = resumed.fit(X, Y, callbacks=[backup], **FIT)
    assert backup.restored_epoch == STOP_AT
    assert history.epoch == list(range(STOP_AT, EPOCHS))
    assert_bit_identical(reference_weights, resumed.get_weights())
    for key, values in history.history.items():          # the resumed epochs' logs too
        assert values == reference_history[key][STOP_AT:], key
    assert not (tmp_path / "backup").exists()            # fit finished: backup deleted


def interrupted_run_with_checkpoints(path):
    """Train with ``save_checkpoint`` after every epoch until the crash at ``STOP_AT``."""

    class Checkpoint(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            keras.models.save_checkpoint(self.model, path, epoch=epoch + 1)

    with pytest.raises(Interrupt):
        build(1).fit(X, Y, callbacks=[Checkpoint(), InterruptAt(STOP_AT)], **FIT)


def test_manual_resume_with_load_model_is_bit_identical(tmp_path):
    reference_weights, _ = uninterrupted()
    path = tmp_path / "run.ckpt"
    interrupted_run_with_checkpoints(path)

    backend.set_random_seed(777)                # a new session: the generators moved on
    model = keras.models.load_model(path)
    initial_epoch = keras.models.restore_training_state(model)
    assert initial_epoch == STOP_AT
    model.fit(X, Y, initial_epoch=initial_epoch, **FIT)
    assert_bit_identical(reference_weights, model.get_weights())


def test_resume_without_the_random_state_is_not_identical(tmp_path):
    """The control: weights and optimizer state alone do not reproduce the run, because the
    shuffling and the dropout masks would differ. (This is why the RNG state is saved.)"""
    reference_weights, _ = uninterrupted()
    path = tmp_path / "run.ckpt"
    interrupted_run_with_checkpoints(path)
    backend.set_random_seed(777)
    model = keras.models.load_model(path)            # no restore_training_state
    model.fit(X, Y, initial_epoch=STOP_AT, **FIT)
    assert any(not np.array_equal(a, b) for a, b in zip(reference_weights, model.get_weights()))


def test_double_checkpoint_falls_back_to_the_previous_backup(tmp_path):
    """If the latest backup is damaged (a disk error, not a crash: crashes cannot damage it),
    the previous one is used; resuming from one epoch earlier still ends bit-identical."""
    reference_weights, _ = uninterrupted()
    backup = keras.callbacks.BackupAndRestore(tmp_path / "backup", double_checkpoint=True)
    with pytest.raises(Interrupt):
        build(1).fit(X, Y, callbacks=[backup, InterruptAt(STOP_AT)], **FIT)
    latest = tmp_path / "backup" / "latest.checkpoint"
    latest.write_bytes(latest.read_bytes()[:1000])
    resumed = build(5)
    with pytest.warns(RuntimeWarning, match="latest backup is unreadable"):
        resumed.fit(X, Y, callbacks=[backup], **FIT)
    assert backup.restored_epoch == STOP_AT - 1
    assert_bit_identical(reference_weights, resumed.get_weights())


def test_damaged_single_backup_is_a_clear_error(tmp_path):
    backup = keras.callbacks.BackupAndRestore(tmp_path / "backup")
    with pytest.raises(Interrupt):
        build(1).fit(X, Y, callbacks=[backup, InterruptAt(2)], **FIT)
    (tmp_path / "backup" / "latest.checkpoint").write_bytes(b"garbage")
    with pytest.raises(ModelFileError, match="BackupAndRestore: cannot restore.*Delete"):
        build(1).fit(X, Y, callbacks=[backup], **FIT)


def test_backup_of_another_optimizer_is_refused(tmp_path):
    backup = keras.callbacks.BackupAndRestore(tmp_path / "backup")
    with pytest.raises(Interrupt):
        build(1, "Adamax").fit(X, Y, callbacks=[backup, InterruptAt(2)], **FIT)
    with pytest.raises(ValueError, match="written by a Adamax optimizer, the model uses Nadam"):
        build(1).fit(X, Y, callbacks=[backup], **FIT)


def test_backup_of_the_keras2_version_of_the_same_optimizer_is_refused(tmp_path):
    """legacy.Nadam and Nadam share a class name and slots, not their arithmetic."""
    backup = keras.callbacks.BackupAndRestore(tmp_path / "backup")
    with pytest.raises(Interrupt):
        build(1, "legacy.Nadam").fit(X, Y, callbacks=[backup, InterruptAt(2)], **FIT)
    with pytest.raises(ValueError, match="written by a legacy.Nadam optimizer, the model uses "
                                         "Nadam"):
        build(1).fit(X, Y, callbacks=[backup], **FIT)


def test_backup_and_restore_arguments():
    with pytest.raises(ValueError, match="backup_dir"):
        keras.callbacks.BackupAndRestore("")
    with pytest.raises(ValueError, match="save_freq must be 'epoch'.*epoch boundaries"):
        keras.callbacks.BackupAndRestore("dir", save_freq=10)


# --------------------------------------------------------------------------- NaN and checkpoints
class PoisonAt(keras.callbacks.Callback):
    """Makes the loss NaN from batch ``batch`` of epoch ``epoch`` on (a diverging run)."""

    def __init__(self, epoch, batch):
        super().__init__()
        self.epoch, self.batch, self.current = epoch, batch, None

    def on_epoch_begin(self, epoch, logs=None):
        self.current = epoch

    def on_train_batch_begin(self, batch, logs=None):
        if (self.current, batch) == (self.epoch, self.batch):
            self.model.layers[-1].kernel.value[0, 0] = np.nan


class StopOnNaN(keras.callbacks.Callback):
    """Keras's TerminateOnNaN behaviour (stop after the batch), for when the library's own
    ``TerminateOnNaN`` is not available."""

    def on_train_batch_end(self, batch, logs=None):
        if not math.isfinite(logs["loss"]):
            self.model.stop_training = True


STOPPERS = {"stand-in": StopOnNaN}
if hasattr(keras.callbacks, "TerminateOnNaN"):
    STOPPERS["TerminateOnNaN"] = keras.callbacks.TerminateOnNaN


def weights_after_epochs(epochs):
    model = build(1)
    model.fit(X, Y, **dict(FIT, epochs=epochs))
    return model.get_weights()


def test_raise_on_nonfinite_keeps_the_last_good_backup(tmp_path):
    good = weights_after_epochs(STOP_AT)
    backup = keras.callbacks.BackupAndRestore(tmp_path / "backup", delete_checkpoint=False)
    model = build(1)
    with pytest.raises(NonFiniteLossError, match=r"epoch 4/6, batch 3/6") as info, \
            np.errstate(invalid="ignore"):
        model.fit(X, Y, callbacks=[backup, PoisonAt(STOP_AT, 2)], on_nonfinite="raise", **FIT)
    assert (info.value.epoch, info.value.batch) == (STOP_AT, 2)
    saved = keras.models.load_model(tmp_path / "backup" / "latest.checkpoint")
    assert saved.file_metadata["training_state"]["epoch"] == STOP_AT
    assert_bit_identical(good, saved.get_weights())
    assert all(np.all(np.isfinite(w)) for w in model.get_weights()[:-2])


@pytest.mark.parametrize("stopper", sorted(STOPPERS))
def test_stopping_on_nan_never_overwrites_the_backup(tmp_path, stopper):
    """Keras's way (stop after the batch, then ``on_epoch_end`` runs with a NaN loss): the
    backup still holds the last finite epoch, and resuming from it works."""
    good = weights_after_epochs(STOP_AT)
    backup = keras.callbacks.BackupAndRestore(tmp_path / "backup", delete_checkpoint=False)
    with pytest.warns(RuntimeWarning, match="keeping the backup of the last good epoch"), \
            np.errstate(invalid="ignore"):
        build(1).fit(X, Y, callbacks=[PoisonAt(STOP_AT, 2), STOPPERS[stopper](), backup],
                     **FIT)
    saved = keras.models.load_model(tmp_path / "backup" / "latest.checkpoint")
    assert saved.file_metadata["training_state"]["epoch"] == STOP_AT
    assert_bit_identical(good, saved.get_weights())


# --------------------------------------------------------------------------- the Numba path
def test_resume_is_bit_identical_on_the_numba_path(tmp_path):
    """The same guarantee with the compiled kernels (their own state is the same generators)."""
    backend.set_kernel_path("numba")
    test_backup_and_restore_resumes_bit_identically(tmp_path, "Nadam")
