"""The work behind ``cl-train rlhf`` (imported only when the command runs)."""

from __future__ import annotations

import argparse
import json
import time
from dataclasses import replace

import torch

from cl_core.cli import UserFacingError, prepare_out_dir
from cl_rlhf.data import PairFileError, flip_mask, load_preference_pairs, split_pairs
from cl_rlhf.features import default_max_length, pair_features
from cl_rlhf.methods import STRENGTH_METHODS, fit_method
from cl_rlhf.metrics import pairwise_accuracy
from cl_rlhf.training import HeadTrainConfig, reward_margins


def train_from_args(args: argparse.Namespace) -> int:
    """Load pairs, encode (cached), split, inject flips, train ``args.method``, save results.

    Writes ``reward_head.pt`` (state dict, input width and settings), ``metrics.json`` (pairwise
    accuracy on the validation and test pairs) and ``feature-cache/`` to ``args.out``.

    Raises:
        UserFacingError: unreadable pair file (naming file and line), too few pairs, bad folder.
    """
    if args.ensemble_size < 2 and args.method in STRENGTH_METHODS:
        raise UserFacingError(f"--ensemble-size must be >= 2 for --method {args.method}")
    out = prepare_out_dir(args.out)
    try:
        pairs = load_preference_pairs(args.pairs, limit=args.max_pairs)
        split = split_pairs(
            len(pairs),
            val_fraction=args.val_fraction,
            test_fraction=args.test_fraction,
            seed=args.seed,
        )
    except (PairFileError, ValueError) as error:
        raise UserFacingError(str(error)) from None
    if args.encoder is not None and not (args.encoder / "config.json").is_file():
        raise UserFacingError(f"--encoder {args.encoder}: not a Hugging Face model folder")
    if args.strength_folds > len(split.train):
        raise UserFacingError(
            f"--strength-folds {args.strength_folds} exceeds the {len(split.train)} training pairs"
        )
    max_length = args.max_length or default_max_length(args.view)
    chosen, rejected = pair_features(
        pairs,
        out / "feature-cache",
        view=args.view,
        model_path=args.encoder,
        max_length=max_length,
    )
    train = torch.as_tensor(split.train)
    swap = torch.as_tensor(flip_mask(len(train), args.flip_fraction, seed=args.seed + 1))[:, None]
    config = HeadTrainConfig(epochs=args.epochs, batch_size=args.batch_size, learning_rate=args.lr)
    start = time.perf_counter()
    fit = fit_method(
        args.method,
        torch.where(swap, rejected[train], chosen[train]),
        torch.where(swap, chosen[train], rejected[train]),
        config,
        ensemble_size=args.ensemble_size,
        strength_config=replace(config, epochs=args.strength_epochs),
        contrastive_weight=args.contrastive_weight,
        strength_folds=args.strength_folds if args.strength_folds > 1 else None,
        weakest_fraction=args.weakest_fraction,
        seed=args.seed,
    )
    metrics: dict[str, float | int | str] = {
        "method": args.method,
        "pairs": str(args.pairs),
        "train_pairs": len(split.train),
        "flipped_train_pairs": int(swap.sum()),
        "train_time_s": time.perf_counter() - start,
    }
    for part, rows in (("val", split.val), ("test", split.test)):
        if len(rows):
            index = torch.as_tensor(rows)
            gap = reward_margins(fit.head, chosen[index], rejected[index])
            metrics[f"{part}_accuracy"] = pairwise_accuracy(gap, torch.zeros_like(gap))
    if fit.suspects is not None:
        metrics["suspect_fraction"] = float(fit.suspects.double().mean())
    torch.save(
        {
            "state_dict": fit.head.state_dict(),
            "in_dim": fit.head.in_dim,
            "hidden_dim": config.hidden_dim,
            "encoder": str(args.encoder) if args.encoder else "all-MiniLM-L6-v2 (packaged)",
            "view": args.view,
            "max_length": max_length,
        },
        out / "reward_head.pt",
    )
    (out / "metrics.json").write_text(json.dumps(metrics, indent=2) + "\n")
    print(json.dumps(metrics))
    return 0
