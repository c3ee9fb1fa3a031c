"""A small gridworld trajectory simulator with causal and a spurious feature (simulated data).

Data card: **simulated**. A trajectory is a random walk of ``horizon`` steps on a ``size x size``
grid from a random start, with a per-trajectory drift direction. Two *causal* features decide
the true reward: the share of steps on the goal block (bottom-right 2x2 cells) and the share on
the hazard block (2x2 cells left of the centre); the reward is
:math:`r = \\text{goal share} - \\text{hazard share}`. The raw observation of a trajectory is its
visitation map (share of steps per cell, ``size**2`` numbers) followed by ``spurious_dims``
copies of a *spurious* scalar b (think of the lighting of the scene):

- ``"correlated"``: :math:`b = r / \\mathrm{std}(r) + \\epsilon`, a near-perfect shortcut to the
  reward (the situation of the collected preference data);
- ``"independent"``: :math:`b \\sim \\mathcal{N}(0, 1)`, unrelated to the reward (the shift that
  breaks the shortcut, and the natural distribution of the similarity queries).

Used by :mod:`cl_rlhf.sirl.experiment` for SIRL (Bobu et al., HRI 2023, arXiv:2301.00810).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import torch
from torch import Tensor

SpuriousMode = Literal["correlated", "independent"]
SPURIOUS_MODES: tuple[str, ...] = ("correlated", "independent")
_MOVES = torch.tensor([[0, 1], [1, 0], [0, -1], [-1, 0], [0, 0]])


@dataclass(frozen=True)
class GridworldConfig:
    """Simulator settings.

    Attributes:
        size: grid side, >= 4.
        horizon: steps per trajectory, >= 1.
        drift: probability of a step in the trajectory's drift direction (else a random move).
        spurious_dims: copies of the spurious scalar in the observation, >= 1.
        spurious_noise: std of :math:`\\epsilon` in the ``"correlated"`` mode.
    """

    size: int = 6
    horizon: int = 12
    drift: float = 0.5
    spurious_dims: int = 4
    spurious_noise: float = 0.05

    def __post_init__(self) -> None:
        if self.size < 4 or self.horizon < 1 or self.spurious_dims < 1:
            raise ValueError(
                "size must be >= 4, horizon >= 1 and spurious_dims >= 1, got "
                f"size={self.size}, horizon={self.horizon}, spurious_dims={self.spurious_dims}"
            )
        if not 0.0 <= self.drift <= 1.0 or self.spurious_noise < 0:
            raise ValueError(
                f"drift must be in [0, 1] and spurious_noise >= 0, got drift={self.drift}, "
                f"spurious_noise={self.spurious_noise}"
            )

    @property
    def observation_dim(self) -> int:
        """Width of the raw observation: ``size**2 + spurious_dims``."""
        return self.size * self.size + self.spurious_dims


@dataclass(frozen=True)
class Trajectories:
    """A batch of simulated trajectories.

    Attributes:
        observations: raw observations, shape (N, size**2 + spurious_dims).
        causal: the causal features (goal share, hazard share), shape (N, 2).
        reward: the true reward, goal share minus hazard share, shape (N,).
    """

    observations: Tensor
    causal: Tensor
    reward: Tensor


def simulate_trajectories(
    num: int,
    config: GridworldConfig | None = None,
    *,
    spurious: SpuriousMode = "correlated",
    seed: int = 0,
) -> Trajectories:
    """Simulate ``num`` trajectories (module docstring).

    Args:
        num: number of trajectories, >= 2.
        config: simulator settings (default :class:`GridworldConfig`).
        spurious: ``"correlated"`` or ``"independent"``.
        seed: seed of the walks and of the spurious noise.

    Returns:
        :class:`Trajectories`.

    Example:
        >>> batch = simulate_trajectories(5)
        >>> batch.observations.shape, batch.causal.shape
        (torch.Size([5, 40]), torch.Size([5, 2]))
    """
    if num < 2:
        raise ValueError(f"num must be >= 2, got {num}")
    if spurious not in SPURIOUS_MODES:
        raise ValueError(f"spurious must be one of {SPURIOUS_MODES}, got {spurious!r}")
    config = config if config is not None else GridworldConfig()
    generator = torch.Generator().manual_seed(seed)
    size = config.size
    position = torch.randint(size, (num, 2), generator=generator)
    heading = torch.randint(4, (num,), generator=generator)
    visits = torch.zeros(num, size * size)
    rows = torch.arange(num)
    for _ in range(config.horizon):
        follow = torch.rand(num, generator=generator) < config.drift
        move = torch.where(follow, heading, torch.randint(5, (num,), generator=generator))
        position = (position + _MOVES[move]).clamp(0, size - 1)
        visits[rows, position[:, 0] * size + position[:, 1]] += 1.0 / config.horizon
    grid = visits.view(num, size, size)
    middle = size // 2
    goal = grid[:, size - 2 :, size - 2 :].sum((1, 2))
    hazard = grid[:, middle - 1 : middle + 1, 1:3].sum((1, 2))
    reward = goal - hazard
    if spurious == "correlated":
        noise = torch.randn(num, generator=generator) * config.spurious_noise
        shortcut = reward / reward.std().clamp_min(1e-8) + noise
    else:
        shortcut = torch.randn(num, generator=generator)
    observations = torch.cat((visits, shortcut.unsqueeze(1).expand(num, config.spurious_dims)), 1)
    return Trajectories(observations, torch.stack((goal, hazard), 1), reward)
