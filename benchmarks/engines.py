"""The benchmark's contenders by key, and what each is compared with (no imports, no logic).

A contender's key is its worker engine (:data:`benchmarks.worker.ENGINES`), optionally with an
``@`` suffix for a second process slot of the same engine: ``keras_tf@unpinned`` (TensorFlow
without core pinning), ``jit@aa`` (the A/A control: the headline engine again, in a process
of its own) and ``jit@unprimed`` (the headline engine with ``NUMPY_NN_PRIME_BLAS=0``: the
before of :func:`numpy_nn.backend.prime_blas`).
"""

PEERS = ("keras_tf", "keras_tf_xla", "keras_jax", "torch", "torch_compile")
OURS = ("numpy", "numba", "jit", "jit_mkl")
#: the engine the front page and the targets speak of: what a user calls for speed
HEADLINE = "jit"
#: the headline engine in a second process slot: any difference from it is between-process
#: error, the A/A control every claim is held against
CONTROL = "jit@aa"
#: the headline engine without numpy_nn's BLAS priming
UNPRIMED = "jit@unprimed"
# the worker that times each GEMM floor, by the floor's key
FLOORS = {"floor": "numba", "floor_mkl": "jit_mkl"}
# the GEMM floor each compiled step is compared with (the same BLAS as its products)
COMPILED_FLOORS = {"jit": "floor", "jit_mkl": "floor_mkl"}
# the compiled steps whose GEMMs need the mkl wheel, and NUMPY_NN_BLAS for each
NEEDS_MKL = {"jit_mkl": "mkl"}
TITLES = {"numpy": "numpy_nn NumPy", "numba": "numpy_nn Numba",
          "jit": "numpy_nn fit, jit_compile=True",
          "jit@aa": "numpy_nn fit, jit_compile=True (A/A control)",
          "jit@unprimed": "numpy_nn fit, jit_compile=True, BLAS not primed",
          "jit_mkl": "numpy_nn fit, jit_compile=True, MKL",
          "floor_mkl": "GEMM floor, MKL",
          "keras_tf": "Keras 3 / TF", "keras_tf@unpinned": "Keras 3 / TF (unpinned)",
          "keras_tf_xla": "Keras 3 / TF + XLA",
          "keras_tf_xla@unpinned": "Keras 3 / TF + XLA (unpinned)",
          "keras_jax": "Keras 3 / JAX",
          "torch": "PyTorch eager", "torch_compile": "torch.compile", "floor": "GEMM floor"}


def engine_of(key):
    """The worker engine of a contender key (``"keras_tf@unpinned"`` -> ``"keras_tf"``)."""
    return key.split("@")[0]


def is_peer(key):
    return engine_of(key) in PEERS
