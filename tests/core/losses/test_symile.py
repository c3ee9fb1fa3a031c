"""Symile logits and loss against brute-force loops over modality tuples."""

from __future__ import annotations

import itertools
import math

import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn

from cl_core.losses.symile import SymileLoss, symile, symile_logits, symile_zero_shot_scores


def mip(*vectors: torch.Tensor) -> torch.Tensor:
    return math.prod(vectors).sum()


def loop_symile_all_tuples(modalities, scale):
    """Mean over anchor modalities of CE against every tuple of the other modalities' rows."""
    reps = [F.normalize(m, dim=-1) for m in modalities]
    n = reps[0].shape[0]
    per_anchor = []
    for m, anchor in enumerate(reps):
        others = reps[:m] + reps[m + 1 :]
        losses = []
        for i in range(n):
            positive = scale * mip(anchor[i], *(o[i] for o in others))
            everything = torch.stack(
                [
                    scale * mip(anchor[i], *(o[j] for o, j in zip(others, rows, strict=True)))
                    for rows in itertools.product(range(n), repeat=len(others))
                ]
            )
            losses.append(torch.logsumexp(everything, 0) - positive)
        per_anchor.append(torch.stack(losses).mean())
    return torch.stack(per_anchor).mean()


def loop_clip(a, b, scale):
    a, b = F.normalize(a, dim=-1), F.normalize(b, dim=-1)
    n = a.shape[0]
    losses = []
    for x, y in ((a, b), (b, a)):
        for i in range(n):
            row = torch.stack([scale * x[i] @ y[j] for j in range(n)])
            losses.append((torch.logsumexp(row, 0) - row[i]) / (2 * n))
    return torch.stack(losses).sum()


@pytest.fixture
def triple():
    generator = torch.Generator().manual_seed(5)
    return torch.randn(3, 4, 6, generator=generator, dtype=torch.float64).unbind(0)


def test_n_squared_logits_hold_every_triple_with_the_positive_in_column_i(triple) -> None:
    a, b, c = triple
    logits = symile_logits(a, [b, c], negatives="n_squared")
    assert logits.shape == (4, 16)
    for i in range(4):
        brute = torch.stack([mip(a[i], b[j], c[k]) for j in range(4) for k in range(4)])
        torch.testing.assert_close(logits[i].sort().values, brute.sort().values)
        torch.testing.assert_close(logits[i, i], mip(a[i], b[i], c[i]))


def test_n_squared_logits_for_four_modalities() -> None:
    a, b, c, d = torch.randn(4, 3, 5, dtype=torch.float64).unbind(0)
    logits = symile_logits(a, [b, c, d], negatives="n_squared")
    assert logits.shape == (3, 27)
    for i in range(3):
        brute = torch.stack(
            [mip(a[i], b[j], c[k], d[l]) for j, k, l in itertools.product(range(3), repeat=3)]
        )
        torch.testing.assert_close(logits[i].sort().values, brute.sort().values)
        torch.testing.assert_close(logits[i, i], mip(a[i], b[i], c[i], d[i]))


def test_n_logits_put_the_positive_on_the_diagonal_and_shuffled_tuples_elsewhere(triple) -> None:
    a, b, c = triple
    logits = symile_logits(a, [b, c], generator=torch.Generator().manual_seed(0))
    assert logits.shape == (4, 4)
    for i in range(4):
        torch.testing.assert_close(logits[i, i], mip(a[i], b[i], c[i]))
    for j in range(4):
        rows = [i for i in range(4) if i != j]
        matches = [
            (p, q)
            for p in range(4)
            for q in range(4)
            if torch.allclose(logits[rows, j], torch.stack([mip(a[i], b[p], c[q]) for i in rows]))
        ]
        assert matches, f"column {j} is not a (b_p ⊙ c_q) tuple shared by its rows"


def test_n_logits_are_reproducible_with_a_generator(triple) -> None:
    a, b, c = triple
    first = symile_logits(a, [b, c], generator=torch.Generator().manual_seed(11))
    again = symile_logits(a, [b, c], generator=torch.Generator().manual_seed(11))
    torch.testing.assert_close(first, again)


