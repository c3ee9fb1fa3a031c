"""CpuSyncBatchNorm: one process behaves as torch's BatchNorm; conversion keeps the state dict.

The multi-process path (global statistics over gloo) is checked end to end by
tests/multimodal/test_engine_runs.py (2-process DDP equals one process on the global batch).
"""

from __future__ import annotations

import copy

import pytest
import torch
from torch import nn

from cl_core.training.cpu_sync_batchnorm import CpuSyncBatchNorm, convert_cpu_sync_batchnorm


@pytest.mark.parametrize("momentum", [0.1, None])
@pytest.mark.parametrize("path", ["local", "global-statistics"])
def test_one_process_matches_batchnorm_in_values_gradients_and_running_stats(
    momentum, path, monkeypatch
):
    if path == "global-statistics":
        # The multi-process formula on one process: the all-reduces are identities.
        from cl_core.training import cpu_sync_batchnorm

        monkeypatch.setattr(cpu_sync_batchnorm, "world_size", lambda: 2)
        monkeypatch.setattr(cpu_sync_batchnorm, "all_reduce_with_grad", lambda x: x)
    # No conv bias: BatchNorm cancels it, its gradient is rounding noise.
    reference = nn.Sequential(nn.Conv2d(3, 4, 3, bias=False), nn.BatchNorm2d(4, momentum=momentum))
    converted = convert_cpu_sync_batchnorm(copy.deepcopy(reference))
    assert isinstance(converted[1], CpuSyncBatchNorm)
    assert converted.state_dict().keys() == reference.state_dict().keys()
    x = torch.randn(5, 3, 6, 6)
    weights = torch.randn(5, 4, 4, 4)  # sum(y^2) would have a near-zero gradient
    for _ in range(2):
        expected, got = reference(x), converted(x)
        torch.testing.assert_close(got, expected)
        (expected * weights).sum().backward()
        (got * weights).sum().backward()
    for (name, a), b in zip(reference.named_parameters(), converted.parameters(), strict=True):
        torch.testing.assert_close(b.grad, a.grad, msg=name)
    for name, buffer in reference.state_dict().items():
        torch.testing.assert_close(converted.state_dict()[name], buffer, msg=name)
    reference.eval()
    converted.eval()
    torch.testing.assert_close(converted(x), reference(x))


def test_bad_layers_and_inputs_are_named():
    with pytest.raises(TypeError, match="layer"):
        CpuSyncBatchNorm(nn.Linear(2, 2))
    with pytest.raises(ValueError, match=r"\(N, 4"):
        CpuSyncBatchNorm(nn.BatchNorm1d(4))(torch.randn(3, 5))
