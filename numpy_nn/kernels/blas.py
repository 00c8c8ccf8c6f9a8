r"""NumPy's own matrix product, or Intel MKL's, callable from compiled code: :func:`gemm`.

A compiled training step (:func:`numpy_nn.kernels.step.train_step`) multiplies
matrices between its element-wise passes. Numba's ``np.dot`` would do, but it calls the BLAS
that SciPy ships, which need not be NumPy's: a different library, possibly another OpenBLAS
version, whose products can differ in speed from the ``np.matmul`` every other path (and the
benchmarks' GEMM floor) uses. This module finds NumPy's ``cblas_sgemm`` / ``cblas_dgemm``
and hands their addresses to LLVM under fixed names, so compiled code calls exactly the
routine ``np.matmul`` calls, with the same threads (threadpoolctl and ``OPENBLAS_NUM_THREADS``
govern it as they govern NumPy), and the products are the same bits.

For C-ordered ``a`` (m, k), ``b`` (k, n) and ``out`` (m, n), each side optionally the
transpose of a C-ordered array (``transpose_a``: ``a`` holds :math:`A^\top`, shape (k, m)),
and scalars :math:`\alpha, \beta` of the arrays' dtype (BLAS's own definition):

.. math::
    \mathrm{out} \leftarrow \alpha\,\operatorname{op}(A)\,\operatorname{op}(B)
    + \beta\,\mathrm{out}, \qquad \operatorname{op}(X) = X \text{ or } X^\top

which BLAS reads with its transpose flags, without a copy; :math:`\beta = 0` overwrites
``out`` (whatever it held), :math:`\beta = 1` adds into it. Where NumPy's BLAS cannot be found
by name (a build whose library exports no ``cblas_?gemm`` we know, or a platform whose loader
cannot look through NumPy's extension module), :func:`gemm` falls back to Numba's ``np.dot``
and :data:`SOURCES` says so; the results are then equal within BLAS's rounding, not bit for bit.

**Another BLAS, by choice: Intel MKL.** NumPy's OpenBLAS picks its kernels for the CPU, and on
some CPUs some shapes run far from its peak (the benchmark report, ``docs/reports/benchmarks.md``,
compares the two libraries' products on the machine it ran on). :func:`gemm` takes a
``library`` argument, an index into :data:`LIBRARIES`: 0 is NumPy's BLAS, 1 is MKL's
``cblas_?gemm`` when the ``mkl`` wheel is installed (``pip install 'numpy_nn[mkl]'``), else
NumPy's again. Nothing is chosen here: importing this module only finds the routines (both,
when MKL is installed: compiled code links both names once, so every compiled step of the
process can call either). Each compiled step chooses when it is built, from
``numpy_nn.backend.blas()`` (``set_blas`` or the ``NUMPY_NN_BLAS`` environment variable):
:func:`library_index` turns that name into the index its products use.

* ``numpy`` (the default) — NumPy's BLAS for every product, the same bits as ``np.matmul``;
* ``mkl`` — MKL's for every product.

(An earlier ``fastest`` choice, per product shape whichever library was faster when timed
alone, was removed with the trainer that used it; the benchmark run that judged it on whole
steps is in the project's history, ``benchmarks/results/benchmarks.json`` of 2026-12-03.)

When a step first chooses MKL, MKL gets as many threads as NumPy's BLAS has at that moment,
and threadpoolctl governs both from then on. Only the compiled step changes (``np.matmul``
everywhere else is still NumPy's), and MKL's products differ from NumPy's in the last bits:
MKL sums the :math:`k` products in its own order, which BLAS's error bound allows,

.. math::
    |\mathrm{out} - AB| \le \gamma_k\,|A|\,|B|, \qquad
    \gamma_k = \frac{k u}{1 - k u}, \quad u = \text{the dtype's unit roundoff},

(Higham, *Accuracy and Stability of Numerical Algorithms*, 2nd ed., eq. 3.13), as does
NumPy's. Intel documents that MKL's results can also depend on the CPU's code path and on
memory alignment unless ``MKL_CBWR`` is set ("Conditional Numerical Reproducibility" in the
oneMKL developer guide).
"""
from __future__ import annotations

import ctypes
import ctypes.util
import glob
import os
import sys

import numba
import numpy as np
from llvmlite import binding
from numba import types

from numpy_nn.kernels.jit import kernel

# CBLAS's enum values (cblas.h): row-major order, no transpose, transpose
_ROW_MAJOR, _NO_TRANS, _TRANS = 101, 111, 112

# (symbol, integer type): scipy-openblas's ILP64 build (NumPy's wheels), a plain ILP64
# OpenBLAS, and the reference LP64 interface
_CANDIDATES = (("scipy_cblas_{}gemm64_", types.int64), ("cblas_{}gemm64_", types.int64),
               ("cblas_{}gemm", None))


def _numpy_blas_library():
    """NumPy's compiled core, through which the dynamic loader also finds the BLAS it links
    (``numpy._core`` since NumPy 2, ``numpy.core`` before)."""
    try:
        import numpy._core._multiarray_umath as core
    except ImportError:
        import numpy.core._multiarray_umath as core
    return ctypes.CDLL(core.__file__)


