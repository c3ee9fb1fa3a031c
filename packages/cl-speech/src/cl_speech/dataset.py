"""The corpus as tensors: cached log-mel features, decoder targets, intent labels, splits, tasks.

Features are computed once per corpus (``features-mel<N>.pt`` next to the manifest, written
atomically) and normalised per utterance (zero mean, unit variance per mel bin). Speakers are
split into train and test voices, so test accuracy is on unseen voices;
:func:`validation_split` holds out some training voices in their place, so hyper-parameters are
chosen without looking at the test voices. Intents are split into tasks in a seeded random order,
as in class-incremental benchmarks.

Example:
    >>> data = load_slu_data("~/.cache/contrastive/speech/fsc-synth")  # doctest: +SKIP
    >>> tasks = split_into_tasks(data.intent_names, num_tasks=4, seed=0)  # doctest: +SKIP
    >>> tuning = validation_split(data, fraction=0.25, seed=0)  # doctest: +SKIP
"""

from __future__ import annotations

import os
import random
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import Tensor

from cl_core.io import atomic_torch_save
from cl_speech.audio import LogMel, read_wav
from cl_speech.data.manifest import MANIFEST_NAME, Utterance, read_manifest
from cl_speech.vocabulary import BOS, PAD, Vocabulary


@dataclass
class SLUData:
    """Utterances with features, targets and intent labels.

    Attributes:
        utterances: manifest rows.
        features: per-utterance log-mel features, each (frames, n_mels).
        targets: decoder targets ``[words..., intent, <eos>]``.
        labels: intent label (index into ``intent_names``) per utterance.
        intent_names: sorted intent names.
        vocabulary: the decoder vocabulary.
        is_test: True for utterances of held-out speakers.
    """

    utterances: list[Utterance]
    features: list[Tensor]
    targets: list[list[int]]
    labels: list[int]
    intent_names: list[str]
    vocabulary: Vocabulary
    is_test: list[bool]

    @property
    def n_mels(self) -> int:
        """Mel bins per frame."""
        return int(self.features[0].shape[1])


def load_slu_data(
    corpus_dir: str | os.PathLike[str],
    *,
    n_mels: int = 40,
    test_fraction: float = 0.25,
    seed: int = 0,
    progress: bool = True,
) -> SLUData:
    """Read the manifest, compute (or load cached) features and split speakers.

    Args:
        corpus_dir: folder with ``manifest.csv`` (from ``cl-train speech make-data``).
        n_mels: log-mel bins.
        test_fraction: share of speakers held out for testing, in (0, 1).
        seed: chooses the held-out speakers.
        progress: show a progress bar while computing features.

    Raises:
        ManifestError: bad manifest (names file and line).
        AudioFileError: a WAV file cannot be read (names the file).
        ValueError: ``test_fraction`` outside (0, 1), or fewer than 2 speakers.
    """
    if not 0 < test_fraction < 1:
        raise ValueError(f"test_fraction must be in (0, 1), got {test_fraction}")
    root = Path(corpus_dir).expanduser()
    utterances = read_manifest(root / MANIFEST_NAME)
    features = _cached_features(root, utterances, n_mels, progress)
    speakers = sorted({utterance.speaker for utterance in utterances})
    if len(speakers) < 2:
        raise ValueError(f"{root / MANIFEST_NAME}: need at least 2 speakers, got {len(speakers)}")
    random.Random(seed).shuffle(speakers)
    n_test = min(len(speakers) - 1, max(1, round(test_fraction * len(speakers))))
    test_speakers = set(speakers[:n_test])
    intent_names = sorted({utterance.intent for utterance in utterances})
    vocabulary = Vocabulary.build((u.transcript for u in utterances), intent_names)
    label_of = {name: position for position, name in enumerate(intent_names)}
    return SLUData(
        utterances=utterances,
        features=features,
        targets=[vocabulary.encode_target(u.transcript, u.intent) for u in utterances],
        labels=[label_of[u.intent] for u in utterances],
        intent_names=intent_names,
        vocabulary=vocabulary,
        is_test=[u.speaker in test_speakers for u in utterances],
    )


