"""Evaluation of two-tower models: image<->text Recall@K and zero-shot classification.

Retrieval uses the kernel's :func:`cl_core.evaluation.recall_at_k`. Captions shared by several
images (e.g. rendered scenes) count as one text key; every image showing it is a positive.
Zero-shot classification follows CLIP (Radford et al., 2021, arXiv:2103.00020): the class whose
prompt embedding is closest to the image embedding.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from cl_core.evaluation import recall_at_k
from cl_multimodal.data.pairs import ImageCaptionPairs
from cl_multimodal.two_tower import TwoTowerModel


def retrieval_metrics(
    model: TwoTowerModel, pairs: ImageCaptionPairs, ks: Sequence[int] = (1, 5, 10)
) -> dict[str, float]:
    """``i2t_R@k`` (images vs unique captions) and ``t2i_R@k`` (unique captions vs images).

    Cut-offs larger than the number of keys are dropped.
    """
    unique = sorted(set(pairs.captions))
    caption_id = {caption: i for i, caption in enumerate(unique)}
    target = np.asarray([caption_id[c] for c in pairs.captions])
    images = model.embed_images(pairs.float_images()).numpy()
    texts = model.embed_texts(unique).numpy()
    text_positive = target[None, :] == np.arange(len(unique))[:, None]
    metrics = {}
    for name, queries, keys, positives in (
        ("i2t", images, texts, target),
        ("t2i", texts, images, text_positive),
    ):
        usable = [k for k in ks if k <= len(keys)]
        for k, value in recall_at_k(queries, keys, positives, usable).items():
            metrics[f"{name}_R@{k}"] = value
    return metrics


def zero_shot_metrics(
    model: TwoTowerModel, pairs: ImageCaptionPairs, prompts: Sequence[str]
) -> dict[str, float]:
    """Zero-shot accuracy of predicting ``pairs.labels`` as the argmax over ``prompts``.

    Returns ``zero_shot_acc`` and ``zero_shot_balanced_acc`` (mean recall over the classes
    present; chance is 1 / classes). ``prompts`` holds one text per class.
    """

    if len(prompts) != len(pairs.label_names):
        raise ValueError(
            f"prompts must hold one text per class ({len(pairs.label_names)}), got {len(prompts)}"
        )
    if (pairs.labels < 0).any():
        raise ValueError("pairs have no class labels (labels are -1)")
    images = model.embed_images(pairs.float_images())
    classes = model.embed_texts(list(prompts))
    predicted = (images @ classes.T).argmax(dim=1).numpy()
    return {
        "zero_shot_acc": float(np.mean(predicted == pairs.labels)),
        "zero_shot_balanced_acc": float(
            np.mean([np.mean(predicted[pairs.labels == c] == c) for c in np.unique(pairs.labels)])
        ),
    }


def emoji_category_prompts(category_names: Sequence[str]) -> list[str]:
    """``"an emoji of <category>"`` for each category, lower case ('&' spelled 'and')."""
    return [f"an emoji of {name.lower().replace('&', 'and')}" for name in category_names]


def majority_accuracy(train_labels: np.ndarray, test_labels: np.ndarray) -> float:
    """Accuracy of always predicting the most frequent training class (the chance baseline)."""
    majority = np.bincount(train_labels).argmax()
    return float(np.mean(test_labels == majority))
