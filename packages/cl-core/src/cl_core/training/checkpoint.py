"""Atomic checkpoint files: a killed process never leaves a truncated file under the real name.

Each save writes to a temporary file in the destination directory, flushes and ``fsync``s it, then
``os.replace``s it over the destination (atomic on POSIX and Windows within one file system) and
``fsync``s the directory so the rename itself is durable.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path
from typing import Any

import torch
from lightning.pytorch.plugins.io import TorchCheckpointIO


def atomic_torch_save(obj: Any, path: str | os.PathLike[str]) -> None:
    """``torch.save(obj, path)`` that either fully replaces ``path`` or leaves it untouched.

    Args:
        obj: anything :func:`torch.save` accepts.
        path: destination file; its directory is created if needed.

    Example:
        >>> import tempfile, pathlib
        >>> target = pathlib.Path(tempfile.mkdtemp()) / "x.pt"
        >>> atomic_torch_save({"w": torch.ones(2)}, target)
        >>> torch.load(target)["w"].tolist()
        [1.0, 1.0]
    """
    destination = Path(path)
    destination.parent.mkdir(parents=True, exist_ok=True)
    fd, temp_name = tempfile.mkstemp(
        prefix=f".{destination.name}.", suffix=".tmp", dir=destination.parent
    )
    try:
        with os.fdopen(fd, "wb") as handle:
            torch.save(obj, handle)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temp_name, destination)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temp_name)
        raise
    _fsync_directory(destination.parent)


def _fsync_directory(directory: Path) -> None:
    """Make a rename inside ``directory`` durable (a no-op where directories cannot be opened)."""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


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
