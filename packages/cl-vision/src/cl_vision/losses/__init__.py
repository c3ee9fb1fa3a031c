"""Dense (pixel-level) contrastive losses on feature maps."""

from cl_vision.losses.pixpro import (
    PixelConsistencyLoss,
    PixelContrastLoss,
    PixelPropagation,
    bin_centres,
    crop_views,
    pixel_consistency_loss,
    pixel_contrast_loss,
    pixel_propagation,
    pixpro_positive_mask,
    random_crop_boxes,
)

__all__ = [
    "PixelConsistencyLoss",
    "PixelContrastLoss",
    "PixelPropagation",
    "bin_centres",
    "crop_views",
    "pixel_consistency_loss",
    "pixel_contrast_loss",
    "pixel_propagation",
    "pixpro_positive_mask",
    "random_crop_boxes",
]
