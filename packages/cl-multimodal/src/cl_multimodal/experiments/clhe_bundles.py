"""CLHE against its own encoder without contrastive terms, mean pooling and popularity.

Bundle construction on synthesized bundles (:mod:`cl_multimodal.data.bundles`): given the first
half of a held-out bundle, rank all other items to complete it (Recall@K, NDCG@K). Baselines:

* ``no-cl``: the same hierarchical encoder and reconstruction loss, :math:`\\alpha_\\text{item} =
  \\alpha_\\text{bundle} = 0`;
* ``mean-pooling``: no training; score items by cosine similarity of their standardised
  (visual, text) features with the mean over the partial bundle;
* ``popularity``: rank items by how often they occur in training bundles.

Each method is also scored with the visual modality missing at test time (metrics suffixed
``_no_visual``): the trained encoders drop every item's visual token, mean pooling uses the text
features only. CLHE's modality-token dropout and item-level contrast target this case.

Training runs on the kernel's engine (one CPU process); batch order and partial bundles draw from
one seeded generator, dropout from the global torch stream seeded before the model is built.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch
from torch import Tensor

from cl_core.engine_options import EngineOptions
from cl_multimodal.clhe import CLHE, ClheWeights, bundle_completion_metrics
from cl_multimodal.data.bundles import BundleData

METHODS = ("clhe", "no-cl", "mean-pooling", "popularity")

#: CLHE weights of this experiment: the official item term, a softer bundle term. The official
#: bundle term (alpha 2, tau 0.05) cut Recall@10 from 0.78 to 0.50 on seed-1 bundles: same-cluster
#: bundles in a batch are false negatives there. Chosen on seed 1; bench rows use seed 0.
EXPERIMENT_WEIGHTS = ClheWeights(bundle_alpha=0.2, bundle_temperature=0.2)


@dataclass(frozen=True)
class BundleTrainConfig:
    """Optimisation settings of the trained methods (Adam, as the official code)."""

    epochs: int = 30
    batch_size: int = 128
    lr: float = 1e-3
    weight_decay: float = 1e-5
    dim: int = 64
    seed: int = 0
    ks: tuple[int, ...] = (10, 20)

    def __post_init__(self) -> None:
        if self.epochs < 1 or self.batch_size < 2 or self.dim < 1:
            raise ValueError(
                "epochs, dim must be >= 1 and batch_size >= 2, got "
                f"{self.epochs}, {self.dim}, {self.batch_size}"
            )


def pad_bundles(bundles: Sequence[np.ndarray]) -> torch.Tensor:
    """Stack item-index arrays into a (B, max length) long tensor padded with -1."""
    width = max(len(b) for b in bundles)
    out = torch.full((len(bundles), width), -1, dtype=torch.long)
    for row, bundle in enumerate(bundles):
        out[row, : len(bundle)] = torch.as_tensor(bundle, dtype=torch.long)
    return out


def train_clhe(data: BundleData, config: BundleTrainConfig, weights: ClheWeights) -> CLHE:
    """Train CLHE: each step feeds a random half of every training bundle, target the full one."""
    from cl_core.training import fit_objective
    from cl_core.training.random_state import KeepRandomState
    from cl_core.training.replay import ReplayBatches

    torch.manual_seed(config.seed)
    rng = np.random.default_rng(config.seed)
    model = CLHE(torch.from_numpy(data.visual), torch.from_numpy(data.text), config.dim, weights)
    count = len(data.train_bundles)

    def objective(model: CLHE, index: Tensor) -> Tensor:
        batch = [data.train_bundles[i] for i in index.tolist()]
        partial = [rng.permutation(b)[: max(1, len(b) // 2)] for b in batch]
        return model.loss(pad_bundles(partial), pad_bundles(batch))

    batches = ReplayBatches(
        count, config.batch_size, lambda: rng.permutation(count), generators=(rng,), min_batch=2
    )
    model.train()
    fit_objective(
        model,
        objective,
        batches,
        epochs=config.epochs,
        optimizer=lambda groups: torch.optim.Adam(
            groups, lr=config.lr, weight_decay=config.weight_decay
        ),
        engine=EngineOptions(accelerator="cpu", seed=config.seed),
        callbacks=[batches.tracker(), KeepRandomState()],
    )
    return model.eval()


def _standardised_features(data: BundleData, drop_visual: bool) -> np.ndarray:
    features = []
    for block in (data.text,) if drop_visual else (data.visual, data.text):
        block = (block - block.mean(0)) / (block.std(0) + 1e-8)
        features.append(block / np.linalg.norm(block, axis=1, keepdims=True))
    return np.concatenate(features, axis=1)


def _baseline_scores(method: str, data: BundleData, drop_visual: bool) -> np.ndarray:
    if method == "popularity":
        counts = np.bincount(np.concatenate(data.train_bundles), minlength=data.num_items)
        return np.tile(counts.astype(np.float64), (len(data.test_inputs), 1))
    features = _standardised_features(data, drop_visual)
    queries = np.stack([features[given].mean(0) for given in data.test_inputs])
    queries /= np.linalg.norm(queries, axis=1, keepdims=True) + 1e-12
    return queries @ features.T


def compare_clhe(
    data: BundleData,
    config: BundleTrainConfig,
    methods: Sequence[str] = METHODS,
    weights: ClheWeights = EXPERIMENT_WEIGHTS,
) -> tuple[dict[str, dict[str, float]], dict[str, float]]:
    """Metrics of each method on the held-out bundles, and the training seconds of each.

    Args:
        data: items and bundles.
        config: settings of the trained methods.
        methods: any of ``clhe``, ``no-cl``, ``mean-pooling``, ``popularity``.
        weights: CLHE's loss weights (``no-cl`` zeroes both contrastive terms).
    """
    unknown = sorted(set(methods) - set(METHODS))
    if unknown or not methods:
        raise ValueError(f"methods must be a non-empty subset of {METHODS}, got {tuple(methods)}")
    metrics, seconds = {}, {}
    for method in methods:
        started = time.perf_counter()
        if method in ("clhe", "no-cl"):
            if method == "no-cl":
                model = train_clhe(
                    data, config, dataclasses.replace(weights, item_alpha=0.0, bundle_alpha=0.0)
                )
            else:
                model = train_clhe(data, config, weights)
            with torch.no_grad():
                scores, scores_no_visual = (
                    model.scores(pad_bundles(data.test_inputs), drop_visual=drop).numpy()
                    for drop in (False, True)
                )
        else:
            scores, scores_no_visual = (
                _baseline_scores(method, data, drop) for drop in (False, True)
            )
        seconds[method] = time.perf_counter() - started
        metrics[method] = bundle_completion_metrics(
            scores, data.test_inputs, data.test_targets, config.ks
        )
        no_visual = bundle_completion_metrics(
            scores_no_visual, data.test_inputs, data.test_targets, config.ks
        )
        metrics[method].update({f"{name}_no_visual": v for name, v in no_visual.items()})
    return metrics, seconds
