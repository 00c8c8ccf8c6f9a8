"""Model files: a small ZIP archive that loads without pickle and without running code.

Layout of a numpy_nn model file (any extension; the chapter's ``model.save("my_model_A.h5")``
writes this format too)::

    model.json            format tag, architecture, compile settings, array manifest, metadata
    weights/00000.npy     one .npy per weight, in ``model.weights`` order
    optimizer/00000.npy   optional optimizer state (slots), for resuming training

``model.json`` is deflated; the ``.npy`` members are *stored* (not compressed): weights are
random-looking floats that deflate by only ~8 %, storing them makes saving ~20x faster, and it
lets the loader require that every array member occupies exactly its own size in the file.

**What loading refuses** (with :class:`~numpy_nn.errors.ModelFileError`), checked in this order
so that nothing big is decompressed or allocated before it is known to be legitimate:

* anything that is not a ZIP archive (an empty file, random bytes, an HDF5 ``.h5`` or a pickle),
  and Keras's own ``.keras`` archives (recognised and named in the message);
* archive members other than ``model.json`` and numbered ``.npy`` files: path tricks such as
  ``../x``, ``/etc/passwd`` or ``weights\\00000.npy``, duplicates, encrypted or oddly
  compressed members;
* oversized content (zip bombs): the declared total must stay under ``max_bytes``, ``.npy``
  members must be stored uncompressed (so their size is bounded by the file's own size), the
  members may not overlap, and every member is read with a bound and must have exactly its
  declared size;
* a manifest that is not a JSON object with our format tag and version, or nests absurdly;
* arrays that are not plain float arrays (``allow_pickle=False``; object, structured, complex
  or integer dtypes are refused), whose header does not match their data, or whose shape
  differs from the manifest;
* architectures naming a layer class outside the allow-list
  (:data:`numpy_nn.layers.LAYER_CLASSES`; names are looked up in a dict, never imported), or
  whose weights would be larger than the arrays the file actually holds (a hostile
  ``Dense(10**10)`` fails before allocating anything);
* compile settings or optimizer state that do not fit the architecture.

Files are written with :func:`numpy_nn.io_utils.atomic_write`, so a crash during a save
leaves the previous file intact.

**Checkpoints for resuming.** :func:`save_checkpoint` adds the *training state* (the next
epoch and the states of every random generator training draws from) to the model file;
:func:`restore_training_state` puts it back, so that ``fit(initial_epoch=...)`` continues
bit for bit as if training had never stopped (see ``README.md``, "Reproducibility").
"""
from __future__ import annotations

import io
import json
import math
import os
import re
import warnings
import zipfile
import zlib

import numpy as np

from numpy_nn import backend
from numpy_nn import losses as losses_module
from numpy_nn import optimizers as optimizers_module
from numpy_nn.errors import ModelFileError
from numpy_nn.io_utils import atomic_write
from numpy_nn.layers import LAYER_CLASSES
from numpy_nn.layers.base import weight_budget

FORMAT_NAME = "numpy_nn.model"
FORMAT_VERSION = 1
MANIFEST = "model.json"
_MEMBER_PATTERN = re.compile(r"\A(model\.json|(weights|optimizer)/[0-9]{5}\.npy)\Z")
#: Default ceiling on the total uncompressed size of a model file (bytes).
MAX_BYTES = 4 * 1024 ** 3
MAX_MANIFEST_BYTES = 16 * 1024 ** 2
MAX_MEMBERS = 100_000
#: Float types a weight or optimizer array may have in a file.
_ARRAY_DTYPES = ("float16", "float32", "float64")
_HDF5_SIGNATURE = b"\x89HDF\r\n\x1a\n"
_KERAS_MEMBERS = {"config.json", "metadata.json", "model.weights.h5", "model.weights.npz"}

__all__ = ["ModelFileError", "save_model", "save_weights", "load_model", "load_weights",
           "clone_model", "read_model_file", "save_checkpoint", "restore_checkpoint",
           "restore_training_state", "training_state"]


# ---------------------------------------------------------------------------- writing
def _array_bytes(array):
    buffer = io.BytesIO()
    # not np.ascontiguousarray: it turns a 0-d array (Nadam's momentum product) into shape (1,)
    np.lib.format.write_array(buffer, np.asarray(array), allow_pickle=False)
    return buffer.getvalue()


