"""CPU benchmarks: numpy_nn on its NumPy and Numba kernel paths against Keras 3.

``python -m benchmarks.run`` (``make bench``) or ``python -m benchmarks.run --quick``
(``make bench-quick``). Modules: :mod:`.models` (the four networks, built identically for
numpy_nn and Keras), :mod:`.worker` and :mod:`.harness` (training throughput, interleaved,
each engine in its own process), :mod:`.microbench` (each kernel against its NumPy twin),
:mod:`.startup` (cold start and peak memory in fresh processes), :mod:`.report` (Markdown,
PNG, README section).
"""
