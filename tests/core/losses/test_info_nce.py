"""InfoNCE with in-batch and explicit negatives against loops and SimCSE's construction."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from cl_core.losses import InfoNCELoss, info_nce


def unit(v):
    return v / torch.sqrt(torch.sum(v * v, dim=-1, keepdim=True))


def loop_info_nce(query, positive, temperature, negatives=None, weight=0.0):
    """-log exp(q_i.p_i/t) / sum_c exp(q_i.c/t + weight*[c is one of q_i's own hard negatives])."""
    q, p = unit(query), unit(positive)
    candidates, owners = [p[j] for j in range(len(p))], [None] * len(p)
    if negatives is not None and negatives.dim() == 2:
        candidates += [unit(n) for n in negatives]
        owners += [None] * len(negatives)
    elif negatives is not None:
        for i in range(negatives.shape[0]):
            for k in range(negatives.shape[1]):
                candidates.append(unit(negatives[i, k]))
                owners.append(i)
    losses = []
    for i in range(len(q)):
        denominator = sum(
            torch.exp(torch.dot(q[i], c) / temperature + (weight if owner == i else 0.0))
            for c, owner in zip(candidates, owners, strict=True)
        )
        losses.append(-torch.log(torch.exp(torch.dot(q[i], p[i]) / temperature) / denominator))
    return torch.stack(losses)


def batch(seed, b=4, d=5, dtype=torch.float64):
    generator = torch.Generator().manual_seed(seed)
    return (
        torch.randn(b, d, generator=generator, dtype=dtype),
        torch.randn(b, d, generator=generator, dtype=dtype),
        generator,
    )


@pytest.mark.parametrize("temperature", [0.05, 0.3, 1.0])
@pytest.mark.parametrize("negatives_shape", [None, (3, 5), (4, 2, 5)])
def test_matches_loop(temperature, negatives_shape) -> None:
    query, positive, generator = batch(0)
    negatives = (
        None
        if negatives_shape is None
        else torch.randn(*negatives_shape, generator=generator, dtype=torch.float64)
    )
    expected = loop_info_nce(query, positive, temperature, negatives)
    got = info_nce(query, positive, negatives, temperature, reduction="none")
    torch.testing.assert_close(got, expected)
    torch.testing.assert_close(
        info_nce(query, positive, negatives, temperature, reduction="sum"), expected.sum()
    )


@pytest.mark.parametrize("weight", [-2.0, 0.5, 3.0])
def test_hard_negative_weight_matches_loop(weight) -> None:
    query, positive, generator = batch(1)
    negatives = torch.randn(4, 3, 5, generator=generator, dtype=torch.float64)
    expected = loop_info_nce(query, positive, 0.1, negatives, weight)
    got = info_nce(query, positive, negatives, 0.1, hard_negative_weight=weight, reduction="none")
    torch.testing.assert_close(got, expected)


@pytest.mark.parametrize("weight", [0.0, 1.5])
def test_matches_simcse_two_b_column_construction(weight) -> None:
    """SimCSE: logits = [cos(z1, z2) | cos(z1, z3) + weight * I] / t, labels = arange."""
    query, positive, generator = batch(2, b=6)
    hard = torch.randn(6, 5, generator=generator, dtype=torch.float64)
    cosine = F.cosine_similarity(query.unsqueeze(1), positive.unsqueeze(0), dim=-1)
    hard_cosine = F.cosine_similarity(query.unsqueeze(1), hard.unsqueeze(0), dim=-1)
    logits = torch.cat((cosine, hard_cosine), dim=1) / 0.05
    logits = logits + torch.cat((torch.zeros(6, 6), weight * torch.eye(6)), dim=1)
    expected = F.cross_entropy(logits, torch.arange(6))
    got = info_nce(query, positive, hard.unsqueeze(1), 0.05, hard_negative_weight=weight)
    torch.testing.assert_close(got, expected)


def test_shared_negatives_equal_explicit_concatenation() -> None:
    query, positive, generator = batch(3)
    negatives = torch.randn(7, 5, generator=generator, dtype=torch.float64)
    logits = unit(query) @ unit(torch.cat((positive, negatives))).T / 0.2
    expected = F.cross_entropy(logits, torch.arange(4))
    torch.testing.assert_close(info_nce(query, positive, negatives, 0.2), expected)


def test_zero_hard_negative_weight_equals_no_weight() -> None:
    query, positive, generator = batch(4)
    negatives = torch.randn(4, 2, 5, generator=generator, dtype=torch.float64)
    torch.testing.assert_close(
        info_nce(query, positive, negatives, 0.1, hard_negative_weight=0.0),
        info_nce(query, positive, negatives, 0.1),
    )


def test_in_batch_only_is_cross_entropy_over_the_batch() -> None:
    query, positive, _ = batch(5)
    logits = unit(query) @ unit(positive).T / 0.1
    torch.testing.assert_close(info_nce(query, positive), F.cross_entropy(logits, torch.arange(4)))


@pytest.mark.parametrize("negatives_shape", [None, (3, 4), (3, 2, 4)])
def test_gradients_match_finite_differences(negatives_shape) -> None:
    generator = torch.Generator().manual_seed(6)
    tensors = [torch.randn(3, 4, generator=generator, dtype=torch.float64) for _ in range(2)]
    if negatives_shape is not None:
        tensors.append(torch.randn(*negatives_shape, generator=generator, dtype=torch.float64))
    inputs = tuple(t.requires_grad_() for t in tensors)
    weight = 0.7 if negatives_shape == (3, 2, 4) else 0.0

    def loss(*args):
        negatives = args[2] if len(args) == 3 else None
        return info_nce(args[0], args[1], negatives, 0.4, hard_negative_weight=weight)

    assert torch.autograd.gradcheck(loss, inputs)


def test_module_matches_function() -> None:
    query, positive, generator = batch(7)
    negatives = torch.randn(4, 2, 5, generator=generator, dtype=torch.float64)
    module = InfoNCELoss(temperature=0.2, hard_negative_weight=1.0, reduction="none")
    torch.testing.assert_close(
        module(query, positive, negatives),
        info_nce(query, positive, negatives, 0.2, hard_negative_weight=1.0, reduction="none"),
    )


@pytest.mark.parametrize(
    ("negatives", "kwargs", "error", "pattern"),
    [
        (torch.randn(4, 6), {}, ValueError, "negatives must have the same embedding width"),
        (torch.randn(3, 2, 5), {}, ValueError, "must have B=4 like query"),
        (torch.randn(4, 2, 6), {}, ValueError, "negatives must have the same embedding width"),
        (torch.randn(5), {}, ValueError, r"negatives must have shape \(M, D\) or \(B, K, D\)"),
        (torch.randn(6, 5), {"hard_negative_weight": 1.0}, ValueError, "per-query negatives"),
        (None, {"hard_negative_weight": 1.0}, ValueError, "per-query negatives"),
        (torch.randn(4, 1, 5), {"hard_negative_weight": float("inf")}, ValueError, "finite"),
        (torch.full((4, 5), float("nan")), {}, ValueError, "negatives must be finite"),
        (torch.randn(4, 0, 5), {}, ValueError, "negatives must be non-empty"),
        (None, {"temperature": -0.1}, ValueError, "temperature"),
        (None, {"reduction": "all"}, ValueError, "reduction"),
    ],
)
def test_bad_inputs_raise_naming_the_argument(negatives, kwargs, error, pattern) -> None:
    query, positive = torch.randn(4, 5), torch.randn(4, 5)
    with pytest.raises(error, match=pattern):
        info_nce(query, positive, negatives, **kwargs)


def test_mismatched_query_and_positive_are_rejected() -> None:
    with pytest.raises(ValueError, match="query and positive must have the same shape"):
        info_nce(torch.randn(4, 5), torch.randn(3, 5))
    with pytest.raises(ValueError, match="query must be a 2-D"):
        info_nce(torch.randn(5), torch.randn(5))
