"""Datasets with Keras's ``load_data()`` shapes: ``fashion_mnist`` and ``cifar10``."""
from numpy_nn.datasets import cifar10, fashion_mnist
from numpy_nn.datasets._files import DatasetNotFoundError

__all__ = ["fashion_mnist", "cifar10", "DatasetNotFoundError"]
