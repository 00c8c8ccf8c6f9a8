"""Model files: a small ZIP archive that loads without pickle and without running code.

Layout of a numpy_nn model file (any extension; the chapter's ``model.save("my_model_A.h5")``
writes this format too)::

    model.json            format tag, architecture, compile settings, array manifest, metadata
    weights/00000.npy     one .npy per weight, in ``model.weights`` order
    optimizer/00000.npy   optional optimizer state (slots), for resuming training

Loading is defensive: the archive must contain exactly these kinds of members (anything else,
including path tricks such as ``../x``, is rejected), sizes are bounded before anything is
decompressed, arrays are read with ``allow_pickle=False`` and must be float/int with the
shapes the architecture expects, and layer classes come only from an allow-list
(:data:`numpy_nn.layers.LAYER_CLASSES`). Files are written with :func:`numpy_nn.io_utils.atomic_write`.
"""
from __future__ import annotations

import io
import json
import os
import re
import zipfile

import numpy as np

from numpy_nn import losses as losses_module
from numpy_nn import optimizers as optimizers_module
from numpy_nn.io_utils import atomic_write

FORMAT_NAME = "numpy_nn.model"
FORMAT_VERSION = 1
MANIFEST = "model.json"
_MEMBER_PATTERN = re.compile(r"^(model\.json|(weights|optimizer)/\d{5}\.npy)$")
#: Default ceiling on the total uncompressed size of a model file (bytes).
MAX_BYTES = 4 * 1024 ** 3
MAX_MANIFEST_BYTES = 16 * 1024 ** 2
MAX_MEMBERS = 100_000


class ModelFileError(ValueError):
    """A model file that is not ours, is damaged, or does not match its own description."""


# ---------------------------------------------------------------------------- writing
def _array_bytes(array):
    buffer = io.BytesIO()
    np.lib.format.write_array(buffer, np.ascontiguousarray(array), allow_pickle=False)
    return buffer.getvalue()


def _write_archive(filepath, manifest, groups):
    """Write ``manifest`` and the arrays of each group atomically to ``filepath``."""
    with atomic_write(filepath) as handle:
        with zipfile.ZipFile(handle, "w", compression=zipfile.ZIP_DEFLATED) as archive:
            archive.writestr(MANIFEST, json.dumps(manifest, indent=1, sort_keys=True))
            for group, arrays in groups.items():
                for index, array in enumerate(arrays):
                    archive.writestr(f"{group}/{index:05d}.npy", _array_bytes(array))


def _compile_config(model):
    if not getattr(model, "compiled", False):
        return None
    metrics = [m for m in model.metric_names if isinstance(m, str)]
    return {"optimizer": optimizers_module.serialize(model.optimizer),
            "loss": losses_module.serialize(model.loss), "metrics": metrics}


def save_model(model, filepath, include_optimizer=True, metadata=None):
    """Write ``model`` to ``filepath`` (see the module docstring for the format).

    ``metadata`` is any JSON-serialisable dict stored alongside (a checkpoint puts the epoch
    and the random generator's state there to make training resumable).
    """
    if not model.built:
        raise ValueError(f"save_model: model '{model.name}' is not built yet (its input shape "
                         f"is unknown), so it has no weights to save")
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
    _write_archive(filepath, manifest, groups)


def save_weights(model, filepath):
    """Write only the weights (plus the architecture, to check them against on load)."""
    save_model(model, filepath, include_optimizer=False)


# ---------------------------------------------------------------------------- reading
def _open_archive(filepath, max_bytes):
    filepath = os.fspath(filepath)
    if not os.path.isfile(filepath):
        raise FileNotFoundError(f"No model file at {filepath!r}")
    if not zipfile.is_zipfile(filepath):
        raise ModelFileError(f"{filepath!r} is not a numpy_nn model file (not a ZIP archive; "
                             f"Keras .h5/.keras files need tf_backend.from_keras)")
    try:
        archive = zipfile.ZipFile(filepath)
        members = archive.infolist()
    except (zipfile.BadZipFile, OSError, ValueError) as error:
        raise ModelFileError(f"{filepath!r} is damaged: {error}") from None
    if len(members) > MAX_MEMBERS:
        raise ModelFileError(f"{filepath!r} has {len(members)} members (limit {MAX_MEMBERS})")
    names = set()
    total = 0
    for info in members:
        if not _MEMBER_PATTERN.match(info.filename) or info.filename in names:
            raise ModelFileError(f"{filepath!r}: unexpected archive member {info.filename!r}; "
                                 f"a numpy_nn model holds only model.json and numbered .npy "
                                 f"files")
        names.add(info.filename)
        total += info.file_size
    if total > max_bytes:
        raise ModelFileError(f"{filepath!r} would decompress to {total:,} bytes, over the limit "
                             f"of {max_bytes:,} (pass max_bytes= to allow larger files)")
    if MANIFEST not in names:
        raise ModelFileError(f"{filepath!r} has no {MANIFEST}; it is not a numpy_nn model file")
    return archive, names


def _read_member(archive, name, limit, filepath):
    info = archive.getinfo(name)
    if info.file_size > limit:
        raise ModelFileError(f"{filepath!r}: member {name!r} is larger than allowed")
    try:
        with archive.open(info) as handle:
            data = handle.read(limit + 1)
    except (zipfile.BadZipFile, OSError, EOFError, ValueError) as error:
        raise ModelFileError(f"{filepath!r} is damaged (member {name!r}: {error})") from None
    if len(data) > limit or len(data) != info.file_size:
        raise ModelFileError(f"{filepath!r}: member {name!r} does not have its declared size")
    return data


