"""Helpers the chapter writes by hand, as library functions."""
from __future__ import annotations

from numpy_nn.backend import set_random_seed

__all__ = ["set_random_seed"]
