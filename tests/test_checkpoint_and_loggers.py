"""ModelCheckpoint (what it saves, when, and that a save is never half-written), CSVLogger and
the TensorBoard event files."""
import csv
import inspect
import os
import signal
import struct
import subprocess
import sys
import textwrap
import time

import numpy as np
import pytest
from test_callbacks import ScriptedLogs, fit, tiny_data, tiny_model

import numpy_nn as keras
from numpy_nn.callbacks import CSVLogger, ModelCheckpoint, TensorBoard
from numpy_nn.models import load_model
from numpy_nn.saving import archive


# =============================================================== ModelCheckpoint
def saved_epoch(path):
    return load_model(path).file_metadata["epoch"]


def test_checkpoint_save_best_only_writes_on_strict_improvement(tmp_path):
    path = tmp_path / "best.keras"
    values = [0.9, 0.5, 0.5, 0.7, 0.4, 0.6]
    written = []

    class Spy(ModelCheckpoint):
        def save(self, epoch, logs, batch=None):
            result = super().save(epoch, logs, batch)
            written.append(result is not None)
            return result

    checkpoint = Spy(path, save_best_only=True)
    fit(tiny_model(), [ScriptedLogs("val_loss", values), checkpoint], epochs=len(values))
    assert written == [True, True, False, False, True, False]     # 0.5 == 0.5 is no improvement
    assert saved_epoch(path) == 4
    assert checkpoint.best == 0.4


def test_checkpoint_never_overwrites_a_good_file_with_a_diverged_epoch(tmp_path):
    """An epoch whose loss is NaN/inf is not saved (Keras would save it): the file keeps the
    last finite epoch, so TerminateOnNaN + ModelCheckpoint leave a usable model behind."""
    path = tmp_path / "model.keras"
    with pytest.warns(UserWarning, match="not saving, the loss is nan"):
        fit(tiny_model(), [ScriptedLogs("loss", [0.9, 0.8, float("nan")]), ModelCheckpoint(path)],
            epochs=3)
    assert saved_epoch(path) == 1


