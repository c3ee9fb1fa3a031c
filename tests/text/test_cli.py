"""``cl-train text`` end to end, in-process, on real-data slices; bad files give one-line errors."""

from __future__ import annotations

import argparse
import json
import re
from pathlib import Path

import pytest

from cl_text.cli import register

pytestmark = [
    # Lightning reports a small dataloader as a bottleneck; these runs are deliberately tiny.
    pytest.mark.filterwarnings(
        "ignore:The 'train_dataloader' does not have many workers:UserWarning"
    ),
    # Lightning 2.6's pytree helper uses torch's deprecated LeafSpec on every batch.
    pytest.mark.filterwarnings(
        r"ignore:`isinstance\(treespec, LeafSpec\)` is deprecated:FutureWarning"
    ),
]


def parse(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="cl-train")
    register(parser.add_subparsers(dest="command"))
    return parser.parse_args(["text", *argv])


def test_help_registration_is_light() -> None:
    parser = argparse.ArgumentParser(prog="cl-train")
    sub = register(parser.add_subparsers(dest="command"))
    assert "--eval-sts" in sub.format_help()


def test_train_simcse_sup_on_sick_slice_saves_a_loadable_model(
    tmp_path: Path,
    sts_dir: Path,
    minilm_path: Path,
    minilm,
    capsys: pytest.CaptureFixture[str],
) -> None:
    out = tmp_path / "run"
    args = parse(
        "--method", "simcse-sup",
        "--train", str(sts_dir / "sick2014" / "SICK_train.txt"),
        "--base-model", str(minilm_path),
        "--out", str(out),
        "--batch-size", "8",
        "--max-steps", "2",
        "--max-sentences", "16",
        "--eval-sts", str(sts_dir),
        "--eval-limit", "20",
    )  # fmt: skip
    assert args.func(args) == 0
    results = json.loads((out / "results.json").read_text(encoding="utf-8"))
    assert results["steps"] == 2 and results["method"] == "simcse-sup"
    assert set(results["sts_before"]) == {
        "STS12",
        "STS13",
        "STS14",
        "STS15",
        "STS16",
        "SICK-R",
        "Avg.",
    }
    assert results["sts_after"] != results["sts_before"]
    assert (out / "checkpoints" / "last.ckpt").is_file()
    printed = capsys.readouterr().out
    assert "| simcse-sup |" in printed

    from sentence_transformers import SentenceTransformer

    reloaded = SentenceTransformer(str(out / "model"), device="cpu")
    assert [type(m).__name__ for m in reloaded] == [type(m).__name__ for m in minilm]
    assert reloaded[1].get_config_dict() == minilm[1].get_config_dict()
    assert reloaded.encode(["A man plays a guitar."]).shape == (1, 384)


@pytest.mark.parametrize(
    ("method", "name", "content", "message"),
    [
        ("simcse", "empty.txt", b"\n \n\n", r"empty\.txt: contains only empty lines"),
        (
            "simcse",
            "latin.txt",
            "ok\nna\xefve\n".encode("latin-1"),
            r"latin\.txt:2: not valid UTF-8",
        ),
        (
            "viclsr",
            "nli.tsv",
            b"premise\thypothesis\nA\tB\n",
            r"nli\.tsv:1: missing the label column",
        ),
    ],
)
def test_bad_training_files_give_one_line_errors(
    tmp_path: Path,
    minilm_path: Path,
    capsys: pytest.CaptureFixture[str],
    method: str,
    name: str,
    content: bytes,
    message: str,
) -> None:
    path = tmp_path / name
    path.write_bytes(content)
    args = parse(
        "--method", method, "--train", str(path), "--base-model", str(minilm_path),
        "--out", str(tmp_path / "out"),
    )  # fmt: skip
    assert args.func(args) == 2
    err = capsys.readouterr().err.strip()
    # the file is checked before the model is loaded: nothing but the one-line error is printed
    assert err.startswith("cl-train text: error: ") and len(err.splitlines()) == 1
    assert re.search(message, err)


def test_missing_base_model_is_a_user_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    train = tmp_path / "s.txt"
    train.write_text("a sentence\n", encoding="utf-8")
    args = parse(
        "--train", str(train), "--base-model", str(tmp_path / "nope"), "--out", str(tmp_path)
    )
    assert args.func(args) == 2
    assert "no config.json" in capsys.readouterr().err
