"""The Lee document-similarity check: the real gensim files, the correlation, MiniLM on it."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from scipy.stats import pearsonr, spearmanr

from cl_text.data import DataFileError, LeeCorpus, load_lee_corpus
from cl_text.evaluation import evaluate_lee, similarity_matrix_correlation


@pytest.fixture(scope="module")
def lee() -> LeeCorpus:
    return load_lee_corpus()


def test_lee_corpus_has_50_documents_and_an_upper_triangular_human_matrix(lee: LeeCorpus) -> None:
    assert len(lee.documents) == 50 and lee.similarities.shape == (50, 50)
    assert np.allclose(np.diag(lee.similarities), 1.0)
    assert np.all(np.tril(lee.similarities, k=-1) == 0)
    rows, cols = lee.pairs()
    assert len(rows) == 1225
    assert np.all((lee.similarities[rows, cols] >= 0) & (lee.similarities[rows, cols] <= 1))
    assert lee.documents[0].startswith("The national executive of the strife-torn Democrats")


def test_missing_or_mismatched_lee_files_name_the_file(tmp_path: Path) -> None:
    with pytest.raises(DataFileError, match=r"lee\.cor: Lee corpus file not found"):
        load_lee_corpus(tmp_path)
    (tmp_path / "lee.cor").write_bytes(b"one\ntwo\nthree\nfour\n")
    (tmp_path / "similarities0-1.txt").write_text("1 0 0\n0 1 0\n0 0 1\n")
    with pytest.raises(DataFileError, match=r"similarities0-1\.txt: expected a 4 x 4 matrix"):
        load_lee_corpus(tmp_path)


def test_correlation_matches_a_loop_over_document_pairs() -> None:
    rng = np.random.default_rng(0)
    emb, human = rng.normal(size=(6, 4)), np.triu(rng.uniform(size=(6, 6)))
    model, gold = [], []
    for i in range(6):
        for j in range(i + 1, 6):
            model.append(emb[i] @ emb[j] / np.linalg.norm(emb[i]) / np.linalg.norm(emb[j]))
            gold.append(human[i, j])
    scores = similarity_matrix_correlation(emb, human)
    assert scores["pearson"] == pytest.approx(100 * pearsonr(model, gold).statistic)
    assert scores["spearman"] == pytest.approx(100 * spearmanr(model, gold).statistic)


def test_correlation_is_100_for_agreeing_humans_and_reads_only_the_upper_triangle() -> None:
    emb = np.random.default_rng(1).normal(size=(5, 3))
    unit = emb / np.linalg.norm(emb, axis=1, keepdims=True)
    human = np.triu(unit @ unit.T) + np.tril(np.full((5, 5), 7.0), k=-1)
    scores = similarity_matrix_correlation(emb, human)
    assert scores == pytest.approx({"pearson": 100.0, "spearman": 100.0})
    with pytest.raises(ValueError, match=r"human must be \(5, 5\)"):
        similarity_matrix_correlation(emb, human[:4, :4])
    with pytest.raises(ValueError, match="N >= 3"):
        similarity_matrix_correlation(emb[:2], human[:2, :2])


def test_minilm_document_similarities_correlate_with_the_humans(minilm, lee: LeeCorpus) -> None:
    limit = minilm.max_seq_length
    scores = evaluate_lee(minilm, lee)
    assert minilm.max_seq_length == limit
    # gensim's LSI reaches Pearson 60 on this set; a sentence encoder should be well above chance
    assert scores["pearson"] > 40 and scores["spearman"] > 20