def _integer_type_of_plain_cblas():
    """LP64 unless NumPy's build says its BLAS uses 64-bit integers."""
    try:
        config = np.show_config(mode="dicts")["Build Dependencies"]["blas"]
    except Exception:                                  # noqa: BLE001 - any failure: assume LP64
        return types.int32
    return types.int64 if "64BITINT" in str(config.get("openblas configuration", "")) \
        else types.int32


#: the libraries :func:`gemm`'s ``library`` argument indexes
LIBRARIES = ("numpy", "mkl")


def _mkl_library():
    """MKL's single dynamic library, ``mkl_rt``, and its path: where the ``mkl`` wheel puts it
    (the environment's ``lib/``, or ``Library/bin`` on Windows), else wherever the loader finds
    it; None when it is not installed. (Loading it starts no thread: MKL loads its threading
    layer at its first call.)"""
    paths = sorted(glob.glob(os.path.join(sys.prefix, "lib", "libmkl_rt.so*"))
                   + glob.glob(os.path.join(sys.prefix, "lib", "libmkl_rt*.dylib"))
                   + glob.glob(os.path.join(sys.prefix, "Library", "bin", "mkl_rt*.dll")))
    found = ctypes.util.find_library("mkl_rt")
    for path in paths + ([found] if found else []):
        try:
            return ctypes.CDLL(path), path
        except OSError:
            continue
    return None


def numpy_blas_threads():
    """How many threads NumPy's BLAS uses now (threadpoolctl's view), or None if unknown."""
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        return None
    pools = [pool for pool in threadpool_info() if pool["internal_api"] == "openblas"]
    numpys = [pool for pool in pools if "numpy" in pool["filepath"]] or pools
    return numpys[0]["num_threads"] if numpys else None


def _give_mkl_numpys_threads(library):
    """MKL starts with a thread per core; give it the number NumPy's BLAS has now, so that
    whatever limited NumPy's threads before this import (threadpoolctl, OPENBLAS_NUM_THREADS)
    limits the compiled step too (without threadpoolctl, MKL's own variables decide)."""
    threads = numpy_blas_threads()
    if threads is not None:
        library.MKL_Set_Num_Threads(ctypes.c_int(threads))


def _numpy_symbols():
    """NumPy's ``?gemm`` functions and the integer type of their interface, or None."""
    try:
        library = _numpy_blas_library()
    except (OSError, ImportError):
        return None
    for pattern, integer in _CANDIDATES:
        functions = {}
        for letter in "sd":
            try:
                functions[letter] = getattr(library, pattern.format(letter))
            except AttributeError:
                break
        if len(functions) == 2:
            return functions, integer or _integer_type_of_plain_cblas(), pattern.format("?")
    return None


def _mkl_symbols(integer):
    """MKL's ``?gemm`` with the same integer width as NumPy's (``cblas_?gemm_64`` is its
    ILP64 interface), so compiled code, and Numba's on-disk cache of it, serve either library;
    with the library, or None when MKL is not installed."""
    found = _mkl_library()
    if found is None:
        return None
    library, path = found
    pattern = "cblas_{}gemm_64" if integer == types.int64 else "cblas_{}gemm"
    try:
        functions = {letter: getattr(library, pattern.format(letter)) for letter in "sd"}
    except AttributeError:                     # pragma: no cover - an MKL without that interface
        return None
    return functions, f"Intel MKL's {pattern.format('?')}, {os.path.basename(path)}", library


def _register():
    """Register NumPy's ``?gemm`` under ``numpy_nn_cblas_?gemm`` and MKL's, when installed,
    under ``numpy_nn_mkl_?gemm`` (NumPy's again otherwise, so that compiled code, which names
    both, links either way). Returns the description of each library in :data:`LIBRARIES`
    order (None for MKL when it is not installed), the integer type and MKL's library handle,
    or None when no BLAS is found by name."""
    numpy_symbols = _numpy_symbols()
    integer = numpy_symbols[1] if numpy_symbols else types.int64
    mkl = _mkl_symbols(integer)
    if numpy_symbols:
        own = numpy_symbols[0], f"NumPy's BLAS ({numpy_symbols[2]})"
    elif mkl:                                  # pragma: no cover - a NumPy without cblas names
        own = mkl[:2]
    else:
        return None
    for slot, (functions, _) in (("cblas", own), ("mkl", mkl[:2] if mkl else own)):
        for letter, function in functions.items():
            binding.add_symbol(f"numpy_nn_{slot}_{letter}gemm",
                               ctypes.cast(function, ctypes.c_void_p).value)
    return (own[1], mkl[1] if mkl else None), integer, mkl[2] if mkl else None


def _signature(real, integer):
    """cblas_?gemm(order, trans_a, trans_b, m, n, k, alpha, A, lda, B, ldb, beta, C, ldc);
    the matrices' addresses travel as pointer-sized integers."""
    enum, address = types.int32, types.intp
    return types.void(enum, enum, enum, integer, integer, integer, real, address, integer,
                      address, integer, real, address, integer)


