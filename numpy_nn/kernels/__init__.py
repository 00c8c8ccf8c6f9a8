"""The switch between the NumPy reference code and its Numba twins.

The readable definition of every algorithm lives in the engine (:mod:`numpy_nn.activations`,
:mod:`numpy_nn.losses`, :mod:`numpy_nn.layers`, :mod:`numpy_nn.optimizers`). A few of those
methods do the element-wise work that dominates a training step outside the matrix
multiplies; they are marked with :func:`has_numba_twin`::

    class LeakyReLU(ActivationFunction):
        @has_numba_twin
        def forward(self, x):
            return np.where(x > 0, x, x * slope)

That decorator is the *only* place where the kernel path is consulted: with
``backend.kernel_path() == "numpy"`` (the default) the reference method runs unchanged; with
``"numba"`` the call goes to the twin registered for it in one of this package's modules,
which computes the same equation in one compiled pass. A twin takes exactly the reference's
arguments, returns the same thing, leaves the same state behind (caches, ``variable.grad``,
optimizer slots), and falls back to the reference for inputs it does not handle.

Numba is imported only when the ``"numba"`` path is first used, so the NumPy path works
without it. The twins are tested against their references in ``tests/test_kernels*.py``.

Modules: :mod:`.jit` (compilation settings and shared scalar helpers), :mod:`.activations`,
:mod:`.dense` (Dense's bias and activation fused), :mod:`.losses`, :mod:`.normalization`, :mod:`.dropout`, :mod:`.optimizers` (fused updates
over one flat buffer of all parameters, see :mod:`.flat`).
"""
from __future__ import annotations

import functools
import importlib

from numpy_nn import backend

#: The modules that register twins; imported together, the first time the Numba path runs.
TWIN_MODULES = ("activations", "dense", "losses", "normalization", "dropout", "optimizers")

_DISPATCHERS: list = []
_twins_loaded = False


def has_numba_twin(reference):
    """Mark ``reference`` (a function or method) as having a Numba twin; return the dispatcher.

    The dispatcher keeps the reference as ``dispatcher.reference`` and, once the twins are
    loaded, the twin as ``dispatcher.twin``.
    """
    @functools.wraps(reference)
    def dispatcher(*args, **kwargs):
        if backend.kernel_path() == "numba":
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


def load_twins():
    """Import Numba and every twin module (compilation itself happens at each kernel's first call).

    Raises ImportError with a clear message when Numba is not installed.
    """
    global _twins_loaded
    if _twins_loaded:
        return
    try:
        import numba  # noqa: F401
    except ImportError as error:
        raise ImportError(
            "numpy_nn: the 'numba' kernel path needs Numba, which could not be imported "
            f"({error}). Install it (pip install numba) or use the NumPy path: "
            "numpy_nn.backend.set_kernel_path('numpy') / NUMPY_NN_KERNELS=numpy.") from error
    for name in TWIN_MODULES:
        importlib.import_module(f"{__name__}.{name}")
    missing = [d.__qualname__ for d in _DISPATCHERS if d.twin is None]
    if missing:
        raise RuntimeError(f"numpy_nn.kernels: no Numba twin registered for {missing}")
    _twins_loaded = True


def _load_twin(dispatcher):
    load_twins()
    return dispatcher.twin


def dispatchers():
    """Every reference marked with :func:`has_numba_twin` (for the twin-vs-reference tests)."""
    return list(_DISPATCHERS)
