"""The save / load API of models (``keras/src/saving/saving_api.py``'s place).

The file format lives below the models, in :mod:`numpy_nn.saving`: the ZIP container
(:mod:`~numpy_nn.saving.archive`), what its manifest and arrays mean
(:mod:`~numpy_nn.saving.model_file`) and the training state of checkpoints
(:mod:`~numpy_nn.saving.checkpoints`). This module adds what needs the model classes:
:func:`load_model` and :func:`clone_model`; the rest is re-exported so that
``numpy_nn.models.save_model`` and friends stay where the chapter finds them.
"""
from __future__ import annotations

import os

from numpy_nn.errors import ModelFileError
from numpy_nn.models.sequential import Sequential
from numpy_nn.saving.archive import MAX_BYTES
from numpy_nn.saving.checkpoints import (
    restore_checkpoint,
    restore_training_state,
    save_checkpoint,
    training_state,
)
from numpy_nn.saving.model_file import (
    assign_weights,
    build_architecture,
    compile_from_manifest,
    load_weights,
    read_model_file,
    save_model,
    save_weights,
)

__all__ = ["ModelFileError", "save_model", "save_weights", "load_model", "load_weights",
           "clone_model", "read_model_file", "save_checkpoint", "restore_checkpoint",
           "restore_training_state", "training_state"]


def load_model(filepath, custom_objects=None, compile=True, max_bytes=MAX_BYTES):
    """Rebuild a model saved by :func:`save_model`: architecture, weights, and (if saved and
    ``compile``) loss, metrics and optimizer with its state.

    ``custom_objects`` maps class names to your own Layer subclasses (the chapter's
    ``MCAlphaDropout``, say), as in Keras; other names are refused, never imported.

    The file's ``metadata`` is available as ``model.file_metadata``. Loading never changes the
    process's random generators (use :func:`restore_training_state` for that).
    """
    filepath = os.fspath(filepath)
    manifest, weights, optimizer_arrays = read_model_file(filepath, max_bytes)
    model = build_architecture(Sequential, manifest, weights, filepath, custom_objects)
    assign_weights(model, weights, filepath)
    if compile and manifest.get("compile_config"):
        compile_from_manifest(model, manifest, optimizer_arrays, filepath)
    model.file_metadata = manifest.get("metadata") or {}
    return model


def clone_model(model):
    """Same architecture, freshly initialised weights (like ``keras.models.clone_model``)."""
    own_classes = {type(layer).__name__: type(layer) for layer in model.layers}
    clone = Sequential.from_config(model.get_config(), custom_objects=own_classes)
    if model.built and not clone.built:
        clone.build(model.input_shape)
    return clone
