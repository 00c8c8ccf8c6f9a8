"""The training loop's small helpers: batching, logs, return values, the non-finite rule."""
from __future__ import annotations

import contextlib
import functools
import math
import warnings

import numpy as np

from numpy_nn.errors import NonFiniteLossError

VALIDATION_NAMES = ("validation_data[0]", "validation_data[1]", "validation_data[2]")


def hold_out_tail(x, y, sample_weight, validation_split):
    """``((x, y, w) to train on, (x_val, y_val))``: the last ``validation_split`` of the
    samples, before any shuffling, as Keras does."""
    split = int(math.floor(len(x) * (1 - validation_split)))
    if split == 0 or split == len(x):
        raise ValueError(f"fit: validation_split={validation_split} leaves no training or "
                         f"no validation samples out of {len(x)}")
    weights = None if sample_weight is None else sample_weight[:split]
    return (x[:split], y[:split], weights), (x[split:], y[split:])


def batches(n, batch_size, order=None):
    """Index ``n`` samples in batches of ``batch_size`` (the last one may be smaller), in
    ``order`` when given (a permutation), else as slices."""
    for start in range(0, n, batch_size):
        if order is None:
            yield slice(start, start + batch_size)
        else:
            yield order[start:start + batch_size]


def logs(trackers):
    """``{name: current value}`` of the running loss and metrics."""
    return {name: float(tracker.result()) for name, tracker in trackers.items()}


def returned(results, return_dict):
    """``evaluate``'s return value: the dict, or the values (a bare float for one value)."""
    if return_dict:
        return results
    values = list(results.values())
    return values[0] if len(values) == 1 else values


def warned_if_nonfinite(model, epoch, epoch_logs):
    """``epoch_logs``, after a warning when the weights are no longer finite although the
    epoch's loss is: the epoch's last updates overflowed, and with ``on_nonfinite="continue"``
    (Keras's behaviour) nothing else would say so until the next epoch's loss."""
    loss = epoch_logs.get("loss")
    if loss is not None and math.isfinite(loss) and not all(
            np.all(np.isfinite(v.value)) for v in model.weights):
        warnings.warn(f"fit: after epoch {epoch + 1} the weights are no longer finite (NaN or "
                      f"infinity) although its loss, {loss:.6g}, is: an update overflowed; "
                      f"fit(on_nonfinite='raise') stops at the first non-finite loss or "
                      f"gradient", RuntimeWarning, stacklevel=3)
    return epoch_logs


def nonfinite_handler(settings, epoch, step):
    """What ``train_step`` calls on a NaN/inf loss at this batch (``None``: train on)."""
    if not settings.raise_on_nonfinite:
        return None
    return functools.partial(raise_nonfinite, epoch=epoch, batch=step, epochs=settings.epochs,
                             steps=settings.steps)


@contextlib.contextmanager
def undone_if_nonfinite(non_trainable_weights, on_nonfinite):
    """Yield ``check_finite(loss, variables)``: when ``on_nonfinite`` is given and the loss
    or a gradient is NaN/inf, it puts back the non-trainable weights saved on entry and
    calls ``on_nonfinite(loss)``. Without ``on_nonfinite`` nothing is saved or checked."""
    if on_nonfinite is None:
        yield no_check
        return
    saved = [(v, v.value.copy()) for v in non_trainable_weights]

    def check_finite(loss, variables):
        if np.isfinite(loss) and all(np.all(np.isfinite(v.grad)) for v in variables):
            return
        for variable, value in saved:
            variable.assign(value)
        on_nonfinite(loss)
    yield check_finite


def no_check(loss, variables):
    return None


def raise_nonfinite(loss, epoch, batch, epochs, steps):
    what = (f"the loss became {float(loss)}" if not np.isfinite(loss)
            else f"a gradient became NaN or infinite (loss {float(loss)})")
    raise NonFiniteLossError(
        f"fit: {what} in epoch {epoch + 1}/{epochs}, batch {batch + 1}/{steps} (0-based: "
        f"epoch {epoch}, batch {batch}); training stopped before applying this step, so the "
        f"model keeps its weights from before this batch", epoch=epoch, batch=batch,
        loss=float(loss))
