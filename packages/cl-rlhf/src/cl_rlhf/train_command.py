"""The work behind ``cl-train rlhf`` (imported only when the command runs).

The engine options come from :func:`cl_core.cli.engine_options`. Outputs (``metrics.json``,
``reward_head.pt``, ``model/``) are written once, by rank 0, after data-parallel fine-tuning.
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Callable
from dataclasses import replace

import torch

from cl_core.cli import UserFacingError, engine_options, prepare_out_dir, refuse_engine_options
from cl_core.engine_options import EngineOptions
from cl_core.io import atomic_write_text
from cl_rlhf.data import PairFileError, flip_mask, load_preference_pairs, split_pairs
from cl_rlhf.features import default_max_length, pair_features, pair_texts
from cl_rlhf.methods import (
    AUXILIARY_METHODS,
    STRENGTH_METHODS,
    estimate_strength,
    fit_method,
    strength_adjustments,
)
from cl_rlhf.metrics import pairwise_accuracy
from cl_rlhf.training import HeadTrainConfig, reward_margins


def train_from_args(args: argparse.Namespace) -> int:
    """Load pairs, encode (cached), split, inject flips, train ``args.method``, save results.

    Writes ``metrics.json`` (pairwise accuracy on the validation and test pairs),
    ``feature-cache/`` and, for ``--backbone frozen``, ``reward_head.pt`` (state dict, input width
    and settings) or, for ``--backbone finetune``, ``model/`` (:meth:`RewardModel.save`) and the
    engine's ``checkpoints/`` and ``logs/`` (``--resume`` continues from them) to ``args.out``.
    ``args.epochs`` must be set (:func:`cl_rlhf.cli.run` fills in the backbone's default).

    Raises:
        UserFacingError: unreadable pair file (naming file and line), too few pairs, bad folder,
            an engine option the backbone cannot honour, a missing accelerator.
    """
    from cl_core.training import check_engine

    if args.ensemble_size < 2 and args.method in STRENGTH_METHODS:
        raise UserFacingError(f"--ensemble-size must be >= 2 for --method {args.method}")
    engine = _engine(args)
    check_engine(engine)
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
    if args.backbone == "finetune":
        _check_finetune_layers(args)
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
    head_engine = engine.with_changes(devices=1)
    train_chosen = torch.where(swap, rejected[train], chosen[train])
    train_rejected = torch.where(swap, chosen[train], rejected[train])
    metrics: dict[str, float | int | str] = {
        "method": args.method,
        "backbone": args.backbone,
        "pairs": str(args.pairs),
        "train_pairs": len(split.train),
        "flipped_train_pairs": int(swap.sum()),
    }
    start = time.perf_counter()
    if args.backbone == "finetune":
        texts = pair_texts(pairs, args.view)
        noisy = [
            (texts[1][i], texts[0][i]) if flipped else (texts[0][i], texts[1][i])
            for i, flipped in zip(split.train, swap[:, 0].tolist(), strict=True)
        ]
        finetuned = _finetune(
            args, engine, config, max_length, texts, noisy, train_chosen, train_rejected
        )
        if finetuned is None:
            return 0
        scorer, suspects = finetuned
        metrics["finetune_layers"] = args.finetune_layers or "all"
    else:
        fit = fit_method(
            args.method,
            train_chosen,
            train_rejected,
            config,
            ensemble_size=args.ensemble_size,
            strength_config=replace(config, epochs=args.strength_epochs),
            contrastive_weight=args.contrastive_weight,
            strength_folds=args.strength_folds if args.strength_folds > 1 else None,
            weakest_fraction=args.weakest_fraction,
            seed=args.seed,
            engine=head_engine,
        )
        suspects = fit.suspects

        def scorer(rows: torch.Tensor) -> torch.Tensor:
            return reward_margins(fit.head, chosen[rows], rejected[rows])

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
    metrics["train_time_s"] = time.perf_counter() - start
    for part, rows in (("val", split.val), ("test", split.test)):
        if len(rows):
            gap = scorer(torch.as_tensor(rows))
            metrics[f"{part}_accuracy"] = pairwise_accuracy(gap, torch.zeros_like(gap))
    if suspects is not None:
        metrics["suspect_fraction"] = float(suspects.double().mean())
    atomic_write_text(out / "metrics.json", json.dumps(metrics, indent=2) + "\n")
    print(json.dumps(metrics))
    return 0


def _engine(args: argparse.Namespace) -> EngineOptions:
    """The run's engine options; the frozen backbone refuses those it cannot honour."""
    if args.backbone == "frozen":
        refuse_engine_options(
            args,
            "--backbone frozen fits many small heads on cached features, in seconds, on one "
            "process (use --backbone finetune)",
            "devices",
            "num_nodes",
            "strategy",
            "resume",
            "checkpoint_every",
        )
    return engine_options(args)


def _check_finetune_layers(args: argparse.Namespace) -> None:
    """Fail before any encoding when ``--finetune-layers`` exceeds the encoder's depth."""
    from transformers import AutoConfig

    from cl_rlhf.encoding import default_encoder_path

    path = args.encoder if args.encoder is not None else default_encoder_path()
    depth = AutoConfig.from_pretrained(path).num_hidden_layers
    if args.finetune_layers is not None and args.finetune_layers > depth:
        raise UserFacingError(
            f"--finetune-layers {args.finetune_layers} exceeds the {depth} transformer blocks of "
            f"{path}"
        )


def _finetune(
    args: argparse.Namespace,
    engine: EngineOptions,
    config: HeadTrainConfig,
    max_length: int,
    texts: tuple[list[str], list[str]],
    noisy_texts: list[tuple[str, str]],
    train_chosen: torch.Tensor,
    train_rejected: torch.Tensor,
) -> tuple[Callable[[torch.Tensor], torch.Tensor], torch.Tensor | None] | None:
    """Fine-tune encoder + head on the (noisy) training texts; save ``model/`` (rank 0).

    ``flip`` / ``smooth`` / ``margin`` take their strength from an ensemble of heads on the frozen
    features (fitting M encoders would cost M fine-tuning runs; one process each) and apply it
    to the fine-tuning.

    Returns:
        The scorer of held-out pairs and the suspects, or ``None`` on ranks other than 0.
    """
    from cl_core.distributed import rank
    from cl_rlhf.finetune import FinetuneConfig, finetune_reward_model

    adjust = None
    if args.method in STRENGTH_METHODS:
        strength = estimate_strength(
            train_chosen,
            train_rejected,
            replace(config, epochs=args.strength_epochs),
            args.ensemble_size,
            num_folds=args.strength_folds if args.strength_folds > 1 else None,
            seed=args.seed + 1000,
            engine=engine.with_changes(devices=1, num_nodes=1, strategy="auto"),
        )
        adjust = strength_adjustments(args.method, strength, args.weakest_fraction)
        if args.method == "flip":
            noisy_texts = [
                (rejected, chosen) if flipped else (chosen, rejected)
                for (chosen, rejected), flipped in zip(
                    noisy_texts, adjust.suspects.tolist(), strict=True
                )
            ]
    if args.method in AUXILIARY_METHODS:
        config = replace(
            config,
            contrastive_weight=args.contrastive_weight,
            contrastive_loss="simcse" if args.method == "contrastive" else "swav",
        )
    try:
        model = finetune_reward_model(
            [chosen for chosen, _ in noisy_texts],
            [rejected for _, rejected in noisy_texts],
            args.out,
            model_path=args.encoder,
            finetune=FinetuneConfig(
                encoder_lr=args.encoder_lr,
                finetune_layers=args.finetune_layers,
                max_length=max_length,
            ),
            head=config,
            margin=None if adjust is None else adjust.margin,
            label_smoothing=None if adjust is None else adjust.label_smoothing,
            seed=args.seed,
            engine=engine,
        )
    except (ValueError, FileNotFoundError) as error:
        raise UserFacingError(str(error)) from None
    if rank() != 0:
        return None
    model.save(args.out / "model")

    def scorer(rows: torch.Tensor) -> torch.Tensor:
        index = rows.tolist()
        return model.rewards([texts[0][i] for i in index]) - model.rewards(
            [texts[1][i] for i in index]
        )

    return scorer, None if adjust is None else adjust.suspects
