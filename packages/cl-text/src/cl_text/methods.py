"""The sentence-embedding methods ``cl-train text`` offers: their data layout and loss.

* ``simcse`` - unsupervised SimCSE: two dropout views of each sentence, in-batch InfoNCE (Gao, Yao,
  Chen, "SimCSE", EMNLP 2021, arXiv:2104.08821).
* ``simcse-sup`` - supervised SimCSE: NLI (anchor, entailment, contradiction) triplets, InfoNCE with
  the contradiction as hard negative.
* ``viclsr`` - ViCLSR (Huynh et al., 2026, arXiv:2603.21084): the same objective on triplets made
  from any NLI-style file by :func:`cl_text.data.nli_to_triplets`
  (:math:`-\\log e^{s(h,h^+)/\\tau} / \\sum_j (e^{s(h,h_j^+)/\\tau} + e^{s(h,h_j^-)/\\tau})`).
* ``debcse`` - DebCSE (Miao, Du, Zhang, CIKM 2023): triplets mined from unlabelled sentences with
  inverse-propensity weighting (:mod:`cl_text.debcse`), then the hard-negative InfoNCE.
* ``whitenedcse`` - WhitenedCSE (Zhuo et al., ACL 2023): three dropout views, shuffled group
  whitening, :math:`\\ell(w_1, w_2) + \\ell(w_1, w_3)` (:mod:`cl_text.whitening`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from torch import Tensor

from cl_core.losses import info_nce
from cl_text.whitening import whitened_cse_loss

MethodName = Literal["simcse", "simcse-sup", "debcse", "whitenedcse", "viclsr"]
METHODS: tuple[str, ...] = ("simcse", "simcse-sup", "debcse", "whitenedcse", "viclsr")
WHITENING_GROUP_SIZE = 6


@dataclass(frozen=True)
class MethodSpec:
    """How a method reads its training file and how many dropout views it makes per sentence."""

    name: str
    data: Literal["sentences", "triplets", "mined-triplets"]
    views_per_sentence: int


SPECS: dict[str, MethodSpec] = {
    "simcse": MethodSpec("simcse", "sentences", 2),
    "simcse-sup": MethodSpec("simcse-sup", "triplets", 1),
    "viclsr": MethodSpec("viclsr", "triplets", 1),
    "debcse": MethodSpec("debcse", "mined-triplets", 1),
    "whitenedcse": MethodSpec("whitenedcse", "sentences", 3),
}


def method_spec(method: str) -> MethodSpec:
    """The :class:`MethodSpec` of ``method``; ValueError naming the choices otherwise."""
    if method not in SPECS:
        raise ValueError(f"method must be one of {METHODS}, got {method!r}")
    return SPECS[method]


def hard_negative_info_nce(
    anchor: Tensor,
    positive: Tensor,
    negative: Tensor,
    *,
    temperature: float | Tensor,
    gather: bool = False,
) -> Tensor:
    """Supervised-SimCSE InfoNCE with one hard negative (B, D) per anchor.

    ``gather=True`` (data-parallel): the positives and hard negatives of every process are
    candidates of each local anchor, as in one batch of the global size.
    """
    return info_nce(anchor, positive, negative.unsqueeze(1), temperature=temperature, gather=gather)


def in_batch_info_nce(
    z1: Tensor, z2: Tensor, *, temperature: float | Tensor, gather: bool = False
) -> Tensor:
    """Unsupervised-SimCSE InfoNCE of two dropout views with in-batch negatives.

    ``gather=True`` (data-parallel): the negatives of every process, one global batch.
    """
    return info_nce(z1, z2, temperature=temperature, gather=gather)


def method_loss(method: str, embedding_dim: int) -> Callable[..., Tensor]:
    """The loss of ``method``, a function of the view embeddings and ``temperature=``."""
    spec = method_spec(method)
    if spec.name == "whitenedcse":
        if embedding_dim % WHITENING_GROUP_SIZE:
            raise ValueError(
                f"whitenedcse needs an embedding size divisible by {WHITENING_GROUP_SIZE}, "
                f"got {embedding_dim}"
            )
        groups = embedding_dim // WHITENING_GROUP_SIZE

        def loss(*views: Tensor, temperature: float | Tensor) -> Tensor:
            return whitened_cse_loss(*views, temperature=temperature, num_groups=groups)

        return loss
    if spec.data == "sentences":
        return in_batch_info_nce
    return hard_negative_info_nce
