"""Checks at the model boundary: what ``fit`` / ``evaluate`` / ``predict`` accept, and the
errors they give for everything else.

The rule: every argument either becomes exactly what the training loop expects, or the call
fails at once with a ``ValueError`` / ``TypeError`` that names the argument and says what was
expected and what was given. Nothing is allowed to reach NumPy in a shape or dtype that would
fail deep inside a layer (a broadcasting error, an ``IndexError``) or, worse, succeed with a
silent wrong answer (labels wrapped around by fancy indexing, masked values ignored, float64
values overflowing to ``inf`` in float32).

Conversions that *do* happen are deliberate and documented here:

* integer and boolean inputs (pixel values, 0/1 features) are cast to the model's float type;
* float inputs of another precision are cast too, refusing values that do not fit (``1e300``
  does not fit in float32);
* targets keep their dtype; each loss checks that they make sense for it (class indices in
  ``[0, n_classes)`` for sparse cross-entropy, values in ``[0, 1]`` for the other two).
"""
from __future__ import annotations

import contextlib
import dataclasses
import math
import numbers

import numpy as np

from numpy_nn import backend
from numpy_nn._checks import is_int
from numpy_nn.callbacks.callback import Callback
from numpy_nn.layers.base import shape_str

#: Verbosity values ``fit`` / ``evaluate`` / ``predict`` accept (as Keras does).
VERBOSE_VALUES = ("auto", 0, 1, 2)
#: What ``fit`` may do when the loss becomes NaN or infinite (see ``Trainer.fit``).
ON_NONFINITE_VALUES = ("continue", "raise")


def _is_number(value):
    return isinstance(value, numbers.Real) and not isinstance(value, (bool, np.bool_))


@contextlib.contextmanager
def prefix_errors(method):
    """Prefix argument errors raised inside the block with the method's name (``fit: ...``)."""
    try:
        yield
    except (ValueError, TypeError) as error:
        raise type(error)(f"{method}: {error}") from None


def check_int(name, value, minimum):
    """``value`` as an ``int >= minimum`` (bools and floats such as ``2.0`` are refused)."""
    if not is_int(value) or value < minimum:
        raise ValueError(f"{name} must be an int >= {minimum}, got {value!r}")
    return int(value)


def check_batch_size(batch_size, name="batch_size"):
    """A positive int; ``None`` means Keras's default of 32."""
    if batch_size is None:
        return 32
    if not is_int(batch_size) or batch_size <= 0:
        raise ValueError(f"{name} must be a positive int, got {batch_size!r}")
    return int(batch_size)


def check_verbose(verbose):
    """``"auto"`` (= 1), 0, 1 or 2."""
    if isinstance(verbose, str) and verbose == "auto":
        return 1
    if not is_int(verbose) or verbose not in (0, 1, 2):
        raise ValueError(f"verbose must be one of {VERBOSE_VALUES}, got {verbose!r}")
    return int(verbose)


def check_flag(name, value):
    """A real boolean (``"False"`` is truthy, so strings are refused)."""
    if value is None or isinstance(value, (bool, np.bool_)) or (is_int(value)
                                                               and value in (0, 1)):
        return bool(value)
    raise TypeError(f"{name} must be True or False, got {value!r}")


def check_choice(name, value, choices):
    if not isinstance(value, str) or value not in choices:
        raise ValueError(f"{name} must be one of {', '.join(repr(c) for c in choices)}, got "
                         f"{value!r}")
    return value


def check_validation_split(split):
    if not _is_number(split) or not 0 <= split < 1:
        raise ValueError(f"validation_split must be in [0, 1), got {split!r}")
    return float(split)


def check_callbacks(callbacks):
    """``None`` or a list of callbacks (a single callback is a common slip: say so)."""
    if callbacks is None:
        return []
    if isinstance(callbacks, Callback):
        raise TypeError(f"callbacks must be a list of callbacks, got a single "
                        f"{type(callbacks).__name__}; write callbacks=[...]")
    if not isinstance(callbacks, (list, tuple)):
        raise TypeError(f"callbacks must be a list of numpy_nn.callbacks.Callback, got "
                        f"{type(callbacks).__name__}")
    for callback in callbacks:
        if not isinstance(callback, Callback):
            raise TypeError(f"callbacks must be numpy_nn.callbacks.Callback instances, got "
                            f"{type(callback).__name__}")
    return list(callbacks)


@dataclasses.dataclass
class FitSettings:
    """The arguments of one ``fit`` call, checked: what its epochs and batches follow."""

    batch_size: int
    epochs: int
    initial_epoch: int
    validation_split: float
    verbose: int
    shuffle: bool
    callbacks: list
    validation_freq: int
    validation_batch_size: int
    raise_on_nonfinite: bool
    steps: int = 0          # batches per epoch, set once the training data is known


