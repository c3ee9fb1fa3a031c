"""kNN and linear-probe accuracy on scikit-learn's real ``load_digits`` (1,797 8x8 images).

Data card: ``sklearn.datasets.load_digits`` ships with scikit-learn (real handwritten digits, UCI
optical recognition set); nothing is downloaded.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split
from sklearn.neighbors import KNeighborsClassifier

from cl_core.evaluation import knn_accuracy, linear_probe_accuracy


@pytest.fixture(scope="module")
def digits():
    x, y = load_digits(return_X_y=True)
    return train_test_split(x, y, test_size=0.3, random_state=0, stratify=y)


def loop_knn_predictions(train_x, train_y, test_x, k, temperature):
    """Wu et al. 2018 voting: class score = sum over the k most cosine-similar of exp(s / t)."""
    predictions = []
    unit_train = train_x / np.linalg.norm(train_x, axis=1, keepdims=True)
    for query in test_x:
        similarities = unit_train @ (query / np.linalg.norm(query))
        order = np.argsort(-similarities, kind="stable")[:k]
        scores: dict[int, float] = {}
        for index in order:
            label = int(train_y[index])
            scores[label] = scores.get(label, 0.0) + float(
                np.exp(similarities[index] / temperature)
            )
        best = max(scores.values())
        predictions.append(min(label for label, score in scores.items() if score == best))
    return np.array(predictions)


def test_knn_on_raw_digit_pixels_is_above_ninety_percent(digits) -> None:
    train_x, test_x, train_y, test_y = digits
    assert knn_accuracy(train_x, train_y, test_x, test_y, k=20) > 0.9
    assert knn_accuracy(train_x, train_y, test_x, test_y, k=20, weighting="temperature") > 0.9


@pytest.mark.parametrize("metric", ["cosine", "euclidean"])
def test_uniform_knn_matches_scikit_learn_classifier(digits, metric) -> None:
    train_x, test_x, train_y, test_y = digits
    reference = KNeighborsClassifier(n_neighbors=7, metric=metric, algorithm="brute")
    expected = reference.fit(train_x, train_y).score(test_x, test_y)
    assert knn_accuracy(train_x, train_y, test_x, test_y, k=7, metric=metric) == pytest.approx(
        expected
    )


def test_temperature_weighted_knn_matches_loop() -> None:
    generator = np.random.default_rng(0)
    train_x = generator.normal(size=(60, 5))
    train_y = generator.integers(0, 4, size=60)
    test_x = generator.normal(size=(25, 5))
    test_y = generator.integers(0, 4, size=25)
    expected = np.mean(loop_knn_predictions(train_x, train_y, test_x, 9, 0.1) == test_y)
    got = knn_accuracy(
        train_x, train_y, test_x, test_y, k=9, weighting="temperature", temperature=0.1
    )
    assert got == pytest.approx(expected)


def test_tiny_temperature_reduces_weighted_vote_to_nearest_neighbour(digits) -> None:
    train_x, test_x, train_y, test_y = digits
    one_nn = knn_accuracy(train_x, train_y, test_x, test_y, k=1)
    sharp = knn_accuracy(
        train_x, train_y, test_x, test_y, k=15, weighting="temperature", temperature=1e-4
    )
    assert sharp == pytest.approx(one_nn)


def test_knn_accepts_torch_tensors(digits) -> None:
    train_x, test_x, train_y, test_y = digits
    as_numpy = knn_accuracy(train_x, train_y, test_x, test_y, k=5)
    as_torch = knn_accuracy(
        torch.from_numpy(train_x).float(),
        torch.from_numpy(train_y),
        torch.from_numpy(test_x).float(),
        torch.from_numpy(test_y),
        k=5,
    )
    assert as_torch == pytest.approx(as_numpy)


def test_linear_probe_on_raw_digit_pixels_is_above_ninety_percent_and_repeatable(digits) -> None:
    train_x, test_x, train_y, test_y = digits
    first = linear_probe_accuracy(train_x, train_y, test_x, test_y)
    assert first > 0.9
    assert linear_probe_accuracy(train_x, train_y, test_x, test_y) == first


def test_linear_probe_is_near_chance_on_features_without_label_information(digits) -> None:
    _, _, train_y, test_y = digits
    generator = np.random.default_rng(1)
    noise_train = generator.normal(size=(train_y.size, 8))
    noise_test = generator.normal(size=(test_y.size, 8))
    assert linear_probe_accuracy(noise_train, train_y, noise_test, test_y) < 0.25


def test_bad_inputs_name_the_argument(digits) -> None:
    train_x, test_x, train_y, test_y = digits
    with pytest.raises(ValueError, match=r"k must be an int in \[1, N=1257\]"):
        knn_accuracy(train_x, train_y, test_x, test_y, k=5000)
    with pytest.raises(ValueError, match=r"train_y must have shape \(1257,\)"):
        knn_accuracy(train_x, train_y[:-1], test_x, test_y)
    with pytest.raises(ValueError, match="test_x must have the same width"):
        knn_accuracy(train_x, train_y, test_x[:, :10], test_y)
    with pytest.raises(ValueError, match="needs metric='cosine'"):
        knn_accuracy(train_x, train_y, test_x, test_y, metric="euclidean", weighting="temperature")
    with pytest.raises(ValueError, match="train_x must be non-empty"):
        knn_accuracy(np.zeros((0, 3)), np.zeros(0, dtype=int), test_x, test_y)
    with pytest.raises(TypeError, match="train_y must hold integer labels"):
        linear_probe_accuracy(train_x, train_y.astype(float), test_x, test_y)
    with pytest.raises(ValueError, match="at least 2 classes"):
        linear_probe_accuracy(train_x, np.zeros_like(train_y), test_x, test_y)
    with pytest.raises(ValueError, match="test_x must be finite"):
        linear_probe_accuracy(train_x, train_y, np.full_like(test_x, np.nan), test_y)
