"""cl_core losses as sentence-transformers losses, with a real SentenceTransformerTrainer run."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from torch import nn

from cl_core.losses import info_nce, nt_xent
from cl_text.st_losses import InfoNCESentenceLoss, KernelLoss


class TinyEncoder(nn.Module):
    """Stands in for a SentenceTransformer: features {"x": (B, 4)} -> sentence_embedding (B, 3)."""

    def __init__(self) -> None:
        super().__init__()
        self.linear = nn.Linear(4, 3)

    def forward(self, features: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        features["sentence_embedding"] = self.linear(features["x"])
        return features


def columns(count: int, batch: int = 5) -> list[dict[str, torch.Tensor]]:
    return [{"x": torch.randn(batch, 4)} for _ in range(count)]


def test_info_nce_sentence_loss_equals_kernel_info_nce() -> None:
    model = TinyEncoder()
    features = columns(4)
    loss = InfoNCESentenceLoss(model, temperature=0.05, hard_negative_weight=0.5)(features, None)
    z = [model.linear(f["x"]) for f in features]
    expected = info_nce(
        z[0], z[1], torch.stack(z[2:], dim=1), temperature=0.05, hard_negative_weight=0.5
    )
    torch.testing.assert_close(loss, expected)


def test_info_nce_sentence_loss_does_not_mutate_the_feature_dicts() -> None:
    features = columns(2)
    InfoNCESentenceLoss(TinyEncoder())(features, None)
    assert all(set(f) == {"x"} for f in features)


def test_kernel_loss_passes_embeddings_and_kwargs() -> None:
    model = TinyEncoder()
    features = columns(2)
    got = KernelLoss(model, nt_xent, temperature=0.3)(features, None)
    expected = nt_xent(*(model.linear(f["x"]) for f in features), temperature=0.3)
    torch.testing.assert_close(got, expected)
    assert KernelLoss(model, nt_xent, temperature=0.3).get_config_dict() == {
        "loss_fn": "nt_xent",
        "temperature": 0.3,
    }


def test_bad_construction_and_single_column() -> None:
    with pytest.raises(TypeError, match="model must be"):
        InfoNCESentenceLoss("model")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="temperature must be > 0"):
        InfoNCESentenceLoss(TinyEncoder(), temperature=0.0)
    with pytest.raises(ValueError, match="at least 2 columns"):
        InfoNCESentenceLoss(TinyEncoder())(columns(1), None)


def test_three_steps_of_sentence_transformer_trainer(minilm_path: Path, tmp_path: Path) -> None:
    from datasets import Dataset
    from sentence_transformers import (
        SentenceTransformerTrainer,
        SentenceTransformerTrainingArguments,
    )

    from cl_text.encoder import load_sentence_encoder

    model = load_sentence_encoder(minilm_path, max_seq_len=16)
    before = model[0].auto_model.embeddings.word_embeddings.weight.detach().clone()
    data = Dataset.from_dict(
        {
            "anchor": [f"A man is playing instrument number {i}." for i in range(12)],
            "positive": [f"Someone plays instrument {i}." for i in range(12)],
            "negative": [f"Nobody is playing instrument {i}." for i in range(12)],
        }
    )
    args = SentenceTransformerTrainingArguments(
        output_dir=str(tmp_path),
        per_device_train_batch_size=4,
        max_steps=3,
        learning_rate=1e-4,
        report_to=[],
        save_strategy="no",
        use_cpu=True,
        disable_tqdm=True,
    )
    loss = InfoNCESentenceLoss(model, temperature=0.05)
    trainer = SentenceTransformerTrainer(model=model, args=args, train_dataset=data, loss=loss)
    output = trainer.train()
    assert output.global_step == 3
    assert torch.isfinite(torch.tensor(output.training_loss))
    after = model[0].auto_model.embeddings.word_embeddings.weight
    assert not torch.equal(before, after)
