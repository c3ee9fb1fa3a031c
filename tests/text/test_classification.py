"""Input-label contrast vs a linear softmax head: data, scores, the module, and a real CLI run."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import pytest
import torch
from torch import nn

from cl_core.losses import input_label_contrast
from cl_text.classification import (
    SICK_DESCRIPTIONS,
    ClassifierTrainConfig,
    TextClassifierModule,
    class_descriptions,
    classification_scores,
)
from cl_text.cli import CLASSIFIER_METHODS, register
from cl_text.data import DataFileError, read_labelled_texts

pytestmark = [
    pytest.mark.filterwarnings(
        "ignore:The 'train_dataloader' does not have many workers:UserWarning"
    ),
    pytest.mark.filterwarnings(
        r"ignore:`isinstance\(treespec, LeafSpec\)` is deprecated:FutureWarning"
    ),
]


def test_sick_reads_as_three_way_sentence_pair_classification(sts_dir: Path) -> None:
    trial = read_labelled_texts(sts_dir / "sick2014" / "SICK_trial.txt")
    assert len(trial) == 500 and trial.pairs is not None
    assert trial.classes() == ["CONTRADICTION", "ENTAILMENT", "NEUTRAL"]
    first = trial.inputs()[0]
    assert isinstance(first, tuple) and first == (trial.texts[0], trial.pairs[0])
    assert len(trial.head(7)) == 7


def test_single_text_files_and_bad_rows(tmp_path: Path) -> None:
    good = tmp_path / "reviews.jsonl"
    good.write_text('{"text": "great", "label": "pos"}\n{"text": "bad", "label": "neg"}\n')
    texts = read_labelled_texts(good)
    assert texts.pairs is None and texts.inputs() == ["great", "bad"]
    missing = tmp_path / "nolabel.tsv"
    missing.write_text("text\tother\nhello\tx\n")
    with pytest.raises(DataFileError, match=r"nolabel\.tsv:1: missing the label column"):
        read_labelled_texts(missing)
    empty = tmp_path / "empty.csv"
    empty.write_text("text,label\nfine,a\n ,b\n")
    with pytest.raises(DataFileError, match=r"empty\.csv:3: empty value in column 'text'"):
        read_labelled_texts(empty)


def test_class_descriptions_default_to_sick_texts_or_label_names() -> None:
    assert class_descriptions(["ENTAILMENT", "other"]) == [SICK_DESCRIPTIONS["ENTAILMENT"], "other"]
    assert class_descriptions(["a", "b"], {"a": "first", "b": "second"}) == ["first", "second"]
    with pytest.raises(ValueError, match=r"missing \['b'\]"):
        class_descriptions(["a", "b"], {"a": "first"})


def test_classification_scores_match_hand_computed_values() -> None:
    gold = [0, 0, 1, 1, 2, 2]
    predicted = [0, 1, 1, 1, 2, 0]
    # per class F1: class 0 p=1/2 r=1/2 -> 0.5; class 1 p=2/3 r=1 -> 0.8; class 2 p=1 r=1/2 -> 2/3
    scores = classification_scores(predicted, gold, 3)
    assert scores["accuracy"] == pytest.approx(100 * 4 / 6)
    assert scores["macro_f1"] == pytest.approx(100 * (0.5 + 0.8 + 2 / 3) / 3)
    with pytest.raises(ValueError, match="equal-length"):
        classification_scores([0, 1], [0], 2)


def test_config_rejects_unknown_objective() -> None:
    with pytest.raises(ValueError, match="objective must be one of"):
        ClassifierTrainConfig(objective="arcface")
    assert set(CLASSIFIER_METHODS) == {"input-label", "linear-softmax"}


class BagOfLettersEncoder(nn.Module):
    """A stand-in SentenceTransformer: letter counts -> linear map (no dropout, deterministic)."""

    def __init__(self, dim: int = 6) -> None:
        super().__init__()
        self.linear = nn.Linear(26, dim)
        self.dim = dim

    def get_embedding_dimension(self) -> int:
        return self.dim

    def preprocess(self, texts: list) -> dict[str, torch.Tensor]:
        counts = torch.zeros(len(texts), 26)
        for row, text in enumerate(texts):
            joined = " ".join(text) if isinstance(text, tuple) else text
            for char in joined.lower():
                if "a" <= char <= "z":
                    counts[row, ord(char) - ord("a")] += 1
        return {"counts": counts}

    def forward(self, features: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        features["sentence_embedding"] = self.linear(features["counts"])
        return features


def test_input_label_loss_is_the_kernel_loss_over_description_embeddings() -> None:
    torch.manual_seed(0)
    encoder = BagOfLettersEncoder()
    descriptions = ["apple", "zebra", "mmm"]
    module = TextClassifierModule(encoder, descriptions, temperature=0.1)
    batch = (encoder.preprocess(["aaa", "zzz", "mm m", "pear"]), torch.tensor([0, 1, 2, 0]))
    x = module.embed(batch[0])
    e = encoder(encoder.preprocess(descriptions))["sentence_embedding"]
    expected = input_label_contrast(x, e, batch[1], 0.1)
    assert torch.allclose(module.compute_loss([x], batch), expected)
    cosines = torch.nn.functional.normalize(x, dim=-1) @ torch.nn.functional.normalize(e, dim=-1).T
    assert np.array_equal(module.predict(["aaa", "zzz", "mm m", "pear"]), cosines.argmax(1).numpy())


def test_input_label_training_separates_a_toy_problem_and_softmax_head_has_its_own_lr() -> None:
    torch.manual_seed(0)
    encoder = BagOfLettersEncoder(dim=8)
    descriptions = ["all about apples", "zoo zebras", "quiet mountains"]
    inputs = ["apple pie", "apples", "zebra zone", "zoo", "mountain", "quiet hill"]
    labels = torch.tensor([0, 0, 1, 1, 2, 2])
    module = TextClassifierModule(encoder, descriptions, temperature=0.1, lr=0.05)
    optimizer = torch.optim.Adam(module.parameters(), lr=0.05)
    for _ in range(60):
        loss = module.compute_loss([module.embed(encoder.preprocess(inputs))], (None, labels))
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    assert np.array_equal(module.predict(inputs), labels.numpy())

    softmax = TextClassifierModule(
        BagOfLettersEncoder(), descriptions, objective="linear-softmax", lr=1e-5, head_lr=1e-2
    )
    softmax.total_steps = 10
    optimizer = softmax.configure_optimizers()["optimizer"]
    assert [g["lr"] for g in optimizer.param_groups] == [1e-5, 1e-2]
    assert optimizer.param_groups[1]["params"] == list(softmax.classifier.parameters())


def parse(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="cl-train")
    register(parser.add_subparsers(dest="command"))
    return parser.parse_args(["text", *argv])


def test_cli_input_label_on_a_sick_slice_writes_results_and_a_loadable_model(
    tmp_path: Path, sts_dir: Path, minilm_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "run"
    args = parse(
        "--method", "input-label",
        "--train", str(sts_dir / "sick2014" / "SICK_train.txt"),
        "--eval-file", str(sts_dir / "sick2014" / "SICK_trial.txt"),
        "--base-model", str(minilm_path),
        "--out", str(out),
        "--batch-size", "8", "--max-steps", "2", "--max-sentences", "24", "--eval-limit", "12",
        "--accelerator", "cpu", "--devices", "1",
    )  # fmt: skip
    assert args.func(args) == 0
    results = json.loads((out / "results.json").read_text(encoding="utf-8"))
    assert results["method"] == "input-label" and results["steps"] == 2
    assert results["test_examples"] == 12 and results["train_examples"] == 24
    assert set(results["test_before"]) == {"accuracy", "macro_f1"}
    assert 0 <= results["test_after"]["accuracy"] <= 100
    classifier = json.loads((out / "classifier.json").read_text(encoding="utf-8"))
    assert classifier["classes"] == ["CONTRADICTION", "ENTAILMENT", "NEUTRAL"]
    assert classifier["linear_head"] is None
    assert "test after: accuracy" in capsys.readouterr().out

    from sentence_transformers import SentenceTransformer

    assert SentenceTransformer(str(out / "model"), device="cpu").encode(["x"]).shape == (1, 384)


def test_cli_rejects_mlm_options_for_classifiers(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    train = tmp_path / "t.tsv"
    train.write_text("text\tlabel\na\tx\nb\ty\n", encoding="utf-8")
    args = parse("--method", "linear-softmax", "--train", str(train), "--mlm-weight", "0.1")
    assert args.func(args) == 2
    assert "apply to the contrastive methods" in capsys.readouterr().err
