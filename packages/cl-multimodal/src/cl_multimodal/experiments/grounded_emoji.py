"""Does CLIP training on emoji ground the text tower? Emoji names embedded by the text tower alone.

One improved-recipe CLIP model (Fini et al., TMLR 2023, arXiv:2305.08675) is trained on the emoji
image-caption pairs of the training split. The held-out base emoji names ("grinning face", "cat",
...; no "an emoji of" prompt, no skin-tone variants) are then embedded by the text tower alone and
scored with :func:`cl_multimodal.grounded.grounding_scores` against their 10 categories and
against the neighbours of their images. The same words are scored in two ungrounded spaces: the
text tower before training (same seed, so the same initial weights) and, for the MiniLM tower, the
frozen MiniLM sentence features themselves (a text-only model). The visual space of the main
overlap score is a frozen one (16x16 pixels), so it favours no model; ``visual_overlap_image_tower``
uses the trained image tower instead.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import torch

from cl_multimodal.clip_training import ClipTrainConfig, TrainStats, train_two_tower
from cl_multimodal.data.pairs import ImageCaptionPairs
from cl_multimodal.evaluation import retrieval_metrics
from cl_multimodal.grounded import (
    grounding_scores,
    neighbour_overlap,
    pixel_features,
    plot_word_pca,
)
from cl_multimodal.towers.factory import build_image_tower, build_text_tower
from cl_multimodal.two_tower import TwoTowerModel

CAPTION_PREFIX = "an emoji of "


@dataclass(frozen=True)
class EmojiWords:
    """One base emoji per group: its row in the pairs, name, category and image."""

    index: np.ndarray
    words: list[str]
    labels: np.ndarray
    images: np.ndarray


def base_emoji_words(pairs: ImageCaptionPairs) -> EmojiWords:
    """The first pair of each group (the base emoji; variants follow), caption prefix removed."""
    _, first = np.unique(pairs.groups, return_index=True)
    first = np.sort(first)
    words = [pairs.captions[i].removeprefix(CAPTION_PREFIX) for i in first]
    return EmojiWords(first, words, pairs.labels[first], pairs.images[first])


@dataclass(frozen=True)
class GroundingComparison:
    """Scores per word space (``clip-grounded``, ``text-tower-init``, ``minilm-text-only``)."""

    metrics: dict[str, dict[str, float]]
    stats: TrainStats
    test_words: int
    reference_words: int


def compare_grounding(
    train: ImageCaptionPairs,
    test: ImageCaptionPairs,
    config: ClipTrainConfig,
    *,
    text_tower: str = "minilm",
    embed_dim: int = 128,
    cache_file: str | os.PathLike[str] | None = None,
    k: int = 10,
    plot_path: str | os.PathLike[str] | None = None,
) -> GroundingComparison:
    """Train improved CLIP on ``train``; score the held-out names of ``test`` in each word space.

    Args:
        train: training pairs (their base names are the k-NN reference words).
        test: held-out pairs (their base names are scored).
        config: optimisation settings (augmentation is switched on: the improved recipe).
        text_tower: ``"bow"``, ``"gru"`` or ``"minilm"`` (only MiniLM has a text-only baseline).
        embed_dim: embedding width.
        cache_file: MiniLM feature cache.
        k: neighbours of the k-NN and overlap scores.
        plot_path: where to draw the before / after PCA plot (PNG), if given.

    Returns:
        The scores of every word space, the retrieval metrics of the trained model (under
        ``clip-grounded``) and the training statistics.
    """
    torch.manual_seed(config.seed)
    model = TwoTowerModel(
        build_image_tower("cnn", embed_dim),
        build_text_tower(text_tower, train.captions, embed_dim, cache_file=cache_file),
        label_smoothing=0.1,
    )
    held_out, reference = base_emoji_words(test), base_emoji_words(train)
    spaces = {"text-tower-init": model.embed_texts(held_out.words)}
    references = {"text-tower-init": model.embed_texts(reference.words)}
    if text_tower == "minilm":
        with torch.no_grad():
            spaces["minilm-text-only"] = model.text_tower.sentence_features(held_out.words)
            references["minilm-text-only"] = model.text_tower.sentence_features(reference.words)
    config = replace(config, image_augment=True, text_augment=True)
    stats = train_two_tower(model, train, config)
    spaces["clip-grounded"] = model.embed_texts(held_out.words)
    references["clip-grounded"] = model.embed_texts(reference.words)
    pixels = pixel_features(held_out.images)
    image_tower = model.embed_images(test.float_images(held_out.index))
    overlap_k = min(k, len(held_out.words) - 1)
    metrics = {}
    for name, words in spaces.items():
        scores = grounding_scores(
            words, held_out.labels, pixels, references[name], reference.labels, k=k
        ).as_dict()
        scores["visual_overlap_image_tower"] = neighbour_overlap(words, image_tower, overlap_k)
        metrics[name] = scores
    metrics["clip-grounded"].update(retrieval_metrics(model, test))
    if plot_path is not None:
        plot_word_pca(
            {name: spaces[name] for name in sorted(spaces, reverse=True)},
            held_out.labels,
            test.label_names,
            Path(plot_path),
        )
    return GroundingComparison(metrics, stats, len(held_out.words), len(reference.words))
