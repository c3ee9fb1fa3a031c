"""Finding the checkpoint to resume from, and keeping the sampler position in step with training."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import lightning.pytorch as pl
from lightning.pytorch.utilities import CombinedLoader

from cl_core.training.sampler import ResumableSampler

LAST_CHECKPOINT = "last.ckpt"


def resolve_resume(resume: str | Path | None, checkpoint_dir: str | Path) -> Path | None:
    """The checkpoint path for ``Trainer.fit(ckpt_path=...)``.

    Args:
        resume: ``None`` (start fresh), ``"last"`` (``checkpoint_dir/last.ckpt`` if it exists, else
            start fresh) or a path to a checkpoint file.
        checkpoint_dir: where :func:`~cl_core.training.make_trainer` writes checkpoints.

    Returns:
        The checkpoint to load, or ``None`` to start from scratch.

    Raises:
        FileNotFoundError: ``resume`` names a file that does not exist.
    """
    if resume is None:
        return None
    if str(resume) == "last":
        last = Path(checkpoint_dir) / LAST_CHECKPOINT
        return last if last.is_file() else None
    path = Path(resume)
    if not path.is_file():
        raise FileNotFoundError(f"resume checkpoint {path} does not exist")
    return path


def _resumable_samplers(trainer: pl.Trainer) -> list[ResumableSampler]:
    loaders: Any = trainer.train_dataloader
    if loaders is None:
        return []
    flat = (
        loaders.flattened
        if isinstance(loaders, CombinedLoader)
        else CombinedLoader(loaders).flattened
    )
    return [
        loader.sampler
        for loader in flat
        if isinstance(getattr(loader, "sampler", None), ResumableSampler)
    ]


class TrackSamplerProgress(pl.Callback):
    """Tell every :class:`ResumableSampler` which batch the training loop has started.

    Lightning prefetches a batch ahead, so a checkpoint saved after batch ``i`` must record
    ``i + 1`` started batches, not the number the sampler has already handed to the fetcher.
    """

    def on_train_batch_start(
        self, trainer: pl.Trainer, pl_module: pl.LightningModule, batch: Any, batch_idx: int
    ) -> None:
        for sampler in _resumable_samplers(trainer):
            sampler.mark_started(batch_idx)
