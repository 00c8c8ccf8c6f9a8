"""The switch between the NumPy reference code and its Numba twins: the seam.

The readable definition of every algorithm lives in the engine (:mod:`numpy_nn.activations`,
:mod:`numpy_nn.losses`, :mod:`numpy_nn.layers`, :mod:`numpy_nn.optimizers`). A few of those
methods do the element-wise work that dominates a training step outside the matrix
multiplies; they are marked with :func:`has_numba_twin`::

    class LeakyReLU(ActivationFunction):
        @has_numba_twin
        def forward(self, x):
            return np.where(x > 0, x, x * slope)

That decorator is the *only* place where the kernel path is consulted: with
``kernel_path() == "numpy"`` (the default) the reference method runs unchanged; with
``"numba"`` the call goes to the twin registered for it in :mod:`numpy_nn.twins`, which
computes the same equation in one compiled pass (with the array kernels of
:mod:`numpy_nn.kernels`). A twin takes exactly the reference's
arguments, returns the same thing, leaves the same state behind (caches, ``variable.grad``,
optimizer slots), and falls back to the reference for inputs it does not handle. Whatever
extra state a twin keeps lives with the twins; the reference code knows nothing of it.

This module imports nothing from numpy_nn, so every layer, loss and optimizer can import
it, and :mod:`numpy_nn.backend` re-exports the path switch
(``numpy_nn.backend.set_kernel_path``). The twins sit above everything they accelerate: the
package (``numpy_nn/__init__.py``) tells this module how to load them
(:func:`set_twin_loader`), and they are loaded the first time the Numba path is chosen.

Numba is optional (``pip install numpy_nn[numba]``); the NumPy path works without it.
The twins are tested against their references in ``tests/test_kernels*.py``.

"""
from __future__ import annotations

import functools
import importlib.util
import os

KERNEL_PATHS = ("numpy", "numba")
#: What to run when the Numba path is chosen without Numba installed.
INSTALL_HINT = "pip install numpy_nn[numba]"

_DISPATCHERS: list = []
_twins_loaded = False
_twin_loader = None          # set by numpy_nn/__init__.py: imports numpy_nn.twins


# --------------------------------------------------------------------------- the path
def _numba_installed() -> bool:
    try:
        return importlib.util.find_spec("numba") is not None
    except (ImportError, ValueError):     # e.g. sys.modules["numba"] = None
        return False


def _initial_kernel_path() -> str:
    value = os.environ.get("NUMPY_NN_KERNELS", "numpy").strip().lower() or "numpy"
    if value not in KERNEL_PATHS:
        raise ValueError(f"NUMPY_NN_KERNELS must be one of {KERNEL_PATHS}, got {value!r}")
    # Numba itself is imported at the first kernel call (it takes a while); only check that
    # it is there, so a missing install is reported now rather than in the middle of fit().
    if value == "numba" and not _numba_installed():
        raise ImportError(f"NUMPY_NN_KERNELS=numba, but Numba is not installed: "
                          f"{INSTALL_HINT}, or use NUMPY_NN_KERNELS=numpy")
    return value


_kernel_path = _initial_kernel_path()


def kernel_path() -> str:
    """``"numpy"`` (the readable reference code) or ``"numba"`` (compiled twins)."""
    return _kernel_path


def set_kernel_path(value: str) -> None:
    """Choose the path for hot loops; ``"numba"`` needs Numba installed (ImportError if not)."""
    global _kernel_path
    value = str(value).strip().lower()
    if value not in KERNEL_PATHS:
        raise ValueError(f"set_kernel_path: expected one of {KERNEL_PATHS}, got {value!r}")
    if value == "numba":
        load_twins()
    _kernel_path = value


# --------------------------------------------------------------------------- the seam
def has_numba_twin(reference):
    """Mark ``reference`` (a function or method) as having a Numba twin; return the dispatcher.

    The dispatcher keeps the reference as ``dispatcher.reference`` and, once the twins are
    loaded, the twin as ``dispatcher.twin``.
    """
    @functools.wraps(reference)
    def dispatcher(*args, **kwargs):
        if _kernel_path == "numba":
            twin = dispatcher.twin if _twins_loaded else _load_twin(dispatcher)
            return twin(*args, **kwargs)
        return reference(*args, **kwargs)

    dispatcher.reference = reference
    dispatcher.twin = None
    _DISPATCHERS.append(dispatcher)
    return dispatcher


def twin_of(dispatcher):
    """Register the decorated function as the Numba twin of ``dispatcher``'s reference."""
    if not hasattr(dispatcher, "reference"):
        raise TypeError(f"twin_of: {dispatcher!r} is not marked with @has_numba_twin")

    def register(twin):
        functools.update_wrapper(twin, dispatcher.reference, assigned=("__doc__",))
        dispatcher.twin = twin
        return twin
    return register


def set_twin_loader(loader):
    """``loader()`` imports the twins (they register themselves with :func:`twin_of`)."""
    global _twin_loader
    _twin_loader = loader


def load_twins():
    """Import Numba and every twin module (compilation itself happens at each kernel's first call).

    Raises ImportError naming ``pip install numpy_nn[numba]`` when Numba is not installed.
    """
    global _twins_loaded
    if _twins_loaded:
        return
    try:
        import numba  # noqa: F401  (optional: only the Numba path needs it)
    except ImportError as error:
        raise ImportError(
            f"numpy_nn: the 'numba' kernel path needs Numba, which could not be imported "
            f"({error}). Install it with `{INSTALL_HINT}`, or use the NumPy path: "
            f"numpy_nn.backend.set_kernel_path('numpy') / NUMPY_NN_KERNELS=numpy.") from error
    if _twin_loader is None:
        raise RuntimeError("numpy_nn.dispatch: no twin loader (import numpy_nn, which sets it)")
    _twin_loader()
    missing = [d.__qualname__ for d in _DISPATCHERS if d.twin is None]
    if missing:
        raise RuntimeError(f"numpy_nn.twins: no Numba twin registered for {missing}")
    _twins_loaded = True


def _load_twin(dispatcher):
    load_twins()
    return dispatcher.twin


def dispatchers():
    """Every reference marked with :func:`has_numba_twin` (for the twin-vs-reference tests)."""
    return list(_DISPATCHERS)
