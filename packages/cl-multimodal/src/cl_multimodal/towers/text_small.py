"""Small trainable text towers for fast experiments: bag of words and a bidirectional GRU.

The bag-of-words tower is order-blind by construction (the "bag of words" behaviour ARO exposes in
CLIP; Yuksekgonul et al., ICLR 2023, arXiv:2210.01936); the GRU tower can learn word order.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor, nn

from cl_multimodal.towers.vocabulary import WordVocabulary


class BagOfWordsTextTower(nn.Module):
    """Mean of learned word embeddings, then a linear layer: ``(texts) -> (B, out_dim)``.

    Example:
        >>> tower = BagOfWordsTextTower(WordVocabulary.build(["a red circle"]), out_dim=8)
        >>> tower(["a red circle", "a circle red"]).shape
        torch.Size([2, 8])
    """

    def __init__(
        self, vocabulary: WordVocabulary, out_dim: int = 128, embed_dim: int = 128
    ) -> None:
        super().__init__()
        if out_dim < 1 or embed_dim < 1:
            raise ValueError(f"out_dim and embed_dim must be >= 1, got {out_dim}, {embed_dim}")
        self.vocabulary = vocabulary
        self.embedding = nn.EmbeddingBag(len(vocabulary), embed_dim, mode="mean", padding_idx=0)
        self.output = nn.Linear(embed_dim, out_dim)
        self.out_dim = out_dim

    def forward(self, texts: Sequence[str]) -> Tensor:
        ids, _ = self.vocabulary.encode(texts)
        return self.output(self.embedding(ids.to(self.output.weight.device)))


class GRUTextTower(nn.Module):
    """Bidirectional GRU over word embeddings; the final states of both directions, then a linear
    layer: ``(texts) -> (B, out_dim)``.

    Example:
        >>> tower = GRUTextTower(WordVocabulary.build(["a red circle"]), out_dim=8)
        >>> tower(["a red circle", "a circle"]).shape
        torch.Size([2, 8])
    """

    def __init__(
        self,
        vocabulary: WordVocabulary,
        out_dim: int = 128,
        embed_dim: int = 64,
        hidden_dim: int = 128,
    ) -> None:
        super().__init__()
        if min(out_dim, embed_dim, hidden_dim) < 1:
            raise ValueError(
                f"out_dim, embed_dim and hidden_dim must be >= 1, got {out_dim}, {embed_dim}, "
                f"{hidden_dim}"
            )
        self.vocabulary = vocabulary
        self.embedding = nn.Embedding(len(vocabulary), embed_dim, padding_idx=0)
        self.gru = nn.GRU(embed_dim, hidden_dim, batch_first=True, bidirectional=True)
        self.output = nn.Linear(2 * hidden_dim, out_dim)
        self.out_dim = out_dim

    def forward(self, texts: Sequence[str]) -> Tensor:
        ids, lengths = self.vocabulary.encode(texts)
        embedded = self.embedding(ids.to(self.output.weight.device))
        packed = nn.utils.rnn.pack_padded_sequence(
            embedded, lengths, batch_first=True, enforce_sorted=False
        )
        _, final = self.gru(packed)
        return self.output(torch.cat([final[0], final[1]], dim=-1))
