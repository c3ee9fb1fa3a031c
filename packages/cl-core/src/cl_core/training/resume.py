"""Finding the checkpoint to resume from, and keeping the sampler position in step with training."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import lightning.pytorch as pl
from lightning.pytorch.utilities import CombinedLoader

from cl_core.training.sampler import ResumableSampler

LAST_CHECKPOINT = "last.ckpt"
_STEP_NAME = re.compile(r"step=(\d+)\.ckpt")


def resolve_resume(resume: str | Path | None, checkpoint_dir: str | Path) -> Path | None:
    """The checkpoint path for ``Trainer.fit(ckpt_path=...)``.

    Args:
        resume: ``None`` (start fresh), ``"last"`` (``checkpoint_dir/last.ckpt``; if that link is
            missing - a crash while it was being replaced - the ``step=N.ckpt`` file with the
            largest N; with no checkpoint at all, start fresh) or a path to a checkpoint file.
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
        return last if last.is_file() else newest_step_checkpoint(checkpoint_dir)
    path = Path(resume)
    if not path.is_file():
        raise FileNotFoundError(f"resume checkpoint {path} does not exist")
    return path


def newest_step_checkpoint(checkpoint_dir: str | Path) -> Path | None:
    """The ``step=N.ckpt`` file in ``checkpoint_dir`` with the largest N (None if there is none)."""
    found: list[tuple[int, Path]] = []
    for path in Path(checkpoint_dir).glob("step=*.ckpt"):
        match = _STEP_NAME.fullmatch(path.name)
        if match and path.is_file():
            found.append((int(match.group(1)), path))
    return max(found)[1] if found else None


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
