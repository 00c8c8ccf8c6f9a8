"""Model files: what the manifest and the arrays of the archive mean.

A numpy_nn model file (any extension; the chapter's ``model.save("my_model_A.h5")`` writes
this format too) is a :mod:`numpy_nn.saving.archive` holding::

    model.json            format tag, architecture, compile settings, array manifest, metadata
    weights/00000.npy     one .npy per weight, in ``model.weights`` order
    optimizer/00000.npy   optional optimizer state (slots), for resuming training

Besides what the archive refuses, loading refuses (with
:class:`~numpy_nn.errors.ModelFileError`):

* a manifest that is not a JSON object with our format tag and version;
* weight arrays whose shape or dtype differs from the manifest;
* architectures naming a layer class outside the allow-list
  (:data:`numpy_nn.layers.LAYER_CLASSES`; names are looked up in a dict, never imported), or
  whose weights would be larger than the arrays the file actually holds (a hostile
  ``Dense(10**10)`` fails before allocating anything);
* compile settings or optimizer state that do not fit the architecture.

The functions take the model as an argument and use only its public side (``weights``,
``get_config``, ``compile``, ``optimizer``); the model classes call them from ``save`` /
``save_weights`` / ``load_weights``, and :mod:`numpy_nn.models.saving` adds ``load_model``.
"""
from __future__ import annotations

import math
import os
import warnings

import numpy as np

from numpy_nn import losses as losses_module
from numpy_nn import optimizers as optimizers_module
from numpy_nn._checks import is_int
from numpy_nn.errors import ModelFileError
from numpy_nn.layers import LAYER_CLASSES
from numpy_nn.layers.base import weight_budget
from numpy_nn.saving.archive import (
    MANIFEST,
    MAX_BYTES,
    open_archive,
    read_group,
    read_manifest,
    write_archive,
)

FORMAT_NAME = "numpy_nn.model"
FORMAT_VERSION = 1


# ---------------------------------------------------------------------------- writing
def _compile_config(model):
    if not getattr(model, "compiled", False):
        return None
    metrics = [m for m in model.metric_names if isinstance(m, str)]
    return {"optimizer": optimizers_module.serialize(model.optimizer),
            "loss": losses_module.serialize(model.loss), "metrics": metrics}


def save_model(model, filepath, include_optimizer=True, metadata=None):
    """Write ``model`` to ``filepath`` (see the module docstring for the format).

    ``metadata`` is any JSON-serialisable dict stored alongside (a checkpoint puts the epoch
    and the random generators' states there to make training resumable).
    """
    if not model.built:
        raise ValueError(f"save_model: model '{model.name}' is not built yet (its input shape "
                         f"is unknown), so it has no weights to save")
    custom = sorted({type(layer).__name__ for layer in model.layers
                     if LAYER_CLASSES.get(type(layer).__name__) is not type(layer)})
    if custom:
        warnings.warn(f"save_model: {', '.join(custom)} {'is' if len(custom) == 1 else 'are'} "
                      f"not numpy_nn layer classes; load_model will need "
                      f"custom_objects={{{', '.join(f'{c!r}: {c}' for c in custom)}}}",
                      stacklevel=3)
    weights = model.weights
    manifest = {"format": FORMAT_NAME, "format_version": FORMAT_VERSION,
                "model_config": model.get_config(), "compile_config": _compile_config(model),
                "weights": [{"path": v.path, "shape": list(v.shape), "dtype": str(v.dtype)}
                            for v in weights],
                "metadata": metadata or {}}
    groups = {"weights": [v.value for v in weights]}
    if include_optimizer and manifest["compile_config"] is not None:
        state = model.optimizer.get_state(model.trainable_weights)
        array_keys = [k for k, v in state.items() if isinstance(v, np.ndarray)]
        manifest["optimizer_state"] = {
            "scalars": {k: v for k, v in state.items() if not isinstance(v, np.ndarray)},
            "arrays": array_keys}
        groups["optimizer"] = [state[k] for k in array_keys]
    write_archive(filepath, manifest, groups)


def save_weights(model, filepath):
    """Write only the weights (plus the architecture, to check them against on load)."""
    save_model(model, filepath, include_optimizer=False)


