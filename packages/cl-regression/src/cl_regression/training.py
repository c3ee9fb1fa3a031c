"""Train a regressor with one of the compared methods through the kernel's engine.

Both phases, contrastive pre-training and L1 (or L2) regression, are one
:func:`cl_core.training.fit_objective` each: Lightning owns the optimisation loop (AdamW at a
constant learning rate, as before), the accelerator, mixed precision and data-parallel processes.
The batches are those of the method's own schedule: one shuffled permutation of the rows per epoch,
drawn from the seeded generator that also draws the views' noise and SupReMix's mixtures, a last
batch of one row merged into the one before.

Data-parallel runs (``engine.devices`` > 1) are one global batch (the batch size is per process:
W processes train as one at W times the batch): every process draws the same global batch and its
noise, encodes its own share of the rows, and scales its share of the loss so
that the averaged gradients equal those of one process on the whole batch; SupCon scores its local
anchors against the views gathered from every process (``gather=``, unless
``engine.local_negatives``). SupReMix and Rank-N-Contrast compare every row with every other row
of the batch through sampled mixtures and rank sets that have no gathered form yet, so they train
on one process only (:func:`fit_regressor` refuses more).

Protocol (SupReMix, arXiv:2309.16633, following SupCon, arXiv:2004.11362): a contrastive method
pre-trains the encoder through a projection head (the loss sees the head's output; the head is
dropped afterwards), then a linear regressor is fitted with an L1 loss on the frozen encoder
features (``protocol="linear"``), or encoder and regressor are fine-tuned end to end with L1
from there (``protocol="finetune"``). The linear L1 fit is exact (least absolute deviations as a
linear programme, scikit-learn's ``QuantileRegressor`` at the median), so no probe schedule can
under-train it. The ``"l1"`` / ``"l2"`` baselines train encoder and linear head end to end with
that regression loss for the same total number of epochs. With a separate ``probe_targets`` (the
transfer regime), every method's encoder is frozen after training on the first target and a linear
L1 regressor is fitted on the second.
"""

from __future__ import annotations

import math
import time
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from typing import Literal

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from cl_core.distributed import rank, world_size
from cl_core.engine_options import DEFAULT_ENGINE, EngineOptions
from cl_core.evaluation import frozen_features
from cl_core.heads import ProjectionMLP
from cl_core.losses import supcon
from cl_core.threads import torch_threads
from cl_regression.binning import BinningStrategy, assign_bins, bin_edges
from cl_regression.encoder import EncoderKind, build_encoder, noisy_views
from cl_regression.losses import rank_n_contrast_loss, supremix_loss

METHODS: tuple[str, ...] = ("supremix", "supcon", "rnc", "l1", "l2")
CONTRASTIVE_METHODS: tuple[str, ...] = ("supremix", "supcon", "rnc")
#: Methods whose loss has no gathered (multi-process) form: they train on one process.
SINGLE_PROCESS_METHODS: tuple[str, ...] = ("supremix", "rnc")
#: Used when ``TrainConfig.temperature`` / ``batch_size`` is None. SupReMix's 0.1 / 256 and SupCon's
#: 0.07 / 64 had the lowest mean validation MAE over a temperature x batch-size grid on five real
#: benchmark rows (validation rows only; the project README lists every try); the papers' 0.07
#: (SupReMix, SupCon) and 2.0 (Rank-N-Contrast) are the starting points.
DEFAULT_TEMPERATURE = {"supremix": 0.1, "supcon": 0.07, "rnc": 2.0}
DEFAULT_BATCH_SIZE = {"supremix": 256, "supcon": 64, "rnc": 128, "l1": 128, "l2": 128}
Protocol = Literal["linear", "finetune"]


