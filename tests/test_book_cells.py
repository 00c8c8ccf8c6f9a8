"""The book's own style of code, cell by cell, with ``import numpy_nn as keras``.

The cells are written here in the manner of the public notebooks for chapters 10 and 11 of
Hands-On Machine Learning (2nd ed.): Sequential models built both ways, ``summary``,
``get_layer``, compile with loss and metric *functions*, ``fit`` with validation data and
``History``, evaluate/predict, ``to_categorical``, callbacks (checkpoint, early stopping, a
custom one), saving and loading, the scikit-learn route through ``keras.wrappers`` with a
randomized search over ``model__`` parameters, and the chapter-11 techniques (initializers,
LeakyReLU/PReLU/SELU, batch normalization, clipping, transfer learning with ``clone_model``,
every optimizer, schedules, regularization, dropout, alpha dropout, max-norm, MC dropout).
They run in order in one namespace, as a notebook does; data are random arrays of the
datasets' shapes (the numbers are not the point: that each call works as Keras's does is).
"""
import numpy as np  # noqa: F401  (the cells import it themselves, as the book does)
import pytest

CELLS = [
'''
import numpy as np
import numpy_nn as keras
keras.utils.set_random_seed(42)
rng = np.random.default_rng(0)
X_train_full = rng.random((600, 28, 28)).astype("float32")
y_train_full = rng.integers(0, 10, 600)
X_test, y_test = X_train_full[:100], y_train_full[:100]
X_valid, X_train = X_train_full[:100] / 255.0, X_train_full[100:] / 255.0
y_valid, y_train = y_train_full[:100], y_train_full[100:]
class_names = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
               "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"]
''',
'''
model = keras.models.Sequential()
model.add(keras.layers.Flatten(input_shape=[28, 28]))
model.add(keras.layers.Dense(300, activation="relu"))
model.add(keras.layers.Dense(100, activation="relu"))
model.add(keras.layers.Dense(10, activation="softmax"))
keras.backend.clear_session()
model = keras.models.Sequential([
    keras.layers.Flatten(input_shape=[28, 28]),
    keras.layers.Dense(300, activation="relu"),
    keras.layers.Dense(100, activation="relu"),
    keras.layers.Dense(10, activation="softmax")
])
model.summary()
hidden1 = model.layers[1]
assert model.get_layer(hidden1.name) is hidden1
weights, biases = hidden1.get_weights()
assert weights.shape == (784, 300) and biases.shape == (300,)
''',
'''
model.compile(loss=keras.losses.sparse_categorical_crossentropy,
              optimizer=keras.optimizers.SGD(learning_rate=0.01),
              metrics=[keras.metrics.sparse_categorical_accuracy])
history = model.fit(X_train, y_train, epochs=2, validation_data=(X_valid, y_valid), verbose=0)
assert sorted(history.history) == ["loss", "sparse_categorical_accuracy", "val_loss",
                                   "val_sparse_categorical_accuracy"]
assert history.params["epochs"] == 2 and history.epoch == [0, 1]
model.evaluate(X_test, y_test, verbose=0)
X_new = X_test[:3]
y_proba = model.predict(X_new, verbose=0)
y_pred = np.argmax(y_proba, axis=-1)
assert np.array(class_names)[y_pred].shape == (3,)
''',
'''
y_onehot = keras.utils.to_categorical(y_train, num_classes=10)
model.compile(loss="categorical_crossentropy", optimizer="sgd", metrics=["accuracy"])
model.fit(X_train, y_onehot, epochs=1, verbose=0)
''',
'''
import os, tempfile
workdir = tempfile.mkdtemp()
regression = keras.models.Sequential([
    keras.layers.Dense(30, activation="relu", input_shape=(8,)),
    keras.layers.Dense(1)])
regression.compile(loss="mean_squared_error", optimizer=keras.optimizers.SGD(learning_rate=1e-3))
X_reg = rng.random((200, 8)); y_reg = X_reg.sum(axis=1, keepdims=True)
checkpoint_cb = keras.callbacks.ModelCheckpoint(os.path.join(workdir, "my_keras_model.keras"),
                                                save_best_only=True)
early_stopping_cb = keras.callbacks.EarlyStopping(patience=10, restore_best_weights=True)
class PrintValTrainRatioCallback(keras.callbacks.Callback):
    def on_epoch_end(self, epoch, logs):
        self.ratio = logs["val_loss"] / logs["loss"]
ratio_cb = PrintValTrainRatioCallback()
history = regression.fit(X_reg[:150], y_reg[:150], epochs=5, verbose=0,
                         validation_data=(X_reg[150:], y_reg[150:]),
                         callbacks=[checkpoint_cb, early_stopping_cb, ratio_cb])
regression = keras.models.load_model(os.path.join(workdir, "my_keras_model.keras"))
regression.save(os.path.join(workdir, "again.keras"))
assert ratio_cb.ratio > 0
''',
'''
from sklearn.model_selection import RandomizedSearchCV
def build_model(n_hidden=1, n_neurons=30, learning_rate=3e-3):
    model = keras.models.Sequential([keras.layers.Input(shape=(8,))])
    for layer in range(n_hidden):
        model.add(keras.layers.Dense(n_neurons, activation="relu"))
    model.add(keras.layers.Dense(1))
    model.compile(loss="mse", optimizer=keras.optimizers.SGD(learning_rate=learning_rate))
    return model
keras_reg = keras.wrappers.SKLearnRegressor(model=build_model, fit_kwargs={"epochs": 2,
                                                                           "verbose": 0})
param_distribs = {"model__n_hidden": [0, 1, 2], "model__n_neurons": [5, 10],
                  "model__learning_rate": [1e-3, 3e-3]}
search = RandomizedSearchCV(keras_reg, param_distribs, n_iter=2, cv=2, random_state=0)
search.fit(X_reg, y_reg)
assert set(search.best_params_) == set(param_distribs)
''',
'''
keras.layers.Dense(10, activation="relu", kernel_initializer="he_normal")
init = keras.initializers.VarianceScaling(scale=2., mode="fan_avg", distribution="uniform")
keras.layers.Dense(10, activation="relu", kernel_initializer=init)
model = keras.models.Sequential([
    keras.layers.Flatten(input_shape=[28, 28]),
    keras.layers.Dense(300, kernel_initializer="he_normal"),
    keras.layers.LeakyReLU(alpha=0.2),
    keras.layers.Dense(100, kernel_initializer="he_normal"),
    keras.layers.PReLU(),
    keras.layers.Dense(10, activation="softmax")])
model.compile(loss="sparse_categorical_crossentropy",
              optimizer=keras.optimizers.SGD(learning_rate=1e-3), metrics=["accuracy"])
model.fit(X_train, y_train, epochs=1, validation_data=(X_valid, y_valid), verbose=0)
''',
'''
model = keras.models.Sequential([keras.layers.Flatten(input_shape=[28, 28])])
model.add(keras.layers.Dense(300, activation="selu", kernel_initializer="lecun_normal"))
for layer in range(5):
    model.add(keras.layers.Dense(100, activation="selu", kernel_initializer="lecun_normal"))
model.add(keras.layers.Dense(10, activation="softmax"))
pixel_means = X_train.mean(axis=0, keepdims=True)
pixel_stds = X_train.std(axis=0, keepdims=True)
X_train_scaled = (X_train - pixel_means) / pixel_stds
model.compile(loss="sparse_categorical_crossentropy", optimizer="sgd", metrics=["accuracy"])
model.fit(X_train_scaled, y_train, epochs=1, verbose=0)
''',
'''
model = keras.models.Sequential([
    keras.layers.Flatten(input_shape=[28, 28]),
    keras.layers.BatchNormalization(),
    keras.layers.Dense(300, kernel_initializer="he_normal", use_bias=False),
    keras.layers.BatchNormalization(),
    keras.layers.Activation("relu"),
    keras.layers.Dense(10, activation="softmax")])
assert [(var.name, var.trainable) for var in model.layers[1].variables] == [
    ("gamma", True), ("beta", True), ("moving_mean", False), ("moving_variance", False)]
optimizer = keras.optimizers.SGD(clipvalue=1.0)
model.compile(loss="sparse_categorical_crossentropy", optimizer=optimizer)
model.fit(X_train, y_train, epochs=1, verbose=0)
''',
'''
model_A = keras.models.Sequential([keras.layers.Flatten(input_shape=[28, 28]),
                                   keras.layers.Dense(50, activation="selu"),
                                   keras.layers.Dense(8, activation="softmax")])
model_A.compile(loss="sparse_categorical_crossentropy", optimizer="sgd")
model_A.fit(X_train, y_train % 8, epochs=1, verbose=0)
model_A_clone = keras.models.clone_model(model_A)
model_A_clone.set_weights(model_A.get_weights())
model_B_on_A = keras.models.Sequential(model_A_clone.layers[:-1])
model_B_on_A.add(keras.layers.Dense(1, activation="sigmoid"))
for layer in model_B_on_A.layers[:-1]:
    layer.trainable = False
model_B_on_A.compile(loss="binary_crossentropy", optimizer="sgd", metrics=["accuracy"])
model_B_on_A.fit(X_train, (y_train > 4).astype("float32"), epochs=1, verbose=0)
for layer in model_B_on_A.layers[:-1]:
    layer.trainable = True
model_B_on_A.compile(loss="binary_crossentropy", optimizer=keras.optimizers.SGD(learning_rate=1e-4),
                     metrics=["accuracy"])
model_B_on_A.fit(X_train, (y_train > 4).astype("float32"), epochs=1, verbose=0)
''',
'''
optimizers = [keras.optimizers.SGD(learning_rate=0.001, momentum=0.9),
              keras.optimizers.SGD(learning_rate=0.001, momentum=0.9, nesterov=True),
              keras.optimizers.Adagrad(learning_rate=0.001),
              keras.optimizers.RMSprop(learning_rate=0.001, rho=0.9),
              keras.optimizers.Adam(learning_rate=0.001, beta_1=0.9, beta_2=0.999),
              keras.optimizers.Adamax(learning_rate=0.001, beta_1=0.9, beta_2=0.999),
              keras.optimizers.Nadam(learning_rate=0.001, beta_1=0.9, beta_2=0.999)]
for optimizer in optimizers:
    model = keras.models.Sequential([keras.layers.Flatten(input_shape=[28, 28]),
                                     keras.layers.Dense(20, activation="elu"),
                                     keras.layers.Dense(10, activation="softmax")])
    model.compile(loss="sparse_categorical_crossentropy", optimizer=optimizer)
    model.fit(X_train[:64], y_train[:64], epochs=1, verbose=0)
''',
'''
def exponential_decay(lr0, s):
    def exponential_decay_fn(epoch):
        return lr0 * 0.1**(epoch / s)
    return exponential_decay_fn
exponential_decay_fn = exponential_decay(lr0=0.01, s=20)
lr_scheduler = keras.callbacks.LearningRateScheduler(exponential_decay_fn)
model.compile(loss="sparse_categorical_crossentropy", optimizer=keras.optimizers.SGD())
history = model.fit(X_train[:64], y_train[:64], epochs=2, verbose=0, callbacks=[lr_scheduler])
lr_plateau = keras.callbacks.ReduceLROnPlateau(factor=0.5, patience=5)
s = 20 * len(X_train) // 32
learning_rate = keras.optimizers.schedules.ExponentialDecay(0.01, s, 0.1)
optimizer = keras.optimizers.SGD(learning_rate)
learning_rate = keras.optimizers.schedules.PiecewiseConstantDecay(
    boundaries=[5. * len(X_train) // 32, 15. * len(X_train) // 32], values=[0.01, 0.005, 0.001])
''',
'''
from functools import partial
RegularizedDense = partial(keras.layers.Dense, activation="elu",
                           kernel_initializer="he_normal",
                           kernel_regularizer=keras.regularizers.l2(0.01))
model = keras.models.Sequential([
    keras.layers.Flatten(input_shape=[28, 28]),
    RegularizedDense(300),
    keras.layers.Dropout(rate=0.2),
    RegularizedDense(100, kernel_constraint=keras.constraints.max_norm(1.)),
    keras.layers.AlphaDropout(rate=0.2),
    RegularizedDense(10, activation="softmax", kernel_initializer="glorot_uniform")])
model.compile(loss="sparse_categorical_crossentropy", optimizer="nadam", metrics=["accuracy"])
model.fit(X_train, y_train, epochs=1, validation_data=(X_valid, y_valid), verbose=0)
''',
'''
y_probas = np.stack([model(X_test, training=True) for sample in range(10)])
y_proba = y_probas.mean(axis=0)
y_std = y_probas.std(axis=0)
assert y_proba.shape == (100, 10) and np.allclose(y_proba.sum(axis=1), 1, atol=1e-5)
assert (y_std > 0).any()
class MCDropout(keras.layers.Dropout):
    def call(self, inputs):
        return super().call(inputs, training=True)
mc_model = keras.models.Sequential([
    MCDropout(layer.rate) if isinstance(layer, keras.layers.Dropout) else layer
    for layer in model.layers])
''',
]


_NAMESPACE: dict = {}
_FAILED: list = []


@pytest.mark.parametrize("index", range(len(CELLS)))
def test_cell(index, capsys):
    if _FAILED:
        pytest.fail(f"cell {_FAILED[0]} failed; the cells after it depend on it")
    try:
        exec(compile(CELLS[index], f"<book cell {index}>", "exec"), _NAMESPACE)
    except Exception:
        _FAILED.append(index)
        raise
