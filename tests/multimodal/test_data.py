"""Loaders: real emoji pairs, rendered shape scenes, image-caption folders and their errors."""

from __future__ import annotations

import json

import numpy as np
import pytest
from PIL import Image

from cl_multimodal.data.emoji import (
    EmojiDataMissingError,
    emoji_caption,
    emoji_package_dir,
    load_emoji,
)
from cl_multimodal.data.folder import load_caption_folder
from cl_multimodal.data.pairs import ImageCaptionPairs
from cl_multimodal.data.shapes import (
    COLORS,
    RELATIONS,
    Scene,
    ShapeObject,
    render_scene,
    shape_scene_pairs,
)


@pytest.fixture(scope="module")
def emoji_pairs(emoji_dir):
    return load_emoji(emoji_dir, limit=40)


def test_full_emoji_set_has_3786_images_in_10_categories(emoji_dir):
    pairs = load_emoji(emoji_dir, include_skin_tones=True)
    assert len(pairs) == 3786
    assert pairs.images.shape == (3786, 64, 64, 3) and pairs.images.dtype == np.uint8
    assert len(pairs.label_names) == 10 and "Smileys & Emotion" in pairs.label_names
    assert len(np.unique(pairs.groups)) == 1911


def test_emoji_captions_name_the_emoji_and_skin_tone(emoji_dir):
    pairs = load_emoji(emoji_dir, limit=400)
    assert pairs.captions[0].startswith("an emoji of ")
    toned = [c for c in pairs.captions if "skin tone" in c]
    assert toned and all(c.startswith("an emoji of ") for c in toned)
    assert emoji_caption("GRINNING FACE") == "an emoji of grinning face"


def test_limited_emoji_spans_categories_and_images_are_not_blank(emoji_pairs):
    assert len(set(emoji_pairs.labels.tolist())) >= 5
    assert emoji_pairs.images.std(axis=(1, 2, 3)).min() > 5


def test_emoji_package_missing_says_how_to_install(tmp_path, monkeypatch):
    monkeypatch.delenv("CL_NPM_PREFIX", raising=False)
    with pytest.raises(EmojiDataMissingError, match="npm install --prefix"):
        emoji_package_dir(tmp_path)


def test_a_package_copy_in_the_data_dir_is_found_and_read(tmp_path):
    package = tmp_path / "data" / "npm" / "node_modules" / "emoji-datasource-google"
    (package / "img" / "google" / "64").mkdir(parents=True)
    Image.new("RGBA", (64, 64), (255, 0, 0, 255)).save(package / "img/google/64/1f600.png")
    entry = {"name": "GRINNING FACE", "category": "Smileys & Emotion", "image": "1f600.png"}
    (package / "emoji.json").write_text(json.dumps([entry]))
    # The folder itself is used as given (an installed copy would win over a data folder).
    assert emoji_package_dir(data_dir=package) == package
    pairs = load_emoji(data_dir=package)
    assert pairs.captions == ("an emoji of grinning face",)
    assert pairs.images[0, 0, 0].tolist() == [255, 0, 0]


def test_emoji_prefix_env_is_honoured(emoji_dir, monkeypatch):
    monkeypatch.setenv("CL_NPM_PREFIX", str(emoji_dir))
    assert emoji_package_dir().name == "emoji-datasource-google"


def test_split_keeps_groups_together_and_is_deterministic(emoji_pairs):
    train, test = emoji_pairs.split(0.25, seed=3)
    assert len(train) + len(test) == len(emoji_pairs)
    assert not set(train.groups.tolist()) & set(test.groups.tolist())
    again, _ = emoji_pairs.split(0.25, seed=3)
    assert again.captions == train.captions
    with pytest.raises(ValueError, match="test_fraction"):
        emoji_pairs.split(1.5)


def test_pairs_reject_mismatched_lengths():
    with pytest.raises(ValueError, match="labels must hold 2 rows"):
        ImageCaptionPairs(
            np.zeros((2, 4, 4, 3), np.uint8), ("a", "b"), np.zeros(3), (), np.arange(2), "x"
        )


