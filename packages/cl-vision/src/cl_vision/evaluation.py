"""Frozen-feature evaluation of a trained vision encoder and the two baselines of every row.

Linear evaluation (a logistic regression on frozen features, SimCLR: Chen et al., 2020,
arXiv:2002.05709) with its ``C`` chosen by stratified cross-validation on the training features
only (:func:`cl_core.evaluation.frozen_probe_scores`; the chosen ``C`` is returned as ``linear_c``)
and a cosine kNN classifier, plus the effective rank (Roy & Vetterli, 2007) of the test features.
The baselines answer "did the method learn anything?": the same probes on the raw pixels and on the
same encoder at its random initialisation.
Embedding geometry per Wang & Liu (CVPR 2021, arXiv:2012.09740): uniformity
``log E exp(-2 ||z_i - z_j||^2)`` and tolerance ``E[z_i . z_j | same class]`` on the normalised
projection-head outputs.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from cl_core.evaluation import frozen_features, frozen_probe_scores
from cl_core.evaluation.memo import cached_frozen_probe_scores
from cl_core.metrics import tolerance, uniformity
from cl_core.training import ContrastiveModule
from cl_vision.data import ImageSplit

KNN_NEIGHBOURS = 20


def _neighbours(split: ImageSplit) -> int:
    """20 neighbours, or fewer when the training set is smaller (tiny user folders)."""
    return min(KNN_NEIGHBOURS, len(split.train_x))


def encoder_scores(
    module: ContrastiveModule, split: ImageSplit, *, cached: bool = False
) -> dict[str, float]:
    """``knn_acc``, ``linear_acc`` (with ``linear_c``, ``linear_cv_acc``) and ``effective_rank``
    of the frozen encoder features.

    ``cached``: memoise on the exact features (:func:`cl_core.evaluation.memo
    .cached_frozen_probe_scores`) - for baselines that several rows share (the same seeded
    random-init encoder on the same split).
    """
    probe = cached_frozen_probe_scores if cached else frozen_probe_scores
    return probe(
        module.encode(split.train_x),
        split.train_y,
        module.encode(split.test_x),
        split.test_y,
        k=_neighbours(split),
    )


def frozen_encoder_scores(encoder: nn.Module, split: ImageSplit) -> dict[str, float]:
    """:func:`encoder_scores` for any image encoder ``(N, C, H, W) -> (N, D)`` (MCL's
    concatenated stages, PixPro's pooled backbone)."""
    return frozen_probe_scores(
        frozen_features(encoder, split.train_x),
        split.train_y,
        frozen_features(encoder, split.test_x),
        split.test_y,
        k=_neighbours(split),
    )


def raw_pixel_scores(split: ImageSplit, *, cached: bool = False) -> dict[str, float]:
    """The same probes on the flattened pixels (``cached``: memoised on the exact pixels)."""
    probe = cached_frozen_probe_scores if cached else frozen_probe_scores
    return probe(
        split.train_x.flatten(1),
        split.train_y,
        split.test_x.flatten(1),
        split.test_y,
        k=_neighbours(split),
    )


@torch.no_grad()
def projection_embeddings(
    module: ContrastiveModule, images: Tensor, batch_size: int = 1024
) -> Tensor:
    """L2-normalised head outputs ``(N, D)`` (multi-head outputs are flattened per image)."""
    was_training = module.training
    module.eval()
    try:
        chunks = [
            module.embed(images[i : i + batch_size]).flatten(1)
            for i in range(0, len(images), batch_size)
        ]
    finally:
        module.train(was_training)
    return F.normalize(torch.cat(chunks), dim=-1)


def geometry_scores(module: ContrastiveModule, split: ImageSplit) -> dict[str, float]:
    """``uniformity`` (lower is more uniform) and ``tolerance`` of the test embeddings."""
    z = projection_embeddings(module, split.test_x)
    return {
        "uniformity": float(uniformity(z)),
        "tolerance": float(tolerance(z, split.test_y)),
    }
