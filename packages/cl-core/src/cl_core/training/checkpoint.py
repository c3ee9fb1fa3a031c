"""Lightning checkpoint I/O that writes every checkpoint atomically (through :mod:`cl_core.io`)."""

from __future__ import annotations

import os
from typing import Any

from lightning.pytorch.plugins.io import TorchCheckpointIO

from cl_core.io import atomic_torch_save


class AtomicCheckpointIO(TorchCheckpointIO):
    """Lightning checkpoint I/O that saves through :func:`atomic_torch_save`.

    Pass it as ``Trainer(plugins=[AtomicCheckpointIO()])`` (``make_trainer`` does) and every
    ``ModelCheckpoint`` file, including ``last.ckpt``, is written atomically.
    """

    def save_checkpoint(
        self,
        checkpoint: dict[str, Any],
        path: str | os.PathLike[str],
        storage_options: Any | None = None,
    ) -> None:
        if storage_options is not None:
            raise TypeError(
                "AtomicCheckpointIO.save_checkpoint takes no storage_options, "
                f"got {type(storage_options).__name__}"
            )
        atomic_torch_save(checkpoint, path)
