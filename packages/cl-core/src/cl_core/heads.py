"""Heads that sit between an encoder and a contrastive loss.

- :class:`ProjectionMLP` - the SimCLR-style projector (Chen et al., "A Simple Framework for
  Contrastive Learning of Visual Representations", 2020, arXiv:2002.05709): ``Linear -> norm ->
  ReLU`` blocks and a final ``Linear``, with an optional norm on the output.
- :class:`MultiHeadProjector` - C independent projectors over one feature, as in AMCL (Wang,
  Koniusz, Gedeon, Zheng, "Adaptive Multi-head Contrastive Learning", ECCV 2024, arXiv:2310.05615).
- :class:`PairTemperatureNetwork` - AMCL's shared pair-temperature network
  ``τ(a, b) = τ_min + (τ_max - τ_min) · sigmoid(-⟨φ(a), φ(b)⟩)`` with ``φ: d -> h -> d``.
- :class:`ClassPairGate` - the Hydra / SimLAP class-pair gate (Wu et al., "Rethinking Positive
  Pairs in Contrastive Learning", 2024, arXiv:2410.18200):
  ``g = sigmoid(MLP((E[y1] + E[y2]) / 2)) ∈ (0, 1)^d`` with a label embedding ``E`` of width 512
  and ``MLP = ReLU-BN-Linear(512 -> 1024)-ReLU-BN-Linear(1024 -> d)``.
"""

from __future__ import annotations

from typing import Literal

import torch
from torch import Tensor, nn

from cl_core.validation import check_index, check_tensor_dim

__all__ = [
    "ClassPairGate",
    "MultiHeadProjector",
    "Norm",
    "PairTemperatureNetwork",
    "ProjectionMLP",
]

Norm = Literal["batch", "layer", "none"]


def _check_positive_int(value: int, name: str) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"{name} must be a positive int, got {value!r}")


def _norm_layer(norm: Norm, width: int) -> nn.Module:
    if norm == "batch":
        return nn.BatchNorm1d(width)
    if norm == "layer":
        return nn.LayerNorm(width)
    if norm == "none":
        return nn.Identity()
    raise ValueError(f"norm must be 'batch', 'layer' or 'none', got {norm!r}")


def _check_features(x: Tensor, width: int, name: str) -> None:
    check_tensor_dim(x, 2, name, f"(N, {width})")
    if x.shape[1] != width:
        raise ValueError(f"{name} must have shape (N, {width}), got {tuple(x.shape)}")


class ProjectionMLP(nn.Module):
    """``num_layers - 1`` blocks of ``Linear -> norm -> ReLU``, then ``Linear -> last_norm``.

    Args:
        in_dim: input width.
        out_dim: output width.
        hidden_dim: width of the hidden blocks (default: ``in_dim``).
        num_layers: number of Linear layers, >= 1 (1 gives a single Linear layer).
        norm: norm inside the hidden blocks: ``"batch"`` (SimCLR), ``"layer"`` or ``"none"``.
        last_norm: norm after the last Linear (Hydra uses ``"layer"``).

    Shapes:
        input (N, in_dim) -> output (N, out_dim).

    Example:
        >>> head = ProjectionMLP(512, 128, hidden_dim=2048, num_layers=2)
        >>> head(torch.randn(4, 512)).shape
        torch.Size([4, 128])
    """

    def __init__(
        self,
        in_dim: int,
        out_dim: int,
        *,
        hidden_dim: int | None = None,
        num_layers: int = 2,
        norm: Norm = "batch",
        last_norm: Norm = "none",
    ) -> None:
        super().__init__()
        hidden_dim = in_dim if hidden_dim is None else hidden_dim
        for value, name in (
            (in_dim, "in_dim"),
            (out_dim, "out_dim"),
            (hidden_dim, "hidden_dim"),
            (num_layers, "num_layers"),
        ):
            _check_positive_int(value, name)
        self.in_dim = in_dim
        self.out_dim = out_dim
        layers: list[nn.Module] = []
        width = in_dim
        for _ in range(num_layers - 1):
            layers += [nn.Linear(width, hidden_dim), _norm_layer(norm, hidden_dim), nn.ReLU()]
            width = hidden_dim
        layers += [nn.Linear(width, out_dim), _norm_layer(last_norm, out_dim)]
        self.layers = nn.Sequential(*layers)

    def forward(self, x: Tensor) -> Tensor:
        _check_features(x, self.in_dim, "x")
        return self.layers(x)


class MultiHeadProjector(nn.Module):
    """C independent :class:`ProjectionMLP` heads over the same feature (AMCL, arXiv:2310.05615).

    Args:
        in_dim: input width.
        out_dim: output width of every head.
        num_heads: number of heads C >= 1 (AMCL default 3).
        **mlp_options: ``hidden_dim``, ``num_layers``, ``norm``, ``last_norm`` for each head.

    Shapes:
        input (N, in_dim) -> output (N, C, out_dim).

    Example:
        >>> MultiHeadProjector(64, 16, num_heads=3)(torch.randn(4, 64)).shape
        torch.Size([4, 3, 16])
    """

    def __init__(
        self,
        in_dim: int,
        out_dim: int,
        *,
        num_heads: int = 3,
        hidden_dim: int | None = None,
        num_layers: int = 2,
        norm: Norm = "batch",
        last_norm: Norm = "none",
    ) -> None:
        super().__init__()
        _check_positive_int(num_heads, "num_heads")
        self.in_dim = in_dim
        self.heads = nn.ModuleList(
            ProjectionMLP(
                in_dim,
                out_dim,
                hidden_dim=hidden_dim,
                num_layers=num_layers,
                norm=norm,
                last_norm=last_norm,
            )
            for _ in range(num_heads)
        )

    def forward(self, x: Tensor) -> Tensor:
        _check_features(x, self.in_dim, "x")
        return torch.stack([head(x) for head in self.heads], dim=1)


