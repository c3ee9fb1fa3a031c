"""PixPro geometry and losses against loop references written from the paper's formulas."""

from __future__ import annotations

import math

import pytest
import torch

from cl_vision.losses import (
    PixelPropagation,
    crop_views,
    pixel_consistency_loss,
    pixel_contrast_loss,
    pixel_propagation,
    pixpro_positive_mask,
    random_crop_boxes,
)

FULL = torch.tensor([[0.0, 0.0, 1.0, 1.0]])


def _cos(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    return (a @ b) / (a.norm() * b.norm())


def _pixels(maps: torch.Tensor, n: int) -> list[torch.Tensor]:
    return [maps[n, :, r, c] for r in range(maps.shape[2]) for c in range(maps.shape[3])]


def _contrast_reference(q, k, mask, tau):
    losses = []
    for n in range(q.shape[0]):
        for i, qi in enumerate(_pixels(q, n)):
            if not mask[n, i].any():
                continue
            total, positive = 0.0, 0.0
            for m in range(k.shape[0]):
                for j, kj in enumerate(_pixels(k, m)):
                    e = torch.exp(_cos(qi, kj) / tau)
                    total = total + e
                    if m == n and mask[n, i, j]:
                        positive = positive + e
            losses.append(-torch.log(positive / total))
    return torch.stack(losses).mean()


def _consistency_reference(y, k, mask):
    per_image = []
    for n in range(y.shape[0]):
        terms = [
            _cos(yi, kj)
            for i, yi in enumerate(_pixels(y, n))
            for j, kj in enumerate(_pixels(k, n))
            if mask[n, i, j]
        ]
        per_image.append(torch.stack(terms).mean() if terms else y.new_zeros(()))
    return -torch.stack(per_image).mean()


def _propagation_reference(x, v, gamma):
    out = torch.zeros_like(v)
    h, w = x.shape[2:]
    for n in range(x.shape[0]):
        xs, vs = _pixels(x, n), _pixels(v, n)
        for i in range(h * w):
            acc = sum(_cos(xs[i], xs[j]).clamp(min=0) ** gamma * vs[j] for j in range(h * w))
            out[n, :, i // w, i % w] = acc
    return out


def test_mask_identical_crops_is_diagonal() -> None:
    mask = pixpro_positive_mask(FULL, FULL, (3, 3))
    assert torch.equal(mask[0], torch.eye(9, dtype=torch.bool))


def test_mask_known_shift_and_flip() -> None:
    shifted = torch.tensor([[0.5, 0.0, 1.5, 1.0]])
    mask = pixpro_positive_mask(FULL, shifted, (2, 2))[0]
    expected = torch.zeros(4, 4, dtype=torch.bool)
    expected[1, 0] = expected[3, 2] = True  # bin (r, 1) of the full view = bin (r, 0) shifted
    assert torch.equal(mask, expected)
    flipped = torch.tensor([[1.0, 0.0, 0.0, 1.0]])
    mask = pixpro_positive_mask(FULL, flipped, (2, 2))[0]
    expected = torch.zeros(4, 4, dtype=torch.bool)
    for r in range(2):
        for c in range(2):
            expected[2 * r + c, 2 * r + 1 - c] = True
    assert torch.equal(mask, expected)


def test_crop_views_match_boxes() -> None:
    images = torch.arange(16.0).reshape(1, 1, 4, 4)
    left_half = crop_views(images, torch.tensor([[0.0, 0.0, 0.5, 1.0]]), (4, 2))
    assert torch.allclose(left_half, images[..., :2])
    flipped = crop_views(images, torch.tensor([[1.0, 0.0, 0.0, 1.0]]))
    assert torch.allclose(flipped, images.flip(-1))
    boxes = random_crop_boxes(5, torch.Generator().manual_seed(0), flip_probability=1.0)
    assert bool((boxes[:, 0] > boxes[:, 2]).all())


def test_losses_match_loop_references() -> None:
    torch.manual_seed(0)
    q, k = torch.randn(2, 3, 2, 2), torch.randn(2, 3, 2, 2)
    boxes_a = torch.tensor([[0.0, 0.0, 1.0, 1.0], [0.0, 0.0, 0.6, 0.6]])
    boxes_b = torch.tensor([[0.3, 0.0, 1.0, 0.8], [0.2, 0.1, 0.9, 1.0]])
    mask = pixpro_positive_mask(boxes_a, boxes_b, (2, 2))
    assert mask.any() and not mask.all()
    got = pixel_contrast_loss(q, k, mask, 0.3)
    assert torch.allclose(got, _contrast_reference(q, k, mask, 0.3), atol=1e-5)
    got = pixel_consistency_loss(q, k, mask)
    assert torch.allclose(got, _consistency_reference(q, k, mask), atol=1e-5)
    v = torch.randn(2, 4, 2, 2)
    assert torch.allclose(
        pixel_propagation(q, v, 2.0), _propagation_reference(q, v, 2.0), atol=1e-5
    )


def test_gradcheck_float64() -> None:
    torch.manual_seed(1)
    q = torch.randn(2, 3, 2, 2, dtype=torch.float64, requires_grad=True)
    k = torch.randn(2, 3, 2, 2, dtype=torch.float64, requires_grad=True)
    mask = pixpro_positive_mask(
        FULL.repeat(2, 1).double(), torch.tensor([[0.2, 0.0, 1.0, 1.0]] * 2).double(), (2, 2)
    )
    assert torch.autograd.gradcheck(lambda a, b: pixel_contrast_loss(a, b, mask, 0.3), (q, k))
    assert torch.autograd.gradcheck(lambda a, b: pixel_consistency_loss(a, b, mask), (q, k))
    assert torch.autograd.gradcheck(lambda a, b: pixel_propagation(a, b, 2.0), (q, k))


def test_paper_properties() -> None:
    torch.manual_seed(2)
    x = torch.randn(2, 4, 3, 3)
    mask = pixpro_positive_mask(FULL.repeat(2, 1), FULL.repeat(2, 1), (3, 3))
    assert math.isclose(pixel_consistency_loss(x, x, mask).item(), -1.0, abs_tol=1e-5)
    anti = torch.tensor([[1.0, -1.0], [1.0, -1.0]]).reshape(1, 2, 1, 2)  # cos = -1
    propagated = pixel_propagation(anti, torch.tensor([[[[1.0, 10.0]]]]), 2.0)
    assert torch.allclose(propagated, torch.tensor([[[[1.0, 10.0]]]]))  # negative cos ignored
    assert PixelPropagation(4)(x).shape == x.shape


def test_bad_inputs() -> None:
    x = torch.randn(1, 2, 2, 2)
    mask = pixpro_positive_mask(FULL, FULL, (2, 2))
    with pytest.raises(ValueError, match="boxes"):
        pixpro_positive_mask(torch.zeros(1, 3), FULL, (2, 2))
    with pytest.raises(ValueError, match="x1 != x0"):
        pixpro_positive_mask(torch.tensor([[0.5, 0.0, 0.5, 1.0]]), FULL, (2, 2))
    with pytest.raises(ValueError, match="threshold"):
        pixpro_positive_mask(FULL, FULL, (2, 2), threshold=0.0)
    with pytest.raises(ValueError, match="map_size"):
        pixpro_positive_mask(FULL, FULL, (2, 0))
    with pytest.raises(ValueError, match="positive_mask"):
        pixel_contrast_loss(x, x, mask[:, :3])
    with pytest.raises(TypeError, match="positive_mask"):
        pixel_consistency_loss(x, x, mask.float())
    with pytest.raises(ValueError, match="temperature"):
        pixel_contrast_loss(x, x, mask, 0.0)
    with pytest.raises(ValueError, match="no positive"):
        pixel_contrast_loss(x, x, torch.zeros_like(mask))
    with pytest.raises(ValueError, match="gamma"):
        pixel_propagation(x, x, -1.0)
    with pytest.raises(ValueError, match=r"\(N, C, H, W\)"):
        pixel_propagation(x[0], x[0])
