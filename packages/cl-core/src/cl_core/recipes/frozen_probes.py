"""Quality of frozen features: kNN and linear-probe accuracy plus effective rank, in one call.

The linear-evaluation protocol (a linear classifier on frozen features) follows SimCLR (Chen et al.,
2020, arXiv:2002.05709); the kNN monitor follows Wu et al., "Unsupervised Feature Learning via
Non-Parametric Instance Discrimination" (2018, arXiv:1805.01978). The numbers come from
:mod:`cl_core.evaluation` and :mod:`cl_core.metrics`.
"""

from __future__ import annotations

from torch import Tensor

from cl_core.evaluation import knn_accuracy, linear_probe_accuracy
from cl_core.metrics import effective_rank


def probe_scores(
    train_x: Tensor, train_y: Tensor, test_x: Tensor, test_y: Tensor, *, k: int = 20
) -> dict[str, float]:
    """``knn_acc`` (cosine, ``k`` neighbours), ``linear_acc`` (logistic regression on standardised
    features) and ``effective_rank`` (of the centred test features).

    Args:
        train_x: ``(N, D)`` features of the probes' training set.
        train_y: ``(N,)`` integer labels.
        test_x: ``(M, D)`` features to score.
        test_y: ``(M,)`` integer labels.
        k: neighbours of the kNN classifier.

    Returns:
        The three numbers (accuracies in [0, 1]).
    """
    return {
        "knn_acc": knn_accuracy(train_x, train_y, test_x, test_y, k=k),
        "linear_acc": linear_probe_accuracy(train_x, train_y, test_x, test_y),
        "effective_rank": float(effective_rank(test_x.detach().float(), center=True)),
    }
