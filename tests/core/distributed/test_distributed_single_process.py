"""Outside torch.distributed the helpers are exact no-ops for a world of one process."""

from __future__ import annotations

import pytest
import torch

from cl_core.distributed import (
    LOSS_DISTRIBUTION,
    Distribution,
    all_reduce_with_grad,
    distribution_of,
    gather_no_grad,
    gather_with_grad,
    gathered_multiview,
    gathered_pair,
    gathered_views,
    is_distributed,
    rank,
    rank_offset,
    world_size,
)
from cl_core.losses import masked_logits_loss, nt_xent, supcon


def test_not_initialised_means_one_process():
    assert not is_distributed()
    assert world_size() == 1
    assert rank() == 0
    assert rank_offset(5) == 0


def test_gathers_return_their_input():
    x = torch.randn(4, 3, requires_grad=True)
    assert gather_with_grad(x) is x
    assert gather_no_grad(x) is x
    assert all_reduce_with_grad(x) is x


def test_gathered_views_reproduce_nt_xent_in_one_process():
    z1, z2 = torch.randn(5, 4), torch.randn(5, 4)
    anchors, candidates, positive, exclude = gathered_views(z1, z2)
    loss = masked_logits_loss(
        anchors, candidates, temperature=0.5, positive_index=positive, exclude_index=exclude
    )
    torch.testing.assert_close(loss, nt_xent(z1, z2, 0.5, normalize=False))


def test_gathered_multiview_reproduces_supcon_in_one_process():
    features, labels = torch.randn(6, 3, 4), torch.tensor([0, 1, 0, 2, 1, 2])
    anchors, candidates, anchor_labels, candidate_labels, exclude = gathered_multiview(
        features, labels
    )
    loss = masked_logits_loss(
        anchors,
        candidates,
        temperature=0.2,
        anchor_labels=anchor_labels,
        candidate_labels=candidate_labels,
        exclude_index=exclude,
    )
    torch.testing.assert_close(loss, supcon(features, labels, 0.2, normalize=False))


def test_every_gathering_loss_is_declared():
    for name in ("nt_xent", "info_nce", "clip_loss", "supcon", "dcl"):
        assert distribution_of(name) is Distribution.GATHER_NEGATIVES
    assert set(LOSS_DISTRIBUTION.values()) <= set(Distribution)


def test_bad_arguments_are_rejected():
    with pytest.raises(ValueError, match="loss_name must be one of"):
        distribution_of("nope")
    with pytest.raises(TypeError, match=r"x must be a torch\.Tensor"):
        gather_with_grad([1.0, 2.0])
    with pytest.raises(ValueError, match="same number of rows"):
        gathered_pair(torch.randn(3, 2), torch.randn(4, 2))
    with pytest.raises(ValueError, match="same shape"):
        gathered_views(torch.randn(3, 2), torch.randn(3, 5))
    with pytest.raises(ValueError, match="labels must have length 3"):
        gathered_multiview(torch.randn(3, 2, 4), torch.tensor([0, 1]))
