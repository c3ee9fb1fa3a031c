"""Stacking tokenised views (padded to a common width) into one batch, and embedding it in length
groups trimmed of padding, gives the per-view embeddings."""

from __future__ import annotations

import itertools

import pytest
import torch

from cl_text.batching import (
    embed_in_length_groups,
    length_groups,
    right_padded_lengths,
    stack_features,
    stackable,
)
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


def _brute_force_cost(lengths: list[int], pass_cost: float) -> float:
    """Cheapest split of the sorted rows into contiguous groups, trying every set of cut points."""
    rows = sorted(lengths)
    best = float("inf")
    for cut_count in range(len(rows)):
        for cuts in itertools.combinations(range(1, len(rows)), cut_count):
            bounds = [0, *cuts, len(rows)]
            cost = sum(
                (end - start) * rows[end - 1] + pass_cost
                for start, end in itertools.pairwise(bounds)
            )
            best = min(best, cost)
    return best


def _cost(lengths: torch.Tensor, groups: list[torch.Tensor], pass_cost: float) -> float:
    return sum(len(rows) * int(lengths[rows].max()) + pass_cost for rows in groups)


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("pass_cost", [0.0, 3.0, 12.0, 1e6])
def test_length_groups_is_the_cheapest_split_of_the_sorted_rows(
    seed: int, pass_cost: float
) -> None:
    generator = torch.Generator().manual_seed(seed)
    lengths = torch.randint(1, 12, (9,), generator=generator)
    groups = length_groups(lengths, pass_cost)
    assert sorted(torch.cat(groups).tolist()) == list(range(9))
    ordered = torch.cat([lengths[rows] for rows in groups])
    assert bool((ordered[1:] >= ordered[:-1]).all()), "groups are runs of the rows sorted by length"
    assert _cost(lengths, groups, pass_cost) == _brute_force_cost(lengths.tolist(), pass_cost)


def test_length_groups_at_the_extremes_of_the_pass_cost() -> None:
    lengths = torch.tensor([4, 9, 4, 9, 2])
    assert len(length_groups(lengths, pass_cost=0)) == 3  # one group per distinct length
    assert len(length_groups(lengths, pass_cost=1e9)) == 1


@pytest.mark.parametrize(
    ("lengths", "pass_cost", "message"),
    [
        (torch.tensor([]), 1.0, "non-empty 1-D"),
        (torch.tensor([[1, 2]]), 1.0, "non-empty 1-D"),
        (torch.tensor([1.5, 2.0]), 1.0, "integers >= 0"),
        (torch.tensor([1, -2]), 1.0, "integers >= 0"),
        (torch.tensor([1, 2]), -1.0, "pass_cost must be >= 0"),
        (torch.tensor([1, 2]), float("nan"), "pass_cost must be >= 0"),
    ],
)
def test_length_groups_rejects_bad_input(lengths, pass_cost: float, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        length_groups(lengths, pass_cost)


def test_right_padded_lengths_reads_right_padding_and_refuses_left_padding() -> None:
    right = torch.tensor([[1, 1, 0], [1, 1, 1], [1, 0, 0]])
    assert right_padded_lengths(right).tolist() == [2, 3, 1]
    assert right_padded_lengths(torch.tensor([[0, 1, 1], [1, 1, 1]])) is None
    assert right_padded_lengths(torch.tensor([1, 1, 0])) is None


def _row_sums(features: dict) -> torch.Tensor:
    """A row-wise stand-in encoder: the masked sum of the ids, and the width it was given."""
    ids, mask = features["input_ids"], features["attention_mask"]
    width = torch.full((len(ids), 1), float(ids.shape[1]))
    return torch.cat([(ids * mask).sum(1, keepdim=True).float(), width], dim=1)


def test_embed_in_length_groups_trims_each_group_and_keeps_the_row_order() -> None:
    ids = torch.tensor(
        [[5, 6, 7, 8, 9, 4], [3, 0, 0, 0, 0, 0], [2, 2, 2, 2, 2, 0], [1, 1, 0, 0, 0, 0]]
    )
    features = {"input_ids": ids, "attention_mask": (ids > 0).long(), "modality": "text"}
    seen: list[dict] = []

    def embed(group: dict) -> torch.Tensor:
        seen.append(group)
        return _row_sums(group)

    out = embed_in_length_groups(embed, features, pass_cost=0)
    assert out[:, 0].tolist() == [39.0, 3.0, 10.0, 2.0]
    assert out[:, 1].tolist() == [6.0, 1.0, 5.0, 2.0], "each row ran at its group's width"
    assert all(group["modality"] == "text" for group in seen)
    one_pass = embed_in_length_groups(_row_sums, features, pass_cost=1e9)
    assert one_pass[:, 1].tolist() == [6.0] * 4


def test_embed_in_length_groups_runs_left_padded_batches_as_they_are() -> None:
    ids = torch.tensor([[0, 0, 3], [4, 5, 6]])
    features = {"input_ids": ids, "attention_mask": (ids > 0).long()}
    out = embed_in_length_groups(_row_sums, features, pass_cost=0)
    assert out.tolist() == [[3.0, 3.0], [15.0, 3.0]]


def test_length_groups_give_minilm_the_one_pass_embeddings_and_gradients(minilm) -> None:
    module = TextContrastiveModule(minilm, "simcse-sup")
    module.eval()
    sentences = [
        "A man is playing a guitar.",
        "Dogs.",
        "Someone is slicing an onion into small pieces on a wooden board in the kitchen.",
        "Two children are running.",
        "A woman rides a horse.",
        "Cats sleep.",
    ]
    features = minilm.preprocess(sentences)
    assert len(length_groups(right_padded_lengths(features["attention_mask"]), 4)) > 1

    def embeddings_and_gradients(embed) -> tuple[torch.Tensor, list[torch.Tensor]]:
        module.zero_grad()
        out = embed(features)
        (out * torch.linspace(-1, 1, out.shape[1])).sum().backward()
        return out.detach(), [p.grad.clone() for p in minilm.parameters() if p.grad is not None]

    grouped, grouped_grads = embeddings_and_gradients(
        lambda f: embed_in_length_groups(module.embed, f, pass_cost=4)
    )
    single, single_grads = embeddings_and_gradients(module.embed)
    module.zero_grad()
    torch.testing.assert_close(grouped, single, atol=1e-5, rtol=1e-4)
    assert len(grouped_grads) == len(single_grads) > 0
    for a, b in zip(grouped_grads, single_grads, strict=True):
        torch.testing.assert_close(a, b, atol=1e-5, rtol=1e-4)
