"""The exceptions numpy_nn raises on purpose (besides plain ``ValueError`` / ``TypeError``).

Bad arguments and bad data raise ``ValueError`` or ``TypeError`` with a message naming the
argument (or layer) and the expected versus the actual value, like Keras. Two situations get
their own class, because a caller may want to catch exactly them:

* :class:`ModelFileError` — a model file is damaged, hostile or not ours;
* :class:`NonFiniteLossError` — ``fit(..., on_nonfinite="raise")`` met a NaN/inf loss.
"""
from __future__ import annotations


class ModelFileError(ValueError):
    """A model file that is not ours, is damaged, or does not match its own description.

    Loading never executes code or unpickles, so a hostile file can only ever produce this
    error (or ``FileNotFoundError`` when there is no file).
    """


class NonFiniteLossError(FloatingPointError, RuntimeError):
    """The training loss (or a gradient) became NaN or infinite.

    Raised by ``fit(..., on_nonfinite="raise")`` *before* the optimizer applies the bad
    step, so the model keeps the weights it had before that batch, and ``on_epoch_end`` is not
    called for the broken epoch (so checkpoint callbacks never save the broken model).
    ``TerminateOnNaN(raise_error=True)`` raises it too, after the bad step. It is also a
    ``RuntimeError``, the type Keras's ``TerminateOnNaN(raise_error=True)`` raises, so code
    written for Keras catches it unchanged.

    Attributes:
        epoch: 0-based epoch index (as callbacks count epochs).
        batch: 0-based batch index within the epoch (as callbacks count batches).
        loss: the offending loss value (a float, possibly finite when a gradient was the
            non-finite part).
    """

    def __init__(self, message, epoch=None, batch=None, loss=None):
        super().__init__(message)
        self.epoch = epoch
        self.batch = batch
        self.loss = loss
