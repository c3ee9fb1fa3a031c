"""CL2L and SiamLIP (improved baselines, arXiv:2305.08675) against loop references."""

from __future__ import annotations

import math

import pytest
import torch

from cl_core.losses import clip_loss
from cl_multimodal.clip_training import ClipTrainConfig, train_two_tower
from cl_multimodal.data.shapes import shape_scene_pairs
from cl_multimodal.ssl_addons import CL2LLoss, SiamLIPLoss, cl2l_loss, siamlip_loss
from cl_multimodal.ssl_two_tower import SSLTwoTowerModel
from cl_multimodal.towers.image import SmallCNNImageTower
from cl_multimodal.towers.text_small import BagOfWordsTextTower
from cl_multimodal.towers.vocabulary import WordVocabulary
from cl_multimodal.two_tower import TwoTowerModel


def _direction_loop(anchors, candidates, scale, smoothing):
    """Mean over rows of the smoothed cross-entropy of row i against candidate i."""
    batch = anchors.shape[0]
    total = 0.0
    for i in range(batch):
        a = anchors[i] / anchors[i].norm()
        logits = [scale * a @ (c / c.norm()) for c in candidates]
        log_norm = torch.logsumexp(torch.stack(logits), 0)
        for j in range(batch):
            target = (1 - smoothing) * (i == j) + smoothing / batch
            total = total - target * (logits[j] - log_norm)
    return total / batch


def _cl2l_loop(image, text, image_local, text_local, scale, smoothing, local_smoothing):
    n_aug = image_local.shape[0]
    image_side = _direction_loop(image, text, scale, smoothing)
    text_side = _direction_loop(text, image, scale, smoothing)
    for k in range(n_aug):
        image_side = image_side + _direction_loop(
            image_local[k], text_local[k], scale, local_smoothing
        )
        text_side = text_side + _direction_loop(
            text_local[k], image_local[k], scale, local_smoothing
        )
    return 0.5 * (image_side / (1 + n_aug) + text_side / (1 + n_aug))


def _siamlip_loop(p_image, p_text, image, text):
    total = 0.0
    for i in range(image.shape[0]):
        total = total + p_image[i] @ text[i] / (p_image[i].norm() * text[i].norm())
        total = total + p_text[i] @ image[i] / (p_text[i].norm() * image[i].norm())
    return -total / (2 * image.shape[0])


def test_cl2l_matches_loop_reference():
    g = torch.Generator().manual_seed(0)
    x, y = torch.randn(5, 4, generator=g), torch.randn(5, 4, generator=g)
    xl, yl = torch.randn(2, 5, 4, generator=g), torch.randn(2, 5, 4, generator=g)
    got = cl2l_loss(x, y, xl, yl, 3.0, label_smoothing=0.05, local_label_smoothing=0.1)
    expected = _cl2l_loop(x, y, xl, yl, 3.0, 0.05, 0.1)
    torch.testing.assert_close(got, expected, rtol=1e-5, atol=1e-5)


def test_cl2l_gradients_pass_gradcheck():
    g = torch.Generator().manual_seed(1)
    inputs = (
        torch.randn(3, 4, generator=g, dtype=torch.float64, requires_grad=True),
        torch.randn(3, 4, generator=g, dtype=torch.float64, requires_grad=True),
        torch.randn(2, 3, 4, generator=g, dtype=torch.float64, requires_grad=True),
        torch.randn(2, 3, 4, generator=g, dtype=torch.float64, requires_grad=True),
    )
    assert torch.autograd.gradcheck(lambda *a: cl2l_loss(*a, logit_scale=2.0), inputs)
    loop = _cl2l_loop(*inputs, 2.0, 0.0, 0.1)
    grads = torch.autograd.grad(loop, inputs)
    ours = torch.autograd.grad(cl2l_loss(*inputs, logit_scale=2.0), inputs)
    for a, b in zip(ours, grads, strict=True):
        torch.testing.assert_close(a, b)


def test_cl2l_without_views_equals_clip():
    x, y = torch.randn(6, 8), torch.randn(6, 8)
    empty = torch.empty(0, 6, 8)
    torch.testing.assert_close(
        cl2l_loss(x, y, empty, empty, 5.0, label_smoothing=0.1),
        clip_loss(x, y, 5.0, label_smoothing=0.1),
    )


def test_cl2l_with_identical_views_averages_global_and_smoothed_local():
    x, y = torch.randn(4, 8), torch.randn(4, 8)
    views = (x.expand(3, 4, 8), y.expand(3, 4, 8))
    expected = (clip_loss(x, y, 5.0) + 3 * clip_loss(x, y, 5.0, label_smoothing=0.1)) / 4
    torch.testing.assert_close(cl2l_loss(x, y, *views, 5.0), expected)


