"""When numpy_nn and Keras disagree: ``tf_backend.compare`` finding a deliberately modified
layer (the worked example of ``docs/guides/disagree.md``).

A small Fashion-MNIST network with a LeakyReLU layer is built twice, by numpy_nn and by Keras,
from the same description; numpy_nn's LeakyReLU is then given a slope of 0.25 where both were
built with 0.3 — the kind of mismatch a new or modified layer brings. ``compare`` names the
step, phase, layer and tensor where the two trainings part, and the run is repeated without
the modification to show it passes. Writes ``first_divergence.txt`` and the report
(``report.md``, ``comparisons.csv``, ``errors.png``) into ``--out``.
"""
from __future__ import annotations

import os

os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")   # exact float32 products (see tf_backend)
from examples import common  # noqa: E402


def twins(kx_numpy, keras):
    """The same network from each library; Keras gets numpy_nn's initial weights."""
    def build(kx):
        return kx.models.Sequential([
            kx.layers.Input(shape=[28, 28]), kx.layers.Flatten(),
            kx.layers.Dense(100, kernel_initializer="he_normal"),
            kx.layers.LeakyReLU(negative_slope=0.3),
            kx.layers.Dense(10, activation="softmax")])
    model, keras_model = build(kx_numpy), build(keras)
    model.compile(loss="sparse_categorical_crossentropy",
                  optimizer=kx_numpy.optimizers.SGD(learning_rate=0.01))
    keras_model.compile(loss="sparse_categorical_crossentropy",
                        optimizer=keras.optimizers.SGD(learning_rate=0.01))
    keras_model.set_weights(model.get_weights())
    return model, keras_model


def main(argv=None):
    args = common.parse_args("disagree", __doc__, argv)
    import keras

    import numpy_nn
    from tf_backend import compare
    from tf_backend.compare_report import write_report
    (x, y), _, _ = common.load_fashion_mnist(args)
    x, y = x[:640].astype("float32"), y[:640]
    numpy_nn.utils.set_random_seed(42)
    model, keras_model = twins(numpy_nn, keras)
    leaky = model.layers[2]
    leaky.function = numpy_nn.activations.LeakyReLU(0.25)    # the modification
    modified = compare(model, keras_model, x, y, steps=5, batch_size=32)
    model, keras_model = twins(numpy_nn, keras)
    unmodified = compare(model, keras_model, x, y, steps=5, batch_size=32)
    text = (f"numpy_nn's LeakyReLU slope set to 0.25 (Keras: 0.3):\n  {modified.summary()}\n"
            f"unmodified:\n  {unmodified.summary()}\n")
    print(text)
    with open(os.path.join(args.out, "first_divergence.txt"), "w", encoding="utf-8") as handle:
        handle.write(text)
    write_report(modified, args.out, "A LeakyReLU slope changed on numpy_nn's side")


if __name__ == "__main__":
    main()