_found = _register()
#: the routine behind each index of :data:`LIBRARIES`, in words (None: MKL not installed)
SOURCES = _found[0] if _found else ("Numba's np.dot (NumPy's BLAS not found by name)", None)
#: the indices :func:`gemm` can actually choose between (``(0,)``: NumPy's only)
CHOICES = (0, 1) if SOURCES[1] else (0,)
_mkl_threads_set = False


def library_index(name):
    """The :data:`LIBRARIES` index of ``name`` (``"numpy"`` or ``"mkl"``), for a compiled step
    being built. MKL must be installed; the first time it is chosen it gets the number of
    threads NumPy's BLAS has then."""
    global _mkl_threads_set
    if name not in LIBRARIES:
        raise ValueError(f"blas: expected one of {', '.join(LIBRARIES)}, got {name!r}")
    if name == "numpy":
        return 0
    if SOURCES[1] is None:
        raise ImportError("the compiled step was asked for Intel MKL's BLAS (set_blas('mkl') or "
                          f"NUMPY_NN_BLAS=mkl), whose runtime library (mkl_rt) was not found "
                          f"under {sys.prefix} or on the loader's path; install it with "
                          "pip install 'numpy_nn[mkl]', or use NumPy's BLAS (the default)")
    if not _mkl_threads_set:
        _give_mkl_numpys_threads(_found[2])
        _mkl_threads_set = True
    return 1


if _found:
    _sgemm = types.ExternalFunction("numpy_nn_cblas_sgemm", _signature(types.float32, _found[1]))
    _dgemm = types.ExternalFunction("numpy_nn_cblas_dgemm", _signature(types.float64, _found[1]))
    _mkl_sgemm = types.ExternalFunction("numpy_nn_mkl_sgemm",
                                        _signature(types.float32, _found[1]))
    _mkl_dgemm = types.ExternalFunction("numpy_nn_mkl_dgemm",
                                        _signature(types.float64, _found[1]))

    @kernel
    def gemm(a, b, out, transpose_a, transpose_b, alpha, beta, library):
        """``out = alpha op(a) @ op(b) + beta out`` by ``cblas_?gemm`` of
        ``LIBRARIES[library]``."""
        m, n = out.shape
        k = a.shape[0] if transpose_a else a.shape[1]
        if (b.shape[1] if transpose_b else b.shape[0]) != k or \
                (a.shape[1] if transpose_a else a.shape[0]) != m or \
                (b.shape[0] if transpose_b else b.shape[1]) != n:
            raise ValueError("gemm: shapes do not match")
        trans_a = _TRANS if transpose_a else _NO_TRANS
        trans_b = _TRANS if transpose_b else _NO_TRANS
        lda, ldb = a.shape[1], b.shape[1]
        # one call per (dtype, library): Numba cannot hold an external function in a variable
        if out.itemsize == 4:                  # float32 (the other branch is float64)
            if library == 0:
                _sgemm(_ROW_MAJOR, trans_a, trans_b, m, n, k, alpha, a.ctypes.data, lda,
                       b.ctypes.data, ldb, beta, out.ctypes.data, n)
            else:
                _mkl_sgemm(_ROW_MAJOR, trans_a, trans_b, m, n, k, alpha, a.ctypes.data, lda,
                           b.ctypes.data, ldb, beta, out.ctypes.data, n)
        elif library == 0:
            _dgemm(_ROW_MAJOR, trans_a, trans_b, m, n, k, alpha, a.ctypes.data, lda,
                   b.ctypes.data, ldb, beta, out.ctypes.data, n)
        else:
            _mkl_dgemm(_ROW_MAJOR, trans_a, trans_b, m, n, k, alpha, a.ctypes.data, lda,
                       b.ctypes.data, ldb, beta, out.ctypes.data, n)
else:                                                   # pragma: no cover - other builds
    @kernel
    def gemm(a, b, out, transpose_a, transpose_b, alpha, beta, library):
        """``out = alpha op(a) @ op(b) + beta out`` by Numba's ``np.dot`` (SciPy's BLAS;
        ``library`` has no choice to make)."""
        if transpose_a and transpose_b:
            product = np.dot(a.T, b.T)
        elif transpose_a:
            product = np.dot(a.T, b)
        elif transpose_b:
            product = np.dot(a, b.T)
        else:
            product = np.dot(a, b)
        if beta == 0:
            out[:] = alpha * product
        else:
            out[:] = alpha * product + beta * out


if numba.config.DISABLE_JIT:
    def gemm(a, b, out, transpose_a, transpose_b, alpha, beta, library):  # noqa: F811
        """``out = alpha op(a) @ op(b) + beta out`` by ``np.matmul``: with ``NUMBA_DISABLE_JIT=1``
        compiled code runs as Python, and its products are the reference's own (the
        compiled training step's uncompiled form, ``tests/test_compiled_step.py``)."""
        a = a.T if transpose_a else a
        b = b.T if transpose_b else b
        if alpha == 1 and beta == 0:
            np.matmul(a, b, out=out)
        else:
            out[...] = alpha * np.matmul(a, b) + beta * out
