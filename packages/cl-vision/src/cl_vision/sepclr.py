"""SepCLR training and evaluation on background / target images (contrastive analysis).

SepCLR (Louiset et al., ICLR 2024, arXiv:2402.11928) gives one encoder two heads: a common space
(on the hypersphere) for the factors every image has and a salient space (Euclidean) for the
factors only target images have; the loss is :func:`cl_core.losses.sepclr`. The check, as in the
paper: a linear probe should read the salient attribute from the salient space much better than
from the common space, and the common attribute from the common space. Baselines in the same run:
SimCLR with one space of the same size, probed the same way, and SepCLR without its mutual
information term (``lambda_jem = 0``). Every probe (spaces and raw pixels) chooses its ``C`` by
stratified CV on training rows only (:func:`cl_core.evaluation.subsampled_cv_linear_probe`) and
reports it next to its accuracy as ``<name>_c``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import lightning.pytorch as pl
import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch.utils.data import Dataset

from cl_core.evaluation import FALLBACK_C, ChosenProbe, subsampled_cv_linear_probe
from cl_core.heads import ProjectionMLP
from cl_core.losses import nt_xent, sepclr
from cl_core.training import resumable_loader, step_generator
from cl_core.training.engine import gather_negatives, trainer_wants_local_negatives
from cl_vision.contrastive_analysis import AnalysisSplit, ContrastiveAnalysisData
from cl_vision.encoders import SmallResNet
from cl_vision.fitting import fit_timed
from cl_vision.run_settings import check_counts, check_method
from cl_vision.views import ViewAugmentation

METHODS = ("sepclr", "simclr")

#: Views for this data: milder crops than the default and no erasing or flips, so both views keep
#: the pasted digit (with the default views even SimCLR's space read the digit at ~0.35).
ANALYSIS_AUGMENTATION = ViewAugmentation(
    crop_scale=(0.7, 1.0), erase_probability=0.0, flip_probability=0.0
)


@dataclass(frozen=True)
class SepCLRConfig:
    """Settings of one run.

    Attributes:
        method: ``"sepclr"`` or the single-space ``"simclr"`` baseline.
        epochs: passes over the training images.
        batch_size: images per step (half background, half target for SepCLR).
        lr: Adam learning rate (authors: 3e-4).
        space_dim: size of each space (authors: 32).
        temperature: SepCLR kernel temperature (authors: 0.5); SimCLR uses 0.1.
        beta_salient: SepCLR salient term weight (authors: 1000).
        beta_reg: SepCLR background-to-zero weight (authors: 1000).
        lambda_jem: SepCLR k-JEM weight (authors: 10).
        seed: seed of weights, batches and views.
    """

    method: str = "sepclr"
    epochs: int = 10
    batch_size: int = 256
    lr: float = 3e-4
    space_dim: int = 32
    temperature: float = 0.5
    beta_salient: float = 1000.0
    beta_reg: float = 1000.0
    lambda_jem: float = 10.0
    seed: int = 0

    def __post_init__(self) -> None:
        check_method(self.method, METHODS)
        check_counts(self, ("epochs", "batch_size", "space_dim"))
        if self.batch_size < 4:
            raise ValueError(f"batch_size must be >= 4, got {self.batch_size}")
        if not self.lr > 0 or not self.temperature > 0:
            raise ValueError(f"lr and temperature must be > 0, got {self.lr}, {self.temperature}")


class TwoSpaceEncoder(nn.Module):
    """A small ResNet with a common head and a salient head (SepCLR's architecture).

    Args:
        space_dim: size of each space.
        in_channels: image channels.
        stem_stride: stride of the backbone's stem (2 for 28x28 and larger images).

    Shapes:
        ``(N, in_channels, H, W) -> ((N, space_dim), (N, space_dim))``.
    """

    def __init__(self, space_dim: int = 32, in_channels: int = 1, stem_stride: int = 2) -> None:
        super().__init__()
        self.backbone = SmallResNet(in_channels, stem_stride=stem_stride)
        width = self.backbone.feature_dim
        self.common = ProjectionMLP(width, space_dim, hidden_dim=width, num_layers=2)
        self.salient = ProjectionMLP(width, space_dim, hidden_dim=width, num_layers=2)

    def forward(self, images: Tensor) -> tuple[Tensor, Tensor]:
        features = self.backbone(images)
        return self.common(features), self.salient(features)


class TargetBackgroundPairs(Dataset):
    """Item k is ``(target image k mod T, background image k mod B)``: every batch of pairs is
    half target, half background, and the smaller group is repeated to the larger's length."""

    def __init__(self, split: AnalysisSplit) -> None:
        self.target = split.images[split.is_target]
        self.background = split.images[~split.is_target]
        if len(self.target) == 0 or len(self.background) == 0:
            raise ValueError(
                "split must hold target and background images, got "
                f"{len(self.target)} target and {len(self.background)} background"
            )

    def __len__(self) -> int:
        return max(len(self.target), len(self.background))

    def __getitem__(self, index: int) -> tuple[Tensor, Tensor]:
        return (
            self.target[index % len(self.target)],
            self.background[index % len(self.background)],
        )


class SepCLRModule(pl.LightningModule):
    """SepCLR (or the single-space SimCLR baseline) on target + background batches.

    Views come from a generator seeded by ``(seed, step, rank)``, identical after a resume.
    SimCLR trains only the common head (one space), with NT-Xent at temperature 0.1.
    """

    def __init__(
        self,
        config: SepCLRConfig,
        image_shape: tuple[int, int, int] = (1, 28, 28),
        augmentation: ViewAugmentation | None = None,
    ) -> None:
        super().__init__()
        self.config = config
        channels, height, width = image_shape
        self.model = TwoSpaceEncoder(
            config.space_dim, channels, stem_stride=2 if min(height, width) >= 16 else 1
        )
        self.augmentation = augmentation or ANALYSIS_AUGMENTATION

    def training_step(self, batch: Sequence[Tensor], batch_idx: int) -> Tensor:
        target, background = batch
        images = torch.cat([target, background])
        is_target = torch.arange(len(images), device=images.device) < len(target)
        generator = step_generator(self.config.seed, self.global_step, self.global_rank)
        first = self.augmentation(images, generator)
        second = self.augmentation(images, generator)
        common1, salient1 = self.model(first)
        common2, salient2 = self.model(second)
        if self.config.method == "simclr":
            loss = nt_xent(
                common1,
                common2,
                temperature=0.1,
                gather=gather_negatives(trainer_wants_local_negatives(self._trainer)),
            )
        else:
            loss = sepclr(
                common1,
                common2,
                salient1,
                salient2,
                is_target,
                temperature=self.config.temperature,
                beta_salient=self.config.beta_salient,
                beta_reg=self.config.beta_reg,
                lambda_jem=self.config.lambda_jem,
            )
        self.log("train/loss", loss, prog_bar=True, batch_size=len(images))
        return loss

    def configure_optimizers(self) -> torch.optim.Optimizer:
        return torch.optim.Adam(self.model.parameters(), lr=self.config.lr)


@dataclass
class SepCLRRun:
    """The trained two-space encoder (eval mode), its wall time and the images processed."""

    model: TwoSpaceEncoder
    train_time_s: float
    samples_seen: int


def train_two_space_encoder(
    split: AnalysisSplit,
    config: SepCLRConfig,
    out_dir: str | Path,
    *,
    augmentation: ViewAugmentation | None = None,
    resume: str | None = None,
    callbacks: Sequence[Any] = (),
    **trainer_options: Any,
) -> SepCLRRun:
    """Train a :class:`TwoSpaceEncoder` with ``config.method`` on ``split``.

    Every batch holds ``batch_size / 2`` target and as many background images (the smaller group
    is repeated), trained by :func:`cl_core.training.make_trainer` (progress bar, atomic
    checkpoints, ``resume="last"``).

    Args:
        split: target and background images.
        config: the run settings.
        out_dir: run folder (logs, ``checkpoints/last.ckpt``).
        augmentation: the views (default :data:`ANALYSIS_AUGMENTATION`).
        resume: ``None``, ``"last"`` or a checkpoint path.
        callbacks: extra Lightning callbacks.
        **trainer_options: more :func:`cl_core.training.make_trainer` arguments.

    Raises:
        ValueError: the split lacks target or background images, or holds fewer pairs than
            ``batch_size / 2``.
    """
    pairs = TargetBackgroundPairs(split)
    half = config.batch_size // 2
    if half > len(pairs):
        raise ValueError(
            f"batch_size must be <= twice the {len(pairs)} target/background pairs, "
            f"got {config.batch_size}"
        )
    torch.manual_seed(config.seed)
    module = SepCLRModule(config, tuple(split.images.shape[1:]), augmentation)
    loader = resumable_loader(pairs, half, seed=config.seed)
    fit = fit_timed(
        module,
        loader,
        out_dir,
        epochs=config.epochs,
        seed=config.seed,
        resume=resume,
        callbacks=callbacks,
        **trainer_options,
    )
    return SepCLRRun(module.model.eval(), fit.train_time_s, fit.global_step * 2 * half)


@torch.no_grad()
def embed_spaces(
    model: TwoSpaceEncoder, images: Tensor, batch_size: int = 512
) -> tuple[Tensor, Tensor]:
    """Common (L2-normalised) and salient embeddings of ``images``, in eval mode."""
    model.eval()
    commons, salients = [], []
    for start in range(0, images.shape[0], batch_size):
        common, salient = model(images[start : start + batch_size])
        commons.append(F.normalize(common, dim=1))
        salients.append(salient)
    return torch.cat(commons), torch.cat(salients)


def _spaces(
    model: TwoSpaceEncoder, data: ContrastiveAnalysisData
) -> dict[str, tuple[Tensor, Tensor]]:
    """``{"salient": (train, test), "common": (train, test)}`` embeddings."""
    train_common, train_salient = embed_spaces(model, data.train.images)
    test_common, test_salient = embed_spaces(model, data.test.images)
    return {"salient": (train_salient, test_salient), "common": (train_common, test_common)}


def probe_entries(name: str, probe: ChosenProbe) -> dict[str, float]:
    """One probe as result entries: its accuracy under ``name`` and its chosen C beside it.

    Example:
        >>> from cl_core.evaluation import ChosenProbe
        >>> probe_entries("digit", ChosenProbe(0.9, 0.1, 0.88, 100, 3))
        {'digit': 0.9, 'digit_c': 0.1}
    """
    return {name: probe.accuracy, f"{name}_c": probe.c}


def salient_attribute_probe(
    data: ContrastiveAnalysisData, train_x: Tensor, test_x: Tensor
) -> ChosenProbe:
    """Linear probe of the salient attribute (``data.*.digit``) on the target images only.

    ``C`` is chosen by stratified CV on the training targets only
    (:func:`cl_core.evaluation.subsampled_cv_linear_probe`; fixed ``C = 1`` when some class has a
    single training target).

    Args:
        data: the splits (their ``is_target`` and ``digit``).
        train_x: ``(N_train, D)`` features of ``data.train.images``, row for row.
        test_x: ``(N_test, D)`` features of ``data.test.images``, row for row.

    Returns:
        The :class:`cl_core.evaluation.ChosenProbe` (test accuracy on the test targets, its C).
    """
    train_t, test_t = data.train.is_target, data.test.is_target
    return subsampled_cv_linear_probe(
        train_x[train_t],
        data.train.digit[train_t],
        test_x[test_t],
        data.test.digit[test_t],
        fallback_c=FALLBACK_C,
    )


def space_probe_scores(model: TwoSpaceEncoder, data: ContrastiveAnalysisData) -> dict[str, float]:
    """Linear-probe accuracies of each attribute from each space (test images), each with its C.

    ``digit_from_salient`` / ``digit_from_common``: digit class on target images (chance 0.1);
    ``item_from_common`` / ``item_from_salient``: item class on all images (chance 0.1); the
    chosen ``C`` of each is ``<name>_c``.
    """
    scores: dict[str, float] = {}
    for name, (train_x, test_x) in _spaces(model, data).items():
        scores.update(
            probe_entries(f"digit_from_{name}", salient_attribute_probe(data, train_x, test_x))
        )
        item = subsampled_cv_linear_probe(
            train_x, data.train.item, test_x, data.test.item, fallback_c=FALLBACK_C
        )
        scores.update(probe_entries(f"item_from_{name}", item))
    return scores


def target_class_scores(model: TwoSpaceEncoder, data: ContrastiveAnalysisData) -> dict[str, float]:
    """Probes of the salient attribute only (the target class, ``data.*.digit``) from each space,
    for data without a common-attribute label (user folders): ``target_class_from_salient`` should
    clearly beat ``target_class_from_common`` (each with its chosen C, ``<name>_c``)."""
    scores: dict[str, float] = {}
    for name, (train_x, test_x) in _spaces(model, data).items():
        probe = salient_attribute_probe(data, train_x, test_x)
        scores.update(probe_entries(f"target_class_from_{name}", probe))
    return scores


def salient_norms(model: TwoSpaceEncoder, split: AnalysisSplit) -> dict[str, float]:
    """Mean L2 norm of the salient code on target and on background images.

    SepCLR pulls background salient codes to the null vector, so a trained model shows
    ``salient_norm_background`` well below ``salient_norm_target`` (needs no labels).
    """
    _, salient = embed_spaces(model, split.images)
    norms = salient.norm(dim=1)
    return {
        "salient_norm_target": float(norms[split.is_target].mean()),
        "salient_norm_background": float(norms[~split.is_target].mean()),
    }


def raw_pixel_probe_scores(data: ContrastiveAnalysisData) -> dict[str, float]:
    """The same probes on raw pixels (what a reader compares the learned spaces with):
    ``digit`` (target images), ``item`` (all images) and their chosen ``digit_c`` / ``item_c``."""
    train_x, test_x = data.train.images.flatten(1), data.test.images.flatten(1)
    item = subsampled_cv_linear_probe(
        train_x, data.train.item, test_x, data.test.item, fallback_c=FALLBACK_C
    )
    return {
        **probe_entries("digit", salient_attribute_probe(data, train_x, test_x)),
        **probe_entries("item", item),
    }


def run_sepclr_comparison(
    data: ContrastiveAnalysisData,
    config: SepCLRConfig,
    out_dir: str | Path,
    **trainer_options: Any,
) -> dict[str, Any]:
    """SepCLR, SepCLR without k-JEM and single-space SimCLR on the same data, probed alike.

    Args:
        data: train and test splits.
        config: the SepCLR settings (the baselines change only what they must).
        out_dir: parent folder; each run trains in ``out_dir/<name>``.
        **trainer_options: :func:`cl_core.training.make_trainer` arguments.

    Returns:
        ``{"sepclr": scores, "sepclr_no_jem": scores, "simclr": scores}`` where each ``scores``
        is :func:`space_probe_scores` (SimCLR has one space: its ``*_from_common`` entries and
        their ``*_from_common_c``).
    """
    results: dict[str, Any] = {}
    runs = (
        ("sepclr", replace(config, method="sepclr")),
        ("sepclr_no_jem", replace(config, method="sepclr", lambda_jem=0.0)),
        ("simclr", replace(config, method="simclr")),
    )
    for name, run_config in runs:
        run = train_two_space_encoder(
            data.train, run_config, Path(out_dir) / name, **trainer_options
        )
        scores = space_probe_scores(run.model, data)
        if name == "simclr":
            scores = {k: v for k, v in scores.items() if "_from_common" in k}
        results[name] = scores
    return results
