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
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

from cl_core.evaluation import recall_at_k
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
    weights = [torch.eye(config.feature_dim, requires_grad=True) for _ in range(4)]
    moments = ModalitySecondMoments(config.feature_dim, config.feature_dim)
    recall = np.full((len(PAIRS), len(PAIRS)), np.nan)
    for step, (a, b) in enumerate(PAIRS):
        projectors = {m: moments.projectors(m) for m in (a, b)}
        optimizer = torch.optim.SGD([weights[a], weights[b]], lr=config.lr, momentum=0.9)
        for _ in range(config.epochs):
            order = torch.randperm(config.train_size, generator=generator)
            for start in range(0, config.train_size - config.batch_size + 1, config.batch_size):
                index = order[start : start + config.batch_size]
                logits = (train[a][index] @ weights[a].T) @ (train[b][index] @ weights[b].T).T
                loss = F.cross_entropy(logits, torch.arange(len(index)))
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                if method == "dns":
                    for m in (a, b):
                        weights[m].grad = dual_null_space_gradient(weights[m].grad, *projectors[m])
                optimizer.step()
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
