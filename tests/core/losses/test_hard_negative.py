"""The hard contrastive loss of Wang & Liu (CVPR 2021, arXiv:2012.09740) against a loop."""

from __future__ import annotations

import math

import pytest
import torch

from cl_core.losses import HardNegativeInfoNCELoss, hard_negative_info_nce, info_nce


def unit(v):
    return v / torch.sqrt(torch.sum(v * v, dim=-1, keepdim=True))


def loop_hard(query, positive, temperature, keep):
    """-log e^{s_ii} / (e^{s_ii} + sum of e^{s_ij} over the `keep` largest s_ij, j != i)."""
    q, p = unit(query), unit(positive)
    losses = []
    for i in range(len(q)):
        negatives = sorted(
            (torch.dot(q[i], p[j]) / temperature for j in range(len(p)) if j != i),
            key=float,
            reverse=True,
        )[:keep]
        positive_logit = torch.dot(q[i], p[i]) / temperature
        denominator = torch.exp(positive_logit) + sum(torch.exp(v) for v in negatives)
        losses.append(-torch.log(torch.exp(positive_logit) / denominator))
    return torch.stack(losses)


@pytest.mark.parametrize("top_k", [1, 3, 5])
@pytest.mark.parametrize("temperature", [0.2, 1.0])
def test_top_k_matches_loop(top_k, temperature) -> None:
    generator = torch.Generator().manual_seed(top_k)
    query = torch.randn(6, 4, generator=generator, dtype=torch.float64)
    positive = torch.randn(6, 4, generator=generator, dtype=torch.float64)
    expected = loop_hard(query, positive, temperature, top_k)
    got = hard_negative_info_nce(query, positive, temperature, top_k=top_k, reduction="none")
    torch.testing.assert_close(got, expected)
    torch.testing.assert_close(
        hard_negative_info_nce(query, positive, temperature, top_k=top_k, reduction="sum"),
        expected.sum(),
    )


@pytest.mark.parametrize("fraction", [0.1, 0.5, 1.0])
def test_top_fraction_keeps_the_ceiling_of_the_fraction(fraction) -> None:
    generator = torch.Generator().manual_seed(9)
    query = torch.randn(9, 3, generator=generator, dtype=torch.float64)
    positive = torch.randn(9, 3, generator=generator, dtype=torch.float64)
    expected = loop_hard(query, positive, 0.5, math.ceil(fraction * 8)).mean()
    torch.testing.assert_close(
        hard_negative_info_nce(query, positive, 0.5, top_fraction=fraction), expected
    )


def test_keeping_every_negative_is_plain_info_nce() -> None:
    query, positive = torch.randn(5, 3), torch.randn(5, 3)
    torch.testing.assert_close(
        hard_negative_info_nce(query, positive, 0.4, top_k=100),
        info_nce(query, positive, None, 0.4),
    )


def test_fewer_negatives_never_raise_the_loss() -> None:
    generator = torch.Generator().manual_seed(2)
    query, positive = torch.randn(8, 4, generator=generator), torch.randn(8, 4, generator=generator)
    losses = [
        hard_negative_info_nce(query, positive, 0.5, top_k=k, reduction="none") for k in (1, 3, 7)
    ]
    assert bool((losses[0] <= losses[1]).all()) and bool((losses[1] <= losses[2]).all())


def test_gradients_match_finite_differences() -> None:
    generator = torch.Generator().manual_seed(3)
    query = torch.randn(4, 3, generator=generator, dtype=torch.float64, requires_grad=True)
    positive = torch.randn(4, 3, generator=generator, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(
        lambda q, p: hard_negative_info_nce(q, p, 0.5, top_k=2), (query, positive)
    )


def test_module_matches_function() -> None:
    query, positive = torch.randn(6, 3), torch.randn(6, 3)
    torch.testing.assert_close(
        HardNegativeInfoNCELoss(0.3, top_fraction=0.4)(query, positive),
        hard_negative_info_nce(query, positive, 0.3, top_fraction=0.4),
    )


@pytest.mark.parametrize(
    ("kwargs", "pattern"),
    [
        ({}, "exactly one of top_k and top_fraction"),
        ({"top_k": 2, "top_fraction": 0.5}, "exactly one of top_k and top_fraction"),
        ({"top_k": 0}, "top_k must be an int >= 1"),
        ({"top_k": 1.5}, "top_k must be an int >= 1"),
        ({"top_fraction": 0.0}, r"top_fraction must lie in \(0, 1\]"),
        ({"top_fraction": 1.5}, r"top_fraction must lie in \(0, 1\]"),
    ],
)
def test_bad_selection_raises(kwargs, pattern) -> None:
    with pytest.raises(ValueError, match=pattern):
        hard_negative_info_nce(torch.randn(4, 3), torch.randn(4, 3), **kwargs)
    with pytest.raises(ValueError, match=pattern):
        HardNegativeInfoNCELoss(**kwargs)


def test_bad_inputs_raise_naming_the_argument() -> None:
    with pytest.raises(ValueError, match=r"B >= 2"):
        hard_negative_info_nce(torch.randn(1, 3), torch.randn(1, 3), top_k=1)
    with pytest.raises(ValueError, match="query and positive must have the same shape"):
        hard_negative_info_nce(torch.randn(4, 3), torch.randn(4, 2), top_k=1)
    with pytest.raises(ValueError, match="temperature"):
        hard_negative_info_nce(torch.randn(4, 3), torch.randn(4, 3), 0.0, top_k=1)
