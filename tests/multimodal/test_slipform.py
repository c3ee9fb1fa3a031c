"""WordNet concreteness, ratings files, ConcretePlant negatives and the Slipform experiment."""

from __future__ import annotations

import numpy as np
import pytest

from cl_multimodal.clip_training import ClipTrainConfig
from cl_multimodal.concrete_plant import concrete_plant_negative, scene_word_classes
from cl_multimodal.concreteness import (
    WordNetConcreteness,
    load_concreteness_ratings,
)
from cl_multimodal.data.shapes import random_scenes
from cl_multimodal.experiments.slipform_shapes import compare_slipform

CLASSES = {"colour": ["red", "blue", "green"], "shape": ["circle", "square"]}


@pytest.fixture(scope="module")
def wordnet_score(require_data) -> WordNetConcreteness:
    return WordNetConcreteness(require_data("wordnet")["wordnet"])


def test_wordnet_scores_physical_nouns_above_abstract_ones(wordnet_score):
    score = wordnet_score
    for concrete, abstract in (("dog", "idea"), ("apple", "freedom"), ("car", "theory")):
        assert score(concrete) > score(abstract)
    assert score("dogs") == score("dog")
    assert score("above") == 0.0
    assert all(0.0 <= score(w) <= 1.0 for w in ("red", "circle", "face", "xyzzy"))


def test_wordnet_rejects_a_missing_database_and_bad_decay(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"index\.noun"):
        WordNetConcreteness(tmp_path)
    with pytest.raises(ValueError, match="decay"):
        WordNetConcreteness(tmp_path, decay=0.0)


def test_ratings_file_is_rescaled_and_bad_rows_name_file_and_line(tmp_path):
    good = tmp_path / "ratings.csv"
    good.write_text("Word,Conc.M\nApple,5\nidea,1.5\n\n", encoding="utf-8")
    assert load_concreteness_ratings(good) == {"apple": 1.0, "idea": 0.125}
    bad = tmp_path / "bad.csv"
    bad.write_text("Word,Conc.M\napple,5\nidea,lots\n", encoding="utf-8")
    with pytest.raises(ValueError, match=r"bad\.csv:3: rating must be a number"):
        load_concreteness_ratings(bad)
    bad.write_text("apple,7\n", encoding="utf-8")
    with pytest.raises(ValueError, match=r"bad\.csv:1: rating must lie in"):
        load_concreteness_ratings(bad)
    with pytest.raises(FileNotFoundError, match="does not exist"):
        load_concreteness_ratings(tmp_path / "absent.csv")


def test_plant_swaps_the_most_concrete_class_and_keeps_the_bag_of_words():
    rng = np.random.default_rng(0)
    shapes_concrete = {"red": 0.1, "blue": 0.2, "circle": 0.9, "square": 0.8}.get
    colours_concrete = {"red": 0.9, "blue": 0.8, "circle": 0.1, "square": 0.2}.get
    caption = "a red circle left of a blue square"
    shape_edit = concrete_plant_negative(caption, CLASSES, shapes_concrete, rng)
    colour_edit = concrete_plant_negative(caption, CLASSES, colours_concrete, rng)
    assert shape_edit.text == "a red square left of a blue circle"
    assert shape_edit.edited_word == "circle" and shape_edit.concreteness == 0.9
    assert colour_edit.text == "a blue circle left of a red square"
    assert sorted(shape_edit.text.split()) == sorted(caption.split())


def test_plant_replaces_when_no_partner_and_samples_by_concreteness():
    rng = np.random.default_rng(0)
    scores = {"red": 0.5, "circle": 0.5}.get
    edits = [concrete_plant_negative("a red circle", CLASSES, scores, rng) for _ in range(200)]
    assert all(e.text != "a red circle" for e in edits)
    assert {e.edited_word for e in edits} == {"red", "circle"}
    assert {e.text for e in edits if e.edited_word == "circle"} == {"a red square"}


def test_plant_rejects_bad_input():
    rng = np.random.default_rng(0)
    with pytest.raises(ValueError, match="no word of an editable class"):
        concrete_plant_negative("a dog", CLASSES, lambda w: 0.5, rng)
    with pytest.raises(ValueError, match=r"must lie in \[0, 1\]"):
        concrete_plant_negative("a red circle", CLASSES, lambda w: 2.0, rng)
    with pytest.raises(ValueError, match="temperature"):
        concrete_plant_negative("a red circle", CLASSES, lambda w: 0.5, rng, temperature=0.0)


def test_scene_negatives_with_wordnet_are_true_mismatches(wordnet_score):
    rng = np.random.default_rng(0)
    for scene in random_scenes(20, rng):
        edit = concrete_plant_negative(scene.caption(), scene_word_classes(), wordnet_score, rng)
        assert edit.text != scene.caption()
        assert edit.concreteness == wordnet_score(edit.edited_word)


def test_slipform_experiment_reports_every_method_on_the_same_split():
    config = ClipTrainConfig(epochs=1, batch_size=16, seed=0)
    result = compare_slipform(48, config, concreteness=lambda w: 0.5, text_tower="bow")
    assert set(result.metrics) == {"slipform", "concreteplant-infonce", "negclip", "clip"}
    for metrics in result.metrics.values():
        assert 0.0 <= metrics["aro_attribution"] <= 1.0 and "i2t_R@1" in metrics
    assert result.train_size + result.test_size == 48
    with pytest.raises(ValueError, match="methods must be"):
        compare_slipform(48, config, methods=("cement",))
