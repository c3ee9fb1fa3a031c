"""Train a reward head on cached pair features, through the kernel's engine.

The objective is the Bradley-Terry loss (:func:`cl_rlhf.losses.bradley_terry_loss`) with optional
per-pair margins and soft labels, plus :math:`\\beta` times a contrastive auxiliary on two dropout
passes of the head's hidden layer when ``contrastive_weight > 0``: SimCSE
(:func:`cl_rlhf.losses.reward_contrast_loss`) or SwAV (:func:`cl_rlhf.losses.swav_loss`, with
learnable prototypes trained alongside the head).

:func:`cl_core.training.fit_objective` runs the loop (AdamW, constant learning rate): a bare
Lightning trainer that writes nothing, on one CPU process and one intra-op thread by default
(:data:`HEAD_ENGINE`; the head is a 100k-parameter MLP, for which a second thread costs more than it
gives). The run keeps the randomness of the loop it replaced, so results did not change with the
port (:func:`chained_order_loader`, :func:`continue_random_stream`): the epochs' pair orders are
drawn one after another from one generator seeded with ``seed``, the last, smaller batch is kept,
and dropout continues the torch stream that initialised the head. Under data-parallel training
the auxiliaries contrast (SimCSE) or balance (SwAV's Sinkhorn codes) the global batch unless
``local_negatives`` is set.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

import torch
from torch import Tensor, nn

from cl_core.engine_options import EngineOptions
from cl_core.threads import torch_threads
from cl_rlhf.losses import SwAVLoss, bradley_terry_loss, reward_contrast_loss
from cl_rlhf.losses.reward_contrast import CONTRAST_VIEWS, ContrastViews, contrast_views
from cl_rlhf.reward_head import RewardHead

if TYPE_CHECKING:
    from lightning.pytorch.callbacks import Callback

    from cl_core.training import ResumableDataLoader

AuxiliaryLoss = Literal["simcse", "swav"]
AUXILIARY_LOSSES: tuple[str, ...] = ("simcse", "swav")
#: The engine of a frozen-feature head: one CPU process (as before the engine port).
HEAD_ENGINE = EngineOptions(accelerator="cpu", devices=1)


@dataclass(frozen=True)
class HeadTrainConfig:
    """Hyper-parameters of one reward-head run.

    Attributes:
        epochs: passes over the training pairs.
        batch_size: pairs per step.
        learning_rate: AdamW learning rate.
        weight_decay: AdamW weight decay.
        hidden_dim: width of the head's hidden layer.
        dropout: dropout on the hidden layer (also makes the SimCSE views).
        contrastive_weight: :math:`\\beta` of the contrastive auxiliary (0 disables it).
        contrastive_loss: ``"simcse"`` (InfoNCE) or ``"swav"`` (swapped prototype prediction).
        contrastive_views: ``"pairs"`` or ``"differences"``.
        temperature: InfoNCE temperature of the SimCSE auxiliary.
        num_prototypes: K of the SwAV auxiliary.
        swav_temperature: softmax temperature of the SwAV auxiliary.
    """

    epochs: int = 10
    batch_size: int = 128
    learning_rate: float = 1e-3
    weight_decay: float = 1e-2
    hidden_dim: int = 256
    dropout: float = 0.1
    contrastive_weight: float = 0.0
    contrastive_loss: AuxiliaryLoss = "simcse"
    contrastive_views: ContrastViews = "pairs"
    temperature: float = 0.05
    num_prototypes: int = 16
    swav_temperature: float = 0.1

    def __post_init__(self) -> None:
        for name in ("epochs", "batch_size", "hidden_dim", "num_prototypes"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be >= 1, got {getattr(self, name)}")
        for name in ("learning_rate", "temperature", "swav_temperature"):
            if not getattr(self, name) > 0:
                raise ValueError(f"{name} must be > 0, got {getattr(self, name)}")
        if self.weight_decay < 0 or self.contrastive_weight < 0:
            raise ValueError(
                "weight_decay and contrastive_weight must be >= 0, got "
                f"{self.weight_decay} and {self.contrastive_weight}"
            )
        if not 0.0 <= self.dropout < 1.0:
            raise ValueError(f"dropout must be in [0, 1), got {self.dropout}")
        if self.contrastive_loss not in AUXILIARY_LOSSES:
            raise ValueError(
                f"contrastive_loss must be one of {AUXILIARY_LOSSES}, got {self.contrastive_loss!r}"
            )
        if self.contrastive_views not in CONTRAST_VIEWS:
            raise ValueError(
                f"contrastive_views must be one of {CONTRAST_VIEWS}, got {self.contrastive_views!r}"
            )


def train_reward_head(
    chosen: Tensor,
    rejected: Tensor,
    config: HeadTrainConfig | None = None,
    *,
    margin: Tensor | None = None,
    label_smoothing: Tensor | None = None,
    seed: int = 0,
    engine: EngineOptions = HEAD_ENGINE,
) -> RewardHead:
    """Fit a :class:`RewardHead` so that chosen features score above rejected ones.

    Args:
        chosen: features of the preferred responses, shape (N, D).
        rejected: features of the rejected responses, shape (N, D).
        config: hyper-parameters (default :class:`HeadTrainConfig`).
        margin: optional per-pair margins (N,) inside the sigmoid (constants).
        label_smoothing: optional per-pair soft-label weights (N,) in [0, 1].
        seed: seeds the initialisation, the pair order and dropout.
        engine: devices, processes and precision (default :data:`HEAD_ENGINE`: one CPU process).

    Returns:
        The trained head, in eval mode.

    Example:
        >>> import torch
        >>> good, bad = torch.randn(32, 8) + 1, torch.randn(32, 8)
        >>> head = train_reward_head(good, bad, HeadTrainConfig(epochs=2, hidden_dim=16))
        >>> head(good).shape
        torch.Size([32])
    """
    if chosen.dim() != 2 or chosen.shape != rejected.shape or chosen.shape[0] < 1:
        raise ValueError(
            "chosen and rejected must be non-empty feature matrices of one shape (N, D), got "
            f"{tuple(chosen.shape)} and {tuple(rejected.shape)}"
        )
    config = config if config is not None else HeadTrainConfig()
    num_pairs = chosen.shape[0]
    for name, per_pair in (("margin", margin), ("label_smoothing", label_smoothing)):
        if per_pair is not None and tuple(per_pair.shape) != (num_pairs,):
            raise ValueError(f"{name} must have shape ({num_pairs},), got {tuple(per_pair.shape)}")
    with torch_threads(1), torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = HeadWithAuxiliary(
            RewardHead(chosen.shape[1], config.hidden_dim, config.dropout), config
        )
        fit_head(model, chosen, rejected, config, margin, label_smoothing, seed, engine)
    return model.head.eval()


class HeadWithAuxiliary(nn.Module):
    """A :class:`RewardHead` and, for the SwAV auxiliary, its prototypes: the trained parameters.

    Args:
        head: the reward head.
        config: ``contrastive_weight > 0`` with ``contrastive_loss="swav"`` adds a
            :class:`~cl_rlhf.losses.SwAVLoss` on the head's hidden layer (else ``swav`` is None).
    """

    def __init__(self, head: RewardHead, config: HeadTrainConfig) -> None:
        super().__init__()
        self.head = head
        self.swav = (
            SwAVLoss(config.hidden_dim, config.num_prototypes, temperature=config.swav_temperature)
            if config.contrastive_weight > 0 and config.contrastive_loss == "swav"
            else None
        )


def fit_head(
    model: HeadWithAuxiliary,
    chosen: Tensor,
    rejected: Tensor,
    config: HeadTrainConfig,
    margin: Tensor | None,
    label_smoothing: Tensor | None,
    seed: int,
    engine: EngineOptions,
) -> None:
    """Minimise :func:`pair_loss` over the pairs with the kernel's engine (in place).

    Args:
        model: head and auxiliary, freshly initialised.
        chosen: features of the preferred responses, shape (N, D).
        rejected: features of the rejected responses, shape (N, D).
        config: epochs, batch size, AdamW settings, auxiliary.
        margin: per-pair margins (N,) or ``None``.
        label_smoothing: per-pair soft labels (N,) or ``None``.
        seed: seeds the pair order and the engine (dropout).
        engine: devices, processes, precision.
    """
    from cl_core.training import fit_objective, gather_negatives

    def objective(model: HeadWithAuxiliary, rows: Tensor) -> Tensor:
        index = rows.cpu()
        return pair_loss(
            model.head,
            model.swav,
            chosen[index].to(rows.device),
            rejected[index].to(rows.device),
            config,
            margin,
            label_smoothing,
            rows,
            gather=gather_negatives(engine.local_negatives),
        )

    fit_objective(
        model,
        objective,
        chained_order_loader(
            chosen.shape[0], config.batch_size, torch.Generator().manual_seed(seed)
        ),
        epochs=config.epochs,
        lr=config.learning_rate,
        weight_decay=config.weight_decay,
        engine=engine.with_changes(seed=seed),
        callbacks=[continue_random_stream()],
    )


def chained_order_loader(
    num_rows: int, batch_size: int, generator: torch.Generator
) -> ResumableDataLoader:
    """Batches of row indices whose epoch orders are drawn one after another from ``generator``.

    Epoch e is the (e+1)-th ``randperm(num_rows, generator=generator)``; one process gets
    ``ceil(num_rows / batch_size)`` batches per epoch, the last one smaller (with W processes,
    the rows that do not fill a global batch are dropped, as in
    :func:`cl_core.training.tail_loader.tail_index_loader`). A caller may draw from the same
    generator between epochs (MetaRM samples its shifted groups from it), as the replaced loops
    did. Not resumable: these fits write no checkpoints.
    """
    from cl_core.training.tail_loader import TailKeepingSampler, tail_index_loader

    class ChainedOrder(TailKeepingSampler):
        def epoch_order(self) -> list[int]:
            return torch.randperm(self.num_samples, generator=generator).tolist()

    return tail_index_loader(num_rows, batch_size, sampler=ChainedOrder(num_rows, batch_size))


def continue_random_stream() -> Callback:
    """A callback that hands training the torch CPU random state of the moment it was made.

    The engine seeds torch when a fit starts; with this callback, dropout draws instead continue
    the stream that initialised the model, as in a plain loop after ``torch.manual_seed(seed)``.
    """
    from lightning.pytorch.callbacks import Callback

    state = torch.get_rng_state()

    class ContinueRandomStream(Callback):
        def on_train_start(self, *_: Any) -> None:
            torch.set_rng_state(state)

    return ContinueRandomStream()


def pair_loss(
    head: RewardHead,
    swav: SwAVLoss | None,
    chosen: Tensor,
    rejected: Tensor,
    config: HeadTrainConfig,
    margin: Tensor | None,
    label_smoothing: Tensor | None,
    rows: Tensor,
    *,
    gather: bool = False,
) -> Tensor:
    """Bradley-Terry loss of one batch plus the configured contrastive auxiliary.

    Shared by the frozen-feature objective above and :mod:`cl_rlhf.finetune` (where ``chosen`` and
    ``rejected`` are encoder outputs that carry gradients).

    Args:
        head: the reward head (in train mode for dropout views).
        swav: the SwAV auxiliary when ``config.contrastive_loss == "swav"``, else ``None``.
        chosen: features of the batch's preferred responses, shape (B, D).
        rejected: features of the batch's rejected responses, shape (B, D).
        config: head settings (``contrastive_weight``, views, temperatures).
        margin: per-pair margins over the whole training set (N,), or ``None``.
        label_smoothing: per-pair soft labels over the whole training set (N,), or ``None``.
        rows: indices (B,) of the batch's pairs in the training set.
        gather: data-parallel training: the auxiliary uses the batches of every process
            (SimCSE's candidates, SwAV's Sinkhorn codes).

    Returns:
        The scalar loss.
    """
    hidden_chosen = head.representation(chosen)
    hidden_rejected = head.representation(rejected)
    loss = bradley_terry_loss(
        head.score(hidden_chosen).squeeze(-1),
        head.score(hidden_rejected).squeeze(-1),
        margin=_rows_of(margin, rows, chosen.device),
        label_smoothing=0.0
        if label_smoothing is None
        else _rows_of(label_smoothing, rows, chosen.device),
    )
    if config.contrastive_weight > 0 and rows.numel() > 1:
        second_chosen = head.representation(chosen)
        second_rejected = head.representation(rejected)
        if swav is None:
            auxiliary = reward_contrast_loss(
                hidden_chosen,
                hidden_rejected,
                second_chosen,
                second_rejected,
                views=config.contrastive_views,
                temperature=config.temperature,
                gather=gather,
            )
        else:
            auxiliary = swav(
                *contrast_views(
                    hidden_chosen,
                    hidden_rejected,
                    second_chosen,
                    second_rejected,
                    views=config.contrastive_views,
                ),
                gather=gather,
            )
        loss = loss + config.contrastive_weight * auxiliary
    return loss


def _rows_of(per_pair: Tensor | None, rows: Tensor, device: torch.device) -> Tensor | None:
    """The batch's entries of a per-pair tensor kept on the CPU, on the batch's device."""
    if per_pair is None:
        return None
    return per_pair[rows.to(per_pair.device)].to(device)


@torch.no_grad()
def reward_margins(head: RewardHead, chosen: Tensor, rejected: Tensor) -> Tensor:
    """:math:`r(x, y_c) - r(x, y_r)` per pair, shape (N,), with the head in eval mode."""
    head.eval()
    return head(chosen) - head(rejected)
