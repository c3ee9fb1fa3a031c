"""The work behind ``cl-train rlhf`` (imported only when the command runs)."""

from __future__ import annotations

import argparse
import json
import time

import torch

from cl_core.cli import UserFacingError, prepare_out_dir
from cl_rlhf.data import PairFileError, flip_mask, load_preference_pairs, split_pairs
from cl_rlhf.encoding import cached_text_features
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
    features = cached_text_features(
        list(pairs.chosen) + list(pairs.rejected),
        out / "feature-cache",
        model_path=args.encoder,
        max_length=args.max_length,
    )
    chosen, rejected = features[: len(pairs)], features[len(pairs) :]
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
        contrastive_weight=args.contrastive_weight,
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
    if fit.strength is not None:
        metrics["suspect_fraction"] = float(fit.strength.suspect.double().mean())
    torch.save(
        {
            "state_dict": fit.head.state_dict(),
            "in_dim": fit.head.in_dim,
            "hidden_dim": config.hidden_dim,
            "encoder": str(args.encoder) if args.encoder else "all-MiniLM-L6-v2 (packaged)",
            "max_length": args.max_length,
        },
        out / "reward_head.pt",
    )
    (out / "metrics.json").write_text(json.dumps(metrics, indent=2) + "\n")
    print(json.dumps(metrics))
    return 0
