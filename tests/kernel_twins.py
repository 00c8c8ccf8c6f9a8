"""Shared helpers of the kernel tests: run a function on both kernel paths, random arrays."""
import numpy as np
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from numpy_nn import backend

SETTINGS = settings(max_examples=40, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
DTYPES = st.sampled_from([np.float32, np.float64])


def edge_values(dtype):
    """Floats mixing ordinary values with zeros, tiny and huge magnitudes and exp's edges."""
    special = st.sampled_from([0.0, -0.0, 1e-30, -1e-30, 1e30, -1e30, 87.0, -87.0, -88.5,
                               -100.0, 1.0, -1.0, 1e-8, -1e-8])
    ordinary = st.floats(-20, 20, width=32 if dtype == np.float32 else 64)
    return st.one_of(ordinary, ordinary, special)


@st.composite
def float_arrays(draw, count=1, dtype=None, min_rank=1, max_rank=3):
    """``count`` arrays of one random shape and dtype, each maybe a non-contiguous view."""
    dtype = dtype or draw(DTYPES)
    shape = draw(hnp.array_shapes(min_dims=min_rank, max_dims=max_rank, min_side=1,
                                  max_side=12))
    arrays = []
    for _ in range(count):
        layout = draw(st.sampled_from(["contiguous", "strided", "transposed"]))
        if layout == "strided":
            base = draw(hnp.arrays(dtype, shape[:-1] + (2 * shape[-1],),
                                   elements=edge_values(dtype)))
            array = base[..., ::2]
        elif layout == "transposed":
            array = draw(hnp.arrays(dtype, shape[::-1], elements=edge_values(dtype))).T
        else:
            array = draw(hnp.arrays(dtype, shape, elements=edge_values(dtype)))
        arrays.append(array)
    return arrays


def on_both_paths(function, *args):
    """``function(*args)`` on the NumPy path, then on the Numba path.

    The drawn arrays reach the dtype's largest values, where a product with the gradient
    overflows to inf on both paths (asserted equal); NumPy's overflow warning is expected
    there, so it is silenced for the reference call only."""
    backend.set_kernel_path("numpy")
    with np.errstate(over="ignore"):
        reference = function(*args)
    backend.set_kernel_path("numba")
    twin = function(*args)
    backend.set_kernel_path("numpy")
    return reference, twin


def assert_same_array(reference, twin):
    assert twin.dtype == reference.dtype and twin.shape == reference.shape
    np.testing.assert_array_equal(twin, reference)


def assert_close_to_exp_scale(reference, twin, scale=1.0):
    """Within 8 ulp of ``scale`` (the size of the exp term) plus 2 ulp of each value."""
    assert twin.dtype == reference.dtype and twin.shape == reference.shape
    eps = np.finfo(reference.dtype).eps
    np.testing.assert_allclose(twin, reference, rtol=2 * eps, atol=8 * eps * abs(scale))