def test_cl2l_rejects_bad_inputs():
    x = torch.randn(4, 8)
    views = torch.randn(1, 4, 8)
    with pytest.raises(ValueError, match=r"image_local must have shape \(n_aug, B, D\)"):
        cl2l_loss(x, x, x, x, 1.0)
    with pytest.raises(ValueError, match=r"image_local must have shape \(n_aug, 4, 8\)"):
        cl2l_loss(x, x, torch.randn(1, 3, 8), torch.randn(1, 3, 8), 1.0)
    with pytest.raises(ValueError, match="local_label_smoothing must lie in"):
        cl2l_loss(x, x, views, views, 1.0, local_label_smoothing=1.0)
    with pytest.raises(ValueError, match="image and text must have the same shape"):
        cl2l_loss(x, torch.randn(4, 7), views, views, 1.0)
    with pytest.raises(TypeError, match=r"image must be a torch\.Tensor"):
        cl2l_loss(x.tolist(), x, views, views, 1.0)


def test_siamlip_matches_loop_and_gradcheck():
    g = torch.Generator().manual_seed(2)
    inputs = [torch.randn(3, 4, generator=g, dtype=torch.float64) for _ in range(4)]
    torch.testing.assert_close(siamlip_loss(*inputs), _siamlip_loop(*inputs))
    predictions = [t.clone().requires_grad_() for t in inputs[:2]]
    assert torch.autograd.gradcheck(
        lambda p, q: siamlip_loss(p, q, inputs[2], inputs[3]), predictions
    )


def test_siamlip_stops_gradient_at_targets_and_reaches_minus_one_when_aligned():
    image = torch.randn(4, 8, requires_grad=True)
    text = torch.randn(4, 8, requires_grad=True)
    prediction = torch.randn(4, 8, requires_grad=True)
    siamlip_loss(prediction, prediction, image, text).backward()
    assert image.grad is None and text.grad is None
    assert prediction.grad is not None
    aligned = siamlip_loss(2 * text, 3 * image, image, text)
    assert math.isclose(aligned.item(), -1.0, abs_tol=1e-6)


def test_siamlip_rejects_mismatched_shapes():
    with pytest.raises(ValueError, match="predictions and targets must have the same shape"):
        siamlip_loss(torch.randn(4, 8), torch.randn(4, 8), torch.randn(4, 6), torch.randn(4, 6))


def test_modules_run_and_train_their_projectors():
    cl2l, siam = CL2LLoss(8), SiamLIPLoss(8)
    loss = cl2l(
        torch.randn(4, 8), torch.randn(4, 8), torch.randn(2, 4, 8), torch.randn(2, 4, 8), 5.0
    ) + siam(torch.randn(4, 8), torch.randn(4, 8))
    loss.backward()
    assert cl2l.image_projector.layers[0].weight.grad is not None
    assert siam.text_predictor.layers[0].weight.grad is not None


def _towers(captions):
    vocab = WordVocabulary.build(captions)
    return SmallCNNImageTower(16), BagOfWordsTextTower(vocab, 16)


def test_ssl_model_without_views_equals_clip_model():
    pairs, _ = shape_scene_pairs(8, seed=0, size=32)
    images, captions = pairs.float_images(), list(pairs.captions)
    image_tower, text_tower = _towers(captions)
    ssl = SSLTwoTowerModel(image_tower, text_tower, 16, addon="cl2l", n_aug=0)
    plain = TwoTowerModel(image_tower, text_tower)
    torch.testing.assert_close(ssl.loss(images, captions), plain.loss(images, captions))


def test_ssl_model_rejects_bad_settings():
    image_tower, text_tower = _towers(["a red circle"])
    with pytest.raises(ValueError, match="addon must be 'cl2l' or 'siamlip'"):
        SSLTwoTowerModel(image_tower, text_tower, 16, addon="barlip")
    with pytest.raises(ValueError, match="n_aug must be >= 0"):
        SSLTwoTowerModel(image_tower, text_tower, 16, n_aug=-1)


@pytest.mark.parametrize("addon", ["cl2l", "siamlip"])
def test_ssl_model_trains_in_the_clip_loop(addon):
    pairs, _ = shape_scene_pairs(32, seed=0, size=32)
    model = SSLTwoTowerModel(*_towers(list(pairs.captions)), 16, addon=addon, n_aug=1)
    stats = train_two_tower(model, pairs, ClipTrainConfig(epochs=3, batch_size=16, lr=5e-3))
    assert all(math.isfinite(v) for v in stats.epoch_losses)
    assert stats.epoch_losses[-1] < stats.epoch_losses[0]
