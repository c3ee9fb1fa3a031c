"""DCL / DCLW (Yeh et al. 2022, arXiv:2110.06848) against a loop from the reference formula."""

from __future__ import annotations

import pytest
import torch

from cl_core.losses import DCLLoss, DCLWLoss, dcl, nt_xent


def unit(v):
    return v / torch.sqrt(torch.sum(v * v, dim=-1, keepdim=True))


def loop_dcl(z1, z2, temperature, weighted=False, sigma=0.5, normalize=True):
    """Per pair: L(z1,z2)_i + L(z2,z1)_i with
    L(a,b)_i = -w_i a_i.b_i/t + log sum_{j != i} [exp(a_i.a_j/t) + exp(a_i.b_j/t)]."""
    if normalize:
        z1, z2 = unit(z1), unit(z2)
    b = len(z1)
    positive = torch.stack([torch.dot(z1[i], z2[i]) for i in range(b)])
    if weighted:
        exps = torch.exp(positive / sigma)
        weights = 2 - b * exps / exps.sum()
    else:
        weights = torch.ones(b, dtype=z1.dtype)
    losses = []
    for i in range(b):
        total = 0.0
        for a, c in ((z1, z2), (z2, z1)):
            negatives = sum(
                torch.exp(torch.dot(a[i], a[j]) / temperature)
                + torch.exp(torch.dot(a[i], c[j]) / temperature)
                for j in range(b)
                if j != i
            )
            total = total - weights[i] * torch.dot(a[i], c[i]) / temperature + torch.log(negatives)
        losses.append(total)
    return torch.stack(losses)


@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("temperature", [0.1, 0.5])
@pytest.mark.parametrize("batch", [2, 5])
def test_matches_loop(weighted, temperature, batch) -> None:
    generator = torch.Generator().manual_seed(batch)
    z1 = torch.randn(batch, 4, generator=generator, dtype=torch.float64)
    z2 = torch.randn(batch, 4, generator=generator, dtype=torch.float64)
    expected = loop_dcl(z1, z2, temperature, weighted)
    got = dcl(z1, z2, temperature, weighted=weighted, reduction="none")
    torch.testing.assert_close(got, expected)
    torch.testing.assert_close(dcl(z1, z2, temperature, weighted=weighted), expected.mean())
    torch.testing.assert_close(
        dcl(z1, z2, temperature, weighted=weighted, reduction="sum"), expected.sum()
    )


def test_positive_similarity_enters_only_through_the_numerator() -> None:
    """Moving only s(z1_i, z2_i) changes DCL by exactly -2 * delta / t (both directions).

    z1_i = e_i and z2_i = alpha_i e_i + r_i with r_i in extra coordinates, so alpha_i changes the
    positive logit of pair i and no other logit (normalize=False keeps the geometry).
    """
    batch, temperature = 4, 0.5
    generator = torch.Generator().manual_seed(3)
    extra = torch.randn(batch, 3, generator=generator, dtype=torch.float64)
    z1 = torch.cat((torch.eye(batch, dtype=torch.float64), torch.zeros(batch, 3)), dim=1)

    def views(alpha):
        return z1, torch.cat((torch.diag(alpha), extra), dim=1)

    base = torch.tensor([0.3, -0.2, 0.5, 0.1], dtype=torch.float64)
    moved = base.clone()
    moved[1] += 0.8
    before = dcl(*views(base), temperature, normalize=False, reduction="none")
    after = dcl(*views(moved), temperature, normalize=False, reduction="none")
    expected_change = torch.zeros(batch, dtype=torch.float64)
    expected_change[1] = -2 * 0.8 / temperature
    torch.testing.assert_close(after - before, expected_change)
    nt_before = nt_xent(*views(base), temperature, normalize=False, reduction="none")
    nt_after = nt_xent(*views(moved), temperature, normalize=False, reduction="none")
    # NT-Xent keeps the positive in its denominator, so the same move lowers it by less.
    assert (nt_after - nt_before)[1].item() > -0.8 / temperature + 1e-3


def test_dclw_equals_dcl_when_all_positive_similarities_are_equal() -> None:
    """Equal s(z1_i, z2_i) give softmax 1/B, hence w_i = 2 - B/B = 1."""
    z1 = torch.eye(3, dtype=torch.float64)
    z2 = torch.roll(torch.eye(3, dtype=torch.float64), 1, dims=1) + z1
    torch.testing.assert_close(dcl(z1, z2, 0.2, weighted=True), dcl(z1, z2, 0.2))


@pytest.mark.parametrize("weighted", [False, True])
def test_gradients_match_finite_differences(weighted) -> None:
    generator = torch.Generator().manual_seed(4)
    z1 = torch.randn(3, 3, generator=generator, dtype=torch.float64, requires_grad=True)
    z2 = torch.randn(3, 3, generator=generator, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda a, b: dcl(a, b, 0.3, weighted=weighted), (z1, z2))


def test_modules_match_function() -> None:
    z1, z2 = torch.randn(5, 4), torch.randn(5, 4)
    torch.testing.assert_close(DCLLoss(0.2)(z1, z2), dcl(z1, z2, 0.2))
    torch.testing.assert_close(
        DCLWLoss(0.2, sigma=0.3)(z1, z2), dcl(z1, z2, 0.2, weighted=True, sigma=0.3)
    )


@pytest.mark.parametrize(
    ("z1", "z2", "kwargs", "error", "pattern"),
    [
        (torch.randn(1, 3), torch.randn(1, 3), {}, ValueError, r"at least 2 pairs \(B >= 2\)"),
        (torch.randn(3, 3), torch.randn(4, 3), {}, ValueError, "z1 and z2 must have the same"),
        (torch.randn(3, 3), torch.randn(3, 3), {"sigma": 0.0}, ValueError, "sigma"),
        (torch.randn(3, 3), torch.randn(3, 3), {"temperature": -1}, ValueError, "temperature"),
        (torch.randn(3), torch.randn(3), {}, ValueError, "z1 must be a 2-D"),
        (torch.randn(3, 3), torch.randn(3, 3), {"reduction": "no"}, ValueError, "reduction"),
    ],
)
def test_bad_inputs_raise_naming_the_argument(z1, z2, kwargs, error, pattern) -> None:
    with pytest.raises(error, match=pattern):
        dcl(z1, z2, **kwargs)
