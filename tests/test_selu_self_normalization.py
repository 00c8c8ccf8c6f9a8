"""The chapter's 1,000-layer experiment: SELU with LeCun-initialised weights keeps the
activations at mean ~0 and standard deviation ~1 all the way down.

The loop is the notebook's, with its own ``selu`` replaced by ``numpy_nn.activations.selu``.
The chapter prints (and this reproduces to two decimals) means within ±0.05 and standard
deviations between 0.83 and 1.00 at every 100th layer.
"""
import numpy as np

from numpy_nn import activations


def layer_statistics(activation, n_layers=1000):
    """The chapter's loop; returns ``{layer: (mean, std)}`` for every 100th layer."""
    np.random.seed(42)
    Z = np.random.normal(size=(500, 100))  # standardised inputs
    printed = {}
    for layer in range(n_layers):
        W = np.random.normal(size=(100, 100), scale=np.sqrt(1 / 100))  # LeCun initialization
        Z = activation(np.dot(Z, W))
        means = np.mean(Z, axis=0).mean()
        stds = np.std(Z, axis=0).mean()
        if layer % 100 == 0:
            print(f"Layer {layer}: mean {means:.2f}, std deviation {stds:.2f}")
            printed[layer] = (means, stds)
    return printed


def test_selu_keeps_mean_near_0_and_std_near_1_for_1000_layers(capsys):
    printed = layer_statistics(activations.selu)
    assert sorted(printed) == list(range(0, 1000, 100))
    for layer, (mean, std) in printed.items():
        assert abs(mean) < 0.1, f"layer {layer}: mean {mean:.3f}"
        assert abs(std - 1) < 0.2, f"layer {layer}: std {std:.3f}"
    out = capsys.readouterr().out
    assert out.splitlines()[0] == "Layer 0: mean -0.00, std deviation 1.00"


def test_the_same_bounds_fail_without_selus_scale_and_alpha():
    """Plain ELU (alpha=1, no scale) in the same loop lets the signal die out, so the bounds
    above really test self-normalisation."""
    printed = layer_statistics(activations.elu, n_layers=101)
    assert printed[100][1] < 0.1
