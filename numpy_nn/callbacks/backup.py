"""BackupAndRestore: survive an interrupted ``fit`` and resume it bit for bit.

At the end of every epoch the callback writes one checkpoint file (through
:func:`numpy_nn.models.save_checkpoint`, atomically: a kill during the write leaves the previous
backup intact). The file holds the weights (BatchNormalization's moving statistics included),
the optimizer state (slots, iteration count, Nadam's momentum product, the current learning
rate), the number of finished epochs and the state of every random generator training draws
from (the engine's generator, which shuffles the data and draws dropout masks, and the own
generator of any ``Dropout(seed=...)``).

When ``fit`` starts with a backup present, the callback loads it into the model and tells
``fit`` to continue from the saved epoch. Because the random generators continue from
exactly where they were, the resumed run draws the same permutations and the same dropout
masks as an uninterrupted run would have, and ends with bit-identical weights (same machine,
same kernel path).

Like Keras's callback of the same name, it does not restore other callbacks' state (an
``EarlyStopping`` patience counter starts again) and the backup is deleted when ``fit``
finishes normally. Unlike Keras, it refuses to back up a model whose epoch loss or weights
are NaN/inf, so a diverged epoch never replaces the last good backup.
"""
from __future__ import annotations

import contextlib
import math
import os
import warnings

import numpy as np

from numpy_nn.callbacks.callback import Callback
from numpy_nn.errors import ModelFileError
from numpy_nn.io_utils import remove_stale_temporaries
from numpy_nn.saving.checkpoints import restore_checkpoint, save_checkpoint


class BackupAndRestore(Callback):
    """Back up the training state every epoch; restore it when ``fit`` restarts.

    Example::

        backup = numpy_nn.callbacks.BackupAndRestore("run_backup")
        model.fit(X, y, epochs=50, callbacks=[backup])   # killed during epoch 31 ...
        model.fit(X, y, epochs=50, callbacks=[backup])   # ... re-run: continues at epoch 31

    Args:
        backup_dir: folder for the backup; use one folder per training run and nothing else.
        save_freq: ``"epoch"`` (only epoch boundaries can be resumed bit for bit; a number of
            batches, which Keras also accepts, is refused with an explanation).
        double_checkpoint: also keep the previous backup, and fall back to it if the latest
            one cannot be read (e.g. the disk damaged it).
        delete_checkpoint: delete the backup when ``fit`` ends normally.
    """

    FILENAME = "latest.checkpoint"

    def __init__(self, backup_dir, save_freq="epoch", double_checkpoint=False,
                 delete_checkpoint=True):
        super().__init__()
        if not backup_dir:
            raise ValueError("BackupAndRestore: backup_dir must be a folder path, got "
                             f"{backup_dir!r}")
        if save_freq != "epoch":
            raise ValueError(f"BackupAndRestore: save_freq must be 'epoch', got {save_freq!r}; "
                             f"numpy_nn resumes only at epoch boundaries, where it can continue "
                             f"bit for bit")
        self.backup_dir = os.fspath(backup_dir)
        self.double_checkpoint = bool(double_checkpoint)
        self.delete_checkpoint = bool(delete_checkpoint)
        self.path = os.path.join(self.backup_dir, self.FILENAME)
        self.previous_path = self.path + ".bkp"
        #: The epoch the last ``fit`` resumed from (``None``: it started afresh).
        self.restored_epoch = None

    def on_train_begin(self, logs=None):
        self.restored_epoch = None
        candidates = [self.path] + ([self.previous_path] if self.double_checkpoint else [])
        candidates = [path for path in candidates if os.path.exists(path)]
        for index, path in enumerate(candidates):
            try:
                epoch = restore_checkpoint(self.model, path)
            except ModelFileError as error:
                if index + 1 < len(candidates):
                    warnings.warn(f"BackupAndRestore: the latest backup is unreadable ({error}); "
                                  f"restoring the previous one", RuntimeWarning, stacklevel=2)
                    continue
                raise ModelFileError(f"BackupAndRestore: cannot restore {path!r}: {error}. "
                                     f"Delete {self.backup_dir!r} to start afresh.") from None
            self.model._initial_epoch = epoch
            self.restored_epoch = epoch
            return

    def on_epoch_end(self, epoch, logs=None):
        loss = (logs or {}).get("loss")
        if (loss is not None and not math.isfinite(float(loss))) or not all(
                np.all(np.isfinite(v.value)) for v in self.model.weights):
            warnings.warn(f"BackupAndRestore: epoch {epoch + 1} ended with a NaN/inf loss or "
                          f"weights; keeping the backup of the last good epoch",
                          RuntimeWarning, stacklevel=2)
            return
        if self.double_checkpoint and os.path.exists(self.path):
            os.replace(self.path, self.previous_path)
        save_checkpoint(self.model, self.path, epoch + 1)

    def on_train_end(self, logs=None):
        if not self.delete_checkpoint:
            return
        for path in (self.path, self.previous_path):
            with contextlib.suppress(FileNotFoundError):
                os.remove(path)
            remove_stale_temporaries(path)     # left by a run killed while backing up
        with contextlib.suppress(OSError):     # only if empty: it may hold the user's files
            os.rmdir(self.backup_dir)
