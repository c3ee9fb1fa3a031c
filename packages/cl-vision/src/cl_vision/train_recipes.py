"""``cl-train vision --method mcl | pixpro | sepclr``: the methods with their own training recipe.

Imported only when such a run starts. Each writes into ``--out`` what the other methods write:
``results.json`` (metrics next to baselines measured in the same run, data card, settings),
``embeddings.npz``, a plot, and Lightning checkpoints that ``--resume`` continues:

- ``mcl`` (:mod:`cl_vision.mcl`): ``stage{s}/checkpoints/``; metrics of the concatenated stage
  features plus each stage's linear probe; the random-init baseline concatenates S untrained
  encoders of the same shape.
- ``pixpro`` (:mod:`cl_vision.pixpro_training`): ``checkpoints/``; probes of the pooled backbone
  features and, on grey data with a black background (digits, Fashion-MNIST), the dense
  foreground probe.
- ``sepclr`` (:mod:`cl_vision.sepclr`): ``checkpoints/``; the salient attribute probed from each
  space (and, on the built-in data, the common attribute), plus the salient-code norms of target
  and background images.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import torch

from cl_core.cli import UserFacingError, engine_options, trainer_options
from cl_core.io import atomic_write_text
from cl_vision.cli import resolved_lr

if TYPE_CHECKING:
    from cl_vision.contrastive_analysis import ContrastiveAnalysisData
    from cl_vision.data import ImageSplit
    from cl_vision.sepclr import TwoSpaceEncoder

#: Built-in SepCLR data (``--data fashion-mnist``): items when ``--train-limit`` is not given, and
#: test items (the bench's full profile).
SEPCLR_TRAIN_ITEMS = 4000
SEPCLR_TEST_ITEMS = 2000
#: Data whose zero pixels are background, so the dense foreground probe has real labels.
BLACK_BACKGROUND_DATA = ("digits", "fashion-mnist")


def image_split_from_args(args: argparse.Namespace) -> ImageSplit:
    """The :class:`~cl_vision.data.ImageSplit` that ``--data``, ``--data-dir``, ``--train-limit``,
    ``--image-size`` and ``--seed`` name."""
    from cl_vision.data import load_image_split

    return load_image_split(
        args.data,
        data_dir=args.data_dir,
        train_limit=args.train_limit,
        image_size=args.image_size,
        seed=args.seed,
    )


def train_config_from_args(args: argparse.Namespace, method: str) -> Any:
    """The :class:`~cl_vision.training.TrainConfig` of ``method`` from the common options."""
    from cl_vision.training import TrainConfig

    return TrainConfig(
        method=method,
        epochs=args.epochs,
        batch_size=args.batch_size,
        lr=resolved_lr(args),
        num_views=args.views,
        temperature=args.temperature,
        encoder=args.encoder,
        seed=args.seed,
    )


def check_batch_fits(batch_size: int, train_images: int) -> None:
    """Raise ValueError if ``--batch-size`` exceeds the training images."""
    if batch_size > train_images:
        raise ValueError(f"--batch-size {batch_size} exceeds the {train_images} training images")


#: Methods whose loss gathers the negatives of every process under data parallelism (PixPro's
#: pixel loss has no negatives); the other losses contrast each process's own batch only.
GATHERING_METHODS = ("simclr", "dcl", "dclw", "nnclr", "nnclr-dcl", "pixpro")


def check_recipe_flags(args: argparse.Namespace) -> None:
    """Reject options the chosen method does not use (one-line :class:`UserFacingError`).

    Also refuses a missing accelerator or a GPU-only precision on the CPU
    (:func:`cl_core.training.check_engine`), before any data is loaded.
    """
    from cl_core.training.engine import check_engine

    check_engine(engine_options(args))
    method = args.stage_method if args.method == "mcl" else args.method
    if (
        method not in GATHERING_METHODS
        and not args.local_negatives
        and engine_options(args).world_size_hint() > 1
    ):
        raise UserFacingError(
            f"--method {method} contrasts each process's own batch (its loss cannot gather "
            "negatives); add --local-negatives to train it that way on several processes"
        )
    uses_folders = args.background is not None or args.target is not None
    if args.method != "sepclr" and uses_folders:
        raise UserFacingError("--background/--target are SepCLR options; add --method sepclr")
    if (
        args.method == "sepclr"
        and uses_folders
        and (args.background is None or args.target is None)
    ):
        raise UserFacingError("--method sepclr needs both --background DIR and --target DIR")
    if args.method in ("pixpro", "sepclr"):
        if args.encoder != "resnet":
            raise UserFacingError(
                f"--method {args.method} trains its own small ResNet; drop --encoder"
            )
        if args.views is not None:
            raise UserFacingError(f"--method {args.method} uses two views; drop --views")
    if args.method == "pixpro" and args.temperature is not None:
        raise UserFacingError("--method pixpro has no temperature; drop --temperature")


def trainer_kwargs_from_args(args: argparse.Namespace) -> dict[str, Any]:
    """The common trainer options, without ``max_epochs`` and ``seed`` (the configs carry them)."""
    options = trainer_options(args)
    options.pop("max_epochs")
    options.pop("seed")
    return options


def write_results(out: Path, report: dict[str, Any]) -> None:
    """``results.json`` (atomically), with the torch thread count added to its ``config``."""
    report["config"]["torch_threads"] = torch.get_num_threads()
    atomic_write_text(out / "results.json", json.dumps(report, indent=2))


def save_test_embeddings(features: torch.Tensor, split: ImageSplit, out: Path) -> None:
    """``embeddings.npz`` (frozen test features and labels) and ``spectrum.png``."""
    from cl_core.training import save_spectrum_and_projection

    np.savez(out / "embeddings.npz", features=features.numpy(), labels=split.test_y.numpy())
    save_spectrum_and_projection(features, out / "spectrum.png", labels=split.test_y)


def samples_per_s(train_time_s: float, samples_seen: int) -> float:
    """Training throughput of a run (0 for a run that took no time)."""
    return samples_seen / train_time_s if train_time_s > 0 else 0.0


def split_report(
    method: str,
    args: argparse.Namespace,
    split: ImageSplit,
    metrics: dict[str, float],
    baselines: dict[str, dict[str, float]],
    run: Any,
    config: dict[str, Any],
) -> dict[str, Any]:
    """The ``results.json`` of a run on an :class:`~cl_vision.data.ImageSplit`; ``run`` carries
    ``train_time_s`` and ``samples_seen``."""
    return {
        "method": method,
        "data": args.data,
        "data_card": split.card,
        "data_kind": split.kind,
        "train_images": len(split.train_x),
        "test_images": len(split.test_x),
        "metrics": metrics,
        "baselines": baselines,
        "train_time_s": run.train_time_s,
        "samples_per_s": samples_per_s(run.train_time_s, run.samples_seen),
        "config": config,
    }


def train_mcl_from_args(args: argparse.Namespace, out: Path) -> int:
    """MCL: ``--stages`` stages of ``--stage-method``, ``--clusters`` k-means clusters."""
    from cl_vision.encoders import build_encoder
    from cl_vision.evaluation import frozen_encoder_scores, frozen_features, raw_pixel_scores
    from cl_vision.mcl import StageConcatEncoder, train_mcl
    from cl_vision.views import default_augmentation

    try:
        split = image_split_from_args(args)
        config = train_config_from_args(args, args.stage_method)
        check_batch_fits(config.batch_size, len(split.train_x))
        if args.clusters > len(split.train_x):
            raise ValueError(
                f"--clusters {args.clusters} exceeds the {len(split.train_x)} training images"
            )
        run = train_mcl(
            config,
            split,
            out,
            default_augmentation(split.name),
            num_stages=args.stages,
            num_clusters=args.clusters,
            resume=args.resume,
            **trainer_kwargs_from_args(args),
        )
    except (FileNotFoundError, ValueError) as error:
        raise UserFacingError(str(error)) from None
    metrics = frozen_encoder_scores(run.encoder, split)
    for stage, module in enumerate(run.stages):
        metrics[f"linear_acc_stage{stage}"] = frozen_encoder_scores(module.encoder, split)[
            "linear_acc"
        ]
    untrained = []
    for stage in range(args.stages):
        torch.manual_seed(args.seed + stage)
        untrained.append(build_encoder(config.encoder, split.image_shape))
    save_test_embeddings(frozen_features(run.encoder, split.test_x), split, out)
    baselines = {
        "raw pixels": raw_pixel_scores(split),
        "random-init encoder": frozen_encoder_scores(StageConcatEncoder(untrained), split),
    }
    report = split_report(
        "mcl",
        args,
        split,
        metrics,
        baselines,
        run,
        {
            "stages": args.stages,
            "clusters": args.clusters,
            "stage_method": config.method,
            "epochs_per_stage": config.epochs,
            "batch_size": config.batch_size,
            "lr": config.lr,
            "views": config.views,
            "temperature": config.tau,
            "encoder": config.encoder,
            "seed": config.seed,
        },
    )
    write_results(out, report)
    print(
        f"mcl ({args.stages} x {config.method}) on {args.data}: linear {metrics['linear_acc']:.3f} "
        f"(raw pixels {report['baselines']['raw pixels']['linear_acc']:.3f}, random-init "
        f"{report['baselines']['random-init encoder']['linear_acc']:.3f}) -> {out}"
    )
    return 0


def train_pixpro_from_args(args: argparse.Namespace, out: Path) -> int:
    """PixPro on ``--data``: probes of the pooled backbone and, where it has labels, the dense
    foreground probe."""
    from cl_vision.evaluation import frozen_encoder_scores, frozen_features, raw_pixel_scores
    from cl_vision.pixpro_training import (
        PixProConfig,
        dense_backbone,
        dense_foreground_scores,
        train_dense_encoder,
    )

    try:
        split = image_split_from_args(args)
        config = PixProConfig(
            epochs=args.epochs,
            batch_size=args.batch_size,
            lr=resolved_lr(args),
            threshold=args.pixpro_threshold,
            gamma=args.pixpro_gamma,
            base_momentum=args.base_momentum,
            seed=args.seed,
        )
        check_batch_fits(config.batch_size, len(split.train_x))
        options = trainer_kwargs_from_args(args)
        run = train_dense_encoder(split, config, out, resume=args.resume, **options)
    except (FileNotFoundError, ValueError) as error:
        raise UserFacingError(str(error)) from None
    torch.manual_seed(args.seed)
    untrained = dense_backbone(split.image_shape)
    metrics = frozen_encoder_scores(run.backbone, split)
    baselines = {
        "raw pixels": raw_pixel_scores(split),
        "random-init encoder": frozen_encoder_scores(untrained, split),
    }
    if args.data in BLACK_BACKGROUND_DATA:
        for scores, backbone in (
            (metrics, run.backbone),
            (baselines["random-init encoder"], untrained),
        ):
            scores.update(dense_foreground_scores(backbone, split))
    save_test_embeddings(frozen_features(run.backbone, split.test_x), split, out)
    report = split_report(
        "pixpro",
        args,
        split,
        metrics,
        baselines,
        run,
        {
            "epochs": config.epochs,
            "batch_size": config.batch_size,
            "lr": config.lr,
            "threshold": config.threshold,
            "gamma": config.gamma,
            "base_momentum": config.base_momentum,
            "projection_dim": config.projection_dim,
            "seed": config.seed,
        },
    )
    write_results(out, report)
    print(
        f"pixpro on {args.data}: linear {metrics['linear_acc']:.3f} (raw pixels "
        f"{baselines['raw pixels']['linear_acc']:.3f}, random-init "
        f"{baselines['random-init encoder']['linear_acc']:.3f}) -> {out}"
    )
    return 0


def _sepclr_data(args: argparse.Namespace) -> ContrastiveAnalysisData:
    from cl_vision.contrastive_analysis import load_analysis_folders, load_contrastive_analysis

    if args.background is not None:
        return load_analysis_folders(
            args.background, args.target, image_size=args.image_size, seed=args.seed
        )
    if args.data != "fashion-mnist":
        raise UserFacingError(
            "--method sepclr needs --background DIR --target DIR (ImageFolder layout), or "
            f"--data fashion-mnist for the built-in background/target set; got --data {args.data}"
        )
    return load_contrastive_analysis(
        args.data_dir,
        train_limit=args.train_limit or SEPCLR_TRAIN_ITEMS,
        test_limit=SEPCLR_TEST_ITEMS,
        seed=args.seed,
    )


def _sepclr_scores(
    model: TwoSpaceEncoder, data: ContrastiveAnalysisData, built_in: bool
) -> dict[str, float]:
    """Built-in data: digit and item probes from each space; user folders: the target-class probe
    (when the target folder has two or more sub-folders); both: the salient-code norms."""
    from cl_vision.sepclr import salient_norms, space_probe_scores, target_class_scores

    scores: dict[str, float] = {}
    if built_in:
        scores.update(space_probe_scores(model, data))
    elif len(data.train.digit[data.train.is_target].unique()) >= 2:
        scores.update(target_class_scores(model, data))
    scores.update(salient_norms(model, data.test))
    return scores


def train_sepclr_from_args(args: argparse.Namespace, out: Path) -> int:
    """SepCLR on ``--background``/``--target`` folders or the built-in Fashion-MNIST set."""
    from cl_vision.sepclr import (
        SepCLRConfig,
        TwoSpaceEncoder,
        embed_spaces,
        probe_entries,
        raw_pixel_probe_scores,
        salient_attribute_probe,
        train_two_space_encoder,
    )

    try:
        data = _sepclr_data(args)
        config = SepCLRConfig(
            epochs=args.epochs,
            batch_size=args.batch_size,
            lr=resolved_lr(args),
            space_dim=args.space_dim,
            temperature=args.temperature or 0.5,
            beta_salient=args.beta_salient,
            beta_reg=args.beta_reg,
            lambda_jem=args.lambda_jem,
            seed=args.seed,
        )
        run = train_two_space_encoder(
            data.train, config, out, resume=args.resume, **trainer_kwargs_from_args(args)
        )
    except (FileNotFoundError, ValueError) as error:
        raise UserFacingError(str(error)) from None
    built_in = args.background is None
    torch.manual_seed(args.seed)
    channels, height, width = data.train.images.shape[1:]
    untrained = TwoSpaceEncoder(
        config.space_dim, channels, stem_stride=2 if min(height, width) >= 16 else 1
    ).eval()
    raw: dict[str, float] = {}
    if built_in:
        raw.update(raw_pixel_probe_scores(data))
    elif len(data.train.digit[data.train.is_target].unique()) >= 2:
        pixels = (data.train.images.flatten(1), data.test.images.flatten(1))
        raw.update(probe_entries("target_class", salient_attribute_probe(data, *pixels)))
    common, salient = embed_spaces(run.model, data.test.images)
    np.savez(
        out / "embeddings.npz",
        common=common.numpy(),
        salient=salient.numpy(),
        is_target=data.test.is_target.numpy(),
        salient_label=data.test.digit.numpy(),
    )
    _plot_salient_norms(salient, data.test.is_target, out / "salient_norms.png")
    metrics = _sepclr_scores(run.model, data, built_in)
    report = {
        "method": "sepclr",
        "data": args.data if built_in else {"background": args.background, "target": args.target},
        "data_card": data.card,
        "data_kind": "real" if built_in else "user images",
        "train_images": len(data.train.images),
        "test_images": len(data.test.images),
        "metrics": metrics,
        "baselines": {
            "raw pixels": raw,
            "random-init encoder": _sepclr_scores(untrained, data, built_in),
        },
        "train_time_s": run.train_time_s,
        "samples_per_s": samples_per_s(run.train_time_s, run.samples_seen),
        "config": {
            "epochs": config.epochs,
            "batch_size": config.batch_size,
            "lr": config.lr,
            "space_dim": config.space_dim,
            "temperature": config.temperature,
            "beta_salient": config.beta_salient,
            "beta_reg": config.beta_reg,
            "lambda_jem": config.lambda_jem,
            "seed": config.seed,
        },
    }
    write_results(out, report)
    print(
        f"sepclr: salient-code norm target {metrics['salient_norm_target']:.3f} vs background "
        f"{metrics['salient_norm_background']:.3f} -> {out}"
    )
    return 0


def recipe_runner(method: str) -> Callable[[argparse.Namespace, Path], int]:
    """The ``(args, out) -> exit status`` function of ``mcl``, ``pixpro`` or ``sepclr``."""
    runners = {
        "mcl": train_mcl_from_args,
        "pixpro": train_pixpro_from_args,
        "sepclr": train_sepclr_from_args,
    }
    if method not in runners:
        raise ValueError(f"method must be one of {', '.join(runners)}, got {method!r}")
    return runners[method]


def _plot_salient_norms(salient: torch.Tensor, is_target: torch.Tensor, path: Path) -> None:
    """Histogram of the salient-code norms of target vs background test images."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from cl_core.io import atomic_path

    norms = salient.norm(dim=1).numpy()
    figure, axis = plt.subplots(figsize=(5, 3.5))
    axis.hist(norms[is_target.numpy()], bins=30, alpha=0.6, label="target")
    axis.hist(norms[~is_target.numpy()], bins=30, alpha=0.6, label="background")
    axis.set_xlabel("salient-code L2 norm (background should sit near 0)")
    axis.legend()
    figure.tight_layout()
    with atomic_path(path) as temp:
        figure.savefig(temp, dpi=100)
    plt.close(figure)
