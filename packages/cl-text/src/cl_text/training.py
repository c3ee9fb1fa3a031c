"""Training a sentence encoder with the shared Lightning engine (``cl_core.training``).

:class:`TextContrastiveModule` is a :class:`cl_core.training.ContrastiveModule` whose encoder is a
``SentenceTransformer`` and whose views are tokenised columns (or repeated columns: dropout makes
the views differ). :func:`train_sentence_encoder` runs a whole ``cl-train text`` job: STS before,
training with progress bar / CSV logs / atomic checkpoints / resume, STS after, ``results.json``
and the model saved in sentence-transformers format (pooling included).
"""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from lightning.pytorch.callbacks import Callback
from torch import Tensor

from cl_core.training import ContrastiveModule, make_trainer, resolve_resume, resumable_loader
from cl_core.training.trainer import checkpoint_dir
from cl_text.batching import embed_in_length_groups, stack_features, stackable
from cl_text.data import LeeCorpus, STSSet, read_sentences, read_triplets, wordnet_glosses
from cl_text.debcse import debcse_triplets
from cl_text.evaluation import evaluate_lee, evaluate_sts
from cl_text.methods import method_loss, method_spec
from cl_text.mlm import MLM_PROBABILITY, MaskedLMAuxiliary
from cl_text.pooler_mlp import PoolerMLP

Example = tuple[str, ...]


