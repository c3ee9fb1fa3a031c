"""M3CoL against CLIP-regularised and plain fusion classifiers on synthesized two-view data.

Synthesized data (the CPU check of methods.md): class means in a 16-d latent, each sample a class
mean plus noise, seen through two fixed random linear "modalities" (24-d and 32-d) with their own
noise; few labelled samples, so the contrastive term has something to regularise. Training runs
on the kernel's engine (one CPU process); batch order and mixup draw from one seeded generator.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor

from cl_core.engine_options import EngineOptions
from cl_multimodal.m3col import CONTRASTIVE_TERMS, FusionClassifier, m3col_loss


@dataclass(frozen=True)
class TwoViewConfig:
    """Sizes and optimisation of the two-view classification toy."""

    classes: int = 8
    train_size: int = 200
    test_size: int = 2000
    epochs: int = 60
    batch_size: int = 64
    lr: float = 3e-3
    mixup_fraction: float = 1 / 3
    seed: int = 0


def _two_views(config: TwoViewConfig, generator: torch.Generator):
    means = 0.6 * torch.randn(config.classes, 16, generator=generator)
    maps = [torch.randn(d, 16, generator=generator) / 4 for d in (24, 32)]

    def sample(count: int):
        labels = torch.randint(0, config.classes, (count,), generator=generator)
        latent = means[labels] + torch.randn(count, 16, generator=generator)
        views = [
            latent @ m.T + 1.0 * torch.randn(count, m.shape[0], generator=generator) for m in maps
        ]
        return views[0], views[1], labels

    return sample


def compare_m3col(config: TwoViewConfig) -> dict[str, dict[str, float]]:
    """Test accuracy of the fusion head (``fusion_acc``) and of each unimodal head for every
    contrastive term in ``("m3co", "clip", "none")``, all from the same data and seed."""
    from cl_core.training import fit_objective
    from cl_core.training.replay import ReplayBatches

    generator = torch.Generator().manual_seed(config.seed)
    sample = _two_views(config, generator)
    train, test = sample(config.train_size), sample(config.test_size)
    results = {}
    for term in CONTRASTIVE_TERMS:
        torch.manual_seed(config.seed)
        model = FusionClassifier(24, 32, config.classes)
        batches = ReplayBatches(
            config.train_size,
            config.batch_size,
            lambda: torch.randperm(config.train_size, generator=generator),
            generators=(generator,),
        )

        def objective(
            model: FusionClassifier, index: Tensor, term: str = term, batches=batches
        ) -> Tensor:
            return m3col_loss(
                model,
                train[0][index],
                train[1][index],
                train[2][index],
                contrastive=term,
                mixup_phase=batches.epoch < config.mixup_fraction * config.epochs,
                generator=generator,
            )

        fit_objective(
            model,
            objective,
            batches,
            epochs=config.epochs,
            lr=config.lr,
            weight_decay=1e-4,
            engine=EngineOptions(accelerator="cpu", seed=config.seed),
            callbacks=[batches.tracker()],
        )
        with torch.no_grad():
            fusion, head_a, head_b, _, _ = model(test[0], test[1])
        results[term] = {
            name: (logits.argmax(1) == test[2]).float().mean().item()
            for name, logits in (("fusion_acc", fusion), ("a_acc", head_a), ("b_acc", head_b))
        }
    return results