# ---------------------------------------------------------------------------- reading
def _check_manifest(manifest, filepath):
    """Refuse a manifest without our format tag and version, or with malformed entries."""
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT_NAME:
        raise ModelFileError(f"{filepath!r} is not a numpy_nn model file (its {MANIFEST} has "
                             f"no '{FORMAT_NAME}' format tag)")
    if manifest.get("format_version") != FORMAT_VERSION:
        raise ModelFileError(f"{filepath!r} has format version "
                             f"{manifest.get('format_version')!r}; this numpy_nn reads "
                             f"version {FORMAT_VERSION}")
    entries = manifest.get("weights")
    if not isinstance(entries, list) or not all(
            isinstance(e, dict) and isinstance(e.get("shape"), list)
            and all(is_int(d) and d >= 0 for d in e["shape"]) for e in entries):
        raise ModelFileError(f"{filepath!r}: {MANIFEST} has no valid weight list")
    state = manifest.get("optimizer_state")
    if state is not None:
        scalars = state.get("scalars") if isinstance(state, dict) else None
        keys = state.get("arrays") if isinstance(state, dict) else None
        if not isinstance(keys, list) or not all(isinstance(k, str) for k in keys) \
                or not isinstance(scalars, dict) or not all(
                    isinstance(v, (int, float)) and not isinstance(v, bool)
                    and math.isfinite(v) for v in scalars.values()) \
                or not is_int(scalars.get("iterations", 0)) or scalars.get("iterations", 0) < 0:
            raise ModelFileError(f"{filepath!r}: invalid optimizer_state in {MANIFEST}")
    for key in ("metadata", "compile_config"):
        if not isinstance(manifest.get(key) or {}, dict):
            raise ModelFileError(f"{filepath!r}: {key} in {MANIFEST} must be an object")
    return manifest


def read_model_file(filepath, max_bytes=MAX_BYTES):
    """``(manifest, weights, optimizer_arrays)`` from a model file, validated."""
    filepath = os.fspath(filepath)
    archive, names = open_archive(filepath, max_bytes)
    with archive:
        manifest = _check_manifest(read_manifest(archive, filepath), filepath)
        entries = manifest["weights"]
        weights = read_group(archive, names, "weights", [e["shape"] for e in entries],
                              filepath, max_bytes)
        for entry, array in zip(entries, weights):
            if "dtype" in entry and entry["dtype"] != str(array.dtype):
                raise ModelFileError(f"{filepath!r}: weight {entry.get('path')!r} has dtype "
                                     f"{array.dtype}, the manifest says {entry['dtype']!r}")
        keys = (manifest.get("optimizer_state") or {}).get("arrays") or []
        arrays = read_group(archive, names, "optimizer", [None] * len(keys), filepath,
                             max_bytes)
        optimizer_arrays = dict(zip(keys, arrays))
    return manifest, weights, optimizer_arrays


def build_architecture(model_class, manifest, weights, filepath, custom_objects=None):
    """The ``model_class`` model the manifest describes, built, with no more weight elements
    than the file holds (so a forged config cannot make us allocate gigabytes)."""
    try:
        with weight_budget(sum(int(w.size) for w in weights)):
            model = model_class.from_config(manifest.get("model_config"), custom_objects)
            model.build()
    except Exception as error:   # a hostile config may fail in any layer's constructor
        raise ModelFileError(f"{filepath!r}: invalid architecture ({type(error).__name__}: "
                             f"{error})") from None
    return model


def compile_from_manifest(model, manifest, optimizer_arrays, filepath):
    """Compile ``model`` with the saved loss, metrics and optimizer, and put the optimizer's
    state back when the file has it."""
    compile_config = manifest["compile_config"]
    try:
        model.compile(optimizer=optimizers_module.get(compile_config["optimizer"]),
                      loss=losses_module.get(compile_config["loss"]),
                      metrics=compile_config.get("metrics") or None)
    except Exception as error:   # hostile configs: bad names, bad kwargs, bad types
        raise ModelFileError(f"{filepath!r}: invalid compile settings "
                             f"({type(error).__name__}: {error})") from None
    if manifest.get("optimizer_state") is not None:
        set_optimizer_state(model, manifest, optimizer_arrays, filepath)


def set_optimizer_state(model, manifest, optimizer_arrays, filepath):
    state = dict(manifest["optimizer_state"]["scalars"])
    state.update(optimizer_arrays)
    try:
        model.optimizer.set_state(state, model.trainable_weights)
    except (ValueError, TypeError, KeyError, OverflowError) as error:
        raise ModelFileError(f"{filepath!r}: the optimizer state does not fit this model "
                             f"({error})") from None


def assign_weights(model, weights, filepath):
    expected = model.weights
    if len(weights) != len(expected):
        raise ModelFileError(f"{os.fspath(filepath)!r} holds {len(weights)} weight arrays; the "
                             f"architecture needs {len(expected)}")
    for variable, value in zip(expected, weights):
        if value.shape != variable.shape:
            raise ModelFileError(f"{os.fspath(filepath)!r}: weight '{variable.path}' has shape "
                                 f"{value.shape} in the file, {variable.shape} in the model")
        with np.errstate(over="ignore"):
            converted = value.astype(variable.dtype)
        if np.any(np.isfinite(value) & ~np.isfinite(converted)):
            raise ModelFileError(f"{os.fspath(filepath)!r}: weight '{variable.path}' has values "
                                 f"too large for {variable.dtype}")
    for variable, value in zip(expected, weights):
        variable.assign(value)


def load_weights(model, filepath, max_bytes=MAX_BYTES):
    """Load the weights of a :func:`save_model` / :func:`save_weights` file into ``model``."""
    _, weights, _ = read_model_file(filepath, max_bytes)
    if not model.built:
        model.build()
    assign_weights(model, weights, filepath)
