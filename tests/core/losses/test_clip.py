"""CLIP's symmetric cross-entropy (arXiv:2103.00020) against a loop, with label smoothing."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F

from cl_core.losses import CLIPLoss, clip_loss


def unit(v):
    return v / torch.sqrt(torch.sum(v * v, dim=-1, keepdim=True))


def loop_clip(image, text, scale, smoothing=0.0):
    """Per pair: mean over both directions of -sum_j q_j log softmax_j, q = (1-e) onehot + e / B."""
    x, y = unit(image), unit(text)
    b = len(x)
    per_pair = []
    for i in range(b):
        directions = []
        for anchors, candidates in ((x, y), (y, x)):
            logits = [scale * torch.dot(anchors[i], candidates[j]) for j in range(b)]
            log_total = torch.log(sum(torch.exp(v) for v in logits))
            loss = 0.0
            for j in range(b):
                target = (1 - smoothing) * (1.0 if j == i else 0.0) + smoothing / b
                loss = loss - target * (logits[j] - log_total)
            directions.append(loss)
        per_pair.append((directions[0] + directions[1]) / 2)
    return torch.stack(per_pair)


def pair(seed, b=5, d=4):
    generator = torch.Generator().manual_seed(seed)
    return (
        torch.randn(b, d, generator=generator, dtype=torch.float64),
        torch.randn(b, d, generator=generator, dtype=torch.float64),
    )


@pytest.mark.parametrize("scale", [1.0, 14.3, 50.0])
@pytest.mark.parametrize("smoothing", [0.0, 0.1, 0.5])
def test_matches_loop(scale, smoothing) -> None:
    image, text = pair(0)
    expected = loop_clip(image, text, scale, smoothing)
    got = clip_loss(image, text, scale, label_smoothing=smoothing, reduction="none")
    torch.testing.assert_close(got, expected)
    torch.testing.assert_close(
        clip_loss(image, text, scale, label_smoothing=smoothing, reduction="sum"), expected.sum()
    )


@pytest.mark.parametrize("smoothing", [0.0, 0.2])
def test_matches_torch_cross_entropy_with_label_smoothing(smoothing) -> None:
    image, text = pair(1, b=7)
    logits = 10.0 * unit(image) @ unit(text).T
    labels = torch.arange(7)
    expected = 0.5 * (
        F.cross_entropy(logits, labels, label_smoothing=smoothing)
        + F.cross_entropy(logits.T, labels, label_smoothing=smoothing)
    )
    torch.testing.assert_close(clip_loss(image, text, 10.0, label_smoothing=smoothing), expected)


def test_symmetric_under_swapping_modalities() -> None:
    image, text = pair(2)
    torch.testing.assert_close(
        clip_loss(image, text, 20.0, label_smoothing=0.1, reduction="none"),
        clip_loss(text, image, 20.0, label_smoothing=0.1, reduction="none"),
    )


def test_logit_scale_is_clipped_at_100() -> None:
    image, text = pair(3)
    torch.testing.assert_close(clip_loss(image, text, 250.0), clip_loss(image, text, 100.0))
    scale = torch.tensor(250.0, dtype=torch.float64, requires_grad=True)
    clip_loss(image, text, scale).backward()
    assert scale.grad.item() == 0.0


def test_gradients_match_finite_differences_including_the_scale() -> None:
    image, text = pair(4, b=3, d=3)
    scale = torch.tensor(5.0, dtype=torch.float64)
    inputs = (image.requires_grad_(), text.requires_grad_(), scale.requires_grad_())
    assert torch.autograd.gradcheck(lambda a, b, s: clip_loss(a, b, s, label_smoothing=0.1), inputs)


def test_module_starts_at_clip_temperature_and_learns_its_scale() -> None:
    module = CLIPLoss()
    assert module.log_logit_scale.item() == pytest.approx(math.log(1 / 0.07))
    image, text = pair(5)
    loss = module(image.float(), text.float())
    torch.testing.assert_close(loss, clip_loss(image.float(), text.float(), 1 / 0.07))
    loss.backward()
    assert module.log_logit_scale.grad is not None
    assert module.log_logit_scale.grad.item() != 0.0


def test_module_with_fixed_scale_has_no_parameters() -> None:
    module = CLIPLoss(initial_log_logit_scale=math.log(10.0), learnable_scale=False)
    assert list(module.parameters()) == []
    image, text = pair(6)
    torch.testing.assert_close(module(image, text), clip_loss(image, text, 10.0))


@pytest.mark.parametrize(
    ("image", "text", "kwargs", "error", "pattern"),
    [
        (torch.randn(4, 3), torch.randn(5, 3), {}, ValueError, "image and text must have the same"),
        (torch.randn(4, 3), torch.randn(4, 3), {"logit_scale": 0.0}, ValueError, "logit_scale"),
        (
            torch.randn(4, 3),
            torch.randn(4, 3),
            {"logit_scale": torch.tensor([1.0, 2.0])},
            ValueError,
            "logit_scale must be a scalar",
        ),
        (
            torch.randn(4, 3),
            torch.randn(4, 3),
            {"label_smoothing": 1.0},
            ValueError,
            "label_smoothing",
        ),
        (torch.randn(4), torch.randn(4), {}, ValueError, "image must be a 2-D"),
        (torch.randn(4, 3), torch.randn(4, 3), {"reduction": "x"}, ValueError, "reduction"),
    ],
)
def test_bad_inputs_raise_naming_the_argument(image, text, kwargs, error, pattern) -> None:
    arguments = {"logit_scale": 10.0, **kwargs}
    with pytest.raises(error, match=pattern):
        clip_loss(image, text, **arguments)


def test_module_rejects_bad_hyper_parameters() -> None:
    with pytest.raises(ValueError, match="label_smoothing"):
        CLIPLoss(label_smoothing=-0.1)
    with pytest.raises(ValueError, match="initial_log_logit_scale"):
        CLIPLoss(initial_log_logit_scale=float("nan"))
