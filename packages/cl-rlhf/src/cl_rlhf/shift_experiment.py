"""Length-shift experiment: Bradley-Terry vs MetaRM when test responses are longer than training.

Protocol (Wang et al., arXiv:2401.06080, evaluate MetaRM on responses of later, shifted
policies; we have no policy samples, so a length shift stands in for them): split the pairs
deterministically into train/val/test and into a short and a long bucket by the word count of
their longer response (:func:`cl_rlhf.metarm.length_buckets`, median cut over all pairs).
Both models train on the labelled *short* training pairs; MetaRM also sees the *long* training
pairs, unlabelled, as its shifted groups (k = 2 responses per prompt). Pairwise accuracy is
measured on the long test pairs (shifted) and on the short test pairs (in distribution).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import torch
from torch import Tensor

from cl_rlhf.data import split_pairs
from cl_rlhf.metarm import MetaRMConfig, length_buckets, metarm_objective, train_metarm_head
from cl_rlhf.training import HeadTrainConfig, reward_margins, train_reward_head

SHIFT_METHODS: tuple[str, ...] = ("bt", "metarm")


@dataclass(frozen=True)
class ShiftExperiment:
    """Settings of the length-shift comparison.

    Attributes:
        val_fraction: share of validation pairs.
        test_fraction: share of test pairs.
        split_seed: seed of the split.
        seeds: training seeds; metrics are mean and std over them.
        head: head hyper-parameters of both methods.
        meta: MetaRM settings.
    """

    val_fraction: float = 0.1
    test_fraction: float = 0.2
    split_seed: int = 0
    seeds: tuple[int, ...] = (0,)
    head: HeadTrainConfig = field(default_factory=HeadTrainConfig)
    meta: MetaRMConfig = field(default_factory=MetaRMConfig)

    def __post_init__(self) -> None:
        if not self.seeds:
            raise ValueError("seeds must hold at least one seed, got an empty tuple")


def run_length_shift_experiment(
    chosen: Tensor,
    rejected: Tensor,
    lengths: Tensor,
    experiment: ShiftExperiment | None = None,
    methods: Sequence[str] = SHIFT_METHODS,
) -> dict[str, dict[str, float]]:
    """Train BT and MetaRM on short pairs; measure accuracy on long (shifted) and short pairs.

    Args:
        chosen: features of the preferred responses, shape (N, D).
        rejected: features of the rejected responses, shape (N, D).
        lengths: the bucketing length of each pair, shape (N,).
        experiment: the settings (default :class:`ShiftExperiment`).
        methods: a subset of :data:`SHIFT_METHODS`.

    Returns:
        ``{method: metrics}`` with ``shifted_test_accuracy``, ``in_distribution_test_accuracy``,
        ``shifted_val_accuracy`` (each with a ``_std`` over seeds) and ``shifted_objective``
        (:func:`cl_rlhf.metarm.metarm_objective` of the trained head on the long test pairs:
        how far apart it puts the two responses).
    """
    experiment = experiment if experiment is not None else ShiftExperiment()
    if not methods or any(name not in SHIFT_METHODS for name in methods):
        raise ValueError(f"methods must be a non-empty list from {SHIFT_METHODS}, got {methods}")
    if chosen.dim() != 2 or chosen.shape != rejected.shape:
        raise ValueError(
            "chosen and rejected must be feature matrices of one shape (N, D), got "
            f"{tuple(chosen.shape)} and {tuple(rejected.shape)}"
        )
    if tuple(lengths.shape) != (chosen.shape[0],):
        raise ValueError(
            f"lengths must have shape ({chosen.shape[0]},), got {tuple(lengths.shape)}"
        )
    split = split_pairs(
        chosen.shape[0],
        val_fraction=experiment.val_fraction,
        test_fraction=experiment.test_fraction,
        seed=experiment.split_seed,
    )
    short, long = length_buckets(lengths)
    parts = {
        name: torch.as_tensor(rows)[bucket[torch.as_tensor(rows)]]
        for name, rows, bucket in (
            ("train", split.train, short),
            ("shifted_train", split.train, long),
            ("shifted_val", split.val, long),
            ("shifted_test", split.test, long),
            ("in_distribution_test", split.test, short),
        )
    }
    if min(len(rows) for rows in parts.values()) == 0:
        raise ValueError("every split part needs short and long pairs; too few pairs given")
    train = parts["train"]
    shifted = torch.stack((chosen[parts["shifted_train"]], rejected[parts["shifted_train"]]), 1)
    runs: dict[str, list[dict[str, float]]] = {}
    for seed in experiment.seeds:
        for name in methods:
            if name == "bt":
                head = train_reward_head(chosen[train], rejected[train], experiment.head, seed=seed)
            else:
                head = train_metarm_head(
                    chosen[train],
                    rejected[train],
                    shifted,
                    experiment.head,
                    experiment.meta,
                    seed=seed,
                )
            row = {}
            for part in ("shifted_val", "shifted_test", "in_distribution_test"):
                rows = parts[part]
                gaps = reward_margins(head, chosen[rows], rejected[rows])
                row[f"{part}_accuracy"] = float((gaps > 0).double().mean())
            test_rows = parts["shifted_test"]
            with torch.no_grad():
                rewards = torch.stack((head(chosen[test_rows]), head(rejected[test_rows])), 1)
            row["shifted_objective"] = float(metarm_objective(rewards))
            runs.setdefault(name, []).append(row)
    results = {}
    for name, rows in runs.items():
        results[name] = {key: float(np.mean([row[key] for row in rows])) for key in rows[0]}
        for key in ("shifted_test_accuracy", "in_distribution_test_accuracy"):
            results[name][f"{key}_std"] = float(np.std([row[key] for row in rows]))
        results[name]["num_train_pairs"] = float(len(train))
        results[name]["num_shifted_test_pairs"] = float(len(parts["shifted_test"]))
    return results