@dataclass(frozen=True)
class TrainConfig:
    """Hyper-parameters shared by every method (the same encoder and budget for all).

    ``num_bins`` and ``binning`` (``"quantile"`` or ``"uniform"``) define the label bins that make
    positives for SupReMix and SupCon; ``temperature`` / ``batch_size`` None mean the method's
    default (``DEFAULT_TEMPERATURE`` / ``DEFAULT_BATCH_SIZE``).
    ``num_negative_mixtures`` / ``num_positive_mixtures`` are SupReMix's anchor-inclusive /
    anchor-exclusive mixtures per anchor (the paper does not give them). The defaults (30 bins,
    8 + 8 mixtures) had the lowest mean validation MAE, relative to 10 bins and 2 + 2 mixtures,
    over five real benchmark rows (validation rows only; the project README lists every try).
    ``protocol`` is what follows contrastive pre-training: ``"linear"`` (exact L1 linear
    regressor on frozen features) or ``"finetune"`` (``finetune_epochs`` more epochs of end-to-end
    L1 from that start, in batches of the L1 baseline's size for every method, since this phase
    is L1 regression, not the contrastive loss; the L1/L2 baselines then train for
    ``epochs + finetune_epochs``).
    ``encoder`` is ``"mlp"`` (tabular rows) or ``"cnn"`` (square grey images, flattened rows).
    ``probe_alpha`` >= 0 is the L1 penalty of every linear L1 regressor fitted on frozen features
    (see :func:`fit_linear_l1`); 0 is the exact unpenalised fit.
    """

    epochs: int = 60
    batch_size: int | None = None
    learning_rate: float = 1e-3
    weight_decay: float = 1e-4
    encoder: EncoderKind = "mlp"
    hidden: tuple[int, ...] = (128, 128)
    embedding_dim: int = 32
    num_bins: int = 30
    binning: BinningStrategy = "quantile"
    temperature: float | None = None
    noise_std: float = 0.1
    num_negative_mixtures: int = 8
    num_positive_mixtures: int = 8
    protocol: Protocol = "linear"
    finetune_epochs: int = 20
    probe_alpha: float = 0.0

    def __post_init__(self) -> None:
        for name in ("epochs", "num_bins", "embedding_dim"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be >= 1, got {getattr(self, name)}")
        if self.finetune_epochs < 0:
            raise ValueError(f"finetune_epochs must be >= 0, got {self.finetune_epochs}")
        if self.binning not in ("quantile", "uniform"):
            raise ValueError(f"binning must be 'quantile' or 'uniform', got {self.binning!r}")
        if self.protocol not in ("linear", "finetune"):
            raise ValueError(f"protocol must be 'linear' or 'finetune', got {self.protocol!r}")
        if self.encoder not in ("mlp", "cnn"):
            raise ValueError(f"encoder must be 'mlp' or 'cnn', got {self.encoder!r}")
        if not self.probe_alpha >= 0:
            raise ValueError(f"probe_alpha must be >= 0, got {self.probe_alpha}")
        if self.temperature is not None and not (
            math.isfinite(self.temperature) and self.temperature > 0
        ):
            raise ValueError(
                f"temperature must be None or a finite number > 0, got {self.temperature}"
            )
        if self.batch_size is not None and self.batch_size < 2:
            raise ValueError(f"batch_size must be >= 2, got {self.batch_size}")

    def batch_size_for(self, method: str) -> int:
        """The batch size ``method`` trains with: ``batch_size``, or the method's default."""
        return self.batch_size if self.batch_size is not None else DEFAULT_BATCH_SIZE[method]

    @property
    def end_to_end_epochs(self) -> int:
        """Epochs of the L1/L2 baselines: the contrastive methods' whole budget."""
        return self.epochs + (self.finetune_epochs if self.protocol == "finetune" else 0)


@dataclass
class Standardizer:
    """Column-wise ``(x - mean) / std`` fitted on training data (constant columns keep std 1)."""

    mean: np.ndarray
    std: np.ndarray

    @classmethod
    def fit(cls, values: np.ndarray, *, columnwise: bool = True) -> Standardizer:
        """Fit on (N, ...) training values; ``columnwise=False`` uses one mean and std for all
        columns (pixels: per-pixel scaling would blow up nearly constant corner pixels)."""
        if columnwise:
            mean, std = values.mean(axis=0), values.std(axis=0)
        else:
            mean = np.full(values.shape[1:], values.mean())
            std = np.full(values.shape[1:], values.std())
        return cls(mean=mean, std=np.where(std > 0, std, 1.0))

    def transform(self, values: np.ndarray) -> np.ndarray:
        """Standardise values."""
        return (values - self.mean) / self.std

    def inverse(self, values: np.ndarray) -> np.ndarray:
        """Undo :meth:`transform`."""
        return values * self.std + self.mean


@dataclass
class TrainedRegressor:
    """An encoder, its linear head and the scalers, ready to predict on raw feature rows."""

    method: str
    encoder: nn.Module
    encoder_spec: dict[str, object]
    head: nn.Linear
    feature_scaler: Standardizer
    target_scaler: Standardizer
    train_time_s: float
    samples_seen: int

    def state(self) -> dict[str, object]:
        """Tensors and plain values only, so ``torch.load(..., weights_only=True)`` can read it."""
        return {
            "method": self.method,
            "encoder_spec": dict(self.encoder_spec),
            "encoder": self.encoder.state_dict(),
            "head": self.head.state_dict(),
            "feature_mean": torch.as_tensor(self.feature_scaler.mean),
            "feature_std": torch.as_tensor(self.feature_scaler.std),
            "target_mean": float(self.target_scaler.mean),
            "target_std": float(self.target_scaler.std),
        }

    @classmethod
    def from_state(cls, state: dict[str, object]) -> TrainedRegressor:
        """Rebuild a regressor saved with :meth:`state` (timings are not restored)."""
        spec = state["encoder_spec"]
        encoder = _encoder_from_spec(spec)
        encoder.load_state_dict(state["encoder"])
        head = nn.Linear(spec["embedding_dim"], 1)
        head.load_state_dict(state["head"])
        return cls(
            method=state["method"],
            encoder=encoder.eval(),
            encoder_spec=dict(spec),
            head=head.requires_grad_(False),
            feature_scaler=Standardizer(
                state["feature_mean"].numpy(), state["feature_std"].numpy()
            ),
            target_scaler=Standardizer(
                np.asarray(state["target_mean"]), np.asarray(state["target_std"])
            ),
            train_time_s=0.0,
            samples_seen=0,
        )

    def embed(self, features: np.ndarray) -> np.ndarray:
        """(N, D) frozen encoder features of raw feature rows (the regressor's input)."""
        rows = torch.as_tensor(self.feature_scaler.transform(features), dtype=torch.float32)
        return frozen_features(self.encoder, rows).numpy()

    def with_probe(
        self, features: np.ndarray, targets: np.ndarray, alpha: float
    ) -> TrainedRegressor:
        """A copy whose head is refitted by :func:`fit_linear_l1` with penalty ``alpha`` on the
        frozen features of raw ``features`` rows and raw ``targets`` (same encoder and scalers).

        Equals training with ``TrainConfig(probe_alpha=alpha)`` whenever the probe is the last
        step of training (contrastive methods with ``protocol="linear"``, or the transfer
        regime), without training the encoder again.
        """
        scaled = self.target_scaler.transform(np.asarray(targets, dtype=np.float64))
        head = fit_linear_l1(
            torch.as_tensor(self.embed(features)),
            torch.as_tensor(scaled, dtype=torch.float32),
            alpha=alpha,
        )
        return replace(self, head=head)

    @torch.no_grad()
    def predict(self, features: np.ndarray) -> np.ndarray:
        """(N,) predictions in the target's original units."""
        embeddings = torch.as_tensor(self.embed(features))
        return self.target_scaler.inverse(self.head(embeddings).squeeze(1).double().numpy())


def _encoder_from_spec(spec: dict[str, object]) -> nn.Module:
    return build_encoder(
        spec["kind"], int(spec["in_features"]), tuple(spec["hidden"]), int(spec["embedding_dim"])
    )


def fit_regressor(
    method: str,
    features: np.ndarray,
    targets: np.ndarray,
    *,
    config: TrainConfig | None = None,
    seed: int = 0,
    probe_targets: np.ndarray | None = None,
    engine: EngineOptions = DEFAULT_ENGINE,
) -> TrainedRegressor:
    """Train ``method`` on (N, F) ``features`` and (N,) ``targets``; return the fitted regressor.

    Args:
        method: one of ``METHODS``: ``"supremix"``, ``"supcon"`` (on label bins), ``"rnc"``
            (Rank-N-Contrast), ``"l1"``, ``"l2"``.
        features: raw training features (flattened pixels for ``config.encoder="cnn"``).
        targets: raw training targets (the pre-training target in the transfer regime).
        config: hyper-parameters; defaults to :class:`TrainConfig`.
        seed: seed of initialisation, batching, views and mixtures.
        probe_targets: if given, the linear L1 regressor is fitted on these instead (transfer).
        engine: accelerator, processes, precision of the training (its seed is replaced by
            ``seed``); several processes train one global batch.

    Returns:
        A :class:`TrainedRegressor` predicting ``probe_targets`` if given, else ``targets``.

    Example:
        >>> x, y = np.random.rand(64, 3), np.random.rand(64)
        >>> fit_regressor("l1", x, y, config=TrainConfig(epochs=1)).predict(x).shape
        (64,)
    """
    if method not in METHODS:
        raise ValueError(f"method must be one of {METHODS}, got {method!r}")
    features = np.asarray(features, dtype=np.float64)
    targets = np.asarray(targets, dtype=np.float64)
    if features.ndim != 2 or targets.shape != (features.shape[0],) or features.shape[0] < 4:
        raise ValueError(
            f"features must be (N, F) and targets (N,) with N >= 4, got {features.shape} and "
            f"{targets.shape}"
        )
    if probe_targets is not None and np.shape(probe_targets) != targets.shape:
        raise ValueError(
            f"probe_targets must have shape {targets.shape}, got {np.shape(probe_targets)}"
        )
    if method in SINGLE_PROCESS_METHODS and engine.world_size_hint() > 1:
        raise ValueError(
            f"method {method!r} trains on one process (its loss has no gathered form), got "
            f"engine with {engine.world_size_hint()} processes"
        )
    config = config or TrainConfig()
    with torch_threads(1):
        return _fit(method, features, targets, config, seed, probe_targets, engine)


def _fit(
    method: str,
    features: np.ndarray,
    targets: np.ndarray,
    config: TrainConfig,
    seed: int,
    probe_targets: np.ndarray | None,
    engine: EngineOptions,
) -> TrainedRegressor:
    """Body of :func:`fit_regressor` after validation."""
    engine = engine.with_changes(seed=seed)
    torch.manual_seed(seed)
    generator = torch.Generator().manual_seed(seed)
    feature_scaler = Standardizer.fit(features, columnwise=config.encoder == "mlp")
    pretrain_scaler = Standardizer.fit(targets)
    rows = torch.as_tensor(feature_scaler.transform(features), dtype=torch.float32)
    y = torch.as_tensor(pretrain_scaler.transform(targets), dtype=torch.float32)
    spec = {
        "kind": config.encoder,
        "in_features": int(rows.shape[1]),
        "hidden": list(config.hidden),
        "embedding_dim": config.embedding_dim,
    }
    encoder = _encoder_from_spec(spec)
    head = nn.Linear(config.embedding_dim, 1)

    start = time.perf_counter()
    if method in CONTRASTIVE_METHODS:
        samples_seen = _pretrain_contrastive(
            method, encoder, rows, y, config, generator, engine=engine
        )
        head = _fit_linear_l1(encoder, rows, y, config.probe_alpha)
        if config.protocol == "finetune" and config.finetune_epochs > 0:
            samples_seen += _train_end_to_end(
                "l1",
                encoder,
                head,
                rows,
                y,
                config,
                config.finetune_epochs,
                config.batch_size_for("l1"),
                generator,
                engine=engine,
            )
    else:
        samples_seen = _train_end_to_end(
            method,
            encoder,
            head,
            rows,
            y,
            config,
            config.end_to_end_epochs,
            config.batch_size_for(method),
            generator,
            engine=engine,
        )
    target_scaler = pretrain_scaler
    if probe_targets is not None:
        target_scaler = Standardizer.fit(np.asarray(probe_targets, np.float64))
        probe = torch.as_tensor(target_scaler.transform(probe_targets), dtype=torch.float32)
        head = _fit_linear_l1(encoder, rows, probe, config.probe_alpha)
    return TrainedRegressor(
        method=method,
        encoder=encoder.eval(),
        encoder_spec=spec,
        head=head.requires_grad_(False),
        feature_scaler=feature_scaler,
        target_scaler=target_scaler,
        train_time_s=time.perf_counter() - start,
        samples_seen=samples_seen,
    )


def _batches(num_rows: int, batch_size: int, generator: torch.Generator) -> list[Tensor]:
    """Shuffled index batches of one epoch; a last batch smaller than 2 is merged away."""
    order = torch.randperm(num_rows, generator=generator)
    batches = list(order.split(batch_size))
    if len(batches) > 1 and len(batches[-1]) < 2:
        batches[-2] = torch.cat(batches[-2:])
        batches.pop()
    return batches


class _EpochBatches:
    """The training loader: :func:`_batches` of a fresh permutation at every pass.

    ``batch_size`` rows per process: every process draws the same global batches of
    ``W * batch_size`` rows (one seeded generator each, in step), so the noise of the views, also
    drawn from it, is the same on every process too.
    """

    def __init__(self, num_rows: int, batch_size: int, generator: torch.Generator) -> None:
        self.num_rows = num_rows
        self.batch_size = batch_size
        self.generator = generator

    def __len__(self) -> int:
        batch_size = self.batch_size * world_size()
        count = -(-self.num_rows // batch_size)
        tail = self.num_rows - (count - 1) * batch_size
        return count - 1 if count > 1 and tail < 2 else count

    def __iter__(self) -> Iterator[Tensor]:
        # A generator: Lightning calls iter() once to check the loader; only a pass draws.
        yield from _batches(self.num_rows, self.batch_size * world_size(), self.generator)


def _own_rows(count: int) -> slice:
    """This process's rows of a global batch of ``count`` rows (all of them on one process)."""
    processes = world_size()
    if processes == 1:
        return slice(None)
    here = rank()
    return slice(count * here // processes, count * (here + 1) // processes)


def _share_of_mean(local_sum: Tensor, global_count: int) -> Tensor:
    """This process's loss when the loss is a mean over ``global_count`` terms of every process.

    Data-parallel training averages the processes' gradients, so each contributes ``W`` times its
    share of the global mean: the average of ``W * local_sum / global_count`` over the ``W``
    processes is the mean over the whole batch, whatever the local sizes.
    """
    return local_sum * (world_size() / global_count)


def _contrastive_loss(
    method: str,
    embeddings: Tensor,
    targets: Tensor,
    bins: Tensor,
    config: TrainConfig,
    generator: torch.Generator,
    *,
    gather: bool = False,
    global_count: int | None = None,
) -> Tensor:
    """Loss of (V, B, D) view embeddings with (B,) standardised targets and label bins.

    ``gather`` / ``global_count`` (SupCon only): score the local views against those of every
    process and return this process's share of the mean over the ``global_count`` rows.
    """
    num_views, batch, dim = embeddings.shape
    temperature = (
        config.temperature if config.temperature is not None else DEFAULT_TEMPERATURE[method]
    )
    if method == "supcon":
        if global_count is None:
            return supcon(embeddings.transpose(0, 1), bins, temperature)
        total = supcon(
            embeddings.transpose(0, 1), bins, temperature, gather=gather, reduction="sum"
        )
        return _share_of_mean(total, num_views * global_count)
    flat = embeddings.reshape(num_views * batch, dim)
    flat_targets = targets.repeat(num_views)
    if method == "rnc":
        return rank_n_contrast_loss(flat, flat_targets, temperature=temperature)
    return supremix_loss(
        flat,
        flat_targets,
        bin_labels=bins.repeat(num_views),
        num_negative_mixtures=config.num_negative_mixtures,
        num_positive_mixtures=config.num_positive_mixtures,
        temperature=temperature,
        base_temperature=temperature,
        generator=generator,
    )


def _pretrain_contrastive(
    method: str,
    encoder: nn.Module,
    rows: Tensor,
    targets: Tensor,
    config: TrainConfig,
    generator: torch.Generator,
    *,
    engine: EngineOptions = DEFAULT_ENGINE,
) -> int:
    """Contrastive pre-training on two noisy views per row through a projection head (dropped
    afterwards, as in SupCon); returns the number of rows seen."""
    from cl_core.training.engine import gather_negatives

    bins = assign_bins(targets, bin_edges(targets, config.num_bins, config.binning))
    projection = ProjectionMLP(config.embedding_dim, config.embedding_dim, norm="none")
    model = nn.ModuleDict({"encoder": encoder, "projection": projection})
    seen = 0

    def objective(model: nn.Module, index: Tensor) -> Tensor:
        nonlocal seen
        index = index.cpu()
        seen += len(index)
        views = noisy_views(rows[index], 2, config.noise_std, generator)
        device = next(model.parameters()).device
        if world_size() == 1:
            features = model["encoder"](views.reshape(-1, rows.shape[1]).to(device))
            embeddings = model["projection"](features).reshape(2, len(index), -1)
            return _contrastive_loss(
                method,
                embeddings,
                targets[index].to(device),
                bins[index].to(device),
                config,
                generator,
            )
        own = _own_rows(len(index))
        local = views[:, own]
        features = model["encoder"](local.reshape(-1, rows.shape[1]).to(device))
        embeddings = model["projection"](features).reshape(2, local.shape[1], -1)
        return _contrastive_loss(
            method,
            embeddings,
            targets[index][own].to(device),
            bins[index][own].to(device),
            config,
            generator,
            gather=gather_negatives(engine.local_negatives),
            global_count=len(index),
        )

    _engine_fit(
        model,
        objective,
        rows,
        config.batch_size_for(method),
        config,
        config.epochs,
        engine,
        generator,
    )
    return seen


def _train_end_to_end(
    method: str,
    encoder: nn.Module,
    head: nn.Linear,
    rows: Tensor,
    targets: Tensor,
    config: TrainConfig,
    epochs: int,
    batch_size: int,
    generator: torch.Generator,
    *,
    engine: EngineOptions = DEFAULT_ENGINE,
) -> int:
    """Regression of the targets with an L1 or L2 loss for ``epochs`` in batches of
    ``batch_size``; returns the rows seen."""
    regression_loss = F.l1_loss if method == "l1" else F.mse_loss
    head.requires_grad_(True)
    model = nn.ModuleDict({"encoder": encoder, "head": head})
    seen = 0

    def objective(model: nn.Module, index: Tensor) -> Tensor:
        nonlocal seen
        index = index.cpu()
        seen += len(index)
        views = noisy_views(rows[index], 1, config.noise_std, generator)[0]
        device = next(model.parameters()).device
        own = _own_rows(len(index))
        predictions = model["head"](model["encoder"](views[own].to(device))).squeeze(1)
        wanted = targets[index][own].to(device)
        if world_size() == 1:
            return regression_loss(predictions, wanted)
        return _share_of_mean(regression_loss(predictions, wanted, reduction="sum"), len(index))

    _engine_fit(model, objective, rows, batch_size, config, epochs, engine, generator)
    return seen


def _engine_fit(
    model: nn.Module,
    objective: Callable[[nn.Module, Tensor], Tensor],
    rows: Tensor,
    batch_size: int,
    config: TrainConfig,
    epochs: int,
    engine: EngineOptions,
    generator: torch.Generator,
) -> None:
    """``epochs`` passes of AdamW at a constant learning rate over :class:`_EpochBatches`."""
    from cl_core.training.engine import fit_objective

    fit_objective(
        model,
        objective,
        _EpochBatches(len(rows), batch_size, generator),
        epochs=epochs,
        lr=config.learning_rate,
        weight_decay=config.weight_decay,
        engine=engine,
    )


def fit_linear_l1(features: Tensor, targets: Tensor, *, alpha: float = 0.0) -> nn.Linear:
    r"""Exact (optionally L1-penalised) least-absolute-deviations linear regressor,
    :math:`\min_{w,b} \frac{1}{2N}\sum_i |w^\top h_i + b - y_i| + \alpha \lVert w \rVert_1`
    (scikit-learn's pinball loss at the median is half the absolute error).

    L1 regression is median (0.5-quantile) regression, a linear programme that
    ``sklearn.linear_model.QuantileRegressor`` solves exactly with HiGHS, so no optimiser
    schedule can leave the regressor under-trained. ``alpha`` > 0 shrinks the weights (a lasso
    penalty, useful when there are few rows per feature); choose it on validation rows.

    Args:
        features: (N, D) frozen features.
        targets: (N,) targets.
        alpha: penalty :math:`\alpha \ge 0` (0: the unpenalised fit).

    Returns:
        A frozen ``nn.Linear(D, 1)`` holding the solution.

    Example:
        >>> h = torch.randn(20, 2)
        >>> head = fit_linear_l1(h, 3 * h[:, 0] + 1)
        >>> round(float(head.bias), 3)
        1.0
    """
    if features.dim() != 2 or targets.shape != (features.shape[0],):
        raise ValueError(
            f"features must be (N, D) and targets (N,), got {tuple(features.shape)} and "
            f"{tuple(targets.shape)}"
        )
    if not alpha >= 0:
        raise ValueError(f"alpha must be >= 0, got {alpha}")
    h = features.detach().double().numpy()
    y = targets.detach().double().numpy()
    solution = _solve_median_regression(h, y, alpha)
    if solution is None:
        # The same problem on centred features scaled by one factor c (w = c w', b = b' - w^T mean,
        # penalty alpha c on w'): HiGHS can hit "numerical difficulties" on the raw features.
        mean, spread = h.mean(axis=0), float(h.std())
        scale = 1.0 / spread if spread > 0 else 1.0
        solution = _solve_median_regression((h - mean) * scale, y, alpha * scale)
        if solution is None:
            raise RuntimeError(
                f"the linear L1 regressor did not converge on features of shape {h.shape} "
                f"(HiGHS reported numerical difficulties, also after centring and scaling)"
            )
        weight, bias = solution
        weight = weight * scale
        solution = weight, bias - float(weight @ mean)
    weight, bias = solution
    head = nn.Linear(features.shape[1], 1)
    with torch.no_grad():
        head.weight.copy_(torch.as_tensor(weight, dtype=torch.float32).unsqueeze(0))
        head.bias.fill_(bias)
    return head.requires_grad_(False)


def _solve_median_regression(
    features: np.ndarray, targets: np.ndarray, alpha: float
) -> tuple[np.ndarray, float] | None:
    """(weights, intercept) of scikit-learn's median regression, or None if HiGHS fails."""
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.linear_model import QuantileRegressor

    regressor = QuantileRegressor(quantile=0.5, alpha=alpha, solver="highs")
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        try:
            regressor.fit(features, targets)
        except ConvergenceWarning:
            return None
    return regressor.coef_, float(regressor.intercept_)


def _fit_linear_l1(encoder: nn.Module, rows: Tensor, targets: Tensor, alpha: float) -> nn.Linear:
    """:func:`fit_linear_l1` with penalty ``alpha`` on the frozen encoder features of ``rows``."""
    return fit_linear_l1(frozen_features(encoder, rows), targets, alpha=alpha)