class PairTemperatureNetwork(nn.Module):
    """AMCL's pair-adaptive temperature ``τ(a, b) = τ_min + (τ_max - τ_min) σ(-⟨φ(a), φ(b)⟩)``.

    ``φ = Linear(d, h) -> ReLU -> Linear(h, d)`` is shared by all heads (Wang et al., ECCV 2024,
    arXiv:2310.05615). Similar pairs (large ``⟨φ(a), φ(b)⟩``) get low temperatures.

    Args:
        dim: embedding width d.
        hidden_dim: hidden width h of φ (default: ``dim``).
        tau_min: lower bound, > 0 (paper: 1e-5).
        tau_max: upper bound, > tau_min (paper: 2.0).

    Shapes:
        ``forward(anchors (N, d), candidates (M, d)) -> (N, M)`` with entries in
        ``[tau_min, tau_max]``: the temperature of every anchor-candidate pair.

    Example:
        >>> net = PairTemperatureNetwork(16)
        >>> tau = net(torch.randn(4, 16), torch.randn(6, 16))
        >>> tau.shape, bool(((tau >= 1e-5) & (tau <= 2.0)).all())
        (torch.Size([4, 6]), True)
    """

    def __init__(
        self,
        dim: int,
        *,
        hidden_dim: int | None = None,
        tau_min: float = 1e-5,
        tau_max: float = 2.0,
    ) -> None:
        super().__init__()
        hidden_dim = dim if hidden_dim is None else hidden_dim
        _check_positive_int(dim, "dim")
        _check_positive_int(hidden_dim, "hidden_dim")
        if not 0.0 < tau_min < tau_max:
            raise ValueError(
                f"need 0 < tau_min < tau_max, got tau_min={tau_min}, tau_max={tau_max}"
            )
        self.dim = dim
        self.tau_min = float(tau_min)
        self.tau_max = float(tau_max)
        self.phi = nn.Sequential(nn.Linear(dim, hidden_dim), nn.ReLU(), nn.Linear(hidden_dim, dim))

    def forward(self, anchors: Tensor, candidates: Tensor) -> Tensor:
        _check_features(anchors, self.dim, "anchors")
        _check_features(candidates, self.dim, "candidates")
        scores = self.phi(anchors) @ self.phi(candidates).T
        return self.tau_min + (self.tau_max - self.tau_min) * torch.sigmoid(-scores)


class ClassPairGate(nn.Module):
    """Hydra / SimLAP class-pair gate ``g = σ(MLP((E[y1] + E[y2]) / 2)) ∈ (0, 1)^d``.

    Wu et al., "Rethinking Positive Pairs in Contrastive Learning", 2024, arXiv:2410.18200
    (``BasicGate`` in the author toolkit ``erow/FastSSL``). ``MLP`` is
    ``ReLU -> BN -> Linear(embed_dim, hidden_dim) -> ReLU -> BN -> Linear(hidden_dim, dim)``.

    Args:
        num_classes: number of labels.
        dim: gate width d (the projector's output width).
        embed_dim: label-embedding width (paper: 512).
        hidden_dim: MLP hidden width (paper: 1024).

    Shapes:
        ``forward(y1 (N,), y2 (N,) | None) -> (N, d)``; with ``y2=None`` the gate of class y1.

    Example:
        >>> gate = ClassPairGate(num_classes=10, dim=32)
        >>> g = gate(torch.tensor([0, 1, 2]), torch.tensor([3, 1, 0]))
        >>> g.shape, bool(((g > 0) & (g < 1)).all())
        (torch.Size([3, 32]), True)
    """

    def __init__(
        self, num_classes: int, dim: int, *, embed_dim: int = 512, hidden_dim: int = 1024
    ) -> None:
        super().__init__()
        for value, name in (
            (num_classes, "num_classes"),
            (dim, "dim"),
            (embed_dim, "embed_dim"),
            (hidden_dim, "hidden_dim"),
        ):
            _check_positive_int(value, name)
        self.num_classes = num_classes
        self.label_embedding = nn.Embedding(num_classes, embed_dim)
        self.mlp = nn.Sequential(
            nn.ReLU(),
            nn.BatchNorm1d(embed_dim),
            nn.Linear(embed_dim, hidden_dim),
            nn.ReLU(),
            nn.BatchNorm1d(hidden_dim),
            nn.Linear(hidden_dim, dim),
        )

    def forward(self, y1: Tensor, y2: Tensor | None = None) -> Tensor:
        check_tensor_dim(y1, 1, "y1", "(N,)")
        check_index(y1, y1.shape[0], self.num_classes, "y1")
        embedding = self.label_embedding(y1)
        if y2 is not None:
            check_index(y2, y1.shape[0], self.num_classes, "y2")
            embedding = (embedding + self.label_embedding(y2)) / 2
        return torch.sigmoid(self.mlp(embedding))

    @torch.no_grad()
    def statistics(self) -> tuple[float, float]:
        """Mean number of open dimensions (Σ_k g_k) and mean Bernoulli entropy over all classes.

        BatchNorm uses its running statistics here (the module is evaluated in eval mode).
        """
        was_training = self.training
        self.eval()
        labels = torch.arange(self.num_classes, device=self.label_embedding.weight.device)
        gates = torch.sigmoid(self.mlp(self.label_embedding(labels)))
        self.train(was_training)
        entropy = torch.distributions.Bernoulli(probs=gates).entropy().mean()
        return float(gates.sum(1).mean()), float(entropy)
