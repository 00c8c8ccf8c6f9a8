"""``compile(jit_compile=...)``: which path a model's steps take, and why.

Keras 3's argument, with Keras's meaning (``keras/src/trainers/trainer.py::Trainer.compile``):

* ``False`` (numpy_nn's default) — the readable reference path: every layer's ``call`` and
  ``backward``, the loss and the optimizer as the objects you can read and step through.
  Keras defaults to ``"auto"``; numpy_nn does not, because the readable code is what it is
  for, and ``jit_compile=True`` changes only the speed, not the algorithm.
* ``True`` — every training step of ``fit`` / ``train_on_batch`` is one compiled call
  (:mod:`numpy_nn.models.compiled_step`), and ``evaluate`` / ``predict`` run compiled forward
  passes. Needs Numba (``pip install numpy_nn[numba]``; ImportError otherwise); a model it
  cannot compile raises :class:`~numpy_nn.models.compiled_plan.NotCompilable` naming the
  layer or option.
* ``"auto"`` — compiled when Numba is installed and the model is supported, otherwise the
  reference path; ``fit`` with ``verbose`` says once which, and why.

The decision is made when the model is compiled (or at its first step, if it was compiled
before it was built) and kept in ``model.jit_compile`` (True or False).
"""
from __future__ import annotations

import importlib.util

from numpy_nn import backend
from numpy_nn.models.compiled_plan import NotCompilable, plan

INSTALL_HINT = "pip install numpy_nn[numba]"
CHOICES = (False, True, "auto")


def check(jit_compile):
    """The argument, validated (``None`` means ``False``)."""
    if jit_compile is None:
        return False
    # identity, not ==: 1 and 0 equal True and False but are not the argument's values
    if not (jit_compile is True or jit_compile is False or jit_compile == "auto"):
        raise ValueError(f"compile: jit_compile must be False, True or 'auto', got "
                         f"{jit_compile!r}")
    return jit_compile


def numba_installed():
    try:
        return importlib.util.find_spec("numba") is not None
    except (ImportError, ValueError):
        return False


def resolve(model, requested):
    """``(enabled, reason)`` for ``requested`` on ``model`` (built and compiled)."""
    if requested is False:
        return False, "jit_compile=False"
    if not numba_installed():
        if requested is True:
            raise ImportError(f"compile(jit_compile=True) needs Numba, which is not installed: "
                              f"{INSTALL_HINT}, or use jit_compile=False")
        return False, f"Numba is not installed ({INSTALL_HINT})"
    try:
        plan(model)
    except NotCompilable as error:
        if requested is True:
            raise
        return False, str(error).replace("jit_compile=True: ", "")
    return True, "every step is one compiled call"


def compiled_step(model):
    """The model's :class:`~numpy_nn.models.compiled_step.CompiledStep`, made again when the
    model's layers, their ``trainable`` flags, the optimizer, the loss or the BLAS library
    (``numpy_nn.backend.blas()``) changed."""
    # Numba is optional: its modules load here, the first time a compiled step is asked for.
    from numpy_nn.models.compiled_step import CompiledStep
    key = (tuple((id(layer), layer.trainable) for layer in model.layers), id(model.optimizer),
           id(model.loss), backend.blas())
    step = getattr(model, "_compiled_step", None)
    if step is None or step.key != key:
        step = CompiledStep(model)
        step.key = key
        model._compiled_step = step
    return step


__all__ = ["CHOICES", "NotCompilable", "check", "compiled_step", "resolve"]
