"""Every tolerance of the parity suite, with the reason for its value, and the one definition of
"relative error" they are measured in.

Relative error
--------------
For two arrays, ``actual`` (numpy_nn) and ``desired`` (Keras, the reference)::

    relative_error(actual, desired) = max |actual - desired| / max |desired|

i.e. the largest element-wise difference, measured in units of the largest magnitude in the
reference array. It is computed in float64 whatever the inputs' dtype. Why this form:

* an element-wise ratio ``|a - b| / |b|`` explodes where the reference crosses zero (a ReLU
  output, a weight passing through 0), although a difference of 1e-9 there is as exact as
  float32 can be; dividing by the array's largest magnitude reads as "how many float32 ulps of
  the array's scale", which is what float32 arithmetic can promise;
* it is sharp enough for the bugs the suite must catch — a wrong epsilon placement, biased vs.
  unbiased variance, a schedule off by one step — which move the affected elements by far more
  than 1e-6 of the array's scale. It is *not* sharp for a constant that is off in its 6th or
  7th digit (SELU's scale rounded to 1.0507 gives 1.1e-6, caught only just; 1.05070 would
  pass): exact constants are pinned by exact unit tests instead
  (``tests/test_activations.py``: the SELU constants derived from equation 14 equal the
  published ones bit for bit in float32). Nor does it see a single wrong element next to
  large ones, so derivative rules at kinks are checked element by element
  (``test_gradients.py::test_activation_derivatives_at_and_near_the_kink``).

Whole models after training (:func:`layerwise_relative_error`) are measured per *layer*: the
largest difference over all of a layer's arrays, in units of that layer's largest weight. A
BatchNormalization placed after a bias-free Dense layer shows why: its batch means are exactly
0 in exact arithmetic (the previous BN centred its inputs), so its moving mean is pure rounding
noise (~1e-8) with no scale of its own, while gamma and the moving variance (~1) give the scale
at which the moving mean acts on the output. Likewise a bias is judged against its kernel.

When ``max |desired|`` is 0 the error is the plain ``max |actual - desired|``. A NaN or infinity
in only one of the two arrays, or a shape mismatch, is an infinite error. For scalars (a loss,
a learning rate) the formula reduces to ``|a - b| / |b|``. For a list of arrays (all weights of
a model) the error is the worst over the arrays (:func:`worst_relative_error`).

Float32 unit roundoff is 2**-24 ≈ 6e-8; float64's is 2**-53 ≈ 1.1e-16.
"""
from __future__ import annotations

import math

import numpy as np

# ------------------------------------------------------------------------ component tolerances
#: One forward pass of one layer in float32. TensorFlow's exp/sigmoid/softmax kernels (Eigen's
#: vectorised approximations) differ from NumPy's by a few ulp, and matmul sums may be ordered
#: differently (~sqrt(fan_in) ulp), so ~1e-6 of the output scale is the honest float32 bound.
#: Checked by mutation: BatchNormalization with the unbiased variance (N = 64) gives 7.8e-3; SELU's
#: scale rounded to 1.0507 (a relative change of 9.4e-7) gives 1.1e-6, caught just barely — the
#: bound sits right above what float32 itself can resolve, not below (see the module docstring for
#: what guards constants instead). Measured: <= 3e-7 for every layer in one call, 5.8e-7 for
#: BatchNormalization over 150 consecutive training calls.
FORWARD = 1e-6

#: Gradient of the loss w.r.t. every trainable weight and the input, one batch, float32, against
#: tf.GradientTape. A backward pass chains a forward pass's rounding with one or two more
#: matmuls and a batch reduction, so it gets one decade more than the forward pass. A wrong
#: derivative (ELU at 0, leaky slope, BN gradient that ignores the batch mean) is O(1e-2+).
#: Measured: <= 2.1e-6 (BN after an activation; binary cross-entropy from sigmoid logits).
GRADIENT = 1e-5

