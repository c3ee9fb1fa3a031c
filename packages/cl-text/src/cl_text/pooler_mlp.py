r"""SimCSE's training-only MLP over the pooled sentence embedding.

Gao, Yao, Chen, "SimCSE", EMNLP 2021, arXiv:2104.08821 (Sec. 3 and Appendix "Different pooling
methods"): the contrastive loss is computed on :math:`z = \tanh(W h + b)`, an MLP with one hidden
layer over the pooled representation :math:`h` (``[CLS]`` in the paper; here the model's own
pooling, e.g. mean pooling for all-MiniLM-L6-v2). Unsupervised SimCSE uses it only in training
(``--mlp_only_train``) and encodes with :math:`h` at test time. The MLP sits in the training module,
not in the ``SentenceTransformer``, so the saved model never contains it.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn


class PoolerMLP(nn.Module):
    r""":math:`z = \tanh(W h + b)` with a square (D, D) ``W`` (SimCSE's ``MLPLayer``).

    Args:
        dim: width D of the pooled embedding.

    Shapes:
        (N, D) -> (N, D).

    Example:
        >>> PoolerMLP(8)(torch.randn(4, 8)).shape
        torch.Size([4, 8])
    """

    def __init__(self, dim: int) -> None:
        super().__init__()
        if isinstance(dim, bool) or not isinstance(dim, int) or dim < 1:
            raise ValueError(f"dim must be a positive int, got {dim!r}")
        self.dense = nn.Linear(dim, dim)

    def forward(self, pooled: Tensor) -> Tensor:
        """The MLP output of (N, D) pooled embeddings."""
        if pooled.ndim != 2 or pooled.shape[1] != self.dense.in_features:
            raise ValueError(
                f"pooled must be (N, {self.dense.in_features}), got {tuple(pooled.shape)}"
            )
        return torch.tanh(self.dense(pooled))
