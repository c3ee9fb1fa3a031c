r"""Classification fine-tuning of a sentence encoder: input-label contrast vs a linear softmax head.

Input-label contrast (Rethmeier and Augenstein, "A Primer on Contrastive Pretraining in Language
Processing", ACM Computing Surveys 2023, arXiv:2102.12982, Sec. 3) embeds every class by a short
text describing it, with the same encoder as the inputs, and scores input :math:`x_i` against all
C class embeddings :math:`e_c` (``cl_core.losses.input_label_contrast``):

.. math::

    \ell_i = -\log \frac{\exp(\cos(x_i, e_{y_i}) / \tau)}
                         {\sum_{c=1}^{C} \exp(\cos(x_i, e_c) / \tau)},
    \qquad \hat{y}_i = \arg\max_c \cos(x_i, e_c).

It needs no new parameters, predicts before any training (zero-shot, from the descriptions), and
takes new classes by embedding their descriptions. The baseline is the usual linear softmax head
``W x + b`` trained with cross-entropy on the same encoder. A sentence pair is encoded as one
sequence (``[CLS] a [SEP] b [SEP]``) and pooled with the model's own pooling.
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from cl_core.losses import input_label_contrast
from cl_core.training import ContrastiveModule, make_trainer, resolve_resume, resumable_loader
from cl_core.training.trainer import checkpoint_dir
from cl_text.batching import embed_in_length_groups
from cl_text.data.labelled import Input, LabelledTexts

Objective = Literal["input-label", "linear-softmax"]
OBJECTIVES: tuple[str, ...] = ("input-label", "linear-softmax")

#: Class descriptions of SICK 2014's entailment labels, embedded by the encoder being trained.
SICK_DESCRIPTIONS: dict[str, str] = {
    "CONTRADICTION": "Contradiction: the two sentences cannot both be true.",
    "ENTAILMENT": "Entailment: if the first sentence is true, the second sentence is true too.",
    "NEUTRAL": "Neutral: the first sentence neither implies nor contradicts the second.",
}


def class_descriptions(
    classes: Sequence[str], descriptions: Mapping[str, str] | None = None
) -> list[str]:
    """The description of each class, in ``classes`` order.

    ``descriptions`` maps label -> text; without it, SICK's labels get :data:`SICK_DESCRIPTIONS` and
    any other label is described by its own name.

    Raises:
        ValueError: ``descriptions`` is given but misses a class.
    """
    if descriptions is None:
        return [SICK_DESCRIPTIONS.get(c, c) for c in classes]
    missing = [c for c in classes if c not in descriptions]
    if missing:
        raise ValueError(
            f"descriptions must describe every class; missing {missing} (have {list(descriptions)})"
        )
    return [descriptions[c] for c in classes]


@dataclass
class ClassifierTrainConfig:
    """Hyper-parameters of one classification fine-tuning run.

    Attributes:
        objective: ``"input-label"`` or ``"linear-softmax"``.
        epochs: passes over the training data.
        batch_size: examples per step.
        lr: peak learning rate of the encoder (cosine decay, no warm-up).
        head_lr: peak learning rate of the linear softmax head (a fresh layer on unit-norm
            embeddings moves too little at the encoder's rate).
        max_seq_len: token limit of an input (a sentence pair counts as one input).
        temperature: tau of input-label contrast.
        seed: seeds data order and dropout.
        max_steps: stop after this many steps (-1: run all epochs).
        trainer_options: extra :func:`cl_core.training.make_trainer` keyword arguments.
    """

    objective: str = "input-label"
    epochs: int = 1
    batch_size: int = 32
    lr: float = 3e-5
    head_lr: float = 1e-3
    max_seq_len: int = 64
    temperature: float = 0.05
    seed: int = 0
    max_steps: int = -1
    trainer_options: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.objective not in OBJECTIVES:
            raise ValueError(f"objective must be one of {OBJECTIVES}, got {self.objective!r}")
        for name in ("epochs", "batch_size", "max_seq_len"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be >= 1, got {getattr(self, name)}")
        for name in ("lr", "head_lr", "temperature"):
            if not getattr(self, name) > 0:
                raise ValueError(f"{name} must be > 0, got {getattr(self, name)}")


class LabelledCollator:
    """Collate ``(input, class_index)`` examples into ``(features, labels)``."""

    def __init__(self, model: Any) -> None:
        self.model = model

    def __call__(self, examples: Sequence[tuple[Input, int]]) -> tuple[dict[str, Tensor], Tensor]:
        inputs, labels = zip(*examples, strict=True)
        return self.model.preprocess(list(inputs)), torch.tensor(labels, dtype=torch.long)


class TextClassifierModule(ContrastiveModule):
    """Fine-tunes a ``SentenceTransformer`` for C classes by input-label contrast or a softmax head.

    A batch is ``(features, labels)``. ``"input-label"`` embeds the class descriptions with the
    encoder at every step (gradients flow into both sides) and calls
    ``cl_core.losses.input_label_contrast``; ``"linear-softmax"`` trains ``nn.Linear(D, C)`` with
    cross-entropy, the head at ``head_lr``.

    Args:
        model: the ``SentenceTransformer`` to fine-tune.
        descriptions: one text per class, in class-index order.
        objective: ``"input-label"`` or ``"linear-softmax"``.
        temperature: tau of input-label contrast.
        lr: peak learning rate of the encoder.
        head_lr: peak learning rate of the linear head.
        seed: seed of the per-step generators.

    Example:
        >>> module = TextClassifierModule(model, ["sports", "politics"])  # doctest: +SKIP
        >>> module.predict(["The match ended 2-1."])  # doctest: +SKIP
        array([0])
    """

    def __init__(
        self,
        model: Any,
        descriptions: Sequence[str],
        *,
        objective: str = "input-label",
        temperature: float = 0.05,
        lr: float = 3e-5,
        head_lr: float = 1e-3,
        seed: int = 0,
    ) -> None:
        if objective not in OBJECTIVES:
            raise ValueError(f"objective must be one of {OBJECTIVES}, got {objective!r}")
        if len(descriptions) < 2:
            raise ValueError(f"descriptions must hold at least 2 classes, got {len(descriptions)}")
        if not head_lr > 0:
            raise ValueError(f"head_lr must be > 0, got {head_lr}")
        input_label = objective == "input-label"
        super().__init__(
            model,
            input_label_contrast if input_label else F.cross_entropy,
            temperature=temperature if input_label else None,
            lr=lr,
            weight_decay=0.0,
            warmup_fraction=0.0,
            seed=seed,
        )
        self.objective = objective
        self.descriptions = list(descriptions)
        self.head_lr = head_lr
        dim = model.get_embedding_dimension()
        self.classifier = None if input_label else nn.Linear(dim, len(descriptions))

    @property
    def num_classes(self) -> int:
        """C, the number of classes."""
        return len(self.descriptions)

    def make_views(self, batch: Any, generator: torch.Generator) -> list[dict[str, Tensor]]:
        return [batch[0]]

    def embed(self, view: dict[str, Tensor]) -> Tensor:
        """Sentence embeddings of a tokenised batch, run in length groups trimmed of padding
        (:func:`cl_text.batching.embed_in_length_groups`; the same embeddings as one pass)."""
        return embed_in_length_groups(self._encode, view)

    def _encode(self, view: dict[str, Tensor]) -> Tensor:
        # sentence-transformers modules add keys to the dict they get; keep the batch intact.
        return self.encoder(dict(view))["sentence_embedding"]

    def label_embeddings(self) -> Tensor:
        """(C, D) embeddings of the class descriptions (with gradients in training)."""
        return self.embed(self._features(self.descriptions))

    def _features(self, inputs: Sequence[Input]) -> dict[str, Any]:
        features = self.encoder.preprocess(list(inputs))
        return {k: v.to(self.device) if isinstance(v, Tensor) else v for k, v in features.items()}

    def class_scores(self, embeddings: Tensor) -> Tensor:
        """(N, C) scores: cosine to each class description, or the linear head's logits."""
        if self.classifier is not None:
            return self.classifier(embeddings)
        labels = F.normalize(self.label_embeddings(), dim=-1)
        return F.normalize(embeddings, dim=-1) @ labels.T

    def compute_loss(self, embeddings: Sequence[Tensor], batch: Any) -> Tensor:
        """Input-label contrast over the C descriptions, or cross-entropy of the linear head."""
        labels = batch[1].to(embeddings[0].device)
        if self.classifier is not None:
            return self.loss_fn(self.classifier(embeddings[0]), labels)
        return self.loss_fn(
            embeddings[0], self.label_embeddings(), labels, temperature=self.temperature()
        )

    @torch.no_grad()
    def predict(self, inputs: Sequence[Input], batch_size: int = 64) -> np.ndarray:
        """Class indices (N,) of texts or (text, pair) tuples, in eval mode."""
        was_training = self.training
        self.eval()
        try:
            scores = []
            for start in range(0, len(inputs), batch_size):
                features = self._features(inputs[start : start + batch_size])
                scores.append(self.class_scores(self.embed(features)).argmax(dim=-1).cpu())
        finally:
            self.train(was_training)
        return torch.cat(scores).numpy()

    def param_groups(self) -> list[dict[str, Any]]:
        """The encoder at ``lr`` and the linear head (if any) at ``head_lr``."""
        head = list(self.classifier.parameters()) if self.classifier is not None else []
        head_ids = {id(p) for p in head}
        groups: list[dict[str, Any]] = [
            {"params": [p for p in self.parameters() if id(p) not in head_ids], "lr": self.lr}
        ]
        if head:
            groups.append({"params": head, "lr": self.head_lr})
        return groups


def classification_scores(
    predicted: Sequence[int] | np.ndarray, gold: Sequence[int] | np.ndarray, num_classes: int
) -> dict[str, float]:
    """Accuracy and macro-F1 (x 100) of predicted vs gold class indices (scikit-learn)."""
    from sklearn.metrics import accuracy_score, f1_score

    predicted, gold = np.asarray(predicted), np.asarray(gold)
    if predicted.shape != gold.shape or predicted.ndim != 1 or len(gold) == 0:
        raise ValueError(
            f"predicted and gold must be equal-length non-empty (N,) arrays, got "
            f"{predicted.shape} and {gold.shape}"
        )
    labels = list(range(num_classes))
    return {
        "accuracy": 100.0 * float(accuracy_score(gold, predicted)),
        "macro_f1": 100.0
        * float(f1_score(gold, predicted, labels=labels, average="macro", zero_division=0)),
    }


def train_text_classifier(
    model: Any,
    train: LabelledTexts,
    config: ClassifierTrainConfig,
    out_dir: str | Path,
    *,
    test: LabelledTexts | None = None,
    descriptions: Mapping[str, str] | None = None,
    resume: str | None = None,
    progress_bar: bool = True,
) -> dict[str, Any]:
    """Fine-tune ``model`` in place on ``train``, evaluate on ``test``, save, write results.

    Args:
        model: a ``SentenceTransformer`` (see :func:`cl_text.encoder.load_sentence_encoder`).
        train: labelled training texts or pairs; its sorted labels are the classes.
        config: hyper-parameters.
        out_dir: run folder: ``model/`` (sentence-transformers format), ``classifier.json``
            (classes, descriptions and, for the softmax head, its weights), ``results.json``,
            ``logs/``, ``checkpoints/``.
        test: labelled evaluation set (its labels must be among the training classes).
        descriptions: label -> class description (default: see :func:`class_descriptions`).
        resume: ``"last"`` or a checkpoint path to continue from.
        progress_bar: show the progress bar.

    Returns:
        The results written to ``results.json``: ``test_before`` (input-label: zero-shot from the
        descriptions; softmax: empty, its head is untrained) and ``test_after`` accuracy and
        macro-F1, plus the accuracy on ``test`` of always predicting the training majority class.
    """
    classes = train.classes()
    index = {c: i for i, c in enumerate(classes)}
    if test is not None:
        unknown = sorted(set(test.labels) - set(classes))
        if unknown:
            raise ValueError(f"test labels {unknown} do not occur in the training data {classes}")
    if len(train) < config.batch_size:
        raise ValueError(
            f"need at least batch_size={config.batch_size} training examples, got {len(train)}"
        )
    texts = class_descriptions(classes, descriptions)
    out = Path(out_dir)
    model.max_seq_length = config.max_seq_len
    module = TextClassifierModule(
        model,
        texts,
        objective=config.objective,
        temperature=config.temperature,
        lr=config.lr,
        head_lr=config.head_lr,
        seed=config.seed,
    )
    gold = np.array([index[label] for label in test.labels]) if test is not None else None

    def evaluate() -> dict[str, float]:
        if test is None:
            return {}
        return classification_scores(module.predict(test.inputs()), gold, len(classes))

    before = evaluate() if config.objective == "input-label" else {}
    examples = [(x, index[y]) for x, y in zip(train.inputs(), train.labels, strict=True)]
    loader = resumable_loader(
        examples, config.batch_size, seed=config.seed, collate_fn=LabelledCollator(model)
    )
    options = {"accelerator": "cpu", "devices": 1, "log_every_n_steps": 1, **config.trainer_options}
    options.update(max_epochs=config.epochs, max_steps=config.max_steps, seed=config.seed)
    trainer = make_trainer(out, progress_bar=progress_bar, **options)
    module.train()
    started = time.perf_counter()
    trainer.fit(module, loader, ckpt_path=resolve_resume(resume, checkpoint_dir(out)))
    train_time = time.perf_counter() - started
    after = evaluate()
    model.eval()
    head = module.classifier
    classifier = {
        "objective": config.objective,
        "classes": classes,
        "descriptions": texts,
        "linear_head": None
        if head is None
        else {"weight": head.weight.detach().tolist(), "bias": head.bias.detach().tolist()},
    }
    train_majority = np.bincount([i for _, i in examples], minlength=len(classes)).argmax()
    majority = 100.0 * float(np.mean(gold == train_majority)) if gold is not None else None
    results = {
        "method": config.objective,
        "config": {k: v for k, v in asdict(config).items() if k != "trainer_options"},
        "classes": classes,
        "descriptions": texts,
        "train_examples": len(train),
        "test_examples": len(test) if test is not None else 0,
        "steps": int(trainer.global_step),
        "train_time_s": train_time,
        "test_before": before,
        "test_after": after,
        "test_majority_accuracy": majority,
        "model_dir": str(out / "model"),
    }
    # Outputs once: under data parallelism every process ends with the same weights.
    if trainer.is_global_zero:
        model.save(str(out / "model"))
        (out / "classifier.json").write_text(json.dumps(classifier) + "\n", encoding="utf-8")
        (out / "results.json").write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    return results
