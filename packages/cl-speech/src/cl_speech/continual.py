"""Class-incremental training of the SLU model: fine-tuning, replay, replay + KD, and COCONUT.

Every method trains the seq2seq model (:class:`~cl_speech.model.SpokenLanguageModel`) with
token cross-entropy, task after task. They differ in what else each step does:

- ``finetune``: current-task data only (the lower bound);
- ``replay``: experience replay; each step adds a batch drawn from a class-balanced buffer
  (:class:`~cl_speech.replay.ClassBalancedBuffer`) of earlier tasks' samples;
- ``kd``: replay + token-level knowledge distillation from the previous task's frozen model:
  ``KL(softmax(teacher / T) || softmax(student / T)) T^2`` over every target token of the step;
- ``coconut``: replay + ``lambda_1 L_NSPT`` on the rehearsal samples (student audio embeddings as
  anchors, the frozen previous model's embeddings as positives,
  :func:`~cl_speech.losses.nspt_loss`; from the second task on) + ``lambda_2 L_MM`` on the
  current-task samples of every task (:func:`~cl_speech.losses.audio_text_contrastive_loss`)
  (Cappellazzo et al., Findings of ACL 2024, arXiv:2310.02699).

After every task the model decodes the test utterances of all tasks seen so far (greedy); the
first intent token it emits is the predicted intent, the words are the transcript.
``results.json`` is rewritten (atomically) after every task, so a crash loses at most the running
task.

Example:
    >>> config = ContinualConfig(method="coconut", epochs=15)
    >>> result = run_continual(load_slu_data(corpus), config, out_dir="run")  # doctest: +SKIP
"""

from __future__ import annotations

import copy
import json
import os
import random
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Literal

import torch
from torch import Tensor
from torch.nn import functional as F

from cl_core.io import atomic_write_text
from cl_speech.continual_metrics import average_accuracy, forgetting, word_error_rate
from cl_speech.dataset import Batch, SLUData, collate, split_into_tasks
from cl_speech.losses import audio_text_contrastive_loss, nspt_loss
from cl_speech.model import SpokenLanguageModel
from cl_speech.replay import ClassBalancedBuffer
from cl_speech.vocabulary import PAD

Method = Literal["coconut", "replay", "kd", "finetune"]
METHODS: tuple[Method, ...] = ("coconut", "replay", "kd", "finetune")