def _read_array(archive, name, expected_shape, filepath, max_bytes):
    data = _read_member(archive, name, max_bytes, filepath)
    try:
        array = np.lib.format.read_array(io.BytesIO(data), allow_pickle=False)
    except (ValueError, EOFError, OSError) as error:
        raise ModelFileError(f"{filepath!r}: member {name!r} is not a plain numeric array "
                             f"({error})") from None
    if array.dtype.kind not in "fiu":
        raise ModelFileError(f"{filepath!r}: member {name!r} has dtype {array.dtype}, expected "
                             f"a numeric array")
    if expected_shape is not None and tuple(array.shape) != tuple(expected_shape):
        raise ModelFileError(f"{filepath!r}: member {name!r} has shape {array.shape}, expected "
                             f"{tuple(expected_shape)}")
    return array


def read_model_file(filepath, max_bytes=MAX_BYTES):
    """``(manifest, weights, optimizer_arrays)`` from a model file, validated."""
    archive, names = _open_archive(filepath, max_bytes)
    with archive:
        raw = _read_member(archive, MANIFEST, MAX_MANIFEST_BYTES, filepath)
        try:
            manifest = json.loads(raw.decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError) as error:
            raise ModelFileError(f"{filepath!r}: {MANIFEST} is not valid JSON ({error})") from None
        if not isinstance(manifest, dict) or manifest.get("format") != FORMAT_NAME:
            raise ModelFileError(f"{filepath!r} is not a numpy_nn model file (format tag missing)")
        if manifest.get("format_version") != FORMAT_VERSION:
            raise ModelFileError(f"{filepath!r} has format version "
                                 f"{manifest.get('format_version')!r}; this numpy_nn reads "
                                 f"version {FORMAT_VERSION}")
        entries = manifest.get("weights")
        if not isinstance(entries, list) or not all(
                isinstance(e, dict) and isinstance(e.get("shape"), list) for e in entries):
            raise ModelFileError(f"{filepath!r}: {MANIFEST} has no valid weight list")
        weights = []
        for index, entry in enumerate(entries):
            name = f"weights/{index:05d}.npy"
            if name not in names:
                raise ModelFileError(f"{filepath!r}: missing {name} (file truncated?)")
            weights.append(_read_array(archive, name, entry["shape"], filepath, max_bytes))
        if any(n.startswith("weights/") for n in names - {f"weights/{i:05d}.npy"
                                                          for i in range(len(entries))}):
            raise ModelFileError(f"{filepath!r}: weight files do not match the manifest")
        optimizer_arrays = {}
        state = manifest.get("optimizer_state")
        if state is not None:
            keys = state.get("arrays") if isinstance(state, dict) else None
            if not isinstance(keys, list) or not all(isinstance(k, str) for k in keys):
                raise ModelFileError(f"{filepath!r}: invalid optimizer_state in {MANIFEST}")
            for index, key in enumerate(keys):
                name = f"optimizer/{index:05d}.npy"
                if name not in names:
                    raise ModelFileError(f"{filepath!r}: missing {name} (file truncated?)")
                optimizer_arrays[key] = _read_array(archive, name, None, filepath, max_bytes)
    return manifest, weights, optimizer_arrays


def load_model(filepath, compile=True, max_bytes=MAX_BYTES):
    """Rebuild a model saved by :func:`save_model`: architecture, weights, and (if saved and
    ``compile``) loss, metrics and optimizer with its state."""
    from numpy_nn.models.sequential import Sequential

    manifest, weights, optimizer_arrays = read_model_file(filepath, max_bytes)
    try:
        model = Sequential.from_config(manifest.get("model_config"))
        model.build()
    except (ValueError, TypeError, KeyError) as error:
        raise ModelFileError(f"{os.fspath(filepath)!r}: invalid architecture ({error})") from None
    _assign_weights(model, weights, filepath)
    compile_config = manifest.get("compile_config")
    if compile and compile_config:
        try:
            model.compile(optimizer=optimizers_module.get(compile_config["optimizer"]),
                          loss=losses_module.get(compile_config["loss"]),
                          metrics=compile_config.get("metrics") or None)
            if manifest.get("optimizer_state") is not None:
                state = dict(manifest["optimizer_state"].get("scalars") or {})
                state.update(optimizer_arrays)
                model.optimizer.set_state(state, model.trainable_weights)
        except (ValueError, TypeError, KeyError) as error:
            raise ModelFileError(f"{os.fspath(filepath)!r}: invalid compile settings "
                                 f"({error})") from None
    model.file_metadata = manifest.get("metadata") or {}
    return model


def _assign_weights(model, weights, filepath):
    expected = model.weights
    if len(weights) != len(expected):
        raise ModelFileError(f"{os.fspath(filepath)!r} holds {len(weights)} weight arrays; the "
                             f"architecture needs {len(expected)}")
    for variable, value in zip(expected, weights):
        if value.shape != variable.shape:
            raise ModelFileError(f"{os.fspath(filepath)!r}: weight '{variable.path}' has shape "
                                 f"{value.shape} in the file, {variable.shape} in the model")
    for variable, value in zip(expected, weights):
        variable.assign(value)


def load_weights(model, filepath, max_bytes=MAX_BYTES):
    """Load the weights of a file written by :func:`save_model`/:func:`save_weights` into ``model``."""
    _, weights, _ = read_model_file(filepath, max_bytes)
    if not model.built:
        model.build()
    _assign_weights(model, weights, filepath)


def clone_model(model):
    """Same architecture, freshly initialised weights (like ``keras.models.clone_model``)."""
    from numpy_nn.models.sequential import Sequential

    clone = Sequential.from_config(model.get_config())
    if model.built and not clone.built:
        clone.build(model.input_shape)
    return clone
