"""Keras 3's optimizer tests (keras/src/optimizers/<name>_test.py) on numpy_nn's optimizers:
one step from Keras's single-step values, the golden five-step trajectories, weight decay with
exclusions, clipping, invalid arguments and config round trips. Tolerances are Keras's
(``assertAllClose(..., rtol=1e-4, atol=1e-4)`` for single steps, 5e-4 for the goldens,
``assertAlmostEqual(decimal=6)`` for weight decay)."""
import numpy as np
import pytest

from numpy_nn import optimizers
from numpy_nn.variables import Variable
from parity_tests.keras_conformance import keras_case

GRADS = np.array([1.0, 6.0, 7.0, 2.0], np.float32)
START = [1.0, 2.0, 3.0, 4.0]


def _step(optimizer, grads=GRADS, start=START):
    variable = Variable(np.array(start, np.float32), name="x")
    optimizer.apply([np.asarray(grads, np.float32)], [variable])
    return variable.numpy()


@keras_case("optimizers/sgd_test.py::SGDTest::test_single_step")
def test_sgd_single_step():
    optimizer = optimizers.SGD(learning_rate=0.5)
    np.testing.assert_allclose(_step(optimizer), [0.5, -1.0, -0.5, 3.0], rtol=1e-4, atol=1e-4)
    assert optimizer.iterations == 1 and float(optimizer.learning_rate.numpy()) == 0.5


@pytest.mark.parametrize("cls, expected", [
    pytest.param(optimizers.Adagrad, [0.5233, 1.5007, 2.5005, 3.5061], marks=keras_case(
        "optimizers/adagrad_test.py::AdagradTest::test_single_step")),
    pytest.param(optimizers.RMSprop, [-0.5811, 0.4189, 1.4189, 2.4189], marks=keras_case(
        "optimizers/rmsprop_test.py::RMSpropTest::test_single_step")),
    pytest.param(optimizers.Adam, [0.5, 1.5, 2.5, 3.5], marks=keras_case(
        "optimizers/adam_test.py::AdamTest::test_single_step")),
    pytest.param(optimizers.AdamW, [0.4980, 1.4960, 2.494, 3.492], marks=keras_case(
        "optimizers/adamw_test.py::AdamWTest::test_single_step")),
    pytest.param(optimizers.Adamax, [0.5, 1.5, 2.5, 3.5], marks=keras_case(
        "optimizers/adamax_test.py::AdamaxTest::test_single_step")),
    pytest.param(optimizers.Nadam, [0.4686, 1.4686, 2.4686, 3.4686], marks=keras_case(
        "optimizers/nadam_test.py::NadamTest::test_single_step")),
])
def test_single_step(cls, expected):
    np.testing.assert_allclose(_step(cls(learning_rate=0.5)), expected, rtol=1e-4, atol=1e-4)


_ALL = [optimizers.SGD, optimizers.Adagrad, optimizers.RMSprop, optimizers.Adam,
        optimizers.AdamW, optimizers.Adamax, optimizers.Nadam]
_FILES = {optimizers.SGD: "sgd_test.py::SGDTest",
          optimizers.Adagrad: "adagrad_test.py::AdagradTest",
          optimizers.RMSprop: "rmsprop_test.py::RMSpropTest",
          optimizers.Adam: "adam_test.py::AdamTest", optimizers.AdamW: "adamw_test.py::AdamWTest",
          optimizers.Adamax: "adamax_test.py::AdamaxTest",
          optimizers.Nadam: "nadam_test.py::NadamTest"}


def _each(method):
    return [pytest.param(cls, marks=keras_case(f"optimizers/{_FILES[cls]}::{method}"),
                         id=cls.__name__) for cls in _ALL]


@pytest.mark.parametrize("cls", _each("test_weight_decay"))
def test_weight_decay_with_exclusions(cls):
    """A zero gradient, lr = 1, decay 0.004: one variable decays (2 → 1.9760959 after the two
    optimizers that decay it), the ones excluded by name or by object stay at 2."""
    var1 = Variable(np.float32(2.0), name="var1")
    var2 = Variable(np.float32(2.0), name="exclude")
    var3 = Variable(np.float32(2.0), name="var3")
    zero = np.zeros((), np.float32)
    first = cls(learning_rate=1.0, weight_decay=0.004)
    first.apply([zero], [var1])
    second = cls(learning_rate=1.0, weight_decay=0.004)
    second.exclude_from_weight_decay(var_names=["exclude"])
    second.apply([zero, zero], [var1, var2])
    third = cls(learning_rate=1.0, weight_decay=0.004)
    third.exclude_from_weight_decay(var_list=[var3])
    third.apply([zero, zero], [var1, var3])
    np.testing.assert_almost_equal(var1.numpy(), 1.9760959, decimal=6)
    np.testing.assert_almost_equal(var2.numpy(), 2.0, decimal=6)
    np.testing.assert_almost_equal(var3.numpy(), 2.0, decimal=6)


