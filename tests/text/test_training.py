"""Training pieces that need no model: configuration checks, the collator, the views."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from cl_text.training import TextContrastiveModule, TextTrainConfig, TokenizingCollator


class FakeTokenizer:
    def preprocess(self, texts: list[str]) -> dict[str, torch.Tensor]:
        return {"length": torch.tensor([len(t) for t in texts])}


def test_collator_makes_one_feature_dict_per_column() -> None:
    batch = TokenizingCollator(FakeTokenizer())([("a", "bb", "ccc"), ("dddd", "e", "ff")])
    assert [b["length"].tolist() for b in batch] == [[1, 4], [2, 1], [3, 2]]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"method": "moco"}, "method must be one of"),
        ({"batch_size": 0}, "batch_size must be >= 1"),
        ({"temperature": 0.0}, "temperature must be > 0"),
    ],
)
def test_config_rejects_bad_values(kwargs: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        TextTrainConfig(**kwargs)


class FakeSentenceModel(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.linear = nn.Linear(2, 6)

    def get_embedding_dimension(self) -> int:
        return 6

    def forward(self, features: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        features["sentence_embedding"] = self.linear(features["x"])
        return features


def test_single_column_batches_repeat_as_dropout_views() -> None:
    module = TextContrastiveModule(FakeSentenceModel(), "whitenedcse")
    batch = [{"x": torch.randn(4, 2)}]
    views = module.make_views(batch, torch.Generator())
    assert len(views) == 3 and all(v is batch[0] for v in views)
    assert module.embed(batch[0]).shape == (4, 6)
    assert set(batch[0]) == {"x"}


def test_triplet_batches_give_one_view_per_column_and_a_finite_loss() -> None:
    module = TextContrastiveModule(FakeSentenceModel(), "simcse-sup", temperature=0.05)
    batch = [{"x": torch.randn(4, 2)} for _ in range(3)]
    views = module.make_views(batch, torch.Generator())
    assert views == batch
    loss = module.compute_loss([module.embed(v) for v in views], batch)
    assert loss.ndim == 0 and torch.isfinite(loss)