@dataclass
class TextTrainConfig:
    """Hyper-parameters of one run (defaults: SimCSE's, scaled for a CPU).

    Attributes:
        method: one of ``cl_text.methods.METHODS``.
        epochs: passes over the training data.
        batch_size: sentences (or triplets) per step.
        lr: peak learning rate (no warm-up, cosine decay: the shared engine's schedule; SimCSE
            decays linearly).
        max_seq_len: token limit per sentence (SimCSE: 32).
        temperature: InfoNCE temperature (SimCSE: 0.05).
        seed: seeds data order, dropout and mining.
        max_steps: stop after this many steps (-1: run all epochs).
        mlm_weight: lambda of SimCSE's MLM auxiliary (0: off; SimCSE: 0.1), see
            :mod:`cl_text.mlm`.
        mlm_probability: token selection probability of the MLM masking (BERT: 0.15).
        mlp_train_only: put SimCSE's tanh MLP (:class:`cl_text.pooler_mlp.PoolerMLP`) over the
            pooled embedding during training only; the saved model does not contain it.
        trainer_options: extra :func:`cl_core.training.make_trainer` keyword arguments.
    """

    method: str = "simcse"
    epochs: int = 1
    batch_size: int = 64
    lr: float = 3e-5
    max_seq_len: int = 32
    temperature: float = 0.05
    seed: int = 0
    max_steps: int = -1
    mlm_weight: float = 0.0
    mlm_probability: float = MLM_PROBABILITY
    mlp_train_only: bool = False
    trainer_options: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        method_spec(self.method)
        for name in ("epochs", "batch_size", "max_seq_len"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be >= 1, got {getattr(self, name)}")
        if not self.lr > 0 or not self.temperature > 0:
            raise ValueError(
                f"lr and temperature must be > 0, got {self.lr} and {self.temperature}"
            )
        if not self.mlm_weight >= 0:
            raise ValueError(f"mlm_weight must be >= 0, got {self.mlm_weight}")
        if not 0.0 < self.mlm_probability < 1.0:
            raise ValueError(f"mlm_probability must be in (0, 1), got {self.mlm_probability}")


class TokenizingCollator:
    """Collate examples (tuples of sentences) into one tokenised feature dict per column."""

    def __init__(self, model: Any) -> None:
        self.model = model

    def __call__(self, examples: Sequence[Example]) -> list[dict[str, Tensor]]:
        return [self.model.preprocess(list(column)) for column in zip(*examples, strict=True)]


class TextContrastiveModule(ContrastiveModule):
    """``ContrastiveModule`` over a ``SentenceTransformer``: views are tokenised feature dicts.

    A batch is a list of feature dicts, one per column. Single-column batches (unlabelled
    sentences) are repeated ``views_per_sentence`` times: dropout in the encoder makes the views
    (SimCSE). Multi-column batches (triplets) give one view per column.

    With ``mlp_train_only`` the views are embedded as ``PoolerMLP(pooled)`` (SimCSE's training-only
    MLP); with ``mlm_weight`` > 0 the loss is ``L_cl + mlm_weight * L_mlm`` on the first column,
    masked BERT-style (:class:`cl_text.mlm.MaskedLMAuxiliary`, a fresh LM head tied to the input
    embeddings). Both live in this module, not in ``model``.

    Args:
        model: the ``SentenceTransformer`` to train (its pooling is kept).
        method: a method of ``cl_text.methods.METHODS``.
        temperature: InfoNCE temperature.
        lr: peak learning rate.
        seed: seed of the per-step generators.
        mlm_weight: weight lambda of the MLM auxiliary (0: off).
        mlm_probability: token selection probability of the MLM masking.
        mlp_train_only: train through SimCSE's tanh MLP head.
    """

    def __init__(
        self,
        model: Any,
        method: str,
        *,
        temperature: float = 0.05,
        lr: float = 3e-5,
        seed: int = 0,
        mlm_weight: float = 0.0,
        mlm_probability: float = MLM_PROBABILITY,
        mlp_train_only: bool = False,
    ) -> None:
        spec = method_spec(method)
        if not mlm_weight >= 0:
            raise ValueError(f"mlm_weight must be >= 0, got {mlm_weight}")
        dim = model.get_embedding_dimension()
        super().__init__(
            model,
            method_loss(method, dim),
            head=PoolerMLP(dim) if mlp_train_only else None,
            temperature=temperature,
            lr=lr,
            weight_decay=0.0,
            warmup_fraction=0.0,
            seed=seed,
        )
        self.views_per_sentence = spec.views_per_sentence
        self.mlm_weight = mlm_weight
        self.mlm = (
            MaskedLMAuxiliary.for_sentence_transformer(model, probability=mlm_probability)
            if mlm_weight > 0
            else None
        )

    def make_views(self, batch: Any, generator: Any) -> list[dict[str, Tensor]]:
        if len(batch) == 1:
            return [batch[0]] * self.views_per_sentence
        return list(batch)

    def embed(self, view: dict[str, Tensor]) -> Tensor:
        # sentence-transformers modules add keys to the dict they get; keep the batch intact.
        return self.head(self.encoder(dict(view))["sentence_embedding"])

    def embed_views(self, views: Sequence[dict[str, Tensor]]) -> list[Tensor]:
        """All views stacked into one batch (:func:`cl_text.batching.stack_features`: SimCSE's
        dropout copies as they are, triplet columns right-padded to the widest), embedded in
        groups of similar length trimmed of padding
        (:func:`cl_text.batching.embed_in_length_groups`); views that cannot be stacked are
        embedded one by one, each in length groups."""
        if len(views) < 2 or not stackable(views):
            return [embed_in_length_groups(self.embed, view) for view in views]
        pad_id = getattr(getattr(self.encoder, "tokenizer", None), "pad_token_id", None)
        stacked, sizes = stack_features(views, {"input_ids": pad_id or 0})
        return list(embed_in_length_groups(self.embed, stacked).split(sizes))

    def compute_loss(self, embeddings: Sequence[Tensor], batch: Any) -> Tensor:
        """The method's contrastive loss, plus ``mlm_weight`` times the MLM loss when enabled."""
        contrastive = super().compute_loss(embeddings, batch)
        if self.mlm is None:
            return contrastive
        # A second draw from the step generator: the masks replay exactly after a resume.
        mlm = self.mlm(self.encoder[0], batch[0], self.step_generator())
        if self._trainer is not None:
            size = int(embeddings[0].shape[0])
            self.log("train/contrastive_loss", contrastive.detach(), batch_size=size)
            self.log("train/mlm_loss", mlm.detach(), batch_size=size)
        return contrastive + self.mlm_weight * mlm


class StepCounter(Callback):
    """Counts the optimizer steps taken in this process (a resumed run starts at zero)."""

    def __init__(self) -> None:
        self.steps = 0

    def on_train_batch_end(self, *args: Any, **kwargs: Any) -> None:
        self.steps += 1


def read_training_data(
    method: str, train: str | Path, *, max_sentences: int | None = None, seed: int = 0
) -> list[Example]:
    """The examples in ``train`` for ``method``, read and checked before any model is loaded.

    ``train`` is a text file (one sentence per line) or a WordNet folder for ``simcse``,
    ``whitenedcse`` and ``debcse`` (1-tuples of sentences); a triplet or NLI file for
    ``simcse-sup`` and ``viclsr`` (see :func:`cl_text.data.read_triplets`).
    """
    path = Path(train)
    if method_spec(method).data == "triplets":
        triplets = read_triplets(path, seed=seed)[:max_sentences]
        return [(t.anchor, t.positive, t.negative) for t in triplets]
    if path.is_dir():
        sentences = wordnet_glosses(path, max_sentences=max_sentences)
    else:
        sentences = read_sentences(path, max_sentences=max_sentences)
    return [(s,) for s in sentences]


def prepare_examples(
    method: str, examples: Sequence[Example], model: Any, *, seed: int = 0
) -> list[Example]:
    """``examples`` as ``method`` trains on them: DebCSE mines triplets with ``model``."""
    if method_spec(method).data != "mined-triplets":
        return list(examples)
    sentences = [example[0] for example in examples]
    embeddings = model.encode(sentences, batch_size=128, convert_to_tensor=True)
    candidates = min(8, len(sentences) - 1)
    triplets = debcse_triplets(
        sentences,
        embeddings.cpu(),
        num_candidates=candidates,
        positive_pool=max(1, candidates // 4),
        seed=seed,
    )
    return [(t.anchor, t.positive, t.negative) for t in triplets]


def train_sentence_encoder(
    model: Any,
    examples: Sequence[Example],
    config: TextTrainConfig,
    out_dir: str | Path,
    *,
    eval_sets: Sequence[STSSet] = (),
    lee: LeeCorpus | None = None,
    resume: str | None = None,
    progress_bar: bool = True,
    evaluate_before: bool = True,
) -> dict[str, Any]:
    """Train ``model`` in place on ``examples``; evaluate, save and write ``results.json``.

    Args:
        model: a ``SentenceTransformer`` (see :func:`cl_text.encoder.load_sentence_encoder`).
        examples: training examples (1-tuples of sentences or (anchor, positive, negative)).
        config: hyper-parameters.
        out_dir: run folder: ``model/`` (sentence-transformers format), ``results.json``,
            ``logs/`` and ``checkpoints/``.
        eval_sets: STS sets evaluated before and after training (may be empty).
        lee: the Lee document-similarity set, an extra check before and after
            (:func:`cl_text.evaluation.evaluate_lee`; None: skipped).
        resume: ``"last"`` or a checkpoint path to continue from.
        progress_bar: show the progress bar.
        evaluate_before: also evaluate before training (``sts_before``, ``lee_before``).

    Returns:
        The results written to ``results.json``.
    """
    if len(examples) < config.batch_size:
        raise ValueError(
            f"need at least batch_size={config.batch_size} training examples, got {len(examples)}"
        )
    out = Path(out_dir)
    model.max_seq_length = config.max_seq_len
    before = evaluate_sts(model, eval_sets) if eval_sets and evaluate_before else {}
    lee_before = evaluate_lee(model, lee) if lee is not None and evaluate_before else {}
    module = TextContrastiveModule(
        model,
        config.method,
        temperature=config.temperature,
        lr=config.lr,
        seed=config.seed,
        mlm_weight=config.mlm_weight,
        mlm_probability=config.mlm_probability,
        mlp_train_only=config.mlp_train_only,
    )
    loader = resumable_loader(
        list(examples), config.batch_size, seed=config.seed, collate_fn=TokenizingCollator(model)
    )
    options = {"accelerator": "cpu", "devices": 1, "log_every_n_steps": 1, **config.trainer_options}
    options.update(max_epochs=config.epochs, max_steps=config.max_steps, seed=config.seed)
    counter = StepCounter()
    options["callbacks"] = [*options.get("callbacks", ()), counter]
    trainer = make_trainer(out, progress_bar=progress_bar, **options)
    ckpt_path = resolve_resume(resume, checkpoint_dir(out))
    # A loaded SentenceTransformer is in eval mode; SimCSE's views come from dropout.
    module.train()
    started = time.perf_counter()
    trainer.fit(module, loader, ckpt_path=ckpt_path)
    train_time = time.perf_counter() - started
    steps = counter.steps
    model.eval()
    after = evaluate_sts(model, eval_sets) if eval_sets else {}
    lee_after = evaluate_lee(model, lee) if lee is not None else {}
    model_dir = out / "model"
    results = {
        "method": config.method,
        "config": {k: v for k, v in asdict(config).items() if k != "trainer_options"},
        "train_examples": len(examples),
        "steps": steps,
        "train_time_s": train_time,
        "samples_per_s": steps * config.batch_size / train_time if train_time > 0 else 0.0,
        "sts_before": before,
        "sts_after": after,
        "lee_before": lee_before,
        "lee_after": lee_after,
        "model_dir": str(model_dir),
    }
    # Outputs once: under data parallelism every process ends with the same weights.
    if trainer.is_global_zero:
        model.save(str(model_dir))
        (out / "results.json").write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    return results