def test_loss_matches_brute_force_over_all_tuples(triple) -> None:
    torch.testing.assert_close(
        symile(*triple, logit_scale=4.0, negatives="n_squared"),
        loop_symile_all_tuples(triple, 4.0),
    )


@pytest.mark.parametrize("negatives", ["n", "n_squared"])
def test_two_modalities_reduce_to_clip(negatives) -> None:
    a, b = torch.randn(2, 6, 5, dtype=torch.float64).unbind(0)
    torch.testing.assert_close(
        symile(a, b, logit_scale=7.0, negatives=negatives), loop_clip(a, b, 7.0)
    )


@pytest.mark.parametrize("negatives", ["n", "n_squared"])
def test_gradients_match_finite_differences(negatives) -> None:
    reps = [torch.randn(3, 4, dtype=torch.float64, requires_grad=True) for _ in range(3)]
    scale = torch.tensor(2.0, dtype=torch.float64, requires_grad=True)

    def loss(a, b, c, s):
        generator = torch.Generator().manual_seed(0)
        return symile(a, b, c, logit_scale=s, negatives=negatives, generator=generator)

    assert torch.autograd.gradcheck(loss, (*reps, scale))


def test_zero_shot_scores_match_loop_and_pick_the_matching_candidate(triple) -> None:
    a, b, c = triple
    scores = symile_zero_shot_scores(c, a, b, logit_scale=3.0)
    ua, ub, uc = (F.normalize(x, dim=-1) for x in triple)
    expected = torch.tensor([[3.0 * mip(ua[i], ub[i], uc[k]) for k in range(4)] for i in range(4)])
    torch.testing.assert_close(scores, expected.double())
    # Candidates built as the sign pattern of a ⊙ b score highest against their own row.
    query_a = torch.tensor([[1.0, 1.0], [1.0, -1.0]])
    query_b = torch.tensor([[1.0, -1.0], [1.0, 1.0]])
    candidates = torch.tensor([[1.0, -1.0], [-1.0, 1.0], [1.0, 1.0]])
    assert symile_zero_shot_scores(candidates, query_a, query_b).argmax(1).tolist() == [0, 0]


def test_module_learns_its_scale() -> None:
    loss_fn = SymileLoss(init_log_scale=-0.3, negatives="n_squared")
    reps = torch.randn(3, 5, 4).unbind(0)
    loss = loss_fn(*reps)
    loss.backward()
    assert loss_fn.log_scale.grad is not None and loss_fn.log_scale.grad != 0
    torch.testing.assert_close(
        loss, symile(*reps, logit_scale=math.exp(-0.3), negatives="n_squared")
    )


def _xor_batch(n: int, generator: torch.Generator) -> tuple[torch.Tensor, ...]:
    a = torch.randint(0, 2, (n, 3), generator=generator).float()
    b = torch.randint(0, 2, (n, 3), generator=generator).float()
    return a, b, (a + b) % 2


def _pairwise_clip(ra, rb, rc, scale):
    labels = torch.arange(ra.shape[0])
    total = torch.zeros(())
    for x, y in ((ra, rb), (rb, rc), (ra, rc)):
        logits = scale * F.normalize(x, dim=-1) @ F.normalize(y, dim=-1).T
        total = total + (F.cross_entropy(logits, labels) + F.cross_entropy(logits.T, labels)) / 2
    return total


