"""LayerStatistics: per-layer activation and gradient statistics, their plot, TensorBoard."""
import os
import struct

import numpy as np
import pytest

import numpy_nn as keras
from numpy_nn.callbacks import LayerStatistics
from numpy_nn.callbacks.layer_statistics import QUANTITIES, saturated_fraction


def data(n=64, features=8, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, features)).astype("float32")
    return x, (x[:, 0] + x[:, 1] > 0).astype("int64")


def mlp(activation="relu", initializer="he_normal", depth=3, units=16, batch_norm=False):
    layers = [keras.layers.Input(shape=(8,))]
    for _ in range(depth):
        layers.append(keras.layers.Dense(units, activation=activation,
                                         kernel_initializer=initializer))
        if batch_norm:
            layers.append(keras.layers.BatchNormalization())
    layers.append(keras.layers.Dense(2, activation="softmax"))
    model = keras.models.Sequential(layers)
    model.compile(loss="sparse_categorical_crossentropy",
                  optimizer=keras.optimizers.SGD(learning_rate=0.05))
    return model


def test_records_every_k_batches_with_one_column_per_layer():
    x, y = data()
    model = mlp()
    stats = LayerStatistics(every=3)
    model.fit(x, y, batch_size=16, epochs=2, verbose=0, callbacks=[stats])   # 8 batches
    assert stats.steps == [0, 3, 6] and stats.epochs == [0, 0, 1]
    assert stats.layer_names == [layer.name for layer in model.layers]
    for q in QUANTITIES:
        assert stats.history[q].shape == (3, 4)
    assert np.all(np.isfinite(stats.history["input_grad_norm"]))
    assert np.all(stats.history["weight_grad_norm"] > 0)


def test_every_epoch_records_the_first_batch_of_each_epoch():
    x, y = data()
    stats = LayerStatistics()
    mlp().fit(x, y, batch_size=16, epochs=3, verbose=0, callbacks=[stats])
    assert stats.steps == [0, 4, 8] and stats.epochs == [0, 1, 2]


def test_values_match_a_hand_computed_step():
    """Activation stats, ReLU dead fraction, input/weight gradient norms and the update ratio
    of one SGD step on one batch, recomputed from the layers' own forward/backward."""
    x, y = data(n=32)
    model = mlp(depth=2)
    expected_model = mlp(depth=2)
    expected_model.set_weights(model.get_weights())
    lr = 0.05

    # by hand, on the copy: forward, loss gradient, backward through every layer
    outputs, h = [], x
    for layer in expected_model.layers:
        h = layer.call(h)
        outputs.append(h)
    _, grad, from_logits = expected_model.loss.value_and_grad(
        y, h, expected_model.layers[-1].output_logits, None)
    input_grads = [None] * len(outputs)
    for i in range(len(outputs) - 1, -1, -1):
        layer = expected_model.layers[i]
        grad = (layer.backward_from_logits(grad) if from_logits and i == len(outputs) - 1
                else layer.backward(grad))
        input_grads[i] = grad

    stats = LayerStatistics(every=1)
    model.fit(x, y, batch_size=32, epochs=1, shuffle=False, verbose=0, callbacks=[stats])
    history = {q: v[0] for q, v in stats.history.items()}
    for i, layer in enumerate(expected_model.layers):
        out = outputs[i].astype(np.float64)
        np.testing.assert_allclose(history["activation_mean"][i], out.mean(), rtol=1e-5,
                                   atol=1e-7)
        np.testing.assert_allclose(history["activation_std"][i], out.std(), rtol=1e-5)
        np.testing.assert_allclose(history["input_grad_norm"][i],
                                   np.linalg.norm(input_grads[i]), rtol=1e-5)
        grads = [v.grad for v in layer.trainable_weights]
        grad_norm = np.sqrt(sum(np.sum(g.astype(np.float64) ** 2) for g in grads))
        np.testing.assert_allclose(history["weight_grad_norm"][i], grad_norm, rtol=1e-5)
        weight_norm = np.sqrt(sum(np.sum(v.value.astype(np.float64) ** 2)
                                  for v in layer.trainable_weights))
        # plain SGD: ||ΔW|| = lr ||g||
        np.testing.assert_allclose(history["update_ratio"][i], lr * grad_norm / weight_norm,
                                   rtol=1e-3)
    for i in range(2):      # the ReLU layers: saturated means exactly 0
        assert history["saturated_fraction"][i] == pytest.approx(np.mean(outputs[i] == 0))
        assert 0 < history["saturated_fraction"][i] < 1


