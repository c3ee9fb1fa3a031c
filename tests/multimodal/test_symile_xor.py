"""The Symile XOR toy: Symile predicts c = a XOR b from (a, b); pairwise CLIP cannot."""

from __future__ import annotations

import pytest
import torch

from cl_multimodal.experiments.symile_xor import XorConfig, train_and_score_xor, xor_triples

SMALL = XorConfig(
    bits=2, train_size=400, test_size=200, batch_size=20, epochs=5, negatives="n_squared"
)


def test_xor_triples_have_independent_pairs_and_a_deterministic_third():
    a, b, c = xor_triples(4000, 1, torch.Generator().manual_seed(0))
    assert torch.equal(c, (a != b).float())
    for x, y in ((a, b), (a, c), (b, c)):
        joint = torch.stack([((x == i) & (y == j)).float().mean() for i in (0, 1) for j in (0, 1)])
        torch.testing.assert_close(joint, torch.full((4,), 0.25), atol=0.03, rtol=0)


def test_symile_solves_xor_where_pairwise_clip_stays_at_chance():
    symile = train_and_score_xor("symile", SMALL)
    clip = train_and_score_xor("clip", SMALL)
    assert symile["zero_shot_acc"] >= 0.95
    assert clip["zero_shot_acc"] <= symile["chance"] + 0.15


def test_xor_bad_arguments():
    with pytest.raises(ValueError, match="method must be"):
        train_and_score_xor("infonce", SMALL)
    with pytest.raises(ValueError, match="bits"):
        XorConfig(bits=0)
