"""Bad input at the model boundary gets a clear ValueError/TypeError, never a NumPy error from
deep inside (or a silent wrong answer).

Two kinds of tests:

* a table of specific bad inputs, each with the words its message must contain (the argument
  or layer it names, and expected versus actual);
* property-based tests (hypothesis) that throw arbitrary shapes, dtypes and values at every
  entry point (``fit``, ``evaluate``, ``predict``, ``__call__``, ``train_on_batch``,
  ``test_on_batch``, ``predict_on_batch``) and at every ``fit`` argument, and check that each
  call either works or raises a ValueError/TypeError from a ``raise`` statement in numpy_nn's
  own code. That last condition is what tells "a clear error we wrote" from a NumPy
  broadcasting ``ValueError`` or an ``IndexError`` surfacing from a layer.
"""
import linecache
import os
import warnings

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import numpy_nn as keras
from numpy_nn.errors import NonFiniteLossError

PACKAGE_DIR = os.path.dirname(os.path.abspath(keras.__file__))
N_FEATURES = 4

#: loss kind -> (output layer arguments, loss name, a function making valid targets)
LOSSES = {
    "sparse": ((3, "softmax"), "sparse_categorical_crossentropy",
               lambda n: np.arange(n) % 3),
    "categorical": ((3, "softmax"), "categorical_crossentropy",
                    lambda n: np.eye(3, dtype=np.float32)[np.arange(n) % 3]),
    "binary": ((1, "sigmoid"), "binary_crossentropy",
               lambda n: (np.arange(n) % 2).astype(np.float32)),
    "mse": ((2, None), "mse", lambda n: np.zeros((n, 2), np.float32)),
}


def make_model(kind="sparse", built=True):
    (units, activation), loss, _ = LOSSES[kind]
    first = dict(input_shape=(N_FEATURES,)) if built else {}
    model = keras.models.Sequential([
        keras.layers.Dense(5, activation="relu", **first),
        keras.layers.BatchNormalization(),
        keras.layers.Dropout(0.2),
        keras.layers.Dense(units, activation=activation)])
    model.compile(loss=loss, optimizer="adam", metrics=["accuracy"])
    return model


X = np.linspace(0, 1, 10 * N_FEATURES, dtype=np.float32).reshape(10, N_FEATURES)
Y = np.arange(10) % 3


def assert_deliberate(error):
    """The exception was raised by a ``raise`` statement inside numpy_nn, not by NumPy.

    Errors that numpy_nn only re-raises with a prefix (``fit: ...``) are traced back to the
    original one, so the prefixing cannot hide an error that came from NumPy.
    """
    while isinstance(error.__context__, (ValueError, TypeError)) \
            and str(error).endswith(str(error.__context__)):
        error = error.__context__
    tb = error.__traceback__
    while tb.tb_next is not None:
        tb = tb.tb_next
    filename = tb.tb_frame.f_code.co_filename
    line = linecache.getline(filename, tb.tb_lineno).strip()
    assert os.path.abspath(filename).startswith(PACKAGE_DIR) and line.startswith("raise"), (
        f"{type(error).__name__} not raised deliberately by numpy_nn: {error}\n"
        f"  at {filename}:{tb.tb_lineno}: {line}")
    assert len(str(error)) > 20, f"message too short to be clear: {error!r}"


def call_is_clean(function):
    """Run ``function``; it must work or raise a deliberate ValueError/TypeError."""
    with warnings.catch_warnings():
        # absurd-but-valid values (1e38) may overflow inside a layer: that is the data's
        # business, not an error of the boundary checks
        warnings.simplefilter("ignore", RuntimeWarning)
        try:
            return function()
        except (ValueError, TypeError) as error:
            assert_deliberate(error)
            return error


# --------------------------------------------------------------------------- the table
def fit(model=None, x=X, y=Y, **kwargs):
    model = model or make_model()
    return model.fit(x, y, verbose=0, **kwargs)


