"""The work behind ``cl-train multimodal`` (imported only when the command runs).

Trains through the kernel's engine (:func:`cl_multimodal.clip_training.train_two_tower`), so every
engine option applies: ``--accelerator``/``--devices``/``--num-nodes``/``--strategy`` (several
processes contrast one global batch unless ``--local-negatives``), ``--precision``, and
checkpoints in ``OUT/checkpoints`` (``last.ckpt`` after every epoch, ``--checkpoint-every`` steps
too; ``--resume`` continues from them). Rank 0 writes ``config.json``, ``model.pt`` (the final
weights) and ``metrics.json`` (held-out retrieval and, for labelled data, zero-shot accuracy).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from cl_core.cli import UserFacingError, engine_options, prepare_out_dir
from cl_core.io import atomic_torch_save, atomic_write_text

#: Output width of both towers (the CL2L / SiamLIP projectors need it).
TOWER_DIM = 128


def _write_json(data: dict[str, Any], path: Path) -> None:
    atomic_write_text(path, json.dumps(data, indent=2) + "\n")


def _load_data(args: argparse.Namespace):
    from cl_multimodal.data.emoji import EmojiDataMissingError, load_emoji
    from cl_multimodal.data.folder import load_caption_folder
    from cl_multimodal.evaluation import emoji_category_prompts

    try:
        if args.data == "emoji":
            pairs = load_emoji(args.emoji_prefix)
            return pairs, emoji_category_prompts(pairs.label_names)
        pairs = load_caption_folder(args.data)
    except (EmojiDataMissingError, ValueError) as error:
        raise UserFacingError(str(error)) from None
    prompts = list(pairs.label_names) if (pairs.labels >= 0).all() else None
    return pairs, prompts


def train_from_args(args: argparse.Namespace) -> int:
    """Train, evaluate and save; returns the exit status."""
    import torch
    from lightning.pytorch.utilities import rank_zero_only

    from cl_core.training import check_engine
    from cl_multimodal.clip_training import ClipTrainConfig, train_two_tower
    from cl_multimodal.evaluation import retrieval_metrics, zero_shot_metrics
    from cl_multimodal.ssl_two_tower import SSLTwoTowerModel
    from cl_multimodal.towers.factory import build_image_tower, build_text_tower
    from cl_multimodal.two_tower import TwoTowerModel

    engine = engine_options(args)
    check_engine(engine)
    if engine.resume not in (None, "last") and not Path(engine.resume).is_file():
        raise UserFacingError(f"--resume: no checkpoint at {engine.resume}")
    if not 0.0 < args.test_fraction < 1.0:
        raise UserFacingError(f"--test-fraction must lie in (0, 1), got {args.test_fraction}")
    out = prepare_out_dir(args.out)
    pairs, prompts = _load_data(args)
    try:
        train, test = pairs.split(args.test_fraction, seed=args.seed)
    except ValueError as error:
        raise UserFacingError(f"{args.data}: {error}") from None
    torch.manual_seed(args.seed)
    image_tower = build_image_tower(args.image_tower, out_dim=TOWER_DIM)
    text_tower = build_text_tower(args.text_tower, train.captions, out_dim=TOWER_DIM)
    smoothing = 0.1 if args.improved else 0.0
    if args.ssl_addon == "none":
        model = TwoTowerModel(image_tower, text_tower, label_smoothing=smoothing)
    else:
        model = SSLTwoTowerModel(
            image_tower,
            text_tower,
            TOWER_DIM,
            addon=args.ssl_addon,
            label_smoothing=smoothing,
            seed=args.seed,
        )
    config = ClipTrainConfig(
        epochs=args.epochs,
        batch_size=args.batch_size,
        lr=args.lr,
        image_augment=args.improved,
        text_augment=args.improved,
        seed=args.seed,
    )
    settings = {
        "data": str(args.data),
        "text_tower": args.text_tower,
        "image_tower": args.image_tower,
        "improved": args.improved,
        "ssl_addon": args.ssl_addon,
        "test_fraction": args.test_fraction,
        "train_pairs": len(train),
        "test_pairs": len(test),
        "data_card": pairs.card,
        **{key: getattr(config, key) for key in ("epochs", "batch_size", "lr", "seed")},
        "engine": {
            key: getattr(engine, key)
            for key in (
                "accelerator",
                "devices",
                "num_nodes",
                "strategy",
                "precision",
                "local_negatives",
            )
        },
    }
    if rank_zero_only.rank == 0:
        _write_json(settings, out / "config.json")
    stats = train_two_tower(model, train, config, progress=True, engine=engine, out_dir=out)
    if rank_zero_only.rank != 0:
        return 0
    metrics = retrieval_metrics(model, test)
    if prompts is not None:
        metrics.update(zero_shot_metrics(model, test, prompts))
    metrics.update(train_time_s=stats.train_time_s, samples_per_s=stats.samples_per_s)
    atomic_torch_save(model.state_dict(), out / "model.pt")
    _write_json(metrics, out / "metrics.json")
    print(" ".join(f"{k}={v:.4f}" for k, v in metrics.items()))
    print(f"wrote {out / 'model.pt'} and {out / 'metrics.json'}")
    return 0
