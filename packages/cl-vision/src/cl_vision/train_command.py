"""The work behind ``cl-train vision`` (imported only when the command runs).

``--method mcl / pixpro / sepclr`` run their own recipes (:mod:`cl_vision.train_recipes`).
Otherwise writes into ``--out``: ``checkpoints/last.ckpt`` (atomic, resumable with ``--resume``),
``results.json`` (method metrics next to the raw-pixel and random-init baselines, data card,
settings), ``embeddings.npz`` (frozen test features and labels) and ``spectrum.png`` (singular
spectrum and 2-D projection of the test features).
"""

from __future__ import annotations

import argparse

from cl_core.cli import UserFacingError, prepare_out_dir
from cl_vision.cli import RECIPE_METHODS
from cl_vision.train_recipes import (
    check_batch_fits,
    check_recipe_flags,
    image_split_from_args,
    recipe_runner,
    save_test_embeddings,
    split_report,
    train_config_from_args,
    trainer_kwargs_from_args,
    write_results,
)


def train_from_args(args: argparse.Namespace) -> int:
    """Load the data, train, evaluate and write the run folder; returns the exit status."""
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
    run = train(
        config, split, out, augmentation, resume=args.resume, **trainer_kwargs_from_args(args)
    )
    untrained = build_module(config, split.image_shape, split.num_classes, augmentation)
    metrics = encoder_scores(run.module, split)
    metrics.update(geometry_scores(run.module, split))
    save_test_embeddings(run.module.encode(split.test_x), split, out)
    baselines = {
        "raw pixels": raw_pixel_scores(split),
        "random-init encoder": encoder_scores(untrained, split),
    }
    config_record = {
        "epochs": config.epochs,
        "batch_size": config.batch_size,
        "lr": config.lr,
        "views": config.views,
        "temperature": config.tau,
        "encoder": config.encoder,
        "seed": config.seed,
    }
    report = split_report(config.method, args, split, metrics, baselines, run, config_record)
    write_results(out, report)
    print(
        f"{config.method} on {args.data}: linear {metrics['linear_acc']:.3f} "
        f"(raw pixels {report['baselines']['raw pixels']['linear_acc']:.3f}, random-init "
        f"{report['baselines']['random-init encoder']['linear_acc']:.3f}), kNN "
        f"{metrics['knn_acc']:.3f}, effective rank {metrics['effective_rank']:.1f} -> {out}"
    )
    return 0
