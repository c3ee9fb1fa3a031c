"""Synthesized bundles of multimodal items, for bundle construction (CLHE, arXiv:2310.18770).

Items belong to latent clusters. Each item has a "visual" and a "text" feature, both noisy random
linear images of its cluster's latent vector, so content reveals the cluster but not the item.
A bundle draws 3-6 items from one cluster by a Zipf popularity inside the cluster, and with
probability ``cross_rate`` swaps one of them for an item of the next cluster (a complementary
item). Test bundles are split into a partial bundle (the first half, the model's input) and the
items to complete it (the targets). Everything here is synthesized, not real.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

CARD = (
    "Synthesized: items in latent clusters with noisy random-linear 'visual' (32-d) and 'text' "
    "(24-d) features; bundles of 3-6 items drawn from one cluster by Zipf popularity (30% hold one "
    "item of the next cluster); test bundles split into input half and items to complete."
)


@dataclass(frozen=True)
class BundleData:
    """Items, training bundles and test (partial bundle, targets) pairs.

    Attributes:
        visual: (N, Dv) visual item features.
        text: (N, Dt) text item features.
        clusters: (N,) latent cluster of each item.
        train_bundles: item indices of each training bundle.
        test_inputs: item indices of each partial test bundle.
        test_targets: item indices that complete each test bundle.
        card: data card.
    """

    visual: np.ndarray
    text: np.ndarray
    clusters: np.ndarray
    train_bundles: list[np.ndarray]
    test_inputs: list[np.ndarray]
    test_targets: list[np.ndarray]
    card: str = CARD

    @property
    def num_items(self) -> int:
        """Number of items N."""
        return len(self.visual)


def synthetic_bundles(
    num_items: int = 300,
    num_clusters: int = 20,
    num_bundles: int = 1500,
    *,
    test_fraction: float = 0.2,
    cross_rate: float = 0.3,
    noise: float = 0.5,
    seed: int = 0,
) -> BundleData:
    """Generate items and bundles (see the module docstring).

    Args:
        num_items: N >= 2 * num_clusters.
        num_clusters: latent clusters, >= 2.
        num_bundles: bundles in total (train + test), >= 10.
        test_fraction: share of bundles held out, in (0, 1).
        cross_rate: probability that a bundle holds one item of the next cluster, in [0, 1].
        noise: standard deviation of the feature noise, >= 0.
        seed: random seed.

    Example:
        >>> data = synthetic_bundles(60, 5, 100)
        >>> data.visual.shape, len(data.train_bundles) + len(data.test_inputs)
        ((60, 32), 100)
    """
    if num_clusters < 2 or num_items < 6 * num_clusters:
        raise ValueError(
            "need num_clusters >= 2 and num_items >= 6 * num_clusters (a full bundle per cluster), "
            f"got num_items={num_items}, num_clusters={num_clusters}"
        )
    if num_bundles < 10 or not 0 < test_fraction < 1:
        raise ValueError(
            "need num_bundles >= 10 and test_fraction in (0, 1), got "
            f"{num_bundles} and {test_fraction}"
        )
    if not 0 <= cross_rate <= 1 or noise < 0:
        raise ValueError(f"need cross_rate in [0, 1] and noise >= 0, got {cross_rate}, {noise}")
    rng = np.random.default_rng(seed)
    clusters = np.arange(num_items) % num_clusters
    latent = rng.normal(size=(num_clusters, 16))
    visual = latent[clusters] @ rng.normal(size=(16, 32)) / 4 + noise * rng.normal(
        size=(num_items, 32)
    )
    text = latent[clusters] @ rng.normal(size=(16, 24)) / 4 + noise * rng.normal(
        size=(num_items, 24)
    )
    members = [rng.permutation(np.flatnonzero(clusters == c)) for c in range(num_clusters)]
    bundles = []
    for _ in range(num_bundles):
        cluster = int(rng.integers(num_clusters))
        pool = members[cluster]
        popularity = 1.0 / np.arange(1, len(pool) + 1)
        size = int(rng.integers(3, 7))
        bundle = rng.choice(pool, size=size, replace=False, p=popularity / popularity.sum())
        if rng.random() < cross_rate:
            bundle[-1] = rng.choice(members[(cluster + 1) % num_clusters])
        bundles.append(rng.permutation(bundle))
    test_count = max(1, round(test_fraction * num_bundles))
    train, test = bundles[test_count:], bundles[:test_count]
    return BundleData(
        visual=visual.astype(np.float32),
        text=text.astype(np.float32),
        clusters=clusters,
        train_bundles=train,
        test_inputs=[b[: len(b) // 2] for b in test],
        test_targets=[b[len(b) // 2 :] for b in test],
    )
