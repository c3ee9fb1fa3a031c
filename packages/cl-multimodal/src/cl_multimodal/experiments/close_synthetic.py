"""CLOSE on a synthesized joint space: a classifier trained on text embeddings only, tested on
image embeddings, against the same classifier trained on image embeddings.

Synthesized data (the CPU check of methods.md): class latents :math:`z = \\mu_y + s u`
(spread s) in :math:`\\mathbb{R}^{k}`, mapped by a shared random linear map to
:math:`\\mathbb{R}^{d}`; each modality adds its own constant offset (the modality gap) and
noise, then rows are L2-normalised, as in a contrastive image-text space. The text-only
classifier (softmax regression) sees noisy text embeddings
(:func:`cl_multimodal.close.modality_gap_noise`, one noise scale w per run); ``w = 0`` is
text-only training without CLOSE. Each classifier trains full-batch with SGD on the kernel's
engine (one CPU process); the noise draws from the experiment's seeded generator.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from cl_core.engine_options import EngineOptions
from cl_multimodal.close import modality_gap_noise


@dataclass(frozen=True)
class GapConfig:
    """Sizes of the synthesized joint space and the classifier's training."""

    classes: int = 10
    latent_dim: int = 16
    dim: int = 64
    gap: float = 2.0
    spread: float = 0.8
    train_size: int = 2000
    test_size: int = 1000
    epochs: int = 100
    lr: float = 0.5
    seed: int = 0


def _joint_space(config: GapConfig, generator: torch.Generator):
    means = torch.randn(config.classes, config.latent_dim, generator=generator)
    mix = torch.randn(config.dim, config.latent_dim, generator=generator) / config.latent_dim**0.5
    offsets = [torch.randn(config.dim, generator=generator) for _ in range(2)]
    offsets = [config.gap * o / o.norm() * means.norm(dim=1).mean() for o in offsets]

    def sample(count: int, modality: int):
        labels = torch.randint(0, config.classes, (count,), generator=generator)
        spread = torch.randn(count, config.latent_dim, generator=generator)
        latent = means[labels] + config.spread * spread
        noise = 0.1 * torch.randn(count, config.dim, generator=generator)
        return F.normalize(latent @ mix.T + offsets[modality] + noise, dim=-1), labels

    return sample


class _Classifier(nn.Module):
    def __init__(self, dim: int, classes: int) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.zeros(dim, classes))
        self.bias = nn.Parameter(torch.zeros(classes))


def _train_classifier(features, labels, classes, config: GapConfig, noise_std: float, generator):
    from cl_core.training import fit_objective
    from cl_core.training.replay import ReplayBatches

    model = _Classifier(features.shape[1], classes)

    def objective(model: _Classifier, index: Tensor) -> Tensor:
        noisy = modality_gap_noise(features[index], noise_std, generator)
        return F.cross_entropy(noisy @ model.weight / 0.1 + model.bias, labels[index])

    count = len(features)
    batches = ReplayBatches(count, count, lambda: torch.arange(count), generators=(generator,))
    fit_objective(
        model,
        objective,
        batches,
        epochs=config.epochs,
        optimizer=lambda groups: torch.optim.SGD(groups, lr=config.lr),
        engine=EngineOptions(accelerator="cpu", seed=config.seed),
        callbacks=[batches.tracker()],
    )
    return model.weight.detach(), model.bias.detach()


def compare_close(
    config: GapConfig, noise_levels: Sequence[float] = (0.0, 0.04, 0.08, 0.16, 0.32, 0.64)
) -> dict[str, float]:
    """Image-test accuracy of text-only classifiers for each noise level ``acc_text_w<w>``,
    the best of them (``close_best_acc``, its ``close_best_noise``), and the classifier trained
    on image embeddings (``image_trained_acc``)."""
    if any(w < 0 for w in noise_levels) or not noise_levels:
        raise ValueError(f"noise_levels must be non-empty and >= 0, got {noise_levels}")
    generator = torch.Generator().manual_seed(config.seed)
    sample = _joint_space(config, generator)
    text, text_labels = sample(config.train_size, 0)
    images, image_labels = sample(config.train_size, 1)
    test, test_labels = sample(config.test_size, 1)

    def accuracy(weight, bias) -> float:
        return ((test @ weight / 0.1 + bias).argmax(1) == test_labels).float().mean().item()

    metrics = {}
    for w in noise_levels:
        params = _train_classifier(text, text_labels, config.classes, config, w, generator)
        metrics[f"acc_text_w{w:g}"] = accuracy(*params)
    best = max(noise_levels, key=lambda w: metrics[f"acc_text_w{w:g}"])
    metrics["close_best_acc"] = metrics[f"acc_text_w{best:g}"]
    metrics["close_best_noise"] = float(best)
    params = _train_classifier(images, image_labels, config.classes, config, 0.0, generator)
    metrics["image_trained_acc"] = accuracy(*params)
    return metrics
