"""Grounded-language scores: neighbour overlap against a loop reference, hand-made cases, bad
inputs, the PCA plot, and a short end-to-end run on real emoji."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from cl_multimodal.clip_training import ClipTrainConfig
from cl_multimodal.data.emoji import load_emoji
from cl_multimodal.experiments.grounded_emoji import base_emoji_words, compare_grounding
from cl_multimodal.grounded import (
    GroundingScores,
    evaluate_text_grounding,
    grounding_scores,
    nearest_neighbours,
    neighbour_overlap,
    pixel_features,
    plot_word_pca,
)
from cl_multimodal.towers.image import SmallCNNImageTower
from cl_multimodal.towers.text_small import BagOfWordsTextTower
from cl_multimodal.towers.vocabulary import WordVocabulary
from cl_multimodal.two_tower import TwoTowerModel

# Two tight pairs in text space; the visual space pairs them the other way round.
TEXT = np.array([[1.0, 0.0], [0.9, 0.1], [0.0, 1.0], [0.1, 0.9]])
VISUAL = np.array([[1.0, 0.0], [0.0, 1.0], [0.9, 0.1], [0.1, 0.9]])


def _loop_overlap(a: np.ndarray, b: np.ndarray, k: int) -> float:
    """Straight from the formula: sort each row's cosine similarities by hand."""

    def neighbours(x, i):
        cosine = [
            (float(x[i] @ x[j] / np.linalg.norm(x[i]) / np.linalg.norm(x[j])), -j)
            for j in range(len(x))
            if j != i
        ]
        return {-j for _, j in sorted(cosine, reverse=True)[:k]}

    return sum(len(neighbours(a, i) & neighbours(b, i)) / k for i in range(len(a))) / len(a)


def test_nearest_neighbours_of_a_hand_made_case():
    assert nearest_neighbours(TEXT, 1).ravel().tolist() == [1, 0, 3, 2]
    assert nearest_neighbours(VISUAL, 1).ravel().tolist() == [2, 3, 0, 1]
    assert nearest_neighbours(TEXT, 3).shape == (4, 3)
    assert all(i not in row for i, row in enumerate(nearest_neighbours(TEXT, 3)))


def test_overlap_of_hand_made_cases():
    assert neighbour_overlap(TEXT, TEXT, k=1) == 1.0
    assert neighbour_overlap(TEXT, VISUAL, k=1) == 0.0
    # With k = N - 1 every row shares all its neighbours.
    assert neighbour_overlap(TEXT, VISUAL, k=3) == 1.0


@pytest.mark.parametrize("k", [1, 3, 7])
def test_overlap_matches_the_loop_reference(k):
    rng = np.random.default_rng(k)
    a, b = rng.normal(size=(15, 4)), rng.normal(size=(15, 6))
    assert neighbour_overlap(a, b, k) == pytest.approx(_loop_overlap(a, b, k))


def test_overlap_is_invariant_to_rotation_and_scale_of_either_space():
    rng = np.random.default_rng(0)
    words = rng.normal(size=(20, 5))
    rotation, _ = np.linalg.qr(rng.normal(size=(5, 5)))
    assert neighbour_overlap(words, 3.0 * words @ rotation, k=4) == 1.0
    assert neighbour_overlap(torch.from_numpy(words), words, k=4) == 1.0


@pytest.mark.parametrize(
    ("text", "visual", "k", "error", "message"),
    [
        (TEXT, VISUAL[:3], 1, ValueError, "same number of rows"),
        (TEXT, VISUAL, 4, ValueError, r"k must be an int in \[1, N - 1 = 3\]"),
        (TEXT, VISUAL, 0, ValueError, "k must be"),
        (TEXT[0], VISUAL, 1, ValueError, r"text must have shape \(N >= 2, D\)"),
        (np.vstack([TEXT[:3], [0.0, 0.0]]), VISUAL, 1, ValueError, "all-zero rows"),
        (np.full((4, 2), np.nan), VISUAL, 1, ValueError, "finite"),
    ],
)
def test_overlap_rejects_bad_input(text, visual, k, error, message):
    with pytest.raises(error, match=message):
        neighbour_overlap(text, visual, k)


def _blobs(rng, per_class=6, classes=3):
    centres = np.eye(classes) * 10
    labels = np.repeat(np.arange(classes), per_class)
    return centres[labels] + rng.normal(scale=0.1, size=(labels.size, classes)), labels


def test_well_separated_categories_score_perfectly():
    rng = np.random.default_rng(0)
    words, labels = _blobs(rng)
    reference, reference_labels = _blobs(rng, per_class=4)
    scores = grounding_scores(words, labels, words, reference, reference_labels, k=3)
    assert isinstance(scores, GroundingScores)
    assert scores.knn_category_acc == 1.0
    assert scores.category_nmi == pytest.approx(1.0) and scores.category_ari == pytest.approx(1.0)
    assert scores.category_silhouette > 0.9
    assert scores.visual_overlap == 1.0
    assert scores.visual_overlap_chance == pytest.approx(3 / 17)
    assert set(scores.as_dict()) == {
        "knn_category_acc",
        "category_nmi",
        "category_ari",
        "category_silhouette",
        "visual_overlap",
        "visual_overlap_chance",
    }


