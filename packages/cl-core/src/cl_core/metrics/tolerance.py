r"""Tolerance: how close samples of the same class stay.

Wang & Liu, "Understanding the Behaviour of Contrastive Loss", CVPR 2021, arXiv:2012.09740.
"""

from __future__ import annotations

from torch import Tensor

from cl_core.metrics._accumulator import ConcatenatingMetric
from cl_core.validation import check_embeddings, check_labels


def tolerance(z: Tensor, labels: Tensor) -> Tensor:
    r"""Mean similarity of distinct pairs that share a label (higher is more tolerant).

    .. math:: T = \frac{1}{|\mathcal{S}|} \sum_{(i, j) \in \mathcal{S}} z_i^\top z_j, \qquad
              \mathcal{S} = \{(i, j) : i \ne j,\ y_i = y_j\}

    i.e. :math:`\mathbb{E}_{x, y}[f(x)^\top f(y) \mid l(x) = l(y)]` over distinct samples. With
    L2-normalised embeddings it lies in :math:`[-1, 1]`. Wang & Liu show that lowering the
    temperature improves uniformity but lowers tolerance (the uniformity-tolerance dilemma).

    Args:
        z: Embeddings, shape (N, D); pass L2-normalised ones for the cosine-similarity form.
        labels: Integer class labels, shape (N,).

    Returns:
        A 0-dim tensor in the dtype of ``z``; differentiable.

    Raises:
        ValueError: No two samples share a label.

    Example:
        >>> import torch
        >>> z = torch.tensor([[1.0, 0.0], [1.0, 0.0], [0.0, 1.0]])
        >>> float(tolerance(z, torch.tensor([0, 0, 1])))
        1.0
    """
    check_embeddings(z, "z")
    check_labels(labels, z.shape[0], "labels")
    same_label = labels.unsqueeze(0) == labels.unsqueeze(1)
    same_label.fill_diagonal_(False)
    if not bool(same_label.any()):
        raise ValueError("labels must contain at least one label shared by two samples, got none")
    similarities = z @ z.T
    return similarities[same_label].mean()


class Tolerance(ConcatenatingMetric):
    """:func:`tolerance` over every (embedding, label) batch passed to ``update``.

    Example:
        >>> import torch
        >>> metric = Tolerance()
        >>> metric.update(torch.tensor([[1.0, 0.0]]), torch.tensor([3]))
        >>> metric.update(torch.tensor([[0.0, 1.0]]), torch.tensor([3]))
        >>> float(metric.compute())
        0.0
    """

    def update(self, z: Tensor, labels: Tensor) -> None:
        """Add embeddings of shape (N, D) with their (N,) integer labels."""
        check_embeddings(z, "z")
        check_labels(labels, z.shape[0], "labels")
        self._store(z, labels)

    def compute(self) -> Tensor:
        """Tolerance of all stored embeddings."""
        z, labels = self._concatenated()
        return tolerance(z, labels)
