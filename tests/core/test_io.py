"""cl_core.io: atomic writes replace the destination whole, or leave it untouched."""

import subprocess
import sys
from pathlib import Path

import pytest

from cl_core.io import atomic_path, atomic_write_bytes, atomic_write_text


def test_atomic_write_text_replaces_and_leaves_no_temporary_files(tmp_path: Path) -> None:
    target = tmp_path / "sub" / "results.json"
    atomic_write_text(target, "first")
    atomic_write_text(target, "second")
    assert target.read_text() == "second"
    assert sorted(p.name for p in target.parent.iterdir()) == ["results.json"]


def test_atomic_write_bytes_round_trips(tmp_path: Path) -> None:
    target = tmp_path / "blob.bin"
    atomic_write_bytes(target, b"\x00\x01\x02")
    assert target.read_bytes() == b"\x00\x01\x02"


def test_a_failing_writer_keeps_the_old_file_and_removes_its_temporary(tmp_path: Path) -> None:
    target = tmp_path / "plot.png"
    target.write_text("old")
    with pytest.raises(RuntimeError, match="boom"), atomic_path(target) as temp:
        temp.write_text("half")
        raise RuntimeError("boom")
    assert target.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["plot.png"]


def test_the_temporary_keeps_the_destination_suffix(tmp_path: Path) -> None:
    with atomic_path(tmp_path / "figure.png") as temp:
        assert temp.suffix == ".png"
        assert temp.parent == tmp_path
        temp.write_bytes(b"x")


def test_importing_cl_core_io_does_not_import_torch() -> None:
    code = "import sys, cl_core.io; print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
