"""Projection heads, AMCL's temperature network and Hydra's class-pair gate."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from cl_core.heads import ClassPairGate, MultiHeadProjector, PairTemperatureNetwork, ProjectionMLP


def _all_parameters_get_gradients(module: nn.Module, output: torch.Tensor) -> bool:
    output.square().sum().backward()
    return all(p.grad is not None and bool(p.grad.abs().sum() > 0) for p in module.parameters())


@pytest.mark.parametrize("num_layers", [1, 2, 3])
@pytest.mark.parametrize("norm", ["batch", "layer", "none"])
def test_projection_mlp_shapes_depth_and_gradients(num_layers, norm) -> None:
    torch.manual_seed(0)
    head = ProjectionMLP(12, 5, hidden_dim=16, num_layers=num_layers, norm=norm)
    out = head(torch.randn(8, 12))
    assert out.shape == (8, 5)
    assert sum(isinstance(m, nn.Linear) for m in head.modules()) == num_layers
    expected_norm = {"batch": nn.BatchNorm1d, "layer": nn.LayerNorm, "none": None}[norm]
    if expected_norm is not None:
        assert sum(isinstance(m, expected_norm) for m in head.modules()) == num_layers - 1
    assert _all_parameters_get_gradients(head, out)


def test_projection_mlp_last_layer_norm_standardises_each_row() -> None:
    head = ProjectionMLP(6, 10, last_norm="layer")
    out = head(torch.randn(4, 6))
    torch.testing.assert_close(out.mean(1), torch.zeros(4), atol=1e-5, rtol=0)
    torch.testing.assert_close(out.var(1, unbiased=False), torch.ones(4), atol=1e-3, rtol=0)


def test_multi_head_projector_stacks_independent_heads() -> None:
    torch.manual_seed(0)
    projector = MultiHeadProjector(12, 4, num_heads=3, hidden_dim=8)
    x = torch.randn(5, 12)
    out = projector(x)
    assert out.shape == (5, 3, 4)
    projector.eval()
    out = projector(x)
    for h, head in enumerate(projector.heads):
        torch.testing.assert_close(out[:, h], head(x))
    assert not torch.allclose(out[:, 0], out[:, 1])
    assert _all_parameters_get_gradients(projector, out)


def test_pair_temperature_follows_its_formula_and_stays_in_range() -> None:
    torch.manual_seed(0)
    net = PairTemperatureNetwork(6, hidden_dim=9, tau_min=0.05, tau_max=1.5)
    a, c = torch.randn(4, 6), torch.randn(7, 6)
    tau = net(a, c)
    expected = 0.05 + 1.45 * torch.sigmoid(-(net.phi(a) @ net.phi(c).T))
    torch.testing.assert_close(tau, expected)
    torch.testing.assert_close(net(c, a), tau.T)
    huge = net(1e4 * torch.randn(4, 6), 1e4 * torch.randn(7, 6))
    assert bool(((huge >= 0.05) & (huge <= 1.5)).all())
    assert _all_parameters_get_gradients(net, tau)


def test_class_pair_gate_shape_range_symmetry_and_gradients() -> None:
    torch.manual_seed(0)
    gate = ClassPairGate(num_classes=5, dim=7)
    assert gate.label_embedding.embedding_dim == 512
    assert gate.mlp[2].out_features == 1024
    y1, y2 = torch.tensor([0, 1, 2, 4]), torch.tensor([3, 1, 0, 2])
    g = gate(y1, y2)
    assert g.shape == (4, 7)
    assert bool(((g > 0) & (g < 1)).all())
    gate.eval()
    torch.testing.assert_close(gate(y1, y2), gate(y2, y1))
    torch.testing.assert_close(gate(y1[1:2], y1[1:2]), gate(y1[1:2]))
    gate.train()
    assert _all_parameters_get_gradients(gate, gate(y1, y2))


def test_class_pair_gate_statistics_are_in_range() -> None:
    gate = ClassPairGate(num_classes=3, dim=4, embed_dim=8, hidden_dim=8)
    gate.train()
    activation, entropy = gate.statistics()
    assert 0.0 < activation < 4.0
    assert 0.0 < entropy <= 0.6932
    assert gate.training


@pytest.mark.parametrize(
    ("build", "error", "message"),
    [
        (lambda: ProjectionMLP(0, 4), ValueError, "in_dim"),
        (lambda: ProjectionMLP(4, 4, num_layers=0), ValueError, "num_layers"),
        (lambda: ProjectionMLP(4, 4, norm="group"), ValueError, "norm"),
        (lambda: MultiHeadProjector(4, 4, num_heads=0), ValueError, "num_heads"),
        (lambda: PairTemperatureNetwork(4, tau_min=0.0), ValueError, "tau_min"),
        (lambda: PairTemperatureNetwork(4, tau_min=2.0, tau_max=1.0), ValueError, "tau_max"),
        (lambda: ClassPairGate(0, 4), ValueError, "num_classes"),
    ],
)
def test_bad_options_raise(build, error, message) -> None:
    with pytest.raises(error, match=message):
        build()


def test_bad_inputs_raise() -> None:
    with pytest.raises(ValueError, match=r"\(N, 6\)"):
        ProjectionMLP(6, 2)(torch.randn(3, 5))
    with pytest.raises(TypeError, match="x"):
        ProjectionMLP(6, 2)([[0.0] * 6])
    with pytest.raises(ValueError, match="candidates"):
        PairTemperatureNetwork(4)(torch.randn(2, 4), torch.randn(2, 3))
    gate = ClassPairGate(3, 4)
    with pytest.raises(ValueError, match="y1"):
        gate(torch.tensor([0, 3]))
    with pytest.raises(TypeError, match="y2"):
        gate(torch.tensor([0, 1]), torch.tensor([0.0, 1.0]))
    with pytest.raises(ValueError, match="y2"):
        gate(torch.tensor([0, 1]), torch.tensor([0, 1, 2]))
