"""The small integers compiled code uses for kinds of things, with no import of Numba, so
that the code deciding what to compile (:mod:`numpy_nn.models.compiled_plan`) can name them
without loading it. Named constants rather than positional flags: ``layer.op == DENSE``."""

# activation functions (numpy_nn.kernels.activation_table), by the reference's ``name``
LINEAR, RELU, LEAKY_RELU, ELU, SELU, SIGMOID, TANH, SOFTMAX, GELU, SILU, MISH = range(11)
ACTIVATIONS = {"linear": LINEAR, "relu": RELU, "leaky_relu": LEAKY_RELU, "elu": ELU,
               "selu": SELU, "sigmoid": SIGMOID, "tanh": TANH, "softmax": SOFTMAX,
               "gelu": GELU, "silu": SILU, "mish": MISH}

# layers of a compiled step (numpy_nn.kernels.step_layers)
DENSE, ACTIVATION, PRELU, BATCH_NORMALIZATION, DROPOUT, ALPHA_DROPOUT = range(6)
# a Dense layer's three products, in the order of its ``libraries``
FORWARD_PRODUCT, INPUT_GRADIENT_PRODUCT, KERNEL_GRADIENT_PRODUCT = range(3)

# losses (numpy_nn.kernels.step_losses)
SPARSE_CATEGORICAL, CATEGORICAL, BINARY, MEAN_SQUARED = range(4)

# accuracies fit's trackers count on the compiled path (numpy_nn.kernels.metrics)
SPARSE_ACCURACY, CATEGORICAL_ACCURACY, BINARY_ACCURACY = range(3)

# optimizers and clipping options (numpy_nn.kernels.step_updates)
SGD, ADAGRAD, RMSPROP, ADAM, ADAMAX, NADAM = range(6)
NO_CLIP, CLIP_NORM, GLOBAL_CLIP_NORM, CLIP_VALUE = range(4)
# where a step's learning rate comes from
CONSTANT_RATE, EXPONENTIAL_DECAY, INVERSE_TIME_DECAY, PIECEWISE_CONSTANT, GIVEN_RATE = range(5)
