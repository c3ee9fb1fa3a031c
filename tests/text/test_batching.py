"""Stacking equal-length tokenised views into one forward pass gives the per-view embeddings."""

from __future__ import annotations

import pytest
import torch

from cl_text.batching import stack_features, stackable
from cl_text.training import TextContrastiveModule


def _view(rows: list[list[int]], modality: str = "text") -> dict:
    ids = torch.tensor(rows)
    return {"input_ids": ids, "attention_mask": (ids > 0).long(), "modality": modality}


def test_views_are_concatenated_with_row_counts() -> None:
    stacked, sizes = stack_features([_view([[5, 6, 0]]), _view([[8, 9, 1], [2, 3, 4]])])
    assert sizes == [1, 2]
    assert stacked["input_ids"].tolist() == [[5, 6, 0], [8, 9, 1], [2, 3, 4]]
    assert stacked["attention_mask"].tolist() == [[1, 1, 0], [1, 1, 1], [1, 1, 1]]
    assert stacked["modality"] == "text"


@pytest.mark.parametrize(
    "views",
    [
        [],
        [_view([[1]]), _view([[1, 2]])],
        [_view([[1]]), {"input_ids": torch.tensor([[1]])}],
        [_view([[1]]), _view([[1]], modality="image")],
        [{"m": "a"}],
        [{"x": torch.ones(1, 2)}, {"x": "text"}],
    ],
)
def test_views_that_differ_beyond_the_batch_dimension_are_not_stacked(views: list) -> None:
    assert not stackable(views)
    with pytest.raises(ValueError, match="views must be non-empty feature dicts"):
        stack_features(views)


def test_the_module_stacks_dropout_copies_and_embeds_columns_one_by_one(minilm) -> None:
    module = TextContrastiveModule(minilm, "simcse")
    module.eval()
    same = minilm.preprocess(["A man is playing a guitar.", "Two dogs run."])
    columns = [
        minilm.preprocess(["A man is playing a guitar.", "Two dogs run."]),
        minilm.preprocess(["Someone plays an instrument on a stage in front of people.", "Dogs."]),
    ]
    with torch.no_grad():
        stacked = module.embed_views([same, same])
        alone = module.embed(same)
        per_column = module.embed_views(columns)
        separate = [module.embed(view) for view in columns]
    assert len(stacked) == 2
    for embedding in stacked:
        torch.testing.assert_close(embedding, alone, atol=1e-5, rtol=1e-4)
    for together, single in zip(per_column, separate, strict=True):
        torch.testing.assert_close(together, single, atol=1e-5, rtol=1e-4)
