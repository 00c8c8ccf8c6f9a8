"""Which of Keras 3's own unit tests this suite ports, and why the others do not apply.

Keras ships its tests in the wheel (``keras/src/**/*_test.py``). :data:`SCOPE` lists the files
for the components numpy_nn implements. Every test method in them is, by its id
``"<file>::<Class>::<method>"``, in exactly one of three places:

* **ported**: a test here carries ``@keras_case(id)`` and runs the case on numpy_nn with
  Keras's golden values and tolerances (or tighter);
* **not applicable**: a rule in :data:`NOT_APPLICABLE` matches it, with the reason (a feature
  numpy_nn does not have, or a backend detail with no NumPy counterpart);
* **not yet ported**: anything else. It is counted in the report's conformance row, never
  dropped silently.

``python -m parity_tests.keras_conformance.inventory`` prints the three lists.
"""
from __future__ import annotations

import ast
import importlib
import importlib.util
import pathlib
import re
from functools import cache

#: Keras test files (relative to ``keras/src``) for the components numpy_nn implements.
SCOPE = (
    "optimizers/sgd_test.py", "optimizers/adagrad_test.py", "optimizers/rmsprop_test.py",
    "optimizers/adam_test.py", "optimizers/adamw_test.py", "optimizers/adamax_test.py",
    "optimizers/nadam_test.py", "optimizers/schedules/learning_rate_schedule_test.py",
    "activations/activations_test.py",
    "layers/activations/activation_test.py", "layers/activations/elu_test.py",
    "layers/activations/leaky_relu_test.py", "layers/activations/prelu_test.py",
    "layers/activations/relu_test.py", "layers/activations/softmax_test.py",
    "layers/core/dense_test.py", "layers/normalization/batch_normalization_test.py",
    "layers/regularization/dropout_test.py", "layers/regularization/alpha_dropout_test.py",
    "losses/losses_test.py", "metrics/accuracy_metrics_test.py",
    "metrics/regression_metrics_test.py",
    "callbacks/early_stopping_test.py", "callbacks/reduce_lr_on_plateau_test.py",
    "callbacks/learning_rate_scheduler_test.py", "callbacks/csv_logger_test.py",
    "callbacks/terminate_on_nan_test.py",
    "initializers/random_initializers_test.py", "initializers/constant_initializers_test.py",
    "constraints/constraints_test.py", "regularizers/regularizers_test.py",
)

_ABSENT = "numpy_nn does not implement this {} (the chapter does not use it)"

#: (id pattern, reason): a regular expression matched against the whole id.
NOT_APPLICABLE = (
    # ---- features numpy_nn does not have
    (r".*::test_(ema|ema_overwrite_frequency)", "no exponential moving average of the weights "
     "(use_ema); the chapter does not use it"),
    (r".*::test_clipnorm_indexed_slices", "TensorFlow IndexedSlices (sparse gradients of an "
     "Embedding layer) have no NumPy counterpart"),
    (r".*::test_build_with_empty_var_list", "numpy_nn builds optimizer state on the first "
     "apply, never from an empty variable list"),
    (r"optimizers/schedules/.*::(LinearDecayTest|SqrtDecayTest|CosineDecayTest|"
     r"CosineDecayRestartsTest)::.*", _ABSENT.format("schedule (PolynomialDecay/CosineDecay "
                                                     "families)")),
    (r"optimizers/schedules/.*::test_variables", "schedules whose arguments are backend "
     "variables: numpy_nn schedules take Python numbers"),
    (r"activations/activations_test.py::ActivationsTest::test_(log_softmax\w*|"
     r"temporal_log_softmax|softplus|softsign|"
     r"hard_sigmoid|sparse_sigmoid|log_sigmoid|hard_silu|relu6|celu|glu|tanh_shrink|"
     r"hard_tanh|hard_shrink|threshold|squareplus|soft_shrink|sparse_plus|exponential|"
     r"sparsemax)", _ABSENT.format("activation function")),
    (r"activations/activations_test.py::ActivationsTest::test_(softmax_3d_axis_tuple|"
     r"softmax_higher_dim|softmax_higher_dim_multiple_axes)",
     "softmax over a tuple of axes: numpy_nn's softmax takes one axis"),
    (r"layers/activations/softmax_test.py::.*mask.*", "masks (Keras's mask propagation) do "
     "not exist in numpy_nn"),
    (r"layers/normalization/.*::test_(renorm\w*|input_fully_masked|bachnorm_ignore_masked_values|"
     r"masked_broadcast_normalization|large_value_within_autocast_scope)",
     "batch renormalization, masks and mixed-precision autocast are not in numpy_nn"),
    (r"layers/regularization/.*noise_shape.*", "Dropout's noise_shape (masks shared along an "
     "axis) is not in numpy_nn"),
    (r"layers/core/dense_test.py::.*::test_\w*(lora|quantiz|int4|int8|float8|gptq|awq|"
     r"kernel_packing|g_idx|block_size|grouped)\w*", "LoRA and quantization are not in numpy_nn"),
    (r"layers/core/dense_test.py::.*::test_legacy_load_own_variables", "Keras's variable "
     "store format of old quantized kernels"),
    (r"layers/core/dense_test.py::.*::test_dense_sparse", "sparse tensors as Dense input"),
    (r"losses/losses_test.py::(MeanAbsoluteErrorTest|MeanAbsolutePercentageErrorTest|"
     r"MeanSquaredLogarithmicErrorTest|HingeTest|SquaredHingeTest|CategoricalHingeTest|"
     r"CosineSimilarityTest|HuberLossTest|LogCoshTest|KLDivergenceTest|PoissonTest|"
     r"BinaryFocalCrossentropyTest|CategoricalFocalCrossentropyTest|CTCTest|DiceTest|"
     r"TverskyTest|CircleTest|CategoricalGeneralizedCrossEntropyTest)::.*",
     _ABSENT.format("loss")),
    (r"losses/.*::test_dtype_arg", "a loss's dtype argument (bfloat16 results): numpy_nn "
     "losses compute in the predictions' float type"),
    (r"losses/.*::test_label_smoothing\w*", "label smoothing is not in numpy_nn"),
    (r"losses/.*::SparseCategoricalCrossentropyTest::test_(ignore_class|binary_segmentation\w*|"
     r"multi_class_segmentation\w*|squeezes_singleton_class_dim_on_user_axis)",
     "ignore_class and a class axis other than the last are not in numpy_nn"),
    (r"metrics/accuracy_metrics_test.py::(AccuracyTest|TopKCategoricalAccuracyTest|"
     r"SparseTopKCategoricalAccuracyTest)::.*", _ABSENT.format("metric (exact-match Accuracy, "
                                                              "top-k)")),
    (r"metrics/regression_metrics_test.py::(CosineSimilarityTest|MeanAbsolutePercentageErrorTest|"
     r"MeanSquaredLogarithmicErrorTest|RootMeanSquaredErrorTest|LogCoshErrorTest|R2ScoreTest)::.*",
     _ABSENT.format("metric")),
    (r"initializers/random_initializers_test.py::.*::test_(orthogonal|mha_query_projection_"
     r"variance|compute_fans_with_axes|variance_scaling_with_axes|variance_scaling_serialization_"
     r"with_axes|serialization_with_seed_generator|get_method_with_tensor)",
     "orthogonal initializers, fans over chosen axes, seed generators and tensors as "
     "initializers are not in numpy_nn"),
    (r"initializers/constant_initializers_test.py::.*::test_(identity|stft)_initializer",
     _ABSENT.format("initializer")),
    (r"constraints/.*::test_(non_neg\w*|unit_norm\w*|min_max_norm\w*)",
     _ABSENT.format("constraint (NonNeg, UnitNorm, MinMaxNorm)")),
    (r"regularizers/.*::test_orthogonal\w*", _ABSENT.format("regularizer (orthogonal)")),
    (r"regularizers/regularizers_test.py::ValidateFloatArgTest::.*", "tests of Keras's private "
     "helper validate_float_arg; numpy_nn's own argument checks are tested in tests/"),
    (r"optimizers/schedules/.*::TestFitLRSchedulesFlow::.*", "trains a Keras model for 3 epochs "
     "and compares a Keras-specific loss value; schedules in fit are covered by the parity "
     "suite's trajectories"),
)


