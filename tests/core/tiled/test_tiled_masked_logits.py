"""The tiled masked-logits loss equals the formula (and the dense core) in values and gradients."""

from __future__ import annotations

import math

import pytest
import torch

from cl_core.losses.masked_logits import masked_logits_loss
from cl_core.losses.tiled import default_block_size, tiled_masked_logits_loss

MODES = ("all", "self", "none")
NUM_ANCHORS, NUM_CANDIDATES, DIM = 7, 10, 5
# 1 and 3 do not divide M = 10; 4 leaves a short last block; 10 is one block; 16 exceeds M.
BLOCK_SIZES = (1, 3, 4, 10, 16)


def loop_reference(
    anchors: torch.Tensor,
    candidates: torch.Tensor,
    temperature: float | torch.Tensor,
    positives: list[set[int]],
    excluded: list[set[int]],
    mode: str,
) -> torch.Tensor:
    """Per-row loss written term by term from l_i = mean_p [LSE_{Den(i,p)} s_ij - s_ip]."""
    logits = anchors @ candidates.T / temperature
    losses = []
    for row in range(anchors.shape[0]):
        columns = set(range(candidates.shape[0])) - excluded[row]
        row_positives = positives[row] & columns
        negatives = columns - row_positives
        terms = []
        for positive in sorted(row_positives):
            if mode == "all":
                denominator = negatives | row_positives
            elif mode == "self":
                denominator = negatives | {positive}
            else:
                denominator = negatives
            values = torch.stack([logits[row, column] for column in sorted(denominator)])
            terms.append(torch.logsumexp(values, dim=0) - logits[row, positive])
        losses.append(torch.stack(terms).mean())
    return torch.stack(losses)


def make_case(kind: str, seed: int, *, exclude: bool, dtype: torch.dtype = torch.float64):
    """Random anchors / candidates and positives given by index or labels, plus the sets."""
    generator = torch.Generator().manual_seed(seed)
    anchors = torch.randn(NUM_ANCHORS, DIM, generator=generator, dtype=dtype)
    candidates = torch.randn(NUM_CANDIDATES, DIM, generator=generator, dtype=dtype)
    rows = torch.arange(NUM_ANCHORS)
    if kind == "index":
        positive_index = torch.randint(0, NUM_CANDIDATES, (NUM_ANCHORS,), generator=generator)
        kwargs = {"positive_index": positive_index}
        positives = [{int(p)} for p in positive_index]
        exclude_index = (positive_index + 1 + rows % 3) % NUM_CANDIDATES
    else:
        anchor_labels = torch.randint(0, 3, (NUM_ANCHORS,), generator=generator)
        candidate_labels = torch.arange(NUM_CANDIDATES) % 3
        kwargs = {"anchor_labels": anchor_labels, "candidate_labels": candidate_labels}
        positives = [
            {j for j in range(NUM_CANDIDATES) if candidate_labels[j] == anchor_labels[i]}
            for i in range(NUM_ANCHORS)
        ]
        # Drop one same-label column in some rows: exclusion must also remove a positive.
        exclude_index = torch.tensor([min(p) if i % 2 else -1 for i, p in enumerate(positives)])
    excluded = [set() for _ in range(NUM_ANCHORS)]
    if exclude:
        kwargs["exclude_index"] = exclude_index
        excluded = [{int(e)} if e >= 0 else set() for e in exclude_index]
    return anchors, candidates, kwargs, positives, excluded


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("kind", ["index", "labels"])
@pytest.mark.parametrize("exclude", [False, True])
def test_values_and_gradients_match_the_loop_reference_at_every_block_size(mode, kind, exclude):
    anchors, candidates, kwargs, positives, excluded = make_case(kind, 0, exclude=exclude)
    anchors.requires_grad_()
    candidates.requires_grad_()
    temperature = torch.tensor(0.7, dtype=torch.float64, requires_grad=True)
    row_weights = torch.linspace(0.5, 1.5, NUM_ANCHORS, dtype=torch.float64)

    expected = loop_reference(anchors, candidates, temperature, positives, excluded, mode)
    expected_grads = torch.autograd.grad(
        (expected * row_weights).sum(), (anchors, candidates, temperature)
    )
    for block in BLOCK_SIZES:
        per_row = tiled_masked_logits_loss(
            anchors,
            candidates,
            temperature=temperature,
            positives_in_denominator=mode,
            reduction="none",
            chunk_size=block,
            **kwargs,
        )
        grads = torch.autograd.grad(
            (per_row * row_weights).sum(), (anchors, candidates, temperature)
        )
        torch.testing.assert_close(per_row, expected)
        for grad, expected_grad in zip(grads, expected_grads, strict=True):
            torch.testing.assert_close(grad, expected_grad)


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("kind", ["index", "labels"])
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_matches_the_dense_core_path(mode, kind, reduction):
    anchors, candidates, kwargs, _, _ = make_case(kind, 1, exclude=True, dtype=torch.float32)
    dense = masked_logits_loss(
        anchors,
        candidates,
        temperature=0.2,
        positives_in_denominator=mode,
        reduction=reduction,
        **kwargs,
    )
    for block in (3, 4):
        tiled = tiled_masked_logits_loss(
            anchors,
            candidates,
            temperature=0.2,
            positives_in_denominator=mode,
            reduction=reduction,
            chunk_size=block,
            **kwargs,
        )
        torch.testing.assert_close(tiled, dense)


