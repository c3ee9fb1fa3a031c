"""Rank-N-Contrast loss: loop reference from the paper's formula, gradients, ties and properties."""

from __future__ import annotations

import pytest
import torch

from cl_regression.losses import RankNContrastLoss, rank_n_contrast_loss


def reference_rnc(z, y, tau, similarity):
    n = z.shape[0]

    def sim(a, b):
        if similarity == "cosine":
            return torch.nn.functional.cosine_similarity(a, b, dim=0)
        return -(a - b).norm()

    per_anchor = []
    for i in range(n):
        terms = []
        for j in range(n):
            if j == i:
                continue
            gap = abs(float(y[i]) - float(y[j]))
            denominator = [
                torch.exp(sim(z[i], z[k]) / tau)
                for k in range(n)
                if k != i and abs(float(y[i]) - float(y[k])) >= gap
            ]
            terms.append(-(sim(z[i], z[j]) / tau - torch.log(sum(denominator))))
        per_anchor.append(sum(terms) / len(terms))
    return torch.stack(per_anchor)


@pytest.mark.parametrize("similarity", ["neg_l2", "cosine"])
def test_matches_loop_reference_with_ties(similarity):
    gen = torch.Generator().manual_seed(0)
    z = torch.randn(7, 3, generator=gen, dtype=torch.float64)
    y = torch.tensor([0.0, 1.0, 1.0, 2.0, 3.0, 3.0, 5.0], dtype=torch.float64)
    got = rank_n_contrast_loss(z, y, temperature=0.7, similarity=similarity, reduction="none")
    torch.testing.assert_close(got, reference_rnc(z, y, 0.7, similarity))
    torch.testing.assert_close(
        rank_n_contrast_loss(z, y, temperature=0.7, similarity=similarity, reduction="sum"),
        got.sum(),
    )


@pytest.mark.parametrize("similarity", ["neg_l2", "cosine"])
def test_gradients_match_finite_differences(similarity):
    gen = torch.Generator().manual_seed(1)
    z = torch.randn(5, 3, generator=gen, dtype=torch.float64, requires_grad=True)
    y = torch.tensor([0.0, 0.5, 0.5, 2.0, 4.0], dtype=torch.float64)
    assert torch.autograd.gradcheck(
        lambda e: rank_n_contrast_loss(e, y, temperature=1.5, similarity=similarity), (z,)
    )


def test_embeddings_ordered_like_labels_score_lower_than_shuffled_ones():
    """The paper's claim: RnC is minimised by embeddings ranked like the labels."""
    y = torch.arange(8, dtype=torch.float64)
    ordered = (y * 3).unsqueeze(1)
    shuffled = ordered[torch.tensor([3, 7, 0, 5, 1, 6, 2, 4])]
    assert rank_n_contrast_loss(ordered, y) < rank_n_contrast_loss(shuffled, y)


def test_duplicate_embeddings_keep_finite_gradients():
    z = torch.zeros(4, 2, requires_grad=True)
    rank_n_contrast_loss(z, torch.arange(4.0)).backward()
    assert torch.isfinite(z.grad).all()


def test_module_matches_function():
    z, y = torch.randn(6, 3), torch.arange(6.0)
    module = RankNContrastLoss(temperature=1.0, similarity="cosine")
    torch.testing.assert_close(
        module(z, y), rank_n_contrast_loss(z, y, temperature=1.0, similarity="cosine")
    )
    assert "2210.01189" in module.citation


@pytest.mark.parametrize(
    ("embeddings", "targets", "kwargs", "error", "match"),
    [
        (torch.randn(1, 2), torch.zeros(1), {}, ValueError, "N >= 2"),
        (torch.randn(3, 2), torch.zeros(2), {}, ValueError, r"targets must have shape \(3,\)"),
        (torch.randn(3, 2), torch.zeros(3), {"temperature": -1.0}, ValueError, "temperature"),
        (torch.randn(3, 2), torch.zeros(3), {"similarity": "dot"}, ValueError, "similarity"),
        ([[0.0]], torch.zeros(1), {}, TypeError, "embeddings must be a torch.Tensor"),
    ],
)
def test_bad_inputs_raise(embeddings, targets, kwargs, error, match):
    with pytest.raises(error, match=match):
        rank_n_contrast_loss(embeddings, targets, **kwargs)