def keras_tests_root() -> pathlib.Path:
    """``keras/src`` of the installed Keras, found without importing Keras."""
    spec = importlib.util.find_spec("keras")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("Keras is not installed: the conformance suite reads its test files")
    return pathlib.Path(list(spec.submodule_search_locations)[0]) / "src"


@cache
def keras_case_ids() -> tuple:
    """Every test method id in :data:`SCOPE`, in file order."""
    root = keras_tests_root()
    ids = []
    for relative in SCOPE:
        tree = ast.parse((root / relative).read_text())
        for node in tree.body:
            if isinstance(node, ast.ClassDef):
                ids += [f"{relative}::{node.name}::{item.name}" for item in node.body
                        if isinstance(item, (ast.FunctionDef, ast.AsyncFunctionDef))
                        and item.name.startswith("test")]
    return tuple(ids)


def not_applicable_reason(case_id):
    """The reason ``case_id`` does not apply to numpy_nn, or ``None``."""
    for pattern, reason in NOT_APPLICABLE:
        if re.fullmatch(pattern, case_id):
            return reason
    return None


def classify(ported):
    """``{"ported": [...], "not applicable": {id: reason}, "not yet ported": [...]}``."""
    ported = set(ported)
    result = {"ported": [], "not applicable": {}, "not yet ported": []}
    for case_id in keras_case_ids():
        reason = not_applicable_reason(case_id)
        if case_id in ported:
            result["ported"].append(case_id)
        elif reason is not None:
            result["not applicable"][case_id] = reason
        else:
            result["not yet ported"].append(case_id)
    return result


def ported_ids():
    """The ids the suite's tests carry: ``@keras_case`` marks on the test functions and on
    their ``pytest.param`` cases, read from the imported test modules."""
    here = pathlib.Path(__file__).parent
    found = set()
    for path in sorted(here.glob("test_*.py")):
        module = importlib.import_module(f"parity_tests.keras_conformance.{path.stem}")
        for function in vars(module).values():
            for mark in getattr(function, "pytestmark", []):
                found.update(_case_ids(mark))
    return found


def _case_ids(mark):
    if mark.name == "keras_case":
        return set(mark.args)
    ids = set()
    if mark.name == "parametrize":
        for case in mark.args[1]:
            for inner in getattr(case, "marks", ()):
                ids |= _case_ids(inner)
    return ids


if __name__ == "__main__":
    table = classify(ported_ids())
    for name in ("ported", "not yet ported"):
        print(f"## {name} ({len(table[name])})")
        print("\n".join(table[name]))
    print(f"## not applicable ({len(table['not applicable'])})")
    for case_id, reason in table["not applicable"].items():
        print(f"{case_id}: {reason}")
