"""Global numeric settings: the float type, epsilon, the random generator, the kernel path.

Everything that every other module needs to agree on lives here, so that a reader can
see in one place what "float32 by default" and "seeded" mean for the whole engine.

* ``floatx()`` is the dtype of every weight, activation, gradient and optimizer slot
  (``"float32"`` like Keras; ``"float64"`` for exact gradient checks and deep parity).
* ``epsilon()`` is the fuzz factor ``1e-7`` that Keras uses in losses and optimizers.
* ``rng()`` is the engine's one random generator (PCG64). Initializers without a seed,
  dropout masks and epoch shuffling draw from it, so ``set_random_seed`` makes a whole run
  reproducible bit for bit, and its state can be saved in a training checkpoint.
* ``kernel_path()`` says whether hot loops run as the NumPy reference code or as the
  Numba twins in :mod:`numpy_nn.twins` (environment variable ``NUMPY_NN_KERNELS``); the
  switch and its state belong to the seam, :mod:`numpy_nn.dispatch`, and are re-exported
  here.
* ``blas()`` names the BLAS library whose matrix products a compiled step
  (``compile(jit_compile=True)``) calls: ``"numpy"`` (NumPy's own, the default) or ``"mkl"``
  (Intel MKL's, ``pip install 'numpy_nn[mkl]'``); ``set_blas`` or the environment variable
  ``NUMPY_NN_BLAS`` say which, and each compiled step reads it when it is built.
* ``unique_name(base)`` hands out the automatic names ``dense``, ``dense_1``, ...;
  ``clear_session()`` starts them over.
"""
from __future__ import annotations

import os
import re
from collections import defaultdict

import numpy as np

# The kernel path is the seam's own state; it is offered here with the other global settings.
from numpy_nn.dispatch import kernel_path as kernel_path
from numpy_nn.dispatch import set_kernel_path as set_kernel_path

_FLOATX = "float32"
_EPSILON = 1e-7
_VALID_FLOATX = ("float32", "float64")

_rng = np.random.default_rng()
_seed = None
#: how many objects of each automatic name exist (``dense`` -> 2 gives ``dense_2`` next)
_name_counts: dict = defaultdict(int)


# --------------------------------------------------------------------------- dtype
def floatx() -> str:
    """The default float type as a string, ``"float32"`` unless changed."""
    return _FLOATX


def set_floatx(value: str) -> None:
    """Set the float type used for new weights and computations (float32 or float64)."""
    global _FLOATX
    value = str(np.dtype(value)) if value in (np.float32, np.float64) else str(value)
    if value not in _VALID_FLOATX:
        raise ValueError(
            f"set_floatx: expected one of {_VALID_FLOATX}, got {value!r}")
    _FLOATX = value


# --------------------------------------------------------------------------- BLAS
_VALID_BLAS = ("numpy", "mkl")
_blas = None          # None: the environment's NUMPY_NN_BLAS, read when asked


def blas() -> str:
    """The BLAS library compiled steps built from now on use: ``set_blas``'s choice, else the
    environment variable ``NUMPY_NN_BLAS``, else ``"numpy"``."""
    if _blas is not None:
        return _blas
    name = os.environ.get("NUMPY_NN_BLAS", "").strip().lower() or "numpy"
    if name not in _VALID_BLAS:
        raise ValueError(f"NUMPY_NN_BLAS: expected one of {', '.join(_VALID_BLAS)}, got "
                         f"{os.environ['NUMPY_NN_BLAS']!r}")
    return name


def set_blas(value) -> None:
    """Choose the BLAS library of compiled steps built from now on (``None``: back to
    ``NUMPY_NN_BLAS``). A model's step is rebuilt at its next step when this changes."""
    global _blas
    if value is not None and value not in _VALID_BLAS:
        raise ValueError(f"set_blas: expected one of {', '.join(_VALID_BLAS)} or None, got "
                         f"{value!r}")
    _blas = value


def epsilon() -> float:
    """The small constant Keras adds to avoid division by zero and log(0): 1e-7."""
    return _EPSILON


def set_epsilon(value: float) -> None:
    global _EPSILON
    _EPSILON = float(value)


def cast_to_floatx(x):
    """``x`` as an ndarray of the current float type (no copy when already right)."""
    return np.asarray(x, dtype=_FLOATX)


