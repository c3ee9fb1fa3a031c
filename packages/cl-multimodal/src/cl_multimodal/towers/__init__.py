"""Image and text encoders ("towers") for two-tower models; each maps a batch to (B, D) features."""
