r"""Callbacks that record training: :class:`CSVLogger` and :class:`TensorBoard`."""
from __future__ import annotations

import csv
import io
import os

import numpy as np

from numpy_nn._checks import is_int
from numpy_nn.callbacks.callback import Callback
from numpy_nn.io_utils import atomic_write


class CSVLogger(Callback):
    """Write one row per epoch (``epoch`` then the sorted log keys) to a CSV file.

    The columns are fixed by the first epoch's logs; a key missing later is written as
    ``NA``. When the first epoch has no ``val_*`` keys, ``val_`` columns are added for every
    key anyway (and stay ``NA``), as Keras 3 does. After every epoch the whole file is
    rewritten atomically (:func:`numpy_nn.io_utils.atomic_write`), so it can be read while
    training runs and a crash never leaves a half-written row.

    Args:
        filename: the CSV file. separator: the field separator.
        append: add to an existing file (its header is kept) instead of starting a new one.
    """

    def __init__(self, filename, separator=",", append=False):
        super().__init__()
        self.filename = os.fspath(filename)
        self.separator = separator
        self.append = bool(append)
        self.keys = None
        self.text = ""

    def on_train_begin(self, logs=None):
        self.text = ""
        if self.append and os.path.exists(self.filename):
            with open(self.filename, newline="") as existing:
                self.text = existing.read()
        self.keys = None

    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}
        rows = io.StringIO()
        writer = csv.writer(rows, delimiter=self.separator, lineterminator="\n")
        if self.keys is None:
            self.keys = sorted(logs)
            if self.keys and not any(key.startswith("val_") for key in self.keys):
                self.keys += [f"val_{key}" for key in self.keys]
            if not self.text:
                writer.writerow(["epoch"] + self.keys)
        writer.writerow([epoch] + [_csv_value(logs.get(key, "NA")) for key in self.keys])
        self.text += rows.getvalue()
        with atomic_write(self.filename, "w") as handle:
            handle.write(self.text)


def _csv_value(value):
    if isinstance(value, str):
        return value
    array = np.asarray(value)
    if array.ndim == 0:
        return array.item()
    return "[" + ", ".join(str(v) for v in array.ravel()) + "]"


class TensorBoard(Callback):
    """Write scalars TensorBoard can show: ``tensorboard --logdir <log_dir>``.

    Like Keras, it writes two runs under ``log_dir``: ``train/`` with ``epoch_loss``,
    ``epoch_accuracy`` (every training metric) and ``epoch_learning_rate``, and
    ``validation/`` with the ``val_*`` values under the same tags (``epoch_loss``, ...), so
    TensorBoard draws training and validation curves on the same chart. The step is the
    0-based epoch.

    The event files are written by the ``tensorboardX`` package (an optional dependency:
    ``pip install tensorboardX`` or ``pip install numpy_nn[tensorboard]``); TensorBoard itself
    is only needed to look at them.

    Args:
        log_dir: the run's folder (the chapter's ``./my_cifar10_logs/run_001``).
        update_freq: ``"epoch"``; or ``"batch"`` / an int ``n`` to also write ``batch_loss``
            (and the other batch logs, running means since the epoch began) every ``n``
            batches, with the global batch count as step.
        histogram_freq: every this many epochs, a histogram of every weight (0: never).
    """

    def __init__(self, log_dir="logs", update_freq="epoch", histogram_freq=0):
        super().__init__()
        try:
            import tensorboardX  # noqa: F401  (checked here so the error comes early)
        except ImportError:
            raise ImportError("TensorBoard callback: the optional package 'tensorboardX' is "
                              "not installed; run `pip install tensorboardX` (or install "
                              "numpy_nn with the [tensorboard] extra)") from None
        if update_freq == "batch":
            update_freq = 1
        if update_freq != "epoch" and (not is_int(update_freq) or update_freq <= 0):
            raise ValueError(f"TensorBoard: update_freq must be 'epoch', 'batch' or a positive "
                             f"int, got {update_freq!r}")
        if not is_int(histogram_freq) or histogram_freq < 0:
            raise ValueError(f"TensorBoard: histogram_freq must be an int >= 0, got "
                             f"{histogram_freq!r}")
        self.log_dir = os.fspath(log_dir)
        self.update_freq = update_freq
        self.histogram_freq = int(histogram_freq)
        self.writers = {}
        self.global_batch = 0

    def writer(self, run):
        """The tensorboardX ``SummaryWriter`` of ``run`` (``"train"`` or ``"validation"``)."""
        if run not in self.writers:
            from tensorboardX import SummaryWriter
            self.writers[run] = SummaryWriter(os.path.join(self.log_dir, run))
        return self.writers[run]

    def on_train_begin(self, logs=None):
        self.global_batch = 0
        self.writer("train")

    def on_train_batch_end(self, batch, logs=None):
        self.global_batch += 1
        if self.update_freq == "epoch" or self.global_batch % self.update_freq:
            return
        for name, value in (logs or {}).items():
            self.writer("train").add_scalar(f"batch_{name}", float(value), self.global_batch)

    def on_epoch_end(self, epoch, logs=None):
        for name, value in (logs or {}).items():
            if not np.isscalar(value) and np.ndim(value) != 0:
                continue
            run = "validation" if name.startswith("val_") else "train"
            tag = name[len("val_"):] if run == "validation" else name
            self.writer(run).add_scalar(f"epoch_{tag}", float(value), epoch)
        if self.histogram_freq and epoch % self.histogram_freq == 0:
            for variable in self.model.weights:
                self.writer("train").add_histogram(variable.path, variable.value, epoch)
        for writer in self.writers.values():
            writer.flush()

    def on_train_end(self, logs=None):
        for writer in self.writers.values():
            writer.close()
        self.writers = {}
