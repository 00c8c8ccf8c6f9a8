"""Models: :class:`Sequential`, and saving / loading / cloning."""
from numpy_nn.models.saving import (ModelFileError, clone_model, load_model, load_weights,
                                    save_model, save_weights)
from numpy_nn.models.sequential import Sequential

__all__ = ["Sequential", "load_model", "save_model", "clone_model", "load_weights",
           "save_weights", "ModelFileError"]
