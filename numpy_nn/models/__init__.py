"""Models: :class:`Sequential` (its structure in :mod:`.sequential`, its training loop in
:mod:`.trainer`, its input checks in :mod:`.validation`), and saving / loading / cloning /
checkpointing (:mod:`.saving`, over the file format in :mod:`numpy_nn.saving`)."""
from numpy_nn.models.saving import (
    ModelFileError,
    clone_model,
    load_model,
    load_weights,
    restore_checkpoint,
    restore_training_state,
    save_checkpoint,
    save_model,
    save_weights,
)
from numpy_nn.models.sequential import Sequential

__all__ = ["Sequential", "load_model", "save_model", "clone_model", "load_weights",
           "save_weights", "ModelFileError", "save_checkpoint", "restore_checkpoint",
           "restore_training_state"]