#: Optimizer weights after each of >= 20 steps on identical gradients, float32, eager Keras.
#: The update formulas are transcribed operation by operation: SGD, Adagrad and RMSprop agree
#: to the bit (except through clipnorm's square root, ~1e-7). What remains is TensorFlow's
#: float32 ``pow``, 1 ulp away from NumPy's for some t: in Adam's bias correction
#: sqrt(1 - 0.999**t) the subtraction cancels, so that ulp becomes ~1e-5 of one step's size;
#: measured worst 6.7e-7 (Adam with amsgrad, 25 steps). Swapping in Keras 2's formulas (epsilon
#: outside the square root in Adagrad / RMSprop, Nadam's 0.96**(0.004 t)) was measured at
#: 1e-5 .. 1 on the same cases, with the tiny-gradient regime making epsilon matter.
OPTIMIZER_STEP = 1e-6

#: The per-step optimizer comparisons are only as sharp as the steps are large: each test also
#: requires every weight to have moved from its start by more than this many tolerances
#: (relative), so that an optimizer that did nothing could not pass. Measured smallest move over
#: 25 steps: 2.2e-5 (SGD with clipnorm, tiny gradients), i.e. 22 tolerances.
MIN_MOVEMENT_IN_TOLERANCES = 10

#: Keras 2 optimizers (numpy_nn.optimizers.legacy vs tf_keras.optimizers.legacy), the same
#: per-step comparison. The same float32 bound, for the same reason: SGD, Adagrad and RMSprop
#: (all four variants) agree to the bit unless clipnorm's square root or a schedule's pow is
#: involved (<= 1.2e-7); Adam, Adamax and Nadam carry TensorFlow's float32 pow, 1 ulp off
#: NumPy's for some t (measured worst 6.6e-7, Adam with amsgrad). Checked by mutation: Keras 3's
#: formulas in their place give 4.5e-3 (Adagrad, small accumulator, tiny gradients), 0.54
#: (RMSprop without momentum), 7.1e-2 (Nadam's schedule), 3.0e-6 (Adam's 1 - beta rounded from
#: double instead of computed in float32), 0.32 (decay= not applied), 0.43 (Nadam honouring
#: decay=, which Keras 2 ignored), 0.12 (clipnorm before clipvalue). Only regroupings that change
#: the rounding and nothing else (Keras 3's Adamax and Nadam expressions, RMSprop-with-momentum's
#: moving average written as rho v + (1 - rho) g^2) stay below it (<= 3.9e-7).
KERAS2_OPTIMIZER_STEP = 1e-6
#: The same in float64 (both sides float64, Keras 2's float32-rounded hyper-parameters copied):
#: every operation is transcribed, so what remains is float64 ``pow`` (an ulp, 1e-16), made
#: ~1000x larger by the cancellation in 1 - beta_2**t. Measured <= 2e-16. Without the float32
#: rounding of Keras 2's constants the error is 2e-10 .. 3e-8 (e.g. Nadam's 0.96, the decay).
KERAS2_OPTIMIZER_STEP_FLOAT64 = 1e-12

#: Learning-rate schedules, per step, float32. Keras computes ExponentialDecay with TF's
#: float32 ``pow`` (``keras/src/optimizers/schedules/learning_rate_schedule.py::
#: ExponentialDecay.__call__`` calls ``ops.power``), which is not bit-identical to NumPy's for
#: every step; 1 ulp relative is 2**-23 ≈ 1.2e-7. PiecewiseConstantDecay and InverseTimeDecay are
#: plain float32 arithmetic and must be identical (0). A schedule one step early or late moves
#: the rate by decay_rate**(1/decay_steps) - 1, i.e. >= 1e-3 for every schedule tested.
SCHEDULE_TRANSCENDENTAL = 2.0 ** -22   # 2 ulp relative
SCHEDULE_EXACT = 0.0

#: Callbacks (LearningRateScheduler, ReduceLROnPlateau, EarlyStopping): the learning rates they
#: set are float32 copies of the same Python-double arithmetic on both sides, and stop epochs,
#: History keys and restored weights are discrete: identical or wrong.
CALLBACK_EXACT = 0.0

#: BatchNormalization moving mean/variance after many training-mode steps, float32. Each step
#: is m*0.99 + mu*0.01 with mu, var from float32 reductions (pairwise sum in NumPy vs. TF's
#: reduction order: a few ulp); the exponential average does not amplify them. A biased vs.
#: unbiased variance differs by 1/(N-1) (3% at N=32), a swapped momentum by 98%.
BN_MOVING_STATISTICS = 1e-6

