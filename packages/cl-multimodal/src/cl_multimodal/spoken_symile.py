r"""Symile with three towers: rendered shape scenes, captions and spoken captions (espeak-ng).

Saporta, Puli, Goldstein, Ranganath, "Contrasting with Symile: Simple Model-Agnostic Representation
Learning for Unlimited Modalities", NeurIPS 2024, arXiv:2411.01053. Baseline: pairwise CLIP
(Radford et al., ICML 2021, arXiv:2103.00020), the sum of the three pairwise CLIP losses.

The task follows the paper's XOR construction so that the third modality carries information no
pair holds. Each sample draws two independent scenes: the *image* renders the first, the *text* is
the caption of the second, and the *audio* speaks ``"a {colour} {shape}"`` where

.. math:: \text{colour} = (c_{\text{image}} + c_{\text{text}}) \bmod 5

with :math:`c` the index of the first object's colour in each scene, and the shape is the image's
first shape, spoken by one of a few espeak-ng voices. The audio colour is independent of the image
alone and of the text alone, and determined by both together; pairwise objectives cannot learn it.
Zero-shot prediction ranks five candidates that differ only in that colour, so chance is 1/5:

- audio from (image, text): the five spoken captions with the sample's shape and voice;
- text from (image, audio): the caption with its first colour replaced by each of the five.

Symile scores :math:`\mathrm{MIP}(q_1, q_2, c) = \sum_d q_{1d} q_{2d} c_d`; pairwise CLIP scores
:math:`q_1^\top c + q_2^\top c`. Data card: synthesized (PIL renderings, template captions,
espeak-ng speech).

What it shows so far (measured 2026-11-29, CPU, under load): with 2,000-8,000 training samples and
15-60 epochs neither Symile nor pairwise CLIP beats chance on either zero-shot task. Symile's
training loss settles near :math:`\log 25` (of :math:`\log 100` at batch 100), the value reached by
matching only the shape the image and audio share, a pairwise cue; longer training lowers it further
by memorising training triples, not by learning the colour sum. The three-way dependence here has to
pass through learned perception (which object is first, which word is its colour), unlike the
linear XOR toy (:mod:`cl_multimodal.experiments.symile_xor`), where Symile succeeds.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from cl_core.datasets.speech_synthesis import Voice
from cl_core.engine_options import EngineOptions
from cl_core.losses import clip_loss, symile
from cl_multimodal.data.shapes import COLORS, SHAPES, random_scenes, render_scene
from cl_multimodal.spoken_captions import DEFAULT_VOICES, N_MELS, spoken_log_mels
from cl_multimodal.towers.image import SmallCNNImageTower
from cl_multimodal.towers.text_small import GRUTextTower
from cl_multimodal.towers.vocabulary import WordVocabulary

_COLOR_NAMES = tuple(COLORS)
_PAD_VALUE = float(np.log(1e-6))
METHODS = ("symile", "clip")


class LogMelAudioTower(nn.Module):
    """Three strided 1-D conv-BN-ReLU blocks over log-mel frames, mean pooling over time and a
    linear layer: ``(B, n_mels, T) -> (B, out_dim)``.

    Example:
        >>> LogMelAudioTower(n_mels=40, out_dim=8)(torch.randn(2, 40, 100)).shape
        torch.Size([2, 8])
    """

    def __init__(self, n_mels: int = N_MELS, out_dim: int = 64, width: int = 64) -> None:
        super().__init__()
        if min(n_mels, out_dim, width) < 1:
            raise ValueError(
                f"n_mels, out_dim and width must be >= 1, got {n_mels}, {out_dim}, {width}"
            )
        layers: list[nn.Module] = []
        channels = n_mels
        for _ in range(3):
            layers += [
                nn.Conv1d(channels, width, 5, stride=2, padding=2, bias=False),
                nn.BatchNorm1d(width),
                nn.ReLU(inplace=True),
            ]
            channels = width
        self.features = nn.Sequential(*layers)
        self.norm = nn.InstanceNorm1d(n_mels)
        self.output = nn.Linear(width, out_dim)
        self.n_mels = n_mels
        self.out_dim = out_dim

    def forward(self, log_mels: Tensor) -> Tensor:
        if log_mels.ndim != 3 or log_mels.shape[1] != self.n_mels:
            raise ValueError(
                f"log_mels must have shape (B, {self.n_mels}, T), got {tuple(log_mels.shape)}"
            )
        return self.output(self.features(self.norm(log_mels)).mean(dim=-1))


@dataclass(frozen=True)
class SpokenSymileConfig:
    """Sizes and optimisation settings of the three-tower experiment."""

    train_size: int = 2000
    test_size: int = 500
    image_size: int = 32
    dim: int = 64
    epochs: int = 15
    batch_size: int = 100
    lr: float = 2e-3
    negatives: str = "n"
    seed: int = 0

    def __post_init__(self) -> None:
        if min(self.train_size, self.test_size, self.dim, self.epochs) < 1:
            raise ValueError("train_size, test_size, dim and epochs must be >= 1")
        if not 2 <= self.batch_size <= self.train_size:
            raise ValueError(
                f"batch_size must lie in [2, train_size={self.train_size}], got {self.batch_size}"
            )
        if self.image_size < 16:
            raise ValueError(f"image_size must be >= 16, got {self.image_size}")
        if self.lr <= 0:
            raise ValueError(f"lr must be > 0, got {self.lr}")


@dataclass(frozen=True)
class SpokenTriples:
    """Aligned samples: ``images`` (N, 3, H, W) in [0, 1], ``texts``, ``audio_index`` into
    ``clips`` (K, n_mels, T), plus what the zero-shot candidates need: ``shapes`` (image first
    shape index), ``voices`` (index into the voices), ``target_colors`` (audio colour index) and
    ``text_colors`` (first colour of the caption)."""

    images: Tensor
    texts: tuple[str, ...]
    audio_index: Tensor
    shapes: Tensor
    voices: Tensor
    target_colors: Tensor
    text_colors: Tensor


def _clip_index(color: Any, shape: Any, voice: Any) -> Any:
    """Row of a clip in :func:`spoken_clip_bank` (works on ints, arrays and tensors)."""
    return (voice * len(SHAPES) + shape) * len(_COLOR_NAMES) + color


def spoken_clip_bank(
    cache_dir: str | Path | None = None,
    voices: tuple[Voice, ...] = DEFAULT_VOICES,
    *,
    progress: bool = True,
) -> Tensor:
    """Log-mels of every ``"a {colour} {shape}"`` in every voice, padded to one length:
    (voices x shapes x colours, n_mels, T), indexed by voice, then shape, then colour."""
    if not voices:
        raise ValueError("voices must hold at least one Voice")
    items = [
        (f"a {color} {shape}", voice)
        for voice, shape, color in itertools.product(voices, SHAPES, _COLOR_NAMES)
    ]
    features = spoken_log_mels(items, cache_dir, progress=progress)
    frames = max(features[item].shape[1] for item in items)
    bank = torch.full((len(items), N_MELS, frames), _PAD_VALUE)
    for row, item in enumerate(items):
        mel = torch.from_numpy(features[item])
        bank[row, :, : mel.shape[1]] = mel
    return bank


def spoken_triples(
    count: int, image_size: int, rng: np.random.Generator, voices: int
) -> SpokenTriples:
    """``count`` samples of the XOR construction described in the module docstring."""
    image_scenes = random_scenes(count, rng)
    text_scenes = random_scenes(count, rng)
    voice = rng.integers(voices, size=count)
    image_colors = np.asarray([_COLOR_NAMES.index(s.first.color) for s in image_scenes])
    text_colors = np.asarray([_COLOR_NAMES.index(s.first.color) for s in text_scenes])
    target = (image_colors + text_colors) % len(_COLOR_NAMES)
    shapes = np.asarray([SHAPES.index(s.first.shape) for s in image_scenes])
    images = np.stack([render_scene(s, rng, image_size) for s in image_scenes])
    clip_ids = _clip_index(target, shapes, voice)
    return SpokenTriples(
        images=torch.from_numpy(images).permute(0, 3, 1, 2).float() / 255.0,
        texts=tuple(s.caption() for s in text_scenes),
        audio_index=torch.from_numpy(clip_ids),
        shapes=torch.from_numpy(shapes),
        voices=torch.from_numpy(voice),
        target_colors=torch.from_numpy(target),
        text_colors=torch.from_numpy(text_colors),
    )


class SpokenSymileTowers(nn.Module):
    """Image (small CNN), text (GRU) and audio (log-mel CNN) towers with L2-normalised outputs and
    a learnable log logit scale."""

    def __init__(self, vocabulary: WordVocabulary, dim: int) -> None:
        super().__init__()
        self.image = SmallCNNImageTower(out_dim=dim, width=16)
        self.text = GRUTextTower(vocabulary, out_dim=dim, embed_dim=32, hidden_dim=64)
        self.audio = LogMelAudioTower(out_dim=dim)
        self.log_scale = nn.Parameter(torch.tensor(np.log(10.0), dtype=torch.float32))

    def forward(
        self, images: Tensor, texts: tuple[str, ...], log_mels: Tensor
    ) -> tuple[Tensor, Tensor, Tensor]:
        return (
            F.normalize(self.image(images), dim=-1),
            F.normalize(self.text(texts), dim=-1),
            F.normalize(self.audio(log_mels), dim=-1),
        )


def _objective(
    method: str,
    reps: tuple[Tensor, Tensor, Tensor],
    scale: Tensor,
    negatives: str,
    generator: torch.Generator,
    gather: bool = False,
) -> Tensor:
    if method == "symile":
        return symile(
            *reps, logit_scale=scale, negatives=negatives, normalize=False, generator=generator
        )
    return sum(
        clip_loss(x, y, scale, normalize=False, gather=gather)
        for x, y in itertools.combinations(reps, 2)
    )


def _scores(method: str, first: Tensor, second: Tensor, candidates: Tensor) -> Tensor:
    """(N, K) scores of per-row candidates (N, K, D) given two observed modalities (N, D)."""
    if method == "symile":
        return torch.einsum("nd,nkd->nk", first * second, candidates)
    return torch.einsum("nd,nkd->nk", first + second, candidates)


def _swap_first_color(caption: str, color: str) -> str:
    words = caption.split(" ")
    return " ".join([words[0], color, *words[2:]])


@torch.no_grad()
def zero_shot_accuracy(
    model: SpokenSymileTowers, method: str, test: SpokenTriples, bank: Tensor
) -> dict[str, float]:
    """Accuracy of predicting the audio from (image, text) and the text from (image, audio) among
    five candidates that differ only in the XOR-determined colour; chance is 0.2."""
    model.eval()
    image, text, audio = model(test.images, test.texts, bank[test.audio_index])
    colors = torch.arange(len(_COLOR_NAMES))
    candidate_ids = _clip_index(colors[None, :], test.shapes[:, None], test.voices[:, None])
    clip_reps = F.normalize(model.audio(bank), dim=-1)
    audio_scores = _scores(method, image, text, clip_reps[candidate_ids])
    swapped = [_swap_first_color(t, c) for t in test.texts for c in _COLOR_NAMES]
    text_candidates = F.normalize(model.text(tuple(swapped)), dim=-1)
    text_scores = _scores(method, image, audio, text_candidates.view(len(test.texts), 5, -1))
    return {
        "audio_from_image_text_acc": (audio_scores.argmax(1) == test.target_colors)
        .float()
        .mean()
        .item(),
        "text_from_image_audio_acc": (text_scores.argmax(1) == test.text_colors)
        .float()
        .mean()
        .item(),
        "chance": 1.0 / len(_COLOR_NAMES),
    }


def train_and_score_spoken(
    method: str,
    config: SpokenSymileConfig,
    cache_dir: str | Path | None = None,
    *,
    progress: bool = True,
) -> dict[str, float]:
    """Train the three towers with ``"symile"`` or ``"clip"`` (sum of the three pairwise CLIP
    losses) and return the zero-shot accuracies on fresh test samples, the chance level and the
    final training loss.

    Example:
        >>> cfg = SpokenSymileConfig(train_size=40, test_size=10, epochs=1, batch_size=20)
        >>> train_and_score_spoken("symile", cfg)["chance"]  # doctest: +SKIP
        0.2
    """
    if method not in METHODS:
        raise ValueError(f"method must be one of {METHODS}, got {method!r}")
    if not isinstance(config, SpokenSymileConfig):
        raise TypeError(f"config must be a SpokenSymileConfig, got {type(config).__name__}")
    from cl_core.training import fit_objective, gather_negatives
    from cl_core.training.replay import ReplayBatches

    bank = spoken_clip_bank(cache_dir, progress=progress)
    rng = np.random.default_rng(config.seed)
    train = spoken_triples(config.train_size, config.image_size, rng, len(DEFAULT_VOICES))
    test = spoken_triples(config.test_size, config.image_size, rng, len(DEFAULT_VOICES))
    torch.manual_seed(config.seed)
    generator = torch.Generator().manual_seed(config.seed)
    model = SpokenSymileTowers(WordVocabulary.build(train.texts), config.dim)
    last = {"loss": torch.tensor(float("nan"))}

    def objective(model: SpokenSymileTowers, index: Tensor) -> Tensor:
        reps = model(
            train.images[index],
            tuple(train.texts[i] for i in index.tolist()),
            bank[train.audio_index[index]],
        )
        loss = _objective(
            method, reps, model.log_scale.exp(), config.negatives, generator, gather_negatives()
        )
        last["loss"] = loss.detach()
        return loss

    batches = ReplayBatches(
        config.train_size,
        config.batch_size,
        lambda: torch.randperm(config.train_size, generator=generator),
        generators=(generator,),
    )
    model.train()
    fit_objective(
        model,
        objective,
        batches,
        epochs=config.epochs,
        lr=config.lr,
        weight_decay=0.01,
        engine=EngineOptions(accelerator="cpu", seed=config.seed),
        progress=progress,
        callbacks=[batches.tracker()],
    )
    return {**zero_shot_accuracy(model, method, test, bank), "final_loss": last["loss"].item()}
