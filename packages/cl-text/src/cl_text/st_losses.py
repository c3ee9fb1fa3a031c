"""cl_core losses as sentence-transformers losses, for ``SentenceTransformerTrainer`` users.

A sentence-transformers loss is an ``nn.Module`` built with the model and called as
``forward(sentence_features, labels)``: one tokenised feature dict per dataset column. These
adapters embed every column with the model (``model(features)["sentence_embedding"]``) and hand the
embeddings to a ``cl_core.losses`` function.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

import torch
from torch import Tensor, nn

from cl_core.losses import info_nce

SIMCSE_CITATION = """@inproceedings{gao2021simcse,
    title = {SimCSE: Simple Contrastive Learning of Sentence Embeddings},
    author = {Gao, Tianyu and Yao, Xingcheng and Chen, Danqi},
    booktitle = {EMNLP},
    year = {2021},
    note = {arXiv:2104.08821}
}"""


def embed_columns(model: nn.Module, sentence_features: Iterable[dict[str, Tensor]]) -> list[Tensor]:
    """``model(features)["sentence_embedding"]`` for every column's feature dict."""
    return [model(dict(features))["sentence_embedding"] for features in sentence_features]


class KernelLoss(nn.Module):
    """Any ``cl_core.losses`` function of the column embeddings, as a sentence-transformers loss.

    The embeddings of the dataset columns are passed positionally, in column order, followed by
    ``loss_kwargs``; with ``labels_argument`` set, the batch labels are passed under that name.

    Args:
        model: the ``SentenceTransformer`` being trained.
        loss_fn: e.g. ``cl_core.losses.nt_xent``, ``dcl``, ``clip_loss``.
        labels_argument: keyword under which to pass ``labels`` (None: labels are ignored).
        **loss_kwargs: hyper-parameters of ``loss_fn`` (e.g. ``temperature=0.05``).

    Example:
        >>> from cl_core.losses import nt_xent
        >>> loss = KernelLoss(model, nt_xent, temperature=0.1)  # doctest: +SKIP
        >>> trainer = SentenceTransformerTrainer(  # doctest: +SKIP
        ...     model=model, train_dataset=pairs, loss=loss
        ... )
    """

    def __init__(
        self,
        model: nn.Module,
        loss_fn: Callable[..., Tensor],
        *,
        labels_argument: str | None = None,
        **loss_kwargs: Any,
    ) -> None:
        super().__init__()
        if not isinstance(model, nn.Module):
            raise TypeError(
                f"model must be a SentenceTransformer (nn.Module), got {type(model).__name__}"
            )
        if not callable(loss_fn):
            raise TypeError(f"loss_fn must be callable, got {type(loss_fn).__name__}")
        self.model = model
        self.loss_fn = loss_fn
        self.labels_argument = labels_argument
        self.loss_kwargs = loss_kwargs

    def forward(
        self, sentence_features: Iterable[dict[str, Tensor]], labels: Tensor | None
    ) -> Tensor:
        """Loss of one batch: ``loss_fn(*column_embeddings, **loss_kwargs)``."""
        embeddings = embed_columns(self.model, sentence_features)
        kwargs = dict(self.loss_kwargs)
        if self.labels_argument is not None:
            kwargs[self.labels_argument] = labels
        return self.loss_fn(*embeddings, **kwargs)

    def get_config_dict(self) -> dict[str, Any]:
        """Hyper-parameters shown in the model card."""
        return {
            "loss_fn": getattr(self.loss_fn, "__name__", repr(self.loss_fn)),
            **self.loss_kwargs,
        }


class InfoNCESentenceLoss(nn.Module):
    r"""SimCSE's InfoNCE (``cl_core.losses.info_nce``) over (anchor, positive[, negative...]).

    Gao, Yao, Chen, "SimCSE", EMNLP 2021, arXiv:2104.08821:
    :math:`\ell_i = -\log \frac{e^{\cos(a_i, p_i)/\tau}}{\sum_j e^{\cos(a_i, p_j)/\tau}
    + \sum_{j,k} e^{\cos(a_i, n_{jk})/\tau + \lambda[j = i]}}`.
    Columns after the second are hard negatives (B, K, D); without them it is in-batch InfoNCE,
    the same objective as ``MultipleNegativesRankingLoss`` with ``scale = 1/τ``.

    Args:
        model: the ``SentenceTransformer`` being trained.
        temperature: :math:`\tau` (SimCSE: 0.05).
        hard_negative_weight: :math:`\lambda`, log-weight of each anchor's own hard negatives.

    Inputs:
        (anchor, positive) pairs or (anchor, positive, negative_1, ..., negative_K) tuples; labels
        are ignored.

    Example:
        >>> loss = InfoNCESentenceLoss(model, temperature=0.05)  # doctest: +SKIP
    """

    def __init__(
        self, model: nn.Module, temperature: float = 0.05, hard_negative_weight: float = 0.0
    ):
        super().__init__()
        if not isinstance(model, nn.Module):
            raise TypeError(
                f"model must be a SentenceTransformer (nn.Module), got {type(model).__name__}"
            )
        if not temperature > 0:
            raise ValueError(f"temperature must be > 0, got {temperature}")
        self.model = model
        self.temperature = temperature
        self.hard_negative_weight = hard_negative_weight

    def forward(
        self, sentence_features: Iterable[dict[str, Tensor]], labels: Tensor | None
    ) -> Tensor:
        """Loss of one batch of 2 or more columns."""
        embeddings = embed_columns(self.model, sentence_features)
        if len(embeddings) < 2:
            raise ValueError(
                f"expected at least 2 columns (anchor, positive), got {len(embeddings)}"
            )
        negatives = torch.stack(embeddings[2:], dim=1) if len(embeddings) > 2 else None
        return info_nce(
            embeddings[0],
            embeddings[1],
            negatives,
            temperature=self.temperature,
            hard_negative_weight=self.hard_negative_weight if negatives is not None else 0.0,
        )

    def get_config_dict(self) -> dict[str, Any]:
        """Hyper-parameters shown in the model card."""
        return {"temperature": self.temperature, "hard_negative_weight": self.hard_negative_weight}

    @property
    def citation(self) -> str:
        """BibTeX of SimCSE."""
        return SIMCSE_CITATION