#: Dropout / AlphaDropout with the keep-mask copied from Keras: the arithmetic (x * f32(1/(1-p)),
#: or a*(x*m + alpha'(1-m)) + b with float32 constants) is the same sequence of float32
#: operations, so outputs and input-gradients must be identical.
DROPOUT_SAME_MASK = 0.0

#: Statistics of random quantities without a shared mask (dropped fraction, output mean and
#: std, MC-dropout averages) are compared as z-scores: |difference| / standard error of the
#: difference. Under the hypothesis "same distribution" |z| > 5 happens with probability
#: 6e-7 per comparison, so the suite is not flaky, while a wrong rate (0.2 vs 0.25 over 1e5
#: draws is z ≈ 40) or wrong affine constants fail outright.
STATISTICAL_Z = 5.0

#: AlphaDropout's constants a, b and the dropped value alpha'*a + b, derived by us and read from
#: Keras's outputs: float32 constants from the same double-precision formula; a Keras output
#: a*x+b carries one float32 rounding of x, so the fitted a, b agree to a few ulp.
ALPHA_DROPOUT_CONSTANTS = 1e-6

#: Whole-fit trajectories: >= 200 steps, same initial weights, same batches, shuffle off.
#: Float32, shallow models (up to the transfer-learning net's 5 hidden layers): per-epoch loss.
#: The per-step ~1e-7 difference grows slowly along a shallow trajectory (measured 4e-8 ..
#: 2.2e-5 over 224 steps, the largest on the 5-layer SELU transfer model); deep float32 nets
#: are chaotic (the *same* NumPy code in float32 vs. float64 drifts by 1e-4 on a 21-layer net,
#: measured), which is why deep models are only compared in float64.
#: These float32 bounds hold for the suite's initial weights (seed 0), not for every draw: with
#: --parity-seed 1 or 2 the SELU nets trained by Nadam (max-norm, Keras 3; 300-100, Keras 2)
#: and, at seed 1, Keras 2's SGD with decay= end 6e-4 .. 1.9e-2 apart in loss, while the
#: float64 runs from the same weights agree to <= 6e-15. Those float32 runs are sensitive to
#: rounding itself: numpy_nn alone, float32 against float64 from the seed-1 weights of the
#: max-norm Nadam case, ends 1.5e-3 apart (measured). The float64 runs are the parity check there.
TRAJECTORY_FLOAT32_LOSS = 1e-4
#: Final weights of those float32 runs, per layer (see ``layerwise_relative_error``), when the
#: optimizer is SGD (plain, momentum, Nesterov): the update is linear in the gradient, so
#: float32 differences grow smoothly. Measured 8e-8 .. 5e-7 on the 1-2 hidden-layer nets,
#: 2.2e-5 for the PReLU slopes (small numbers summed over the batch), 6.4e-5 for the 5-layer
#: SELU transfer model (its drift grows steadily, ~5e-6 after 160 steps in a separate run).
TRAJECTORY_FLOAT32_WEIGHTS = 1e-4
#: The same with Adagrad, RMSprop, Adam, Adamax or Nadam. These divide each gradient element by
#: its own running RMS, so an element whose gradient is a sum that cancels to ~1e-7 of its terms
#: (float32 rounding of that sum is then a large fraction of it) takes a step of a different
#: fraction of the learning rate on each side. One such step of size lr = 1e-3 relative to a
#: layer whose largest weight is ~1 is 1e-3: that is the bound for the worst element after 224
#: steps (measured: 5e-6 .. 3e-4, the largest on the 784×300 max-norm SELU layer, where the
#: difference appears in the first step and then stays constant). The per-epoch losses of the
#: same runs agree to ~2e-7, and the float64 runs compare these weights far more tightly
#: (TRAJECTORY_FLOAT64).
TRAJECTORY_FLOAT32_WEIGHTS_ADAPTIVE = 1e-3
#: Float64 trajectories (224 steps), per model family: (per-epoch loss, final weights per layer).
#: Both sides round at 1.1e-16 per operation, so what remains is that rounding, amplified by the
#: family's dynamics. Each bound is ~50-100x the worst error seen over the suite's runs with
#: --parity-seed 0, 1 and 2 (trajectories of both Keras 3 and Keras 2, float64, 2 cores, one
#: thread per engine), so it holds across initial weights and still sits far below any
#: algorithmic difference: numpy_nn's LeakyReLU with the exact double 0.2 where Keras uses
#: float32(0.2) — the smallest such difference the suite documents (test_trajectories.py) —
#: moves the shallow SGD run by 4.5e-10 (loss) and 9.5e-10 (weights), ~1e4 times that family's
#: bounds; Keras's float32-rounded hyper-parameters moved losses by 3e-8 .. 3e-6.
TRAJECTORY_FLOAT64 = {
    #: SGD, momentum, Nesterov (with BatchNormalization, PReLU, clipping, schedules, transfer
    #: learning): the update is linear in the gradient, so rounding differences stay at the
    #: ulp level. Worst seen: loss 3.5e-16, weights 1.0e-15 (SGD momentum).
    "shallow, SGD": (3e-14, 1e-13),
    #: Adagrad, RMSprop, Adam, Adamax, Nadam: each gradient element is divided by its own
    #: running RMS, so an element whose gradient sums cancel to near zero turns its rounding
    #: into a visible fraction of a step (the mechanism of TRAJECTORY_FLOAT32_WEIGHTS_ADAPTIVE).
    #: Worst seen: loss 6.2e-15, weights 5.1e-13 (SELU with max-norm, Nadam).
    "shallow, adaptive optimizer": (3e-13, 3e-11),
    #: The 30-layer SELU net: depth amplifies rounding, and how much depends on the initial
    #: weights (worst seen per seed: loss 1.9e-11, 3.3e-12, 1.2e-13; weights 3.5e-11, 3.3e-12,
    #: 1.3e-13), the reason this family keeps a looser bound.
    "deep SELU": (1e-9, 2e-9),
}


