"""Models: :class:`Sequential`, and saving / loading / cloning / checkpointing."""
from numpy_nn.models.saving import (ModelFileError, clone_model, load_model, load_weights,
                                    restore_checkpoint, restore_training_state, save_checkpoint,
                                    save_model, save_weights)
from numpy_nn.models.sequential import Sequential

__all__ = ["Sequential", "load_model", "save_model", "clone_model", "load_weights",
           "save_weights", "ModelFileError", "save_checkpoint", "restore_checkpoint",
           "restore_training_state"]