@pytest.mark.parametrize("cls", _each("test_clip_norm"))
def test_clip_norm(cls):
    clipped = cls(clipnorm=1).clip_gradients([np.array([100.0, 100.0])])
    np.testing.assert_allclose(clipped[0], [2 ** 0.5 / 2, 2 ** 0.5 / 2], rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("cls", _each("test_clip_value"))
def test_clip_value(cls):
    clipped = cls(clipvalue=1).clip_gradients([np.array([100.0, 100.0])])
    np.testing.assert_allclose(clipped[0], [1.0, 1.0], rtol=1e-6, atol=1e-6)


_CONFIGS = {
    optimizers.SGD: dict(learning_rate=0.5, momentum=0.06, nesterov=True, weight_decay=0.004),
    optimizers.Adagrad: dict(learning_rate=0.5, initial_accumulator_value=0.2, epsilon=1e-5),
    optimizers.RMSprop: dict(learning_rate=0.5, rho=0.8, momentum=0.05, epsilon=1e-6,
                             centered=True),
    optimizers.Adam: dict(learning_rate=0.5, beta_1=0.5, beta_2=0.67, epsilon=1e-5,
                          amsgrad=True),
    optimizers.AdamW: dict(learning_rate=0.5, weight_decay=0.008, beta_1=0.5, beta_2=0.67,
                           epsilon=1e-5, amsgrad=True),
    optimizers.Adamax: dict(learning_rate=0.5, beta_1=0.8, beta_2=0.95, epsilon=1e-5),
    optimizers.Nadam: dict(learning_rate=0.5, beta_1=0.5, beta_2=0.67, epsilon=1e-5),
}


@pytest.mark.parametrize("cls", _each("test_config"))
def test_config_round_trip(cls):
    """keras/src/testing/test_case.py::run_class_serialization_test: the config rebuilds an
    equal object, through the class and through serialize/get."""
    optimizer = cls(**_CONFIGS[cls])
    config = optimizer.get_config()
    for key, value in _CONFIGS[cls].items():
        assert config[key] == pytest.approx(value), key
    again = cls.from_config(config)
    assert again.get_config() == config
    revived = optimizers.get(optimizers.serialize(optimizer))
    assert type(revived) is cls and revived.get_config() == config


def _golden(optimizer, golden):
    """Keras's golden protocol: one step with g = 0.01, then five checks, each followed by a
    step with g = (0.1, 0.2, ..., 1.0); rtol = atol = 5e-4."""
    x = Variable(np.ones(10, np.float32), name="x")
    grads = np.arange(0.1, 1.1, 0.1).astype(np.float32)
    optimizer.apply([np.full(10, 0.01, np.float32)], [x])
    for row in golden:
        np.testing.assert_allclose(x.numpy(), row, rtol=5e-4, atol=5e-4)
        optimizer.apply([grads], [x])


@keras_case("optimizers/sgd_test.py::SGDTest::test_correctness_with_golden")
def test_sgd_golden():
    golden = [[0.9999] * 10,
              [0.9989, 0.9979, 0.9969, 0.9959, 0.9949, 0.9939, 0.9929, 0.9919, 0.9909, 0.9899],
              [0.9979, 0.9959, 0.9939, 0.9919, 0.9899, 0.9879, 0.9859, 0.9839, 0.9819, 0.9799],
              [0.9969, 0.9939, 0.9909, 0.9879, 0.9849, 0.9819, 0.9789, 0.9759, 0.9729, 0.9699],
              [0.9959, 0.9919, 0.9879, 0.9839, 0.9799, 0.9759, 0.9719, 0.9679, 0.9639, 0.9599]]
    _golden(optimizers.SGD(nesterov=True), golden)


@keras_case("optimizers/adagrad_test.py::AdagradTest::test_correctness_with_golden")
def test_adagrad_golden():
    golden = [[0.9963] * 10,
              [0.9604, 0.9278, 0.9003, 0.8784, 0.8615, 0.8487, 0.8388, 0.8313, 0.8255, 0.8209],
              [0.9251, 0.8629, 0.8137, 0.7768, 0.7497, 0.7298, 0.7151, 0.704, 0.6956, 0.6891],
              [0.8903, 0.8012, 0.7342, 0.6862, 0.6521, 0.6277, 0.6099, 0.5967, 0.5867, 0.579],
              [0.856, 0.7422, 0.6604, 0.6037, 0.5644, 0.5367, 0.5168, 0.5021, 0.491, 0.4825]]
    _golden(optimizers.Adagrad(learning_rate=0.2, initial_accumulator_value=0.3, epsilon=1e-6),
            golden)


@keras_case("optimizers/rmsprop_test.py::RMSpropTest::test_correctness_with_golden")
def test_rmsprop_golden():
    golden = [[v] * 10 for v in (0.9967, 0.9933, 0.9908, 0.9885, 0.9864)]
    _golden(optimizers.RMSprop(centered=True), golden)


@keras_case("optimizers/adam_test.py::AdamTest::test_correctness_with_golden")
def test_adam_amsgrad_golden():
    golden = [[v] * 10 for v in (0.999, 0.9982, 0.9974, 0.9965, 0.9955)]
    _golden(optimizers.Adam(amsgrad=True), golden)


@keras_case("optimizers/adamw_test.py::AdamWTest::test_correctness_with_golden")
def test_adamw_golden():
    golden = [[0.4998] * 10,
              [0.2486, 0.2475, 0.2463, 0.2451, 0.244, 0.2428, 0.2417, 0.2405, 0.2394, 0.2382],
              [0.1223, 0.1198, 0.1174, 0.1149, 0.1124, 0.11, 0.1075, 0.1051, 0.1027, 0.1003],
              [0.0586, 0.0549, 0.0512, 0.0475, 0.0439, 0.0402, 0.0366, 0.033, 0.0294, 0.0258],
              [0.0263, 0.0215, 0.0167, 0.012, 0.0073, 0.0026, -0.0021, -0.0067, -0.0113,
               -0.0159]]
    _golden(optimizers.AdamW(learning_rate=1.0, weight_decay=0.5, epsilon=2), golden)


@keras_case("optimizers/adamax_test.py::AdamaxTest::test_correctness_with_golden")
def test_adamax_golden():
    golden = [[0.8] * 10,
              [0.6827, 0.6873, 0.6888, 0.6896, 0.6901, 0.6904, 0.6906, 0.6908, 0.6909, 0.691],
              [0.5333, 0.5407, 0.5431, 0.5444, 0.5451, 0.5456, 0.546, 0.5462, 0.5464, 0.5466],
              [0.368, 0.3773, 0.3804, 0.382, 0.3829, 0.3835, 0.384, 0.3843, 0.3846, 0.3848],
              [0.1933, 0.204, 0.2076, 0.2094, 0.2105, 0.2112, 0.2117, 0.2121, 0.2124, 0.2126]]
    _golden(optimizers.Adamax(learning_rate=0.2, beta_1=0.85, beta_2=0.95, epsilon=1e-6), golden)


@keras_case("optimizers/nadam_test.py::NadamTest::test_correctness_with_golden")
def test_nadam_golden():
    golden = [[0.4281] * 10,
              [-0.1738, -0.1731, -0.1726, -0.1723, -0.1721, -0.172, -0.1719, -0.1718, -0.1718,
               -0.1717],
              [-0.7115, -0.7103, -0.7096, -0.7092, -0.709, -0.7088, -0.7086, -0.7085, -0.7085,
               -0.7084],
              [-1.2335, -1.2322, -1.2313, -1.2309, -1.2306, -1.2304, -1.2302, -1.2301, -1.23,
               -1.2299],
              [-1.7492, -1.7478, -1.7469, -1.7464, -1.7461, -1.7459, -1.7457, -1.7456, -1.7455,
               -1.7454]]
    _golden(optimizers.Nadam(learning_rate=0.5, beta_1=0.5, beta_2=0.67, epsilon=1e-5), golden)


@keras_case("optimizers/sgd_test.py::SGDTest::test_invalid_momentum")
@pytest.mark.parametrize("momentum", [-1.0, 2.0])
def test_sgd_refuses_momentum_outside_the_unit_interval(momentum):
    with pytest.raises(ValueError, match="momentum"):
        optimizers.SGD(momentum=momentum)


@keras_case("optimizers/adamw_test.py::AdamWTest::test_weight_decay_is_none")
def test_adamw_refuses_weight_decay_none():
    with pytest.raises(ValueError, match="weight_decay"):
        optimizers.AdamW(learning_rate=1.0, weight_decay=None)