BAD_INPUTS = [
    # inputs x: shape, rank, dtype, values
    ("x of wrong width", lambda: fit(x=np.zeros((10, 5))), ValueError,
     ["layer 'dense", "expects inputs of shape (None, 4)", "got x of shape (None, 5)"]),
    ("x of rank 1", lambda: fit(x=np.zeros(10)), ValueError, ["(None, 4)", "(None,)"]),
    ("x of rank 3", lambda: fit(x=np.zeros((10, 4, 1))), ValueError, ["(None, 4, 1)"]),
    ("x scalar", lambda: fit(x=3.0, y=1), ValueError, ["x", "scalar"]),
    ("x None", lambda: fit(x=None), ValueError, ["x is None"]),
    ("x object dtype", lambda: fit(x=np.array([[object()] * 4] * 10)), TypeError,
     ["x", "dtype object"]),
    ("x strings", lambda: fit(x=np.full((10, 4), "a")), TypeError, ["x", "<U1"]),
    ("x complex", lambda: fit(x=X.astype(complex)), TypeError, ["x", "complex128"]),
    ("x datetime", lambda: fit(x=np.zeros((10, 4), "datetime64[s]")), TypeError, ["datetime64"]),
    ("x dict", lambda: fit(x={"a": X}), TypeError, ["x", "dict"]),
    ("x ragged list", lambda: fit(x=[[1, 2, 3, 4], [1, 2]], y=[0, 1]), ValueError,
     ["x could not be turned into an array"]),
    ("x with NaN", lambda: fit(x=np.where(X > 0.5, np.nan, X)), ValueError,
     ["x contains NaN or infinity", "first at index"]),
    ("x with inf", lambda: fit(x=np.full((10, 4), -np.inf)), ValueError, ["NaN or infinity"]),
    ("x float64 too large for float32", lambda: fit(x=np.full((10, 4), 1e300)), ValueError,
     ["too large for float32"]),
    ("x masked array with masked entries",
     lambda: fit(x=np.ma.masked_greater(X, 0.5)), TypeError, ["masked", "filled"]),
    ("x empty (0 samples)", lambda: fit(x=np.zeros((0, 4)), y=np.zeros(0)), ValueError,
     ["x is empty (0 samples)"]),
    ("x with an empty feature axis", lambda: fit(make_model(built=False), x=np.zeros((10, 0))),
     ValueError, ["empty axis"]),
    ("x for a model without layers",
     lambda: keras.models.Sequential().predict(X), ValueError, ["has no layers"]),
    # targets y: range, shape for the loss, dtype, values, length
    ("label = n_classes", lambda: fit(y=np.full(10, 3)), ValueError,
     ["sparse_categorical_crossentropy", "label 3 is outside [0, 3)", "3 units"]),
    ("negative label", lambda: fit(y=np.full(10, -1)), ValueError, ["label -1 is outside"]),
    ("label 1e30 (float)", lambda: fit(y=np.full(10, 1e30)), ValueError, ["1e+30 is outside"]),
    ("fractional label", lambda: fit(y=np.full(10, 0.5)), ValueError, ["whole numbers", "0.5"]),
    ("one-hot targets with the sparse loss", lambda: fit(y=np.eye(3)[Y]), ValueError,
     ["shape (10, 3)", "look one-hot", "categorical_crossentropy"]),
    ("class indices with the categorical loss",
     lambda: fit(make_model("categorical"), y=Y), ValueError,
     ["targets of shape (10,)", "sparse_categorical_crossentropy"]),
    ("one-hot of the wrong width", lambda: fit(make_model("categorical"), y=np.eye(4)[Y]),
     ValueError, ["(10, 4)", "(10, 3)"]),
    ("negative categorical targets",
     lambda: fit(make_model("categorical"), y=-np.eye(3)[Y]), ValueError, ["[0, 1]"]),
    ("binary label 2", lambda: fit(make_model("binary"), y=np.full(10, 2.0)), ValueError,
     ["binary_crossentropy", "[0, 1]", "2.0"]),
    ("binary targets of width 2", lambda: fit(make_model("binary"), y=np.zeros((10, 2))),
     ValueError, ["(10, 2)", "(10, 1)"]),
    ("one-hot targets with an extra trailing axis",
     lambda: fit(make_model("categorical"), y=np.eye(3)[Y][..., None]), ValueError,
     ["(10, 3, 1)", "extra trailing axis", "y[..., 0]"]),
    ("mse targets of the wrong width", lambda: fit(make_model("mse"), y=np.zeros((10, 3))),
     ValueError, ["mean_squared_error", "(10, 3)", "(10, 2)"]),
    ("y None", lambda: fit(y=None), ValueError, ["y is None"]),
    ("y strings", lambda: fit(y=np.array(["cat"] * 10)), TypeError, ["y", "<U3"]),
    ("y with NaN", lambda: fit(make_model("mse"), y=np.full((10, 2), np.nan)), ValueError,
     ["y contains NaN"]),
    ("x/y length mismatch", lambda: fit(y=Y[:7]), ValueError,
     ["x has 10 samples but y has 7"]),
    ("y scalar", lambda: fit(y=1), ValueError, ["a scalar"]),
    # fit's other arguments
    ("batch_size 0", lambda: fit(batch_size=0), ValueError,
     ["fit: batch_size must be a positive int, got 0"]),
    ("batch_size -3", lambda: fit(batch_size=-3), ValueError, ["batch_size", "-3"]),
    ("batch_size 2.0", lambda: fit(batch_size=2.0), ValueError, ["batch_size", "2.0"]),
    ("batch_size True", lambda: fit(batch_size=True), ValueError, ["batch_size", "True"]),
    ("epochs < initial_epoch", lambda: fit(epochs=2, initial_epoch=3), ValueError,
     ["epochs (2) must be >= initial_epoch (3)"]),
    ("epochs negative", lambda: fit(epochs=-1), ValueError, ["epochs must be an int >= 0"]),
    ("epochs 1.5", lambda: fit(epochs=1.5), ValueError, ["epochs", "1.5"]),
    ("validation_split 1.0", lambda: fit(validation_split=1.0), ValueError,
     ["validation_split must be in [0, 1)"]),
    ("validation_split 'a'", lambda: fit(validation_split="a"), ValueError, ["validation_split"]),
    ("validation_split leaving no sample", lambda: fit(validation_split=0.95), ValueError,
     ["leaves no training or no validation samples"]),
    ("validation_data of length 1", lambda: fit(validation_data=(X,)), ValueError,
     ["validation_data must be a tuple", "length 1"]),
    ("validation_data an array", lambda: fit(validation_data=X), ValueError,
     ["validation_data", "ndarray"]),
    ("validation_data with bad x", lambda: fit(validation_data=(X[:, :3], Y)), ValueError,
     ["validation_data[0] of shape (None, 3)"]),
    ("validation_data with bad labels", lambda: fit(validation_data=(X, Y + 5)), ValueError,
     ["validation_data[1]", "outside [0, 3)"]),
    ("validation_data with bad weights", lambda: fit(validation_data=(X, Y, np.ones(3))),
     ValueError, ["validation_data[2] must have shape (10,)"]),
    ("validation_freq 0", lambda: fit(validation_data=(X, Y), validation_freq=0), ValueError,
     ["validation_freq must be an int >= 1"]),
    ("validation_batch_size 0", lambda: fit(validation_data=(X, Y), validation_batch_size=0),
     ValueError, ["validation_batch_size must be a positive int"]),
    ("sample_weight of wrong length", lambda: fit(sample_weight=np.ones(3)), ValueError,
     ["sample_weight must have shape (10,)", "(3,)"]),
    ("sample_weight 2-D", lambda: fit(sample_weight=np.ones((10, 2))), ValueError,
     ["sample_weight", "(10, 2)"]),
    ("sample_weight negative", lambda: fit(sample_weight=-np.ones(10)), ValueError,
     ["sample_weight must be >= 0"]),
    ("sample_weight NaN", lambda: fit(sample_weight=np.full(10, np.nan)), ValueError,
     ["sample_weight contains NaN"]),
    ("sample_weight strings", lambda: fit(sample_weight=["a"] * 10), TypeError,
     ["sample_weight must be numeric"]),
    ("class_weight a list", lambda: fit(class_weight=[1, 2, 3]), TypeError,
     ["class_weight must be a dict"]),
    ("class_weight with sample_weight",
     lambda: fit(class_weight={0: 1.0}, sample_weight=np.ones(10)), ValueError,
     ["class_weight and sample_weight cannot be used together"]),
    ("class_weight negative", lambda: fit(class_weight={0: -1, 1: 1, 2: 1}), ValueError,
     ["class_weight[0] must be a finite number >= 0"]),
    ("class_weight string key", lambda: fit(class_weight={"a": 1}), ValueError,
     ["class_weight keys must be class indices"]),
    ("verbose 'loud'", lambda: make_model().fit(X, Y, verbose="loud"), ValueError,
     ["fit: verbose must be one of"]),
    ("shuffle 'batch'", lambda: fit(shuffle="batch"), TypeError, ["shuffle must be True or False"]),
    ("callbacks a single callback", lambda: fit(callbacks=keras.callbacks.History()), TypeError,
     ["callbacks must be a list", "callbacks=[...]"]),
    ("callbacks holding a non-callback", lambda: fit(callbacks=[print]), TypeError,
     ["Callback instances"]),
    ("on_nonfinite unknown", lambda: fit(on_nonfinite="ignore"), ValueError,
     ["on_nonfinite must be one of 'continue', 'raise'"]),
    # the other entry points
    ("evaluate with labels out of range", lambda: make_model().evaluate(X, Y + 3, verbose=0),
     ValueError, ["outside [0, 3)"]),
    ("evaluate batch_size 0", lambda: make_model().evaluate(X, Y, batch_size=0), ValueError,
     ["evaluate: batch_size"]),
    ("evaluate sample_weight wrong", lambda: make_model().evaluate(X, Y, sample_weight=[1]),
     ValueError, ["evaluate: sample_weight must have shape (10,)"]),
    ("predict with wrong width", lambda: make_model().predict(np.zeros((3, 2))), ValueError,
     ["expects inputs of shape (None, 4)", "(None, 2)"]),
    ("predict batch_size -1", lambda: make_model().predict(X, batch_size=-1), ValueError,
     ["predict: batch_size"]),
    ("predict verbose 3", lambda: make_model().predict(X, verbose=3), ValueError,
     ["predict: verbose"]),
    ("__call__ with wrong width", lambda: make_model()(np.zeros((3, 5))), ValueError,
     ["(None, 5)"]),
    ("__call__ with training='no'", lambda: make_model()(X, training="no"), TypeError,
     ["training must be True or False"]),
    ("train_on_batch bad labels", lambda: make_model().train_on_batch(X, Y * 10), ValueError,
     ["outside [0, 3)"]),
    ("train_on_batch bad sample_weight",
     lambda: make_model().train_on_batch(X, Y, sample_weight=np.ones(2)), ValueError,
     ["train_on_batch: sample_weight"]),
    ("test_on_batch negative sample_weight",
     lambda: make_model().test_on_batch(X, Y, sample_weight=-np.ones(10)), ValueError,
     ["test_on_batch: sample_weight must be >= 0"]),
    ("predict_on_batch with NaN", lambda: make_model().predict_on_batch(X * np.nan), ValueError,
     ["NaN"]),
    ("fit before compile", lambda: keras.models.Sequential([keras.layers.Dense(1)]).fit(X, Y),
     RuntimeError, ["call compile() before fit()"]),
    # unknown names list the valid ones
    ("unknown loss", lambda: make_model().compile(loss="cross_entropy"), ValueError,
     ["Unknown loss 'cross_entropy'", "sparse_categorical_crossentropy"]),
    ("unknown optimizer", lambda: make_model().compile(loss="mse", optimizer="adamm"), ValueError,
     ["Unknown optimizer 'adamm'", "Nadam"]),
    ("unknown metric", lambda: make_model().compile(loss="mse", metrics=["acuracy"]), ValueError,
     ["Unknown metric 'acuracy'", "accuracy"]),
    ("metric of the wrong type", lambda: make_model().compile(loss="mse", metrics=[3]), TypeError,
     ["Could not interpret metric 3"]),
    ("metrics a string", lambda: make_model().compile(loss="mse", metrics={"a": 1}), TypeError,
     ["metrics must be a list"]),
    ("unknown activation", lambda: keras.layers.Dense(3, activation="relu6"), ValueError,
     ["relu6", "relu"]),
    ("unknown initializer", lambda: keras.layers.Dense(3, kernel_initializer="he"), ValueError,
     ["'he'", "he_normal"]),
    ("unknown regularizer", lambda: keras.layers.Dense(3, kernel_regularizer="l3"), ValueError,
     ["Unknown regularizer 'l3'", "l1_l2"]),
    ("unknown constraint", lambda: keras.layers.Dense(3, kernel_constraint="unit_nrm"),
     ValueError, ["Unknown constraint 'unit_nrm'", "max_norm"]),
    ("initializer of the wrong type", lambda: keras.layers.Dense(3, bias_initializer=5),
     TypeError, ["Could not interpret initializer 5", "he_normal"]),
]


