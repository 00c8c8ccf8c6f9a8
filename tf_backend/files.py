"""``.keras`` file interchange.

* :func:`save_keras` writes a numpy_nn model as a native Keras 3 ``.keras`` archive (the model is
  translated with :func:`~tf_backend.to_keras` and saved by Keras itself), so
  ``keras.models.load_model(path)`` opens it.
* :func:`load_keras` opens a ``.keras`` file with Keras (``safe_mode=True``: no lambda or pickled
  code is run) and translates it with :func:`~tf_backend.from_keras`, so a network trained in
  Keras can be stepped through in NumPy.

Like every numpy_nn writer, :func:`save_keras` never leaves a half-written file at the
destination: Keras writes a temporary file in the same directory, which is then renamed over
the destination in one atomic step.
"""
from __future__ import annotations

import contextlib
import os
import tempfile

import keras

from tf_backend.compile import keras_floatx
from tf_backend.convert import _model_dtype, from_keras, to_keras


def save_keras(model, filepath):
    """Save numpy_nn ``model`` (architecture, weights, and compile settings if compiled) as a
    Keras ``.keras`` file. The optimizer is saved fresh (step 0, no slots)."""
    filepath = os.fspath(filepath)
    if not filepath.endswith(".keras"):
        raise ValueError(f"save_keras: the file name must end in '.keras', got {filepath!r}")
    keras_model = to_keras(model)
    if getattr(keras_model, "optimizer", None) is not None:
        # Saved with its (zero) slots, so load_model finds the variables it expects.
        keras_model.optimizer.build(keras_model.trainable_variables)
    directory = os.path.dirname(os.path.abspath(filepath))
    os.makedirs(directory, exist_ok=True)
    fd, temp_path = tempfile.mkstemp(prefix=f".{os.path.basename(filepath)}.", suffix=".keras",
                                     dir=directory)
    os.close(fd)
    try:
        with keras_floatx(_model_dtype(model)):
            keras_model.save(temp_path)
        os.replace(temp_path, filepath)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temp_path)
        raise


def load_keras(filepath, compile=True):
    """A numpy_nn model from a Keras ``.keras`` file (weights, and compile settings when the
    file has them and ``compile`` is true). Raises ``UntranslatableError`` naming any layer or
    setting numpy_nn does not support."""
    filepath = os.fspath(filepath)
    if not os.path.isfile(filepath):
        raise FileNotFoundError(f"load_keras: no file at {filepath!r}")
    keras_model = keras.models.load_model(filepath, compile=compile, safe_mode=True)
    return from_keras(keras_model, compile=compile and bool(keras_model.get_compile_config()))