def check_fit_settings(batch_size, epochs, initial_epoch, validation_split, verbose, shuffle,
                       callbacks, validation_freq, validation_batch_size, on_nonfinite):
    """:class:`FitSettings` from ``fit``'s arguments, or an error naming the argument."""
    with prefix_errors("fit"):
        batch_size = check_batch_size(batch_size)
        epochs = check_int("epochs", epochs, minimum=0)
        initial_epoch = check_int("initial_epoch", initial_epoch, minimum=0)
        if epochs < initial_epoch:
            raise ValueError(f"epochs ({epochs}) must be >= initial_epoch ({initial_epoch})")
        validation_split = check_validation_split(validation_split)
        verbose = check_verbose(verbose)
        shuffle = check_flag("shuffle", shuffle)
        callbacks = check_callbacks(callbacks)
        validation_freq = check_int("validation_freq", validation_freq, minimum=1)
        if validation_batch_size is not None:
            validation_batch_size = check_batch_size(validation_batch_size,
                                                     "validation_batch_size")
        raise_on_nonfinite = check_choice(
            "on_nonfinite", on_nonfinite, ON_NONFINITE_VALUES) == "raise"
    return FitSettings(batch_size, epochs, initial_epoch, validation_split, verbose, shuffle,
                       callbacks, validation_freq, validation_batch_size or batch_size,
                       raise_on_nonfinite)


def as_numeric_array(value, name):
    """``np.asarray(value)`` for numeric data, or a clear error naming ``name``.

    Refuses ``None``, ragged nested lists, masked arrays with masked entries (``np.asarray``
    would silently use the hidden values), and non-numeric dtypes (object, str, complex,
    datetime).
    """
    if value is None:
        raise ValueError(f"{name} is None; expected an array")
    if isinstance(value, np.ma.MaskedArray) and np.ma.count_masked(value):
        raise TypeError(f"{name} is a masked array with {np.ma.count_masked(value)} masked "
                        f"entries; fill them first (e.g. {name}.filled(0))")
    if isinstance(value, (str, bytes, dict, set)):
        raise TypeError(f"{name} must be an array of numbers, got {type(value).__name__}")
    try:
        array = np.asarray(value)
    except (ValueError, TypeError, OverflowError) as error:
        raise ValueError(f"{name} could not be turned into an array ({error})") from None
    if array.dtype.kind not in "fiub":
        raise TypeError(f"{name} must be numeric, got dtype {array.dtype} (numbers: float, int "
                        f"or bool)")
    return array


def _all_finite(array):
    """No NaN and no infinity, checked with two reductions (``min`` and ``max`` propagate NaN
    and expose ±inf) instead of a boolean copy of the whole array: the training set can be
    most of the memory a run uses."""
    return array.size == 0 or bool(np.isfinite(array.min()) and np.isfinite(array.max()))


def to_float_array(array, dtype, name):
    """``array`` as ``dtype`` (the model's float type), refusing NaN/inf and overflow."""
    if array.dtype.kind == "f" and not _all_finite(array):
        bad = tuple(int(i) for i in np.argwhere(~np.isfinite(array))[0])
        raise ValueError(f"{name} contains NaN or infinity (first at index {bad})")
    if array.dtype == dtype:
        return array
    with np.errstate(over="ignore"):
        converted = array.astype(dtype)
    if converted.dtype.kind == "f" and not _all_finite(converted):
        bad = tuple(int(i) for i in np.argwhere(~np.isfinite(converted))[0])
        raise ValueError(f"{name} has values too large for {np.dtype(dtype).name} (first at "
                         f"index {bad}: {array[bad].item()})")
    return converted


def check_sample_weight(sample_weight, n, name="sample_weight"):
    """One finite, non-negative weight per sample, shape ``(n,)``, in the float type."""
    array = as_numeric_array(sample_weight, name)
    if array.shape != (n,):
        raise ValueError(f"{name} must have shape ({n},), one weight per sample, got "
                         f"{array.shape}")
    array = to_float_array(array, np.dtype(backend.floatx()), name)
    if np.any(array < 0):
        raise ValueError(f"{name} must be >= 0, got {array[array < 0][0].item()}")
    return array


