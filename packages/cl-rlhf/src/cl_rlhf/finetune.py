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

A run keeps ``finetune-checkpoint.pt`` in its folder after every epoch (model, optimizer, epoch)
and resumes from it; :meth:`RewardModel.save` writes the encoder in Hugging Face format
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
from typing import TYPE_CHECKING

import torch
from torch import Tensor, nn

from cl_core.io import atomic_torch_save
from cl_rlhf.encoding import default_encoder_path
from cl_rlhf.features import RESPONSE_MAX_LENGTH
from cl_rlhf.losses import SwAVLoss
from cl_rlhf.reward_head import RewardHead
from cl_rlhf.training import HeadTrainConfig, pair_loss

if TYPE_CHECKING:
    from transformers import PreTrainedModel, PreTrainedTokenizerBase

CHECKPOINT_NAME = "finetune-checkpoint.pt"
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
        )
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
    progress: bool = True,
) -> RewardModel:
    """Train encoder and head jointly so that chosen texts score above rejected ones.

    After every epoch the model, optimizer and epoch go to ``run_dir/finetune-checkpoint.pt``
    (atomically); a later call with the same folder and settings (``head.epochs`` may grow)
    resumes after the last finished epoch. Pair order is drawn per epoch from ``seed``, so a
    resumed run visits the pairs in the same order as an uninterrupted one.

    Args:
        chosen: the preferred texts (N,).
        rejected: the rejected texts (N,).
        run_dir: folder of the checkpoint.
        model_path: a local Hugging Face encoder folder; default the packaged MiniLM.
        finetune: encoder settings (default :class:`FinetuneConfig`).
        head: head and loop settings: ``epochs``, ``batch_size``, ``learning_rate`` (head LR),
            ``hidden_dim``, ``dropout``, the contrastive auxiliary (default
            :class:`HeadTrainConfig`).
        margin: optional per-pair margins (N,) inside the sigmoid.
        label_smoothing: optional per-pair soft labels (N,) in [0, 1].
        seed: seeds the head initialisation, the pair order and dropout.
        progress: show a tqdm bar over the steps.

    Returns:
        The trained :class:`RewardModel`, in eval mode.

    Raises:
        ValueError: mismatched or empty texts, per-pair tensors of the wrong shape, a checkpoint
            written with other settings.
    """
    from tqdm.auto import tqdm

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
    checkpoint_file = Path(run_dir) / CHECKPOINT_NAME
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
        optimizer = torch.optim.AdamW(
            [
                {"params": encoder_parameters, "lr": finetune.encoder_lr},
                {"params": head_parameters, "lr": head.learning_rate},
            ],
            weight_decay=head.weight_decay,
        )
        first_epoch = 0
        if checkpoint_file.is_file():
            state = torch.load(checkpoint_file, weights_only=True)
            if state["settings"] != settings:
                raise ValueError(
                    f"{checkpoint_file} was written with other settings; use a new run folder"
                )
            model.load_state_dict(state["model"])
            if swav is not None:
                swav.load_state_dict(state["swav"])
            optimizer.load_state_dict(state["optimizer"])
            first_epoch = state["epoch"] + 1
        steps_per_epoch = -(-num_pairs // head.batch_size)
        bar = tqdm(
            total=head.epochs * steps_per_epoch,
            initial=first_epoch * steps_per_epoch,
            desc="fine-tune reward model",
            disable=not progress,
        )
        for epoch in range(first_epoch, head.epochs):
            torch.manual_seed(seed + 1 + epoch)
            order = torch.randperm(num_pairs)
            model.train()
            for start in range(0, num_pairs, head.batch_size):
                rows = order[start : start + head.batch_size]
                features = model.features(
                    [chosen[i] for i in rows.tolist()] + [rejected[i] for i in rows.tolist()]
                )
                loss = pair_loss(
                    model.head,
                    swav,
                    features[: len(rows)],
                    features[len(rows) :],
                    head,
                    margin,
                    label_smoothing,
                    rows,
                )
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                optimizer.step()
                bar.update(1)
                bar.set_postfix(epoch=epoch + 1, loss=f"{loss.item():.3f}")
            atomic_torch_save(
                {
                    "settings": settings,
                    "epoch": epoch,
                    "model": model.state_dict(),
                    "swav": None if swav is None else swav.state_dict(),
                    "optimizer": optimizer.state_dict(),
                },
                checkpoint_file,
            )
        bar.close()
    return model.eval()
