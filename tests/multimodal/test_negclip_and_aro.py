"""NegCLIP loss against a loop reference, caption perturbations and the ARO-style evaluation."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from cl_core.losses import clip_loss
from cl_multimodal.aro import aro_metrics
from cl_multimodal.clip_training import ClipTrainConfig
from cl_multimodal.data.shapes import Scene, ShapeObject, shape_scene_pairs
from cl_multimodal.experiments.negclip_shapes import compare_negclip_with_clip
from cl_multimodal.negclip import NegCLIPLoss, negclip_loss
from cl_multimodal.perturbations import (
    order_alternatives,
    scene_hard_negative,
    shuffle_all_but_nouns_and_adjectives,
    shuffle_nouns_and_adjectives,
    shuffle_trigrams,
    shuffle_within_trigrams,
)
from cl_multimodal.towers.image import SmallCNNImageTower
from cl_multimodal.towers.text_small import BagOfWordsTextTower
from cl_multimodal.towers.vocabulary import WordVocabulary
from cl_multimodal.two_tower import TwoTowerModel


def _reference_negclip(image, text, hard, scale):
    """Loop over rows, straight from the paper's B x 2B / B x B logits."""
    image = image / image.norm(dim=1, keepdim=True)
    text = text / text.norm(dim=1, keepdim=True)
    hard = hard / hard.norm(dim=1, keepdim=True)
    candidates = torch.cat([text, hard])
    batch = image.shape[0]
    i2t, t2i = 0.0, 0.0
    for i in range(batch):
        row = [scale * image[i] @ c for c in candidates]
        i2t = i2t - (row[i] - torch.logsumexp(torch.stack(row), 0))
        col = [scale * text[i] @ x for x in image]
        t2i = t2i - (col[i] - torch.logsumexp(torch.stack(col), 0))
    return 0.5 * (i2t + t2i) / batch


def test_negclip_matches_loop_reference_values_and_gradients():
    image, text, hard = torch.randn(3, 4, 5, dtype=torch.float64).unbind(0)
    torch.testing.assert_close(
        negclip_loss(image, text, hard, 3.0), _reference_negclip(image, text, hard, 3.0)
    )
    inputs = tuple(x.clone().requires_grad_() for x in (image, text, hard))
    assert torch.autograd.gradcheck(lambda a, b, c: negclip_loss(a, b, c, 3.0), inputs)
    assert torch.autograd.gradcheck(lambda a, b, c: _reference_negclip(a, b, c, 3.0), inputs)


def test_without_hard_captions_negclip_is_clip():
    image, text = torch.randn(2, 6, 4).unbind(0)
    empty = torch.zeros(0, 4)
    torch.testing.assert_close(negclip_loss(image, text, empty, 5.0), clip_loss(image, text, 5.0))


def test_hard_captions_only_raise_the_loss_and_duplicates_add_half_log_two():
    # The hard captions only add terms to the image-to-text denominators, so NegCLIP >= CLIP; a
    # copy of every caption doubles each denominator: +log 2 in that direction, +log(2)/2 in all.
    image, text, hard = torch.randn(3, 4, 8, dtype=torch.float64).unbind(0)
    plain = clip_loss(image, text, 20.0)
    assert negclip_loss(image, text, hard, 20.0) > plain
    torch.testing.assert_close(
        negclip_loss(image, text, text.clone(), 20.0) - plain,
        torch.tensor(0.5 * math.log(2), dtype=torch.float64),
    )


def test_negclip_bad_inputs():
    x = torch.randn(4, 8)
    with pytest.raises(ValueError, match=r"image and text must have the same shape"):
        negclip_loss(x, torch.randn(3, 8), x, 1.0)
    with pytest.raises(ValueError, match="hard_text must have width D=8"):
        negclip_loss(x, x, torch.randn(4, 7), 1.0)
    with pytest.raises(ValueError, match="logit_scale must be > 0"):
        negclip_loss(x, x, x, 0.0)
    with pytest.raises(TypeError, match=r"torch\.Tensor"):
        negclip_loss(x.numpy(), x, x, 1.0)
    with pytest.raises(ValueError, match="2-D"):
        negclip_loss(x, x, torch.randn(8), 1.0)


def test_negclip_module_learns_its_scale():
    criterion = NegCLIPLoss()
    criterion(*torch.randn(3, 4, 8).unbind(0)).backward()
    assert criterion.log_logit_scale.grad is not None
    assert math.isclose(criterion.log_logit_scale.item(), math.log(1 / 0.07), rel_tol=1e-6)


CAPTION = "a red circle left of a blue square"


def test_order_perturbations_keep_the_words_and_change_the_order():
    rng = np.random.default_rng(0)
    for perturb in (
        shuffle_nouns_and_adjectives,
        shuffle_all_but_nouns_and_adjectives,
        shuffle_within_trigrams,
        shuffle_trigrams,
    ):
        out = perturb(CAPTION, rng)
        assert sorted(out.split()) == sorted(CAPTION.split())
    fixed = shuffle_nouns_and_adjectives(CAPTION, rng).split()
    assert [w for i, w in enumerate(fixed) if i not in (1, 2, 6, 7)] == ["a", "left", "of", "a"]
    alternatives = order_alternatives(CAPTION, rng)
    assert len(alternatives) == 4 and all(a != CAPTION for a in alternatives)


def test_scene_hard_negatives_differ_from_the_caption():
    scene = Scene(ShapeObject("red", "circle"), "left of", ShapeObject("blue", "square"))
    rng = np.random.default_rng(1)
    negatives = {scene_hard_negative(scene, rng) for _ in range(40)}
    assert CAPTION not in negatives
    assert scene.swapped_relation().caption() in negatives
    assert scene.swapped_attributes().caption() in negatives


def test_aro_gives_an_order_blind_tower_ties_on_relation_and_attribution():
    pairs, scenes = shape_scene_pairs(30, seed=0)
    model = TwoTowerModel(
        SmallCNNImageTower(8, width=8), BagOfWordsTextTower(WordVocabulary.build(pairs.captions), 8)
    )
    metrics = aro_metrics(model, pairs, scenes)
    assert metrics["aro_relation"] == 0.0 and metrics["aro_relation_tie_rate"] == 1.0
    assert metrics["aro_attribution"] == 0.0 and metrics["aro_attribution_tie_rate"] == 1.0
    with pytest.raises(ValueError, match="one scene per pair"):
        aro_metrics(model, pairs, scenes[:-1])


def test_negclip_experiment_runs_both_methods_on_held_out_scenes():
    result = compare_negclip_with_clip(120, ClipTrainConfig(epochs=1, batch_size=32))
    assert set(result.metrics) == {"negclip", "clip"}
    assert result.train_size + result.test_size == 120
    for metrics in result.metrics.values():
        assert {"aro_order", "aro_relation", "aro_attribution", "i2t_R@1"} <= set(metrics)
