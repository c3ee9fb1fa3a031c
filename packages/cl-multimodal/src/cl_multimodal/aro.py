"""ARO-style compositional evaluation on rendered scenes: attribution, relation and order accuracy.

Yuksekgonul et al., ICLR 2023, arXiv:2210.01936. For each test image the model must score its true
caption above (a) the caption with the two colours swapped (attribution; 2-way), (b) the caption
with the two objects swapped (relation; 2-way) and (c) each of the four word-order perturbations
(order; 5-way). Accuracy counts strict wins, so an order-blind text tower that ties scores 0 on
relation, not 0.5; ``*_tie_rate`` reports how often the scores tie.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch

from cl_multimodal.data.pairs import ImageCaptionPairs
from cl_multimodal.data.shapes import Scene
from cl_multimodal.perturbations import order_alternatives
from cl_multimodal.two_tower import TwoTowerModel


def _choice_accuracy(
    model: TwoTowerModel, images: torch.Tensor, options: list[list[str]]
) -> tuple[float, float]:
    """Share of rows whose first option strictly beats all others, and share with a tie."""
    width = len(options[0])
    texts = model.embed_texts([t for row in options for t in row]).view(len(options), width, -1)
    scores = torch.einsum("bd,bkd->bk", images, texts)
    best_other = scores[:, 1:].max(dim=1).values
    wins = scores[:, 0] > best_other + 1e-6
    ties = (scores[:, 0] - best_other).abs() <= 1e-6
    return float(wins.float().mean()), float(ties.float().mean())


def aro_metrics(
    model: TwoTowerModel, pairs: ImageCaptionPairs, scenes: Sequence[Scene], seed: int = 0
) -> dict[str, float]:
    """``aro_attribution``, ``aro_relation``, ``aro_order`` accuracies (and tie rates).

    Args:
        model: the two-tower model.
        pairs: the rendered scenes as image-caption pairs.
        scenes: the scene behind each pair (same order).
        seed: randomness of the order perturbations.

    Chance: 0.5 for attribution and relation, 0.2 for order.
    """
    if len(scenes) != len(pairs):
        raise ValueError(f"scenes must hold one scene per pair ({len(pairs)}), got {len(scenes)}")
    rng = np.random.default_rng(seed)
    images = model.embed_images(pairs.float_images())
    tasks = {
        "attribution": [[s.caption(), s.swapped_attributes().caption()] for s in scenes],
        "relation": [[s.caption(), s.swapped_relation().caption()] for s in scenes],
        "order": [[s.caption(), *order_alternatives(s.caption(), rng)] for s in scenes],
    }
    metrics = {}
    for name, options in tasks.items():
        accuracy, ties = _choice_accuracy(model, images, options)
        metrics[f"aro_{name}"] = accuracy
        metrics[f"aro_{name}_tie_rate"] = ties
    return metrics
