"""Build towers by name (``bow``, ``gru``, ``minilm``; ``cnn``, ``efficientnet``).

Import-light (no torch at module level), so the command line can list the names.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from torch import nn

TEXT_TOWERS = ("bow", "gru", "minilm")
IMAGE_TOWERS = ("cnn", "efficientnet")


def build_text_tower(
    name: str,
    captions: Sequence[str],
    out_dim: int = 128,
    *,
    cache_file: str | os.PathLike[str] | None = None,
) -> nn.Module:
    """A text tower; ``captions`` build the word vocabulary of ``bow`` and ``gru``; ``minilm`` is
    the frozen packaged MiniLM (features cached in ``cache_file`` when given) plus a projection."""
    from cl_multimodal.towers.text_small import BagOfWordsTextTower, GRUTextTower
    from cl_multimodal.towers.vocabulary import WordVocabulary

    if name == "bow":
        return BagOfWordsTextTower(WordVocabulary.build(captions), out_dim)
    if name == "gru":
        return GRUTextTower(WordVocabulary.build(captions), out_dim)
    if name == "minilm":
        from cl_multimodal.towers.minilm import MiniLMTextTower

        return MiniLMTextTower(out_dim, freeze=True, cache_file=cache_file)
    raise ValueError(f"text tower must be one of {TEXT_TOWERS}, got {name!r}")


def build_image_tower(name: str, out_dim: int = 128) -> nn.Module:
    """``cnn`` (small trainable CNN) or ``efficientnet`` (frozen ImageNet EfficientNet-Lite0)."""
    from cl_multimodal.towers.image import EfficientNetLite0ImageTower, SmallCNNImageTower

    if name == "cnn":
        return SmallCNNImageTower(out_dim)
    if name == "efficientnet":
        return EfficientNetLite0ImageTower(out_dim, freeze=True)
    raise ValueError(f"image tower must be one of {IMAGE_TOWERS}, got {name!r}")
