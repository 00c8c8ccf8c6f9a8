"""Checkpoints for resuming: a model file plus the *training state*.

:func:`save_checkpoint` adds the next epoch and the states of every random generator training
draws from to the model file; :func:`restore_training_state` puts them back, so that
``fit(initial_epoch=...)`` continues bit for bit as if training had never stopped (see
``README.md``, "Reproducibility").
"""
from __future__ import annotations

import os

import numpy as np

from numpy_nn import backend
from numpy_nn import optimizers as optimizers_module
from numpy_nn._checks import is_int
from numpy_nn.errors import ModelFileError
from numpy_nn.saving.archive import MAX_BYTES
from numpy_nn.saving.model_file import (
    assign_weights,
    read_model_file,
    save_model,
    set_optimizer_state,
)


def _seeded_generators(model):
    """``{layer index: generator}`` for layers that own a random generator (``Dropout(seed=...)``).

    Keyed by position, not name: a model rebuilt in a new session gets new automatic names.
    """
    return {index: layer.own_generator for index, layer in enumerate(model.layers)
            if getattr(layer, "own_generator", None) is not None}


def training_state(model, epoch):
    """What a resumed run needs besides weights and optimizer: the next ``epoch`` to run and
    the state of every random generator training draws from (JSON-serialisable)."""
    return {"epoch": int(epoch), "rng": backend.get_rng_state(),
            "layer_rngs": {str(index): generator.bit_generator.state
                           for index, generator in _seeded_generators(model).items()}}


def save_checkpoint(model, filepath, epoch):
    """Save the model, its optimizer state and the training state (``epoch`` = the next epoch
    to run, i.e. the number of finished epochs), atomically.

    Resume with ``model = load_model(filepath)``, ``initial_epoch =
    restore_training_state(model)``, ``model.fit(..., initial_epoch=initial_epoch)``.
    """
    if not getattr(model, "compiled", False):
        raise ValueError(f"save_checkpoint: model '{model.name}' is not compiled, so it has no "
                         f"optimizer state to save; call compile() first")
    save_model(model, filepath, include_optimizer=True,
               metadata={"training_state": training_state(model, epoch)})


def _checked_training_state(model, state):
    """``(epoch, layer_states)`` from a saved training state, validated against ``model``
    without changing anything."""
    generators = _seeded_generators(model)
    try:
        epoch = state["epoch"]
        if not is_int(epoch) or epoch < 0:
            raise ValueError(f"epoch must be an int >= 0, got {epoch!r}")
        layer_states = state.get("layer_rngs") or {}
        if set(layer_states) != {str(i) for i in generators}:
            raise ValueError(f"random layers at positions {sorted(layer_states)} in the file, "
                             f"{sorted(str(i) for i in generators)} in the model")
        for saved in [state["rng"], *layer_states.values()]:
            if not isinstance(saved, dict) or saved.get("bit_generator") != "PCG64":
                raise ValueError("expected PCG64 generator states")
            np.random.PCG64().state = saved     # NumPy validates it on a scratch generator
    except (KeyError, TypeError, ValueError, OverflowError, AttributeError) as error:
        raise ModelFileError(f"invalid training state in the checkpoint ({error})") from None
    return epoch, layer_states


def restore_training_state(model, state=None):
    """Put back the random generators' states saved by :func:`save_checkpoint`; returns the
    epoch to resume from (pass it to ``fit(initial_epoch=...)``).

    ``state`` defaults to the one in ``model.file_metadata`` (set by :func:`load_model`).
    """
    if state is None:
        state = (getattr(model, "file_metadata", None) or {}).get("training_state")
    if state is None:
        raise ValueError(f"restore_training_state: model '{model.name}' was not loaded from a "
                         f"checkpoint (no training_state in its file); save it with "
                         f"save_checkpoint()")
    epoch, layer_states = _checked_training_state(model, state)
    backend.set_rng_state(state["rng"])
    for index, generator in _seeded_generators(model).items():
        generator.bit_generator.state = layer_states[str(index)]
    return epoch


def restore_checkpoint(model, filepath, max_bytes=MAX_BYTES):
    """Load a :func:`save_checkpoint` file into an existing, compiled ``model`` of the same
    architecture: weights, optimizer state and random generators. Returns the epoch to
    resume from. (:class:`~numpy_nn.callbacks.BackupAndRestore` uses this.)"""
    filepath = os.fspath(filepath)
    if not getattr(model, "compiled", False):
        raise ValueError(f"restore_checkpoint: model '{model.name}' must be compiled first")
    manifest, weights, optimizer_arrays = read_model_file(filepath, max_bytes)
    state = (manifest.get("metadata") or {}).get("training_state")
    if not isinstance(state, dict):
        raise ModelFileError(f"{filepath!r} is a model file but not a checkpoint (no training "
                             f"state); write checkpoints with save_checkpoint()")
    if manifest.get("optimizer_state") is None:
        raise ModelFileError(f"{filepath!r} has no optimizer state to resume from")
    saved = ((manifest.get("compile_config") or {}).get("optimizer") or {}).get("class_name")
    used = optimizers_module.class_name(model.optimizer)
    if saved != used:
        raise ValueError(f"restore_checkpoint: {filepath!r} was written by a {saved} optimizer, "
                         f"the model uses {used}")
    if not model.built:
        model.build()
    _checked_training_state(model, state)
    assign_weights(model, weights, filepath)
    set_optimizer_state(model, manifest, optimizer_arrays, filepath)
    return restore_training_state(model, state)