@pytest.mark.parametrize("case", BAD_INPUTS, ids=[c[0] for c in BAD_INPUTS])
def test_bad_input_gets_a_clear_error(case):
    _, call, error_type, fragments = case
    with pytest.raises(error_type) as info:
        call()
    if error_type in (ValueError, TypeError):
        assert_deliberate(info.value)
    for fragment in fragments:
        assert fragment in str(info.value), f"{fragment!r} not in: {info.value}"


def test_integer_and_bool_inputs_are_converted_on_purpose():
    """Pixels as uint8 and 0/1 features as bool train like their float32 values, exactly."""
    pixels = (np.arange(40).reshape(10, 4) * 6).astype(np.uint8)
    results = []
    for x in (pixels, pixels.astype(np.float32)):
        keras.backend.set_random_seed(3)
        model = make_model()
        model.fit(x, Y, epochs=2, verbose=0)
        results.append(model.get_weights())
    for a, b in zip(*results):
        np.testing.assert_array_equal(a, b)
    assert make_model().predict(X > 0.5, verbose=0).dtype == np.float32


def test_a_failed_first_build_leaves_the_model_usable():
    """Data a layer refuses on the first call must not lock the model to that shape."""
    model = make_model(built=False)
    with pytest.raises(ValueError, match="Dense 'dense.*expects inputs of shape"):
        model.predict(np.zeros((3, 2, 2)), verbose=0)
    assert not model.built
    assert model.predict(X, verbose=0).shape == (10, 3)