def test_shuffled_categories_score_near_chance():
    rng = np.random.default_rng(1)
    words, labels = _blobs(rng, per_class=10)
    shuffled = rng.permutation(labels)
    scores = grounding_scores(words, shuffled, rng.normal(size=(30, 4)), words, labels, k=5)
    assert scores.category_silhouette < 0.2 and scores.category_ari < 0.3


def test_duplicate_word_embeddings_cap_the_number_of_clusters():
    words = np.array([[1.0, 0.0]] * 3 + [[0.0, 1.0]] * 3)
    labels = np.array([0, 0, 0, 1, 1, 2])
    scores = grounding_scores(words, labels, words + 0.01 * np.arange(6)[:, None], words, labels)
    assert 0.0 < scores.category_nmi < 1.0


@pytest.mark.parametrize(
    ("labels", "message"),
    [
        (np.zeros(4, dtype=int), "between 2 and N - 1"),
        (np.array([0, 1, 2, 3]), "between 2 and N - 1"),
        (np.array([0, 1]), r"labels must have shape \(4,\)"),
    ],
)
def test_grounding_scores_reject_bad_labels(labels, message):
    with pytest.raises(ValueError, match=message):
        grounding_scores(TEXT, labels, VISUAL, TEXT, np.array([0, 0, 1, 1]))


def test_grounding_scores_reject_identical_words_and_bad_k():
    labels = np.array([0, 0, 1, 1])
    with pytest.raises(ValueError, match="2 distinct embeddings"):
        grounding_scores(np.ones((4, 2)), labels, VISUAL, TEXT, labels)
    with pytest.raises(ValueError, match="k must be an int >= 1"):
        grounding_scores(TEXT, labels, VISUAL, TEXT, labels, k=0)


def test_pixel_features_pool_and_centre():
    images = np.zeros((2, 4, 4, 3), dtype=np.uint8)
    images[0, :2, :2] = 255  # top-left quarter white in the first image only
    features = pixel_features(images, size=2)
    assert features.shape == (2, 12)
    # Pooled top-left cell: 1.0 and 0.0; centred: +0.5 and -0.5 in each channel.
    assert features[0, :3].tolist() == [0.5, 0.5, 0.5]
    assert features[1, :3].tolist() == [-0.5, -0.5, -0.5]
    assert np.allclose(features[:, 3:], 0.0)
    with pytest.raises(ValueError, match="size must divide"):
        pixel_features(images, size=3)
    with pytest.raises(ValueError, match=r"\(N, H, W, 3\)"):
        pixel_features(images[..., 0])


def test_pca_plot_is_written_atomically(tmp_path):
    rng = np.random.default_rng(0)
    words, labels = _blobs(rng)
    path = plot_word_pca(
        {"before": rng.normal(size=words.shape), "after": words},
        labels,
        ["a", "b", "c"],
        tmp_path / "pca.png",
    )
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert [p.name for p in tmp_path.iterdir()] == ["pca.png"]
    with pytest.raises(ValueError, match="at least one"):
        plot_word_pca({}, labels, ["a"], tmp_path / "x.png")
    with pytest.raises(ValueError, match="rows"):
        plot_word_pca({"after": words[:3]}, labels, ["a", "b", "c"], tmp_path / "x.png")


def test_evaluate_text_grounding_scores_the_text_tower_alone():
    words = ["red dot", "red spot", "blue bar", "blue rod", "red ball", "blue pole"]
    labels = np.array([0, 0, 1, 1, 0, 1])
    vocab = WordVocabulary.build(words)
    model = TwoTowerModel(SmallCNNImageTower(8), BagOfWordsTextTower(vocab, 8))
    visual = np.random.default_rng(0).normal(size=(6, 3))
    scores = evaluate_text_grounding(model, words, labels, visual, words, labels, k=2)
    expected = grounding_scores(
        model.embed_texts(words), labels, visual, model.embed_texts(words), labels, k=2
    )
    assert scores == expected
    with pytest.raises(TypeError, match="words must be a sequence of strings"):
        evaluate_text_grounding(model, "red dot", labels, visual, words, labels)


def test_grounding_end_to_end_on_a_few_emoji(emoji_dir, tmp_path):
    train, test = load_emoji(emoji_dir, include_skin_tones=True, limit=70).split(0.3, seed=0)
    held_out = base_emoji_words(test)
    assert len(held_out.words) == len(np.unique(test.groups))
    assert not any(w.startswith("an emoji of") or "skin tone" in w for w in held_out.words)
    config = ClipTrainConfig(epochs=2, batch_size=16, seed=0)
    result = compare_grounding(
        train, test, config, text_tower="bow", k=3, plot_path=tmp_path / "p.png"
    )
    assert set(result.metrics) == {"clip-grounded", "text-tower-init"}
    assert result.test_words == len(held_out.words)
    for scores in result.metrics.values():
        assert 0.0 <= scores["visual_overlap"] <= 1.0 and 0.0 <= scores["knn_category_acc"] <= 1.0
        assert scores["visual_overlap_chance"] == pytest.approx(3 / (result.test_words - 1))
    assert "i2t_R@1" in result.metrics["clip-grounded"]
    assert result.stats.steps == 2 * (len(train) // 16)
    assert (tmp_path / "p.png").is_file()