def _xor_zero_shot_accuracy(objective: str) -> float:
    """Train linear encoders on c = a XOR b (3 bits each) and predict c from (a, b) among all 8."""
    torch.manual_seed(0)
    generator = torch.Generator().manual_seed(0)
    encoders = nn.ModuleList(nn.Linear(3, 16) for _ in range(3))
    log_scale = nn.Parameter(torch.tensor(-0.3))
    optimizer = torch.optim.AdamW([*encoders.parameters(), log_scale], lr=0.1)
    for _ in range(150):
        reps = [enc(x) for enc, x in zip(encoders, _xor_batch(128, generator), strict=True)]
        if objective == "symile":
            loss = symile(*reps, logit_scale=log_scale.exp(), generator=generator)
        else:
            loss = _pairwise_clip(*reps, log_scale.exp())
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    a, b, c = _xor_batch(1000, generator)
    candidates = torch.tensor(list(itertools.product([0.0, 1.0], repeat=3)))
    with torch.no_grad():
        ra, rb, rc = encoders[0](a), encoders[1](b), encoders[2](candidates)
        if objective == "symile":
            scores = symile_zero_shot_scores(rc, ra, rb)
        else:
            ra, rb, rc = (F.normalize(x, dim=-1) for x in (ra, rb, rc))
            scores = ra @ rc.T + rb @ rc.T
    truth = (c.unsqueeze(1) == candidates.unsqueeze(0)).all(-1).float().argmax(1)
    return (scores.argmax(1) == truth).float().mean().item()


@pytest.fixture
def single_thread():
    """Tiny matrices train faster on one thread, and much faster when other jobs share the CPU."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.mark.usefixtures("single_thread")
def test_symile_solves_xor_where_pairwise_clip_stays_at_chance() -> None:
    # The paper's binary-XOR experiment: every pairwise mutual information is zero, so pairwise
    # CLIP cannot beat chance (1/8 here) while the multilinear inner product captures a ⊕ b ↔ c.
    assert _xor_zero_shot_accuracy("symile") >= 0.95
    assert _xor_zero_shot_accuracy("clip") < 0.25


@pytest.mark.parametrize(
    ("modalities", "options", "error", "message"),
    [
        ((torch.randn(4, 3),), {}, ValueError, "at least 2"),
        ((torch.randn(4, 3), torch.randn(4, 2)), {}, ValueError, "shape"),
        ((torch.randn(4, 3), torch.randn(5, 3)), {}, ValueError, "shape"),
        ((torch.randn(4), torch.randn(4)), {}, ValueError, r"\(N, D\)"),
        ((torch.randn(1, 3), torch.randn(1, 3)), {}, ValueError, "N >= 2"),
        ((torch.randn(4, 3), torch.randn(4, 3)), {"logit_scale": 0.0}, ValueError, "logit_scale"),
        (
            (torch.randn(4, 3), torch.randn(4, 3)),
            {"logit_scale": torch.tensor(-2.0)},
            ValueError,
            "logit_scale",
        ),
        ((torch.randn(4, 3), torch.randn(4, 3)), {"logit_scale": "1"}, TypeError, "logit_scale"),
        ((torch.randn(4, 3), torch.randn(4, 3)), {"negatives": "all"}, ValueError, "negatives"),
        (
            (torch.full((4, 3), float("nan")), torch.randn(4, 3)),
            {},
            ValueError,
            r"modalities\[0\]",
        ),
    ],
)
def test_bad_inputs_raise(modalities, options, error, message) -> None:
    arguments = {"logit_scale": 1.0, **options}
    with pytest.raises(error, match=message):
        symile(*modalities, **arguments)


def test_bad_zero_shot_inputs_raise() -> None:
    with pytest.raises(ValueError, match="at least 1"):
        symile_zero_shot_scores(torch.randn(3, 4))
    with pytest.raises(ValueError, match="width"):
        symile_zero_shot_scores(torch.randn(3, 5), torch.randn(2, 4))


@settings(max_examples=20, deadline=None)
@given(
    num_modalities=st.integers(2, 4),
    n=st.integers(2, 3),
    dim=st.integers(1, 5),
    log_scale=st.floats(-1.0, 3.0),
    seed=st.integers(0, 2**16),
)
def test_hypothesis_matches_brute_force(num_modalities, n, dim, log_scale, seed) -> None:
    generator = torch.Generator().manual_seed(seed)
    reps = torch.randn(num_modalities, n, dim, generator=generator, dtype=torch.float64).unbind(0)
    scale = math.exp(log_scale)
    torch.testing.assert_close(
        symile(*reps, logit_scale=scale, negatives="n_squared"),
        loop_symile_all_tuples(reps, scale),
    )
