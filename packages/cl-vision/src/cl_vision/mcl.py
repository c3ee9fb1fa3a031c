"""MCL: multistage contrastive learning against feature suppression.

Zhang et al., "Learning the Unlearned: Mitigating Feature Suppression in Contrastive Learning",
ECCV 2024 (author code ``MajorDavidZhang/MCL``). Stage 0 trains the method as usual. Before
stage t >= 1 the training set is embedded with the current encoder and clustered with k-means
(K clusters); the cluster ids of every stage so far are combined into one pseudo-label
(``y <- y K + c_s``, :func:`cl_core.mining.multistage_pseudo_labels`). Stage t then continues
training with **cluster-conditioned negatives**: every minibatch is drawn from a single
pseudo-label cluster (:class:`cl_core.mining.ClusterBatchSampler`), so the in-batch negatives
share the features learned so far and the unchanged loss must use new ones. The final
representation is the **cross-stage feature integration**: the concatenation of the frozen
encoders of all stages (:class:`StageConcatEncoder`).
"""

from __future__ import annotations

import copy
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch.utils.data import DataLoader, TensorDataset

from cl_core.mining import ClusterBatchSampler, multistage_pseudo_labels
from cl_core.mining.false_negatives import kmeans_assignments
from cl_core.training import ContrastiveModule, make_trainer, resolve_resume
from cl_core.training.trainer import checkpoint_dir
from cl_vision.data import ImageSplit
from cl_vision.fitting import sync_batchnorm_on_cpu
from cl_vision.training import TrainConfig, build_module, train
from cl_vision.views import ViewAugmentation


class StageConcatEncoder(nn.Module):
    """Concatenated features of the stage encoders (MCL's cross-stage feature integration).

    Shapes:
        ``(N, C, H, W) -> (N, sum of the stages' feature_dim)``.
    """

    def __init__(self, encoders: Sequence[nn.Module]) -> None:
        super().__init__()
        if not encoders:
            raise ValueError("encoders must hold at least one stage encoder, got none")
        self.encoders = nn.ModuleList(encoders)
        self.feature_dim = sum(int(e.feature_dim) for e in encoders)

    def forward(self, images: Tensor) -> Tensor:
        return torch.cat([encoder(images) for encoder in self.encoders], dim=1)


def cluster_conditioned_loader(
    split: ImageSplit, pseudo_labels: Tensor, batch_size: int, *, seed: int = 0
) -> DataLoader:
    """A loader whose batches each come from one pseudo-label cluster.

    The batch size is capped at the smallest cluster (but at least 2) and each cluster's
    remainder is dropped, so every batch has the same size and at least one negative.
    """
    counts = torch.bincount(pseudo_labels)
    smallest = int(counts[counts > 0].min())
    size = max(2, min(batch_size, smallest))
    sampler = ClusterBatchSampler(pseudo_labels, size, drop_last=True, seed=seed)
    return DataLoader(TensorDataset(split.train_x, split.train_y), batch_sampler=sampler)


@dataclass
class MCLRun:
    """The stage modules, the integrated encoder and the pseudo-labels of every later stage."""

    stages: list[ContrastiveModule]
    encoder: StageConcatEncoder
    pseudo_labels: list[Tensor]
    train_time_s: float
    samples_seen: int


def train_mcl(
    config: TrainConfig,
    split: ImageSplit,
    out_dir: str | Path,
    augmentation: ViewAugmentation,
    *,
    num_stages: int = 2,
    num_clusters: int = 10,
    resume: str | None = None,
    **trainer_options: Any,
) -> MCLRun:
    """Train ``num_stages`` MCL stages of ``config.method``.

    Args:
        config: the method and its settings (each stage trains ``config.epochs`` epochs).
        split: the data (labels are not used, except by supervised methods).
        out_dir: parent folder; stage s writes into ``out_dir/stage{s}``.
        augmentation: the view pipeline.
        num_stages: S >= 1 (1 is plain training).
        num_clusters: K of every stage's k-means (paper: 10).
        resume: ``"last"`` continues every stage from ``out_dir/stage{s}/checkpoints`` (finished
            stages are reloaded, the interrupted one continues, later ones start); ``None``
            starts fresh. The k-means of a stage is seeded, so it gives the same clusters again.
        **trainer_options: passed to :func:`cl_core.training.make_trainer`.

    Returns:
        An :class:`MCLRun`; ``encoder`` gives the concatenated stage features.
    """
    if num_stages < 1:
        raise ValueError(f"num_stages must be >= 1, got {num_stages}")
    if not 2 <= num_clusters <= len(split.train_x):
        raise ValueError(f"num_clusters must be in [2, {len(split.train_x)}], got {num_clusters}")
    out_dir = Path(out_dir)
    if resume not in (None, "last"):
        raise ValueError(f"resume must be None or 'last' for MCL, got {resume!r}")
    first = train(config, split, out_dir / "stage0", augmentation, resume=resume, **trainer_options)
    stages = [first.module]
    elapsed, samples = first.train_time_s, first.samples_seen
    assignments: list[Tensor] = []
    pseudo: list[Tensor] = []
    for stage in range(1, num_stages):
        features = F.normalize(stages[-1].encode(split.train_x), dim=-1)
        assignments.append(
            kmeans_assignments(features, [num_clusters], seed=config.seed + stage)[0].cpu()
        )
        labels = multistage_pseudo_labels(torch.stack(assignments), num_clusters)
        pseudo.append(labels)
        module = build_module(config, split.image_shape, split.num_classes, augmentation)
        module.load_state_dict(copy.deepcopy(stages[-1].state_dict()))
        loader = cluster_conditioned_loader(split, labels, config.batch_size, seed=config.seed)
        options: dict[str, Any] = {"enable_model_summary": False, "tensorboard": False}
        options.update(trainer_options)
        sync_batchnorm_on_cpu(module, options)
        stage_dir = out_dir / f"stage{stage}"
        trainer = make_trainer(stage_dir, max_epochs=config.epochs, seed=config.seed, **options)
        started = time.perf_counter()
        trainer.fit(module, loader, ckpt_path=resolve_resume(resume, checkpoint_dir(stage_dir)))
        elapsed += time.perf_counter() - started
        samples += trainer.global_step * loader.batch_sampler.batch_size
        stages.append(module)
    encoder = StageConcatEncoder([copy.deepcopy(m.encoder) for m in stages]).eval()
    return MCLRun(stages, encoder, pseudo, elapsed, samples)
