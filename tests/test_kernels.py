"""Every element-wise Numba twin against its NumPy reference, over random shapes and values.

Each test runs the public method twice, once per kernel path, on the same inputs. Inputs
come from hypothesis: shapes of rank 1-3, float32 and float64, values that include exact
zeros, huge magnitudes (up to 1e30, and the edges of ``exp``'s range) and non-contiguous
views (every other column, transposes).

Tolerances, and why:

* Kernels that evaluate the reference's own expression in the same order (ReLU, LeakyReLU,
  PReLU, all backward passes, dropout masks) must agree **bit for bit**; NumPy and LLVM both
  round each IEEE operation exactly, and no ``fastmath`` lets LLVM reorder them.
* ELU / SELU forward and softmax use the kernels' own float32 ``exp`` (vectorisable, within
  1 ulp of the true value) where NumPy's is within about 2.5 ulp; the two differ by at most
  ~4 ulp of ``exp(x)``, which is at most 1 for the non-positive inputs used. Softmax also
  sums each row in order where NumPy sums pairwise. So float32 gets 8 ulp of the output's
  scale and float64 (both sides use a correctly-rounded-ish libm ``exp``) 8 float64 ulp.
"""
import ast
import pathlib

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from kernel_twins import (
    DTYPES,
    SETTINGS,
    assert_close_to_exp_scale,
    assert_same_array,
    float_arrays,
    on_both_paths,
)

import numpy_nn
from numpy_nn import activations, backend, dispatch
from numpy_nn.layers import Dropout, PReLU
from numpy_nn.layers.regularization import (
    AlphaDropout,
    apply_alpha_dropout_mask,
    apply_dropout_mask,
)

ELEMENTWISE = {
    "relu": activations.ReLU(),
    "leaky_relu": activations.LeakyReLU(0.3),
    "elu": activations.ELU(1.0),
    "elu_alpha_0.5": activations.ELU(0.5),
    "selu": activations.SELU(),
}


@pytest.mark.parametrize("name", sorted(ELEMENTWISE))
@SETTINGS
@given(data=st.data())
def test_activation_twins(name, data):
    function = ELEMENTWISE[name]
    x, grad = data.draw(float_arrays(count=2))
    y_ref, y_twin = on_both_paths(function.forward, x)
    if name in ("relu", "leaky_relu"):
        assert_same_array(y_ref, y_twin)
    else:
        scale = activations.SELU_SCALE * activations.SELU_ALPHA if name == "selu" \
            else function.alpha
        assert_close_to_exp_scale(y_ref, y_twin, scale)
    # backward from the reference output, so it is compared on identical inputs
    g_ref, g_twin = on_both_paths(function.backward, x, y_ref, grad)
    assert_same_array(g_ref, g_twin)


SMOOTH = {
    "gelu": activations.gelu,
    "gelu_tanh": activations.GELU(approximate=True),
    "silu": activations.silu,
    "mish": activations.mish,
}


@pytest.mark.parametrize("name", sorted(SMOOTH))
@SETTINGS
@given(data=st.data())
def test_smooth_activation_twins(name, data):
    """GELU, SiLU and Mish: the C library's erfc/tanh/log1p against NumPy's. Each function is
    x times a gate in [0, 1], and each derivative a sum of gate terms of size up to 1 + |x|
    (times the upstream gradient), whose sum may cancel (GELU's tanh form near x = -3: 1 + tanh
    u is 0.004); so the bound is a few ulp of those terms, not of the result: 16 eps (|y| + |x|)
    forward, 16 eps (|dx| + |g| (1 + |x|)) backward. Where results are subnormal the relative
    model no longer holds: each operation's error is then absolute, up to half the smallest
    subnormal (Higham, *Accuracy and Stability of Numerical Algorithms*, 2nd ed., §2.2,
    fl(x op y) = (x op y)(1 + d) + e), so the bound adds 16 smallest subnormals. Non-finite
    values must match."""
    function = SMOOTH[name]
    x, grad = data.draw(float_arrays(count=2))
    with np.errstate(invalid="ignore", over="ignore"):
        y_ref, y_twin = on_both_paths(function.forward, x)
        g_ref, g_twin = on_both_paths(function.backward, x, y_ref, grad)
        scales = (np.abs(x), np.abs(grad) * (1 + np.abs(x)))
    for reference, twin, scale in ((y_ref, y_twin, scales[0]), (g_ref, g_twin, scales[1])):
        assert twin.dtype == reference.dtype and twin.shape == reference.shape
        np.testing.assert_array_equal(np.isfinite(twin), np.isfinite(reference))
        finite = np.isfinite(reference) & np.isfinite(scale)
        info = np.finfo(reference.dtype)
        with np.errstate(over="ignore"):
            allowed = 16 * info.eps * (np.abs(reference) + scale) + 16 * info.smallest_subnormal
        assert np.all(np.abs(twin - reference)[finite] <= allowed[finite]), name