def test_a_layer_that_cannot_be_built_is_not_added():
    model = keras.models.Sequential([keras.layers.Dense(3, input_shape=(4,))])
    with pytest.raises(ValueError, match="axis cannot be the batch axis"):
        model.add(keras.layers.BatchNormalization(axis=0))
    assert len(model.layers) == 1
    model.add(keras.layers.Dense(2))
    assert model.predict(X, verbose=0).shape == (10, 2)


def test_nonfinite_loss_raises_naming_epoch_and_batch():
    """``on_nonfinite="raise"`` stops *before* the bad step: the weights stay finite, and
    ``on_epoch_end`` is not called for the broken epoch."""
    model = make_model()
    seen_epoch_ends = []

    class Poison(keras.callbacks.Callback):
        def on_train_batch_begin(self, batch, logs=None):
            if self.params and len(seen_epoch_ends) == 1 and batch == 2:
                self.before = [w.copy() for w in self.model.get_weights()]
                self.model.layers[-1].kernel.value[0, 0] = np.inf

        def on_epoch_end(self, epoch, logs=None):
            seen_epoch_ends.append(epoch)

    poison = Poison()
    with pytest.raises(NonFiniteLossError) as info, np.errstate(invalid="ignore"):
        model.fit(X, Y, epochs=3, batch_size=3, verbose=0, callbacks=[poison],
                  on_nonfinite="raise")
    error = info.value
    assert (error.epoch, error.batch) == (1, 2)
    assert "epoch 2/3, batch 3/4 (0-based: epoch 1, batch 2)" in str(error)
    assert seen_epoch_ends == [0]
    after = model.get_weights()
    after[-2][0, 0] = poison.before[-2][0, 0]   # only the poisoned entry differs
    for a, b in zip(after, poison.before):
        np.testing.assert_array_equal(a, b)


