"""tf_backend: the bridge between numpy_nn and Keras 3 (the only package that imports TensorFlow).

* :func:`to_keras` / :func:`from_keras` translate a model both ways: the same layers, activations,
  initializer / regularizer / constraint settings and the *same weights* (BatchNormalization's
  moving statistics and PReLU's slopes included), optionally with the equivalent compile settings
  (loss, metrics, optimizer with its hyper-parameters, clipping and learning-rate schedule).
* :func:`save_keras` / :func:`load_keras` exchange ``.keras`` files: a numpy_nn model saved so
  that ``keras.models.load_model`` opens it, and a Keras-trained file loaded into numpy_nn.
* :func:`train_side_by_side` trains the same model with both engines from the same initial
  weights on the same batches (no shuffling) and returns both histories and both weight sets.
* :func:`compare` names the first tensor where a numpy_nn model and its Keras twin part: every
  forward output, loss, gradient, optimizer slot and weight of every step, teacher-forced
  (``python -m tf_backend.compare MODEL.keras --data DATA.npz`` from the shell).

Importing this package sets ``TF_ENABLE_ONEDNN_OPTS=0`` (unless the variable is already set)
before TensorFlow is imported: with oneDNN, TensorFlow's float32 matrix products are not exact
float32 arithmetic on CPUs with AVX512-BF16, and one training step of the chapter's MLP then
differs from plain NumPy by ~1e-5 instead of ~1e-7 (measured on such a CPU).
If TensorFlow was imported earlier with oneDNN on, a warning says so.
"""
from __future__ import annotations

import os
import sys
import warnings

if "tensorflow" not in sys.modules:
    os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
elif os.environ.get("TF_ENABLE_ONEDNN_OPTS") != "0":
    warnings.warn("tf_backend: TensorFlow was imported before tf_backend with oneDNN enabled; "
                  "float32 results will differ from numpy_nn by ~1e-5 instead of ~1e-7. Set "
                  "TF_ENABLE_ONEDNN_OPTS=0 before importing TensorFlow for exact comparisons.",
                  stacklevel=2)

from tf_backend.compare import ComparisonResult, TensorComparison, compare  # noqa: E402
from tf_backend.compile import (  # noqa: E402
    keras_floatx,
    loss_from_keras,
    loss_to_keras,
    optimizer_from_keras,
    optimizer_to_keras,
    schedule_from_keras,
    schedule_to_keras,
)
from tf_backend.convert import UntranslatableError, from_keras, to_keras  # noqa: E402
from tf_backend.files import load_keras, save_keras  # noqa: E402
from tf_backend.runner import SideBySideResult, train_side_by_side  # noqa: E402

__all__ = ["to_keras", "from_keras", "save_keras", "load_keras", "train_side_by_side",
           "SideBySideResult", "UntranslatableError", "keras_floatx", "optimizer_to_keras",
           "optimizer_from_keras", "schedule_to_keras", "schedule_from_keras", "loss_to_keras",
           "loss_from_keras", "compare", "ComparisonResult", "TensorComparison"]
