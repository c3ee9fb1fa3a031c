"""The data source chain: installed package -> data folder -> cache -> verified download.

Downloads are tested against a real ``http.server`` on 127.0.0.1 serving a small fixture: a good
file, a truncated one and one with the wrong checksum. Nothing leaves this machine.
"""

from __future__ import annotations

import hashlib
import http.server
import io
import os
import socket
import subprocess
import sys
import tarfile
import threading
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import ClassVar

import pytest

from cl_core.cli import UserFacingError
from cl_core.datasets import sources
from cl_core.datasets.sources import (
    DatasetSource,
    DataUnavailableError,
    InstalledLocation,
    RemoteFile,
    all_requirements,
    ensure_available,
    requirement_status,
    resolve_dataset,
)

GOOD = b"score\tfirst\tsecond\n4.5\ta cat sits\ta cat is sitting\n" * 50
OTHER = b"label\n1\n2\n3\n"


class _Fixture(http.server.BaseHTTPRequestHandler):
    """Serves ``/good``, ``/other``, ``/truncated`` (promises more bytes than it sends) and
    ``/package.tgz``; counts the requests per path."""

    files: ClassVar[dict[str, bytes]] = {}
    requests: ClassVar[Counter[str]] = Counter()

    def do_GET(self) -> None:
        self.requests[self.path] += 1
        key = self.path.removeprefix("/")
        truncated = key.startswith("truncated-")
        body = self.files.get(key.removeprefix("truncated-"))
        if body is None:
            self.send_error(404)
            return
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body[: len(body) // 2] if truncated else body)

    def log_message(self, *args: object) -> None:
        pass


def _tarball(files: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        for name, data in files.items():
            info = tarfile.TarInfo(f"package/{name}")
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


PACKAGE = _tarball({"emoji.json": b"[]", "img/google/64/1f600.png": b"png"})


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    _Fixture.files = {"good": GOOD, "other": OTHER, "package.tgz": PACKAGE}
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Fixture)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}/"
    httpd.shutdown()
    httpd.server_close()
    thread.join()


