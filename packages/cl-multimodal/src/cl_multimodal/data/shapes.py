"""Synthesized scenes of two coloured shapes with captions, for compositional (ARO-style) tests.

Each scene holds two objects with different (colour, shape) and a spatial relation, rendered with
PIL on a white canvas with random jitter in position and size, and captioned
``"a red circle left of a blue square"``. The data is synthesized by this project, not real.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from cl_multimodal.data.pairs import ImageCaptionPairs

COLORS: dict[str, tuple[int, int, int]] = {
    "red": (220, 40, 40),
    "green": (40, 170, 60),
    "blue": (40, 80, 220),
    "yellow": (235, 200, 30),
    "purple": (150, 60, 190),
}
SHAPES = ("circle", "square", "triangle", "diamond")
#: Only relations without a converse in the list, so each image has exactly one true caption.
RELATIONS = ("left of", "above")

CARD = (
    "Synthesized: two coloured shapes rendered with PIL (5 colours x 4 shapes x 2 relations, "
    "random jitter); captions such as 'a red circle left of a blue square'."
)


@dataclass(frozen=True)
class ShapeObject:
    """One coloured shape."""

    color: str
    shape: str

    def phrase(self) -> str:
        """``"a red circle"``."""
        return f"a {self.color} {self.shape}"


@dataclass(frozen=True)
class Scene:
    """``first`` stands in ``relation`` to ``second`` (e.g. first left of second)."""

    first: ShapeObject
    relation: str
    second: ShapeObject

    def __post_init__(self) -> None:
        if self.relation not in RELATIONS:
            raise ValueError(f"relation must be one of {RELATIONS}, got {self.relation!r}")
        for obj in (self.first, self.second):
            if obj.color not in COLORS or obj.shape not in SHAPES:
                raise ValueError(
                    f"objects need a colour in {tuple(COLORS)} and a shape in {SHAPES}, got {obj}"
                )

    def caption(self) -> str:
        """``"a red circle left of a blue square"``."""
        return f"{self.first.phrase()} {self.relation} {self.second.phrase()}"

    def swapped_relation(self) -> Scene:
        """The two objects exchanged (VG-Relation's perturbation): a different true scene."""
        return Scene(self.second, self.relation, self.first)

    def swapped_attributes(self) -> Scene:
        """The two colours exchanged (VG-Attribution's perturbation)."""
        return Scene(
            ShapeObject(self.second.color, self.first.shape),
            self.relation,
            ShapeObject(self.first.color, self.second.shape),
        )


def _draw_shape(draw, shape: str, center: tuple[float, float], radius: float, fill) -> None:
    x, y = center
    if shape == "circle":
        draw.ellipse((x - radius, y - radius, x + radius, y + radius), fill=fill)
    elif shape == "square":
        side = radius * 0.9
        draw.rectangle((x - side, y - side, x + side, y + side), fill=fill)
    elif shape == "triangle":
        draw.polygon(
            [(x, y - radius), (x - radius, y + radius), (x + radius, y + radius)], fill=fill
        )
    else:
        draw.polygon(
            [(x, y - radius), (x + radius, y), (x, y + radius), (x - radius, y)], fill=fill
        )


def render_scene(scene: Scene, rng: np.random.Generator, size: int = 64) -> np.ndarray:
    """Render ``scene`` as a uint8 (size, size, 3) RGB array with random jitter.

    Example:
        >>> scene = Scene(ShapeObject("red", "circle"), "left of", ShapeObject("blue", "square"))
        >>> render_scene(scene, np.random.default_rng(0)).shape
        (64, 64, 3)
    """
    from PIL import Image, ImageDraw

    if size < 16:
        raise ValueError(f"size must be >= 16 pixels, got {size}")
    image = Image.new("RGB", (size, size), (255, 255, 255))
    draw = ImageDraw.Draw(image)
    along = rng.uniform(0.22, 0.3) * size, rng.uniform(0.7, 0.78) * size
    across = rng.uniform(0.3, 0.7, size=2) * size
    for index, obj in enumerate((scene.first, scene.second)):
        center = (along[index], across[index])
        if scene.relation == "above":
            center = center[::-1]
        radius = rng.uniform(0.12, 0.18) * size
        _draw_shape(draw, obj.shape, center, radius, COLORS[obj.color])
    return np.asarray(image)


def all_objects() -> tuple[ShapeObject, ...]:
    """Every (colour, shape) object."""
    return tuple(ShapeObject(color, shape) for color in COLORS for shape in SHAPES)


def random_scenes(count: int, rng: np.random.Generator) -> list[Scene]:
    """``count`` scenes with two objects of different colour and different shape."""
    objects = all_objects()
    scenes = []
    while len(scenes) < count:
        first, second = (objects[i] for i in rng.choice(len(objects), size=2, replace=False))
        if first.color != second.color and first.shape != second.shape:
            scenes.append(Scene(first, RELATIONS[rng.integers(len(RELATIONS))], second))
    return scenes


def shape_scene_pairs(
    count: int, *, seed: int = 0, size: int = 64
) -> tuple[ImageCaptionPairs, list[Scene]]:
    """Render ``count`` random scenes as image-caption pairs.

    Labels index the relation; groups identify the caption, so a grouped split holds out whole
    colour-shape-relation combinations.

    Args:
        count: number of scenes, >= 1.
        seed: random seed of scene choice and jitter.
        size: image side in pixels.

    Returns:
        The pairs and the scenes they show (same order).
    """
    if count < 1:
        raise ValueError(f"count must be >= 1, got {count}")
    rng = np.random.default_rng(seed)
    scenes = random_scenes(count, rng)
    captions = tuple(scene.caption() for scene in scenes)
    caption_ids = {caption: i for i, caption in enumerate(sorted(set(captions)))}
    pairs = ImageCaptionPairs(
        images=np.stack([render_scene(scene, rng, size) for scene in scenes]),
        captions=captions,
        labels=np.asarray([RELATIONS.index(scene.relation) for scene in scenes], dtype=np.int64),
        label_names=RELATIONS,
        groups=np.asarray([caption_ids[c] for c in captions], dtype=np.int64),
        card=CARD,
    )
    return pairs, scenes
