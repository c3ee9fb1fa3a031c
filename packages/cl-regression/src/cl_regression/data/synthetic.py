r"""A synthetic 1-D regression target seen through a noisy nonlinear 16-D embedding.

The sanity check of SupReMix (Wu, Dong et al., "Mixup Your Own Pairs", 2023, arXiv:2309.16633)
in this project's method notes: a scalar target :math:`y \sim U[0, 1]` observed only through

.. math::

    x_k = \sin(2\pi f_k y + \varphi_k) + \sigma \varepsilon_k, \quad k = 1..16,
    \quad \varepsilon_k \sim \mathcal{N}(0, 1),

with frequencies :math:`f_k \sim U[0.5, 3]` and phases :math:`\varphi_k \sim U[0, 2\pi)` drawn
once per ``seed``. A method whose frozen features order samples by :math:`y` gives a low kNN
regression error and a high Spearman correlation between embedding and label distances; a
supervised contrastive regression loss should beat plain SupCon on label bins at both.
Everything here is synthetic.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

SYNTHETIC_CARD = (
    "Synthetic: y ~ U[0, 1] seen through x_k = sin(2 pi f_k y + phi_k) + noise, 16 columns "
    "(the SupReMix sanity check of the method notes); no real data."
)


@dataclass(frozen=True)
class SyntheticCurve:
    """Training and test rows drawn from one fixed curve (same frequencies and phases).

    Attributes:
        train_features: (num_train, 16) float64.
        train_targets: (num_train,) in [0, 1).
        test_features: (num_test, 16) float64.
        test_targets: (num_test,) in [0, 1).
    """

    train_features: np.ndarray
    train_targets: np.ndarray
    test_features: np.ndarray
    test_targets: np.ndarray


def make_synthetic_curve(
    num_train: int = 1000,
    num_test: int = 500,
    *,
    noise_std: float = 0.5,
    num_features: int = 16,
    seed: int = 0,
) -> SyntheticCurve:
    r"""Draw training and test rows of the noisy sine embedding (formula in the module docstring).

    Args:
        num_train: training rows, >= 2.
        num_test: test rows, >= 1.
        noise_std: :math:`\sigma \ge 0`, standard deviation of the added Gaussian noise.
        num_features: number of columns :math:`K \ge 1` (16 in the method notes).
        seed: seed of the curve and of the rows.

    Returns:
        A :class:`SyntheticCurve`.

    Example:
        >>> data = make_synthetic_curve(10, 5, seed=0)
        >>> data.train_features.shape, data.test_targets.shape
        ((10, 16), (5,))
    """
    for name, value, minimum in (
        ("num_train", num_train, 2),
        ("num_test", num_test, 1),
        ("num_features", num_features, 1),
    ):
        if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
            raise ValueError(f"{name} must be an int >= {minimum}, got {value!r}")
    if not noise_std >= 0:
        raise ValueError(f"noise_std must be >= 0, got {noise_std}")
    rng = np.random.default_rng(seed)
    frequencies = rng.uniform(0.5, 3.0, num_features)
    phases = rng.uniform(0.0, 2 * np.pi, num_features)

    def draw(count: int) -> tuple[np.ndarray, np.ndarray]:
        targets = rng.random(count)
        clean = np.sin(2 * np.pi * np.outer(targets, frequencies) + phases)
        return clean + noise_std * rng.standard_normal(clean.shape), targets

    train_features, train_targets = draw(num_train)
    test_features, test_targets = draw(num_test)
    return SyntheticCurve(train_features, train_targets, test_features, test_targets)