@SETTINGS
@given(dtype=DTYPES, rows=st.integers(1, 40), classes=st.integers(1, 12),
       offset=st.sampled_from([0.0, 50.0, -1e4, 1e4]), data=st.data())
def test_softmax_twin(dtype, rows, classes, offset, data):
    x = data.draw(hnp.arrays(dtype, (rows, classes),
                             elements=st.floats(-30, 30, width=32 if dtype == np.float32
                                                else 64))) + dtype(offset)
    if data.draw(st.booleans()):
        x = np.asfortranarray(x)
    y_ref, y_twin = on_both_paths(activations.softmax.forward, x)
    assert_close_to_exp_scale(y_ref, y_twin)


def test_twins_fall_back_to_the_reference_for_other_inputs():
    """Integer arrays, mixed dtypes and softmax over the first axis are not kernels' business."""
    ints = np.array([[-2, 0, 3]])
    for function in (activations.relu, activations.LeakyReLU(0.5)):
        ref, twin = on_both_paths(function.forward, ints)
        assert_same_array(ref, twin)
    x32 = np.linspace(-2, 2, 12, dtype=np.float32).reshape(3, 4)
    g64 = np.ones((3, 4))
    ref, twin = on_both_paths(activations.elu.backward, x32, activations.elu(x32), g64)
    assert twin.dtype == np.float64
    assert_same_array(ref, twin)
    ref, twin = on_both_paths(activations.Softmax(axis=0).forward, x32)
    assert_same_array(ref, twin)


@SETTINGS
@given(data=st.data())
def test_prelu_twin(data):
    x, grad = data.draw(float_arrays(count=2, min_rank=2))
    layer = PReLU(dtype=str(x.dtype))
    layer.build((None,) + x.shape[1:])
    layer.alpha.assign(data.draw(hnp.arrays(x.dtype, layer.alpha.shape,
                                            elements=st.floats(-1, 1, width=32))))

    def forward_backward(inputs):
        outputs = layer.call(inputs)
        return outputs, layer.backward(grad), layer.alpha.grad.copy()

    (y_ref, dx_ref, da_ref), (y_twin, dx_twin, da_twin) = on_both_paths(forward_backward, x)
    assert_same_array(y_ref, y_twin)
    assert_same_array(dx_ref, dx_twin)
    # the slope gradient sums over the batch: row after row on both paths
    eps = np.finfo(x.dtype).eps
    scale = np.abs(grad.astype(np.float64) * np.minimum(x, 0)).sum(axis=0)
    np.testing.assert_allclose(da_twin, da_ref, rtol=0, atol=4 * eps * scale.max() + 1e-300)


def test_prelu_with_shared_axes_uses_the_reference():
    x = np.random.default_rng(1).standard_normal((4, 3, 5)).astype(np.float32)
    layer = PReLU(alpha_initializer="ones", shared_axes=[1])
    layer.build((None, 3, 5))
    ref, twin = on_both_paths(lambda v: (layer.call(v), layer.backward(np.ones_like(v))), x)
    assert_same_array(ref[0], twin[0])
    assert_same_array(ref[1], twin[1])


@SETTINGS
@given(data=st.data(), rate=st.sampled_from([0.1, 0.5, 0.9]))
def test_dropout_mask_twins(data, rate):
    x, grad = data.draw(float_arrays(count=2))
    keep = np.random.default_rng(0).random(x.shape) >= rate
    scale = np.asarray(1 / (1 - rate), x.dtype)
    assert_same_array(*on_both_paths(apply_dropout_mask, x, keep, scale))
    alpha_p, a, b = (np.asarray(c, x.dtype) for c in AlphaDropout(rate).affine_constants)
    keep_float = keep.astype(x.dtype)
    assert_same_array(*on_both_paths(apply_alpha_dropout_mask, x, keep_float, a, alpha_p, b))


