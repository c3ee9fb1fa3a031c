"""Stacking tokenised views (padded to a common width) into one forward pass gives the per-view
embeddings."""

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


def test_views_of_different_widths_are_right_padded_with_the_given_values() -> None:
    short = _view([[5, 6], [7, 0]])
    long = _view([[8, 9, 1, 3]])
    assert stackable([short, long])
    stacked, sizes = stack_features([short, long], {"input_ids": 99})
    assert sizes == [2, 1]
    assert stacked["input_ids"].tolist() == [[5, 6, 99, 99], [7, 0, 99, 99], [8, 9, 1, 3]]
    # Keys without a fill value pad with 0: padded positions are masked out.
    assert stacked["attention_mask"].tolist() == [[1, 1, 0, 0], [1, 0, 0, 0], [1, 1, 1, 1]]


@pytest.mark.parametrize(
    "views",
    [
        [],
        [{"x": torch.ones(1, 2)}, {"x": torch.ones(1, 3)}],
        [{"x": torch.ones(1, 2, dtype=torch.long)}, {"x": torch.ones(1, 2, 3, dtype=torch.long)}],
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


def test_the_module_stacks_dropout_copies_and_columns_of_different_widths(minilm) -> None:
    module = TextContrastiveModule(minilm, "simcse")
    module.eval()
    same = minilm.preprocess(["A man is playing a guitar.", "Two dogs run."])
    columns = [
        minilm.preprocess(["A man is playing a guitar.", "Two dogs run."]),
        minilm.preprocess(["Someone plays an instrument on a stage in front of people.", "Dogs."]),
    ]
    assert columns[0]["input_ids"].shape[1] != columns[1]["input_ids"].shape[1]
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
