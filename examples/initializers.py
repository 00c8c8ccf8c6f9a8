"""Weight initialisation: Glorot, He and LeCun (chapter section "Glorot and He
Initialization").

Lists the available initializers, builds the chapter's two ``Dense`` layers (``he_normal``,
and ``VarianceScaling(scale=2., mode='fan_avg', distribution='uniform')``), checks the
variance each initializer gives against its formula, and plots how the spread of the
activations evolves through 50 layers for each activation/initializer pair
(``activation_std_per_layer.png``): with the matching initialization the signal keeps its
scale; with weights too small or too large it vanishes or saturates.
"""
from __future__ import annotations

import numpy as np

import numpy_nn as keras
from examples.common import parse_args, pyplot, save_fig, section


def activation_stds(activation, initializer, n_layers=50, width=100, n_samples=1000):
    """Standard deviation of each layer's outputs for standardised random inputs."""
    keras.utils.set_random_seed(42)
    model = keras.models.Sequential(
        [keras.layers.Dense(width, activation=activation, kernel_initializer=initializer,
                            input_shape=[width]) if i == 0 else
         keras.layers.Dense(width, activation=activation, kernel_initializer=initializer)
         for i in range(n_layers)])
    Z = np.random.default_rng(0).normal(size=(n_samples, width)).astype(np.float32)
    stds = []
    for layer in model.layers:
        Z = layer.call(Z)
        stds.append(float(Z.std()))
    return stds


def main(argv=None):
    args = parse_args("initializers", __doc__, argv)
    section("Available initializers")
    print([name for name in dir(keras.initializers)
           if name[0].isupper() and not name.isupper()])

    section("The chapter's layers")
    he_layer = keras.layers.Dense(10, activation="relu", kernel_initializer="he_normal")
    init = keras.initializers.VarianceScaling(scale=2., mode='fan_avg',
                                              distribution='uniform')
    avg_layer = keras.layers.Dense(10, activation="relu", kernel_initializer=init)
    for layer in (he_layer, avg_layer):
        layer.build((None, 300))
        print(f"{layer.name}: kernel {layer.kernel.shape}, std {layer.kernel.value.std():.4f}")
    # He normal: Var = 2 / fan_in; VarianceScaling fan_avg: Var = 2 / ((fan_in + fan_out) / 2)
    print(f"expected: he_normal {np.sqrt(2 / 300):.4f}, fan_avg uniform "
          f"{np.sqrt(2 / ((300 + 10) / 2)):.4f}")

    section("Activation spread through 50 layers")
    too_large = keras.initializers.VarianceScaling(scale=25.0)    # std 5/sqrt(fan_in)
    pairs = [("tanh", "glorot_uniform"), ("tanh", too_large), ("relu", "he_normal"),
             ("relu", "glorot_uniform"), ("selu", "lecun_normal")]
    plt = pyplot()
    plt.figure(figsize=(8, 5))
    for activation, initializer in pairs:
        name = initializer if isinstance(initializer, str) else "25/fan_in"
        stds = activation_stds(activation, initializer, n_layers=20 if args.quick else 50)
        print(f"{activation:>5} + {name:<15} layer 1 std {stds[0]:.3f}, last {stds[-1]:.3g}")
        plt.semilogy(np.arange(1, len(stds) + 1), stds, label=f"{activation} + {name}")
    plt.xlabel("Layer")
    plt.ylabel("Std of the layer's outputs")
    plt.grid(True)
    plt.legend()
    plt.title("Initialization and activation scale", fontsize=14)
    save_fig(args, "activation_std_per_layer")


if __name__ == "__main__":
    main()
