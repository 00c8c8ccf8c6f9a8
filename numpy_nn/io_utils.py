"""Crash-safe file writing: every file numpy_nn writes goes through :func:`atomic_write`.

The content is written to a temporary file in the destination's directory, flushed and
``fsync``-ed, then moved over the destination with ``os.replace`` (atomic on POSIX and
Windows). A process killed at any moment therefore leaves either the complete old file or the
complete new one, never a half-written file; at worst a stray ``.tmp`` file remains.
"""
from __future__ import annotations

import contextlib
import os
import tempfile


@contextlib.contextmanager
def atomic_write(path, mode="wb"):
    """Context manager yielding a file object; the file appears at ``path`` only on success."""
    path = os.fspath(path)
    directory = os.path.dirname(os.path.abspath(path))
    os.makedirs(directory, exist_ok=True)
    fd, temp_path = tempfile.mkstemp(prefix=_temporary_prefix(path), suffix=".tmp",
                                     dir=directory)
    try:
        os.chmod(temp_path, 0o666 & ~_current_umask())   # mkstemp's 0600 is too private
        with os.fdopen(fd, mode) as handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temp_path, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temp_path)
        raise
    _fsync_directory(directory)


def _temporary_prefix(path):
    return f".{os.path.basename(path)}."


def remove_stale_temporaries(path):
    """Delete temporary files a killed :func:`atomic_write` to ``path`` left behind.

    Only call this when no other process may be writing ``path`` right now (e.g. a callback
    that owns its folder); returns the names removed.
    """
    path = os.fspath(path)
    directory = os.path.dirname(os.path.abspath(path))
    prefix = _temporary_prefix(path)
    removed = []
    with contextlib.suppress(FileNotFoundError):
        for name in os.listdir(directory):
            if name.startswith(prefix) and name.endswith(".tmp"):
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(os.path.join(directory, name))
                removed.append(name)
    return removed


def _fsync_directory(directory):
    """Persist the rename itself (POSIX); harmless where directories cannot be opened."""
    with contextlib.suppress(OSError, AttributeError):
        fd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def _current_umask():
    mask = os.umask(0)
    os.umask(mask)
    return mask
