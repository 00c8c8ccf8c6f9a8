"""Activation functions: sigmoid saturation, leaky ReLU, ELU and SELU, and SELU's
self-normalisation through 1,000 layers (chapter sections "The vanishing/exploding gradients
problems" and "Nonsaturating activation functions").

Writes sigmoid_saturation_plot.png, leaky_relu_plot.png, elu_plot.png, selu_plot.png and
prints the mean and standard deviation of every 100th layer's outputs. The curves use the
library's activations (numpy_nn.activations), which compute SELU's alpha and scale from
equation 14 of Klambauer et al. (2017), as the chapter does.
"""
from __future__ import annotations

import numpy as np

from examples.common import parse_args, pyplot, save_fig, section
from numpy_nn import activations


def plot_sigmoid(args, z):
    plt = pyplot()
    plt.plot([-5, 5], [0, 0], 'k-')
    plt.plot([-5, 5], [1, 1], 'k--')
    plt.plot([0, 0], [-0.2, 1.2], 'k-')
    plt.plot([-5, 5], [-3/4, 7/4], 'g--')
    plt.plot(z, activations.sigmoid(z), "b-", linewidth=2)
    props = dict(facecolor='black', shrink=0.1)
    plt.annotate('Saturating', xytext=(3.5, 0.7), xy=(5, 1), arrowprops=props, fontsize=14,
                 ha="center")
    plt.annotate('Saturating', xytext=(-3.5, 0.3), xy=(-5, 0), arrowprops=props, fontsize=14,
                 ha="center")
    plt.annotate('Linear', xytext=(2, 0.2), xy=(0, 0.5), arrowprops=props, fontsize=14,
                 ha="center")
    plt.grid(True)
    plt.title("Sigmoid activation function", fontsize=14)
    plt.axis([-5, 5, -0.2, 1.2])
    save_fig(args, "sigmoid_saturation_plot")


def plot_leaky_relu(args, z):
    plt = pyplot()
    plt.plot(z, activations.leaky_relu(z, 0.05), "b-", linewidth=2)
    plt.plot([-5, 5], [0, 0], 'k-')
    plt.plot([0, 0], [-0.5, 4.2], 'k-')
    plt.grid(True)
    props = dict(facecolor='black', shrink=0.1)
    plt.annotate('Leak', xytext=(-3.5, 0.5), xy=(-5, -0.2), arrowprops=props, fontsize=14,
                 ha="center")
    plt.title("Leaky ReLU activation function", fontsize=14)
    plt.axis([-5, 5, -0.5, 4.2])
    save_fig(args, "leaky_relu_plot")


def plot_elu(args, z):
    plt = pyplot()
    plt.plot(z, activations.elu(z, alpha=1.0), "b-", linewidth=2)
    plt.plot([-5, 5], [0, 0], 'k-')
    plt.plot([-5, 5], [-1, -1], 'k--')
    plt.plot([0, 0], [-2.2, 3.2], 'k-')
    plt.grid(True)
    plt.title(r"ELU activation function ($\alpha=1$)", fontsize=14)
    plt.axis([-5, 5, -2.2, 3.2])
    save_fig(args, "elu_plot")


def plot_selu(args, z):
    plt = pyplot()
    plt.plot(z, activations.selu(z), "b-", linewidth=2)
    plt.plot([-5, 5], [0, 0], 'k-')
    plt.plot([-5, 5], [-1.758, -1.758], 'k--')
    plt.plot([0, 0], [-2.2, 3.2], 'k-')
    plt.grid(True)
    plt.title("SELU activation function", fontsize=14)
    plt.axis([-5, 5, -2.2, 3.2])
    save_fig(args, "selu_plot")


def selu_self_normalisation(n_layers=1000):
    """Standardised inputs through ``n_layers`` SELU layers with LeCun-initialised weights:
    the mean stays near 0 and the standard deviation near 1."""
    np.random.seed(42)
    Z = np.random.normal(size=(500, 100))  # standardized inputs
    for layer in range(n_layers):
        W = np.random.normal(size=(100, 100), scale=np.sqrt(1 / 100))  # LeCun initialization
        Z = activations.selu(np.dot(Z, W))
        means = np.mean(Z, axis=0).mean()
        stds = np.std(Z, axis=0).mean()
        if layer % 100 == 0:
            print(f"Layer {layer}: mean {means:.2f}, std deviation {stds:.2f}")
    return means, stds


def main(argv=None):
    args = parse_args("activation_functions", __doc__, argv)
    z = np.linspace(-5, 5, 200)
    section("Plots")
    plot_sigmoid(args, z)
    plot_leaky_relu(args, z)
    plot_elu(args, z)
    plot_selu(args, z)
    section("SELU alpha and scale (equation 14 of the paper)")
    print(f"alpha = {activations.SELU_ALPHA:.10f}, scale = {activations.SELU_SCALE:.10f}")
    section("SELU through 1,000 layers")
    return selu_self_normalisation(1000)


if __name__ == "__main__":
    main()
