"""Writing the benchmark's records and reports: atomically, so a killed run leaves the old file."""
from __future__ import annotations


def write_text(path, text):
    """Write ``text`` atomically (a killed run leaves the old file, never half of a new one)."""
    from numpy_nn.io_utils import atomic_write
    with atomic_write(path, "w") as handle:
        handle.write(text)
