r"""Sums in NumPy's order, for compiled code that must add up as the reference does.

``np.sum`` of a contiguous run of values does not add them left to right: it uses pairwise
summation (NumPy's ``pairwise_sum``, ``numpy/_core/src/umath/loops_utils.h.src``), whose
rounding error grows like :math:`O(\log n)` instead of :math:`O(n)`. Below 8 values it adds
them in order; up to 128 it keeps eight running sums, one per position modulo 8, adds them as
:math:`((r_0 + r_1) + (r_2 + r_3)) + ((r_4 + r_5) + (r_6 + r_7))` and then the leftover values
in order; beyond 128 it splits the run in two (the first part a multiple of 8 long) and adds
the two halves' sums. :func:`pairwise_sum` is that algorithm (its recursion kept on a small
stack, since Numba cannot cache recursive code), so a compiled loss or softmax sums a row to
the reference's bits. (Sums *across* rows, ``sum(axis=0)`` of a C-ordered array,
add row after row; :func:`.step_layers.column_sums` does that.)
"""
from __future__ import annotations

import numpy as np

from numpy_nn.kernels.jit import helper

_BLOCK = 128


@helper
def _blocked_sum(values, start, count):
    r0, r1, r2, r3 = values[start], values[start + 1], values[start + 2], values[start + 3]
    r4, r5, r6, r7 = values[start + 4], values[start + 5], values[start + 6], values[start + 7]
    i = 8
    while i < count - count % 8:
        r0 += values[start + i]
        r1 += values[start + i + 1]
        r2 += values[start + i + 2]
        r3 += values[start + i + 3]
        r4 += values[start + i + 4]
        r5 += values[start + i + 5]
        r6 += values[start + i + 6]
        r7 += values[start + i + 7]
        i += 8
    total = ((r0 + r1) + (r2 + r3)) + ((r4 + r5) + (r6 + r7))
    while i < count:
        total += values[start + i]
        i += 1
    return total


#: frames of :func:`pairwise_sum`'s stack: enough for any run shorter than 2**63 values
STACK_DEPTH = 64


def new_stack():
    """The scratch :func:`pairwise_sum` keeps its frames in (float64 rows: start, count,
    stage, left half's sum; a float32 sum survives the trip through float64 exactly)."""
    return np.zeros((STACK_DEPTH, 4), np.float64)


@helper
def _leaf_sum(values, start, count):
    if count < 8:
        total = values.dtype.type(0)
        for i in range(count):
            total += values[start + i]
        return total
    return _blocked_sum(values, start, count)


@helper
def pairwise_sum(values, start, count, stack):
    """The sum of ``values[start:start + count]`` (1-D) in NumPy's pairwise order.

    NumPy recurses (split in two, the first part a multiple of 8, until a part has at most 128
    values); compiled code that Numba caches must not, so the recursion runs on ``stack``
    (:func:`new_stack`): each frame is a part, at stage 0 (split it), 1 (its left half is
    summed) or 2 (both halves are)."""
    if count <= _BLOCK:
        return _leaf_sum(values, start, count)
    dtype = values.dtype.type
    last = dtype(0)
    top = 1
    stack[0, 0], stack[0, 1], stack[0, 2] = start, count, 0
    while top > 0:
        frame = stack[top - 1]
        part_start, part_count, stage = int(frame[0]), int(frame[1]), frame[2]
        if part_count <= _BLOCK:
            last = _leaf_sum(values, part_start, part_count)
            top -= 1
            continue
        half = part_count // 2
        half -= half % 8
        if stage == 0:
            frame[2] = 1
            stack[top, 0], stack[top, 1], stack[top, 2] = part_start, half, 0
            top += 1
        elif stage == 1:
            frame[2], frame[3] = 2, last
            stack[top, 0], stack[top, 1], stack[top, 2] = part_start + half, part_count - half, 0
            top += 1
        else:
            last = dtype(frame[3]) + last
            top -= 1
    return last