def test_nonfinite_loss_continues_by_default_like_keras():
    model = make_model()
    model.layers[-1].kernel.value[0, 0] = np.nan
    history = model.fit(X, Y, epochs=1, verbose=0)
    assert np.isnan(history.history["loss"][0])


# --------------------------------------------------------------------------- properties
ODD_DTYPES = ["complex64", "object", "str", "datetime64[s]"]
NUMERIC_DTYPES = ["float16", "float32", "float64", "int8", "int32", "int64", "uint8", "uint64",
                  "bool"]
#: Values that exercise every check: labels in and out of range, fractions, NaN, inf, and
#: numbers too large for float32.
TRICKY_VALUES = [0, 1, 2, 3, -1, 0.5, 1e30, -1e300, np.nan, np.inf, -np.inf]


@st.composite
def arrays_of_anything(draw, likely_shapes=(), max_dims=4):
    """Arrays of random shape, dtype and values (NaN, inf, extremes included), often of one of
    ``likely_shapes`` (nearly right shapes find more than random ones)."""
    if likely_shapes and draw(st.integers(0, 3)):
        shape = draw(st.sampled_from(likely_shapes))
    else:
        shape = draw(hnp.array_shapes(min_dims=0, max_dims=max_dims, min_side=0, max_side=5))
    dtype = draw(st.sampled_from(NUMERIC_DTYPES + ODD_DTYPES))
    if dtype in ODD_DTYPES:
        base = draw(hnp.arrays(np.float64, shape, elements=st.floats(-5, 5)))
        return base.astype(dtype) if dtype != "str" else base.astype(str)
    dtype = np.dtype(dtype)
    if dtype.kind == "f":
        largest = float(np.finfo(dtype).max)
        tricky = [v for v in TRICKY_VALUES if not np.isfinite(v) or abs(v) <= largest]
    elif dtype.kind == "b":
        tricky = [False, True]
    else:
        tricky = [v for v in (0, 1, 2, 3, -1) if np.iinfo(dtype).min <= v]
    elements = st.one_of(st.sampled_from(tricky), hnp.from_dtype(dtype))
    return draw(hnp.arrays(dtype, shape, elements=elements))


