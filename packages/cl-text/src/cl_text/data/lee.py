"""The Lee document-similarity set: 50 news documents and their human similarity matrix.

Lee, Pincombe and Welsh, "An empirical evaluation of models of text document similarity",
CogSci 2005. gensim ships it as test data (``gensim.test.utils.datapath``): ``lee.cor`` holds the
50 documents, one per line, Latin-1 encoded; ``similarities0-1.txt`` is a 50 x 50 whitespace-
separated matrix of mean human similarity ratings scaled to [0, 1], filled on and above the
diagonal (the lower triangle is 0). ``lee_background.cor`` (300 further documents, no ratings) is
the background corpus of gensim's LSI check and is not needed here. Real human judgements.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from cl_text.data.errors import DataFileError

LEE_DOCUMENTS = "lee.cor"
LEE_SIMILARITIES = "similarities0-1.txt"


@dataclass(frozen=True)
class LeeCorpus:
    """N documents and the (N, N) human similarity matrix (upper triangle is the data)."""

    documents: list[str]
    similarities: np.ndarray

    def pairs(self) -> tuple[np.ndarray, np.ndarray]:
        """Row and column indices of the N(N-1)/2 scored pairs (the strict upper triangle)."""
        return np.triu_indices(len(self.documents), k=1)


def gensim_test_data_dir() -> Path:
    """gensim's test-data folder, which holds the Lee files."""
    from gensim.test.utils import datapath

    return Path(datapath(LEE_DOCUMENTS)).parent


def load_lee_corpus(data_dir: str | Path | None = None) -> LeeCorpus:
    """The 50 Lee documents and the human similarity matrix.

    Args:
        data_dir: folder with ``lee.cor`` and ``similarities0-1.txt`` (default: gensim's test
            data; ``pip install gensim``).

    Raises:
        DataFileError: a missing file, or documents and matrix that do not match (naming the file).

    Example:
        >>> lee = load_lee_corpus()  # doctest: +SKIP
        >>> len(lee.documents), lee.similarities.shape  # doctest: +SKIP
        (50, (50, 50))
    """
    folder = Path(data_dir) if data_dir is not None else gensim_test_data_dir()
    documents_file, matrix_file = folder / LEE_DOCUMENTS, folder / LEE_SIMILARITIES
    for file in (documents_file, matrix_file):
        if not file.is_file():
            raise DataFileError(file, "Lee corpus file not found (it ships with gensim)")
    text = documents_file.read_bytes().decode("latin-1")
    documents = [line.strip() for line in text.splitlines() if line.strip()]
    try:
        matrix = np.loadtxt(matrix_file, dtype=np.float64, ndmin=2)
    except ValueError as error:
        raise DataFileError(matrix_file, f"not a numeric matrix ({error})") from None
    n = len(documents)
    if n < 3 or matrix.shape != (n, n):
        raise DataFileError(
            matrix_file, f"expected a {n} x {n} matrix for {n} documents, got {matrix.shape}"
        )
    return LeeCorpus(documents, matrix)
