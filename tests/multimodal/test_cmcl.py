"""CMCL's dual-sided null-space projection: projector maths, score preservation, the toy run."""

from __future__ import annotations

import math

import pytest
import torch

from cl_multimodal.cmcl import (
    ModalitySecondMoments,
    dual_null_space_gradient,
    subspace_projector,
)
from cl_multimodal.experiments.cmcl_synthetic import ContinualConfig, run_continual


def test_projector_keeps_directions_above_the_threshold():
    basis = torch.linalg.qr(torch.randn(5, 5, dtype=torch.float64))[0]
    moment = (
        basis @ torch.diag(torch.tensor([3.0, 1.0, 0.5, 0.05, 0.0], dtype=torch.float64)) @ basis.T
    )
    projector = subspace_projector(moment, 0.1)
    torch.testing.assert_close(projector, basis[:, :3] @ basis[:, :3].T)
    torch.testing.assert_close(projector @ projector, projector)
    assert torch.count_nonzero(subspace_projector(moment, 10.0)) == 0


def test_projected_updates_preserve_old_scores_exactly():
    # Property of the paper: y_old^T (W + dW) x_old = y_old^T W x_old for x_old in span(P) and
    # y_old in span(P~) whenever dW is a sum of projected gradients.
    torch.manual_seed(0)
    d_in, d_out = 6, 5
    old_inputs = torch.randn(40, 2) @ torch.randn(2, d_in)  # rank-2 input history
    old_partners = torch.randn(40, 3) @ torch.randn(3, d_out)  # rank-3 partner history
    moments = ModalitySecondMoments(d_in, d_out)
    moments.update(0, old_inputs, old_partners)
    input_projector, partner_projector = moments.projectors(0)
    weight = torch.randn(d_out, d_in)
    update = sum(
        dual_null_space_gradient(torch.randn(d_out, d_in), input_projector, partner_projector)
        for _ in range(3)
    )
    before = old_partners @ weight @ old_inputs.T
    after = old_partners @ (weight - 0.5 * update) @ old_inputs.T
    torch.testing.assert_close(after, before, atol=1e-4, rtol=1e-4)
    assert not torch.allclose(update, torch.zeros_like(update))


def test_unseen_modality_has_zero_projectors_so_gradients_pass_unchanged():
    moments = ModalitySecondMoments(4, 3)
    input_projector, partner_projector = moments.projectors(7)
    gradient = torch.randn(3, 4)
    torch.testing.assert_close(
        dual_null_space_gradient(gradient, input_projector, partner_projector), gradient
    )


def test_bad_shapes_are_named():
    with pytest.raises(ValueError, match="square"):
        subspace_projector(torch.zeros(2, 3), 0.1)
    with pytest.raises(ValueError, match=r"input_projector must be \(d_in, d_in\)"):
        dual_null_space_gradient(torch.zeros(3, 4), torch.zeros(3, 3), torch.zeros(3, 3))
    with pytest.raises(ValueError, match="partner_embeddings"):
        ModalitySecondMoments(4, 3).update(0, torch.zeros(2, 4), torch.zeros(2, 4))


def test_dns_forgets_old_pairs_less_than_fine_tuning():
    config = ContinualConfig(train_size=600, test_size=200, epochs=3, batch_size=50, lr=0.03)
    dns = run_continual("dns", config)
    finetune = run_continual("finetune", config)
    # Pair (0, 1) keeps its recall up to the noise directions cut off by lambda_min.
    first_pair_dns = [row[0] for row in dns["recall_matrix"]]
    assert max(first_pair_dns) - min(first_pair_dns) <= 0.02
    assert dns["stability"] > finetune["stability"] + 0.05
    assert not math.isnan(finetune["plasticity"])
    with pytest.raises(ValueError, match="method"):
        run_continual("ewc", config)