def test_float_images_are_channels_first_in_unit_range(emoji_pairs):
    images = emoji_pairs.float_images(np.array([0, 1]))
    assert images.shape == (2, 3, 64, 64)
    assert float(images.min()) >= 0.0 and float(images.max()) <= 1.0


def test_scene_caption_and_perturbations():
    scene = Scene(ShapeObject("red", "circle"), "left of", ShapeObject("blue", "square"))
    assert scene.caption() == "a red circle left of a blue square"
    assert scene.swapped_relation().caption() == "a blue square left of a red circle"
    assert scene.swapped_attributes().caption() == "a blue circle left of a red square"
    with pytest.raises(ValueError, match="relation"):
        Scene(scene.first, "near", scene.second)


def test_rendered_scene_puts_the_first_object_on_the_stated_side():
    rng = np.random.default_rng(0)
    for relation in RELATIONS:
        scene = Scene(ShapeObject("red", "circle"), relation, ShapeObject("blue", "square"))
        image = render_scene(scene, rng).astype(int)
        red = np.argwhere(np.abs(image - COLORS["red"]).sum(-1) < 30)
        blue = np.argwhere(np.abs(image - COLORS["blue"]).sum(-1) < 30)
        axis = 1 if relation == "left of" else 0
        assert red[:, axis].mean() < blue[:, axis].mean()


def test_shape_pairs_group_by_caption():
    pairs, scenes = shape_scene_pairs(50, seed=1)
    assert len(pairs) == 50 and [s.caption() for s in scenes] == list(pairs.captions)
    for caption in set(pairs.captions):
        assert len(set(pairs.groups[np.array(pairs.captions) == caption].tolist())) == 1


def _write_image(path, color="red"):
    Image.new("RGB", (10, 12), color).save(path)


def test_folder_of_png_and_txt_pairs(tmp_path):
    for name, color in (("a", "red"), ("b", "blue")):
        _write_image(tmp_path / f"{name}.png", color)
        (tmp_path / f"{name}.txt").write_text(f"\n a {color} square \n")
    pairs = load_caption_folder(tmp_path, image_size=16)
    assert pairs.captions == ("a red square", "a blue square")
    assert pairs.images.shape == (2, 16, 16, 3) and (pairs.labels == -1).all()


def test_folder_with_captions_csv_and_labels(tmp_path):
    for name in ("x", "y", "z"):
        _write_image(tmp_path / f"{name}.jpg")
    (tmp_path / "captions.csv").write_text(
        "image,caption,label\nx.jpg,one,cat\n\ny.jpg,two,dog\nz.jpg,three,cat\n"
    )
    pairs = load_caption_folder(tmp_path)
    assert pairs.label_names == ("cat", "dog") and pairs.labels.tolist() == [0, 1, 0]


@pytest.mark.parametrize(
    ("files", "message"),
    [
        ({"a.png": None}, r"a\.png: no caption file a\.txt"),
        ({"a.png": None, "a.txt": "  \n"}, r"a\.txt: the caption file is empty"),
        ({"a.png": b"not an image", "a.txt": "x"}, r"a\.png: not a readable image"),
        ({"captions.csv": "img,text\n"}, r"captions\.csv:1: expected the header"),
        ({"captions.csv": "image,caption\nmissing.png,hi\n"}, r"captions\.csv:2: image file"),
        ({"captions.csv": "image,caption\nonly-one-cell\n"}, r"captions\.csv:2: expected"),
        ({"b.txt": "lonely caption"}, r"found 0 image-caption pairs"),
    ],
)
def test_bad_folders_name_the_file(tmp_path, files, message):
    for name, content in files.items():
        if content is None:
            _write_image(tmp_path / name)
        elif isinstance(content, bytes):
            (tmp_path / name).write_bytes(content)
        else:
            (tmp_path / name).write_text(content)
    with pytest.raises(ValueError, match=message):
        load_caption_folder(tmp_path)