def test_dropout_layers_draw_the_same_mask_on_both_paths():
    """The mask comes from NumPy's generator on both paths, so a seed gives the same units."""
    x = np.random.default_rng(2).standard_normal((64, 30)).astype(np.float32)
    for layer_class in (Dropout, AlphaDropout):
        outputs = []
        for path in ("numpy", "numba"):
            backend.set_kernel_path(path)
            layer = layer_class(0.3, seed=7)
            outputs.append((layer(x, training=True), layer.backward(np.ones_like(x))))
        assert_same_array(outputs[0][0], outputs[1][0])
        assert_same_array(outputs[0][1], outputs[1][1])


def test_every_marked_reference_has_a_twin():
    dispatch.load_twins()
    missing = [d.__qualname__ for d in dispatch.dispatchers() if d.twin is None]
    assert not missing
    assert len(dispatch.dispatchers()) >= 16


def test_twin_of_rejects_an_unmarked_function():
    with pytest.raises(TypeError, match="has_numba_twin"):
        dispatch.twin_of(np.maximum)


def test_kernel_exp_is_within_one_ulp_of_the_true_value():
    import numba

    from numpy_nn.kernels.jit import exp

    @numba.njit(error_model="numpy")
    def exp_all(x, out):
        for i in range(x.size):
            out[i] = exp(x[i])

    x = np.linspace(-87.3, 88.7, 200_001, dtype=np.float32)
    out = np.empty_like(x)
    exp_all(x, out)
    true = np.exp(x.astype(np.float64))
    assert np.max(np.abs(out - true) / np.spacing(out)) <= 1.0
    special = np.array([np.nan, -np.inf, np.inf, 0.0, -200.0, 200.0], np.float32)
    out = np.empty_like(special)
    exp_all(special, out)
    np.testing.assert_array_equal(out, [np.nan, 0, np.inf, 1, 0, np.inf])


def _numpy_nn_imports(path):
    """``{module: names}`` that the module at ``path`` imports from numpy_nn at any depth."""
    imports = {}
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("numpy_nn"):
            imports.setdefault(node.module, set()).update(a.name for a in node.names)
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.startswith("numpy_nn"):
                    imports.setdefault(alias.name, set())
    return imports


def test_the_kernel_seam_is_sealed():
    """The reference code reaches the twins only through the seam, and the kernels stay the
    lowest layer.

    numpy_nn/dispatch.py (the marker, the path) imports nothing from numpy_nn, so it sits
    below everything; numpy_nn/kernels/ imports nothing of numpy_nn outside itself; the twins
    (numpy_nn/twins/) are imported by the package's loader alone, and the kernels by the twins
    and the compiled step's driver (``models/compiled_*.py``). Break this and the seam leaks:
    e.g. a layer writing into a twin's buffers, or a kernel reaching up into the layers.
    """
    package = pathlib.Path(numpy_nn.__file__).parent
    assert _numpy_nn_imports(package / "dispatch.py") == {}
    leaks = {}
    for path in package.rglob("*.py"):
        where = str(path.relative_to(package))
        for module, names in _numpy_nn_imports(path).items():
            if where.startswith("kernels/") and not module.startswith("numpy_nn.kernels"):
                leaks[where] = module
            elif module.startswith("numpy_nn.twins") or (module == "numpy_nn" and "twins" in
                                                          names):
                if where not in ("__init__.py",) and not where.startswith("twins/"):
                    leaks[where] = module
            elif module.startswith("numpy_nn.kernels") and not (
                    where.startswith(("kernels/", "twins/"))
                    or where in ("models/compiled_step.py", "models/compiled_plan.py",
                                 "models/compiled_optimizer.py",
                                 "models/compiled_metrics.py")):
                leaks[where] = module
    assert not leaks


def test_the_compiled_smooth_activations_use_the_references_constants():
    """The kernels cannot import numpy_nn.activations (they sit below it): their copies of
    GELU's constants must be the same numbers."""
    from numpy_nn.activations import smooth
    from numpy_nn.kernels import smooth_activations as compiled
    for name in ("SQRT_HALF", "INV_SQRT_2PI", "SQRT_2_OVER_PI", "GELU_CUBIC"):
        assert getattr(compiled, name) == getattr(smooth, name), name
