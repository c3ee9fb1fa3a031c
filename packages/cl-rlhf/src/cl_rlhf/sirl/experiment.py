"""SIRL on the gridworld: a representation from similarity queries, then a reward on it.

Bobu et al., "SIRL: Similarity-based Implicit Representation Learning", HRI 2023,
arXiv:2301.00810. Protocol (all data simulated, :mod:`cl_rlhf.sirl.gridworld`):

1. A simulated person answers triplet queries ("which two of these three are most alike") by
   the distance of the trajectories' *causal* features; the query trajectories come from the
   natural distribution, where the spurious scalar varies independently of the reward.
2. A feature network :math:`\\phi` (MLP) is fit to the answers with the kernel contrastive loss
   :func:`cl_rlhf.losses.similarity_query_loss`.
3. A reward head is fit with Bradley-Terry on preference pairs whose trajectories carry the
   spurious shortcut (``"correlated"``), once on frozen :math:`\\phi` (SIRL) and once on the raw
   observations (baseline).
4. Pairwise accuracy is measured on fresh correlated pairs (in distribution) and on pairs whose
   spurious scalar is independent of the reward (shift). A linear probe (ridge) from
   :math:`\\phi` to the causal features reports how much of them the representation holds.

Both networks train on the kernel's engine (:func:`cl_core.training.fit_objective`), one CPU
process by default.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch
from torch import Tensor, nn

from cl_core.engine_options import EngineOptions
from cl_core.threads import torch_threads
from cl_rlhf.losses import TRIPLET_PAIRS, similarity_query_loss
from cl_rlhf.sirl.gridworld import GridworldConfig, Trajectories, simulate_trajectories
from cl_rlhf.training import (
    HEAD_ENGINE,
    HeadTrainConfig,
    chained_order_loader,
    continue_random_stream,
    reward_margins,
    train_reward_head,
)


@dataclass(frozen=True)
class SIRLExperiment:
    """Settings of one SIRL run.

    Attributes:
        num_queries: triplet similarity queries answered.
        num_preferences: labelled preference pairs for the reward.
        num_test_pairs: test pairs per distribution.
        feature_dim: width of :math:`\\phi`.
        hidden_dim: hidden width of :math:`\\phi`.
        encoder_epochs: passes over the queries.
        encoder_lr: Adam learning rate of :math:`\\phi`.
        seed: seed of the data and of the training.
        gridworld: simulator settings.
        head: reward-head settings (both rewards).
    """

    num_queries: int = 3000
    num_preferences: int = 200
    num_test_pairs: int = 2000
    feature_dim: int = 8
    hidden_dim: int = 64
    encoder_epochs: int = 40
    encoder_lr: float = 3e-3
    seed: int = 0
    gridworld: GridworldConfig = field(default_factory=GridworldConfig)
    head: HeadTrainConfig = field(default_factory=lambda: HeadTrainConfig(epochs=50))

    def __post_init__(self) -> None:
        for name in ("num_queries", "num_preferences", "num_test_pairs", "feature_dim"):
            if getattr(self, name) < 2:
                raise ValueError(f"{name} must be >= 2, got {getattr(self, name)}")
        if self.encoder_epochs < 1 or not self.encoder_lr > 0:
            raise ValueError(
                "encoder_epochs must be >= 1 and encoder_lr > 0, got "
                f"{self.encoder_epochs} and {self.encoder_lr}"
            )


def answer_similarity_queries(first: Tensor, second: Tensor, third: Tensor) -> Tensor:
    """A simulated person's answers: the pair of the triplet closest in the given features.

    Args:
        first: features the person judges by, of the first items, shape (B, F).
        second: same for the second items, (B, F).
        third: same for the third items, (B, F).

    Returns:
        int64 (B,), indices into :data:`cl_rlhf.losses.TRIPLET_PAIRS`.

    Example:
        >>> a = torch.tensor([[0.0]]); b = torch.tensor([[5.0]]); c = torch.tensor([[4.0]])
        >>> answer_similarity_queries(a, b, c).tolist()  # (b, c) are closest
        [2]
    """
    items = (first, second, third)
    distances = torch.stack([(items[a] - items[b]).pow(2).sum(1) for a, b in TRIPLET_PAIRS], 1)
    return distances.argmin(1)


def train_similarity_encoder(
    first: Tensor,
    second: Tensor,
    third: Tensor,
    answers: Tensor,
    *,
    feature_dim: int = 8,
    hidden_dim: int = 64,
    epochs: int = 40,
    learning_rate: float = 3e-3,
    batch_size: int = 256,
    seed: int = 0,
    engine: EngineOptions = HEAD_ENGINE,
) -> nn.Module:
    """Fit an MLP :math:`\\phi` to answered triplet queries (:func:`similarity_query_loss`).

    Args:
        first: raw observations of the triplets' first items, shape (B, D).
        second: raw observations of the second items, (B, D).
        third: raw observations of the third items, (B, D).
        answers: the answers, int64 (B,).
        feature_dim: output width of :math:`\\phi`.
        hidden_dim: hidden width.
        epochs: passes over the queries.
        learning_rate: Adam learning rate.
        batch_size: queries per step (the last batch of an epoch may be smaller).
        seed: seeds the initialisation and the order.
        engine: devices, processes, precision (default: one CPU process).

    Returns:
        The trained :math:`\\phi` (eval mode), mapping (N, D) to (N, feature_dim).
    """
    from cl_core.training import fit_objective

    def objective(encoder: nn.Module, rows: Tensor) -> Tensor:
        index = rows.cpu()
        return similarity_query_loss(
            *(encoder(items[index].to(rows.device)) for items in (first, second, third)),
            answers[index].to(rows.device),
        )

    with torch_threads(1), torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        encoder = nn.Sequential(
            nn.Linear(first.shape[1], hidden_dim), nn.ReLU(), nn.Linear(hidden_dim, feature_dim)
        )
        fit_objective(
            encoder,
            objective,
            chained_order_loader(first.shape[0], batch_size, torch.Generator().manual_seed(seed)),
            epochs=epochs,
            lr=learning_rate,
            optimizer=lambda groups: torch.optim.Adam(groups, lr=learning_rate),
            engine=engine.with_changes(seed=seed),
            callbacks=[continue_random_stream()],
        )
    return encoder.eval()


def preference_pairs(trajectories: Trajectories, num_pairs: int, *, seed: int = 0) -> Tensor:
    """Random pairs with distinct true rewards, oriented (preferred, rejected).

    Returns:
        int64 (num_pairs, 2) of row indices; column 0 has the higher true reward.
    """
    generator = torch.Generator().manual_seed(seed)
    count = trajectories.reward.shape[0]
    found: list[Tensor] = []
    total = 0
    while total < num_pairs:
        candidates = torch.randint(count, (4 * num_pairs, 2), generator=generator)
        gap = trajectories.reward[candidates[:, 0]] - trajectories.reward[candidates[:, 1]]
        keep = gap.abs() > 1e-6
        oriented = torch.where((gap > 0).unsqueeze(1), candidates, candidates.flip(1))[keep]
        found.append(oriented)
        total += oriented.shape[0]
    return torch.cat(found)[:num_pairs]


def run_sirl_experiment(experiment: SIRLExperiment | None = None) -> dict[str, dict[str, float]]:
    """Run the protocol of the module docstring.

    Returns:
        ``{"sirl": metrics, "raw": metrics}`` with ``in_distribution_accuracy``,
        ``shifted_accuracy`` and ``accuracy_drop`` (their difference); ``"sirl"`` adds
        ``causal_probe_r2`` (ridge probe from :math:`\\phi` to the causal features on the
        shifted trajectories) and ``query_agreement`` (share of held-out queries :math:`\\phi`
        answers like the person).
    """
    from sklearn.linear_model import RidgeCV
    from sklearn.metrics import r2_score

    experiment = experiment if experiment is not None else SIRLExperiment()
    world, seed = experiment.gridworld, experiment.seed
    natural = simulate_trajectories(
        3 * (experiment.num_queries + 500), world, spurious="independent", seed=seed
    )
    triplets = natural.observations.view(3, -1, world.observation_dim)
    causal = natural.causal.view(3, -1, 2)
    answers = answer_similarity_queries(*causal)
    train_q = slice(0, experiment.num_queries)
    held_q = slice(experiment.num_queries, None)
    encoder = train_similarity_encoder(
        *(part[train_q] for part in triplets),
        answers[train_q],
        feature_dim=experiment.feature_dim,
        hidden_dim=experiment.hidden_dim,
        epochs=experiment.encoder_epochs,
        learning_rate=experiment.encoder_lr,
        seed=seed,
    )
    with torch.no_grad():
        held_answers = answer_similarity_queries(*(encoder(part[held_q]) for part in triplets))
    agreement = float((held_answers == answers[held_q]).double().mean())

    labelled = simulate_trajectories(
        2 * experiment.num_preferences, world, spurious="correlated", seed=seed + 1
    )
    tests = {
        "in_distribution": simulate_trajectories(
            2 * experiment.num_test_pairs, world, spurious="correlated", seed=seed + 2
        ),
        "shifted": simulate_trajectories(
            2 * experiment.num_test_pairs, world, spurious="independent", seed=seed + 3
        ),
    }
    train_pairs = preference_pairs(labelled, experiment.num_preferences, seed=seed + 4)
    test_pairs = {
        name: preference_pairs(batch, experiment.num_test_pairs, seed=seed + 5)
        for name, batch in tests.items()
    }
    representations = {"sirl": encoder, "raw": nn.Identity()}
    results: dict[str, dict[str, float]] = {}
    for name, represent in representations.items():
        with torch.no_grad():
            features = represent(labelled.observations)
        head = train_reward_head(
            features[train_pairs[:, 0]], features[train_pairs[:, 1]], experiment.head, seed=seed
        )
        row = {}
        for part, batch in tests.items():
            with torch.no_grad():
                test_features = represent(batch.observations)
            pairs = test_pairs[part]
            gaps = reward_margins(head, test_features[pairs[:, 0]], test_features[pairs[:, 1]])
            row[f"{part}_accuracy"] = float((gaps > 0).double().mean())
        row["accuracy_drop"] = row["in_distribution_accuracy"] - row["shifted_accuracy"]
        results[name] = row
    with torch.no_grad():
        shifted_features = encoder(tests["shifted"].observations).numpy()
    half = shifted_features.shape[0] // 2
    targets = tests["shifted"].causal.numpy()
    probe = RidgeCV().fit(shifted_features[:half], targets[:half])
    results["sirl"]["causal_probe_r2"] = float(
        r2_score(targets[half:], probe.predict(shifted_features[half:]))
    )
    results["sirl"]["query_agreement"] = agreement
    return results
