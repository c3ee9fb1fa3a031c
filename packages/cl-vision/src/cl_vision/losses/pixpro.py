r"""PixPro: pixel-level contrast and pixel-to-propagation consistency with known crop geometry.

Xie, Lin, Zhang, Cao, Lin, Hu, "Propagate Yourself: Exploring Pixel-Level Consistency for
Unsupervised Visual Representation Learning", CVPR 2021, arXiv:2011.10043.

Each view is a crop ``box = (x0, y0, x1, y1)`` of the image in normalised coordinates
(``[0, 1]``; a horizontally flipped view has ``x0 > x1``). Feature-map bin ``(r, c)`` of an
``H x W`` map has image centre :math:`(x_0 + (c + \tfrac12)(x_1 - x_0)/W,\;
y_0 + (r + \tfrac12)(y_1 - y_0)/H)`. Bins ``i`` of view 1 and ``j`` of view 2 are a positive pair
when :math:`\mathrm{dist}(i, j) / \max(d_1, d_2) < T` with :math:`d` the bin diagonals and
:math:`T = 0.7`.

* PixContrast: :math:`\ell_i = -\log \frac{\sum_{j \in P(i)} e^{\cos(x_i, x'_j)/\tau}}
  {\sum_{k} e^{\cos(x_i, x'_k)/\tau}}` over all pixels ``k`` of the other view in the batch,
  :math:`\tau = 0.3`, averaged over the pixels that have a positive.
* Pixel propagation (PPM): :math:`y_i = \sum_j \max(\cos(x_i, x_j), 0)^{\gamma}\, g(x_j)`,
  :math:`\gamma = 2`, ``g`` a 1x1 convolution.
* PixPro consistency: :math:`\mathcal{L} = -\operatorname{mean}_{(i, j) \in P} \cos(y_i, x'_j)`
  per image (``x'`` from the momentum encoder, no gradient there in training), then over the
  batch; the paper sums this term over both view orders.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor, nn

DEFAULT_THRESHOLD = 0.7


def _check_boxes(boxes: Tensor, name: str) -> None:
    if not isinstance(boxes, Tensor) or not boxes.is_floating_point():
        raise TypeError(f"{name} must be a floating-point tensor, got {type(boxes).__name__}")
    if boxes.ndim != 2 or boxes.shape[1] != 4:
        raise ValueError(
            f"{name} must have shape (N, 4) as (x0, y0, x1, y1), got {tuple(boxes.shape)}"
        )
    if bool(((boxes[:, 2] - boxes[:, 0]) == 0).any() or ((boxes[:, 3] - boxes[:, 1]) <= 0).any()):
        raise ValueError(f"{name} must have x1 != x0 and y1 > y0 in every row")


def _check_map_size(map_size: tuple[int, int]) -> None:
    if (
        not isinstance(map_size, tuple)
        or len(map_size) != 2
        or not all(isinstance(s, int) and not isinstance(s, bool) and s > 0 for s in map_size)
    ):
        raise ValueError(
            f"map_size must be a (height, width) tuple of positive ints, got {map_size!r}"
        )


def _check_maps(features: Tensor, name: str) -> None:
    if not isinstance(features, Tensor) or not features.is_floating_point():
        raise TypeError(f"{name} must be a floating-point tensor, got {type(features).__name__}")
    if features.ndim != 4:
        raise ValueError(f"{name} must have shape (N, C, H, W), got {tuple(features.shape)}")


def _check_mask(mask: Tensor, n: int, rows: int, cols: int) -> None:
    if not isinstance(mask, Tensor) or mask.dtype != torch.bool:
        raise TypeError(
            f"positive_mask must be a bool tensor, got {getattr(mask, 'dtype', type(mask))}"
        )
    if tuple(mask.shape) != (n, rows, cols):
        raise ValueError(
            f"positive_mask must have shape (N, H1*W1, H2*W2) = {(n, rows, cols)}, "
            f"got {tuple(mask.shape)}"
        )


def bin_centres(boxes: Tensor, map_size: tuple[int, int]) -> tuple[Tensor, Tensor]:
    """Image coordinates of the feature-map bin centres of each crop, and each crop's bin diagonal.

    Args:
        boxes: (N, 4) crops ``(x0, y0, x1, y1)`` in normalised image coordinates.
        map_size: ``(H, W)`` of the feature map.

    Returns:
        ``(centres, diagonals)`` of shapes (N, H*W, 2) (``(x, y)``, row-major bins) and (N,).

    Example:
        >>> centres, diag = bin_centres(torch.tensor([[0.0, 0.0, 1.0, 1.0]]), (2, 2))
        >>> centres[0, 0].tolist()
        [0.25, 0.25]
    """
    _check_boxes(boxes, "boxes")
    _check_map_size(map_size)
    height, width = map_size
    step_x = (boxes[:, 2] - boxes[:, 0]) / width
    step_y = (boxes[:, 3] - boxes[:, 1]) / height
    cols = torch.arange(width, dtype=boxes.dtype, device=boxes.device) + 0.5
    rows = torch.arange(height, dtype=boxes.dtype, device=boxes.device) + 0.5
    x = boxes[:, 0, None] + cols[None, :] * step_x[:, None]
    y = boxes[:, 1, None] + rows[None, :] * step_y[:, None]
    centres = torch.stack(
        (x[:, None, :].expand(-1, height, -1), y[:, :, None].expand(-1, -1, width)), dim=-1
    )
    diagonals = torch.sqrt(step_x**2 + step_y**2)
    return centres.reshape(len(boxes), height * width, 2), diagonals


def pixpro_positive_mask(
    boxes_a: Tensor,
    boxes_b: Tensor,
    map_size_a: tuple[int, int],
    map_size_b: tuple[int, int] | None = None,
    threshold: float = DEFAULT_THRESHOLD,
) -> Tensor:
    """Which bins of view A and view B of the same image look at nearby image points.

    Args:
        boxes_a, boxes_b: (N, 4) crops of the two views (flipped views have ``x0 > x1``).
        map_size_a: ``(H1, W1)`` of view A's feature map.
        map_size_b: ``(H2, W2)`` of view B's map; defaults to ``map_size_a``.
        threshold: ``T > 0``; a pair is positive when its centre distance divided by the larger
            bin diagonal is below ``T``.

    Returns:
        (N, H1*W1, H2*W2) bool mask.

    Example:
        >>> box = torch.tensor([[0.0, 0.0, 1.0, 1.0]])
        >>> pixpro_positive_mask(box, box, (2, 2))[0].int().tolist()
        [[1, 0, 0, 0], [0, 1, 0, 0], [0, 0, 1, 0], [0, 0, 0, 1]]
    """
    if not isinstance(threshold, (int, float)) or isinstance(threshold, bool) or threshold <= 0:
        raise ValueError(f"threshold must be a positive number, got {threshold!r}")
    _check_boxes(boxes_b, "boxes_b")
    if boxes_a.shape[0] != boxes_b.shape[0]:
        raise ValueError(
            f"boxes_a and boxes_b must have the same N, "
            f"got {boxes_a.shape[0]} and {boxes_b.shape[0]}"
        )
    centres_a, diag_a = bin_centres(boxes_a, map_size_a)
    centres_b, diag_b = bin_centres(boxes_b, map_size_b or map_size_a)
    distance = torch.cdist(centres_a, centres_b)
    scale = torch.maximum(diag_a, diag_b)[:, None, None]
    return (distance / scale) < threshold


def random_crop_boxes(
    n: int,
    generator: torch.Generator,
    *,
    scale: tuple[float, float] = (0.35, 1.0),
    ratio: tuple[float, float] = (3 / 4, 4 / 3),
    flip_probability: float = 0.5,
) -> Tensor:
    """Random resized crops inside the image, as (N, 4) boxes; flipped crops have ``x0 > x1``.

    Args:
        n: Number of boxes.
        generator: Random generator (the crops are reproducible from it).
        scale: Range of the crop area as a fraction of the image, within (0, 1].
        ratio: Range of the aspect ratio (width / height), sampled log-uniformly.
        flip_probability: Probability of a horizontal flip.

    Returns:
        (N, 4) float32 boxes.
    """
    if not 0 < scale[0] <= scale[1] <= 1:
        raise ValueError(f"scale must satisfy 0 < low <= high <= 1, got {scale!r}")
    if not 0 < ratio[0] <= ratio[1]:
        raise ValueError(f"ratio must satisfy 0 < low <= high, got {ratio!r}")
    if not 0 <= flip_probability <= 1:
        raise ValueError(f"flip_probability must lie in [0, 1], got {flip_probability!r}")
    area = scale[0] + (scale[1] - scale[0]) * torch.rand(n, generator=generator)
    log_low, log_high = math.log(ratio[0]), math.log(ratio[1])
    aspect = (log_low + (log_high - log_low) * torch.rand(n, generator=generator)).exp()
    width = (area * aspect).sqrt().clamp(max=1.0)
    height = (area / aspect).sqrt().clamp(max=1.0)
    x0 = torch.rand(n, generator=generator) * (1 - width)
    y0 = torch.rand(n, generator=generator) * (1 - height)
    boxes = torch.stack((x0, y0, x0 + width, y0 + height), dim=1)
    flip = torch.rand(n, generator=generator) < flip_probability
    boxes[flip] = boxes[flip][:, [2, 1, 0, 3]]
    return boxes


def crop_views(images: Tensor, boxes: Tensor, size: tuple[int, int] | None = None) -> Tensor:
    """Resample each image's crop box to ``size`` (bilinear; flipped boxes give flipped views).

    Args:
        images: (N, C, H, W) images.
        boxes: (N, 4) crops in normalised image coordinates.
        size: Output ``(height, width)``; defaults to the input size.

    Returns:
        (N, C, *size) views.
    """
    _check_maps(images, "images")
    _check_boxes(boxes, "boxes")
    if boxes.shape[0] != images.shape[0]:
        raise ValueError(
            f"boxes must have one row per image ({images.shape[0]}), got {boxes.shape[0]}"
        )
    out_h, out_w = size or tuple(images.shape[-2:])
    theta = torch.zeros(len(boxes), 2, 3, dtype=images.dtype, device=images.device)
    theta[:, 0, 0] = boxes[:, 2] - boxes[:, 0]
    theta[:, 0, 2] = boxes[:, 0] + boxes[:, 2] - 1
    theta[:, 1, 1] = boxes[:, 3] - boxes[:, 1]
    theta[:, 1, 2] = boxes[:, 1] + boxes[:, 3] - 1
    grid = F.affine_grid(theta, [len(boxes), images.shape[1], out_h, out_w], align_corners=False)
    return F.grid_sample(images, grid, mode="bilinear", align_corners=False)


def pixel_propagation(features: Tensor, values: Tensor, gamma: float = 2.0) -> Tensor:
    r"""PixPro's pixel propagation :math:`y_i = \sum_j \max(\cos(x_i, x_j), 0)^{\gamma} v_j`.

    Args:
        features: (N, C, H, W) maps ``x`` that define the similarities.
        values: (N, C', H, W) maps ``v = g(x)`` that are propagated.
        gamma: Sharpness :math:`\gamma > 0` (2 in the paper).

    Returns:
        (N, C', H, W) propagated maps (not normalised).

    Example:
        >>> x = torch.randn(2, 8, 3, 3)
        >>> pixel_propagation(x, x).shape
        torch.Size([2, 8, 3, 3])
    """
    _check_maps(features, "features")
    _check_maps(values, "values")
    if features.shape[0] != values.shape[0] or features.shape[2:] != values.shape[2:]:
        raise ValueError(
            f"features and values must share N, H, W, "
            f"got {tuple(features.shape)} and {tuple(values.shape)}"
        )
    if not isinstance(gamma, (int, float)) or isinstance(gamma, bool) or gamma <= 0:
        raise ValueError(f"gamma must be a positive number, got {gamma!r}")
    x = F.normalize(features.flatten(2), dim=1)
    similarity = torch.einsum("nci,ncj->nij", x, x).clamp(min=0).pow(gamma)
    propagated = torch.einsum("nij,ncj->nci", similarity, values.flatten(2))
    return propagated.reshape(values.shape)


def _flat_normalised(features: Tensor) -> Tensor:
    return F.normalize(features.flatten(2).transpose(1, 2), dim=-1)


def pixel_contrast_loss(
    query: Tensor, key: Tensor, positive_mask: Tensor, temperature: float = 0.3
) -> Tensor:
    r"""PixContrast: multi-positive InfoNCE over pixels (negatives: all other pixels of the batch).

    Args:
        query: (N, C, H1, W1) view-1 feature maps.
        key: (N, C, H2, W2) view-2 feature maps.
        positive_mask: (N, H1*W1, H2*W2) bool, from :func:`pixpro_positive_mask`.
        temperature: :math:`\tau > 0` (0.3 in the paper).

    Returns:
        Scalar: the mean of :math:`\ell_i` over query pixels with at least one positive.

    Raises:
        ValueError: Bad shapes, a non-positive temperature or no query pixel with a positive.
    """
    _check_maps(query, "query")
    _check_maps(key, "key")
    if query.shape[:2] != key.shape[:2]:
        raise ValueError(
            f"query and key must share N and C, got {tuple(query.shape)} and {tuple(key.shape)}"
        )
    if (
        not isinstance(temperature, (int, float))
        or isinstance(temperature, bool)
        or temperature <= 0
    ):
        raise ValueError(f"temperature must be a positive number, got {temperature!r}")
    n = query.shape[0]
    q, k = _flat_normalised(query), _flat_normalised(key)
    _check_mask(positive_mask, n, q.shape[1], k.shape[1])
    logits = q.reshape(-1, q.shape[-1]) @ k.reshape(-1, k.shape[-1]).T / temperature
    eye = torch.eye(n, dtype=torch.bool, device=query.device)
    full_mask = (eye[:, None, :, None] & positive_mask[:, :, None, :]).reshape(logits.shape)
    has_positive = full_mask.any(dim=1)
    if not bool(has_positive.any()):
        raise ValueError("positive_mask has no positive pair; the views do not overlap")
    positive = torch.logsumexp(logits.masked_fill(~full_mask, float("-inf")), dim=1)
    losses = torch.logsumexp(logits, dim=1) - positive
    return losses[has_positive].mean()


def pixel_consistency_loss(propagated: Tensor, key: Tensor, positive_mask: Tensor) -> Tensor:
    r"""PixPro consistency: minus the mean cosine of positive pairs, per image, then over images.

    Args:
        propagated: (N, C, H1, W1) propagated view-1 maps ``y`` (:func:`pixel_propagation`).
        key: (N, C, H2, W2) view-2 maps ``x'`` (momentum encoder; detach it in training).
        positive_mask: (N, H1*W1, H2*W2) bool, from :func:`pixpro_positive_mask`.

    Returns:
        Scalar in ``[-1, 1]``; images without a positive pair contribute 0 (as in the paper's code).
    """
    _check_maps(propagated, "propagated")
    _check_maps(key, "key")
    if propagated.shape[:2] != key.shape[:2]:
        raise ValueError(
            f"propagated and key must share N and C, "
            f"got {tuple(propagated.shape)} and {tuple(key.shape)}"
        )
    y, k = _flat_normalised(propagated), _flat_normalised(key)
    _check_mask(positive_mask, y.shape[0], y.shape[1], k.shape[1])
    cosine = torch.einsum("nic,njc->nij", y, k)
    weights = positive_mask.to(cosine.dtype)
    per_image = (cosine * weights).sum(dim=(1, 2)) / weights.sum(dim=(1, 2)).clamp(min=1)
    return -per_image.mean()


class PixelPropagation(nn.Module):
    """Pixel propagation module: ``g`` (a 1x1 convolution) plus :func:`pixel_propagation`.

    Shapes:
        ``(N, C, H, W) -> (N, C, H, W)``.

    Example:
        >>> PixelPropagation(8)(torch.randn(2, 8, 3, 3)).shape
        torch.Size([2, 8, 3, 3])
    """

    def __init__(self, channels: int, gamma: float = 2.0) -> None:
        super().__init__()
        if isinstance(channels, bool) or not isinstance(channels, int) or channels < 1:
            raise ValueError(f"channels must be a positive int, got {channels!r}")
        self.transform = nn.Conv2d(channels, channels, kernel_size=1)
        self.gamma = gamma

    def forward(self, features: Tensor) -> Tensor:
        return pixel_propagation(features, self.transform(features), self.gamma)


class PixelContrastLoss(nn.Module):
    """Module form of :func:`pixel_contrast_loss`."""

    def __init__(self, temperature: float = 0.3) -> None:
        super().__init__()
        self.temperature = temperature

    def forward(self, query: Tensor, key: Tensor, positive_mask: Tensor) -> Tensor:
        return pixel_contrast_loss(query, key, positive_mask, self.temperature)


class PixelConsistencyLoss(nn.Module):
    """Module form of :func:`pixel_consistency_loss`."""

    def forward(self, propagated: Tensor, key: Tensor, positive_mask: Tensor) -> Tensor:
        return pixel_consistency_loss(propagated, key, positive_mask)
