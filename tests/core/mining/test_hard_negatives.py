"""Hard and semi-hard negative masks against sorting loops, and their use in the loss core."""

from __future__ import annotations

import math

import pytest
import torch

from cl_core.losses import masked_logits_loss
from cl_core.mining import hardest_negative_mask, semi_hard_negative_mask


def loop_hardest(similarity, k, exclude):
    """Per row: sort the non-excluded columns by similarity and keep the first k."""
    rows = []
    for i in range(similarity.shape[0]):
        eligible = [j for j in range(similarity.shape[1]) if not exclude[i, j]]
        ranked = sorted(eligible, key=lambda j: -float(similarity[i, j]))[:k]
        rows.append([j in ranked for j in range(similarity.shape[1])])
    return torch.tensor(rows)


def loop_semi_hard(similarity, positive, margin, exclude):
    """FaceNet in similarity form: s_p - margin < s_n < s_p, excluded columns skipped."""
    return torch.tensor(
        [
            [
                (not exclude[i, j])
                and float(positive[i]) - margin < float(similarity[i, j]) < float(positive[i])
                for j in range(similarity.shape[1])
            ]
            for i in range(similarity.shape[0])
        ]
    )


@pytest.mark.parametrize("k", [1, 3, 6])
def test_hardest_matches_sorting_loop(k) -> None:
    generator = torch.Generator().manual_seed(k)
    similarity = torch.randn(5, 8, generator=generator)
    exclude = torch.rand(5, 8, generator=generator) < 0.3
    got = hardest_negative_mask(similarity, k, exclude_mask=exclude)
    assert torch.equal(got, loop_hardest(similarity, k, exclude))
    assert not bool((got & exclude).any())


def test_rows_with_few_eligible_candidates_keep_all_of_them() -> None:
    similarity = torch.tensor([[0.1, 0.2, 0.3], [0.4, 0.5, 0.6]])
    exclude = torch.tensor([[True, True, False], [False, False, False]])
    got = hardest_negative_mask(similarity, 2, exclude_mask=exclude)
    assert got.sum(dim=1).tolist() == [1, 2]
    assert got[0].tolist() == [False, False, True]


def test_semi_hard_matches_loop_and_caps_at_k() -> None:
    generator = torch.Generator().manual_seed(0)
    similarity = torch.rand(6, 10, generator=generator)
    positive = torch.rand(6, generator=generator) * 0.5 + 0.5
    exclude = torch.zeros(6, 10, dtype=torch.bool)
    exclude[:, 0] = True
    expected = loop_semi_hard(similarity, positive, 0.3, exclude)
    got = semi_hard_negative_mask(similarity, positive, 0.3, exclude_mask=exclude)
    assert torch.equal(got, expected)
    capped = semi_hard_negative_mask(similarity, positive, 0.3, exclude_mask=exclude, k=1)
    assert bool((capped <= got).all())
    assert torch.equal(capped.sum(dim=1), expected.sum(dim=1).clamp(max=1))
    for i in range(6):
        if capped[i].any():
            assert float(similarity[i][capped[i]]) == float(similarity[i][got[i]].max())


def test_hard_negative_mask_feeds_the_loss_core() -> None:
    """InfoNCE restricted to the k hardest negatives equals a loop over those negatives."""
    generator = torch.Generator().manual_seed(1)
    anchors = torch.nn.functional.normalize(
        torch.randn(5, 4, generator=generator, dtype=torch.float64), dim=1
    )
    candidates = torch.nn.functional.normalize(
        torch.randn(5, 4, generator=generator, dtype=torch.float64), dim=1
    )
    similarity = anchors @ candidates.T
    positives = torch.eye(5, dtype=torch.bool)
    negatives = hardest_negative_mask(similarity, 2, exclude_mask=positives)
    tau = 0.5
    expected = []
    for i in range(5):
        terms = [math.exp(float(similarity[i, i]) / tau)] + [
            math.exp(float(similarity[i, j]) / tau) for j in range(5) if negatives[i, j]
        ]
        expected.append(-float(similarity[i, i]) / tau + math.log(sum(terms)))
    got = masked_logits_loss(
        anchors,
        candidates,
        temperature=tau,
        positive_index=torch.arange(5),
        negative_mask=negatives,
        reduction="none",
    )
    torch.testing.assert_close(got, torch.tensor(expected, dtype=torch.float64))


def test_bad_inputs_name_the_argument() -> None:
    similarity = torch.randn(3, 4)
    with pytest.raises(ValueError, match=r"k must be an int in \[1, M=4\]"):
        hardest_negative_mask(similarity, 5)
    with pytest.raises(ValueError, match="exclude_mask must have shape"):
        hardest_negative_mask(similarity, 1, exclude_mask=torch.zeros(3, 3, dtype=torch.bool))
    with pytest.raises(TypeError, match="exclude_mask must be a bool tensor"):
        hardest_negative_mask(similarity, 1, exclude_mask=torch.zeros(3, 4))
    with pytest.raises(ValueError, match="similarity must be a 2-D tensor"):
        hardest_negative_mask(torch.randn(4), 1)
    with pytest.raises(ValueError, match=r"positive_similarity must have shape \(3,\)"):
        semi_hard_negative_mask(similarity, torch.randn(2), 0.1)
    with pytest.raises(ValueError, match="margin must be a finite number > 0"):
        semi_hard_negative_mask(similarity, torch.randn(3), -0.1)
