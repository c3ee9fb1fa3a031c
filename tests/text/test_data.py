"""Readers: unlabelled sentences, WordNet, tables, NLI triplets, STS sets (real data slices)."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from cl_text.data import (
    DataFileError,
    Triplet,
    load_sts_benchmarks,
    nli_to_triplets,
    read_semeval_year,
    read_sentences,
    read_sick_relatedness,
    read_table,
    read_triplets,
    wordnet_glosses,
)


def test_read_sentences_skips_blank_lines_and_strips(tmp_path: Path) -> None:
    path = tmp_path / "s.txt"
    path.write_text("  first sentence \n\n second\n", encoding="utf-8")
    assert read_sentences(path) == ["first sentence", "second"]
    assert read_sentences(path, max_sentences=1) == ["first sentence"]


def test_read_sentences_only_empty_lines_names_file(tmp_path: Path) -> None:
    path = tmp_path / "empty.txt"
    path.write_text("\n  \n\n", encoding="utf-8")
    with pytest.raises(DataFileError, match=r"empty\.txt: contains only empty lines"):
        read_sentences(path)


def test_read_sentences_bad_encoding_names_file_and_line(tmp_path: Path) -> None:
    path = tmp_path / "latin1.txt"
    path.write_bytes("ok line\ncaf\xe9 au lait\n".encode("latin-1"))
    with pytest.raises(DataFileError, match=r"latin1\.txt:2: not valid UTF-8"):
        read_sentences(path)


def test_read_sentences_missing_file(tmp_path: Path) -> None:
    with pytest.raises(DataFileError, match="no such file"):
        read_sentences(tmp_path / "absent.txt")


def test_wordnet_glosses_splits_definitions_and_examples(wordnet_dir: Path) -> None:
    with (wordnet_dir / "data.verb").open(encoding="utf-8") as handle:
        line = next(x for x in handle if x.startswith("00001740"))
    gloss = line.split(" | ", 1)[1]
    sentences = wordnet_glosses(wordnet_dir, parts=("verb",), max_sentences=3)
    assert sentences[0] == "Draw air into, and expel out of, the lungs"
    assert sentences[1] in gloss and sentences[2] in gloss
    assert all('"' not in s for s in sentences)


def test_wordnet_missing_folder_names_path(tmp_path: Path) -> None:
    with pytest.raises(DataFileError, match=r"data\.noun.*wordnet-base"):
        wordnet_glosses(tmp_path)


def test_read_table_reports_wrong_field_count_with_line(tmp_path: Path) -> None:
    path = tmp_path / "t.tsv"
    path.write_text("a\tb\n1\t2\n\n3\n", encoding="utf-8")
    with pytest.raises(DataFileError, match=r"t\.tsv:4: expected 2 fields"):
        read_table(path)


def test_read_table_jsonl_and_bad_json(tmp_path: Path) -> None:
    good = tmp_path / "g.jsonl"
    good.write_text('{"a": "x", "b": 1}\n\n{"a": "y", "b": null}\n', encoding="utf-8")
    table = read_table(good)
    assert table.rows == [{"a": "x", "b": "1"}, {"a": "y", "b": ""}]
    assert table.lines == [1, 3]
    bad = tmp_path / "b.jsonl"
    bad.write_text('{"a": 1}\n{oops\n', encoding="utf-8")
    with pytest.raises(DataFileError, match=r"b\.jsonl:2: invalid JSON"):
        read_table(bad)


def test_nli_to_triplets_uses_contradictions_of_premise_then_hypothesis() -> None:
    pairs = [
        ("p", "h", "entailment"),
        ("p", "c", "CONTRADICTION"),
        ("q", "r", "entailment"),
        ("x", "r", "contradiction"),
        ("z", "w", "entailment"),
        ("z", "n", "neutral"),
    ]
    assert nli_to_triplets(pairs) == [Triplet("p", "h", "c"), Triplet("q", "r", "x")]


def test_nli_to_triplets_rejects_overlapping_label_sets() -> None:
    with pytest.raises(ValueError, match="overlap"):
        nli_to_triplets([], entailment_labels=("yes",), contradiction_labels=("YES",))


def test_read_triplets_from_triplet_columns_and_missing_columns(tmp_path: Path) -> None:
    path = tmp_path / "t.csv"
    path.write_text("sent0,sent1,hard_neg\na,b,c\n", encoding="utf-8")
    assert read_triplets(path) == [Triplet("a", "b", "c")]
    bad = tmp_path / "bad.csv"
    bad.write_text("premise,hypothesis\na,b\n", encoding="utf-8")
    with pytest.raises(DataFileError, match=r"bad\.csv:1: missing the label column"):
        read_triplets(bad)


def test_read_triplets_empty_value_names_line(tmp_path: Path) -> None:
    path = tmp_path / "e.tsv"
    path.write_text("anchor\tpositive\tnegative\na\tb\tc\nd\t \tf\n", encoding="utf-8")
    with pytest.raises(DataFileError, match=r"e\.tsv:3: empty value in column 'positive'"):
        read_triplets(path)


def test_sick_triplets_follow_the_labels(sts_dir: Path) -> None:
    path = sts_dir / "sick2014" / "SICK_train.txt"
    with path.open(encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle, delimiter="\t"))
    labelled = {
        (r["sentence_A"].strip(), r["sentence_B"].strip()): r["entailment_judgment"] for r in rows
    }
    triplets = read_triplets(path)
    assert len(triplets) > 400
    for t in triplets[:50]:
        assert labelled[(t.anchor, t.positive)] == "ENTAILMENT"
        contradicts = {t.anchor, t.positive}
        assert any(
            labelled.get(pair) == "CONTRADICTION"
            for s in contradicts
            for pair in ((s, t.negative), (t.negative, s))
        )


def test_sts_sets_keep_only_scored_pairs(sts_dir: Path) -> None:
    year = sts_dir / "semeval" / "2016"
    scored = 0
    for file in sorted(year.glob("*.test.tsv")):
        lines = file.read_text(encoding="utf-8").splitlines()
        scored += sum(1 for line in lines if line.split("\t")[0].strip())
    sts16 = read_semeval_year(year)
    assert sts16.name == "STS16" and len(sts16) == scored
    assert all(0.0 <= s <= 5.0 for s in sts16.scores)


def test_sick_relatedness_and_all_benchmarks(sts_dir: Path) -> None:
    sick = read_sick_relatedness(sts_dir / "sick2014" / "SICK_test_annotated.txt")
    assert len(sick) == 4927 and all(1.0 <= s <= 5.0 for s in sick.scores)
    names = [s.name for s in load_sts_benchmarks(sts_dir)]
    assert names == ["STS12", "STS13", "STS14", "STS15", "STS16", "SICK-R"]


def test_sts_bad_score_names_file_and_line(tmp_path: Path) -> None:
    (tmp_path / "x.test.tsv").write_text("4.0\ta\tb\nhigh\tc\td\n", encoding="utf-8")
    with pytest.raises(DataFileError, match=r"x\.test\.tsv:2: score 'high' is not a number"):
        read_semeval_year(tmp_path)
