"""At the end of training, plot the singular-value spectrum and a 2-D PCA of held-out embeddings.

A spectrum that falls to zero after a few components is the signature of dimensional collapse (Jing
et al., "Understanding Dimensional Collapse in Contrastive Self-supervised Learning", 2021,
arXiv:2110.09348).
"""

from __future__ import annotations

from pathlib import Path

import lightning.pytorch as pl
import torch
from torch import Tensor

from cl_core.io import atomic_path


def save_spectrum_and_projection(
    embeddings: Tensor, path: str | Path, labels: Tensor | None = None, title: str = ""
) -> Path:
    """Write a PNG with the normalised singular values (log scale) and a 2-D PCA scatter.

    Args:
        embeddings: ``(N, D)`` with ``N >= 2`` and ``D >= 2``.
        path: PNG file to write.
        labels: optional ``(N,)`` integer classes used to colour the scatter.
        title: figure title.

    Returns:
        The path written.
    """
    if not isinstance(embeddings, Tensor) or embeddings.dim() != 2:
        raise ValueError(
            "embeddings must be a 2-D tensor (N, D), "
            f"got {getattr(embeddings, 'shape', type(embeddings).__name__)}"
        )
    if embeddings.shape[0] < 2 or embeddings.shape[1] < 2:
        raise ValueError(f"embeddings need N >= 2 and D >= 2, got shape {tuple(embeddings.shape)}")
    if labels is not None and labels.shape != embeddings.shape[:1]:
        raise ValueError(
            f"labels must have shape ({embeddings.shape[0]},), got {tuple(labels.shape)}"
        )
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    z = embeddings.detach().float().cpu()
    centered = z - z.mean(dim=0)
    singular = torch.linalg.svdvals(centered)
    singular = singular / singular.max().clamp_min(1e-12)
    _, _, components = torch.pca_lowrank(centered, q=2, center=False)
    projected = centered @ components[:, :2]

    figure, (left, right) = plt.subplots(1, 2, figsize=(10, 4))
    left.semilogy(range(1, len(singular) + 1), singular.clamp_min(1e-12).numpy(), marker=".")
    left.set_xlabel("component")
    left.set_ylabel("singular value / max")
    left.set_title("singular-value spectrum")
    if labels is None:
        right.scatter(projected[:, 0].numpy(), projected[:, 1].numpy(), s=6)
    else:
        right.scatter(
            projected[:, 0].numpy(),
            projected[:, 1].numpy(),
            c=labels.cpu().numpy(),
            s=6,
            cmap="tab10",
        )
    right.set_title("PCA of held-out embeddings")
    if title:
        figure.suptitle(title)
    figure.tight_layout()
    destination = Path(path)
    with atomic_path(destination) as temporary:
        figure.savefig(temporary, dpi=100)
    plt.close(figure)
    return destination


class SpectrumAndProjectionPlot(pl.Callback):
    """At ``on_train_end``, embed ``holdout`` with ``pl_module.encode`` and save the PNG.

    Args:
        holdout: held-out inputs ``(N, ...)`` for the module's encoder.
        path: PNG to write (default: ``<trainer.default_root_dir>/spectrum_projection.png``).
        labels: optional ``(N,)`` classes for colouring.

    Example:
        >>> callback = SpectrumAndProjectionPlot(torch.randn(100, 64))
    """

    def __init__(
        self, holdout: Tensor, path: str | Path | None = None, labels: Tensor | None = None
    ) -> None:
        if not isinstance(holdout, Tensor) or holdout.dim() < 2 or holdout.shape[0] < 2:
            raise ValueError(
                "holdout must be a tensor of at least 2 samples (N, ...), "
                f"got {getattr(holdout, 'shape', type(holdout).__name__)}"
            )
        self.holdout = holdout
        self.path = None if path is None else Path(path)
        self.labels = labels
        self.written: Path | None = None

    def on_train_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        if not trainer.is_global_zero:
            return
        encode = getattr(pl_module, "encode", None)
        if encode is None:
            raise TypeError(
                "SpectrumAndProjectionPlot needs a module with encode(), "
                f"got {type(pl_module).__name__}"
            )
        embeddings = encode(self.holdout.to(pl_module.device))
        path = self.path or Path(trainer.default_root_dir) / "spectrum_projection.png"
        self.written = save_spectrum_and_projection(embeddings, path, self.labels)
