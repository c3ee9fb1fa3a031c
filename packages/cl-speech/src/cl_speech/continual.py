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

The kernel's engine trains every task: one :func:`cl_core.training.fit_objective` per task, not
one ``Trainer`` for the run, because each task starts a new AdamW (the method resets the optimizer
between tasks), trains on other data (the task's utterances plus replay from a buffer that is only
updated between tasks) and, for KD and COCONUT, against a teacher frozen at the end of the
previous task; evaluation and the buffer update run between the fits. Lightning owns the steps
(gradient-norm clipping at 5.0, precision, devices); the batches are the method's own (a seeded
shuffle per epoch, replay draws per step) and torch's random stream runs on across the tasks
(:class:`~cl_core.training.random_state.KeepRandomState`).

Data-parallel runs (``engine.devices`` > 1) train one global batch (``batch_size`` is per
process, so W processes train as one at ``W * batch_size``): every process draws the same
batches, pads the whole batch, and computes the loss of its own share of the rows; the token
cross-entropy and KD are scaled by the global token count, and NSPT and MM score the local anchors
against the embeddings gathered from every process (unless ``engine.local_negatives``), so the
averaged gradients equal those of one process on the whole batch. Evaluation and
``results.json`` happen on rank 0.

Example:
    >>> config = ContinualConfig(method="coconut", epochs=15)
    >>> result = run_continual(load_slu_data(corpus), config, out_dir="run")  # doctest: +SKIP
