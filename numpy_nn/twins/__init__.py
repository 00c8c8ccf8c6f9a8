"""The Numba twins of the reference code's hot methods, registered with the seam
(:mod:`numpy_nn.dispatch`) when this package is imported: the first time the Numba kernel
path is chosen (``numpy_nn.backend.set_kernel_path("numba")``).

Each module pairs reference methods with a twin that takes the same arguments, returns the
same thing and leaves the same state behind, computing with the array kernels of
:mod:`numpy_nn.kernels`. Importing this package imports Numba.
"""
from numpy_nn.twins import (
    activations,
    dense,
    dropout,
    losses,
    normalization,
    optimizers,
    smooth_activations,
)

__all__ = ["activations", "dense", "dropout", "losses", "normalization", "optimizers",
           "smooth_activations"]
