"""Dataset loaders shared by several modality packages (numpy only, no torch at import)."""

from cl_core.datasets.fashion_mnist import (
    DEFAULT_FASHION_MNIST_DIR,
    FASHION_MNIST_CARD,
    FASHION_MNIST_CLASSES,
    FASHION_MNIST_DIR_ENV,
    fashion_mnist_dir,
    load_fashion_mnist,
)

__all__ = [
    "DEFAULT_FASHION_MNIST_DIR",
    "FASHION_MNIST_CARD",
    "FASHION_MNIST_CLASSES",
    "FASHION_MNIST_DIR_ENV",
    "fashion_mnist_dir",
    "load_fashion_mnist",
]