# --------------------------------------------------------------------------- randomness
def set_random_seed(seed: int) -> None:
    """Seed the engine's generator (the analogue of ``keras.utils.set_random_seed``).

    Also seeds NumPy's legacy global generator, because the chapter's code calls
    ``np.random.seed`` and ``np.random.*`` alongside the framework.
    """
    global _rng, _seed
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"set_random_seed: seed must be a non-negative int, got {seed!r}")
    _seed = int(seed)
    _rng = np.random.default_rng(_seed)
    np.random.seed(_seed % 2**32)


def rng() -> np.random.Generator:
    """The engine's random generator. Draw from it; never replace it from outside."""
    return _rng


def make_seed() -> int:
    """A fresh 31-bit seed from the engine's generator (for initializers built without one)."""
    return int(_rng.integers(0, 2**31 - 1))


def get_rng_state() -> dict:
    """The generator's full state as a JSON-serialisable dict (for resumable checkpoints)."""
    return _rng.bit_generator.state


def set_rng_state(state: dict) -> None:
    """Restore a state produced by :func:`get_rng_state`."""
    if not isinstance(state, dict) or state.get("bit_generator") != "PCG64":
        raise ValueError("set_rng_state: expected a PCG64 state dict from get_rng_state()")
    _rng.bit_generator.state = state


# --------------------------------------------------------------------------- sessions
def unique_name(base):
    """``base`` the first time, then ``base_1``, ``base_2``, ... (Keras's automatic names, from
    the counter of ``keras/src/utils/naming.py::get_uid``, kept in Keras's global state)."""
    count = _name_counts[base]
    _name_counts[base] += 1
    return base if count == 0 else f"{base}_{count}"


def snake_case(class_name):
    """``"RMSprop"`` -> ``"rm_sprop"``, ``"AdamW"`` -> ``"adam_w"``: the rule of Keras 3's
    ``keras/src/utils/naming.py::to_snake_case``, which automatic names start from."""
    name = re.sub(r"\W+", "", class_name)
    name = re.sub("(.)([A-Z][a-z]+)", r"\1_\2", name)
    return re.sub("([a-z])([A-Z])", r"\1_\2", name).lower()


def reset_names():
    """Restart automatic names (``dense``, ``dense_1``, ...)."""
    _name_counts.clear()


def clear_session():
    """Restart automatic layer names (``dense``, ``dense_1``, ...), like Keras's clear_session."""
    reset_names()


# --------------------------------------------------------------------------- Keras 2 helpers
def get_value(x):
    """``keras.backend.get_value``: a plain number or array from a variable-like object."""
    if hasattr(x, "numpy"):
        return x.numpy()
    return np.asarray(x) if isinstance(x, (list, tuple)) else x


def set_value(x, value):
    """``keras.backend.set_value``: assign into a variable (or an optimizer's learning rate)."""
    if hasattr(x, "assign"):
        x.assign(value)
    else:
        raise TypeError(f"set_value: {type(x).__name__} cannot be assigned to")


# One float32 product, (1024 x 300) @ (300 x 784): the smallest "wide" product measured to
# bring the library out of its slow first state (benchmarks/results/blas_state.md).
_PRIMER_SHAPE = (1024, 300, 784)
_blas_primed = False


def prime_blas():
    """Run one float32 matrix product the first time a model is compiled in this process.

    Measured with OpenBLAS 0.3.31 (Haswell kernels, one thread, AMD EPYC; the records and the
    script are ``benchmarks/results/blas_state.md`` and ``python -m benchmarks.blas_state``):
    a fresh process multiplies ``(1024 x 784) @ (784 x 300)`` at about a third of the speed it
    reaches once it has run one wider product such as ``(1024 x 300) @ (300 x 784)``, and the
    change lasts for the rest of the process; the first layer's products at batch 32 gain
    about 2x as well. Why the library keeps that state is not known; this product costs a
    few milliseconds once per process, and where the library has no such state it changes
    nothing. ``NUMPY_NN_PRIME_BLAS=0`` turns it off (the benchmark of that state does).
    """
    global _blas_primed
    if _blas_primed:
        return
    _blas_primed = True
    if os.environ.get("NUMPY_NN_PRIME_BLAS", "1") == "0":
        return
    rows, inner, columns = _PRIMER_SHAPE
    np.matmul(np.ones((rows, inner), np.float32), np.ones((inner, columns), np.float32))
