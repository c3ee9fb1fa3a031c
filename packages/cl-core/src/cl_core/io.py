"""Atomic file writes: a killed process never leaves a truncated file under the real name.

Every writer goes through :func:`atomic_path`: it hands out a temporary file in the destination's
directory, and on success flushes it to disk, ``os.replace``s it over the destination (atomic on
POSIX and Windows within one file system) and ``fsync``s the directory so the rename is durable.
On an exception the temporary file is removed and the destination is left untouched.

This module imports nothing heavy; :func:`atomic_torch_save` imports torch when called.

Example:
    >>> import json, tempfile, pathlib
    >>> target = pathlib.Path(tempfile.mkdtemp()) / "results.json"
    >>> atomic_write_text(target, json.dumps({"acc": 0.9}))
    >>> json.loads(target.read_text())
    {'acc': 0.9}
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike[str]) -> Iterator[Path]:
    """Yield a temporary path to write; on clean exit it atomically replaces ``path``.

    The temporary file sits in ``path``'s directory (created if needed) and keeps ``path``'s suffix,
    so writers that pick a format from the suffix (matplotlib, soundfile) still work.

    Args:
        path: the destination file.

    Example:
        >>> import tempfile, pathlib
        >>> target = pathlib.Path(tempfile.mkdtemp()) / "a.txt"
        >>> with atomic_path(target) as temp:
        ...     _ = temp.write_text("done")
        >>> target.read_text()
        'done'
    """
    destination = Path(path)
    destination.parent.mkdir(parents=True, exist_ok=True)
    fd, temp_name = tempfile.mkstemp(
        prefix=f".{destination.stem}.", suffix=f".tmp{destination.suffix}", dir=destination.parent
    )
    os.close(fd)
    temp = Path(temp_name)
    try:
        yield temp
        with open(temp, "rb+") as handle:
            os.fsync(handle.fileno())
        os.replace(temp, destination)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            temp.unlink()
        raise
    _fsync_directory(destination.parent)


def atomic_write_text(path: str | os.PathLike[str], text: str, encoding: str = "utf-8") -> None:
    """Replace ``path`` with ``text`` atomically (see :func:`atomic_path`)."""
    with atomic_path(path) as temp:
        temp.write_text(text, encoding=encoding)


def atomic_write_bytes(path: str | os.PathLike[str], data: bytes) -> None:
    """Replace ``path`` with ``data`` atomically (see :func:`atomic_path`)."""
    with atomic_path(path) as temp:
        temp.write_bytes(data)


def atomic_torch_save(obj: Any, path: str | os.PathLike[str]) -> None:
    """``torch.save(obj, path)`` that either fully replaces ``path`` or leaves it untouched.

    Args:
        obj: anything :func:`torch.save` accepts.
        path: destination file; its directory is created if needed.

    Example:
        >>> import tempfile, pathlib, torch
        >>> target = pathlib.Path(tempfile.mkdtemp()) / "x.pt"
        >>> atomic_torch_save({"w": torch.ones(2)}, target)
        >>> torch.load(target)["w"].tolist()
        [1.0, 1.0]
    """
    import torch

    with atomic_path(path) as temp:
        torch.save(obj, temp)


def _fsync_directory(directory: Path) -> None:
    """Make a rename inside ``directory`` durable (a no-op where directories cannot be opened)."""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
