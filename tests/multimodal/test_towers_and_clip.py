"""Towers, augmentations, the CLIP two-tower model, its training loop and evaluation."""

from __future__ import annotations

import lightning.pytorch as pl
import numpy as np
import pytest
import torch

from cl_core.engine_options import EngineOptions
from cl_core.losses import clip_loss
from cl_multimodal.augment import augment_caption, random_resized_crop
from cl_multimodal.clip_training import ClipTrainConfig, train_two_tower
from cl_multimodal.data.shapes import shape_scene_pairs
from cl_multimodal.evaluation import (
    emoji_category_prompts,
    majority_accuracy,
    retrieval_metrics,
    zero_shot_metrics,
)
from cl_multimodal.towers.factory import build_image_tower, build_text_tower
from cl_multimodal.towers.image import SmallCNNImageTower
from cl_multimodal.towers.text_small import BagOfWordsTextTower, GRUTextTower
from cl_multimodal.towers.vocabulary import WordVocabulary
from cl_multimodal.two_tower import TwoTowerModel

CAPTIONS = ["a red circle left of a blue square", "a blue square left of a red circle"]


def test_vocabulary_pads_and_marks_unknown_words():
    vocab = WordVocabulary.build(["a red circle"])
    ids, lengths = vocab.encode(["a red", "", "purple circle a"])
    assert lengths.tolist() == [2, 1, 3]
    assert ids[0, 2] == 0 and ids[1, 0] == 1 and ids[2, 0] == 1


def test_bag_of_words_ignores_order_and_gru_does_not():
    vocab = WordVocabulary.build(CAPTIONS)
    bow, gru = BagOfWordsTextTower(vocab, 8), GRUTextTower(vocab, 8)
    bow_out, gru_out = bow(CAPTIONS), gru(CAPTIONS)
    torch.testing.assert_close(bow_out[0], bow_out[1])
    assert not torch.allclose(gru_out[0], gru_out[1])


def test_small_cnn_rejects_wrong_shape():
    with pytest.raises(ValueError, match=r"images must have shape \(B, 3, H, W\)"):
        SmallCNNImageTower(8)(torch.rand(2, 1, 32, 32))


def test_factory_rejects_unknown_names():
    with pytest.raises(ValueError, match="text tower must be one of"):
        build_text_tower("lstm", CAPTIONS)
    with pytest.raises(ValueError, match="image tower must be one of"):
        build_image_tower("vit")


def test_random_resized_crop_keeps_shape_and_differs_per_image():
    images = torch.rand(1, 3, 16, 16).repeat(4, 1, 1, 1)
    out = random_resized_crop(images, torch.Generator().manual_seed(0))
    assert out.shape == images.shape
    assert not torch.allclose(out[0], out[1])
    full = random_resized_crop(images, scale=(1.0, 1.0), max_shift=0.0)
    torch.testing.assert_close(full, images, atol=1e-5, rtol=0)
    with pytest.raises(ValueError, match="scale"):
        random_resized_crop(images, scale=(0.0, 1.0))


def test_augment_caption_only_drops_or_swaps_words():
    rng = np.random.default_rng(0)
    for _ in range(20):
        out = augment_caption("an emoji of a smiling cat", rng, delete_p=0.3, swap_p=1.0)
        assert out and set(out.split()) <= {"an", "emoji", "of", "a", "smiling", "cat"}
    with pytest.raises(ValueError, match="delete_p"):
        augment_caption("x", rng, delete_p=1.0)


def _model(captions, label_smoothing=0.0):
    return TwoTowerModel(
        SmallCNNImageTower(16, width=8),
        BagOfWordsTextTower(WordVocabulary.build(captions), 16),
        label_smoothing=label_smoothing,
    )


def test_two_tower_loss_is_the_kernel_clip_loss():
    model = _model(CAPTIONS, label_smoothing=0.1)
    images = torch.rand(2, 3, 32, 32)
    expected = clip_loss(
        model.image_tower(images),
        model.text_tower(CAPTIONS),
        model.logit_scale,
        label_smoothing=0.1,
    )
    torch.testing.assert_close(model.loss(images, CAPTIONS), expected)
    with pytest.raises(ValueError, match="same number of rows"):
        model.loss(images, CAPTIONS[:1])
    with pytest.raises(TypeError, match="single str"):
        model.encode_texts("a red circle")


def test_training_lowers_the_loss_and_beats_chance_retrieval():
    pairs, _ = shape_scene_pairs(160, seed=0)
    model = _model(pairs.captions)
    config = ClipTrainConfig(epochs=6, batch_size=32, lr=3e-3)
    stats = train_two_tower(model, pairs, config)
    assert stats.epoch_losses[-1] < stats.epoch_losses[0] - 0.3
    assert stats.steps == 30 and stats.samples_per_s > 0
    metrics = retrieval_metrics(model, pairs)
    chance = 5 / len(set(pairs.captions))
    assert metrics["i2t_R@5"] > 2 * chance


class _StopAfterFirstEpoch(pl.Callback):
    def on_train_epoch_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        trainer.should_stop = True


# Lightning warns when a resumed run writes into its own log and checkpoint folders.
@pytest.mark.filterwarnings("ignore:Experiment logs directory:UserWarning")
@pytest.mark.filterwarnings("ignore:Checkpoint directory:UserWarning")
@pytest.mark.xfail(
    reason="open: the resumed run differs by ~1e-3 (batch/generator state not yet restored "
    "exactly from the engine's epoch checkpoint)",
    strict=True,
)
def test_engine_resume_matches_an_uninterrupted_run(tmp_path):
    # Augmentation on: the batch order, crops and caption edits all draw from the recipe's
    # generators, whose states the engine's checkpoint carries.
    pairs, _ = shape_scene_pairs(64, seed=0)
    config = ClipTrainConfig(epochs=2, batch_size=16, image_augment=True, text_augment=True)
    torch.manual_seed(0)
    full = _model(pairs.captions)
    train_two_tower(full, pairs, config, out_dir=tmp_path / "full")
    torch.manual_seed(0)
    resumed = _model(pairs.captions)
    train_two_tower(
        resumed, pairs, config, out_dir=tmp_path / "resumed", callbacks=[_StopAfterFirstEpoch()]
    )
    train_two_tower(
        resumed,
        pairs,
        config,
        engine=EngineOptions(resume="last"),
        out_dir=tmp_path / "resumed",
    )
    for name, value in full.state_dict().items():
        torch.testing.assert_close(resumed.state_dict()[name], value, rtol=0, atol=1e-6)


def test_zero_shot_metrics_and_prompt_count_check():
    pairs, _ = shape_scene_pairs(40, seed=2)
    model = _model(pairs.captions)
    metrics = zero_shot_metrics(model, pairs, ["left of", "above"])
    assert 0.0 <= metrics["zero_shot_acc"] <= 1.0
    assert 0.0 <= metrics["zero_shot_balanced_acc"] <= 1.0
    with pytest.raises(ValueError, match="one text per class"):
        zero_shot_metrics(model, pairs, ["left of"])


def test_emoji_prompts_and_majority_baseline():
    assert emoji_category_prompts(["Food & Drink"]) == ["an emoji of food and drink"]
    assert majority_accuracy(np.array([0, 0, 1]), np.array([0, 1, 1, 1])) == 0.25


def test_config_validation():
    with pytest.raises(ValueError, match="batch_size"):
        ClipTrainConfig(batch_size=1)
    with pytest.raises(ValueError, match="lr"):
        ClipTrainConfig(lr=0.0)