ENTRY_POINTS = ["fit", "evaluate", "predict", "call", "call_training", "train_on_batch",
                "test_on_batch", "predict_on_batch"]


def run_entry_point(model, name, x, y, **kwargs):
    if name == "fit":
        return model.fit(x, y, epochs=1, verbose=0, **kwargs)
    if name == "evaluate":
        return model.evaluate(x, y, verbose=0, **kwargs)
    if name == "predict":
        return model.predict(x, verbose=0, **kwargs)
    if name == "call":
        return model(x)
    if name == "call_training":
        return model(x, training=True)
    if name == "train_on_batch":
        return model.train_on_batch(x, y)
    if name == "test_on_batch":
        return model.test_on_batch(x, y)
    return model.predict_on_batch(x)


#: 150 examples per property in ``make test`` (seconds); set NUMPY_NN_PROPERTY_EXAMPLES=5000
#: for a deep, randomised search.
_EXAMPLES = int(os.environ.get("NUMPY_NN_PROPERTY_EXAMPLES", "150"))
PROPERTY_SETTINGS = settings(max_examples=_EXAMPLES, deadline=None,
                             derandomize="NUMPY_NN_PROPERTY_EXAMPLES" not in os.environ,
                             suppress_health_check=[HealthCheck.too_slow])


def x_is_valid(x, built):
    """The specification of acceptable inputs, written independently of the code."""
    if x.dtype.kind not in "fiub" or x.ndim == 0 or 0 in x.shape:
        return False
    if (built and x.shape[1:] != (N_FEATURES,)) or (not built and x.ndim != 2):
        return False            # the first layer is a Dense: it needs (batch, features)
    if x.dtype.kind == "f":
        values = x.astype(np.float64)
        return bool(np.all(np.isfinite(values))
                    and np.all(np.abs(values) <= np.finfo(np.float32).max))
    return True


#: The target shapes each loss accepts for n samples. Keras also squeezes (10, 3, 1) for the
#: categorical loss, but then its "accuracy" resolves to the sparse variant and reports
#: nonsense, so numpy_nn refuses a trailing axis of 1 when the predictions' last axis is wider.
TARGET_SHAPES = {"sparse": [(10,), (10, 1)], "categorical": [(10, 3)],
                 "binary": [(10,), (10, 1), (10, 1, 1)], "mse": [(10, 2)]}


def y_is_valid(y, kind):
    if y.dtype.kind not in "fiub" or y.shape not in TARGET_SHAPES[kind]:
        return False
    values = y.astype(np.float64)
    if not np.all(np.isfinite(values)):
        return False
    if kind == "sparse":
        return bool(np.all((values >= 0) & (values < 3) & (values == np.round(values))))
    if kind in ("categorical", "binary"):
        return bool(np.all((values >= 0) & (values <= 1)))
    return True


