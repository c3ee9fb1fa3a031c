"""The work behind ``cl-train vision`` (imported only when the command runs).

``--method mcl / pixpro / sepclr`` run their own recipes (:mod:`cl_vision.train_recipes`).
Otherwise writes into ``--out``: ``checkpoints/last.ckpt`` (atomic, resumable with ``--resume``),
``results.json`` (method metrics next to the raw-pixel and random-init baselines, data card,
settings), ``embeddings.npz`` (frozen test features and labels) and ``spectrum.png`` (singular
spectrum and 2-D projection of the test features).
"""

from __future__ import annotations

import argparse
import json
from typing import Any

import numpy as np

from cl_core.cli import UserFacingError, prepare_out_dir, trainer_options
from cl_core.io import atomic_write_text
from cl_vision.cli import RECIPE_METHODS
from cl_vision.train_recipes import (
    check_batch_fits,
    check_recipe_flags,
    image_split_from_args,
    recipe_runner,
    train_config_from_args,
)


def train_from_args(args: argparse.Namespace) -> int:
    """Load the data, train, evaluate and write the run folder; returns the exit status."""
    import torch

    from cl_core.training import save_spectrum_and_projection
    from cl_vision.evaluation import encoder_scores, geometry_scores, raw_pixel_scores
    from cl_vision.training import build_module, train
    from cl_vision.views import default_augmentation

    check_recipe_flags(args)
    out = prepare_out_dir(args.out)
    if args.method in RECIPE_METHODS:
        return recipe_runner(args.method)(args, out)
    try:
        split = image_split_from_args(args)
        config = train_config_from_args(args, args.method)
        check_batch_fits(config.batch_size, len(split.train_x))
    except (FileNotFoundError, ValueError) as error:
        raise UserFacingError(str(error)) from None
    augmentation = default_augmentation(split.name)
    options = trainer_options(args)
    options.pop("max_epochs")
    options.pop("seed")
    run = train(config, split, out, augmentation, resume=args.resume, **options)
    untrained = build_module(config, split.image_shape, split.num_classes, augmentation)
    metrics = encoder_scores(run.module, split)
    metrics.update(geometry_scores(run.module, split))
    features = run.module.encode(split.test_x)
    np.savez(out / "embeddings.npz", features=features.numpy(), labels=split.test_y.numpy())
    save_spectrum_and_projection(features, out / "spectrum.png", labels=split.test_y)
    report: dict[str, Any] = {
        "method": config.method,
        "data": args.data,
        "data_card": split.card,
        "data_kind": split.kind,
        "train_images": len(split.train_x),
        "test_images": len(split.test_x),
        "metrics": metrics,
        "baselines": {
            "raw pixels": raw_pixel_scores(split),
            "random-init encoder": encoder_scores(untrained, split),
        },
        "train_time_s": run.train_time_s,
        "samples_per_s": run.samples_seen / run.train_time_s if run.train_time_s > 0 else 0.0,
        "config": {
            "epochs": config.epochs,
            "batch_size": config.batch_size,
            "lr": config.lr,
            "views": config.views,
            "temperature": config.tau,
            "encoder": config.encoder,
            "seed": config.seed,
            "torch_threads": torch.get_num_threads(),
        },
    }
    atomic_write_text(out / "results.json", json.dumps(report, indent=2))
    print(
        f"{config.method} on {args.data}: linear {metrics['linear_acc']:.3f} "
        f"(raw pixels {report['baselines']['raw pixels']['linear_acc']:.3f}, random-init "
        f"{report['baselines']['random-init encoder']['linear_acc']:.3f}), kNN "
        f"{metrics['knn_acc']:.3f}, effective rank {metrics['effective_rank']:.1f} -> {out}"
    )
    return 0
