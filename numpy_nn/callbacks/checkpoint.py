r"""ModelCheckpoint: save the model during training, atomically.

Every file goes through :func:`numpy_nn.models.save_model` (or ``save_weights``), which
writes through :func:`numpy_nn.io_utils.atomic_write`: the new content is written to a
temporary file beside the target and moved over it only when complete, so a crash or a kill
during a save leaves the previous checkpoint intact, never a half-written file.
"""
from __future__ import annotations

import math
import os
import warnings

import numpy as np

from numpy_nn._checks import is_int
from numpy_nn.callbacks.monitor import MonitorCallback
from numpy_nn.saving.model_file import save_model, save_weights


class ModelCheckpoint(MonitorCallback):
    r"""Save the model (or only its weights) at the end of every epoch, or every ``save_freq``
    batches.

    ``filepath`` may contain ``str.format`` fields filled from the epoch (1-based) and the
    epoch logs, e.g. ``"ckpt-{epoch:02d}-{val_loss:.3f}.keras"``. With
    ``save_best_only=True`` a file is written only when ``monitor`` improves strictly on the
    best value so far (``min_delta`` is 0); the best starts at ``initial_value_threshold``
    (``None``: the first epoch always saves) and is **kept across** ``fit`` calls, as in
    Keras 3.

    The chapter: ``ModelCheckpoint("my_cifar10_model.h5", save_best_only=True)`` with
    ``EarlyStopping(patience=20)``, then ``load_model("my_cifar10_model.h5")``.

    Args:
        filepath: where to save; must end in ``.keras`` or ``.h5`` (``.weights.h5`` with
            ``save_weights_only``), as Keras 3 requires. The content is always numpy_nn's own
            model format (a ZIP of JSON and ``.npy`` files, loaded without pickle), whatever
            the extension; :func:`numpy_nn.models.load_model` reads it back.
        monitor, mode: the value that decides ``save_best_only`` (see
            :mod:`~numpy_nn.callbacks.monitor`).
        save_best_only: save only on improvement.
        save_weights_only: save weights only (no optimizer, no compile settings).
        save_freq: ``"epoch"`` or a number of batches between saves.
        initial_value_threshold: the value to beat before the first save.

    **Keras 2 differences:** any path was accepted (a path without ``.h5`` made a TensorFlow
    SavedModel directory), ``period=`` existed, and ``save_best_only`` started from ``+inf``
    (or ``-inf``) at every ``fit``.
    """

    def __init__(self, filepath, monitor="val_loss", verbose=0, save_best_only=False,
                 save_weights_only=False, mode="auto", save_freq="epoch",
                 initial_value_threshold=None):
        super().__init__(monitor, mode, min_delta=0, baseline=initial_value_threshold)
        self.filepath = os.fspath(filepath)
        if save_weights_only and not self.filepath.endswith(".weights.h5"):
            raise ValueError(f"ModelCheckpoint: with save_weights_only=True the filepath must "
                             f"end in '.weights.h5', got {self.filepath!r}")
        if not save_weights_only and not self.filepath.endswith((".keras", ".h5")):
            raise ValueError(f"ModelCheckpoint: the filepath must end in '.keras' or '.h5', got "
                             f"{self.filepath!r}")
        if save_freq != "epoch" and (not is_int(save_freq) or save_freq <= 0):
            raise ValueError(f"ModelCheckpoint: save_freq must be 'epoch' or a positive number "
                             f"of batches, got {save_freq!r}")
        self.verbose = verbose
        self.save_best_only = bool(save_best_only)
        self.save_weights_only = bool(save_weights_only)
        self.save_freq = save_freq
        self.current_epoch = 0
        self._batches_since_save = 0

    def on_epoch_begin(self, epoch, logs=None):
        self.current_epoch = epoch

    def on_train_batch_end(self, batch, logs=None):
        if self.save_freq == "epoch":
            return
        self._batches_since_save += 1
        if self._batches_since_save >= self.save_freq:
            self._batches_since_save = 0
            self.save(self.current_epoch, dict(logs or {}), batch=batch)

    def on_epoch_end(self, epoch, logs=None):
        if self.save_freq == "epoch":
            self.save(epoch, logs or {})

    def format_filepath(self, epoch, logs, batch=None):
        """``filepath`` with ``{epoch}``, ``{batch}`` (both 1-based) and log values filled in."""
        fields = dict(logs)
        fields["epoch"] = epoch + 1
        if batch is not None:
            fields["batch"] = batch + 1
        try:
            return self.filepath.format(**fields)
        except (KeyError, IndexError, ValueError) as error:
            raise KeyError(f"ModelCheckpoint: cannot format filepath {self.filepath!r} with "
                           f"{sorted(fields)}: {error!r}") from None

    def should_save(self, logs):
        """Whether this epoch's model is saved (always, unless ``save_best_only``).

        An epoch whose loss is NaN or infinite is never saved (Keras would save it): training
        that diverged must not overwrite the last good checkpoint.
        """
        loss = logs.get("loss")
        if loss is not None and not math.isfinite(float(loss)):
            warnings.warn(f"ModelCheckpoint: not saving, the loss is {float(loss)}",
                          stacklevel=3)
            return False
        if not self.save_best_only:
            return True
        value = self.monitored_value(logs)
        if value is None:
            return True        # nothing to compare with: save, as Keras does (with a warning)
        if self.is_improvement(value, self.best):
            self.best = value
            return True
        return False

    def save(self, epoch, logs, batch=None):
        """Save now if :meth:`should_save` says so; returns the path written, or ``None``."""
        filepath = self.format_filepath(epoch, logs, batch)
        if not self.should_save(logs):
            if self.verbose > 0:
                print(f"\nEpoch {epoch + 1}: {self.monitor} did not improve from {self.best}")
            return None
        if os.path.isdir(filepath):
            raise IsADirectoryError(f"ModelCheckpoint: {filepath!r} is a directory; give a "
                                    f"file path")
        if self.save_weights_only:
            save_weights(self.model, filepath)
        else:
            save_model(self.model, filepath, metadata=self.checkpoint_metadata(epoch, logs))
        if self.verbose > 0:
            print(f"\nEpoch {epoch + 1}: saved model to {filepath}")
        return filepath

    def checkpoint_metadata(self, epoch, logs):
        """JSON-serialisable facts stored in the model file: the epoch (0-based) and its logs."""
        return {"epoch": int(epoch),
                "logs": {k: float(v) for k, v in logs.items()
                         if isinstance(v, (int, float, np.number))}}
