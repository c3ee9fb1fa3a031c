"""SupCon L_out (Khosla et al. 2020, arXiv:2004.11362) against a loop from the paper's formula."""

from __future__ import annotations

import pytest
import torch

from cl_core.losses import SupConLoss, nt_xent, supcon


def unit(v):
    return v / torch.sqrt(torch.sum(v * v, dim=-1, keepdim=True))


def loop_supcon(features, labels, temperature):
    """(B, V) losses: -1/|P(i)| sum_p log exp(z_i.z_p/t) / sum_{a != i} exp(z_i.z_a/t);
    an anchor without a positive has no term (0 here)."""
    b, v, _ = features.shape
    z = [unit(features[n, k]) for k in range(v) for n in range(b)]
    owner = [n for _ in range(v) for n in range(b)]
    label = [int(labels[n]) if labels is not None else n for n in owner]
    losses = torch.zeros(v, b, dtype=features.dtype)
    for i in range(v * b):
        denominator = sum(
            torch.exp(torch.dot(z[i], z[a]) / temperature) for a in range(v * b) if a != i
        )
        positives = [p for p in range(v * b) if p != i and label[p] == label[i]]
        total = sum(
            torch.log(torch.exp(torch.dot(z[i], z[p]) / temperature) / denominator)
            for p in positives
        )
        if positives:
            losses[i // b, i % b] = -total / len(positives)
    return losses.T


@pytest.mark.parametrize("temperature", [0.07, 0.5])
@pytest.mark.parametrize(
    "labels", [None, torch.tensor([0, 1, 0, 1, 2]), torch.tensor([3, 3, 3, 3, 3])]
)
@pytest.mark.parametrize("num_views", [2, 3])
def test_matches_loop(temperature, labels, num_views) -> None:
    generator = torch.Generator().manual_seed(num_views)
    features = torch.randn(5, num_views, 4, generator=generator, dtype=torch.float64)
    expected = loop_supcon(features, labels, temperature)
    got = supcon(features, labels, temperature, reduction="none")
    assert got.shape == (5, num_views)
    torch.testing.assert_close(got, expected)
    torch.testing.assert_close(supcon(features, labels, temperature), expected.mean())
    torch.testing.assert_close(
        supcon(features, labels, temperature, reduction="sum"), expected.sum()
    )


@pytest.mark.parametrize("temperature", [0.1, 0.5])
def test_one_view_with_labels_matches_the_loop_and_leaves_out_anchors_without_a_positive(
    temperature,
) -> None:
    generator = torch.Generator().manual_seed(5)
    features = torch.randn(6, 1, 4, generator=generator, dtype=torch.float64)
    labels = torch.tensor([0, 1, 0, 2, 1, 0])  # sample 3 is alone in class 2
    expected = loop_supcon(features, labels, temperature)
    got = supcon(features, labels, temperature, reduction="none")
    assert got.shape == (6, 1) and got[3, 0] == 0
    torch.testing.assert_close(got, expected)
    has_positive = torch.tensor([True, True, True, False, True, True])
    torch.testing.assert_close(supcon(features, labels, temperature), expected[has_positive].mean())
    torch.testing.assert_close(
        supcon(features, labels, temperature, reduction="sum"), expected.sum()
    )
    leaf = features.clone().requires_grad_(True)
    assert torch.autograd.gradcheck(lambda f: supcon(f, labels, temperature), (leaf,))


def test_one_view_with_unique_labels_is_refused() -> None:
    with pytest.raises(ValueError, match=r"one view \(V=1\) need labels"):
        supcon(torch.randn(4, 1, 3), torch.tensor([0, 1, 2, 3]))


def test_without_labels_and_two_views_equals_nt_xent_exactly() -> None:
    """labels=None, V=2: anchor (b, v) of SupCon is row v*B + b of NT-Xent; means are equal."""
    generator = torch.Generator().manual_seed(0)
    z1 = torch.randn(6, 3, generator=generator, dtype=torch.float64)
    z2 = torch.randn(6, 3, generator=generator, dtype=torch.float64)
    per_anchor = supcon(torch.stack((z1, z2), dim=1), None, 0.3, reduction="none")
    per_row = nt_xent(z1, z2, 0.3, reduction="none")
    torch.testing.assert_close(per_anchor.T.reshape(-1), per_row)
    torch.testing.assert_close(
        supcon(torch.stack((z1, z2), dim=1), None, 0.3), nt_xent(z1, z2, 0.3)
    )


def test_unique_labels_equal_the_self_supervised_case() -> None:
    features = torch.randn(4, 2, 3, dtype=torch.float64)
    torch.testing.assert_close(supcon(features, torch.tensor([7, 2, 9, 4])), supcon(features, None))


def test_gradients_match_finite_differences() -> None:
    generator = torch.Generator().manual_seed(1)
    features = torch.randn(3, 2, 3, generator=generator, dtype=torch.float64, requires_grad=True)
    labels = torch.tensor([0, 1, 0])
    assert torch.autograd.gradcheck(lambda f: supcon(f, labels, 0.5), (features,))


def test_module_matches_function() -> None:
    features, labels = torch.randn(6, 2, 4), torch.tensor([0, 0, 1, 1, 2, 2])
    torch.testing.assert_close(
        SupConLoss(temperature=0.2)(features, labels), supcon(features, labels, 0.2)
    )


@pytest.mark.parametrize(
    ("features", "labels", "kwargs", "error", "pattern"),
    [
        (torch.randn(4, 1, 3), None, {}, ValueError, r"at least 2 views \(V >= 2\), got V=1"),
        (torch.randn(4, 3), None, {}, ValueError, r"features must be a 3-D tensor of shape"),
        (torch.randn(4, 2, 3), torch.tensor([0, 1, 2]), {}, ValueError, "labels must have len"),
        (torch.randn(4, 2, 3), torch.zeros(4), {}, TypeError, "labels must be an integer"),
        (torch.randn(0, 2, 3), None, {}, ValueError, "features must be non-empty"),
        (torch.randn(4, 2, 3), None, {"temperature": 0.0}, ValueError, "temperature"),
        (torch.randn(4, 2, 3), None, {"reduction": "mean2"}, ValueError, "reduction"),
    ],
)
def test_bad_inputs_raise_naming_the_argument(features, labels, kwargs, error, pattern) -> None:
    with pytest.raises(error, match=pattern):
        supcon(features, labels, **kwargs)
