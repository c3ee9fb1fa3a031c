r"""A FIFO feature queue (memory bank / support set) and NNCLR's nearest-neighbour lookup.

Queue of past embeddings as negatives: He et al., "Momentum Contrast for Unsupervised Visual
Representation Learning" (MoCo), CVPR 2020, arXiv:1911.05722. Nearest-neighbour positives from a
support set: Dwibedi, Aytar, Tompson, Sermanet, Zisserman, "With a Little Help from My Friends:
Nearest-Neighbor Contrastive Learning of Visual Representations" (NNCLR), ICCV 2021,
arXiv:2104.14548.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from cl_core.validation import check_embeddings, check_same_width


class FeatureQueue(nn.Module):
    """A fixed-size first-in-first-out queue of embeddings held in a registered buffer.

    ``enqueue`` writes a batch at the write pointer and wraps around, overwriting the oldest
    rows once the queue is full; a batch larger than the queue keeps only its last ``size`` rows.
    Stored rows are detached copies (no gradient flows into the queue) cast to the queue's dtype.
    The buffers move with ``.to(device)`` and are saved in the ``state_dict``.

    Args:
        size: Capacity in rows (>= 1).
        dim: Embedding width D (>= 1).
        dtype: Storage dtype.

    Example:
        >>> import torch
        >>> queue = FeatureQueue(size=3, dim=1)
        >>> queue.enqueue(torch.tensor([[1.0], [2.0]]))
        >>> queue.enqueue(torch.tensor([[3.0], [4.0]]))
        >>> queue.contents().flatten().tolist()
        [2.0, 3.0, 4.0]
    """

    features: Tensor
    pointer: Tensor
    count: Tensor

    def __init__(self, size: int, dim: int, *, dtype: torch.dtype = torch.float32) -> None:
        super().__init__()
        for value, name in ((size, "size"), (dim, "dim")):
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise ValueError(f"{name} must be an int >= 1, got {value!r}")
        self.size = size
        self.dim = dim
        self.register_buffer("features", torch.zeros(size, dim, dtype=dtype))
        self.register_buffer("pointer", torch.zeros((), dtype=torch.long))
        self.register_buffer("count", torch.zeros((), dtype=torch.long))

    def __len__(self) -> int:
        return int(self.count)

    @torch.no_grad()
    def enqueue(self, batch: Tensor) -> None:
        """Append a (B, D) batch, overwriting the oldest rows when full."""
        check_embeddings(batch, "batch", shape=f"(B, {self.dim})")
        check_same_width(self.features, batch, "the queue", "batch")
        batch = batch.detach()[-self.size :].to(self.features)
        positions = (self.pointer + torch.arange(batch.shape[0], device=batch.device)) % self.size
        self.features[positions] = batch
        self.pointer.copy_((self.pointer + batch.shape[0]) % self.size)
        self.count.copy_(torch.clamp(self.count + batch.shape[0], max=self.size))

    def contents(self) -> Tensor:
        """The stored rows, oldest first, shape (len(self), D)."""
        if len(self) < self.size:
            return self.features[: len(self)]
        return torch.roll(self.features, shifts=-int(self.pointer), dims=0)

    def reset(self) -> None:
        """Empty the queue."""
        self.features.zero_()
        self.pointer.zero_()
        self.count.zero_()


def nearest_neighbours(queries: Tensor, support: Tensor) -> tuple[Tensor, Tensor]:
    r"""For each query, the support row with the highest cosine similarity.

    .. math:: \operatorname{NN}(z, Q) = \arg\min_{q \in Q} \lVert \hat z - \hat q \rVert_2
              = \arg\max_{q \in Q} \hat z^\top \hat q

    with :math:`\hat{\cdot}` the L2-normalised vector (NNCLR). The returned neighbours are the
    support rows themselves (not normalised copies); ties go to the lowest support index.

    Args:
        queries: (N, D) embeddings.
        support: (S, D) support set, S >= 1.

    Returns:
        ``(neighbours, indices)``: the (N, D) chosen support rows and their (N,) indices.

    Example:
        >>> import torch
        >>> support = torch.tensor([[1.0, 0.0], [0.0, 2.0]])
        >>> nearest_neighbours(torch.tensor([[0.1, 0.9]]), support)[1]
        tensor([1])
    """
    check_embeddings(queries, "queries")
    check_embeddings(support, "support", shape="(S, D)")
    check_same_width(queries, support, "queries", "support")
    similarity = F.normalize(queries.detach(), dim=1) @ F.normalize(support, dim=1).T.to(queries)
    indices = similarity.argmax(dim=1)
    return support[indices], indices


class NearestNeighbourSupport(nn.Module):
    """NNCLR's support set: replace each embedding by its nearest neighbour in a FIFO queue.

    ``forward(z)`` first looks up the neighbours of ``z`` among the rows already in the queue
    (the current batch is not a candidate, so no embedding is its own neighbour), then, if
    ``update`` is true, enqueues ``z`` (detached). The neighbours carry no gradient, matching
    NNCLR's stop-gradient through the support set. The queue must hold at least one row before
    the first lookup: warm it up with ``self.queue.enqueue(z)``.

    Args:
        size: Support-set capacity (NNCLR uses 98,304 on ImageNet).
        dim: Embedding width D.

    Example:
        >>> import torch
        >>> support = NearestNeighbourSupport(size=16, dim=4)
        >>> support.queue.enqueue(torch.randn(8, 4))
        >>> support(torch.randn(2, 4)).shape
        torch.Size([2, 4])
    """

    def __init__(self, size: int, dim: int) -> None:
        super().__init__()
        self.queue = FeatureQueue(size, dim)

    def forward(self, z: Tensor, *, update: bool = True) -> Tensor:
        """Return the (N, D) nearest neighbours of ``z`` in the queue, then enqueue ``z``."""
        if len(self.queue) == 0:
            raise RuntimeError(
                "the support queue is empty: enqueue a batch (self.queue.enqueue) before lookup"
            )
        neighbours, _ = nearest_neighbours(z, self.queue.contents())
        if update:
            self.queue.enqueue(z)
        return neighbours.to(z.dtype)