def test_the_core_dispatches_to_the_tiled_engine_when_chunk_size_is_given():
    anchors, candidates, kwargs, _, _ = make_case("index", 2, exclude=True)
    anchors.requires_grad_()
    dense = masked_logits_loss(anchors, candidates, temperature=0.3, **kwargs)
    (dense_grad,) = torch.autograd.grad(dense, anchors)
    seen_backward = []
    chunked = masked_logits_loss(anchors, candidates, temperature=0.3, chunk_size=3, **kwargs)
    seen_backward.append(type(chunked.grad_fn.next_functions[0][0]).__name__)
    (chunked_grad,) = torch.autograd.grad(chunked, anchors)
    torch.testing.assert_close(chunked, dense)
    torch.testing.assert_close(chunked_grad, dense_grad)
    assert "TiledMaskedLogits" in seen_backward[0]


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("kind", ["index", "labels"])
def test_gradcheck_in_float64(mode, kind):
    anchors, candidates, kwargs, _, _ = make_case(kind, 3, exclude=True)
    temperature = torch.tensor(0.5, dtype=torch.float64, requires_grad=True)

    def loss(a: torch.Tensor, c: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        return tiled_masked_logits_loss(
            a, c, temperature=t, positives_in_denominator=mode, chunk_size=4, **kwargs
        )

    inputs = (anchors.requires_grad_(), candidates.requires_grad_(), temperature)
    assert torch.autograd.gradcheck(loss, inputs)


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16])
def test_half_inputs_accumulate_in_float32_and_return_gradients_in_their_dtype(dtype):
    anchors, candidates, kwargs, _, _ = make_case("index", 4, exclude=True, dtype=torch.float32)
    half_anchors = anchors.to(dtype).requires_grad_()
    half_candidates = candidates.to(dtype).requires_grad_()
    upcast_anchors = half_anchors.detach().float().requires_grad_()
    upcast_candidates = half_candidates.detach().float().requires_grad_()

    half_loss = tiled_masked_logits_loss(
        half_anchors, half_candidates, temperature=0.5, chunk_size=3, **kwargs
    )
    reference = masked_logits_loss(upcast_anchors, upcast_candidates, temperature=0.5, **kwargs)
    half_loss.backward()
    reference.backward()

    assert half_loss.dtype == torch.float32
    torch.testing.assert_close(half_loss, reference)
    assert half_anchors.grad.dtype == dtype
    assert half_candidates.grad.dtype == dtype
    tolerance = {"atol": 1e-2, "rtol": 1e-2}
    torch.testing.assert_close(half_anchors.grad.float(), upcast_anchors.grad, **tolerance)
    torch.testing.assert_close(half_candidates.grad.float(), upcast_candidates.grad, **tolerance)


def test_identical_embeddings_give_log_of_the_number_of_columns():
    # All logits equal: every row's softmax is uniform over its M - 1 non-excluded columns.
    anchors = torch.ones(6, 4)
    candidates = torch.ones(9, 4)
    loss = tiled_masked_logits_loss(
        anchors,
        candidates,
        temperature=0.1,
        positive_index=torch.arange(6),
        exclude_index=torch.arange(6) + 1,
        chunk_size=2,
    )
    torch.testing.assert_close(loss, torch.tensor(math.log(8.0)))