@PROPERTY_SETTINGS
@given(x=arrays_of_anything(likely_shapes=[(6, N_FEATURES), (6,), (6, N_FEATURES, 1),
                                          (6, 2, 2), (1, N_FEATURES), (0, N_FEATURES), (6, 0),
                                          (6, 7)]),
       kind=st.sampled_from(sorted(LOSSES)),
       entry=st.sampled_from(ENTRY_POINTS), built=st.booleans())
def test_any_inputs_work_or_fail_clearly(x, kind, entry, built):
    """Valid inputs work, invalid ones raise a deliberate error; nothing else happens."""
    model = make_model(kind, built=built)
    y = LOSSES[kind][2](len(x) if x.ndim else 1)
    result = call_is_clean(lambda: run_entry_point(model, entry, x, y))
    failed = isinstance(result, Exception)
    assert failed != x_is_valid(x, built), f"valid={x_is_valid(x, built)}, got {result!r}"
    if entry in ("predict", "call", "predict_on_batch") and not failed:
        assert result.shape == (len(x), model.output_shape[-1])
        assert result.dtype == np.float32
    if failed and not built:
        # whatever went wrong, the model still accepts good data afterwards
        assert model.predict(X, verbose=0).shape == (10, model.output_shape[-1])


@PROPERTY_SETTINGS
@given(y=arrays_of_anything(likely_shapes=[(10,), (10, 1), (10, 2), (10, 3), (10, 4), (9,),
                                          (10, 3, 1), (10, 1, 1), (10, 2, 1)], max_dims=3),
       kind=st.sampled_from(sorted(LOSSES)),
       entry=st.sampled_from(["fit", "evaluate", "train_on_batch", "test_on_batch"]))
def test_any_targets_work_or_fail_clearly(y, kind, entry):
    """Valid targets work, invalid ones raise a deliberate error; nothing else happens."""
    model = make_model(kind)
    result = call_is_clean(lambda: run_entry_point(model, entry, X, y))
    assert isinstance(result, Exception) != y_is_valid(y, kind), (
        f"valid={y_is_valid(y, kind)}, got {result!r}")


anything = st.one_of(st.none(), st.booleans(), st.integers(-3, 40), st.floats(allow_nan=True),
                     st.text(max_size=3), st.lists(st.integers(-1, 3), max_size=12),
                     arrays_of_anything(likely_shapes=[(10,), (10, 1), (3,)], max_dims=2),
                     st.dictionaries(st.one_of(st.integers(-1, 4), st.text(max_size=1)),
                                     st.one_of(st.floats(allow_nan=True), st.text(max_size=1)),
                                     max_size=4))
FIT_ARGUMENTS = ["batch_size", "epochs", "initial_epoch", "validation_split", "verbose",
                 "shuffle", "sample_weight", "class_weight", "validation_freq",
                 "validation_batch_size", "callbacks", "on_nonfinite"]


@PROPERTY_SETTINGS
@given(arguments=st.dictionaries(st.sampled_from(FIT_ARGUMENTS), anything, max_size=3),
       validation=st.one_of(st.none(), st.tuples(
           arrays_of_anything(likely_shapes=[(4, N_FEATURES), (4, 3)], max_dims=3),
           arrays_of_anything(likely_shapes=[(4,), (4, 1), (4, 2), (4, 3)], max_dims=2))),
       kind=st.sampled_from(sorted(LOSSES)))
def test_any_fit_arguments_work_or_fail_clearly(arguments, validation, kind):
    model = make_model(kind)
    arguments.setdefault("verbose", 0)
    if isinstance(arguments.get("epochs"), int) and not isinstance(arguments["epochs"], bool):
        arguments["epochs"] = min(arguments["epochs"], 2)    # keep the test fast
    if validation is not None:
        arguments["validation_data"] = validation
    call_is_clean(lambda: model.fit(X, LOSSES[kind][2](10), **arguments))


@PROPERTY_SETTINGS
@given(arguments=st.dictionaries(st.sampled_from(["batch_size", "verbose", "sample_weight"]),
                                 anything, max_size=3),
       entry=st.sampled_from(["evaluate", "predict"]))
def test_any_evaluate_predict_arguments_work_or_fail_clearly(arguments, entry):
    model = make_model()
    arguments.setdefault("verbose", 0)
    if entry == "predict":
        arguments.pop("sample_weight", None)
        call_is_clean(lambda: model.predict(X, **arguments))
    else:
        call_is_clean(lambda: model.evaluate(X, Y, **arguments))
