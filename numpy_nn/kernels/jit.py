r"""How every kernel is compiled, and the small helpers the kernels share.

* :data:`kernel` is ``numba.njit(cache=True, error_model="numpy")``. ``cache=True`` keeps the
  machine code on disk, so only the very first run pays for compilation; the cache is keyed
  on every module of this package (a kernel inlines helpers from other modules, and Numba
  alone would keep a stale copy when only a helper changed).
  ``error_model="numpy"`` lets division by zero give ``inf``/``nan`` as NumPy does instead of
  raising; that is what allows LLVM to vectorise loops that divide (with the default
  ``"python"`` model a fused Adam update is *slower* than NumPy).
* No ``fastmath``: kernels evaluate each expression in the same order and the same precision
  as the reference code, so most twins agree with it bit for bit, and runs are reproducible.
  Float32 stays float32: scalars reach a kernel as NumPy scalars of the array's dtype
  (:func:`scalar`), never as Python floats that would promote the arithmetic to float64.
* :func:`exp` is a float32 exponential that LLVM can vectorise (the C library's ``expf`` is a
  call it cannot); float64 uses ``np.exp``.
"""
from __future__ import annotations

import functools
import hashlib
import os

import numba
import numpy as np
from llvmlite import ir
from numba import types
from numba.core import caching
from numba.extending import intrinsic, overload

_KERNELS = os.path.dirname(os.path.abspath(__file__))


@functools.cache
def _kernels_source_hash(stamps):
    digest = hashlib.sha256()
    for path, _ in stamps:
        with open(path, "rb") as source:
            digest.update(source.read())
    return digest.digest()


class _WholePackageStamp:
    """Numba keys a cached function on its own file's contents, not on the files of the
    functions it calls; ours call helpers across this package, so a change to any of them must
    invalidate every cached kernel (a stale one can crash the process). The stamp is a hash of
    every module of the package."""

    def get_source_stamp(self):
        stamps = tuple(sorted((entry.path, entry.stat().st_mtime_ns) for entry in
                              os.scandir(_KERNELS) if entry.name.endswith(".py")))
        return _kernels_source_hash(stamps)

    @classmethod
    def from_function(cls, py_func, py_file):
        if os.path.dirname(os.path.abspath(py_file)) != _KERNELS:
            return None
        return super().from_function(py_func, py_file)


def _register_cache_locators():
    """Put a package-stamped twin of each of Numba's file-backed cache locators first; returns
    whether that worked (if Numba's internals moved, kernels are not cached at all)."""
    try:
        locators = caching.CacheImpl._locator_classes
        bases = (caching.UserProvidedCacheLocator, caching.InTreeCacheLocator,
                 caching.UserWideCacheLocator)
    except AttributeError:
        return False
    twins = [type(f"Package{base.__name__}", (_WholePackageStamp, base), {}) for base in bases]
    locators[:0] = [twin for twin in twins if twin.__name__ not in
                    {locator.__name__ for locator in locators}]
    return True


kernel = numba.njit(cache=_register_cache_locators(), error_model="numpy")
helper = numba.njit(error_model="numpy")   # called from kernels; LLVM inlines it

_FLOAT32, _FLOAT64 = np.dtype(np.float32), np.dtype(np.float64)


def scalar(value, dtype):
    """``value`` as a NumPy scalar of ``dtype`` (keeps a float32 kernel in float32)."""
    return dtype.type(value)


def is_float_array(*arrays):
    """True when all arrays share one native float32 or float64 dtype (what kernels compile for).

    (Identity of dtype objects is enough and cheap: NumPy has one instance per native type,
    and a byte-swapped dtype, which Numba cannot use, is a different object.)"""
    dtype = arrays[0].dtype
    return (dtype is _FLOAT32 or dtype is _FLOAT64) and all(a.dtype is dtype for a in arrays)


def compatible(x, *others):
    """True when ``x`` is a plain ndarray of native float32/float64 and every other array has
    its dtype and shape: the inputs every element-wise kernel is compiled for."""
    if type(x) is not np.ndarray:
        return False
    dtype = x.dtype
    if dtype is not _FLOAT32 and dtype is not _FLOAT64:
        return False
    for other in others:
        if type(other) is not np.ndarray or other.dtype is not dtype or other.shape != x.shape:
            return False
    return True


@helper
def nan_max(a, b):
    """``np.maximum`` for two scalars: the larger one, NaN if either is NaN."""
    if a != a:
        return a
    return a if a >= b else b


@helper
def nan_min(a, b):
    """``np.minimum`` for two scalars: the smaller one, NaN if either is NaN."""
    if a != a:
        return a
    return a if a <= b else b


@helper
def row_max(x, i):
    """The largest value of row ``i`` of a 2-D array; NaN if the row holds one (as ``max``)."""
    top = x[i, 0]
    for j in range(1, x.shape[1]):
        v = x[i, j]
        if v > top or v != v:
            top = v
    return top


# --------------------------------------------------------------------------- exp
@intrinsic
def _int32_bits_as_float32(typingctx, bits):
    """Reinterpret the 32 bits of an int32 as a float32 (used to build :math:`2^n`)."""
    def codegen(context, builder, signature, args):
        return builder.bitcast(args[0], ir.FloatType())
    return types.float32(types.int32), codegen


# Cephes' expf: exp(x) = 2^n exp(r), n = round(x / ln 2), r = x - n ln 2 (ln 2 split in two parts
# so that n ln 2 is exact), exp(r) by a degree-7 polynomial on |r| <= ln(2)/2. Error <= 1 ulp.
_LOG2E = np.float32(1.44269504088896341)
_LN2_HIGH = np.float32(0.693359375)
_LN2_LOW = np.float32(-2.12194440e-4)
_P = tuple(np.float32(c) for c in (1.9875691500e-4, 1.3981999507e-3, 8.3334519073e-3,
                                   4.1665795894e-2, 1.6666665459e-1, 5.0000001201e-1))
_SMALLEST = np.float32(-87.33654)   # exp(_SMALLEST) is the smallest normal float32
_LARGEST = np.float32(88.72283)     # exp(_LARGEST) is the largest finite float32
_HALF, _ONE, _TWO = np.float32(0.5), np.float32(1), np.float32(2)


@helper
def _exp_float32(x):
    c = x if x >= _SMALLEST else _SMALLEST     # also maps NaN to a finite value, for the int cast
    c = c if c <= _LARGEST else _LARGEST
    n_float = np.floor(c * _LOG2E + _HALF)
    r = c - n_float * _LN2_HIGH - n_float * _LN2_LOW
    p0, p1, p2, p3, p4, p5 = _P
    poly = (((((p0 * r + p1) * r + p2) * r + p3) * r + p4) * r + p5) * (r * r) + r + _ONE
    n = np.int32(n_float)
    # 2^n from its bits; 2^128 has no float32 exponent, so n > 0 uses 2 * 2^(n-1)
    power = _int32_bits_as_float32((n + np.int32(126 if n > 0 else 127)) << np.int32(23))
    scaled = (poly * _TWO) * power if n > 0 else poly * power
    # below the normal range: 0 (NumPy returns a subnormal there); above: inf; NaN stays NaN
    in_range = np.float32(0) if x < _SMALLEST else (np.float32(np.inf) if x > _LARGEST else scaled)
    return x if x != x else in_range


def exp(x):
    """Exponential of a float scalar, for use inside kernels."""
    return np.exp(x)


@overload(exp)
def _exp_overload(x):
    if x == types.float32:
        return lambda x: _exp_float32(x)
    return lambda x: np.exp(x)
