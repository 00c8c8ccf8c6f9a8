"""Finding, verifying and (as a last resort) downloading dataset files.

Every loader looks in the same places, in this order, and says where it looked when the
data is missing:

1. ``$NUMPY_NN_DATA_DIR`` (its ``<dataset>/`` sub-folder or the folder itself);
2. Keras's own cache, ``~/.keras/datasets/...`` (so data Keras downloaded is reused);
3. system-wide copies such as Debian's ``/usr/share/datasets/fashion-mnist``;
4. a download from the canonical source into ``$NUMPY_NN_CACHE_DIR`` (default
   ``~/.keras/datasets``), verified against a known checksum and written atomically.
   Set ``NUMPY_NN_NO_DOWNLOAD=1`` to forbid the network (the test suite does).
"""
from __future__ import annotations

import hashlib
import os
import urllib.request

from numpy_nn.io_utils import atomic_write


class DatasetNotFoundError(FileNotFoundError):
    """The dataset is in none of the searched places and could not be downloaded."""


def data_dir_candidates(*subdirs):
    """Folders named by ``$NUMPY_NN_DATA_DIR``, each with the given sub-folders, then itself."""
    root = os.environ.get("NUMPY_NN_DATA_DIR")
    if not root:
        return []
    return [os.path.join(root, sub) for sub in subdirs] + [root]


def keras_cache_dir():
    return os.path.join(os.path.expanduser("~"), ".keras", "datasets")


def download_cache_dir():
    return os.environ.get("NUMPY_NN_CACHE_DIR") or keras_cache_dir()


def download(url, destination, sha256=None, md5=None):
    """Fetch ``url`` to ``destination`` atomically, refusing content with the wrong checksum."""
    if os.environ.get("NUMPY_NN_NO_DOWNLOAD"):
        raise DatasetNotFoundError(f"download of {url} refused: NUMPY_NN_NO_DOWNLOAD is set")
    digests = {"sha256": hashlib.sha256(), "md5": hashlib.md5()}
    try:
        with urllib.request.urlopen(url, timeout=60) as response, \
                atomic_write(destination) as handle:
            for chunk in iter(lambda: response.read(1 << 20), b""):
                for digest in digests.values():
                    digest.update(chunk)
                handle.write(chunk)
            for name, expected in (("sha256", sha256), ("md5", md5)):
                if expected and digests[name].hexdigest() != expected:
                    raise ValueError(f"checksum mismatch for {url}: {name} "
                                     f"{digests[name].hexdigest()} != {expected}")
    except OSError as error:
        raise DatasetNotFoundError(f"could not download {url}: {error}") from None
    return destination


def not_found_message(dataset, searched, how_to):
    places = "\n".join(f"  - {p}" for p in searched) or "  (nowhere)"
    return (f"{dataset} was not found. Looked in:\n{places}\n{how_to}")
