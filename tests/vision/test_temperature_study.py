"""The temperature study's embedding geometry (Wang & Liu, CVPR 2021, arXiv:2012.09740).

The paper measures tolerance as the mean similarity of same-class pairs of the L2-normalised
embeddings the contrastive loss is computed on (here: the projection-head outputs), and uniformity
as ``log E exp(-2 ||z_i - z_j||^2)`` on the same embeddings.
"""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F

from cl_vision.data import load_image_split
from cl_vision.evaluation import geometry_scores
from cl_vision.temperature_study import sweep_temperatures
from cl_vision.training import TrainConfig, build_module
from cl_vision.views import default_augmentation


@pytest.fixture(scope="module")
def tiny_digits():
    return load_image_split("digits", train_limit=64, test_limit=30)


def _loop_geometry(z: torch.Tensor, labels: torch.Tensor) -> tuple[float, float]:
    """Tolerance and uniformity by a plain loop over distinct pairs, from the paper's formulas."""
    same, kernel = [], []
    for i in range(len(z)):
        for j in range(len(z)):
            if i == j:
                continue
            if labels[i] == labels[j]:
                same.append(float(z[i] @ z[j]))
            kernel.append(math.exp(-2 * float(((z[i] - z[j]) ** 2).sum())))
    return sum(same) / len(same), math.log(sum(kernel) / len(kernel))


def test_geometry_is_measured_on_the_normalised_head_outputs_the_loss_sees(tiny_digits) -> None:
    config = TrainConfig(method="simclr", temperature=0.2)
    module = build_module(config, tiny_digits.image_shape, 10, default_augmentation("digits"))
    module.eval()
    with torch.no_grad():
        head = F.normalize(module.embed(tiny_digits.test_x), dim=-1)
        encoder = F.normalize(module.encoder(tiny_digits.test_x), dim=-1)
    tolerance, uniformity = _loop_geometry(head, tiny_digits.test_y)
    scores = geometry_scores(module, tiny_digits)
    assert scores["tolerance"] == pytest.approx(tolerance, abs=1e-5)
    assert scores["uniformity"] == pytest.approx(uniformity, abs=1e-4)
    # The backbone features (before the head) give another number: the metric is not taken there.
    assert abs(_loop_geometry(encoder, tiny_digits.test_y)[0] - tolerance) > 1e-3


@pytest.mark.parametrize("temperatures", [(), (0.1, 0.0), (-1.0,)])
def test_sweep_rejects_bad_temperatures(tiny_digits, tmp_path, temperatures) -> None:
    with pytest.raises(ValueError, match="temperatures must be a non-empty list of taus > 0"):
        sweep_temperatures(tiny_digits, tmp_path, temperatures=temperatures)