def test_saves_no_anchor_by_candidate_tensor_for_backward():
    num_anchors, num_candidates = 64, 96
    anchors = torch.randn(num_anchors, 8, requires_grad=True)
    candidates = torch.randn(num_candidates, 8, requires_grad=True)
    saved_sizes: list[int] = []

    def pack(tensor: torch.Tensor) -> torch.Tensor:
        saved_sizes.append(tensor.numel())
        return tensor

    with torch.autograd.graph.saved_tensors_hooks(pack, lambda tensor: tensor):
        loss = tiled_masked_logits_loss(
            anchors,
            candidates,
            temperature=0.1,
            anchor_labels=torch.arange(num_anchors) % 5,
            candidate_labels=torch.arange(num_candidates) % 5,
            chunk_size=16,
        )
    loss.backward()
    assert saved_sizes
    assert max(saved_sizes) <= num_candidates * 8
    assert anchors.grad is not None and candidates.grad is not None


def test_large_scale_values_stay_finite():
    # Logits of +-1e3: a naive exp overflows; the running logsumexp must not.
    anchors = torch.randn(5, 3) * 30
    candidates = torch.randn(8, 3) * 30
    index = torch.arange(5)
    tiled = tiled_masked_logits_loss(
        anchors, candidates, temperature=1.0, positive_index=index, chunk_size=3
    )
    dense = masked_logits_loss(anchors, candidates, temperature=1.0, positive_index=index)
    assert torch.isfinite(tiled)
    torch.testing.assert_close(tiled, dense)


def test_default_block_size_bounds_the_block_buffer():
    assert default_block_size(8192, 8192) == 4096
    assert default_block_size(32768, 32768) == 1024
    assert default_block_size(10, 7) == 7
    assert default_block_size(10**7, 10**6) == 256


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({}, ValueError, "exactly one source of positives"),
        (
            {"positive_index": torch.arange(4), "anchor_labels": torch.zeros(4, dtype=torch.long)},
            ValueError,
            "exactly one source",
        ),
        ({"anchor_labels": torch.zeros(4, dtype=torch.long)}, ValueError, "together"),
        ({"positive_index": torch.arange(3)}, ValueError, "positive_index must have length 4"),
        ({"positive_index": torch.tensor([0, 1, 2, 6])}, ValueError, r"entries must lie in"),
        ({"positive_index": torch.arange(4).float()}, TypeError, "integer tensor"),
        (
            {"positive_index": torch.arange(4), "exclude_index": torch.arange(4)},
            ValueError,
            "must differ",
        ),
        ({"positive_index": torch.arange(4), "chunk_size": 0}, ValueError, "chunk_size"),
        ({"positive_index": torch.arange(4), "chunk_size": 2.0}, TypeError, "chunk_size"),
        (
            {"positive_index": torch.arange(4), "positives_in_denominator": "some"},
            ValueError,
            "positives_in_denominator",
        ),
        ({"positive_index": torch.arange(4), "reduction": "max"}, ValueError, "reduction"),
        ({"positive_index": torch.arange(4), "temperature": 0.0}, ValueError, "temperature"),
    ],
)
def test_bad_arguments_are_rejected_with_the_argument_named(kwargs, error, message):
    arguments = {"temperature": 0.1, **kwargs}
    with pytest.raises(error, match=message):
        tiled_masked_logits_loss(torch.randn(4, 3), torch.randn(5, 3), **arguments)


def test_bad_embeddings_are_rejected():
    index = torch.arange(4)
    with pytest.raises(ValueError, match="anchors must be a 2-D tensor"):
        tiled_masked_logits_loss(torch.randn(4), torch.randn(5, 3), temperature=0.1)
    with pytest.raises(ValueError, match="same embedding width"):
        tiled_masked_logits_loss(
            torch.randn(4, 3), torch.randn(5, 2), temperature=0.1, positive_index=index
        )
    with pytest.raises(ValueError, match="finite"):
        tiled_masked_logits_loss(
            torch.full((4, 3), float("nan")),
            torch.randn(5, 3),
            temperature=0.1,
            positive_index=index,
        )


def test_rows_without_positive_or_negative_raise():
    labels = torch.tensor([0, 1, 2])
    with pytest.raises(ValueError, match="1 of 3 rows have none"):
        tiled_masked_logits_loss(
            torch.randn(3, 2),
            torch.randn(2, 2),
            temperature=0.1,
            anchor_labels=labels,
            candidate_labels=torch.tensor([0, 1]),
            chunk_size=1,
        )
    with pytest.raises(ValueError, match="at least one negative column"):
        tiled_masked_logits_loss(
            torch.randn(2, 2),
            torch.randn(2, 2),
            temperature=0.1,
            anchor_labels=torch.tensor([0, 0]),
            candidate_labels=torch.tensor([0, 0]),
            positives_in_denominator="none",
        )