@dataclass(frozen=True)
class ContinualConfig:
    """Settings of one class-incremental run.

    Attributes:
        method: ``"coconut"``, ``"replay"``, ``"kd"`` or ``"finetune"``.
        num_tasks: tasks the intents are split into.
        epochs: passes over each task's training data.
        batch_size: current-task samples per step (replay adds ``batch_size // 2`` buffer samples).
        lr: AdamW learning rate (reset at every task).
        buffer_size: replay-buffer capacity in utterances (all methods but ``finetune``).
        dim, heads, layers: model size (:class:`~cl_speech.model.SpokenLanguageModel`).
        nspt_weight: ``lambda_1`` of COCONUT.
        mm_weight: ``lambda_2`` of COCONUT.
        temperature: temperature of NSPT and MM. The three defaults won a multi-seed validation
            sweep (:mod:`cl_speech.sweep`, ``cl-train speech sweep``: held-out training voices,
            never the test voices; full setting, seeds 0-2, lowest mean forgetting; grid
            {0.01, 0.1, 0.5, 1} x {0.05, 0.2} x {0.1, 0.5}).
        kd_weight: weight of the KD term (``kd``).
        kd_temperature: softmax temperature of KD.
        seed: seeds the task order, batches and model initialisation.
    """

    method: Method = "coconut"
    num_tasks: int = 4
    epochs: int = 15
    batch_size: int = 16
    lr: float = 3e-3
    buffer_size: int = 96
    dim: int = 64
    heads: int = 4
    layers: int = 2
    nspt_weight: float = 0.1
    mm_weight: float = 0.05
    temperature: float = 0.1
    kd_weight: float = 1.0
    kd_temperature: float = 2.0
    seed: int = 0

    def __post_init__(self) -> None:
        if self.method not in METHODS:
            raise ValueError(f"method must be one of {METHODS}, got {self.method!r}")
        for name in ("num_tasks", "epochs", "batch_size", "buffer_size", "layers"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be >= 1, got {getattr(self, name)}")
        for name in ("nspt_weight", "mm_weight", "kd_weight"):
            if not getattr(self, name) >= 0:
                raise ValueError(f"{name} must be >= 0, got {getattr(self, name)}")
        for name in ("lr", "temperature", "kd_temperature"):
            if not getattr(self, name) > 0:
                raise ValueError(f"{name} must be > 0, got {getattr(self, name)}")


@dataclass
class ContinualResult:
    """Metrics of a run; ``accuracy_matrix[t][j]``: intent accuracy on task j after task t."""

    method: str
    tasks: list[list[str]]
    accuracy_matrix: list[list[float]] = field(default_factory=list)
    seen_accuracy: list[float] = field(default_factory=list)
    seen_wer: list[float] = field(default_factory=list)
    train_time_s: float = 0.0
    train_samples: int = 0

    @property
    def average_accuracy(self) -> float:
        """Mean over steps of the accuracy on all seen tasks."""
        return average_accuracy(self.seen_accuracy)

    @property
    def forgetting(self) -> float:
        """Average forgetting of the tasks before the last."""
        return forgetting(self.accuracy_matrix)

    def summary(self) -> dict[str, float]:
        """Final accuracy, average accuracy, forgetting and final WER."""
        return {
            "final_accuracy": self.seen_accuracy[-1],
            "average_accuracy": self.average_accuracy,
            "forgetting": self.forgetting,
            "final_wer": self.seen_wer[-1],
        }


def run_continual(
    data: SLUData,
    config: ContinualConfig,
    *,
    out_dir: str | os.PathLike[str] | None = None,
    progress: bool = True,
) -> ContinualResult:
    """Train ``config.method`` task by task on ``data`` and evaluate after every task.

    Args:
        data: the corpus (:func:`~cl_speech.dataset.load_slu_data`).
        config: method and settings.
        out_dir: if given, ``results.json`` there is rewritten after every task.
        progress: a tqdm progress bar per task.

    Returns:
        The metrics after every task.
    """
    from tqdm.auto import tqdm

    torch.manual_seed(config.seed)
    rng = random.Random(config.seed)
    tasks = split_into_tasks(data.intent_names, config.num_tasks, config.seed)
    model = SpokenLanguageModel(
        len(data.vocabulary), data.n_mels, config.dim, config.heads, config.layers
    )
    buffer = ClassBalancedBuffer(config.buffer_size, config.seed)
    result = ContinualResult(
        config.method, [[data.intent_names[label] for label in task] for task in tasks]
    )
    teacher: SpokenLanguageModel | None = None
    for step, task in enumerate(tasks):
        task_labels = set(task)
        current = [
            index
            for index, label in enumerate(data.labels)
            if label in task_labels and not data.is_test[index]
        ]
        rehearsal = buffer.indices() if config.method != "finetune" else []
        optimizer = torch.optim.AdamW(model.parameters(), lr=config.lr, weight_decay=1e-2)
        steps_per_epoch = -(-len(current) // config.batch_size)
        bar = tqdm(
            total=config.epochs * steps_per_epoch,
            desc=f"{config.method} task {step + 1}/{len(tasks)}",
            unit="step",
            disable=not progress,
        )
        started = time.perf_counter()
        model.train()
        for _ in range(config.epochs):
            rng.shuffle(current)
            for start in range(0, len(current), config.batch_size):
                chunk = current[start : start + config.batch_size]
                replayed = (
                    rng.sample(rehearsal, min(len(rehearsal), config.batch_size // 2))
                    if rehearsal
                    else []
                )
                loss = _step_loss(model, teacher, data, chunk, replayed, config)
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                torch.nn.utils.clip_grad_norm_(model.parameters(), 5.0)
                optimizer.step()
                result.train_samples += len(chunk) + len(replayed)
                bar.update()
                bar.set_postfix(loss=f"{loss.item():.3f}")
        bar.close()
        result.train_time_s += time.perf_counter() - started
        _evaluate(model, data, tasks[: step + 1], result)
        if out_dir is not None:
            write_result(result, config, Path(out_dir))
        buffer.add(current, [data.labels[index] for index in current])
        if config.method in ("kd", "coconut"):
            teacher = copy.deepcopy(model).eval().requires_grad_(False)
    return result


def _step_loss(
    model: SpokenLanguageModel,
    teacher: SpokenLanguageModel | None,
    data: SLUData,
    current: list[int],
    replayed: list[int],
    config: ContinualConfig,
) -> Tensor:
    batch = collate(data, current + replayed)
    memory, padding = model.encode(batch.features, batch.lengths)
    logits = model.decoder(batch.decoder_input, memory, padding)
    loss = F.cross_entropy(logits.transpose(1, 2), batch.target, ignore_index=PAD)
    if config.method == "kd" and teacher is not None:
        with torch.no_grad():
            teacher_logits = teacher(batch.features, batch.lengths, batch.decoder_input)
        loss = loss + config.kd_weight * _token_kd(logits, teacher_logits, batch, config)
    if config.method == "coconut":
        loss = loss + _coconut_terms(model, teacher, batch, memory, padding, len(current), config)
    return loss


def _token_kd(logits: Tensor, teacher_logits: Tensor, batch: Batch, config: ContinualConfig):
    temperature = config.kd_temperature
    keep = batch.target != PAD
    student_log_probs = F.log_softmax(logits[keep] / temperature, dim=-1)
    teacher_probs = F.softmax(teacher_logits[keep] / temperature, dim=-1)
    kl = F.kl_div(student_log_probs, teacher_probs, reduction="batchmean")
    return kl * temperature**2


def _coconut_terms(
    model: SpokenLanguageModel,
    teacher: SpokenLanguageModel | None,
    batch: Batch,
    memory: Tensor,
    padding: Tensor,
    num_current: int,
    config: ContinualConfig,
) -> Tensor:
    audio = model.audio_embedding(memory, padding)
    terms = audio.new_zeros(())
    if teacher is not None and batch.labels.shape[0] > num_current:
        with torch.no_grad():
            rehearsal_features = batch.features[num_current:]
            teacher_memory, teacher_padding = teacher.encode(
                rehearsal_features, batch.lengths[num_current:]
            )
            teacher_audio = teacher.audio_embedding(teacher_memory, teacher_padding)
        terms = terms + config.nspt_weight * nspt_loss(
            audio[num_current:], teacher_audio, batch.labels[num_current:], config.temperature
        )
    if num_current >= 2:
        text = model.text_embedding(batch.words[:num_current])
        terms = terms + config.mm_weight * audio_text_contrastive_loss(
            audio[:num_current], text, batch.labels[:num_current], config.temperature
        )
    return terms


@torch.no_grad()
def _evaluate(
    model: SpokenLanguageModel, data: SLUData, seen: list[list[int]], result: ContinualResult
) -> None:
    model.eval()
    vocabulary = data.vocabulary
    per_task, predictions, references, correct_total, count_total = [], [], [], 0, 0
    for task in seen:
        labels = set(task)
        indices = [i for i, label in enumerate(data.labels) if label in labels and data.is_test[i]]
        correct = 0
        for start in range(0, len(indices), 64):
            chunk = indices[start : start + 64]
            batch = collate(data, chunk)
            decoded = model.greedy_decode(batch.features, batch.lengths).tolist()
            for index, tokens in zip(chunk, decoded, strict=True):
                words, intent = vocabulary.decode(tokens)
                correct += int(intent == data.targets[index][-2])
                predictions.append(words)
                references.append(data.utterances[index].transcript)
        per_task.append(correct / len(indices))
        correct_total += correct
        count_total += len(indices)
    result.accuracy_matrix.append(per_task)
    result.seen_accuracy.append(correct_total / count_total)
    result.seen_wer.append(word_error_rate(predictions, references))
    model.train()


def write_result(result: ContinualResult, config: ContinualConfig, out_dir: Path) -> Path:
    """Write ``out_dir/results.json`` atomically and return its path."""
    out_dir.mkdir(parents=True, exist_ok=True)
    payload = {
        "config": asdict(config),
        "method": result.method,
        "tasks": result.tasks,
        "accuracy_matrix": result.accuracy_matrix,
        "seen_accuracy": result.seen_accuracy,
        "seen_wer": result.seen_wer,
        "train_time_s": result.train_time_s,
        "train_samples": result.train_samples,
        "summary": result.summary(),
        "completed_tasks": len(result.seen_accuracy),
    }
    path = out_dir / "results.json"
    atomic_write_text(path, json.dumps(payload, indent=2))
    return path
