"""Class-incremental metrics: seen-task accuracy, average accuracy, forgetting, word error rate.

With ``R[t][j]`` the intent accuracy on the test data of task ``j`` after training task ``t``:

- average (incremental) accuracy: the mean over steps ``t`` of the accuracy on all tasks seen so
  far (Rebuffi et al., "iCaRL", CVPR 2017, arXiv:1611.07725), as in the COCONUT tables;
- forgetting (Chaudhry et al., "Riemannian Walk for Incremental Learning", ECCV 2018,
  arXiv:1801.10112): ``F = 1/(T-1) sum_{j<T-1} max_{t<T-1} R[t][j] - R[T-1][j]``;
- word error rate: ``(substitutions + deletions + insertions) / reference words`` (word-level
  Levenshtein distance).

Example:
    >>> forgetting([[0.9], [0.5, 0.8]])
    0.4
    >>> average_accuracy([0.9, 0.6])
    0.75
    >>> word_error_rate(["turn the light on"], ["turn on the lights"])
    0.75
"""

from __future__ import annotations

from collections.abc import Sequence


def average_accuracy(seen_accuracies: Sequence[float]) -> float:
    """Mean of the accuracies on all seen tasks, one per step.

    Raises:
        ValueError: empty input.
    """
    if len(seen_accuracies) == 0:
        raise ValueError("seen_accuracies must hold at least one step, got none")
    return float(sum(seen_accuracies) / len(seen_accuracies))


def forgetting(accuracy_matrix: Sequence[Sequence[float]]) -> float:
    """Average forgetting of the tasks before the last (0.0 for a single task).

    Args:
        accuracy_matrix: lower-triangular ``R``: row ``t`` holds the accuracies on tasks ``0..t``.

    Raises:
        ValueError: row ``t`` does not have ``t + 1`` entries.
    """
    for step, row in enumerate(accuracy_matrix):
        if len(row) != step + 1:
            raise ValueError(
                f"accuracy_matrix row {step} must have {step + 1} entries, got {len(row)}"
            )
    steps = len(accuracy_matrix)
    if steps < 2:
        return 0.0
    final = accuracy_matrix[-1]
    drops = [
        max(accuracy_matrix[step][task] for step in range(task, steps - 1)) - final[task]
        for task in range(steps - 1)
    ]
    return float(sum(drops) / len(drops))


def word_error_rate(predictions: Sequence[str], references: Sequence[str]) -> float:
    """Corpus word error rate: summed word edit distances over the summed reference lengths.

    The edit distance is the Levenshtein distance over whitespace-separated words (unit cost for
    substitution, deletion and insertion). Written here instead of importing ``torchmetrics`` or
    ``jiwer``: the first costs tens of seconds of import time on a busy 2-core machine, the second
    is not a dependency.

    Raises:
        ValueError: different lengths, or no reference words at all.
    """
    if len(predictions) != len(references):
        raise ValueError(
            f"predictions and references must have the same length, got {len(predictions)} "
            f"and {len(references)}"
        )
    reference_words = sum(len(reference.split()) for reference in references)
    if reference_words == 0:
        raise ValueError("references must contain at least one word")
    errors = sum(
        word_edit_distance(prediction.split(), reference.split())
        for prediction, reference in zip(predictions, references, strict=True)
    )
    return errors / reference_words


def word_edit_distance(hypothesis: Sequence[str], reference: Sequence[str]) -> int:
    """Levenshtein distance between two word sequences (one row of the DP table at a time)."""
    row = list(range(len(reference) + 1))
    for i, word in enumerate(hypothesis, start=1):
        diagonal, row[0] = row[0], i
        for j, target in enumerate(reference, start=1):
            diagonal, row[j] = row[j], min(row[j] + 1, row[j - 1] + 1, diagonal + (word != target))
    return row[-1]