def trajectory_float64_family(deep, adaptive):
    """The key of :data:`TRAJECTORY_FLOAT64` for a run: the 30-layer SELU net, or a shallow net
    (<= 5 hidden layers) trained by SGD (plain, momentum, Nesterov) or by an optimizer that
    divides by a running RMS (Adagrad, RMSprop, Adam, Adamax, Nadam)."""
    if deep:
        return "deep SELU"
    return "shallow, adaptive optimizer" if adaptive else "shallow, SGD"


#: Per-epoch accuracy is a count of argmax matches: in float64 it must be identical; in float32
#: a prediction within ~1e-6 of a tie could flip, which at most a couple of samples per epoch do.
TRAJECTORY_FLOAT64_ACCURACY = 0.0
TRAJECTORY_FLOAT32_ACCURACY_SAMPLES = 2


#: Initial weights, each library drawing its own (before the models get the same weights): an
#: initializer that is a constant (zero biases, BatchNormalization's gamma and variance, PReLU's
#: zero slopes) gives identical arrays, or a default differs.
INITIAL_CONSTANTS = 0.0
#: Random initial weights (kernels): the two-sample Kolmogorov-Smirnov distance between
#: numpy_nn's and Keras's draws, scaled by sqrt(n m / (n + m)). Under "same distribution" it
#: exceeds 3.0 with probability 2 exp(-2 * 3.0**2) = 3e-8 per array, so the suite is not flaky.
#: Its power grows with the array: numpy_nn's Dense defaulting to glorot_normal instead of
#: glorot_uniform (same variance, different shape) gives 14.8 on a 784x300 kernel (measured,
#: test_initializers.py); a 10x12 kernel is not telling, and arrays below
#: INITIAL_DISTRIBUTION_MIN_SIZE elements are only compared by shape.
INITIAL_DISTRIBUTION_KS = 3.0
INITIAL_DISTRIBUTION_MIN_SIZE = 50


# ------------------------------------------------------------------------ tf_backend.compare
#: ``tf_backend.compare`` teacher-forces both engines (every comparison starts from the same
#: inputs, weights and optimizer state), so each comparison is one operation's rounding and
#: nothing grows with depth or with steps: its tolerances are the component tolerances above.
#: The loss is a forward quantity. The weights after a step come from one optimizer update on
#: identical gradients (OPTIMIZER_STEP), BatchNormalization's moving statistics from one
#: update on identical batches (BN_MOVING_STATISTICS).
COMPARE_FLOAT32 = {"forward": FORWARD, "loss": FORWARD, "gradient": GRADIENT,
                   "optimizer_state": OPTIMIZER_STEP, "weights": OPTIMIZER_STEP}
