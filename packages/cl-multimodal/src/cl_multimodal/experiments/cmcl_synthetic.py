"""CMCL's dual-sided null-space projection against plain fine-tuning on synthetic modality pairs.

Synthesized data (as suggested for CPU checks of Liu et al., NeurIPS 2025): a shared latent
:math:`z \\sim N(0, I_k)` and four "modalities" :math:`x_m = M_m z + \\epsilon` with fixed random
:math:`M_m` (d x k) and small noise, standing in for frozen encoder features. One linear map
:math:`W^m` (d x d, initialised to the identity, no bias) per modality; the steps train the pairs
(0, 1), (1, 2), (2, 3), (3, 0) in turn with the one-directional cross-entropy of CMCL's code
(logits :math:`(W^a x_a)(W^b x_b)^\\top / \\tau`, no normalisation, :math:`\\tau = 1`), SGD with
momentum (so the projection's guarantee holds exactly; the paper uses AdamW).

After each step: Recall@1 (a -> b retrieval on held-out samples) of every pair seen so far.
Stability = mean Recall@1 of the earlier pairs at the end; plasticity = mean Recall@1 of each
pair right after it was trained.

Each step is one fit of the kernel's engine (one CPU process, a fresh SGD optimizer per step as in
the paper's code); the projection of the gradients between backward and the optimizer step is a
Lightning ``on_before_optimizer_step`` hook.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import lightning.pytorch as pl
import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from cl_core.engine_options import EngineOptions
from cl_core.evaluation import recall_at_k
from cl_core.training import fit_objective
from cl_core.training.replay import ReplayBatches
from cl_multimodal.cmcl import ModalitySecondMoments, dual_null_space_gradient

PAIRS = ((0, 1), (1, 2), (2, 3), (3, 0))


@dataclass(frozen=True)
class ContinualConfig:
    """Sizes and optimisation of the synthetic continual run."""

    latent_dim: int = 8
    feature_dim: int = 32
    noise: float = 0.05
    train_size: int = 2000
    test_size: int = 500
    epochs: int = 5
    batch_size: int = 64
    lr: float = 0.01
    seed: int = 0


def _modalities(
    config: ContinualConfig, count: int, generator: torch.Generator, mixes: list[torch.Tensor]
):
    latent = torch.randn(count, config.latent_dim, generator=generator)
    return [
        latent @ mix.T + config.noise * torch.randn(count, config.feature_dim, generator=generator)
        for mix in mixes
    ]


def _recall_at_1(weights, data, a: int, b: int) -> float:
    queries = data[a] @ weights[a].T
    keys = data[b] @ weights[b].T
    return recall_at_k(
        queries.numpy(), keys.numpy(), np.arange(len(queries)), (1,), normalize=False
    )[1]


class NullSpaceProjection(pl.Callback):
    """Replace each weight's gradient by its dual-sided null-space projection before the step.

    Args:
        targets: ``(weight, input projector, output projector)`` triples
            (:meth:`ModalitySecondMoments.projectors`).
    """

    def __init__(self, targets: list[tuple[nn.Parameter, Tensor, Tensor]]) -> None:
        self.targets = targets

    def on_before_optimizer_step(
        self, trainer: pl.Trainer, pl_module: pl.LightningModule, optimizer: Any
    ) -> None:
        for weight, *projectors in self.targets:
            weight.grad = dual_null_space_gradient(weight.grad, *projectors)


def run_continual(method: str, config: ContinualConfig) -> dict[str, object]:
    """Train the pair sequence with ``"dns"`` (CMCL) or ``"finetune"``.

    Returns:
        ``recall_matrix`` (step x pair, NaN for pairs not seen yet), ``stability``,
        ``plasticity`` and ``final_mean_recall``.
    """
    if method not in ("dns", "finetune"):
        raise ValueError(f"method must be 'dns' or 'finetune', got {method!r}")
    generator = torch.Generator().manual_seed(config.seed)
    mixes = [
        torch.randn(config.feature_dim, config.latent_dim, generator=generator)
        / config.latent_dim**0.5
        for _ in range(4)
    ]
    train = _modalities(config, config.train_size, generator, mixes)
    test = _modalities(config, config.test_size, generator, mixes)
    weights = nn.ParameterList(nn.Parameter(torch.eye(config.feature_dim)) for _ in range(4))
    moments = ModalitySecondMoments(config.feature_dim, config.feature_dim)
    recall = np.full((len(PAIRS), len(PAIRS)), np.nan)
    for step, (a, b) in enumerate(PAIRS):

        def objective(weights: nn.ParameterList, index: Tensor, a: int = a, b: int = b) -> Tensor:
            logits = (train[a][index] @ weights[a].T) @ (train[b][index] @ weights[b].T).T
            return F.cross_entropy(logits, torch.arange(len(index)))

        batches = ReplayBatches(
            config.train_size,
            config.batch_size,
            lambda: torch.randperm(config.train_size, generator=generator),
            generators=(generator,),
        )
        callbacks = [batches.tracker()]
        if method == "dns":
            projectors = {m: moments.projectors(m) for m in (a, b)}
            callbacks.append(NullSpaceProjection([(weights[m], *projectors[m]) for m in (a, b)]))
        weights.train()
        fit_objective(
            weights,
            objective,
            batches,
            epochs=config.epochs,
            param_groups=[{"params": [weights[a], weights[b]]}],
            optimizer=lambda groups: torch.optim.SGD(groups, lr=config.lr, momentum=0.9),
            engine=EngineOptions(accelerator="cpu", seed=config.seed),
            callbacks=callbacks,
        )
        with torch.no_grad():
            moments.update(a, train[a], train[b] @ weights[b].T)
            moments.update(b, train[b], train[a] @ weights[a].T)
            for seen in range(step + 1):
                recall[step, seen] = _recall_at_1(weights, test, *PAIRS[seen])
    last = len(PAIRS) - 1
    return {
        "recall_matrix": recall.tolist(),
        "stability": float(np.mean(recall[last, :last])),
        "plasticity": float(np.mean(np.diag(recall))),
        "final_mean_recall": float(np.mean(recall[last])),
    }
