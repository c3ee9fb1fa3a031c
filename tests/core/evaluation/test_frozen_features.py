"""Features of a frozen encoder: batched, no gradients, the encoder's mode restored."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from cl_core.evaluation import frozen_features


class _ModeRecorder(nn.Module):
    """A linear map that records the training flag and batch size of each call."""

    def __init__(self) -> None:
        super().__init__()
        self.linear = nn.Linear(4, 3)
        self.calls: list[tuple[bool, int]] = []

    def forward(self, rows: torch.Tensor) -> torch.Tensor:
        self.calls.append((self.training, len(rows)))
        return self.linear(rows)


@pytest.mark.parametrize("training", [True, False])
def test_batches_match_one_pass_without_gradients_and_mode_is_restored(training) -> None:
    encoder = _ModeRecorder().train(training)
    inputs = torch.randn(10, 4)
    features = frozen_features(encoder, inputs, batch_size=4)
    torch.testing.assert_close(features, encoder.linear(inputs).detach())
    assert not features.requires_grad
    assert encoder.calls == [(False, 4), (False, 4), (False, 2)]
    assert encoder.training is training


def test_mode_is_restored_when_the_encoder_fails() -> None:
    encoder = nn.Sequential(nn.Linear(4, 3)).train()
    with pytest.raises(RuntimeError):
        frozen_features(encoder, torch.randn(3, 5))
    assert encoder.training


@pytest.mark.parametrize(
    ("inputs", "batch_size", "message"),
    [
        (torch.zeros(0, 4), 2, "at least one row"),
        ([[0.0] * 4], 2, "at least one row"),
        (torch.zeros(2, 4), 0, "batch_size"),
        (torch.zeros(2, 4), True, "batch_size"),
    ],
)
def test_rejects_bad_input(inputs, batch_size, message) -> None:
    with pytest.raises(ValueError, match=message):
        frozen_features(nn.Linear(4, 3), inputs, batch_size=batch_size)
