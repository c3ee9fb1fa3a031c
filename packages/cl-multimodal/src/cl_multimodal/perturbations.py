"""Caption perturbations for hard negatives and ARO-style evaluation.

Following the ARO benchmark (Yuksekgonul et al., ICLR 2023, arXiv:2210.01936,
``dataset_zoo/perturbations.py``): VG-Relation swaps the two related objects, VG-Attribution swaps
the attributes of two objects, and COCO/Flickr-Order scores a caption against four re-orderings:
shuffle nouns and adjectives; shuffle all other words; shuffle words within trigrams; shuffle the
trigrams. Part-of-speech sets are passed in (the scene vocabulary knows them; no tagger needed).
"""

from __future__ import annotations

from collections.abc import Callable, Collection

import numpy as np

from cl_multimodal.data.shapes import COLORS, SHAPES, Scene

#: Adjectives and nouns of the rendered-scene captions.
SCENE_ADJECTIVES = frozenset(COLORS)
SCENE_NOUNS = frozenset(SHAPES)


def _shuffled_positions(
    words: list[str], positions: list[int], rng: np.random.Generator
) -> list[str]:
    out = list(words)
    for target, source in zip(positions, rng.permutation(positions), strict=True):
        out[target] = words[source]
    return out


def shuffle_nouns_and_adjectives(
    caption: str,
    rng: np.random.Generator,
    adjectives: Collection[str] = SCENE_ADJECTIVES,
    nouns: Collection[str] = SCENE_NOUNS,
) -> str:
    """Permute the nouns and adjectives among their own positions; other words stay."""
    words = caption.split()
    positions = [i for i, w in enumerate(words) if w in adjectives or w in nouns]
    return " ".join(_shuffled_positions(words, positions, rng))


def shuffle_all_but_nouns_and_adjectives(
    caption: str,
    rng: np.random.Generator,
    adjectives: Collection[str] = SCENE_ADJECTIVES,
    nouns: Collection[str] = SCENE_NOUNS,
) -> str:
    """Permute every word that is neither a noun nor an adjective."""
    words = caption.split()
    positions = [i for i, w in enumerate(words) if w not in adjectives and w not in nouns]
    return " ".join(_shuffled_positions(words, positions, rng))


def shuffle_within_trigrams(caption: str, rng: np.random.Generator) -> str:
    """Permute the words inside each consecutive trigram."""
    words = caption.split()
    trigrams = [words[i : i + 3] for i in range(0, len(words), 3)]
    return " ".join(w for tri in trigrams for w in (tri[i] for i in rng.permutation(len(tri))))


def shuffle_trigrams(caption: str, rng: np.random.Generator) -> str:
    """Permute the order of the consecutive trigrams."""
    words = caption.split()
    trigrams = [words[i : i + 3] for i in range(0, len(words), 3)]
    return " ".join(w for i in rng.permutation(len(trigrams)) for w in trigrams[i])


ORDER_PERTURBATIONS: tuple[Callable[[str, np.random.Generator], str], ...] = (
    shuffle_nouns_and_adjectives,
    shuffle_all_but_nouns_and_adjectives,
    shuffle_within_trigrams,
    shuffle_trigrams,
)


def _changed(
    caption: str, perturb: Callable[[str, np.random.Generator], str], rng, tries: int = 10
) -> str:
    """Apply ``perturb`` until the caption changes (at most ``tries`` times)."""
    out = caption
    for _ in range(tries):
        out = perturb(caption, rng)
        if out != caption:
            break
    return out


def scene_hard_negative(scene: Scene, rng: np.random.Generator) -> str:
    """A NegCLIP-style hard negative of a scene caption: with equal probability the objects
    swapped (relation), the colours swapped (attribute) or a random word-order perturbation."""
    kind = rng.integers(3)
    if kind == 0:
        return scene.swapped_relation().caption()
    if kind == 1:
        return scene.swapped_attributes().caption()
    perturb = ORDER_PERTURBATIONS[rng.integers(len(ORDER_PERTURBATIONS))]
    return _changed(scene.caption(), perturb, rng)


def order_alternatives(caption: str, rng: np.random.Generator) -> list[str]:
    """The four ARO order perturbations of ``caption`` (each forced to differ when possible)."""
    return [_changed(caption, perturb, rng) for perturb in ORDER_PERTURBATIONS]