def test_callback_does_not_change_training():
    x, y = data()
    keras.utils.set_random_seed(1)
    plain = mlp(batch_norm=True)
    keras.utils.set_random_seed(1)
    watched = mlp(batch_norm=True)
    keras.utils.set_random_seed(2)
    plain.fit(x, y, batch_size=16, epochs=2, verbose=0)
    keras.utils.set_random_seed(2)
    stats = LayerStatistics(every=1)
    watched.fit(x, y, batch_size=16, epochs=2, verbose=0, callbacks=[stats])
    for a, b in zip(plain.get_weights(), watched.get_weights()):
        np.testing.assert_array_equal(a, b)
    # the hooks are gone afterwards: the instances use their class's methods again
    assert all("call" not in vars(layer) and "backward" not in vars(layer)
               for layer in watched.layers)
    batch_norm_rows = [i for i, layer in enumerate(watched.layers)
                       if isinstance(layer, keras.layers.BatchNormalization)]
    assert np.all(np.isnan(stats.history["saturated_fraction"][:, batch_norm_rows]))


def test_saturation_rule_per_activation():
    from numpy_nn import activations
    z = np.array([-10.0, -5.0, -1.0, 0.0, 1.0, 5.0, 10.0])
    # sigmoid: sigma'(z) < 0.01 * 0.25 only beyond |z| ~ 6 (sigma'(5) = 0.0066)
    assert saturated_fraction(activations.sigmoid, z, activations.sigmoid(z)) == \
        pytest.approx(2 / 7)
    # tanh: 1 - tanh(z)^2 < 0.01 beyond |z| ~ 3 (at 5 it is 1.8e-4)
    assert saturated_fraction(activations.tanh, z, activations.tanh(z)) == pytest.approx(4 / 7)
    relu = saturated_fraction(activations.relu, z, activations.relu(z))
    assert relu == pytest.approx(4 / 7)         # z <= 0 (ReLU's derivative at 0 is 0)
    assert saturated_fraction(activations.elu, z, activations.elu(z)) == pytest.approx(2 / 7)
    assert saturated_fraction(activations.linear, z, z) == 0
    assert saturated_fraction(activations.LeakyReLU(0.2), z, activations.LeakyReLU(0.2)(z)) == 0


def test_shows_vanishing_gradients_of_a_deep_sigmoid_net():
    """The chapter's point, as a test: with sigmoid and default init the gradient reaching
    the first layer of a 20-layer net is orders of magnitude smaller than at the top;
    with SELU and LeCun init it is not."""
    x, y = data(n=64)
    ratios = {}
    for activation, init in (("sigmoid", "glorot_uniform"), ("selu", "lecun_normal")):
        keras.utils.set_random_seed(0)
        stats = LayerStatistics()
        mlp(activation, init, depth=20).fit(x, y, batch_size=64, epochs=1, verbose=0,
                                            callbacks=[stats])
        grads = stats.history["weight_grad_norm"][0]
        ratios[activation] = grads[0] / grads[-2]
    assert ratios["sigmoid"] < 1e-4
    assert ratios["selu"] > 1e-2


def test_plot_has_a_panel_per_quantity(tmp_path):
    pytest.importorskip("matplotlib")
    import matplotlib
    matplotlib.use("Agg")
    x, y = data()
    stats = LayerStatistics()
    mlp().fit(x, y, batch_size=16, epochs=2, verbose=0, callbacks=[stats])
    fig = keras.utils.plot_layer_statistics(stats)
    assert len([ax for ax in fig.axes if ax.get_visible()]) == len(QUANTITIES)
    heat = keras.utils.plot_layer_statistics(stats, ["input_grad_norm"], kind="heatmap")
    heat.savefig(tmp_path / "heat.png")
    assert (tmp_path / "heat.png").stat().st_size > 1000
    with pytest.raises(ValueError, match="unknown quantities"):
        keras.utils.plot_layer_statistics(stats, ["nope"])
    with pytest.raises(ValueError, match="nothing recorded"):
        keras.utils.plot_layer_statistics(LayerStatistics())