def check_class_weight(class_weight):
    """``{class index: finite weight >= 0}``."""
    if not isinstance(class_weight, dict):
        raise TypeError(f"class_weight must be a dict {{class index: weight}}, got "
                        f"{type(class_weight).__name__}")
    checked = {}
    for key, weight in class_weight.items():
        if not is_int(key) or key < 0:
            raise ValueError(f"class_weight keys must be class indices (ints >= 0), got {key!r}")
        if not _is_number(weight) or not math.isfinite(weight) or weight < 0:
            raise ValueError(f"class_weight[{key}] must be a finite number >= 0, got {weight!r}")
        checked[int(key)] = float(weight)
    return checked


def class_weights_to_sample_weights(class_weight, y, sample_weight):
    """One weight per sample from its class, as Keras 3 does: classes missing from
    ``class_weight`` weigh 1, float labels are rounded (argmax for one-hot targets), and it
    cannot be combined with ``sample_weight``."""
    class_weight = check_class_weight(class_weight)
    if sample_weight is not None:
        raise ValueError("class_weight and sample_weight cannot be used together; multiply "
                         "the class weights into sample_weight instead")
    labels = np.asarray(y)
    if labels.ndim > 1 and labels.shape[-1] > 1:
        labels = labels.argmax(-1)
    labels = np.round(labels.reshape(len(labels))).astype(np.int64)
    return np.array([class_weight.get(int(c), 1.0) for c in labels], dtype=backend.floatx())


# ---------------------------------------------------------------------------- a model's data
def _owner(model):
    return f"Sequential '{model.name}'"


def prepare_inputs(model, x, argument="x"):
    """``x`` as a float array of ``model``'s input shape, or a clear error.

    The checks run in this order: something numeric, a batch (not a scalar, not empty), the
    model's sample shape, finite values that fit the model's float type (integers, pixels
    say, are converted on purpose here). A model whose input shape is still unknown is built
    from the first data that passes every check.
    """
    owner = _owner(model)
    if not model.layers:
        raise ValueError(f"{owner} has no layers")
    try:
        x = as_numeric_array(x, argument)
    except (ValueError, TypeError) as error:
        raise type(error)(f"{owner}: {error}") from None
    if x.ndim == 0:
        raise ValueError(f"{owner}: {argument} must be a batch of samples, got a scalar")
    if x.shape[0] == 0:
        raise ValueError(f"{owner}: {argument} is empty (0 samples)")
    if 0 in x.shape:
        raise ValueError(f"{owner}: {argument} has shape {x.shape}, with an empty axis")
    if model.input_shape is not None and x.shape[1:] != tuple(model.input_shape[1:]):
        raise ValueError(f"{owner}: layer '{model.layers[0].name}' expects inputs of shape "
                         f"{shape_str(model.input_shape)}, got {argument} of shape "
                         f"{shape_str((None,) + x.shape[1:])}")
    try:
        x = to_float_array(x, np.dtype(model.input_dtype), argument)
    except ValueError as error:
        raise ValueError(f"{owner}: {error}") from None
    if model.input_shape is None:       # only data that passed every check builds
        model.build(x.shape[1:])
    return x


def check_targets(model, x, y, argument="y"):
    """``y`` as targets ``model``'s loss accepts for ``len(x)`` samples, or a clear error."""
    owner = _owner(model)
    try:
        y = as_numeric_array(y, argument)
    except (ValueError, TypeError) as error:
        raise type(error)(f"{owner}: {error}") from None
    if y.ndim == 0 or len(y) != len(x):
        raise ValueError(f"{owner}: x has {len(x)} samples but {argument} has "
                         f"{'none (a scalar)' if y.ndim == 0 else len(y)}")
    if y.dtype.kind == "f" and not np.all(np.isfinite(y)):
        raise ValueError(f"{owner}: {argument} contains NaN or infinity")
    output_shape = (len(x),) + tuple(model.output_shape[1:])
    try:
        model.loss.check_targets(y, np.empty(output_shape, np.float32))
    except (ValueError, TypeError) as error:
        # the loss knows what is wrong; say which argument and which layer it is about
        raise type(error)(f"{owner}: {argument} does not fit the output layer "
                          f"'{model.layers[-1].name}': {error}") from None
    return y


def check_validation_data(validation_data):
    """``(x_val, y_val, sample_weight_or_None)`` from fit's ``validation_data`` tuple."""
    if not isinstance(validation_data, (tuple, list)) or len(validation_data) not in (2, 3):
        given = type(validation_data).__name__
        if isinstance(validation_data, (tuple, list)):
            given += f" of length {len(validation_data)}"
        raise ValueError(f"fit: validation_data must be a tuple (x_val, y_val) or "
                         f"(x_val, y_val, sample_weight), got {given}")
    val_x, val_y = validation_data[:2]
    return val_x, val_y, validation_data[2] if len(validation_data) == 3 else None
