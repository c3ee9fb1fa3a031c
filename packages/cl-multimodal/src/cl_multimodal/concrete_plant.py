r"""ConcretePlant: hard-negative captions made by editing the most concrete word.

Im, Madhwal, Gupta, "Concrete Jungle", arXiv:2604.13313, 2026: editing concrete words gives larger
visual and structural discrepancies, so such negatives carry a stronger training signal. The
abstract gives no algorithm; our reading:

1. Among the caption words that have an editable word class (e.g. colour, shape), pick position
   :math:`k` with probability :math:`\operatorname{softmax}_k(c(w_k) / T)`, where :math:`c` is a
   concreteness score (:mod:`cl_multimodal.concreteness`) and a small :math:`T` favours the most
   concrete word.
2. If another caption word has the same class, swap the two (a compositional edit that keeps the
   bag of words, like ARO's attribute swap); otherwise replace the word by a different word of its
   class.

The concreteness of the edited word is returned with the caption, for Cement's margin
(:mod:`cl_multimodal.cement`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from cl_multimodal.concreteness import ConcretenessScorer
from cl_multimodal.data.shapes import COLORS, SHAPES


@dataclass(frozen=True)
class EditedCaption:
    """A hard-negative caption and the concreteness in [0, 1] of the word that was edited."""

    text: str
    edited_word: str
    concreteness: float


def scene_word_classes() -> dict[str, list[str]]:
    """Editable word classes of the rendered-scene captions: colours and shapes."""
    return {"colour": list(COLORS), "shape": list(SHAPES)}


def concrete_plant_negative(
    caption: str,
    word_classes: Mapping[str, Sequence[str]],
    concreteness: ConcretenessScorer,
    rng: np.random.Generator,
    *,
    temperature: float = 0.05,
) -> EditedCaption:
    """Edit the (probably) most concrete editable word of ``caption``.

    Args:
        caption: space-separated caption.
        word_classes: class name -> its words; words of the same class are swapped or substituted.
        concreteness: scorer of a word in [0, 1].
        rng: random generator of the choice and the substitute.
        temperature: softmax temperature of the choice, > 0 (small: nearly always the most
            concrete word).

    Returns:
        The edited caption, the edited word and its concreteness.

    Raises:
        ValueError: if no caption word belongs to a class with an alternative word.

    Example:
        >>> scores = {"red": 0.4, "blue": 0.4, "circle": 0.9, "square": 0.9}.get
        >>> classes = {"colour": ["red", "blue"], "shape": ["circle", "square"]}
        >>> concrete_plant_negative(
        ...     "a red circle left of a blue square", classes, scores, np.random.default_rng(0)
        ... ).text
        'a red square left of a blue circle'
    """
    if not temperature > 0:
        raise ValueError(f"temperature must be > 0, got {temperature}")
    class_of = {word: name for name, words in word_classes.items() for word in words}
    words = caption.split()
    editable = [
        i
        for i, word in enumerate(words)
        if word in class_of and len(word_classes[class_of[word]]) > 1
    ]
    if not editable:
        raise ValueError(
            f"caption {caption!r} has no word of an editable class ({', '.join(word_classes)})"
        )
    scores = np.asarray([float(concreteness(words[i])) for i in editable])
    if ((scores < 0) | (scores > 1)).any():
        raise ValueError(f"concreteness scores must lie in [0, 1], got {scores.tolist()}")
    logits = (scores - scores.max()) / temperature
    chosen = int(rng.choice(len(editable), p=np.exp(logits) / np.exp(logits).sum()))
    position, word = editable[chosen], words[editable[chosen]]
    partners = [i for i in editable if class_of[words[i]] == class_of[word] and words[i] != word]
    edited = list(words)
    if partners:
        partner = partners[int(rng.integers(len(partners)))]
        edited[position], edited[partner] = words[partner], word
    else:
        alternatives = [w for w in word_classes[class_of[word]] if w != word]
        edited[position] = alternatives[int(rng.integers(len(alternatives)))]
    return EditedCaption(" ".join(edited), word, float(scores[chosen]))