"""

from __future__ import annotations

import copy
import json
import os
import random
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Literal

import torch
from torch import Tensor
from torch.nn import functional as F

from cl_core.distributed import rank, world_size
from cl_core.engine_options import DEFAULT_ENGINE, EngineOptions
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
        batch_size: current-task samples per step and process (replay adds ``batch_size // 2``
            buffer samples).
        lr: AdamW learning rate (reset at every task).
        buffer_size: replay-buffer capacity in utterances (all methods but ``finetune``).
        dim, heads, layers, dropout: model size and dropout
            (:class:`~cl_speech.model.SpokenLanguageModel`).
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
    dropout: float = 0.1
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
        if not 0 <= self.dropout < 1:
            raise ValueError(f"dropout must be in [0, 1), got {self.dropout}")
        for name in ("lr", "temperature", "kd_temperature"):
            if not getattr(self, name) > 0:
                raise ValueError(f"{name} must be > 0, got {getattr(self, name)}")


@dataclass
class ContinualResult:
    """Metrics of a run; ``accuracy_matrix[t][j]``: intent accuracy on task j after task t.

    ``model`` is the trained model after the last task (not written to ``results.json``).
    """

    method: str
    tasks: list[list[str]]
    accuracy_matrix: list[list[float]] = field(default_factory=list)
    seen_accuracy: list[float] = field(default_factory=list)
    seen_wer: list[float] = field(default_factory=list)
    train_time_s: float = 0.0
    train_samples: int = 0
    model: SpokenLanguageModel | None = field(default=None, repr=False, compare=False)

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
    engine: EngineOptions = DEFAULT_ENGINE,
) -> ContinualResult:
    """Train ``config.method`` task by task on ``data`` and evaluate after every task.

    Args:
        data: the corpus (:func:`~cl_speech.dataset.load_slu_data`).
        config: method and settings.
        out_dir: if given, ``results.json`` there is rewritten after every task (on rank 0).
        progress: a progress bar per task.
        engine: accelerator, processes and precision of the training (its seed is replaced by
            ``config.seed``; checkpoints and resume are not used).

    Returns:
        The metrics after every task (their lists stay empty on ranks other than 0).

    Raises:
        ValueError: with W > 1 processes, a ``buffer_size`` below W (every process needs
            rehearsal rows).
    """
    from cl_core.training.engine import fit_objective, gather_negatives
    from cl_core.training.random_state import KeepRandomState

    processes = engine.world_size_hint()
    if processes > 1 and config.buffer_size < processes:
        raise ValueError(
            f"buffer_size must be >= the {processes} processes, got {config.buffer_size}"
        )
    engine = engine.with_changes(seed=config.seed)
    torch.manual_seed(config.seed)
    rng = random.Random(config.seed)
    tasks = split_into_tasks(data.intent_names, config.num_tasks, config.seed)
    model = SpokenLanguageModel(
        len(data.vocabulary),
        data.n_mels,
        config.dim,
        config.heads,
        config.layers,
        dropout=config.dropout,
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
        batches = _TaskBatches(current, rehearsal, config.batch_size, rng)

        def objective(
            model: SpokenLanguageModel,
            batch: tuple[list[int], list[int]],
            teacher: SpokenLanguageModel | None = teacher,
        ) -> Tensor:
            chunk, replayed = batch
            result.train_samples += len(chunk) + len(replayed)
            gather = gather_negatives(engine.local_negatives)
            return _step_loss(model, teacher, data, chunk, replayed, config, gather=gather)

        fit = fit_objective(
            model,
            objective,
            batches,
            epochs=config.epochs,
            lr=config.lr,
            weight_decay=1e-2,
            gradient_clip_val=5.0,
            engine=engine,
            progress=progress,
            callbacks=[KeepRandomState()],
        )
        result.train_time_s += fit.train_time_s
        if rank() == 0:
            _evaluate(model, data, tasks[: step + 1], result)
            if out_dir is not None:
                write_result(result, config, Path(out_dir))
        buffer.add(current, [data.labels[index] for index in current])
        if config.method in ("kd", "coconut"):
            teacher = copy.deepcopy(model).eval().requires_grad_(False)
    result.model = model
    return result


class _TaskBatches:
    """The batches of one task: ``(current-task indices, replayed indices)`` per step.

    Each pass shuffles ``current`` in place with ``rng`` and cuts it into chunks of ``batch_size``
    per process (the last may be smaller); each step draws ``batch_size // 2`` replayed indices
    per process from ``rehearsal`` with the same ``rng``. Every process draws the same global
    batches; with W > 1 processes a last chunk of fewer than W rows joins the one before, so that
    every process has rows of its own.
    """

    def __init__(
        self, current: list[int], rehearsal: list[int], batch_size: int, rng: random.Random
    ) -> None:
        self.current = current
        self.rehearsal = rehearsal
        self.batch_size = batch_size
        self.rng = rng

    def _starts(self) -> list[int]:
        processes = world_size()
        starts = list(range(0, len(self.current), self.batch_size * processes))
        if len(starts) > 1 and len(self.current) - starts[-1] < processes:
            starts.pop()
        return starts

    def __len__(self) -> int:
        return len(self._starts())

    def __iter__(self) -> Iterator[tuple[list[int], list[int]]]:
        self.rng.shuffle(self.current)
        starts = self._starts()
        replay = min(len(self.rehearsal), self.batch_size // 2 * world_size())
        for position, start in enumerate(starts):
            stop = starts[position + 1] if position + 1 < len(starts) else len(self.current)
            chunk = self.current[start:stop]
            replayed = self.rng.sample(self.rehearsal, replay) if self.rehearsal else []
            yield chunk, replayed


def _own_rows(count: int) -> list[int]:
    """Positions of this process's share of ``count`` rows (all of them on one process)."""
    processes, here = world_size(), rank()
    return list(range(count * here // processes, count * (here + 1) // processes))


def _rows(batch: Batch, rows: list[int], device: torch.device) -> Batch:
    """The ``rows`` of ``batch`` (padding kept), on ``device``."""
    index = torch.tensor(rows)
    return Batch(*(getattr(batch, f.name)[index].to(device) for f in fields(Batch)))


def _global_mean(value: Tensor, count: int) -> Tensor:
    """A term reduced with ``"mean"`` on one process; with W processes, its ``"sum"`` over the
    local rows times ``W / count``: the average over the processes is the mean over the global
    batch, as data-parallel training averages gradients."""
    processes = world_size()
    return value if processes == 1 else value * (processes / count)


def _step_loss(
    model: SpokenLanguageModel,
    teacher: SpokenLanguageModel | None,
    data: SLUData,
    current: list[int],
    replayed: list[int],
    config: ContinualConfig,
    *,
    gather: bool = False,
) -> Tensor:
    """This process's loss of the global batch ``current + replayed`` (the whole on one process).

    The batch is padded as a whole, so every row sees the padding it would see on one process.
    """
    device = next(model.parameters()).device
    batch = collate(data, current + replayed)
    own_current = _own_rows(len(current))
    own_replayed = _own_rows(len(replayed))
    if world_size() > 1:
        rows = own_current + [len(current) + row for row in own_replayed]
        batch = _rows(batch, rows, device)
    elif batch.features.device != device:
        batch = _rows(batch, list(range(len(current) + len(replayed))), device)
    reduction = "mean" if world_size() == 1 else "sum"
    tokens = sum(len(data.targets[index]) for index in current + replayed)
    memory, padding = model.encode(batch.features, batch.lengths)
    logits = model.decoder(batch.decoder_input, memory, padding)
    loss = _global_mean(
        F.cross_entropy(
            logits.transpose(1, 2), batch.target, ignore_index=PAD, reduction=reduction
        ),
        tokens,
    )
    if config.method == "kd" and teacher is not None:
        teacher = teacher.to(device)
        with torch.no_grad():
            teacher_logits = teacher(batch.features, batch.lengths, batch.decoder_input)
        kd = _token_kd(logits, teacher_logits, batch, config, summed=world_size() > 1)
        loss = loss + config.kd_weight * _global_mean(kd, tokens)
    if config.method == "coconut":
        terms = _coconut_terms(
            model,
            teacher,
            batch,
            memory,
            padding,
            len(own_current),
            config,
            counts=(len(current), len(replayed)),
            gather=gather,
        )
        loss = loss + terms
    return loss


def _token_kd(
    logits: Tensor,
    teacher_logits: Tensor,
    batch: Batch,
    config: ContinualConfig,
    *,
    summed: bool = False,
) -> Tensor:
    """Token-level KD, averaged over the target tokens (``summed``: their sum)."""
    temperature = config.kd_temperature
    keep = batch.target != PAD
    student_log_probs = F.log_softmax(logits[keep] / temperature, dim=-1)
    teacher_probs = F.softmax(teacher_logits[keep] / temperature, dim=-1)
    kl = F.kl_div(student_log_probs, teacher_probs, reduction="sum" if summed else "batchmean")
    return kl * temperature**2


def _coconut_terms(
    model: SpokenLanguageModel,
    teacher: SpokenLanguageModel | None,
    batch: Batch,
    memory: Tensor,
    padding: Tensor,
    num_current: int,
    config: ContinualConfig,
    *,
    counts: tuple[int, int] | None = None,
    gather: bool = False,
) -> Tensor:
    """``lambda_1 L_NSPT`` on the rehearsal rows and ``lambda_2 L_MM`` on the current rows.

    ``num_current``: the local current-task rows (the first rows of ``batch``); ``counts``: the
    global current and replayed counts (default: those of ``batch``, one process).
    """
    num_current_all, num_replayed_all = (
        counts if counts is not None else (num_current, batch.labels.shape[0] - num_current)
    )
    distributed = world_size() > 1
    reduction = "sum" if distributed else "mean"
    audio = model.audio_embedding(memory, padding)
    terms = audio.new_zeros(())
    if teacher is not None and num_replayed_all > 0:
        teacher = teacher.to(audio.device)
        with torch.no_grad():
            rehearsal_features = batch.features[num_current:]
            teacher_memory, teacher_padding = teacher.encode(
                rehearsal_features, batch.lengths[num_current:]
            )
            teacher_audio = teacher.audio_embedding(teacher_memory, teacher_padding)
        options = {"reduction": reduction, "gather": gather} if distributed else {}
        nspt = nspt_loss(
            audio[num_current:],
            teacher_audio,
            batch.labels[num_current:],
            config.temperature,
            **options,
        )
        terms = terms + config.nspt_weight * _global_mean(nspt, num_replayed_all)
    if num_current_all >= 2:
        text = model.text_embedding(batch.words[:num_current])
        options = {"reduction": reduction, "gather": gather} if distributed else {}
        mm = audio_text_contrastive_loss(
            audio[:num_current],
            text,
            batch.labels[:num_current],
            config.temperature,
            **options,
        )
        terms = terms + config.mm_weight * _global_mean(mm, num_current_all)
    return terms


@torch.no_grad()
def _evaluate(
    model: SpokenLanguageModel, data: SLUData, seen: list[list[int]], result: ContinualResult
) -> None:
    model.cpu().eval()
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
