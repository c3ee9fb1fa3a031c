"""STS Spearman x 100 in SimCSE's format."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from scipy.stats import spearmanr

from cl_text.data import STSSet, read_sick_relatedness
from cl_text.evaluation import cosine_spearman, evaluate_sts, sts_table


def test_cosine_spearman_matches_a_loop() -> None:
    rng = np.random.default_rng(0)
    a, b, gold = rng.normal(size=(30, 4)), rng.normal(size=(30, 4)), rng.uniform(0, 5, 30)
    cosines = [x @ y / np.linalg.norm(x) / np.linalg.norm(y) for x, y in zip(a, b, strict=True)]
    assert cosine_spearman(a, b, gold) == pytest.approx(100 * spearmanr(cosines, gold).statistic)


def test_cosine_spearman_is_scale_invariant_and_100_for_a_monotone_match() -> None:
    a = np.stack([np.ones(5), np.arange(5.0)], axis=1)
    b = np.tile([1.0, 0.0], (5, 1))
    gold = [5, 4, 3, 2, 1]
    assert cosine_spearman(a, 3 * b, gold) == pytest.approx(100.0)


def test_cosine_spearman_bad_shapes() -> None:
    with pytest.raises(ValueError, match="N=3"):
        cosine_spearman(np.ones((2, 3)), np.ones((2, 3)), [1, 2, 3])


def test_sts_table_layout() -> None:
    table = sts_table(
        {"base": {"STS12": 70.0, "Avg.": 70.0}, "simcse": {"STS12": 71.5, "Avg.": 71.5}}
    )
    assert table.splitlines()[0] == "| Model | STS12 | Avg. |"
    assert table.splitlines()[3] == "| simcse | 71.50 | 71.50 |"


def test_minilm_correlates_with_human_scores_on_a_sick_slice(minilm, sts_dir: Path) -> None:
    sick = read_sick_relatedness(sts_dir / "sick2014" / "SICK_test_annotated.txt").head(60)
    shuffled = STSSet("shuffled", sick.first, sick.second[::-1], sick.scores)
    scores = evaluate_sts(minilm, [sick, shuffled])
    assert scores["SICK-R"] > 60
    assert abs(scores["shuffled"]) < 40
    assert scores["Avg."] == pytest.approx((scores["SICK-R"] + scores["shuffled"]) / 2)
