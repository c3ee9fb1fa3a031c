"""Log alignment, uniformity and effective rank of the training embeddings every N steps.

Alignment and uniformity: Wang & Isola, "Understanding Contrastive Representation Learning through
Alignment and Uniformity on the Hypersphere" (2020, arXiv:2005.10242). Effective rank: Roy &
Vetterli, "The effective rank: a measure of effective dimensionality" (2007); used to detect
dimensional collapse by Jing et al. (2021, arXiv:2110.09348).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import lightning.pytorch as pl
import torch
from torch import Tensor


def embedding_diagnostics(view_a: Tensor, view_b: Tensor) -> dict[str, float]:
    """Alignment of paired views, uniformity and effective rank of the first view.

    Args:
        view_a: embeddings of the first view, ``(N, D)``.
        view_b: embeddings of the second view of the same ``N`` samples, ``(N, D)``.

    Returns:
        ``{"alignment", "uniformity", "effective_rank"}`` (embeddings are L2-normalised first for
        alignment and uniformity, as in Wang & Isola).
    """
    from cl_core.metrics import alignment, effective_rank, uniformity

    a = torch.nn.functional.normalize(view_a.float(), dim=-1)
    b = torch.nn.functional.normalize(view_b.float(), dim=-1)
    return {
        "alignment": float(alignment(a, b)),
        "uniformity": float(uniformity(a)),
        "effective_rank": float(effective_rank(view_a.float(), center=True)),
    }


class EmbeddingDiagnostics(pl.Callback):
    """Every ``every_n_steps`` steps, log ``diagnostics/{alignment,uniformity,effective_rank}``.

    Reads the first two view embeddings of the step (``outputs["embeddings"]`` from
    :class:`~cl_core.training.ContrastiveModule`).

    Args:
        every_n_steps: logging interval in optimizer steps, >= 1.

    Example:
        >>> callback = EmbeddingDiagnostics(every_n_steps=50)
    """

    def __init__(self, every_n_steps: int = 50) -> None:
        if every_n_steps < 1:
            raise ValueError(f"every_n_steps must be >= 1, got {every_n_steps}")
        self.every_n_steps = every_n_steps
        self.last: dict[str, float] = {}

    def on_train_batch_end(
        self,
        trainer: pl.Trainer,
        pl_module: pl.LightningModule,
        outputs: Any,
        batch: Any,
        batch_idx: int,
    ) -> None:
        if trainer.global_step % self.every_n_steps != 0:
            return
        if not isinstance(outputs, Mapping) or len(outputs.get("embeddings", ())) < 2:
            return
        view_a, view_b = outputs["embeddings"][:2]
        self.last = embedding_diagnostics(view_a, view_b)
        pl_module.log_dict(
            {f"diagnostics/{name}": value for name, value in self.last.items()},
            batch_size=int(view_a.shape[0]),
        )
