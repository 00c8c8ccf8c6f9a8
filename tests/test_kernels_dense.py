"""Dense's fused Numba twins (bias + activation forward; activation derivative + bias gradient
backward) against the reference layer, over random shapes, values and memory layouts.

Tolerances, and why:

* The pre-activation ``z = x W + b`` comes from the same GEMM and the same float addition on
  both paths: **bit for bit**. ReLU's output too; ELU / SELU outputs use the kernels' ``exp``,
  so they get the same bound as their element-wise twins (``tests/test_kernels.py``).
* Backward is run from one forward pass (identical cached ``z``, ``y``), so ``delta`` is the
  same expression on the same numbers and the weight and input gradients come from the same
  GEMMs: **bit for bit**. The bias gradient sums ``delta`` row after row in the kernel; NumPy
  does the same for a C-ordered ``delta`` with several columns (bit for bit), but sums a
  single column pairwise, so with one unit it is compared to the error bound of a
  sequential sum (n ulp of the sum of magnitudes).
"""
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from kernel_twins import SETTINGS, assert_close_to_exp_scale, assert_same_array, on_both_paths

from numpy_nn import activations, backend
from numpy_nn.layers import Dense
from numpy_nn.optimizers.flat import grad_buffer, set_grad_buffer

FUSED = {"relu": 0.0, "elu": 1.0, "selu": activations.SELU_SCALE * activations.SELU_ALPHA}


def _array(data, dtype, shape, low=-5.0, high=5.0):
    width = 32 if dtype == np.float32 else 64
    values = st.one_of(st.floats(low, high, width=width), st.sampled_from([0.0, -0.0, 1e-30]))
    return data.draw(hnp.arrays(dtype, shape, elements=values))


def _layout(data, array):
    """``array`` itself, a strided view of a copy, or a Fortran-ordered copy (same values)."""
    layout = data.draw(st.sampled_from(["contiguous", "strided", "fortran"]))
    if layout == "strided":
        wide = np.zeros(array.shape[:-1] + (2 * array.shape[-1],), array.dtype)
        wide[..., ::2] = array
        return wide[..., ::2]
    return np.asfortranarray(array) if layout == "fortran" else array


def _layer(data, name, dtype, inputs, units):
    layer = Dense(units, activation=name, dtype=np.dtype(dtype).name)
    layer.build((None, inputs))
    layer.kernel.assign(_array(data, dtype, (inputs, units), -1.0, 1.0))
    layer.bias.assign(_array(data, dtype, (units,), -1.0, 1.0))
    return layer


@pytest.mark.parametrize("name", sorted(FUSED))
@SETTINGS
@given(dtype=st.sampled_from([np.float32, np.float64]), rows=st.integers(1, 40),
       inputs=st.integers(1, 12), units=st.integers(1, 12), grad_buffers=st.booleans(),
       data=st.data())
def test_dense_twin(name, dtype, rows, inputs, units, grad_buffers, data):
    layer = _layer(data, name, dtype, inputs, units)
    x = _layout(data, _array(data, dtype, (rows, inputs)))
    grad = _layout(data, _array(data, dtype, (rows, units), -2.0, 2.0))

    def forward(inputs_):
        return layer.call(inputs_), layer._z.copy()

    (y_ref, z_ref), (y_twin, z_twin) = on_both_paths(forward, x)
    assert_same_array(z_ref, z_twin)
    if name == "relu":
        assert_same_array(y_ref, y_twin)
    else:
        assert_close_to_exp_scale(y_ref, y_twin, FUSED[name])

    if grad_buffers:       # as on the Numba path once the optimizer has flat buffers
        set_grad_buffer(layer.kernel, np.full(layer.kernel.shape, np.nan, dtype))
        set_grad_buffer(layer.bias, np.full(layer.bias.shape, np.nan, dtype))
    backend.set_kernel_path("numpy")
    layer.call(x)          # backward on both paths from this one forward pass

    def backward(need_input_grad):
        dx = layer.backward(grad, need_input_grad)
        return dx, layer.kernel.grad.copy(), layer.bias.grad.copy(), layer.bias.grad

    for need_input_grad in (True, False):
        ref, twin = on_both_paths(backward, need_input_grad)
        if need_input_grad:
            assert_same_array(ref[0], twin[0])
        else:
            assert ref[0] is None and twin[0] is None
        assert_same_array(ref[1], twin[1])
        if units > 1:
            assert_same_array(ref[2], twin[2])
        else:
            eps = np.finfo(dtype).eps
            np.testing.assert_allclose(twin[2], ref[2], rtol=0,
                                       atol=rows * eps * np.abs(grad).sum() + 1e-300)
        if grad_buffers:
            assert twin[3] is grad_buffer(layer.bias), "the bias gradient is written in place"


def _both_paths_train_step(layer, x, grad):
    def step(inputs):
        y = layer.call(inputs)
        dx = layer.backward(grad)
        return y, dx, None if layer.kernel.grad is None else layer.kernel.grad.copy()
    return on_both_paths(step, x)


@pytest.mark.parametrize("case", ["tanh", "no bias", "float64 inputs", "frozen"])
def test_dense_twin_leaves_other_cases_to_the_reference(case):
    rng = np.random.default_rng(3)
    layer = Dense(4, activation="tanh" if case == "tanh" else "relu",
                  use_bias=case != "no bias")
    layer.build((None, 5))
    layer.trainable = case != "frozen"
    x = rng.standard_normal((6, 5)).astype(np.float64 if case == "float64 inputs"
                                           else np.float32)
    grad = rng.standard_normal((6, 4)).astype(x.dtype)
    (y_ref, dx_ref, dw_ref), (y_twin, dx_twin, dw_twin) = _both_paths_train_step(layer, x, grad)
    assert_same_array(y_ref, y_twin)
    assert_same_array(dx_ref, dx_twin)
    if case == "frozen":
        assert dw_ref is None and dw_twin is None, "a frozen layer gets no weight gradient"
    else:
        assert_same_array(dw_ref, dw_twin)


def test_dense_subclass_keeps_its_own_backward():
    """A subclass may change how gradients are formed; the fused twin is for Dense itself."""
    class HalvedGradients(Dense):
        def backward_from_logits(self, grad_logits, need_input_grad=True):
            return super().backward_from_logits(grad_logits / 2, need_input_grad)

    layer = HalvedGradients(3, activation="relu")
    layer.build((None, 2))
    x = np.ones((4, 2), np.float32)
    (_, dx_ref, dw_ref), (_, dx_twin, dw_twin) = _both_paths_train_step(
        layer, x, np.ones((4, 3), np.float32))
    assert_same_array(dw_ref, dw_twin)
    assert_same_array(dx_ref, dx_twin)


@pytest.mark.parametrize("name", sorted(FUSED))
@pytest.mark.parametrize("bias", [0.0, -0.0, -1e-30, 1e-30])
def test_dense_twin_branches_where_the_reference_does(name, bias):
    """At z = 0 and for tiny z whose activation rounds to 0, the derivative's branch is the
    reference's: SELU branches on the output (y < 0), ReLU and ELU on z > 0."""
    layer = Dense(3, activation=name, kernel_initializer="zeros")
    layer.build((None, 2))
    layer.bias.assign(np.full(3, bias, np.float32))
    backend.set_kernel_path("numpy")
    layer.call(np.ones((4, 2), np.float32))
    grad = np.ones((4, 3), np.float32)
    ref, twin = on_both_paths(lambda: (layer.backward(grad), layer.bias.grad.copy()))
    assert_same_array(ref[0], twin[0])
    assert_same_array(ref[1], twin[1])
