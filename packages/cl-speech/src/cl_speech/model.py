"""The seq2seq SLU model: log-mel features -> transformer audio encoder -> transformer text decoder.

A small version of the encoder-decoder transformer of the COCONUT paper (Cappellazzo et al.,
Findings of ACL 2024, arXiv:2310.02699): three strided 1-d convolutions subsample the log-mel
frames 8x, a transformer encoder contextualises them, and a transformer decoder emits the intent
token followed by the transcript words (:mod:`cl_speech.vocabulary`). For the contrastive losses the
model also gives a mean-pooled, projected audio embedding and a projected text embedding of the
transcript (the mean of the decoder's word embeddings).

Example:
    >>> import torch
    >>> model = SpokenLanguageModel(vocab_size=30, n_mels=40, dim=32, heads=2, layers=1)
    >>> features, lengths = torch.randn(2, 100, 40), torch.tensor([100, 80])
    >>> tokens = torch.randint(4, 30, (2, 6))
    >>> model(features, lengths, tokens).shape
    torch.Size([2, 6, 30])
"""

from __future__ import annotations

import math

import torch
from torch import Tensor, nn

from cl_core.heads import ProjectionMLP
from cl_speech.vocabulary import BOS, EOS, PAD

MAX_TOKENS = 64


def _sinusoids(length: int, dim: int) -> Tensor:
    position = torch.arange(length, dtype=torch.float32)[:, None]
    frequency = torch.exp(torch.arange(0, dim, 2, dtype=torch.float32) * (-math.log(1e4) / dim))
    table = torch.zeros(length, dim)
    table[:, 0::2] = torch.sin(position * frequency)
    table[:, 1::2] = torch.cos(position * frequency[: dim // 2])
    return table


class AudioEncoder(nn.Module):
    """Conv subsampling + sinusoidal positions + pre-norm transformer encoder.

    ``conv_layers`` stride-2 convolutions (default 3: 10 ms log-mel frames become 80 ms steps)
    keep the transformer short enough to train on a CPU.

    Args:
        n_mels: input features per frame.
        dim: model width (even, divisible by ``heads``).
        heads: attention heads.
        layers: transformer layers.
        dropout: dropout inside the transformer.
        conv_layers: stride-2 convolutions, >= 1; time is subsampled by ``2 ** conv_layers``.

    Shapes:
        features (B, T, n_mels), lengths (B,) -> states (B, T', dim), padding mask (B, T')
        (True = padding), with T' = ceil(T / 2 ** conv_layers).

    Example:
        >>> encoder = AudioEncoder(13, 32, 2, 1, 0.0, conv_layers=1)
        >>> states, padding = encoder(torch.randn(2, 20, 13), torch.tensor([20, 9]))
        >>> states.shape, padding.sum(1).tolist()
        (torch.Size([2, 10, 32]), [0, 5])
    """

    def __init__(
        self,
        n_mels: int,
        dim: int,
        heads: int,
        layers: int,
        dropout: float,
        *,
        conv_layers: int = 3,
    ) -> None:
        super().__init__()
        if conv_layers < 1:
            raise ValueError(f"conv_layers must be >= 1, got {conv_layers}")
        if dim % heads or dim % 2:
            raise ValueError(f"dim must be even and divisible by heads={heads}, got {dim}")
        convs: list[nn.Module] = []
        for layer_index in range(conv_layers):
            width = n_mels if layer_index == 0 else dim
            convs += [nn.Conv1d(width, dim, kernel_size=3, stride=2, padding=1), nn.GELU()]
        self.subsample = nn.Sequential(*convs)
        self.conv_layers = conv_layers
        layer = nn.TransformerEncoderLayer(
            dim, heads, 2 * dim, dropout, activation="gelu", batch_first=True, norm_first=True
        )
        self.transformer = nn.TransformerEncoder(layer, layers, enable_nested_tensor=False)
        self.norm = nn.LayerNorm(dim)

    def forward(self, features: Tensor, lengths: Tensor) -> tuple[Tensor, Tensor]:
        """Encoder states and their padding mask."""
        states = self.subsample(features.transpose(1, 2)).transpose(1, 2)
        sub_lengths = lengths
        for _ in range(self.conv_layers):
            sub_lengths = torch.div(sub_lengths + 1, 2, rounding_mode="floor")
        padding = torch.arange(states.shape[1], device=states.device)[None] >= sub_lengths[:, None]
        states = states + _sinusoids(states.shape[1], states.shape[2]).to(states)
        return self.norm(self.transformer(states, src_key_padding_mask=padding)), padding


class TextDecoder(nn.Module):
    """Word embeddings + learned positions + pre-norm transformer decoder + output layer.

    Shapes:
        tokens (B, L), memory (B, T', dim), memory padding (B, T') -> logits (B, L, vocab_size).
    """

    def __init__(self, vocab_size: int, dim: int, heads: int, layers: int, dropout: float) -> None:
        super().__init__()
        self.embedding = nn.Embedding(vocab_size, dim, padding_idx=PAD)
        self.positions = nn.Embedding(MAX_TOKENS, dim)
        layer = nn.TransformerDecoderLayer(
            dim, heads, 2 * dim, dropout, activation="gelu", batch_first=True, norm_first=True
        )
        self.transformer = nn.TransformerDecoder(layer, layers)
        self.norm = nn.LayerNorm(dim)
        self.output = nn.Linear(dim, vocab_size)

    def forward(self, tokens: Tensor, memory: Tensor, memory_padding: Tensor) -> Tensor:
        """Next-token logits at every position (causal)."""
        length = tokens.shape[1]
        positions = torch.arange(length, device=tokens.device)
        hidden = self.embedding(tokens) + self.positions(positions)[None]
        causal = torch.ones(length, length, dtype=torch.bool, device=tokens.device).triu(1)
        hidden = self.transformer(
            hidden,
            memory,
            tgt_mask=causal,
            tgt_is_causal=True,
            tgt_key_padding_mask=tokens == PAD,
            memory_key_padding_mask=memory_padding,
        )
        return self.output(self.norm(hidden))


class SpokenLanguageModel(nn.Module):
    """Audio encoder + text decoder + projection heads for the contrastive losses.

    Args:
        vocab_size: decoder vocabulary size (:class:`~cl_speech.vocabulary.Vocabulary`).
        n_mels: log-mel bins of the input.
        dim: model width.
        heads: attention heads.
        layers: encoder layers (the decoder has ``max(1, layers // 2)``).
        projection_dim: width of the contrastive embeddings.
        dropout: dropout inside the transformers.
    """

    def __init__(
        self,
        vocab_size: int,
        n_mels: int = 40,
        dim: int = 96,
        heads: int = 4,
        layers: int = 2,
        projection_dim: int = 64,
        dropout: float = 0.1,
    ) -> None:
        super().__init__()
        for value, name in ((vocab_size, "vocab_size"), (n_mels, "n_mels"), (layers, "layers")):
            if value < 1:
                raise ValueError(f"{name} must be >= 1, got {value}")
        if dim % heads or dim % 2:
            raise ValueError(f"dim must be even and divisible by heads={heads}, got {dim}")
        self.encoder = AudioEncoder(n_mels, dim, heads, layers, dropout)
        self.decoder = TextDecoder(vocab_size, dim, heads, max(1, layers // 2), dropout)
        self.audio_projection = ProjectionMLP(dim, projection_dim, num_layers=2, norm="none")
        self.text_projection = ProjectionMLP(dim, projection_dim, num_layers=2, norm="none")

    def forward(self, features: Tensor, lengths: Tensor, decoder_input: Tensor) -> Tensor:
        """Teacher-forced next-token logits, shape (B, L, vocab_size)."""
        memory, padding = self.encoder(features, lengths)
        return self.decoder(decoder_input, memory, padding)

    def encode(self, features: Tensor, lengths: Tensor) -> tuple[Tensor, Tensor]:
        """Encoder states (B, T', dim) and padding mask (B, T')."""
        return self.encoder(features, lengths)

    def audio_embedding(self, memory: Tensor, padding: Tensor) -> Tensor:
        """Projected mean of the non-padding encoder states, shape (B, projection_dim)."""
        keep = (~padding).unsqueeze(-1).to(memory.dtype)
        pooled = (memory * keep).sum(1) / keep.sum(1).clamp_min(1.0)
        return self.audio_projection(pooled)

    def text_embedding(self, word_tokens: Tensor) -> Tensor:
        """Projected mean of the decoder's embeddings of the transcript words (PAD ignored).

        Shapes:
            word_tokens (B, L) -> (B, projection_dim).
        """
        keep = (word_tokens != PAD).unsqueeze(-1).float()
        pooled = (self.decoder.embedding(word_tokens) * keep).sum(1) / keep.sum(1).clamp_min(1.0)
        return self.text_projection(pooled)

    @torch.no_grad()
    def greedy_decode(self, features: Tensor, lengths: Tensor, max_tokens: int = 16) -> Tensor:
        """Greedy decoding from ``<bos>``; returns (B, <= max_tokens) token ids after ``<bos>``."""
        memory, padding = self.encoder(features, lengths)
        tokens = torch.full((features.shape[0], 1), BOS, dtype=torch.long, device=features.device)
        finished = torch.zeros(features.shape[0], dtype=torch.bool, device=features.device)
        for _ in range(min(max_tokens, MAX_TOKENS - 1)):
            next_token = self.decoder(tokens, memory, padding)[:, -1].argmax(-1)
            next_token = torch.where(finished, torch.full_like(next_token, EOS), next_token)
            tokens = torch.cat((tokens, next_token[:, None]), dim=1)
            finished |= next_token == EOS
            if finished.all():
                break
        return tokens[:, 1:]
