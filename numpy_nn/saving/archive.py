"""The container of numpy_nn model files: a ZIP archive of one JSON manifest and numbered
``.npy`` arrays, written atomically and read without pickle and without running code.

It knows nothing of models: :mod:`numpy_nn.saving.model_file` decides what the manifest and
the arrays mean. Layout::

    model.json            the manifest (deflated)
    weights/00000.npy     numbered arrays, one group per folder (stored, not compressed)
    optimizer/00000.npy

The ``.npy`` members are *stored*: weights are random-looking floats that deflate by only
~8 %, storing them makes saving ~20x faster, and it lets the reader require that every array
member occupies exactly its own size in the file.

**What reading refuses** (with :class:`~numpy_nn.errors.ModelFileError`), checked in this order
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
* a manifest that is not JSON, or nests absurdly;
* arrays that are not plain float arrays (``allow_pickle=False``; object, structured, complex
  or integer dtypes are refused), whose header does not match their data, or whose shape
  differs from the one expected.

Files are written with :func:`numpy_nn.io_utils.atomic_write`, so a crash during a save
leaves the previous file intact.
"""
from __future__ import annotations

import io
import json
import math
import os
import re
import zipfile
import zlib

import numpy as np

from numpy_nn.errors import ModelFileError
from numpy_nn.io_utils import atomic_write

MANIFEST = "model.json"
_MEMBER_PATTERN = re.compile(r"\A(model\.json|(weights|optimizer)/[0-9]{5}\.npy)\Z")
#: Default ceiling on the total uncompressed size of a model file (bytes).
MAX_BYTES = 4 * 1024 ** 3
MAX_MANIFEST_BYTES = 16 * 1024 ** 2
MAX_MEMBERS = 100_000
#: Float types an array may have in a file.
_ARRAY_DTYPES = ("float16", "float32", "float64")
_HDF5_SIGNATURE = b"\x89HDF\r\n\x1a\n"
_KERAS_MEMBERS = {"config.json", "metadata.json", "model.weights.h5", "model.weights.npz"}


# ---------------------------------------------------------------------------- writing
def _array_bytes(array):
    buffer = io.BytesIO()
    # not np.ascontiguousarray: it turns a 0-d array (Nadam's momentum product) into shape (1,)
    np.lib.format.write_array(buffer, np.asarray(array), allow_pickle=False)
    return buffer.getvalue()


def write_archive(filepath, manifest, groups):
    """Write ``manifest`` and the arrays of each group atomically to ``filepath``."""
    with atomic_write(filepath) as handle:
        with zipfile.ZipFile(handle, "w") as archive:
            archive.writestr(MANIFEST, json.dumps(manifest, indent=1, sort_keys=True),
                             compress_type=zipfile.ZIP_DEFLATED)
            for group, arrays in groups.items():
                for index, array in enumerate(arrays):
                    archive.writestr(f"{group}/{index:05d}.npy", _array_bytes(array),
                                     compress_type=zipfile.ZIP_STORED)


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


def open_archive(filepath, max_bytes):
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


def read_member(archive, name, limit, filepath):
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


def read_array(archive, name, expected_shape, filepath, max_bytes):
    array = _parse_npy(read_member(archive, name, max_bytes, filepath), name, filepath)
    if expected_shape is not None and list(array.shape) != list(expected_shape):
        raise ModelFileError(f"{filepath!r}: member {name!r} has shape {array.shape}, the "
                             f"manifest says {expected_shape}")
    return array


def read_manifest(archive, filepath):
    """The JSON value stored as ``model.json``, read with a bounded size and depth."""
    raw = read_member(archive, MANIFEST, MAX_MANIFEST_BYTES, filepath)
    try:
        manifest = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise ModelFileError(f"{filepath!r}: {MANIFEST} is not valid JSON ({error})") from None
    except RecursionError:
        raise ModelFileError(f"{filepath!r}: {MANIFEST} nests too deeply") from None
    return manifest


def read_group(archive, names, group, expected_shapes, filepath, max_bytes):
    """The arrays ``group/00000.npy ...`` in order; every one must be there, nothing more."""
    wanted = [f"{group}/{i:05d}.npy" for i in range(len(expected_shapes))]
    extra = {n for n in names if n.startswith(group + "/")} - set(wanted)
    if extra:
        raise ModelFileError(f"{filepath!r}: {sorted(extra)[0]!r} is not in the manifest")
    arrays = []
    for name, shape in zip(wanted, expected_shapes):
        if name not in names:
            raise ModelFileError(f"{filepath!r}: missing {name} (file truncated?)")
        arrays.append(read_array(archive, name, shape, filepath, max_bytes))
    return arrays