def _write_archive(filepath, manifest, groups):
    """Write ``manifest`` and the arrays of each group atomically to ``filepath``."""
    with atomic_write(filepath) as handle:
        with zipfile.ZipFile(handle, "w") as archive:
            archive.writestr(MANIFEST, json.dumps(manifest, indent=1, sort_keys=True),
                             compress_type=zipfile.ZIP_DEFLATED)
            for group, arrays in groups.items():
                for index, array in enumerate(arrays):
                    archive.writestr(f"{group}/{index:05d}.npy", _array_bytes(array),
                                     compress_type=zipfile.ZIP_STORED)


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
    _write_archive(filepath, manifest, groups)


def save_weights(model, filepath):
    """Write only the weights (plus the architecture, to check them against on load)."""
    save_model(model, filepath, include_optimizer=False)


# ---------------------------------------------------------------------------- reading
def _foreign_file_hint(filepath):
    """A short description of what a non-ZIP file looks like, for the error message."""
    with open(filepath, "rb") as handle:
        head = handle.read(8)
    if not head:
        return "it is empty"
    if head == _HDF5_SIGNATURE:
        return ("it is an HDF5 file, such as a Keras .h5 model; numpy_nn never reads those "
                "directly (tf_backend converts Keras models)")
    if head[:1] == b"\x80":
        return "it looks like a Python pickle, which numpy_nn never loads"
    return "it is not a ZIP archive"


def _open_archive(filepath, max_bytes):
    """The opened ZIP and its member names, after every check that needs no decompression."""
    if not os.path.exists(filepath):
        raise FileNotFoundError(f"No model file at {filepath!r}")
    if not os.path.isfile(filepath):
        raise ModelFileError(f"{filepath!r} is not a regular file")
    file_size = os.path.getsize(filepath)
    if not zipfile.is_zipfile(filepath):
        raise ModelFileError(f"{filepath!r} is not a numpy_nn model file: "
                             f"{_foreign_file_hint(filepath)}")
    try:
        archive = zipfile.ZipFile(filepath)
        members = archive.infolist()
    except (zipfile.BadZipFile, OSError, ValueError, EOFError, NotImplementedError) as error:
        raise ModelFileError(f"{filepath!r} is damaged: {error}") from None
    try:
        names = _check_members(filepath, members, file_size, max_bytes)
    except ModelFileError:
        archive.close()
        raise
    return archive, names


def _check_members(filepath, members, file_size, max_bytes):
    if len(members) > MAX_MEMBERS:
        raise ModelFileError(f"{filepath!r} has {len(members)} members (limit {MAX_MEMBERS})")
    names = [info.filename for info in members]
    if MANIFEST not in names and _KERAS_MEMBERS & set(names):
        raise ModelFileError(f"{filepath!r} is a Keras .keras archive, not a numpy_nn model "
                             f"file; numpy_nn never reads those directly (load it with "
                             f"tf_backend.load_keras({filepath!r}), which converts it)")
    seen = set()
    declared = stored = 0
    for info in members:
        name = info.filename
        if not _MEMBER_PATTERN.match(name):
            raise ModelFileError(f"{filepath!r}: unexpected archive member {name!r}; a numpy_nn "
                                 f"model holds only model.json and numbered .npy files")
        if name in seen:
            raise ModelFileError(f"{filepath!r}: archive member {name!r} appears twice")
        seen.add(name)
        if info.flag_bits & 0x1:
            raise ModelFileError(f"{filepath!r}: archive member {name!r} is encrypted")
        allowed = ((zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED) if name == MANIFEST
                   else (zipfile.ZIP_STORED,))
        if info.compress_type not in allowed:
            raise ModelFileError(f"{filepath!r}: archive member {name!r} uses compression "
                                 f"method {info.compress_type}; numpy_nn stores arrays "
                                 f"uncompressed")
        if name != MANIFEST and info.compress_size != info.file_size:
            raise ModelFileError(f"{filepath!r}: array member {name!r} declares "
                                 f"{info.file_size:,} bytes but occupies {info.compress_size:,}")
        declared += info.file_size
        stored += info.compress_size
    if stored > file_size:
        raise ModelFileError(f"{filepath!r}: its members claim {stored:,} bytes in a file of "
                             f"{file_size:,} (overlapping members, as in a zip bomb)")
    if declared > max_bytes:
        raise ModelFileError(f"{filepath!r} would decompress to {declared:,} bytes, over the "
                             f"limit of {max_bytes:,} (pass max_bytes= to allow larger files)")
    if MANIFEST not in seen:
        raise ModelFileError(f"{filepath!r} has no {MANIFEST}; it is not a numpy_nn model file")
    return seen


