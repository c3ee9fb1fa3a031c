"""Frozen-feature evaluation protocols on numpy / scikit-learn / scipy.

Features of a frozen encoder (batched, no gradients); kNN and linear-probe accuracy (fixed C,
C by CV, or C by CV on a stratified subsample of the training rows), linear-probe Macro-F1 /
Micro-F1 / AUC with a validation split, retrieval recall@k / MRR / nDCG@k, Spearman for STS,
k-means NMI/ARI.
Every function accepts numpy arrays or torch tensors and returns Python floats.
"""

from cl_core.evaluation.clustering import clustering_scores
from cl_core.evaluation.frozen_features import frozen_features
from cl_core.evaluation.knn import knn_accuracy
from cl_core.evaluation.linear_probe import (
    CrossValidatedProbe,
    choose_inverse_regularization,
    cross_validated_linear_probe,
    linear_probe_accuracy,
)
from cl_core.evaluation.probe_scores import linear_probe_scores
from cl_core.evaluation.retrieval import (
    first_positive_ranks,
    mean_reciprocal_rank,
    ndcg_at_k,
    recall_at_k,
    similarity_scores,
    top_k_coverage_and_ndcg,
)
from cl_core.evaluation.sts import spearman, spearman_x100
from cl_core.evaluation.subsampled_probe import (
    CV_FOLDS,
    CV_SUBSAMPLE,
    FALLBACK_C,
    ChosenProbe,
    frozen_probe_scores,
    stratified_subsample,
    subsampled_cv_linear_probe,
)

__all__ = [
    "CV_FOLDS",
    "CV_SUBSAMPLE",
    "FALLBACK_C",
    "ChosenProbe",
    "CrossValidatedProbe",
    "choose_inverse_regularization",
    "clustering_scores",
    "cross_validated_linear_probe",
    "first_positive_ranks",
    "frozen_features",
    "frozen_probe_scores",
    "knn_accuracy",
    "linear_probe_accuracy",
    "linear_probe_scores",
    "mean_reciprocal_rank",
    "ndcg_at_k",
    "recall_at_k",
    "similarity_scores",
    "spearman",
    "spearman_x100",
    "stratified_subsample",
    "subsampled_cv_linear_probe",
    "top_k_coverage_and_ndcg",
]