def test_bad_arguments():
    with pytest.raises(ValueError, match="every"):
        LayerStatistics(every=0)
    with pytest.raises(TypeError, match="tensorboard"):
        LayerStatistics(tensorboard="logs")


def read_events(directory):
    """{tag: [(step, kind)]} for every scalar and histogram in the event files of directory."""
    from tensorboardX.proto.event_pb2 import Event

    found = {}
    for name in sorted(f for f in os.listdir(directory) if "tfevents" in f):
        with open(os.path.join(directory, name), "rb") as handle:
            data_bytes = handle.read()
        offset = 0
        while offset < len(data_bytes):
            (length,) = struct.unpack("<Q", data_bytes[offset:offset + 8])
            event = Event.FromString(data_bytes[offset + 12:offset + 12 + length])
            offset += 16 + length
            for value in event.summary.value:
                kind = "histogram" if value.HasField("histo") else "scalar"
                found.setdefault(value.tag, []).append((event.step, kind,
                                                        value.simple_value))
    return found


def test_statistics_go_to_tensorboard(tmp_path):
    pytest.importorskip("tensorboardX", reason="the TensorBoard callback needs the optional "
                                               "tensorboardX package")
    x, y = data()
    model = mlp(depth=2)
    board = keras.callbacks.TensorBoard(tmp_path)
    stats = LayerStatistics(every=2)            # finds the TensorBoard callback by itself
    model.fit(x, y, batch_size=16, epochs=1, verbose=0, callbacks=[board, stats])
    events = read_events(tmp_path / "train")
    first = model.layers[0].name
    tag = f"layer_statistics/input_grad_norm/{first}"
    assert [(step, kind) for step, kind, _ in events[tag]] == [(0, "scalar"), (2, "scalar")]
    np.testing.assert_allclose([v for _, _, v in events[tag]],
                               stats.history["input_grad_norm"][:, 0], rtol=1e-6)
    assert events[f"activations/{first}"][0][1] == "histogram"
    assert events[f"input_gradients/{first}"][0][1] == "histogram"
    assert "epoch_loss" in events

    # explicitly given, or switched off
    LayerStatistics(every=2, tensorboard=board)
    other = tmp_path / "off"
    quiet = keras.callbacks.TensorBoard(other)
    mlp(depth=2).fit(x, y, batch_size=16, epochs=1, verbose=0,
                     callbacks=[quiet, LayerStatistics(every=2, tensorboard=None)])
    assert not any(tag.startswith("layer_statistics/") for tag in read_events(other / "train"))


def test_gradient_health_example_quick(tmp_path):
    """examples/gradient_health.py --quick writes its three figures, and what they show is
    measured: the gradient reaching the lower layers of a 20-layer sigmoid net vanishes,
    and batch normalization brings it back."""
    pytest.importorskip("matplotlib")
    from threadpoolctl import threadpool_limits

    from examples import gradient_health
    with threadpool_limits(1):
        results = gradient_health.main(["--quick", "--out", str(tmp_path)])
    for figure in ("selu_vs_relu_100_layers", "sigmoid_init", "batch_normalization"):
        assert (tmp_path / f"{figure}.png").stat().st_size > 20000
    runs = results["batch_normalization"]

    def lower_over_upper(stats):
        grads = stats.history["input_grad_norm"][0]
        dense = [i for i, name in enumerate(stats.layer_names) if name.startswith("dense")]
        return grads[dense[1]] / grads[dense[-2]]

    assert lower_over_upper(runs["sigmoid"]) < 1e-6
    assert lower_over_upper(runs["sigmoid + BN"]) > 1e-2
    assert len(results["selu_vs_relu"]["selu + lecun_normal"].layer_names) == 102