#: In float64 the same structure at float64's roundoff, 2**-53 against float32's 2**-24
#: (a factor 2**-29 = 1.9e-9), times 1e3 for what Keras 3 still computes in float32 in a
#: float64 model (TensorFlow's LeakyRelu keeps its slope in float32, ``keras.ops.cast`` of a
#: Python constant goes through float32: see the notes of parity_tests/report.md).
COMPARE_FLOAT64_FACTOR = 2.0 ** -29 * 1e3


def compare_tolerance(phase, dtype):
    """The tolerance of one ``tf_backend.compare`` comparison (relative error, see below)."""
    base = COMPARE_FLOAT32[phase]
    return base * COMPARE_FLOAT64_FACTOR if str(dtype) == "float64" else base


# ------------------------------------------------------------------------ the measure
def relative_error(actual, desired):
    """``max|actual - desired| / max|desired|`` in float64 (see the module docstring)."""
    actual = np.asarray(actual, dtype=np.float64)
    desired = np.asarray(desired, dtype=np.float64)
    if actual.shape != desired.shape:
        return math.inf
    if actual.size == 0:
        return 0.0
    finite_a, finite_d = np.isfinite(actual), np.isfinite(desired)
    if not np.array_equal(finite_a, finite_d):
        return math.inf
    if not finite_d.all():
        # Non-finite values must match exactly (same infinity, both NaN); compare the rest.
        same = (actual[~finite_d] == desired[~finite_d]) | (
            np.isnan(actual[~finite_d]) & np.isnan(desired[~finite_d]))
        if not same.all():
            return math.inf
        actual, desired = actual[finite_d], desired[finite_d]
        if actual.size == 0:
            return 0.0
    difference = float(np.max(np.abs(actual - desired)))
    scale = float(np.max(np.abs(desired)))
    return difference / scale if scale > 0 else difference


def worst_relative_error(actual_arrays, desired_arrays):
    """The largest :func:`relative_error` over pairs of arrays (e.g. all weights of a model)."""
    actual_arrays, desired_arrays = list(actual_arrays), list(desired_arrays)
    if len(actual_arrays) != len(desired_arrays):
        return math.inf
    return max((relative_error(a, d) for a, d in zip(actual_arrays, desired_arrays)),
               default=0.0)


def layerwise_relative_error(actual_arrays, desired_arrays, paths):
    """Worst over layers of ``max|a - d| / max|d|`` taken over *all* arrays of the layer.

    ``paths`` name the arrays as ``"layer/variable"`` (``SideBySideResult.weight_paths``).
    """
    groups = {}
    for actual, desired, path in zip(actual_arrays, desired_arrays, paths):
        groups.setdefault(path.split("/")[0], []).append((actual, desired))
    worst = 0.0
    for pairs in groups.values():
        if any(np.shape(a) != np.shape(d) for a, d in pairs):
            return math.inf
        difference = max(float(np.max(np.abs(np.asarray(a, np.float64) - d), initial=0))
                         for a, d in pairs)
        scale = max(float(np.max(np.abs(np.asarray(d, np.float64)), initial=0))
                    for _, d in pairs)
        if not math.isfinite(difference):
            return math.inf
        worst = max(worst, difference / scale if scale > 0 else difference)
    return worst

#: Element-wise activations in float64 (GELU, SiLU, Mish against Keras's, or against the
#: formula TensorFlow states): the same expressions in double precision, whose exp, erfc, tanh
#: and log1p differ by an ulp or two between libraries. Measured worst: 1.1e-14 (Mish's
#: derivative), 2.3e-16 for GELU against TensorFlow's formula.
ELEMENTWISE_FLOAT64 = 1e-13

#: TensorFlow 2.21's ``tf.nn.gelu`` in float64 is not its own formula: its kernel's values differ
#: from ``0.5 x erfc(-x / sqrt 2)`` by up to 5.0e-9 (absolute, over [-12, 12]), 4.2e-10 of the
#: largest value (tanh form: 7.5e-11), measured in ``parity_tests/test_smooth_activations.py``.
#: This bounds that distance of Keras from the formula; numpy_nn is held to
#: ``ELEMENTWISE_FLOAT64`` against the formula instead.
GELU_KERNEL_FLOAT64 = 1e-9
