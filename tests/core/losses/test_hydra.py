"""Hydra / SimLAP gated multi-positive cross-entropy against loops from the paper's formula."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st

from cl_core.losses.hydra import HydraLoss, hydra_multipos_ce, sample_partner_labels


def loop_supcon_style(z1, z2, labels, scale):
    """g ≡ 1, y2 = y1: each same-class pair against itself plus the other-class negatives."""
    u1, u2 = F.normalize(z1, dim=-1), F.normalize(z2, dim=-1)
    losses = []
    for i in range(len(labels)):
        for j in range(len(labels)):
            if labels[j] != labels[i]:
                continue
            positive = torch.exp(scale * u1[i] @ u2[j])
            negatives = sum(
                torch.exp(scale * u1[i] @ u2[k])
                for k in range(len(labels))
                if labels[k] != labels[i]
            )
            losses.append(-torch.log(positive / (positive + negatives)))
    return torch.stack(losses).mean()


def loop_hydra(z1, z2, y1, y2, gate, candidate_labels, scale):
    """L = Σ_ij P_ij [log(e^{l_ij} + Σ_k (1 - E_ik) e^{l_ik}) - l_ij] / Σ P_ij."""
    u1, u2 = F.normalize(z1, dim=-1), F.normalize(z2, dim=-1)
    numerator, count = torch.zeros((), dtype=z1.dtype), 0
    for i in range(z1.shape[0]):
        logits = [scale * (u1[i] * gate[i] * gate[i]) @ u2[j] for j in range(z2.shape[0])]
        excluded = [candidate_labels[j] in (y1[i], y2[i]) for j in range(z2.shape[0])]
        negatives = sum(
            (torch.exp(logits[k]) for k in range(z2.shape[0]) if not excluded[k]),
            torch.zeros((), dtype=z1.dtype),
        )
        for j in range(z2.shape[0]):
            if candidate_labels[j] == y2[i]:
                numerator = numerator + torch.log(torch.exp(logits[j]) + negatives) - logits[j]
                count += 1
    return numerator / count


@pytest.fixture
def batch():
    generator = torch.Generator().manual_seed(3)
    z1 = torch.randn(8, 5, generator=generator, dtype=torch.float64)
    z2 = torch.randn(8, 5, generator=generator, dtype=torch.float64)
    labels = torch.tensor([0, 1, 2, 0, 1, 2, 0, 3])
    return z1, z2, labels


def test_ungated_identical_pairs_match_supcon_style_loop(batch) -> None:
    z1, z2, labels = batch
    torch.testing.assert_close(
        hydra_multipos_ce(z1, z2, labels, labels, logit_scale=5.0),
        loop_supcon_style(z1, z2, labels, 5.0),
    )


def test_gated_arbitrary_pairs_match_loop(batch) -> None:
    z1, z2, labels = batch
    partner = labels[torch.tensor([3, 7, 0, 5, 2, 1, 4, 6])]
    gate = torch.rand(8, 5, dtype=torch.float64, generator=torch.Generator().manual_seed(4))
    torch.testing.assert_close(
        hydra_multipos_ce(z1, z2, labels, partner, gate=gate, logit_scale=torch.tensor(7.0)),
        loop_hydra(z1, z2, labels, partner, gate, labels, 7.0),
    )


def test_gathered_candidates_with_their_own_labels(batch) -> None:
    z1, z2, labels = batch
    extra = torch.randn(3, 5, dtype=torch.float64)
    candidates = torch.cat((z2, extra))
    candidate_labels = torch.cat((labels, torch.tensor([1, 4, 0])))
    gate = torch.full((8, 5), 0.8, dtype=torch.float64)
    partner = labels.flip(0)
    torch.testing.assert_close(
        hydra_multipos_ce(
            z1, candidates, labels, partner, gate=gate, candidate_labels=candidate_labels
        ),
        loop_hydra(z1, candidates, labels, partner, gate, candidate_labels, 10.0),
    )


def test_closed_gate_makes_every_candidate_equally_likely(batch) -> None:
    # g = 0 zeroes every logit: each positive competes with itself plus the n_neg negatives.
    z1, z2, labels = batch
    loss = hydra_multipos_ce(z1, z2, labels, labels, gate=torch.zeros(8, 5, dtype=torch.float64))
    negatives = (labels.unsqueeze(1) != labels.unsqueeze(0)).sum(1)
    positives = (labels.unsqueeze(1) == labels.unsqueeze(0)).sum(1)
    expected = (positives * torch.log1p(negatives.double())).sum() / positives.sum()
    torch.testing.assert_close(loss, expected)


def test_gradients_match_finite_differences() -> None:
    z1 = torch.randn(5, 3, dtype=torch.float64, requires_grad=True)
    z2 = torch.randn(5, 3, dtype=torch.float64, requires_grad=True)
    gate = torch.rand(5, 3, dtype=torch.float64, requires_grad=True)
    y1 = torch.tensor([0, 1, 0, 2, 1])
    y2 = torch.tensor([1, 2, 0, 0, 1])
    assert torch.autograd.gradcheck(
        lambda a, b, g: hydra_multipos_ce(a, b, y1, y2, gate=g, logit_scale=3.0), (z1, z2, gate)
    )


def test_partner_sampling_modes() -> None:
    labels = torch.tensor([0, 1, 2, 3, 4, 0, 1, 2])
    generator = torch.Generator().manual_seed(0)
    assert torch.equal(sample_partner_labels(labels, "identical"), labels)
    distinct = sample_partner_labels(labels, "distinct", num_classes=5, generator=generator)
    assert bool((distinct != labels).all()) and bool(((distinct >= 0) & (distinct < 5)).all())
    arbitrary = sample_partner_labels(labels, "arbitrary", generator=generator)
    assert torch.equal(arbitrary.sort().values, labels.sort().values)
    first = sample_partner_labels(labels, generator=torch.Generator().manual_seed(9))
    again = sample_partner_labels(labels, generator=torch.Generator().manual_seed(9))
    assert torch.equal(first, again)


def test_module_trains_gate_and_scale() -> None:
    torch.manual_seed(0)
    loss_fn = HydraLoss(num_classes=4, dim=6, embed_dim=16, hidden_dim=32)
    labels = torch.tensor([0, 1, 2, 3, 0, 1, 2, 3])
    z1 = torch.randn(8, 6, requires_grad=True)
    loss = loss_fn(z1, torch.randn(8, 6), labels, generator=torch.Generator().manual_seed(1))
    loss.backward()
    assert torch.isfinite(loss)
    assert loss_fn.log_scale.grad is not None and loss_fn.log_scale.grad != 0
    assert loss_fn.gate.label_embedding.weight.grad is not None
    assert bool(loss_fn.gate.label_embedding.weight.grad.abs().sum() > 0)
    assert loss_fn.log_scale.exp().item() == pytest.approx(10.0)


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"z2": torch.randn(6, 4)}, ValueError, "width"),
        ({"z1": torch.randn(6)}, ValueError, r"\(B, D\)"),
        ({"y2": torch.tensor([0, 1, 2])}, ValueError, "y2"),
        ({"y1": torch.zeros(6)}, TypeError, "y1"),
        ({"y2": torch.tensor([0, 1, 2, 0, 1, 9])}, ValueError, "no candidate"),
        ({"logit_scale": 0.0}, ValueError, "logit_scale"),
        ({"logit_scale": torch.tensor(-1.0)}, ValueError, "logit_scale"),
        ({"gate": torch.ones(6, 2)}, ValueError, "gate"),
        ({"z1": torch.full((6, 3), float("nan"))}, ValueError, "z1"),
        ({"z2": torch.randn(7, 3)}, ValueError, "candidate_labels"),
    ],
)
def test_bad_inputs_raise(kwargs, error, message) -> None:
    arguments = {
        "z1": torch.randn(6, 3),
        "z2": torch.randn(6, 3),
        "y1": torch.tensor([0, 1, 2, 0, 1, 2]),
        "y2": torch.tensor([1, 2, 0, 0, 1, 2]),
    }
    arguments.update(kwargs)
    with pytest.raises(error, match=message):
        hydra_multipos_ce(**arguments)


def test_bad_pairing_options_raise() -> None:
    with pytest.raises(ValueError, match="num_classes"):
        sample_partner_labels(torch.tensor([0, 1]), "distinct")
    with pytest.raises(ValueError, match="mode"):
        sample_partner_labels(torch.tensor([0, 1]), "random")
    with pytest.raises(ValueError, match="mode"):
        HydraLoss(num_classes=3, dim=4, mode="random")


@settings(max_examples=25, deadline=None)
@given(
    batch=st.integers(2, 7),
    num_classes=st.integers(1, 4),
    dim=st.integers(1, 5),
    scale=st.floats(0.5, 20.0),
    seed=st.integers(0, 2**16),
)
def test_hypothesis_matches_loop(batch, num_classes, dim, scale, seed) -> None:
    generator = torch.Generator().manual_seed(seed)
    z1 = torch.randn(batch, dim, generator=generator, dtype=torch.float64)
    z2 = torch.randn(batch, dim, generator=generator, dtype=torch.float64)
    gate = torch.rand(batch, dim, generator=generator, dtype=torch.float64)
    y1 = torch.randint(0, num_classes, (batch,), generator=generator)
    y2 = y1[torch.randperm(batch, generator=generator)]
    torch.testing.assert_close(
        hydra_multipos_ce(z1, z2, y1, y2, gate=gate, logit_scale=scale),
        loop_hydra(z1, z2, y1, y2, gate, y1, scale),
    )