@pytest.fixture(autouse=True)
def isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A private cache, no data folder, a fresh record of failed sources."""
    cache = tmp_path / "cache"
    monkeypatch.setenv("CL_CACHE_DIR", str(cache))
    for name in ("CL_DATA_DIR", "CL_OFFLINE", "CL_FASHION_MNIST_DIR", "CL_NPM_PREFIX"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr(sources, "_FAILED", {})
    _Fixture.requests.clear()
    return cache


def _sha256(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def _toy(monkeypatch: pytest.MonkeyPatch, files: tuple[RemoteFile, ...], **fields) -> str:
    fields.setdefault("markers", tuple(remote.path for remote in files) or ("good.tsv",))
    source = DatasetSource(
        name="toy",
        title="Toy data set (test fixture)",
        subdir="toy/set",
        install_hint="apt-get install toy-data",
        files=files,
        **fields,
    )
    monkeypatch.setitem(sources.DATASETS, "toy", source)
    return "toy"


def _good_files(server: str) -> tuple[RemoteFile, ...]:
    other_md5 = "md5:" + hashlib.md5(OTHER).hexdigest()
    return (
        RemoteFile(server + "good", "good.tsv", _sha256(GOOD)),
        RemoteFile(server + "other", "sub/other.txt", other_md5),
    )


def _leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.rglob("*") if p.is_file()) if folder.exists() else []


def test_good_download_is_verified_cached_and_not_repeated(server, isolated, monkeypatch):
    name = _toy(monkeypatch, _good_files(server))
    assert not requirement_status(name).available
    folder = resolve_dataset(name)
    assert folder == isolated / "toy" / "set"
    assert (folder / "good.tsv").read_bytes() == GOOD
    assert (folder / "sub" / "other.txt").read_bytes() == OTHER
    assert _leftovers(folder) == ["good.tsv", "other.txt"]
    assert _Fixture.requests == Counter({"/good": 1, "/other": 1})
    assert resolve_dataset(name) == folder
    assert _Fixture.requests == Counter({"/good": 1, "/other": 1})
    status = requirement_status(name)
    assert status.available and status.where == str(folder) and status.kind == "dataset"


@pytest.mark.parametrize(
    ("path", "checksum", "reason"),
    [
        ("truncated-good", _sha256(GOOD), "broken download|does not match"),
        ("good", _sha256(b"something else"), "does not match"),
    ],
    ids=["truncated", "wrong-checksum"],
)
def test_broken_download_leaves_nothing_that_is_trusted(
    server, isolated, monkeypatch, path, checksum, reason
):
    name = _toy(monkeypatch, (RemoteFile(server + path, "good.tsv", checksum),))
    with pytest.raises(DataUnavailableError, match=reason) as error:
        resolve_dataset(name)
    assert "\n" not in str(error.value)
    assert _leftovers(isolated) == []
    assert not requirement_status(name).available
    # The failed source is not tried again in this process.
    requests = sum(_Fixture.requests.values())
    with pytest.raises(DataUnavailableError):
        resolve_dataset(name)
    assert sum(_Fixture.requests.values()) == requests


def test_a_partial_cache_is_completed_not_trusted(server, isolated, monkeypatch):
    name = _toy(monkeypatch, _good_files(server))
    folder = isolated / "toy" / "set"
    folder.mkdir(parents=True)
    (folder / "good.tsv").write_bytes(GOOD)
    assert not requirement_status(name).available
    assert resolve_dataset(name) == folder
    assert _Fixture.requests == Counter({"/other": 1})


def test_offline_fails_fast_in_one_line_naming_every_way(isolated, monkeypatch):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed_port = probe.getsockname()[1]
    url = f"http://127.0.0.1:{closed_port}/good"
    name = _toy(monkeypatch, (RemoteFile(url, "good.tsv", _sha256(GOOD)),))
    start = time.monotonic()
    with pytest.raises(DataUnavailableError) as error:
        ensure_available([name])
    assert time.monotonic() - start < 3.0
    message = str(error.value)
    assert "\n" not in message and isinstance(error.value, UserFacingError)
    for way in ("toy is not available", "apt-get install toy-data", "--data-dir", "CL_DATA_DIR"):
        assert way in message
    assert "go online" in message
    assert _leftovers(isolated) == []


def test_offline_switch_skips_the_download(server, monkeypatch):
    name = _toy(monkeypatch, _good_files(server))
    monkeypatch.setenv("CL_OFFLINE", "1")
    with pytest.raises(DataUnavailableError, match="CL_OFFLINE"):
        resolve_dataset(name)
    assert not _Fixture.requests


def _with_marker(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "good.tsv").write_bytes(GOOD)
    return folder


def test_chain_order_installed_then_data_dir_then_env_then_cache(tmp_path, isolated, monkeypatch):
    installed = _with_marker(tmp_path / "usr" / "share" / "toy")
    name = _toy(monkeypatch, (), installed=(InstalledLocation(str(installed)),))
    data_dir = tmp_path / "data"
    _with_marker(data_dir / "toy" / "set")
    env_dir = tmp_path / "env"
    _with_marker(env_dir / "toy" / "set")
    monkeypatch.setenv("CL_DATA_DIR", str(env_dir))
    cached = _with_marker(isolated / "toy" / "set")

    assert resolve_dataset(name, data_dir) == installed
    (installed / "good.tsv").unlink()
    assert resolve_dataset(name, data_dir) == data_dir / "toy" / "set"
    assert resolve_dataset(name) == env_dir / "toy" / "set"
    monkeypatch.delenv("CL_DATA_DIR")
    assert resolve_dataset(name) == cached
    assert requirement_status(name, data_dir).where == str(data_dir / "toy" / "set")


def test_data_dir_may_be_the_data_sets_own_folder_or_hold_its_last_part(tmp_path, monkeypatch):
    installed = _with_marker(tmp_path / "installed")
    name = _toy(monkeypatch, (), installed=(InstalledLocation(str(installed)),))
    own = _with_marker(tmp_path / "own")
    assert resolve_dataset(name, own) == own
    (installed / "good.tsv").unlink()
    short = _with_marker(tmp_path / "root" / "set")
    assert resolve_dataset(name, tmp_path / "root") == short


def test_a_named_data_folder_that_does_not_exist_is_an_error_even_when_installed(
    tmp_path, monkeypatch
):
    installed = _with_marker(tmp_path / "installed")
    name = _toy(monkeypatch, (), installed=(InstalledLocation(str(installed)),))
    assert resolve_dataset(name) == installed
    with pytest.raises(DataUnavailableError, match="is not a directory") as error:
        resolve_dataset(name, tmp_path / "typo")
    assert "\n" not in str(error.value)


def test_installed_locations_expand_environment_variables(tmp_path, monkeypatch):
    prefix = _with_marker(tmp_path / "prefix" / "pkg")
    name = _toy(monkeypatch, (), installed=(InstalledLocation("$TOY_PREFIX/pkg"),))
    assert not requirement_status(name).available
    monkeypatch.setenv("TOY_PREFIX", str(tmp_path / "prefix"))
    assert resolve_dataset(name) == prefix


def test_archive_download_is_verified_and_unpacked(server, isolated, monkeypatch):
    sha512 = "sha512:" + hashlib.sha512(PACKAGE).hexdigest()
    name = _toy(
        monkeypatch,
        (),
        archive=RemoteFile(server + "package.tgz", "package.tgz", sha512),
        markers=("emoji.json", "img/google/64"),
    )
    folder = resolve_dataset(name)
    assert folder == isolated / "toy" / "set"
    assert (folder / "img" / "google" / "64" / "1f600.png").read_bytes() == b"png"
    assert _leftovers(isolated) == ["1f600.png", "emoji.json"]


def test_real_registry_points_at_the_fixture_when_patched(server, isolated, monkeypatch):
    """The Fashion-MNIST entry downloads, md5-verifies and reads through the same path."""
    from dataclasses import replace

    real = sources.DATASETS["fashion-mnist"]
    files = tuple(RemoteFile(server + "good", remote.path, _sha256(GOOD)) for remote in real.files)
    monkeypatch.setitem(sources.DATASETS, "fashion-mnist", replace(real, installed=(), files=files))
    assert resolve_dataset("fashion-mnist") == isolated / "fashion-mnist"
    assert _Fixture.requests == Counter({"/good": 4})


def test_tools_are_found_on_path(tmp_path, monkeypatch):
    binary = tmp_path / "espeak-ng"
    binary.write_text("#!/bin/sh\n")
    binary.chmod(0o755)
    monkeypatch.setenv("PATH", str(tmp_path))
    status = requirement_status("espeak-ng")
    assert (status.kind, status.available, status.where) == ("tool", True, str(binary))
    ensure_available(["espeak-ng"])
    with pytest.raises(
        DataUnavailableError, match=r"flite is not installed.*apt-get install flite"
    ):
        ensure_available(["espeak-ng", "flite"])


def test_every_requirement_is_known_and_every_bench_row_names_known_ones():
    from cl_core.registry import discover_recipes

    names = all_requirements()
    assert names == all_requirements() and len(set(names)) == len(names)
    assert {"fashion-mnist", "sts", "sick", "wordnet", "heco-acm", "hh-rlhf", "emoji"} <= set(names)
    assert {"asterisk-prompts", "espeak-ng", "flite"} <= set(names)
    for recipe in discover_recipes():
        for dataset in recipe.datasets:
            assert set(dataset.requires) <= set(names), (recipe.method, dataset.name)
    with pytest.raises(ValueError, match="unknown data set or tool 'nope'"):
        requirement_status("nope")


def test_every_status_has_a_one_line_way_to_get_it(monkeypatch):
    monkeypatch.setenv("PATH", "")
    for name in all_requirements():
        status = requirement_status(name, Path("/nonexistent"))
        assert status.how_to_get and "\n" not in status.how_to_get


def test_module_imports_the_standard_library_only():
    code = (
        "import sys; import cl_core.datasets.sources\n"
        "print(','.join(m for m in ('numpy', 'torch', 'lightning') if m in sys.modules))"
    )
    env = {**os.environ, "PYTHONWARNINGS": "ignore"}
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, env=env
    )
    assert result.stdout.strip() == ""
