"""The chapter's first model trains and its validation loss goes down."""
import numpy_nn as keras


def test_leaky_relu_mlp_learns(fashion_small):
    (x, y), (xv, yv) = fashion_small
    model = keras.models.Sequential([
        keras.layers.Flatten(input_shape=[28, 28]),
        keras.layers.Dense(300, kernel_initializer="he_normal"),
        keras.layers.LeakyReLU(),
        keras.layers.Dense(100, kernel_initializer="he_normal"),
        keras.layers.LeakyReLU(),
        keras.layers.Dense(10, activation="softmax")])
    model.compile(loss="sparse_categorical_crossentropy",
                  optimizer=keras.optimizers.SGD(lr=1e-2), metrics=["accuracy"])
    history = model.fit(x, y, epochs=3, validation_data=(xv, yv), verbose=0)
    assert history.history["val_loss"][-1] < history.history["val_loss"][0]
    assert set(history.history) == {"loss", "accuracy", "val_loss", "val_accuracy"}
