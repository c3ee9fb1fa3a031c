"""The method registry and the NNCLR adapter (the losses themselves are tested in tests/core)."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from cl_core.losses import dcl, info_nce
from cl_vision.cli import METHOD_CHOICES
from cl_vision.methods import METHOD_NAMES, METHODS, LossSetup, NNCLRLoss, method_spec

SETUP = LossSetup(dim=8, num_classes=4, queue_size=32, top_k=4)


def test_cli_offers_every_trainable_method() -> None:
    assert METHOD_CHOICES == METHOD_NAMES


@pytest.mark.parametrize("name", METHOD_NAMES)
def test_every_method_gives_a_finite_loss_with_gradients(name: str) -> None:
    spec = METHODS[name]
    loss_fn = spec.make_loss(SETUP)
    torch.manual_seed(0)
    shape = (8, spec.num_heads, 8) if spec.num_heads > 1 else (8, 8)
    views = [torch.randn(shape, requires_grad=True) for _ in range(spec.num_views)]
    kwargs: dict = {}
    if spec.needs_labels:
        kwargs["labels"] = torch.tensor([0, 1, 2, 3, 0, 1, 2, 3])
    if spec.temperature is not None:
        kwargs["temperature"] = spec.temperature
    loss = loss_fn(*views, **kwargs)
    loss.backward()
    assert loss.dim() == 0 and torch.isfinite(loss)
    assert all(v.grad is not None and torch.isfinite(v.grad).all() for v in views)


def _nnclr_reference(z1, z2, queue, temperature, pair):
    """Loop reference: nearest neighbour by cosine, then the kernel pair loss per direction."""

    def nearest(z):
        rows = []
        for row in F.normalize(z, dim=-1):
            scores = [float(row @ q) for q in F.normalize(queue, dim=-1)]
            rows.append(F.normalize(queue, dim=-1)[max(range(len(scores)), key=scores.__getitem__)])
        return torch.stack(rows)

    nn1, nn2 = nearest(z1), nearest(z2)
    if pair == "dcl":
        return 0.5 * (dcl(nn1, z2, temperature) + dcl(nn2, z1, temperature))
    return 0.5 * (
        info_nce(nn1, z2, temperature=temperature) + info_nce(nn2, z1, temperature=temperature)
    )


@pytest.mark.parametrize("pair", ["info_nce", "dcl"])
def test_nnclr_matches_a_loop_reference_and_updates_its_queue(pair: str) -> None:
    torch.manual_seed(1)
    loss_fn = NNCLRLoss(dim=6, queue_size=16, pair_loss=pair)
    queue = torch.randn(10, 6)
    loss_fn.support.queue.enqueue(F.normalize(queue, dim=-1))
    z1, z2 = torch.randn(5, 6), torch.randn(5, 6)
    got = loss_fn(z1, z2, 0.2)
    torch.testing.assert_close(got, _nnclr_reference(z1, z2, queue, 0.2, pair))
    assert len(loss_fn.support.queue) == 15


def test_nnclr_first_step_uses_the_batch_as_support() -> None:
    torch.manual_seed(2)
    z1, z2 = torch.randn(6, 4), torch.randn(6, 4)
    loss_fn = NNCLRLoss(dim=4, queue_size=32)
    got = loss_fn(z1, z2, 0.5)
    torch.testing.assert_close(got, _nnclr_reference(z1, z2, z1, 0.5, "info_nce"))
    assert len(loss_fn.support.queue) == 12


def test_nnclr_gives_no_gradient_through_the_neighbours() -> None:
    torch.manual_seed(3)
    loss_fn = NNCLRLoss(dim=4, queue_size=8)
    loss_fn.support.queue.enqueue(F.normalize(torch.randn(8, 4), dim=-1))
    z1 = torch.randn(3, 4, requires_grad=True)
    z2 = torch.randn(3, 4)
    nn2 = loss_fn.support(F.normalize(z2, dim=-1), update=False)
    loss_fn(z1, z2, 0.5).backward()
    # z1 reaches the loss only as the candidate of the second direction, not via NN(z1).
    expected_z1 = z1.detach().clone().requires_grad_(True)
    (0.5 * info_nce(nn2, expected_z1, temperature=0.5)).backward()
    torch.testing.assert_close(z1.grad, expected_z1.grad)


def test_unknown_method_and_pair_loss_raise() -> None:
    with pytest.raises(ValueError, match="method must be one of"):
        method_spec("byol")
    with pytest.raises(ValueError, match="pair_loss"):
        NNCLRLoss(4, 8, pair_loss="mse")
