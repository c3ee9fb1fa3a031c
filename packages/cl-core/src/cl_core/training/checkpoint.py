"""Lightning checkpoint I/O that writes every checkpoint atomically (through :mod:`cl_core.io`),
in place or on a background thread."""

from __future__ import annotations

import os
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any

from lightning.pytorch.plugins.io import TorchCheckpointIO
from lightning_utilities.core.apply_func import apply_to_collection

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


class BackgroundCheckpointIO(AtomicCheckpointIO):
    """:class:`AtomicCheckpointIO` that writes on a background thread while training goes on.

    ``save_checkpoint`` snapshots the checkpoint's tensors (a copy on the calling thread, so the
    next optimizer step cannot change what is written) and queues the atomic write on one worker
    thread; ``remove_checkpoint`` is queued on the same thread, so the previous checkpoint is
    deleted only after the new one is complete on disk. Crash safety is therefore that of
    :class:`AtomicCheckpointIO`: at any moment the newest complete ``step=N.ckpt`` exists, and a
    ``last.ckpt`` link whose target is still being written dangles, which
    :func:`~cl_core.training.resolve_resume` handles by taking the newest complete file.
    ``teardown`` (the end of every ``Trainer.fit``) waits for all queued work, so files are on
    disk when ``fit`` returns; an error of a background write is raised at the next save or at
    teardown. Costs one extra copy of the checkpoint's tensors in memory while a write is pending.

    Lightning falls back to copying the file where it cannot create the ``last.ckpt`` symlink
    (Windows without the privilege), which needs the file written: there it writes in place.

    Example:
        >>> io = BackgroundCheckpointIO()
        >>> import tempfile, pathlib, torch
        >>> path = pathlib.Path(tempfile.mkdtemp()) / "a.ckpt"
        >>> io.save_checkpoint({"w": torch.ones(2)}, path)
        >>> io.teardown()
        >>> torch.load(path)["w"].tolist()
        [1.0, 1.0]
    """

    def __init__(self) -> None:
        super().__init__()
        self._executor: ThreadPoolExecutor | None = None
        self._pending: list[Future[None]] = []

    def save_checkpoint(
        self,
        checkpoint: dict[str, Any],
        path: str | os.PathLike[str],
        storage_options: Any | None = None,
    ) -> None:
        if os.name == "nt" or storage_options is not None:
            super().save_checkpoint(checkpoint, path, storage_options)
            return
        self._raise_finished_errors()
        # The folder must exist now: Lightning links last.ckpt to the file right after this call.
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        self._submit(self._write, _snapshot_tensors(checkpoint), path)

    def remove_checkpoint(self, path: str | os.PathLike[str]) -> None:
        if self._executor is None:
            super().remove_checkpoint(path)
            return
        self._submit(self._remove, path)

    def wait(self) -> None:
        """Block until every queued write and removal is done; raise the first error."""
        pending, self._pending = self._pending, []
        errors = [future.exception() for future in pending]
        for error in errors:
            if error is not None:
                raise error

    def teardown(self) -> None:
        try:
            self.wait()
        finally:
            if self._executor is not None:
                self._executor.shutdown(wait=True)
                self._executor = None

    def _write(self, checkpoint: dict[str, Any], path: str | os.PathLike[str]) -> None:
        AtomicCheckpointIO.save_checkpoint(self, checkpoint, path)

    def _remove(self, path: str | os.PathLike[str]) -> None:
        AtomicCheckpointIO.remove_checkpoint(self, path)

    def _submit(self, fn: Any, *args: Any) -> None:
        if self._executor is None:
            self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="checkpoint")
        self._pending.append(self._executor.submit(fn, *args))

    def _raise_finished_errors(self) -> None:
        done = [future for future in self._pending if future.done()]
        self._pending = [future for future in self._pending if not future.done()]
        for future in done:
            error = future.exception()
            if error is not None:
                raise error


def _snapshot_tensors(checkpoint: dict[str, Any]) -> dict[str, Any]:
    """``checkpoint`` with every tensor replaced by a detached copy."""
    import torch

    return apply_to_collection(checkpoint, torch.Tensor, lambda t: t.detach().clone())
