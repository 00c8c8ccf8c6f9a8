"""Model files, below the models (as ``keras/src/saving`` is): nothing here imports a model
class, so callbacks can save and restore without importing the models that call them.

* :mod:`.archive` — the ZIP container: a JSON manifest and numbered ``.npy`` arrays, read
  without pickle, with every size bounded;
* :mod:`.model_file` — what the manifest and the arrays mean: architecture, weights, compile
  settings, optimizer state;
* :mod:`.checkpoints` — the training state that makes a run resumable bit for bit.

The public functions are re-exported by :mod:`numpy_nn.models`.
"""
