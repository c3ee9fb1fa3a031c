"""Atomic checkpoint writes: a failed or killed save never replaces the good file."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from cl_core.training import AtomicCheckpointIO, atomic_torch_save, resolve_resume


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
