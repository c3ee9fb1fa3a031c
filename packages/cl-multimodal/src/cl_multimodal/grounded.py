r"""Is a text tower's word space visually grounded? Category clusters and visual neighbours.

After cross-modal (CLIP) training, the text tower alone should place words the way their images
are placed: words of one category close together, and a word's nearest words should be the words
whose *images* are nearest. This is the check of grounded-language models such as Vokenization
(Tan & Bansal, "Vokenization: Improving Language Understanding with Contextualized,
Visual-Grounded Supervision", EMNLP 2020, arXiv:2010.06775) and of the visual word-similarity
studies of multimodal embeddings (Kiela & Bottou, "Learning Image Embeddings using
Convolutional Neural Networks for Improved Multi-Modal Semantics", EMNLP 2014).
Two groups of scores:

* category structure of the word embeddings: k-means NMI / ARI against the categories
  (:func:`cl_core.evaluation.clustering_scores`), the cosine silhouette, and k-NN category accuracy
  of held-out words against reference words (:func:`cl_core.evaluation.knn_accuracy`);
* visual-neighbour overlap: with :math:`N^T_k(i)` the :math:`k` nearest other words of word
  :math:`i` in the text space and :math:`N^V_k(i)` the :math:`k` nearest other items in a visual
  space (cosine similarity),

  .. math:: \mathrm{overlap@}k = \frac{1}{N} \sum_i \frac{|N^T_k(i) \cap N^V_k(i)|}{k},

  whose chance level is :math:`k / (N - 1)`.

Example:
    >>> import numpy as np
    >>> words = np.array([[1.0, 0.0], [0.9, 0.1], [0.0, 1.0], [0.1, 0.9]])
    >>> neighbour_overlap(words, words, k=1)
    1.0
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from cl_core.evaluation import clustering_scores, knn_accuracy
from cl_core.io import atomic_path

if TYPE_CHECKING:
    from cl_multimodal.two_tower import TwoTowerModel


@dataclass(frozen=True)
class GroundingScores:
    """Category structure and visual-neighbour agreement of one word-embedding space.

    Attributes:
        knn_category_acc: k-NN category accuracy of the words against the reference words.
        category_nmi: NMI of k-means (one cluster per category present, at most one per distinct
            embedding) against the categories.
        category_ari: adjusted Rand index of the same clustering.
        category_silhouette: cosine silhouette of the words under their true categories.
        visual_overlap: mean overlap@k of text neighbours with visual neighbours.
        visual_overlap_chance: the chance level k / (N - 1) of ``visual_overlap``.
    """

    knn_category_acc: float
    category_nmi: float
    category_ari: float
    category_silhouette: float
    visual_overlap: float
    visual_overlap_chance: float

    def as_dict(self) -> dict[str, float]:
        """The scores as a flat ``name -> value`` dict."""
        return {name: float(value) for name, value in asdict(self).items()}


def _matrix(value: Any, name: str) -> np.ndarray:
    array = np.asarray(value.detach().cpu() if hasattr(value, "detach") else value, dtype=float)
    if array.ndim != 2 or array.shape[0] < 2:
        raise ValueError(f"{name} must have shape (N >= 2, D), got {array.shape}")
    if not np.isfinite(array).all():
        raise ValueError(f"{name} must hold finite values only")
    return array


def nearest_neighbours(x: Any, k: int) -> np.ndarray:
    """Indices of the ``k`` most cosine-similar other rows of each row.

    Args:
        x: (N, D) features (numpy array or tensor); zero rows are not allowed.
        k: neighbours per row, in [1, N - 1].

    Returns:
        (N, k) int array, most similar first; a row is never its own neighbour, ties go to the
        smaller index.

    Example:
        >>> nearest_neighbours(np.array([[1.0, 0.0], [1.0, 0.1], [0.0, 1.0]]), 1).ravel().tolist()
        [1, 0, 1]
    """
    features = _matrix(x, "x")
    count = features.shape[0]
    if not isinstance(k, int) or isinstance(k, bool) or not 1 <= k <= count - 1:
        raise ValueError(f"k must be an int in [1, N - 1 = {count - 1}], got {k!r}")
    norms = np.linalg.norm(features, axis=1, keepdims=True)
    if (norms == 0).any():
        raise ValueError("x must not hold all-zero rows (their cosine similarity is undefined)")
    unit = features / norms
    similarity = unit @ unit.T
    np.fill_diagonal(similarity, -np.inf)
    return np.argsort(-similarity, axis=1, kind="stable")[:, :k]


def neighbour_overlap(text: Any, visual: Any, k: int = 10) -> float:
    r"""Mean share of each row's ``k`` nearest neighbours that two spaces have in common.

    :math:`\frac{1}{N}\sum_i |N^T_k(i) \cap N^V_k(i)| / k` with cosine neighbours, self excluded.

    Args:
        text: (N, D1) word embeddings.
        visual: (N, D2) visual embeddings of the same N items, in the same order.
        k: neighbours per row, in [1, N - 1].

    Returns:
        The overlap in [0, 1] (chance: k / (N - 1)).
    """
    text_rows = _matrix(text, "text").shape[0]
    visual_rows = _matrix(visual, "visual").shape[0]
    if text_rows != visual_rows:
        raise ValueError(
            f"text and visual must hold the same number of rows, got {text_rows} and {visual_rows}"
        )
    ours, theirs = nearest_neighbours(text, k), nearest_neighbours(visual, k)
    shared = [np.intersect1d(a, b).size for a, b in zip(ours, theirs, strict=True)]
    return float(np.mean(shared) / k)


def grounding_scores(
    words: Any,
    labels: Any,
    visual: Any,
    reference_words: Any,
    reference_labels: Any,
    *,
    k: int = 10,
    seed: int = 0,
) -> GroundingScores:
    """All :class:`GroundingScores` of one word-embedding space.

    Args:
        words: (N, D) embeddings of the held-out words.
        labels: (N,) integer categories of the words (at least two distinct).
        visual: (N, E) visual embeddings of the words' images (any frozen or trained encoder).
        reference_words: (M, D) embeddings of labelled reference words (the k-NN memory).
        reference_labels: (M,) their categories.
        k: neighbours of the k-NN classifier and of the overlap (capped at M and N - 1).
        seed: seed of k-means.

    Returns:
        The scores.
    """
    from sklearn.metrics import silhouette_score

    held_out = _matrix(words, "words")
    categories = np.asarray(labels)
    if categories.shape != (held_out.shape[0],):
        raise ValueError(f"labels must have shape ({held_out.shape[0]},), got {categories.shape}")
    present = np.unique(categories).size
    if not 2 <= present < held_out.shape[0]:
        raise ValueError(
            f"labels must hold between 2 and N - 1 = {held_out.shape[0] - 1} distinct "
            f"categories, got {present}"
        )
    if not isinstance(k, int) or isinstance(k, bool) or k < 1:
        raise ValueError(f"k must be an int >= 1, got {k!r}")
    reference = _matrix(reference_words, "reference_words")
    # k-means cannot find more clusters than distinct points (e.g. words unknown to a vocabulary).
    distinct = np.unique(held_out, axis=0).shape[0]
    if distinct < 2:
        raise ValueError("words must hold at least 2 distinct embeddings, got 1")
    clusters = clustering_scores(held_out, categories, n_clusters=min(present, distinct), seed=seed)
    knn_k = min(k, reference.shape[0])
    overlap_k = min(k, held_out.shape[0] - 1)
    return GroundingScores(
        knn_category_acc=knn_accuracy(reference, reference_labels, held_out, categories, k=knn_k),
        category_nmi=clusters["nmi"],
        category_ari=clusters["ari"],
        category_silhouette=float(silhouette_score(held_out, categories, metric="cosine")),
        visual_overlap=neighbour_overlap(held_out, visual, overlap_k),
        visual_overlap_chance=overlap_k / (held_out.shape[0] - 1),
    )


def evaluate_text_grounding(
    model: TwoTowerModel,
    words: Sequence[str],
    labels: Any,
    visual: Any,
    reference_words: Sequence[str],
    reference_labels: Any,
    *,
    k: int = 10,
    seed: int = 0,
) -> GroundingScores:
    """Embed words with ``model``'s text tower alone (no image) and score their grounding.

    Args:
        model: a (trained) two-tower model.
        words: the held-out words or short names, N >= 3.
        labels, visual, reference_labels, k, seed: see :func:`grounding_scores`.
        reference_words: labelled reference words (the k-NN memory).

    Returns:
        The :class:`GroundingScores` of the text tower's word space.

    Example:
        >>> scores = evaluate_text_grounding(model, ["cat", "dog", "car"], [0, 0, 1],
        ...     pixels, ["cow", "bus"], [0, 1], k=1)  # doctest: +SKIP
    """
    for name, texts in (("words", words), ("reference_words", reference_words)):
        if isinstance(texts, str) or not all(isinstance(t, str) for t in texts):
            raise TypeError(f"{name} must be a sequence of strings")
    return grounding_scores(
        model.embed_texts(words),
        labels,
        visual,
        model.embed_texts(reference_words),
        reference_labels,
        k=k,
        seed=seed,
    )


def pixel_features(images: Any, size: int = 16) -> np.ndarray:
    """A frozen visual space: images area-downsampled to ``size`` x ``size``, flattened, centred.

    Args:
        images: (N, H, W, 3) uint8 images with H and W divisible by ``size``.
        size: output side length.

    Returns:
        (N, size * size * 3) float features minus their mean over the N images.
    """
    array = np.asarray(images, dtype=float)
    if array.ndim != 4 or array.shape[-1] != 3:
        raise ValueError(f"images must have shape (N, H, W, 3), got {array.shape}")
    count, height, width, _ = array.shape
    if size < 1 or height % size or width % size:
        raise ValueError(f"size must divide the image size {height}x{width}, got {size}")
    pooled = array.reshape(count, size, height // size, size, width // size, 3).mean(axis=(2, 4))
    flat = pooled.reshape(count, -1) / 255.0
    return flat - flat.mean(axis=0, keepdims=True)


def plot_word_pca(
    spaces: Mapping[str, Any],
    labels: Any,
    label_names: Sequence[str],
    path: str | os.PathLike[str],
) -> Path:
    """2-D PCA of word embeddings, one panel per space, points coloured by category.

    Args:
        spaces: panel title -> (N, D) embeddings of the same N words (e.g. before / after).
        labels: (N,) integer categories indexing ``label_names``.
        label_names: category names for the legend.
        path: output PNG, written atomically.

    Returns:
        ``path``.
    """
    if not spaces:
        raise ValueError("spaces must hold at least one embedding matrix")
    categories = np.asarray(labels)
    matrices = {title: _matrix(x, f"spaces[{title!r}]") for title, x in spaces.items()}
    for title, matrix in matrices.items():
        if matrix.shape[0] != categories.shape[0]:
            raise ValueError(
                f"spaces[{title!r}] has {matrix.shape[0]} rows, labels {categories.shape[0]}"
            )
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from sklearn.decomposition import PCA

    figure, axes = plt.subplots(1, len(matrices), figsize=(4.5 * len(matrices), 4.2), squeeze=False)
    colours = plt.get_cmap("tab10")
    for axis, (title, matrix) in zip(axes[0], matrices.items(), strict=True):
        unit = matrix / np.linalg.norm(matrix, axis=1, keepdims=True).clip(min=1e-12)
        points = PCA(n_components=2).fit_transform(unit)
        for category in np.unique(categories):
            chosen = categories == category
            axis.scatter(
                points[chosen, 0],
                points[chosen, 1],
                s=8,
                color=colours(int(category) % 10),
                label=label_names[int(category)],
            )
        axis.set_title(title)
        axis.set_xticks([])
        axis.set_yticks([])
    axes[0][-1].legend(fontsize=6, loc="best", markerscale=1.5)
    figure.tight_layout()
    target = Path(path)
    with atomic_path(target) as temp:
        figure.savefig(temp, dpi=120)
    plt.close(figure)
    return target
