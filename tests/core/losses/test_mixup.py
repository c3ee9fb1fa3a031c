"""M3Co mixup loss: mixing, soft targets and loss against loops from the formula."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

from cl_core.losses.mixup import M3CoLoss, m3co, m3co_loss, m3co_soft_targets, mixco_mix


def loop_m3co(mixed, fixed, permutation, weights, tau, bidirectional=True):
    m, f = F.normalize(mixed, dim=-1), F.normalize(fixed, dim=-1)
    n = m.shape[0]
    targets = torch.zeros(n, n, dtype=m.dtype)
    for i in range(n):
        targets[i, i] += weights[i]
        targets[i, permutation[i]] += 1 - weights[i]
    logits = torch.stack([torch.stack([m[i] @ f[j] / tau for j in range(n)]) for i in range(n)])
    forward = torch.zeros((), dtype=m.dtype)
    backward = torch.zeros((), dtype=m.dtype)
    for i in range(n):
        for j in range(n):
            forward = forward - targets[i, j] * (logits[i, j] - torch.logsumexp(logits[i], 0)) / n
            backward = (
                backward - targets[i, j] * (logits[i, j] - torch.logsumexp(logits[:, j], 0)) / n
            )
    return (forward + backward) / 2 if bidirectional else forward


def test_soft_targets_sum_to_one_even_for_fixed_points() -> None:
    permutation = torch.tensor([0, 2, 1, 3])  # rows 0 and 3 are mixed with themselves
    weights = torch.tensor([0.3, 0.6, 1.0, 0.2])
    targets = m3co_soft_targets(permutation, weights)
    torch.testing.assert_close(targets.sum(1), torch.ones(4))
    torch.testing.assert_close(targets[0, 0], torch.tensor(1.0))
    torch.testing.assert_close(targets[1], torch.tensor([0.0, 0.6, 0.4, 0.0]))


def test_mixing_follows_its_formula_and_is_reproducible() -> None:
    x = torch.randn(10, 3, 2)
    batch = mixco_mix(x, mix_prob=0.7, generator=torch.Generator().manual_seed(0))
    w = batch.weights.reshape(-1, 1, 1)
    torch.testing.assert_close(batch.mixed, w * x + (1 - w) * x[batch.permutation])
    assert bool(((batch.weights >= 0) & (batch.weights <= 1)).all())
    again = mixco_mix(x, mix_prob=0.7, generator=torch.Generator().manual_seed(0))
    assert torch.equal(batch.mixed, again.mixed)


def test_mix_probability_zero_leaves_the_batch_unmixed() -> None:
    x = torch.randn(6, 4)
    batch = mixco_mix(x, mix_prob=0.0)
    assert torch.equal(batch.weights, torch.ones(6))
    torch.testing.assert_close(batch.mixed, x)


def test_mixing_weights_follow_the_beta_distribution() -> None:
    # float64 input: Beta(0.15, 0.15) puts ~4% of its mass within float32 rounding of 1.
    x = torch.zeros(4000, 1, dtype=torch.float64)
    batch = mixco_mix(x, mix_prob=1.0, generator=torch.Generator().manual_seed(0))
    result = stats.kstest(batch.weights.numpy(), stats.beta(0.15, 0.15).cdf)
    assert result.pvalue > 1e-3


def test_unit_weights_give_one_directional_infonce() -> None:
    a, b = torch.randn(2, 8, 5, dtype=torch.float64).unbind(0)
    tau = 0.1
    logits = F.normalize(a, dim=-1) @ F.normalize(b, dim=-1).T / tau
    expected = F.cross_entropy(logits, torch.arange(8))
    torch.testing.assert_close(m3co(a, b, mix_prob=0.0, bidirectional=False), expected)


@pytest.mark.parametrize("bidirectional", [True, False])
def test_loss_matches_loop(bidirectional) -> None:
    generator = torch.Generator().manual_seed(1)
    a, b = torch.randn(2, 6, 4, generator=generator, dtype=torch.float64).unbind(0)
    batch = mixco_mix(a, mix_prob=1.0, generator=generator)
    torch.testing.assert_close(
        m3co_loss(
            batch.mixed,
            b,
            batch.permutation,
            batch.weights,
            temperature=0.2,
            bidirectional=bidirectional,
        ),
        loop_m3co(batch.mixed, b, batch.permutation, batch.weights, 0.2, bidirectional),
    )


def test_module_uses_the_generator() -> None:
    a, b = torch.randn(2, 6, 4).unbind(0)
    loss = M3CoLoss(mix_prob=1.0)
    first = loss(a, b, generator=torch.Generator().manual_seed(3))
    again = m3co(a, b, mix_prob=1.0, generator=torch.Generator().manual_seed(3))
    torch.testing.assert_close(first, again)


def test_gradients_match_finite_differences() -> None:
    a = torch.randn(4, 3, dtype=torch.float64, requires_grad=True)
    b = torch.randn(4, 3, dtype=torch.float64, requires_grad=True)

    def loss(x, y):
        return m3co(x, y, temperature=0.5, mix_prob=1.0, generator=torch.Generator().manual_seed(0))

    assert torch.autograd.gradcheck(loss, (a, b))


@pytest.mark.parametrize(
    ("permutation", "weights", "message"),
    [
        (torch.tensor([0, 0, 1]), torch.ones(3), "permutation"),
        (torch.tensor([0, 1, 2]), torch.tensor([0.5, 1.5, 1.0]), "weights"),
        (torch.tensor([0, 1, 2]), torch.ones(2), "weights"),
    ],
)
def test_bad_targets_raise(permutation, weights, message) -> None:
    with pytest.raises(ValueError, match=message):
        m3co_soft_targets(permutation, weights)


def test_bad_inputs_raise() -> None:
    a, b = torch.randn(4, 3), torch.randn(4, 3)
    with pytest.raises(ValueError, match="mix_prob"):
        m3co(a, b, mix_prob=1.5)
    with pytest.raises(ValueError, match="beta_alpha"):
        mixco_mix(a, beta_alpha=0.0)
    with pytest.raises(ValueError, match="temperature"):
        m3co(a, b, temperature=0.0)
    with pytest.raises(ValueError, match="same shape"):
        m3co(a, torch.randn(5, 3))
    with pytest.raises(ValueError, match="fixed"):
        m3co(a, torch.full((4, 3), float("nan")))
    with pytest.raises(ValueError, match="permutation"):
        m3co_loss(a, b, torch.tensor([0, 1]), torch.ones(2))
    with pytest.raises(TypeError, match="x"):
        mixco_mix([1.0, 2.0])


@settings(max_examples=25, deadline=None)
@given(
    n=st.integers(1, 6),
    dim=st.integers(1, 5),
    temperature=st.floats(0.05, 2.0),
    mix_prob=st.floats(0.0, 1.0),
    seed=st.integers(0, 2**16),
)
def test_hypothesis_matches_loop(n, dim, temperature, mix_prob, seed) -> None:
    generator = torch.Generator().manual_seed(seed)
    a, b = torch.randn(2, n, dim, generator=generator, dtype=torch.float64).unbind(0)
    batch = mixco_mix(a, mix_prob=mix_prob, generator=generator)
    targets = m3co_soft_targets(batch.permutation, batch.weights)
    torch.testing.assert_close(targets.sum(1), torch.ones(n, dtype=torch.float64))
    torch.testing.assert_close(
        m3co_loss(batch.mixed, b, batch.permutation, batch.weights, temperature=temperature),
        loop_m3co(batch.mixed, b, batch.permutation, batch.weights, temperature),
    )
