"""Reward model with a fine-tuned encoder: Hugging Face encoder + mean pooling + scalar head.

The frozen path (:mod:`cl_rlhf.training`) fits a head on cached encoder features. Here the encoder
(all layers, or only its last ``finetune_layers`` transformer blocks) trains jointly with the head
under the same objective, the Bradley-Terry loss of Ouyang et al. ("Training language models to
follow instructions with human feedback", 2022, arXiv:2203.02155) as used by Wang et al.
("Secrets of RLHF Part II: Reward Modeling", 2024, arXiv:2401.06080):

.. math:: \\mathcal{L} = -\\log\\sigma\\big(r_\\theta(x, y_c) - r_\\theta(x, y_r) - m\\big),
   \\quad r_\\theta(y) = \\mathrm{head}\\Big(\\frac{\\sum_t m_t h_t(y)}{\\sum_t m_t}\\Big)

with optional per-pair margins :math:`m`, soft labels, and the SimCSE / SwAV auxiliary on the
head's hidden layer (:func:`cl_rlhf.training.pair_loss`). The encoder gets its own, smaller
learning rate. Texts are truncated from the left, as in :mod:`cl_rlhf.encoding`.

Training runs on the kernel's engine (:func:`cl_core.training.fit_objective` with a run folder):
Lightning checkpoints to ``run_dir/checkpoints/`` after every epoch (and every
``checkpoint_every`` steps) and continues from one with ``resume="last"`` (``cl-train rlhf
--resume``), exactly, mid-epoch included; data-parallel processes share the pairs of every step
and the auxiliaries use the global batch. :meth:`RewardModel.save` writes the encoder in Hugging
Face format
(``encoder/``, loadable with ``transformers.AutoModel``) and the head's state dict
(``reward_head.pt``); :func:`load_reward_model` reads both back.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch
from torch import Tensor, nn

from cl_core.engine_options import EngineOptions
from cl_rlhf.encoding import default_encoder_path
from cl_rlhf.features import RESPONSE_MAX_LENGTH
from cl_rlhf.losses import SwAVLoss
from cl_rlhf.reward_head import RewardHead
from cl_rlhf.training import HeadTrainConfig, pair_loss

if TYPE_CHECKING:
    from lightning.pytorch.callbacks import Callback
    from transformers import PreTrainedModel, PreTrainedTokenizerBase

#: The default engine of a fine-tuning run: one device (a GPU when there is one).
FINETUNE_ENGINE = EngineOptions(devices=1)
HEAD_FILE = "reward_head.pt"
ENCODER_FOLDER = "encoder"


@dataclass(frozen=True)
class FinetuneConfig:
    """Encoder-side settings of a fine-tuning run (the head side is a :class:`HeadTrainConfig`).

    Attributes:
        encoder_lr: AdamW learning rate of the trainable encoder layers.
        finetune_layers: train only the last N transformer blocks; ``None`` trains every encoder
            parameter (embeddings included).
        max_length: tokens kept per text, counted from the end (the frozen path's response view
            keeps 96).
    """

    encoder_lr: float = 2e-5
    finetune_layers: int | None = 2
    max_length: int = RESPONSE_MAX_LENGTH

    def __post_init__(self) -> None:
        if not self.encoder_lr > 0:
            raise ValueError(f"encoder_lr must be > 0, got {self.encoder_lr}")
        if self.finetune_layers is not None and self.finetune_layers < 1:
            raise ValueError(f"finetune_layers must be >= 1 or None, got {self.finetune_layers}")
        if self.max_length < 2:
            raise ValueError(f"max_length must be >= 2, got {self.max_length}")


def transformer_blocks(encoder: nn.Module) -> nn.ModuleList:
    """The encoder's stack of transformer blocks: its ``nn.ModuleList`` of
    ``config.num_hidden_layers`` modules (``encoder.layer`` for BERT-style models)."""
    depth = getattr(getattr(encoder, "config", None), "num_hidden_layers", None)
    for module in encoder.modules():
        if isinstance(module, nn.ModuleList) and len(module) == depth:
            return module
    raise ValueError(
        f"cannot find the transformer blocks of {type(encoder).__name__}: no nn.ModuleList of "
        f"config.num_hidden_layers={depth} modules"
    )


def freeze_encoder(encoder: nn.Module, finetune_layers: int | None) -> None:
    """Leave only the last ``finetune_layers`` blocks trainable (``None``: everything trainable).

    Raises:
        ValueError: ``finetune_layers`` exceeds the number of blocks.
    """
    if finetune_layers is None:
        encoder.requires_grad_(True)
        return
    blocks = transformer_blocks(encoder)
    if not 1 <= finetune_layers <= len(blocks):
        raise ValueError(
            f"finetune_layers must be in [1, {len(blocks)}] for this encoder, got {finetune_layers}"
        )
    encoder.requires_grad_(False)
    for block in blocks[len(blocks) - finetune_layers :]:
        block.requires_grad_(True)


class RewardModel(nn.Module):
    """Hugging Face encoder, mean pooling over non-padding tokens, and a :class:`RewardHead`.

    Args:
        encoder: a ``transformers`` encoder (``AutoModel``).
        tokenizer: its tokenizer (truncation is set to the left).
        head: the scalar head on the pooled features.
        max_length: tokens kept per text, counted from the end.

    Shapes:
        texts (N,) -> features (N, hidden_size) -> rewards (N,).

    Example:
        >>> model = build_reward_model(finetune=FinetuneConfig(finetune_layers=1))  # doctest: +SKIP
        >>> model(["hello", "go away"]).shape  # doctest: +SKIP
        torch.Size([2])
    """

    def __init__(
        self,
        encoder: PreTrainedModel,
        tokenizer: PreTrainedTokenizerBase,
        head: RewardHead,
        max_length: int,
    ) -> None:
        super().__init__()
        if max_length < 2:
            raise ValueError(f"max_length must be >= 2, got {max_length}")
        self.encoder = encoder
        self.tokenizer = tokenizer
        self.tokenizer.truncation_side = "left"
        self.head = head
        self.max_length = max_length

    def features(self, texts: Sequence[str]) -> Tensor:
        """Mean-pooled last hidden states, shape (len(texts), hidden_size)."""
        if len(texts) == 0:
            raise ValueError("texts must hold at least one text, got an empty sequence")
        batch = self.tokenizer(
            list(texts),
            padding=True,
            truncation=True,
            max_length=self.max_length,
            return_tensors="pt",
        ).to(self.encoder.device)
        hidden = self.encoder(**batch).last_hidden_state
        mask = batch["attention_mask"].unsqueeze(-1).to(hidden.dtype)
        return (hidden * mask).sum(1) / mask.sum(1).clamp_min(1.0)

    def forward(self, texts: Sequence[str]) -> Tensor:
        """Scalar rewards of shape (len(texts),)."""
        return self.head(self.features(texts))

    @torch.no_grad()
    def rewards(self, texts: Sequence[str], batch_size: int = 64) -> Tensor:
        """Rewards in eval mode, in batches, shape (len(texts),)."""
        if batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {batch_size}")
        self.eval()
        return torch.cat(
            [self(texts[i : i + batch_size]) for i in range(0, len(texts), batch_size)]
        )

    def save(self, folder: str | os.PathLike[str]) -> Path:
        """Write ``encoder/`` (Hugging Face format, tokenizer included) and ``reward_head.pt``.

        The folder is assembled next to its destination and swapped in, so a crash never leaves a
        half-written model under ``folder``.
        """
        destination = Path(folder)
        destination.parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=f".{destination.name}.", dir=destination.parent))
        staging.chmod(0o755)
        try:
            self.encoder.save_pretrained(staging / ENCODER_FOLDER)
            self.tokenizer.save_pretrained(staging / ENCODER_FOLDER)
            torch.save(
                {
                    "state_dict": self.head.state_dict(),
                    "in_dim": self.head.in_dim,
                    "hidden_dim": self.head.score.in_features,
                    "max_length": self.max_length,
                },
                staging / HEAD_FILE,
            )
            if destination.exists():
                shutil.rmtree(destination)
            os.replace(staging, destination)
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise
        return destination


def build_reward_model(
    model_path: str | os.PathLike[str] | None = None,
    *,
    finetune: FinetuneConfig | None = None,
    head: HeadTrainConfig | None = None,
) -> RewardModel:
    """A fresh :class:`RewardModel` on a local encoder, with the frozen layers set.

    Args:
        model_path: a local Hugging Face encoder folder; default the packaged MiniLM.
        finetune: encoder settings (default :class:`FinetuneConfig`).
        head: head settings (``hidden_dim``, ``dropout``; default :class:`HeadTrainConfig`).

    Returns:
        The :class:`RewardModel` (train mode), frozen blocks with ``requires_grad=False``.

    Raises:
        ValueError: ``finetune.finetune_layers`` exceeds the encoder's blocks.
    """
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    from transformers import AutoModel, AutoTokenizer

    finetune = finetune if finetune is not None else FinetuneConfig()
    head = head if head is not None else HeadTrainConfig()
    path = str(model_path if model_path is not None else default_encoder_path())
    encoder = AutoModel.from_pretrained(path)
    freeze_encoder(encoder, finetune.finetune_layers)
    reward_head = RewardHead(encoder.config.hidden_size, head.hidden_dim, head.dropout)
    tokenizer = AutoTokenizer.from_pretrained(path)
    return RewardModel(encoder, tokenizer, reward_head, finetune.max_length)


def load_reward_model(folder: str | os.PathLike[str]) -> RewardModel:
    """Read a model written by :meth:`RewardModel.save` (in eval mode)."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    from transformers import AutoModel, AutoTokenizer

    root = Path(folder)
    if not (root / HEAD_FILE).is_file() or not (root / ENCODER_FOLDER / "config.json").is_file():
        raise ValueError(
            f"{root}: not a saved reward model (needs {HEAD_FILE} and {ENCODER_FOLDER}/)"
        )
    saved = torch.load(root / HEAD_FILE, weights_only=True)
    head = RewardHead(saved["in_dim"], saved["hidden_dim"])
    head.load_state_dict(saved["state_dict"])
    encoder = AutoModel.from_pretrained(root / ENCODER_FOLDER)
    tokenizer = AutoTokenizer.from_pretrained(root / ENCODER_FOLDER)
    return RewardModel(encoder, tokenizer, head, saved["max_length"]).eval()


