"""Atomic checkpoint writes: a failed or killed save never replaces the good file; background
writes keep that order."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import pytest
import torch

from cl_core.training import (
    AtomicCheckpointIO,
    BackgroundCheckpointIO,
    atomic_torch_save,
    resolve_resume,
)


def test_save_replaces_the_file_and_leaves_no_temporary(tmp_path: Path) -> None:
    target = tmp_path / "ckpt" / "last.ckpt"
    atomic_torch_save({"w": torch.zeros(3)}, target)
    atomic_torch_save({"w": torch.ones(3)}, target)
    assert torch.load(target)["w"].tolist() == [1.0, 1.0, 1.0]
    assert [p.name for p in target.parent.iterdir()] == ["last.ckpt"]


def test_a_truncated_write_never_replaces_the_good_checkpoint(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "last.ckpt"
    atomic_torch_save({"w": torch.full((4,), 7.0)}, target)

    def dies_half_way(obj: object, path: Path) -> None:  # a crash after writing a few bytes
        Path(path).write_bytes(b"PK\x03\x04 truncated")
        raise OSError("disk full")

    monkeypatch.setattr(torch, "save", dies_half_way)
    with pytest.raises(OSError, match="disk full"):
        atomic_torch_save({"w": torch.zeros(4)}, target)
    monkeypatch.undo()
    assert torch.load(target)["w"].tolist() == [7.0] * 4
    assert [p.name for p in tmp_path.iterdir()] == ["last.ckpt"]


def test_checkpoint_io_writes_atomically_and_loads_back(tmp_path: Path) -> None:
    io = AtomicCheckpointIO()
    io.save_checkpoint({"state_dict": {"w": torch.arange(3.0)}}, tmp_path / "a.ckpt")
    loaded = io.load_checkpoint(tmp_path / "a.ckpt")
    assert loaded["state_dict"]["w"].tolist() == [0.0, 1.0, 2.0]
    with pytest.raises(TypeError, match="storage_options"):
        io.save_checkpoint({}, tmp_path / "b.ckpt", storage_options={"x": 1})


def test_resolve_resume(tmp_path: Path) -> None:
    assert resolve_resume(None, tmp_path) is None
    assert resolve_resume("last", tmp_path) is None
    atomic_torch_save({}, tmp_path / "last.ckpt")
    assert resolve_resume("last", tmp_path) == tmp_path / "last.ckpt"
    assert resolve_resume(tmp_path / "last.ckpt", tmp_path / "elsewhere") == tmp_path / "last.ckpt"
    with pytest.raises(FileNotFoundError, match=r"missing\.ckpt"):
        resolve_resume(tmp_path / "missing.ckpt", tmp_path)


def test_resume_last_falls_back_to_the_newest_step_checkpoint(tmp_path: Path) -> None:
    for step in (3, 12, 9):
        atomic_torch_save({"step": step}, tmp_path / f"step={step}.ckpt")
    (tmp_path / "step=oops.ckpt").write_text("not a step checkpoint")
    assert resolve_resume("last", tmp_path) == tmp_path / "step=12.ckpt"
    (tmp_path / "last.ckpt").symlink_to("step=9.ckpt")
    assert resolve_resume("last", tmp_path) == tmp_path / "last.ckpt"
    (tmp_path / "step=9.ckpt").unlink()  # a dangling link is not a checkpoint
    assert resolve_resume("last", tmp_path) == tmp_path / "step=12.ckpt"


def test_background_writes_snapshot_the_tensors_at_save_time(tmp_path: Path) -> None:
    io = BackgroundCheckpointIO()
    weights = torch.zeros(3)
    io.save_checkpoint({"state_dict": {"w": weights}, "step": 1}, tmp_path / "a.ckpt")
    weights.add_(5.0)  # the next optimizer step changes the live tensor in place
    io.teardown()
    loaded = torch.load(tmp_path / "a.ckpt")
    assert loaded["state_dict"]["w"].tolist() == [0.0, 0.0, 0.0]
    assert loaded["step"] == 1


class _GatedWrites(BackgroundCheckpointIO):
    """Background writes that wait for a gate, recording the order of writes and removals."""

    def __init__(self) -> None:
        super().__init__()
        self.gate = threading.Event()
        self.events: list[str] = []

    def _write(self, checkpoint: dict[str, Any], path: Any) -> None:
        self.gate.wait(timeout=30)
        super()._write(checkpoint, path)
        self.events.append(f"wrote {Path(path).name}")

    def _remove(self, path: Any) -> None:
        super()._remove(path)
        self.events.append(f"removed {Path(path).name}")


def test_the_old_checkpoint_is_removed_only_after_the_new_one_is_written(tmp_path: Path) -> None:
    io = _GatedWrites()
    atomic_torch_save({"step": 1}, tmp_path / "step=1.ckpt")
    io.save_checkpoint({"step": 2}, tmp_path / "step=2.ckpt")
    io.remove_checkpoint(tmp_path / "step=1.ckpt")
    # While the write is pending, the previous checkpoint is still the one to resume from.
    assert resolve_resume("last", tmp_path) == tmp_path / "step=1.ckpt"
    io.gate.set()
    io.teardown()
    assert io.events == ["wrote step=2.ckpt", "removed step=1.ckpt"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["step=2.ckpt"]


def test_a_failed_background_write_is_raised_at_teardown_and_keeps_the_old_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "last.ckpt"
    atomic_torch_save({"w": torch.full((2,), 7.0)}, target)

    def disk_full(obj: object, path: Path) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(torch, "save", disk_full)
    io = BackgroundCheckpointIO()
    io.save_checkpoint({"w": torch.zeros(2)}, target)  # fails on the writer thread
    with pytest.raises(OSError, match="disk full"):
        io.teardown()
    monkeypatch.undo()
    assert torch.load(target)["w"].tolist() == [7.0, 7.0]
    assert [p.name for p in tmp_path.iterdir()] == ["last.ckpt"]


def test_background_io_rejects_storage_options_like_the_atomic_one(tmp_path: Path) -> None:
    io = BackgroundCheckpointIO()
    with pytest.raises(TypeError, match="storage_options"):
        io.save_checkpoint({}, tmp_path / "b.ckpt", storage_options={"x": 1})


def test_the_checkpoint_folder_exists_when_save_returns(tmp_path: Path) -> None:
    # Lightning creates the last.ckpt link next to the file right after save_checkpoint returns.
    io = _GatedWrites()
    io.save_checkpoint({"step": 3}, tmp_path / "checkpoints" / "step=3.ckpt")
    (tmp_path / "checkpoints" / "last.ckpt").symlink_to("step=3.ckpt")
    io.gate.set()
    io.teardown()
    assert torch.load(tmp_path / "checkpoints" / "last.ckpt")["step"] == 3
