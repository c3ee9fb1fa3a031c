"""The Google emoji images of the npm package ``emoji-datasource-google`` as image-caption pairs.

3,786 real 64x64 PNG images (1,911 emoji plus 1,875 skin-tone variants), each with its Unicode name,
short names and one of 10 categories, read from ``emoji.json`` and ``img/google/64/`` of the package
(https://github.com/iamcal/emoji-data, MIT licence; images Apache 2.0). Caption: "an emoji of
<name>", with the skin tone appended for variants. The package comes from the source chain
(:mod:`cl_core.datasets.sources`, requirement ``"emoji"``): ``$CL_NPM_PREFIX``, the default prefix
(``npm install --prefix ~/.cache/contrastive/npm emoji-datasource-google@16``), a ``--data-dir`` /
``$CL_DATA_DIR`` folder, the cache, or the npm registry's tarball (sha512-verified).
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np

from cl_core.datasets.sources import DataUnavailableError, resolve_dataset
from cl_multimodal.data.pairs import ImageCaptionPairs

PACKAGE = "emoji-datasource-google"
DEFAULT_PREFIX = Path("~/.cache/contrastive/npm")
PREFIX_ENV = "CL_NPM_PREFIX"

SKIN_TONES = {
    "1F3FB": "light skin tone",
    "1F3FC": "medium-light skin tone",
    "1F3FD": "medium skin tone",
    "1F3FE": "medium-dark skin tone",
    "1F3FF": "dark skin tone",
}

CARD = (
    "Real: Google emoji images (64x64) with Unicode names and 10 categories from the npm package "
    "emoji-datasource-google (MIT; images Apache 2.0)."
)


class EmojiDataMissingError(DataUnavailableError, FileNotFoundError):
    """The npm package is not where we looked; the message says how to install it."""


def emoji_package_dir(
    prefix: str | os.PathLike[str] | None = None, *, data_dir: str | os.PathLike[str] | None = None
) -> Path:
    """The folder of the npm package.

    Args:
        prefix: an npm prefix (holding ``node_modules/emoji-datasource-google``) or the package
            folder itself; default: the source chain (``$CL_NPM_PREFIX``, the default prefix,
            ``$CL_DATA_DIR``, the cache, then the npm registry's tarball).
        data_dir: the ``--data-dir`` folder searched by the source chain.

    Raises:
        EmojiDataMissingError: ``emoji.json`` is not under ``prefix``.
        DataUnavailableError: without ``prefix``, the package is nowhere and cannot be downloaded.
    """
    if prefix is None:
        return resolve_dataset("emoji", data_dir)
    base = Path(prefix).expanduser()
    for candidate in (base, base / "node_modules" / PACKAGE):
        if (candidate / "emoji.json").is_file():
            return candidate
    raise EmojiDataMissingError(
        f"no {PACKAGE}/emoji.json under {base}; install it with "
        f"`npm install --prefix {base} {PACKAGE}` or set ${PREFIX_ENV} to its npm prefix"
    )


def emoji_caption(name: str) -> str:
    """``"an emoji of <name>"`` with the name in lower case."""
    return f"an emoji of {name.lower()}"


def _variant_name(name: str, tones: str) -> str:
    words = [SKIN_TONES[code] for code in tones.split("-") if code in SKIN_TONES]
    return f"{name}: {', '.join(words)}" if words else name


def _read_rgb(path: Path) -> np.ndarray:
    from PIL import Image

    with Image.open(path) as image:
        rgba = image.convert("RGBA")
        # Transparent pixels become white so every image shares one background.
        background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return np.asarray(Image.alpha_composite(background, rgba).convert("RGB"))


def load_emoji(
    prefix: str | os.PathLike[str] | None = None,
    *,
    include_skin_tones: bool = True,
    limit: int | None = None,
    data_dir: str | os.PathLike[str] | None = None,
) -> ImageCaptionPairs:
    """Load the emoji images with captions, category labels and base-emoji groups.

    Args:
        prefix: see :func:`emoji_package_dir`.
        include_skin_tones: also load the skin-tone variants (grouped with their base emoji).
        limit: keep only ``limit`` base emoji (with their variants), evenly spaced over the sort
            order so that every category is represented, for quick runs.
        data_dir: the ``--data-dir`` folder searched by the source chain.

    Returns:
        :class:`ImageCaptionPairs` with (N, 64, 64, 3) images; labels index the categories
        in sorted order.

    Raises:
        EmojiDataMissingError: the package is missing under ``prefix``.
        DataUnavailableError: without ``prefix``, the package is nowhere and not downloadable.
        ValueError: ``emoji.json`` is malformed or names a missing image.

    Example:
        >>> pairs = load_emoji(limit=5)  # doctest: +SKIP
        >>> pairs.captions[0]  # doctest: +SKIP
        'an emoji of hash key'
    """
    if limit is not None and limit < 1:
        raise ValueError(f"limit must be >= 1 or None, got {limit}")
    root = emoji_package_dir(prefix, data_dir=data_dir)
    index_file = root / "emoji.json"
    try:
        entries = json.loads(index_file.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise ValueError(f"{index_file}: not valid JSON ({error})") from None
    if not isinstance(entries, list):
        raise ValueError(
            f"{index_file}: expected a JSON list of emoji, got {type(entries).__name__}"
        )
    entries = sorted(entries, key=lambda entry: entry.get("sort_order", 0))
    if limit is not None and limit < len(entries):
        entries = [entries[i] for i in np.linspace(0, len(entries) - 1, limit).round().astype(int)]
    image_dir = root / "img" / "google" / "64"
    categories = sorted({entry["category"] for entry in entries})
    images, captions, labels, groups = [], [], [], []
    for group, entry in enumerate(entries):
        try:
            name, category, image = entry["name"], entry["category"], entry["image"]
        except KeyError as missing:
            raise ValueError(f"{index_file}: emoji #{group} has no field {missing}") from None
        files = [(name, image)]
        if include_skin_tones:
            for tones, variant in (entry.get("skin_variations") or {}).items():
                files.append((_variant_name(name, tones), variant["image"]))
        for caption_name, file_name in files:
            path = image_dir / file_name
            if not path.is_file():
                raise ValueError(f"{index_file}: emoji {caption_name!r} names missing image {path}")
            images.append(_read_rgb(path))
            captions.append(emoji_caption(caption_name))
            labels.append(categories.index(category))
            groups.append(group)
    return ImageCaptionPairs(
        images=np.stack(images),
        captions=tuple(captions),
        labels=np.asarray(labels, dtype=np.int64),
        label_names=tuple(categories),
        groups=np.asarray(groups, dtype=np.int64),
        card=CARD,
    )