def test_checkpoint_file_reloads_with_the_weights_of_the_saved_epoch(tmp_path):
    path = tmp_path / "model.h5"
    model = tiny_model(0.1)

    class Record(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            self.last = self.model.get_weights()

    record = Record()
    fit(model, [ModelCheckpoint(path), record], epochs=3)
    loaded = load_model(path)
    for a, b in zip(loaded.get_weights(), record.last):
        np.testing.assert_array_equal(a, b)
    x, _ = tiny_data()
    np.testing.assert_array_equal(loaded.predict(x), model.predict(x))
    assert loaded.optimizer.iterations == model.optimizer.iterations


def test_checkpoint_filepath_is_formatted_from_epoch_and_logs(tmp_path):
    pattern = str(tmp_path / "ckpt-{epoch:02d}-{val_loss:.2f}.keras")
    fit(tiny_model(), [ScriptedLogs("val_loss", [0.5, 0.25, 0.125]), ModelCheckpoint(pattern)],
        epochs=3)
    assert sorted(os.listdir(tmp_path)) == ["ckpt-01-0.50.keras", "ckpt-02-0.25.keras",
                                            "ckpt-03-0.12.keras"]


def test_checkpoint_initial_value_threshold_and_best_kept_across_fits(tmp_path):
    path = tmp_path / "m.keras"
    checkpoint = ModelCheckpoint(path, save_best_only=True, initial_value_threshold=0.3)
    model = tiny_model()
    fit(model, [ScriptedLogs("val_loss", [0.5, 0.4]), checkpoint], epochs=2)
    assert not path.exists()
    fit(model, [ScriptedLogs("val_loss", [0.2]), checkpoint], epochs=1)
    assert path.exists() and checkpoint.best == 0.2
    fit(model, [ScriptedLogs("val_loss", [0.25]), checkpoint], epochs=1)   # best not reset
    assert checkpoint.best == 0.2


def test_checkpoint_weights_only_and_extension_rules(tmp_path):
    with pytest.raises(ValueError, match="'.keras' or '.h5'"):
        ModelCheckpoint(tmp_path / "model.ckpt")
    with pytest.raises(ValueError, match="'.weights.h5'"):
        ModelCheckpoint(tmp_path / "model.h5", save_weights_only=True)
    path = tmp_path / "w.weights.h5"
    model = tiny_model()
    fit(model, [ModelCheckpoint(path, save_weights_only=True)], epochs=1)
    other = tiny_model()
    other.load_weights(path)
    for a, b in zip(other.get_weights(), model.get_weights()):
        np.testing.assert_array_equal(a, b)


def test_checkpoint_save_freq_in_batches(tmp_path):
    pattern = str(tmp_path / "b-{epoch}-{batch}.keras")
    fit(tiny_model(), [ModelCheckpoint(pattern, save_freq=3)], epochs=3)   # 2 batches/epoch
    assert sorted(os.listdir(tmp_path)) == ["b-2-1.keras", "b-3-2.keras"]


def test_checkpoint_failure_mid_write_leaves_the_previous_file_intact(tmp_path, monkeypatch):
    """The writer raises after some arrays are in the archive: the old checkpoint survives
    byte for byte, still loads, and no temporary file is left behind."""
    path = tmp_path / "model.keras"
    model = tiny_model(0.1)
    fit(model, [ModelCheckpoint(path)], epochs=1)
    before = path.read_bytes()
    old_weights = load_model(path).get_weights()

    real_array_bytes = archive._array_bytes
    calls = {"n": 0}

    def failing_array_bytes(array):
        calls["n"] += 1
        if calls["n"] == 2:
            raise OSError("disk full (simulated)")
        return real_array_bytes(array)

    monkeypatch.setattr(archive, "_array_bytes", failing_array_bytes)
    with pytest.raises(OSError, match="simulated"):
        fit(model, [ModelCheckpoint(path)], epochs=1)
    assert calls["n"] == 2
    assert path.read_bytes() == before
    assert os.listdir(tmp_path) == ["model.keras"]
    for a, b in zip(load_model(path).get_weights(), old_weights):
        np.testing.assert_array_equal(a, b)


KILL_CHILD = textwrap.dedent("""
    import sys
    import numpy as np
    import numpy_nn as keras
    from numpy_nn.callbacks import ModelCheckpoint

    path = sys.argv[1]
    model = keras.models.Sequential([keras.layers.Dense(600, input_shape=[1500]),
                                     keras.layers.Dense(1)])
    model.compile(loss="mse", optimizer="sgd")
    checkpoint = ModelCheckpoint(path)
    checkpoint.set_model(model)
    k = 0
    while True:
        k += 1
        model.set_weights(weights_of_save(model, k))
        checkpoint.on_epoch_end(k - 1, {"loss": float(k)})
        print(k, flush=True)
""")

def weights_of_save(model, k):
    # Random-looking (so compressing them takes most of a save's time) and different for
    # every save k: a file mixing two saves would not match any k.
    import numpy as np
    return [(np.random.default_rng(i).standard_normal(w.shape) + k).astype(np.float32)
            for i, w in enumerate(model.get_weights())]


#: The child runs the same function as the test (its source, so both always agree).
WEIGHTS_OF_SAVE = inspect.getsource(weights_of_save)


def test_checkpoint_survives_being_killed_mid_write(tmp_path):
    """A child process saves checkpoints (several MB each) in a loop and is SIGKILLed at
    various moments; every time, the file on disk loads and holds exactly one complete save.

    Kills are repeated until at least two landed during a write (a stray temporary file
    proves it); otherwise the test would prove nothing.
    """
    path = tmp_path / "model.keras"
    mid_write_kills = 0
    for attempt, delay in enumerate([0.3, 0.55, 0.8, 0.45, 0.7, 0.35, 0.65, 0.9, 0.5, 0.75]):
        temporaries_before = {n for n in os.listdir(tmp_path) if n.endswith(".tmp")}
        child = subprocess.Popen([sys.executable, "-c", WEIGHTS_OF_SAVE + KILL_CHILD, str(path)],
                                 stdout=subprocess.PIPE, text=True,
                                 cwd=os.path.dirname(os.path.dirname(os.path.abspath(
                                     __file__))))
        first = child.stdout.readline()          # at least one save has completed
        assert first.strip(), "the child never finished a first save"
        time.sleep(delay)
        child.send_signal(signal.SIGKILL)
        child.wait()
        model = load_model(path)
        saved = model.file_metadata["epoch"] + 1
        for weight, expected in zip(model.get_weights(), weights_of_save(model, saved)):
            np.testing.assert_array_equal(weight, expected, err_msg="the file mixes two saves")
        leftovers = [n for n in os.listdir(tmp_path) if n != "model.keras"]
        assert all(name.endswith(".tmp") for name in leftovers)   # at worst a stray temp file
        mid_write_kills += len(set(leftovers) - temporaries_before)
        if attempt >= 2 and mid_write_kills >= 2:
            break
    assert mid_write_kills >= 2, "kills never landed during a write"


# =============================================================== CSVLogger
def read_csv(path, separator=","):
    with open(path, newline="") as handle:
        return list(csv.reader(handle, delimiter=separator))


def test_csv_logger_writes_a_row_per_epoch(tmp_path):
    path = tmp_path / "log.csv"
    history = fit(tiny_model(), [CSVLogger(path)], epochs=3)
    rows = read_csv(path)
    assert rows[0] == ["epoch", "accuracy", "loss", "val_accuracy", "val_loss"]
    assert [row[0] for row in rows[1:]] == ["0", "1", "2"]
    np.testing.assert_allclose([float(row[2]) for row in rows[1:]], history.history["loss"])


def test_csv_logger_append_and_separator(tmp_path):
    path = tmp_path / "log.tsv"
    model = tiny_model()
    fit(model, [CSVLogger(path, separator="\t")], epochs=2)
    fit(model, [CSVLogger(path, separator="\t", append=True)], epochs=1)
    rows = read_csv(path, "\t")
    assert len(rows) == 4 and rows[0][0] == "epoch" and rows[3][0] == "0"


def test_csv_logger_without_validation_adds_na_val_columns_like_keras(tmp_path):
    path = tmp_path / "log.csv"
    x, y = tiny_data()
    tiny_model().fit(x, y, epochs=1, verbose=0, callbacks=[CSVLogger(path)])
    rows = read_csv(path)
    assert rows[0] == ["epoch", "accuracy", "loss", "val_accuracy", "val_loss"]
    assert rows[1][3:] == ["NA", "NA"]


# =============================================================== TensorBoard
def read_event_scalars(directory):
    """Every scalar in the event files of ``directory`` as {tag: [(step, value), ...]}.

    Reads the TFRecord framing (length, masked CRC32C of the length, payload, masked CRC32C of
    the payload), checks both checksums, and decodes each payload as a TensorBoard ``Event``
    protobuf with tensorboardX's compiled schema.
    """
    from tensorboardX.crc32c import crc32c
    from tensorboardX.proto.event_pb2 import Event

    def masked(data):
        crc = crc32c(data)
        return (((crc >> 15) | (crc << 17)) + 0xA282EAD8) & 0xFFFFFFFF

    scalars = {}
    files = sorted(f for f in os.listdir(directory) if "tfevents" in f)
    assert files, f"no event file in {directory}"
    for name in files:
        data = open(os.path.join(directory, name), "rb").read()
        offset = 0
        while offset < len(data):
            header = data[offset:offset + 8]
            (length,) = struct.unpack("<Q", header)
            (length_crc,) = struct.unpack("<I", data[offset + 8:offset + 12])
            assert length_crc == masked(header)
            payload = data[offset + 12:offset + 12 + length]
            (payload_crc,) = struct.unpack("<I", data[offset + 12 + length:offset + 16 + length])
            assert payload_crc == masked(payload)
            offset += 16 + length
            event = Event.FromString(payload)
            for value in event.summary.value:
                scalars.setdefault(value.tag, []).append((event.step, value.simple_value))
    return scalars


def test_tensorboard_event_files_hold_the_epoch_scalars(tmp_path):
    pytest.importorskip("tensorboardX", reason="TensorBoard callback needs the optional "
                                               "tensorboardX package")
    log_dir = tmp_path / "run_001"
    history = fit(tiny_model(), [keras.callbacks.LearningRateScheduler(lambda e: 0.01 / (e + 1)),
                                 TensorBoard(log_dir)], epochs=3)
    assert sorted(os.listdir(log_dir)) == ["train", "validation"]
    train = read_event_scalars(log_dir / "train")
    validation = read_event_scalars(log_dir / "validation")
    assert set(train) == {"epoch_loss", "epoch_accuracy", "epoch_learning_rate"}
    assert set(validation) == {"epoch_loss", "epoch_accuracy"}
    for tag, key, run in (("epoch_loss", "loss", train), ("epoch_learning_rate", "learning_rate",
                                                          train),
                          ("epoch_loss", "val_loss", validation),
                          ("epoch_accuracy", "val_accuracy", validation)):
        steps, values = zip(*run[tag])
        assert steps == (0, 1, 2)
        np.testing.assert_allclose(values, history.history[key], rtol=1e-6)


def test_tensorboard_batch_scalars_and_histograms(tmp_path):
    pytest.importorskip("tensorboardX", reason="TensorBoard callback needs the optional "
                                               "tensorboardX package")
    fit(tiny_model(), [TensorBoard(tmp_path, update_freq="batch", histogram_freq=1)], epochs=2)
    train = read_event_scalars(tmp_path / "train")
    assert [step for step, _ in train["batch_loss"]] == [1, 2, 3, 4]


def test_tensorboard_without_tensorboardx_gives_a_clear_error(monkeypatch):
    monkeypatch.setitem(sys.modules, "tensorboardX", None)
    with pytest.raises(ImportError, match="pip install tensorboardX"):
        TensorBoard("logs")


def test_csv_logger_file_is_complete_after_every_epoch(tmp_path):
    path = tmp_path / "log.csv"
    seen = []

    class ReadBack(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            seen.append(read_csv(path))

    fit(tiny_model(), [CSVLogger(path), ReadBack()], epochs=3)
    assert [len(rows) for rows in seen] == [2, 3, 4]
    assert all(len(row) == 5 for rows in seen for row in rows)
    assert [name for name in os.listdir(tmp_path)] == ["log.csv"]