class FinetunedRewardModel(nn.Module):
    """The trained parameters of a fine-tuning run: the :class:`RewardModel` and, for the SwAV
    auxiliary, its prototypes (``swav`` is None otherwise)."""

    def __init__(self, model: RewardModel, swav: SwAVLoss | None) -> None:
        super().__init__()
        self.reward_model = model
        self.swav = swav


def finetune_reward_model(
    chosen: Sequence[str],
    rejected: Sequence[str],
    run_dir: str | os.PathLike[str],
    *,
    model_path: str | os.PathLike[str] | None = None,
    finetune: FinetuneConfig | None = None,
    head: HeadTrainConfig | None = None,
    margin: Tensor | None = None,
    label_smoothing: Tensor | None = None,
    seed: int = 0,
    engine: EngineOptions = FINETUNE_ENGINE,
    progress: bool = True,
) -> RewardModel:
    """Train encoder and head jointly so that chosen texts score above rejected ones.

    Lightning checkpoints the run to ``run_dir/checkpoints/`` after every epoch (and every
    ``engine.checkpoint_every`` steps); with ``engine.resume="last"`` (or a checkpoint path) a
    later call with the same settings (``head.epochs`` may grow) continues from it. The pair
    order of epoch e is a permutation drawn from ``seed + 1 + e``, the last, smaller batch kept
    on one process, and dropout is seeded per step, so a resumed run draws the same batches and
    dropout masks as an uninterrupted one.
    With W processes every step trains on ``W * head.batch_size`` pairs (each process takes its
    block) and the contrastive auxiliaries use the global batch unless ``engine.local_negatives``.

    Args:
        chosen: the preferred texts (N,).
        rejected: the rejected texts (N,).
        run_dir: folder of the checkpoints and logs.
        model_path: a local Hugging Face encoder folder; default the packaged MiniLM.
        finetune: encoder settings (default :class:`FinetuneConfig`).
        head: head and loop settings: ``epochs``, ``batch_size`` (per process),
            ``learning_rate`` (head LR), ``hidden_dim``, ``dropout``, the contrastive auxiliary
            (default :class:`HeadTrainConfig`).
        margin: optional per-pair margins (N,) inside the sigmoid.
        label_smoothing: optional per-pair soft labels (N,) in [0, 1].
        seed: seeds the head initialisation, the pair order and dropout.
        engine: devices, processes, precision, checkpoints and resume (default
            :data:`FINETUNE_ENGINE`; ``engine.seed`` is replaced by ``seed``).
        progress: show a progress bar over the steps.

    Returns:
        The trained :class:`RewardModel`, in eval mode.

    Raises:
        ValueError: mismatched or empty texts, per-pair tensors of the wrong shape, a checkpoint
            written with other settings.
    """
    from cl_core.training import fit_objective, gather_negatives
    from cl_core.training.tail_loader import tail_index_loader

    if len(chosen) == 0 or len(chosen) != len(rejected):
        raise ValueError(
            "chosen and rejected must hold the same, non-zero number of texts, got "
            f"{len(chosen)} and {len(rejected)}"
        )
    num_pairs = len(chosen)
    for name, per_pair in (("margin", margin), ("label_smoothing", label_smoothing)):
        if per_pair is not None and tuple(per_pair.shape) != (num_pairs,):
            raise ValueError(f"{name} must have shape ({num_pairs},), got {tuple(per_pair.shape)}")
    finetune = finetune if finetune is not None else FinetuneConfig()
    head = head if head is not None else HeadTrainConfig()
    head_settings = asdict(head)
    head_settings.pop("epochs")
    settings = {
        "finetune": asdict(finetune),
        "head": head_settings,
        "model_path": str(model_path),
        "num_pairs": num_pairs,
        "seed": seed,
    }

    def objective(trained: FinetunedRewardModel, rows: Tensor) -> Tensor:
        index = rows.tolist()
        model = trained.reward_model
        features = model.features([chosen[i] for i in index] + [rejected[i] for i in index])
        return pair_loss(
            model.head,
            trained.swav,
            features[: len(index)],
            features[len(index) :],
            head,
            margin,
            label_smoothing,
            rows,
            gather=gather_negatives(engine.local_negatives),
        )

    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = build_reward_model(model_path, finetune=finetune, head=head)
        swav = None
        if head.contrastive_weight > 0 and head.contrastive_loss == "swav":
            swav = SwAVLoss(head.hidden_dim, head.num_prototypes, temperature=head.swav_temperature)
        head_parameters = list(model.head.parameters())
        if swav is not None:
            head_parameters += list(swav.parameters())
        encoder_parameters = [p for p in model.encoder.parameters() if p.requires_grad]
        fit_objective(
            FinetunedRewardModel(model, swav).train(),
            objective,
            tail_index_loader(num_pairs, head.batch_size, seed=seed + 1),
            epochs=head.epochs,
            weight_decay=head.weight_decay,
            param_groups=[
                {"params": encoder_parameters, "lr": finetune.encoder_lr},
                {"params": head_parameters, "lr": head.learning_rate},
            ],
            engine=engine.with_changes(seed=seed),
            out_dir=run_dir,
            progress=progress,
            callbacks=[_settings_guard(settings), _step_seeded_randomness(seed)],
        )
    return model.eval()


def _settings_guard(settings: dict[str, Any]) -> Callback:
    """A callback that stores the run's settings in every checkpoint and refuses to resume from a
    checkpoint written with other settings."""
    from lightning.pytorch.callbacks import Callback

    class SettingsGuard(Callback):
        def state_dict(self) -> dict[str, Any]:
            return {"settings": settings}

        def load_state_dict(self, state_dict: dict[str, Any]) -> None:
            if state_dict.get("settings") != settings:
                raise ValueError(
                    "the checkpoint to resume from was written with other settings; use a new "
                    "run folder"
                )

    return SettingsGuard()


def _step_seeded_randomness(seed: int) -> Callback:
    """A callback that seeds torch before every step from ``(seed, step, rank)``, so dropout in a
    resumed run draws what it drew in the uninterrupted one."""
    from lightning.pytorch.callbacks import Callback

    from cl_core.training.randomness import step_generator

    class StepSeededRandomness(Callback):
        def on_train_batch_start(self, trainer: Any, *_: Any) -> None:
            step = step_generator(seed, trainer.global_step, trainer.global_rank)
            torch.manual_seed(step.initial_seed())

    return StepSeededRandomness()
