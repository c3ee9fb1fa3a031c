"""A folder of image-caption pairs, for ``cl-train multimodal --data PATH``.

Two layouts are read:

- ``NAME.png`` (or ``.jpg``, ``.jpeg``, ``.bmp``, ``.webp``) next to ``NAME.txt`` holding its
  caption (first non-empty line);
- images plus ``captions.csv`` with the header ``image,caption`` and an optional third column
  ``label`` (a class name), image paths relative to the folder.

Images are converted to RGB and resized to ``image_size`` x ``image_size``. Every problem is
reported as a :class:`ValueError` naming the file (and line).
"""

from __future__ import annotations

import csv
import os
from pathlib import Path

import numpy as np

from cl_multimodal.data.pairs import ImageCaptionPairs

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".webp")
CAPTIONS_CSV = "captions.csv"


def _read_image(path: Path, image_size: int, where: str) -> np.ndarray:
    from PIL import Image, UnidentifiedImageError

    if not path.is_file():
        raise ValueError(f"{where}: image file {path} does not exist")
    try:
        with Image.open(path) as image:
            rgb = image.convert("RGB").resize((image_size, image_size))
            return np.asarray(rgb)
    except (UnidentifiedImageError, OSError) as error:
        raise ValueError(f"{path}: not a readable image ({type(error).__name__})") from None


def _pairs_from_csv(csv_path: Path, image_size: int) -> tuple[list, list[str], list[str]]:
    images, captions, labels = [], [], []
    try:
        with csv_path.open(newline="", encoding="utf-8") as handle:
            reader = csv.reader(handle)
            header = next(reader, None)
            if header is None or [h.strip() for h in header[:2]] != ["image", "caption"]:
                raise ValueError(
                    f"{csv_path}:1: expected the header 'image,caption[,label]', got {header}"
                )
            has_label = len(header) > 2 and header[2].strip() == "label"
            for row in reader:
                line = reader.line_num
                if not row or not any(cell.strip() for cell in row):
                    continue
                if len(row) < 2 or not row[0].strip() or not row[1].strip():
                    raise ValueError(f"{csv_path}:{line}: expected 'image,caption', got {row}")
                where = f"{csv_path}:{line}"
                images.append(_read_image(csv_path.parent / row[0].strip(), image_size, where))
                captions.append(row[1].strip())
                if has_label:
                    if len(row) < 3 or not row[2].strip():
                        raise ValueError(f"{csv_path}:{line}: missing the label column")
                    labels.append(row[2].strip())
    except UnicodeDecodeError:
        raise ValueError(f"{csv_path}: not UTF-8 text") from None
    return images, captions, labels


def _pairs_from_files(folder: Path, image_size: int) -> tuple[list, list[str], list[str]]:
    images, captions = [], []
    for image_path in sorted(p for p in folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES):
        caption_path = image_path.with_suffix(".txt")
        if not caption_path.is_file():
            raise ValueError(f"{image_path}: no caption file {caption_path.name} next to it")
        try:
            lines = [ln.strip() for ln in caption_path.read_text(encoding="utf-8").splitlines()]
        except UnicodeDecodeError:
            raise ValueError(f"{caption_path}: not UTF-8 text") from None
        caption = next((ln for ln in lines if ln), "")
        if not caption:
            raise ValueError(f"{caption_path}: the caption file is empty")
        images.append(_read_image(image_path, image_size, str(caption_path)))
        captions.append(caption)
    return images, captions, []


def load_caption_folder(
    folder: str | os.PathLike[str], *, image_size: int = 64
) -> ImageCaptionPairs:
    """Load a folder of image-caption pairs (see the module docstring for the layouts).

    Args:
        folder: the folder.
        image_size: side of the square images after resizing.

    Returns:
        :class:`ImageCaptionPairs`; labels index the sorted class names of a ``label`` column
        (otherwise -1); each pair is its own split group.

    Raises:
        ValueError: the folder is missing or holds fewer than 2 pairs, or a file is malformed
            (the message names the file and line).
    """
    root = Path(folder)
    if not root.is_dir():
        raise ValueError(f"{root}: not a folder of image-caption pairs")
    if image_size < 8:
        raise ValueError(f"image_size must be >= 8, got {image_size}")
    csv_path = root / CAPTIONS_CSV
    if csv_path.is_file():
        images, captions, labels = _pairs_from_csv(csv_path, image_size)
    else:
        images, captions, labels = _pairs_from_files(root, image_size)
    if len(captions) < 2:
        raise ValueError(
            f"{root}: found {len(captions)} image-caption pairs, need at least 2 "
            f"(NAME.png + NAME.txt files, or {CAPTIONS_CSV} with header image,caption)"
        )
    names = tuple(sorted(set(labels)))
    label_ids = [names.index(label) for label in labels] if labels else [-1] * len(captions)
    return ImageCaptionPairs(
        images=np.stack(images),
        captions=tuple(captions),
        labels=np.asarray(label_ids, dtype=np.int64),
        label_names=names,
        groups=np.arange(len(captions), dtype=np.int64),
        card=f"User data: image-caption pairs from {root}.",
    )
