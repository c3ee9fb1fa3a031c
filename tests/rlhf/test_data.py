"""Preference-pair loading (real HH-RLHF file and malformed files), splits and injected flips."""

from __future__ import annotations

import gzip
import json

import numpy as np
import pytest

from cl_rlhf.data import (
    PairFileError,
    PreferencePairs,
    flip_mask,
    load_hh_harmless,
    load_preference_pairs,
    split_pairs,
)


def test_hh_harmless_holds_all_real_pairs_with_distinct_endings(data_dir):
    pairs = load_hh_harmless(data_dir)
    assert len(pairs) == 2312
    assert all(c.startswith("\n\nHuman:") for c in pairs.chosen[:20])
    assert sum(c != r for c, r in zip(pairs.chosen, pairs.rejected, strict=True)) == len(pairs)


def test_limit_reads_the_first_pairs(data_dir):
    first = load_hh_harmless(data_dir, limit=5)
    assert len(first) == 5
    assert first.chosen == load_hh_harmless(data_dir).chosen[:5]


def test_plain_and_gzip_files_give_the_same_pairs(tmp_path):
    lines = [
        json.dumps({"chosen": f"good {i}", "rejected": f"bad {i}", "extra": 1}) for i in range(3)
    ]
    plain = tmp_path / "pairs.jsonl"
    plain.write_text("\n".join(lines[:2]) + "\n\n" + lines[2] + "\n")
    packed = tmp_path / "pairs.jsonl.gz"
    with gzip.open(packed, "wt") as handle:
        handle.write("\n".join(lines))
    assert load_preference_pairs(plain).chosen == load_preference_pairs(packed).chosen
    assert load_preference_pairs(plain).rejected == ("bad 0", "bad 1", "bad 2")


@pytest.mark.parametrize(
    ("content", "match"),
    [
        (
            '{"chosen": "a", "rejected": "b"}\n{"chosen": "a", "rejected": \n',
            r"pairs.jsonl:2: not valid JSON",
        ),
        ('["a", "b"]\n', r"pairs.jsonl:1: expected a JSON object"),
        ('{"chosen": "a"}\n', r"pairs.jsonl:1: field 'rejected' must be a non-empty string"),
        ('{"chosen": "  ", "rejected": "b"}\n', r"pairs.jsonl:1: field 'chosen'"),
        ("\n\n", r"pairs.jsonl: holds no preference pair"),
    ],
)
def test_malformed_files_name_file_and_line(tmp_path, content, match):
    file = tmp_path / "pairs.jsonl"
    file.write_text(content)
    with pytest.raises(PairFileError, match=match):
        load_preference_pairs(file)


def test_missing_file_and_missing_data_dir_explain_themselves(tmp_path, monkeypatch):
    from cl_core.datasets.sources import DataUnavailableError

    with pytest.raises(PairFileError, match="no such file"):
        load_preference_pairs(tmp_path / "absent.jsonl")
    monkeypatch.delenv("CL_DATA_DIR", raising=False)
    monkeypatch.setenv("CL_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("CL_OFFLINE", "1")
    with pytest.raises(DataUnavailableError, match=r"hh-rlhf is not available.*--data-dir"):
        load_hh_harmless(tmp_path)
    with pytest.raises(ValueError, match="limit"):
        load_preference_pairs(tmp_path / "absent.jsonl", limit=0)


def test_pairs_need_equal_lengths_and_subset_keeps_order():
    with pytest.raises(ValueError, match="same length"):
        PreferencePairs(("a",), ())
    pairs = PreferencePairs(("a", "b", "c"), ("x", "y", "z"))
    assert pairs.subset([2, 0]).rejected == ("z", "x")


def test_split_is_deterministic_disjoint_and_complete():
    first = split_pairs(2312, seed=3)
    again = split_pairs(2312, seed=3)
    other = split_pairs(2312, seed=4)
    for part in ("train", "val", "test"):
        np.testing.assert_array_equal(getattr(first, part), getattr(again, part))
    assert not np.array_equal(first.test, other.test)
    everything = np.concatenate((first.train, first.val, first.test))
    assert sorted(everything.tolist()) == list(range(2312))
    assert (len(first.val), len(first.test)) == (231, 462)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"num_pairs": 2}, "num_pairs"),
        ({"num_pairs": 10, "val_fraction": 1.0}, "val_fraction"),
        ({"num_pairs": 10, "test_fraction": 0.0}, "test_fraction"),
        ({"num_pairs": 10, "val_fraction": 0.5, "test_fraction": 0.5}, "test_fraction"),
        ({"num_pairs": 4, "val_fraction": 0.45, "test_fraction": 0.5}, "too small"),
    ],
)
def test_split_rejects_bad_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        split_pairs(**kwargs)


def test_flip_mask_has_exact_count_and_is_deterministic():
    mask = flip_mask(1618, 0.3, seed=1)
    assert mask.dtype == bool
    assert int(mask.sum()) == round(0.3 * 1618)
    np.testing.assert_array_equal(mask, flip_mask(1618, 0.3, seed=1))
    assert int(flip_mask(10, 0.0).sum()) == 0
    with pytest.raises(ValueError, match="fraction"):
        flip_mask(10, 1.5)
    with pytest.raises(ValueError, match="num_pairs"):
        flip_mask(0, 0.1)


def test_final_exchange_splits_the_last_turns_of_real_dialogues(data_dir):
    from cl_rlhf.data.dialogue import final_exchange
    from cl_rlhf.features import pair_texts

    pairs = load_hh_harmless(data_dir, limit=20)
    chosen, rejected = pair_texts(pairs)
    for i in range(20):
        assert pairs.chosen[i].rstrip().endswith(chosen[i])
        assert "Assistant:" not in chosen[i] and "Human:" not in rejected[i]
        prompt = final_exchange(pairs.chosen[i]).prompt
        assert prompt and prompt == final_exchange(pairs.rejected[i]).prompt
    assert pair_texts(pairs, "dialogue") == (list(pairs.chosen), list(pairs.rejected))


def test_final_exchange_handles_bare_responses_and_bad_input():
    from cl_rlhf.data.dialogue import final_exchange
    from cl_rlhf.features import pair_texts

    assert final_exchange("  just a reply ").response == "just a reply"
    assert final_exchange("\n\nAssistant: hi").prompt == ""
    with pytest.raises(TypeError, match="dialogue must be a str"):
        final_exchange(None)
    with pytest.raises(ValueError, match="view must be one of"):
        pair_texts(PreferencePairs(("a",), ("b",)), "prompt")
