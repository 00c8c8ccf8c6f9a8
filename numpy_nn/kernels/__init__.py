"""The lowest layer: compiled functions over arrays, importing nothing of numpy_nn outside
this package.

The readable definition of every algorithm is the engine's NumPy code; a kernel here computes
the same expressions, in the same order, over arrays it is given. Numba compiles them
(:mod:`.jit`); this package is imported only when something asks for them: the Numba twins
(:mod:`numpy_nn.twins`, through the seam :mod:`numpy_nn.dispatch`) and the compiled training
step of ``compile(jit_compile=True)`` (:mod:`numpy_nn.models.compiled_step`).

Modules: :mod:`.jit` (compilation settings and shared scalar helpers), :mod:`.codes` (the
small integers compiled code uses for kinds), :mod:`.blas` (NumPy's own matrix product,
callable from compiled code), :mod:`.reductions` (sums in NumPy's order),
:mod:`.activation_table` (every activation once); the twins' kernels :mod:`.activations`,
:mod:`.dense`, :mod:`.losses`, :mod:`.normalization`, :mod:`.dropout`, :mod:`.updates`; and the
compiled training step, :mod:`.step` with :mod:`.step_layers`, :mod:`.step_losses`,
:mod:`.step_updates` and :mod:`.metrics` (the accuracy ``fit`` reports).
"""
