"""A Keras-like progress display for ``fit``, ``evaluate`` and ``predict``.

``verbose=1`` draws a live bar per epoch::

    Epoch 1/10
    1719/1719 ━━━━━━━━━━━━━━━━━━━━ 3s 2ms/step - accuracy: 0.7201 - loss: 0.8741 - val_accuracy: ...

``verbose=2`` prints one line per epoch, ``verbose=0`` nothing.
"""
from __future__ import annotations

import sys
import time

from numpy_nn.callbacks.callback import Callback


def _format_value(value):
    value = float(value)
    return f"{value:.4f}" if abs(value) > 1e-3 or value == 0 else f"{value:.4e}"


def _format_duration(seconds):
    if seconds >= 3600:
        return f"{int(seconds // 3600)}:{int(seconds % 3600 // 60):02d}:{int(seconds % 60):02d}"
    if seconds >= 60:
        return f"{int(seconds // 60)}:{int(seconds % 60):02d}"
    return f"{seconds:.0f}s"


def _format_per_step(seconds):
    if seconds >= 1:
        return f"{seconds:.0f}s/step"
    if seconds >= 1e-3:
        return f"{seconds * 1e3:.0f}ms/step"
    return f"{seconds * 1e6:.0f}us/step"


class Progbar:
    """A text progress bar of ``target`` steps (``update(current, values)``)."""

    def __init__(self, target, verbose=1, width=20, interval=0.05, stream=None):
        self.target = target
        self.verbose = verbose
        self.width = width
        self.interval = interval
        self.stream = stream or sys.stdout
        self.start = time.perf_counter()
        self.last_draw = 0.0
        self.dynamic = hasattr(self.stream, "isatty") and self.stream.isatty()
        self.previous_width = 0

    def update(self, current, values=None, finalize=False):
        """Redraw (at most every ``interval`` s); ``values`` maps names to running values."""
        now = time.perf_counter()
        if self.verbose == 0:
            return
        if self.verbose == 2 and not finalize:
            return
        if self.verbose == 1 and not finalize and now - self.last_draw < self.interval:
            return
        self.last_draw = now
        elapsed = now - self.start
        per_step = elapsed / max(current, 1)
        metrics = "".join(f" - {name}: {_format_value(value)}"
                          for name, value in sorted((values or {}).items()))
        digits = len(str(self.target))
        if self.verbose == 2:
            line = (f"{current:{digits}d}/{self.target} - {_format_duration(elapsed)} - "
                    f"{_format_per_step(per_step)}{metrics}")
            self.stream.write(line + "\n")
            self.stream.flush()
            return
        filled = int(self.width * current / max(self.target, 1))
        bar = "━" * filled + ("╺" if 0 < filled < self.width else "") + \
            " " * max(self.width - filled - (0 < filled < self.width), 0)
        timing = (_format_duration(elapsed) if finalize
                  else _format_duration(per_step * (self.target - current)))
        line = (f"{current:{digits}d}/{self.target} {bar} {timing} "
                f"{_format_per_step(per_step)}{metrics}")
        if self.dynamic:
            pad = " " * max(self.previous_width - len(line), 0)
            self.stream.write("\r" + line + pad + ("\n" if finalize else ""))
        elif finalize:
            self.stream.write(line + "\n")
        self.previous_width = len(line)
        self.stream.flush()


class ProgbarLogger(Callback):
    """Prints training progress (added by ``fit`` when ``verbose`` is 1 or 2)."""

    def __init__(self, verbose=1):
        super().__init__()
        self.verbose = verbose
        self.bar = None

    def on_epoch_begin(self, epoch, logs=None):
        if self.verbose:
            print(f"Epoch {epoch + 1}/{self.params.get('epochs')}", flush=True)
        self.bar = Progbar(self.params.get("steps") or 0, verbose=self.verbose)

    def on_train_batch_end(self, batch, logs=None):
        if self.verbose == 1 and self.bar is not None:
            self.bar.update(batch + 1, logs)

    def on_epoch_end(self, epoch, logs=None):
        if self.bar is not None:
            self.bar.update(self.params.get("steps") or 0, logs, finalize=True)
