r"""SimCSE's masked-language-modelling auxiliary: BERT token masking, a tied LM head, the loss.

Gao, Yao, Chen, "SimCSE: Simple Contrastive Learning of Sentence Embeddings", EMNLP 2021,
arXiv:2104.08821 (Appendix, "MLM auxiliary objective") adds a masked-LM term to the contrastive one:

.. math::

    \mathcal{L} = \mathcal{L}_{\mathrm{cl}} + \lambda \, \mathcal{L}_{\mathrm{mlm}}, \qquad
    \mathcal{L}_{\mathrm{mlm}} = -\frac{1}{|M|} \sum_{t \in M} \log p_\theta(x_t \mid \tilde{x})

with :math:`\lambda = 0.1`, :math:`M` the selected positions and :math:`\tilde{x}` the corrupted
input. The corruption is BERT's (Devlin et al., "BERT", NAACL 2019, arXiv:1810.04805): each
ordinary token (not padding, not ``[CLS]``/``[SEP]``/...) is selected with probability 0.15; a
selected token becomes ``[MASK]`` with probability 0.8, a uniformly random token with probability
0.1 and stays as it is with probability 0.1. As in SimCSE's code, the masked sentences go through
the encoder in a separate forward pass.

Sentence-transformers checkpoints such as all-MiniLM-L6-v2 ship without an MLM head, so
:class:`MaskedLMHead` is a fresh BERT-style prediction head (dense -> GELU -> LayerNorm -> decoder)
whose decoder weight is tied to the encoder's input word embeddings (only the head's dense layer,
LayerNorm and output bias are new). The head lives outside the ``SentenceTransformer``, so a saved
model never contains it.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

IGNORE_INDEX = -100
MLM_PROBABILITY = 0.15
MASK_FRACTION = 0.8
RANDOM_FRACTION = 0.1


@dataclass(frozen=True)
class MaskedTokens:
    """Corrupted token ids and the MLM targets (original ids where selected, else ``-100``)."""

    input_ids: Tensor
    labels: Tensor


def maskable_positions(
    input_ids: Tensor, attention_mask: Tensor, special_ids: Iterable[int]
) -> Tensor:
    """Boolean (B, L) mask of the positions BERT masking may select: real, non-special tokens."""
    special = torch.tensor(sorted(set(special_ids)), dtype=input_ids.dtype, device=input_ids.device)
    return attention_mask.bool() & ~torch.isin(input_ids, special)


def mask_tokens(
    input_ids: Tensor,
    maskable: Tensor,
    *,
    mask_token_id: int,
    vocab_size: int,
    probability: float = MLM_PROBABILITY,
    generator: torch.Generator | None = None,
) -> MaskedTokens:
    """BERT's 80/10/10 corruption of ``input_ids`` (arXiv:1810.04805, Sec. 3.1).

    Args:
        input_ids: (B, L) integer token ids.
        maskable: (B, L) bool, positions that may be selected (see :func:`maskable_positions`).
        mask_token_id: id of ``[MASK]``.
        vocab_size: random replacements are drawn uniformly from ``[0, vocab_size)``.
        probability: selection probability of each maskable token, in (0, 1) (SimCSE/BERT: 0.15).
        generator: source of randomness (a resumed run replays the same masks).

    Returns:
        :class:`MaskedTokens`: corrupted ids (B, L) and labels (B, L) holding the original id at
        selected positions and ``-100`` elsewhere.

    Example:
        >>> ids = torch.randint(1000, 2000, (4, 16))
        >>> out = mask_tokens(ids, torch.ones_like(ids, dtype=torch.bool), mask_token_id=103,
        ...                   vocab_size=30522, generator=torch.Generator().manual_seed(0))
        >>> bool(((out.labels == -100) | (out.labels == ids)).all())
        True
    """
    if not isinstance(input_ids, Tensor) or input_ids.ndim != 2 or input_ids.is_floating_point():
        raise ValueError(
            f"input_ids must be an integer (B, L) tensor, got "
            f"{getattr(input_ids, 'dtype', type(input_ids).__name__)} "
            f"{tuple(getattr(input_ids, 'shape', ()))}"
        )
    if not isinstance(maskable, Tensor) or maskable.shape != input_ids.shape:
        raise ValueError(
            f"maskable must be a bool tensor shaped like input_ids {tuple(input_ids.shape)}, got "
            f"{tuple(getattr(maskable, 'shape', ()))}"
        )
    if not 0.0 < probability < 1.0:
        raise ValueError(f"probability must be in (0, 1), got {probability}")
    if vocab_size < 1 or not 0 <= mask_token_id < vocab_size:
        raise ValueError(
            f"mask_token_id must be in [0, vocab_size={vocab_size}), got {mask_token_id}"
        )

    def uniform() -> Tensor:
        return torch.rand(input_ids.shape, generator=generator).to(input_ids.device)

    selected = maskable.bool() & (uniform() < probability)
    # One uniform draw splits the selected tokens into [MASK] (80%), random (10%) and kept (10%).
    split = uniform()
    to_mask = selected & (split < MASK_FRACTION)
    to_random = selected & (split >= MASK_FRACTION) & (split < MASK_FRACTION + RANDOM_FRACTION)
    random_ids = torch.randint(vocab_size, input_ids.shape, generator=generator).to(input_ids)
    corrupted = torch.where(to_mask, torch.full_like(input_ids, mask_token_id), input_ids)
    corrupted = torch.where(to_random, random_ids, corrupted)
    labels = torch.where(selected, input_ids, torch.full_like(input_ids, IGNORE_INDEX))
    return MaskedTokens(corrupted, labels)


def masked_lm_loss(logits: Tensor, labels: Tensor) -> Tensor:
    r"""Mean cross-entropy over the selected positions, :math:`\mathcal{L}_{\mathrm{mlm}}`.

    Args:
        logits: (B, L, V) vocabulary scores.
        labels: (B, L) target ids, ``-100`` at positions that are not scored.

    Returns:
        A scalar; exactly 0 (still attached to the graph) when no position is selected, where a
        plain ``cross_entropy`` would return NaN.

    Example:
        >>> masked_lm_loss(torch.zeros(1, 2, 5), torch.tensor([[3, -100]]))
        tensor(1.6094)
    """
    if logits.ndim != 3 or labels.shape != logits.shape[:2]:
        raise ValueError(
            f"logits must be (B, L, V) and labels (B, L), got {tuple(logits.shape)} and "
            f"{tuple(labels.shape)}"
        )
    scored = labels != IGNORE_INDEX
    if not bool(scored.any()):
        return logits.sum() * 0.0
    selected = logits[scored]
    # half-precision logits are scored in fp32; fp32/fp64 keep their precision
    if selected.dtype in (torch.float16, torch.bfloat16):
        selected = selected.float()
    return F.cross_entropy(selected, labels[scored])


class MaskedLMHead(nn.Module):
    """BERT's LM prediction head with the decoder tied to the input word embeddings.

    ``logits = LayerNorm(GELU(W h + b)) E^T + c`` with ``E`` the encoder's (V, H) word-embedding
    matrix (shared, not copied) and a fresh dense layer, LayerNorm and bias ``c``.

    Args:
        word_embeddings: the encoder's input embedding layer (``get_input_embeddings()``).
        layer_norm_eps: LayerNorm epsilon (BERT: 1e-12).

    Shapes:
        (B, L, H) hidden states -> (B, L, V) logits.

    Example:
        >>> head = MaskedLMHead(nn.Embedding(50, 8))
        >>> head(torch.randn(2, 3, 8)).shape
        torch.Size([2, 3, 50])
    """

    def __init__(self, word_embeddings: nn.Embedding, *, layer_norm_eps: float = 1e-12) -> None:
        super().__init__()
        if not isinstance(word_embeddings, nn.Embedding):
            raise TypeError(
                f"word_embeddings must be an nn.Embedding, got {type(word_embeddings).__name__}"
            )
        vocab, hidden = word_embeddings.weight.shape
        self.dense = nn.Linear(hidden, hidden)
        self.norm = nn.LayerNorm(hidden, eps=layer_norm_eps)
        self.word_embeddings = word_embeddings
        self.bias = nn.Parameter(torch.zeros(vocab))

    def forward(self, hidden_states: Tensor) -> Tensor:
        """Vocabulary logits of every position."""
        transformed = self.norm(F.gelu(self.dense(hidden_states)))
        return F.linear(transformed, self.word_embeddings.weight, self.bias)


class MaskedLMAuxiliary(nn.Module):
    """The MLM term of SimCSE for a ``SentenceTransformer``: mask, encode, predict, score.

    Args:
        word_embeddings: the encoder's input embedding layer (the head's tied decoder).
        mask_token_id: id of ``[MASK]``.
        special_ids: ids never selected (``[CLS]``, ``[SEP]``, ``[PAD]``, ...).
        probability: selection probability (SimCSE/BERT: 0.15).
        layer_norm_eps: LayerNorm epsilon of the head.

    Example:
        >>> aux = MaskedLMAuxiliary.for_sentence_transformer(model)  # doctest: +SKIP
        >>> loss = aux(model[0], model.preprocess(["A man plays a guitar."]))  # doctest: +SKIP
    """

    def __init__(
        self,
        word_embeddings: nn.Embedding,
        *,
        mask_token_id: int,
        special_ids: Iterable[int],
        probability: float = MLM_PROBABILITY,
        layer_norm_eps: float = 1e-12,
    ) -> None:
        super().__init__()
        if not 0.0 < probability < 1.0:
            raise ValueError(f"probability must be in (0, 1), got {probability}")
        self.head = MaskedLMHead(word_embeddings, layer_norm_eps=layer_norm_eps)
        self.vocab_size = int(word_embeddings.weight.shape[0])
        if not 0 <= mask_token_id < self.vocab_size:
            raise ValueError(
                f"mask_token_id must be in [0, {self.vocab_size}), got {mask_token_id}"
            )
        self.mask_token_id = int(mask_token_id)
        self.special_ids = tuple(int(i) for i in special_ids)
        self.probability = probability

    @classmethod
    def for_sentence_transformer(
        cls, model: Any, *, probability: float = MLM_PROBABILITY
    ) -> MaskedLMAuxiliary:
        """The auxiliary for a ``SentenceTransformer`` whose first module is a transformer."""
        tokenizer = model.tokenizer
        if getattr(tokenizer, "mask_token_id", None) is None:
            raise ValueError("the model's tokenizer has no [MASK] token, so MLM cannot be used")
        auto_model = model[0].auto_model
        return cls(
            auto_model.get_input_embeddings(),
            mask_token_id=tokenizer.mask_token_id,
            special_ids=tokenizer.all_special_ids,
            probability=probability,
            layer_norm_eps=getattr(auto_model.config, "layer_norm_eps", 1e-12),
        )

    def forward(
        self,
        transformer: nn.Module,
        features: dict[str, Any],
        generator: torch.Generator | None = None,
    ) -> Tensor:
        """MLM loss of one tokenised batch run through ``transformer`` (the model's first module).

        Args:
            transformer: maps features to a dict with ``token_embeddings`` (B, L, H).
            features: tokenised batch with ``input_ids`` and ``attention_mask`` (B, L).
            generator: randomness of the masking.
        """
        input_ids = features["input_ids"]
        maskable = maskable_positions(input_ids, features["attention_mask"], self.special_ids)
        masked = mask_tokens(
            input_ids,
            maskable,
            mask_token_id=self.mask_token_id,
            vocab_size=self.vocab_size,
            probability=self.probability,
            generator=generator,
        )
        hidden = transformer({**features, "input_ids": masked.input_ids})
        return masked_lm_loss(self.head(hidden["token_embeddings"]), masked.labels)