def validation_split(data: SLUData, fraction: float = 0.25, seed: int = 0) -> SLUData:
    """The training voices only, some of them held out in the role of the test voices.

    Every consumer of :class:`SLUData` (e.g. :func:`~cl_speech.continual.run_continual`) trains on
    the utterances with ``is_test`` False and evaluates on those with ``is_test`` True. The
    returned data drops the test voices and flags ``fraction`` of the training voices instead, so
    a run on it scores hyper-parameters on unseen (validation) voices without touching the test
    voices.

    Args:
        data: the corpus from :func:`load_slu_data`.
        fraction: share of the training voices held out for validation, in (0, 1).
        seed: chooses the validation voices.

    Returns:
        A new :class:`SLUData` (features shared, not copied) over the training voices.

    Raises:
        ValueError: ``fraction`` outside (0, 1), or fewer than 2 training voices.
    """
    if not 0 < fraction < 1:
        raise ValueError(f"fraction must be in (0, 1), got {fraction}")
    keep = [index for index, is_test in enumerate(data.is_test) if not is_test]
    speakers = sorted({data.utterances[index].speaker for index in keep})
    if len(speakers) < 2:
        raise ValueError(f"validation_split needs at least 2 training voices, got {len(speakers)}")
    random.Random(seed).shuffle(speakers)
    n_validation = min(len(speakers) - 1, max(1, round(fraction * len(speakers))))
    validation_speakers = set(speakers[:n_validation])
    return SLUData(
        utterances=[data.utterances[index] for index in keep],
        features=[data.features[index] for index in keep],
        targets=[data.targets[index] for index in keep],
        labels=[data.labels[index] for index in keep],
        intent_names=data.intent_names,
        vocabulary=data.vocabulary,
        is_test=[data.utterances[index].speaker in validation_speakers for index in keep],
    )


def _cached_features(
    root: Path, utterances: list[Utterance], n_mels: int, progress: bool
) -> list[Tensor]:
    from tqdm.auto import tqdm

    cache = root / f"features-mel{n_mels}.pt"
    paths = [utterance.path for utterance in utterances]
    if cache.exists():
        stored = torch.load(cache, weights_only=True)
        if stored["paths"] == paths:
            return stored["features"]
    front_end = LogMel(n_mels=n_mels)
    features = []
    with torch.no_grad():
        for path in tqdm(paths, desc="log-mel features", unit="utt", disable=not progress):
            mel = front_end(read_wav(root / path))
            features.append((mel - mel.mean(0)) / mel.std(0).clamp_min(1e-5))
    atomic_torch_save({"paths": paths, "features": features}, cache)
    return features


def split_into_tasks(intent_names: Sequence[str], num_tasks: int, seed: int = 0) -> list[list[int]]:
    """Intent labels grouped into ``num_tasks`` tasks of (nearly) equal size, in a seeded order.

    Raises:
        ValueError: ``num_tasks`` < 1 or more tasks than intents.
    """
    if not 1 <= num_tasks <= len(intent_names):
        raise ValueError(
            f"num_tasks must be in [1, {len(intent_names)}] (the number of intents), "
            f"got {num_tasks}"
        )
    order = list(range(len(intent_names)))
    random.Random(seed).shuffle(order)
    size, extra = divmod(len(order), num_tasks)
    tasks, start = [], 0
    for task in range(num_tasks):
        stop = start + size + (task < extra)
        tasks.append(sorted(order[start:stop]))
        start = stop
    return tasks


@dataclass
class Batch:
    """A padded mini-batch.

    Shapes:
        features (B, T, n_mels); lengths (B,); decoder_input and target (B, L) with
        ``decoder_input = [<bos>, target[:-1]]``; words (B, W) transcript word ids; labels (B,).
    """

    features: Tensor
    lengths: Tensor
    decoder_input: Tensor
    target: Tensor
    words: Tensor
    labels: Tensor


def collate(data: SLUData, indices: Sequence[int]) -> Batch:
    """Pad the utterances ``indices`` of ``data`` into a :class:`Batch`."""
    feats = [data.features[index] for index in indices]
    targets = [data.targets[index] for index in indices]
    lengths = torch.tensor([feat.shape[0] for feat in feats])
    features = torch.nn.utils.rnn.pad_sequence(feats, batch_first=True)
    target = torch.nn.utils.rnn.pad_sequence(
        [torch.tensor(t) for t in targets], batch_first=True, padding_value=PAD
    )
    decoder_input = torch.cat(
        (torch.full((len(indices), 1), BOS, dtype=torch.long), target[:, :-1]), dim=1
    )
    words = torch.nn.utils.rnn.pad_sequence(
        [torch.tensor(t[:-2] or [PAD]) for t in targets], batch_first=True, padding_value=PAD
    )
    labels = torch.tensor([data.labels[index] for index in indices])
    return Batch(features, lengths, decoder_input, target, words, labels)
