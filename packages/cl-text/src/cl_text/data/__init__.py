"""Readers for unlabelled sentences, NLI triplets and STS evaluation sets (no torch import)."""

from cl_text.data.errors import DataFileError
from cl_text.data.labelled import LabelledTexts, read_labelled_texts
from cl_text.data.lee import LeeCorpus, load_lee_corpus
from cl_text.data.nli import Triplet, nli_to_triplets, read_triplets
from cl_text.data.sentences import read_sentences, wordnet_glosses
from cl_text.data.sts import (
    STS_YEARS,
    STSSet,
    load_sts_benchmarks,
    read_semeval_year,
    read_sick_relatedness,
)
from cl_text.data.tables import Table, read_table

__all__ = [
    "STS_YEARS",
    "DataFileError",
    "LabelledTexts",
    "LeeCorpus",
    "STSSet",
    "Table",
    "Triplet",
    "load_lee_corpus",
    "load_sts_benchmarks",
    "nli_to_triplets",
    "read_labelled_texts",
    "read_semeval_year",
    "read_sentences",
    "read_sick_relatedness",
    "read_table",
    "read_triplets",
    "wordnet_glosses",
]