def _read_member(archive, name, limit, filepath):
    """The member's bytes, reading at most ``limit + 1`` of them whatever its header says."""
    info = archive.getinfo(name)
    if info.file_size > limit:
        raise ModelFileError(f"{filepath!r}: member {name!r} is larger than allowed "
                             f"({info.file_size:,} > {limit:,} bytes)")
    try:
        with archive.open(info) as handle:
            data = handle.read(limit + 1)
    except (zipfile.BadZipFile, zlib.error, OSError, EOFError, ValueError, NotImplementedError,
            RuntimeError) as error:
        raise ModelFileError(f"{filepath!r} is damaged (member {name!r}: {error})") from None
    if len(data) > limit or len(data) != info.file_size:
        raise ModelFileError(f"{filepath!r}: member {name!r} does not have its declared size")
    return data


def _parse_npy(data, name, filepath):
    """A float array from ``.npy`` bytes, refusing anything else before allocating it.

    The header is parsed on its own first (``numpy.lib.format`` reads it with
    ``ast.literal_eval``, never ``eval`` or pickle), then the dtype must be a plain float and
    the data must be exactly ``prod(shape) * itemsize`` bytes long, so a header declaring a
    huge shape over a few bytes of data is refused instead of allocated.
    """
    stream = io.BytesIO(data)
    try:
        version = np.lib.format.read_magic(stream)
        if version == (1, 0):
            shape, fortran_order, dtype = np.lib.format.read_array_header_1_0(stream)
        elif version == (2, 0):
            shape, fortran_order, dtype = np.lib.format.read_array_header_2_0(stream)
        else:
            raise ValueError(f"unsupported .npy format version {version}")
    except (ValueError, EOFError, SyntaxError, TypeError, OverflowError) as error:
        raise ModelFileError(f"{filepath!r}: member {name!r} is not a valid .npy array "
                             f"({error})") from None
    if dtype.hasobject or dtype.kind != "f" or dtype.newbyteorder("=").name not in _ARRAY_DTYPES:
        raise ModelFileError(f"{filepath!r}: member {name!r} has dtype {dtype}; numpy_nn model "
                             f"files hold only {', '.join(_ARRAY_DTYPES)} arrays (never "
                             f"objects, which would need pickle)")
    payload = data[stream.tell():]
    expected = math.prod(shape) * dtype.itemsize
    if len(payload) != expected:
        raise ModelFileError(f"{filepath!r}: member {name!r} declares shape {tuple(shape)} "
                             f"({expected:,} bytes) but holds {len(payload):,} bytes of data")
    array = np.frombuffer(payload, dtype=dtype).reshape(shape, order="F" if fortran_order
                                                        else "C")
    return np.array(array, dtype=dtype.newbyteorder("="), order="C")


def _read_array(archive, name, expected_shape, filepath, max_bytes):
    array = _parse_npy(_read_member(archive, name, max_bytes, filepath), name, filepath)
    if expected_shape is not None and list(array.shape) != list(expected_shape):
        raise ModelFileError(f"{filepath!r}: member {name!r} has shape {array.shape}, the "
                             f"manifest says {expected_shape}")
    return array


def _read_manifest(archive, filepath):
    raw = _read_member(archive, MANIFEST, MAX_MANIFEST_BYTES, filepath)
    try:
        manifest = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise ModelFileError(f"{filepath!r}: {MANIFEST} is not valid JSON ({error})") from None
    except RecursionError:
        raise ModelFileError(f"{filepath!r}: {MANIFEST} nests too deeply") from None
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
            and all(_is_int(d) and d >= 0 for d in e["shape"]) for e in entries):
        raise ModelFileError(f"{filepath!r}: {MANIFEST} has no valid weight list")
    state = manifest.get("optimizer_state")
    if state is not None:
        scalars = state.get("scalars") if isinstance(state, dict) else None
        keys = state.get("arrays") if isinstance(state, dict) else None
        if not isinstance(keys, list) or not all(isinstance(k, str) for k in keys) \
                or not isinstance(scalars, dict) or not all(
                    isinstance(v, (int, float)) and not isinstance(v, bool)
                    and math.isfinite(v) for v in scalars.values()) \
                or not _is_int(scalars.get("iterations", 0)) or scalars.get("iterations", 0) < 0:
            raise ModelFileError(f"{filepath!r}: invalid optimizer_state in {MANIFEST}")
    for key in ("metadata", "compile_config"):
        if not isinstance(manifest.get(key) or {}, dict):
            raise ModelFileError(f"{filepath!r}: {key} in {MANIFEST} must be an object")
    return manifest


def _is_int(value):
    return isinstance(value, int) and not isinstance(value, bool)


def _read_group(archive, names, group, expected_shapes, filepath, max_bytes):
    """The arrays ``group/00000.npy ...`` in order; every one must be there, nothing more."""
    wanted = [f"{group}/{i:05d}.npy" for i in range(len(expected_shapes))]
    extra = {n for n in names if n.startswith(group + "/")} - set(wanted)
    if extra:
        raise ModelFileError(f"{filepath!r}: {sorted(extra)[0]!r} is not in the manifest")
    arrays = []
    for name, shape in zip(wanted, expected_shapes):
        if name not in names:
            raise ModelFileError(f"{filepath!r}: missing {name} (file truncated?)")
        arrays.append(_read_array(archive, name, shape, filepath, max_bytes))
    return arrays


def read_model_file(filepath, max_bytes=MAX_BYTES):
    """``(manifest, weights, optimizer_arrays)`` from a model file, validated."""
    filepath = os.fspath(filepath)
    archive, names = _open_archive(filepath, max_bytes)
    with archive:
        manifest = _read_manifest(archive, filepath)
        entries = manifest["weights"]
        weights = _read_group(archive, names, "weights", [e["shape"] for e in entries],
                              filepath, max_bytes)
        for entry, array in zip(entries, weights):
            if "dtype" in entry and entry["dtype"] != str(array.dtype):
                raise ModelFileError(f"{filepath!r}: weight {entry.get('path')!r} has dtype "
                                     f"{array.dtype}, the manifest says {entry['dtype']!r}")
        keys = (manifest.get("optimizer_state") or {}).get("arrays") or []
        arrays = _read_group(archive, names, "optimizer", [None] * len(keys), filepath,
                             max_bytes)
        optimizer_arrays = dict(zip(keys, arrays))
    return manifest, weights, optimizer_arrays


def _build_architecture(manifest, weights, filepath, custom_objects=None):
    """The model the manifest describes, built, with no more weight elements than the file
    holds (so a forged config cannot make us allocate gigabytes)."""
    from numpy_nn.models.sequential import Sequential

    try:
        with weight_budget(sum(int(w.size) for w in weights)):
            model = Sequential.from_config(manifest.get("model_config"), custom_objects)
            model.build()
    except Exception as error:   # a hostile config may fail in any layer's constructor
        raise ModelFileError(f"{filepath!r}: invalid architecture ({type(error).__name__}: "
                             f"{error})") from None
    return model


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
    model = _build_architecture(manifest, weights, filepath, custom_objects)
    _assign_weights(model, weights, filepath)
    compile_config = manifest.get("compile_config")
    if compile and compile_config:
        try:
            model.compile(optimizer=optimizers_module.get(compile_config["optimizer"]),
                          loss=losses_module.get(compile_config["loss"]),
                          metrics=compile_config.get("metrics") or None)
        except Exception as error:   # hostile configs: bad names, bad kwargs, bad types
            raise ModelFileError(f"{filepath!r}: invalid compile settings "
                                 f"({type(error).__name__}: {error})") from None
        if manifest.get("optimizer_state") is not None:
            _set_optimizer_state(model, manifest, optimizer_arrays, filepath)
    model.file_metadata = manifest.get("metadata") or {}
    return model


def _set_optimizer_state(model, manifest, optimizer_arrays, filepath):
    state = dict(manifest["optimizer_state"]["scalars"])
    state.update(optimizer_arrays)
    try:
        model.optimizer.set_state(state, model.trainable_weights)
    except (ValueError, TypeError, KeyError, OverflowError) as error:
        raise ModelFileError(f"{filepath!r}: the optimizer state does not fit this model "
                             f"({error})") from None


def _assign_weights(model, weights, filepath):
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
    """Load the weights of a file written by :func:`save_model`/:func:`save_weights` into ``model``."""
    _, weights, _ = read_model_file(filepath, max_bytes)
    if not model.built:
        model.build()
    _assign_weights(model, weights, filepath)


def clone_model(model):
    """Same architecture, freshly initialised weights (like ``keras.models.clone_model``)."""
    from numpy_nn.models.sequential import Sequential

    own_classes = {type(layer).__name__: type(layer) for layer in model.layers}
    clone = Sequential.from_config(model.get_config(), custom_objects=own_classes)
    if model.built and not clone.built:
        clone.build(model.input_shape)
    return clone


# ---------------------------------------------------------------------------- checkpoints
def _seeded_generators(model):
    """``{layer index: generator}`` for layers that own a random generator (``Dropout(seed=...)``).

    Keyed by position, not name: a model rebuilt in a new session gets new automatic names.
    """
    return {index: layer._own_generator for index, layer in enumerate(model.layers)
            if getattr(layer, "_own_generator", None) is not None}


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
        if not _is_int(epoch) or epoch < 0:
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
    _assign_weights(model, weights, filepath)
    _set_optimizer_state(model, manifest, optimizer_arrays, filepath)
    return restore_training_state(model, state)
