"""The masked-logits core against a loop written from its docstring formula."""

from __future__ import annotations

import math
import sys
import types

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from cl_core.losses import masked_logits
from cl_core.losses.masked_logits import masked_logits_loss


def loop_reference(anchors, candidates, temperature, positives, negatives, mode, log_weights=None):
    """l_i = mean_{p in P(i)} [log sum_{a in Den(i,p)} exp(s_ia + log w_ia) - s_ip], term by term.

    ``positives`` / ``negatives`` are lists of column sets; log-weights touch negatives only.
    """
    losses = []
    for i in range(anchors.shape[0]):
        row_terms = []
        for p in sorted(positives[i]):
            if mode == "all":
                denominator_columns = negatives[i] | positives[i]
            elif mode == "self":
                denominator_columns = negatives[i] | {p}
            else:
                denominator_columns = set(negatives[i])
            total = torch.zeros((), dtype=anchors.dtype)
            for a in sorted(denominator_columns):
                logit = torch.dot(anchors[i], candidates[a]) / temperature
                if a in negatives[i] and log_weights is not None:
                    logit = logit + log_weights[i, a]
                total = total + torch.exp(logit)
            positive_logit = torch.dot(anchors[i], candidates[p]) / temperature
            row_terms.append(torch.log(total) - positive_logit)
        losses.append(sum(row_terms) / len(row_terms))
    return torch.stack(losses)


def column_sets(anchor_labels, candidate_labels, exclude_index, negative_mask=None):
    """Positive and negative column sets from labels, an exclusion per row and a negative mask."""
    positives, negatives = [], []
    for i, label in enumerate(anchor_labels.tolist()):
        excluded = int(exclude_index[i]) if exclude_index is not None else -1
        pos, neg = set(), set()
        for j, other in enumerate(candidate_labels.tolist()):
            if j == excluded:
                continue
            if other == label:
                pos.add(j)
            elif negative_mask is None or bool(negative_mask[i, j]):
                neg.add(j)
        positives.append(pos)
        negatives.append(neg)
    return positives, negatives


@pytest.fixture
def labelled_batch():
    generator = torch.Generator().manual_seed(0)
    anchors = torch.randn(6, 4, generator=generator, dtype=torch.float64)
    candidates = torch.randn(8, 4, generator=generator, dtype=torch.float64)
    anchor_labels = torch.tensor([0, 1, 2, 0, 1, 2])
    candidate_labels = torch.tensor([0, 1, 2, 0, 1, 2, 3, 0])
    exclude_index = torch.tensor([0, -1, 5, 3, -1, 2])
    return anchors, candidates, anchor_labels, candidate_labels, exclude_index


@pytest.mark.parametrize("mode", ["all", "self", "none"])
@pytest.mark.parametrize("temperature", [0.07, 0.5, 2.0])
def test_labels_with_exclusion_match_loop(labelled_batch, mode, temperature) -> None:
    anchors, candidates, anchor_labels, candidate_labels, exclude_index = labelled_batch
    positives, negatives = column_sets(anchor_labels, candidate_labels, exclude_index)
    expected = loop_reference(anchors, candidates, temperature, positives, negatives, mode)
    got = masked_logits_loss(
        anchors,
        candidates,
        temperature=temperature,
        anchor_labels=anchor_labels,
        candidate_labels=candidate_labels,
        exclude_index=exclude_index,
        positives_in_denominator=mode,
        reduction="none",
    )
    torch.testing.assert_close(got, expected)


@pytest.mark.parametrize("mode", ["all", "self", "none"])
def test_negative_mask_and_log_weights_match_loop(labelled_batch, mode) -> None:
    anchors, candidates, anchor_labels, candidate_labels, exclude_index = labelled_batch
    generator = torch.Generator().manual_seed(1)
    negative_mask = torch.rand(6, 8, generator=generator) > 0.3
    negative_mask[:, 6] = True  # label 3 is never a positive: every row keeps a negative
    log_weights = torch.randn(6, 8, generator=generator, dtype=torch.float64)
    positives, negatives = column_sets(
        anchor_labels, candidate_labels, exclude_index, negative_mask
    )
    expected = loop_reference(anchors, candidates, 0.3, positives, negatives, mode, log_weights)
    got = masked_logits_loss(
        anchors,
        candidates,
        temperature=0.3,
        anchor_labels=anchor_labels,
        candidate_labels=candidate_labels,
        exclude_index=exclude_index,
        negative_mask=negative_mask,
        log_weights=log_weights,
        positives_in_denominator=mode,
        reduction="none",
    )
    torch.testing.assert_close(got, expected)


@pytest.mark.parametrize("mode", ["all", "self", "none"])
def test_single_positive_fast_path_matches_loop(mode) -> None:
    generator = torch.Generator().manual_seed(2)
    anchors = torch.randn(5, 3, generator=generator, dtype=torch.float64)
    candidates = torch.randn(7, 3, generator=generator, dtype=torch.float64)
    positive_index = torch.tensor([2, 0, 6, 1, 4])
    exclude_index = torch.tensor([1, -1, 0, 4, 6])
    positives = [{int(p)} for p in positive_index]
    negatives = [set(range(7)) - {int(positive_index[i]), int(exclude_index[i])} for i in range(5)]
    expected = loop_reference(anchors, candidates, 0.2, positives, negatives, mode)
    got = masked_logits_loss(
        anchors,
        candidates,
        temperature=0.2,
        positive_index=positive_index,
        exclude_index=exclude_index,
        positives_in_denominator=mode,
        reduction="none",
    )
    torch.testing.assert_close(got, expected)


@pytest.mark.parametrize("mode", ["all", "self", "none"])
def test_index_labels_and_dense_mask_agree(mode) -> None:
    generator = torch.Generator().manual_seed(3)
    anchors = torch.randn(6, 5, generator=generator)
    candidates = torch.randn(6, 5, generator=generator)
    index = torch.tensor([3, 1, 4, 0, 5, 2])
    mask = torch.zeros(6, 6, dtype=torch.bool)
    mask[torch.arange(6), index] = True
    common = {"temperature": 0.4, "positives_in_denominator": mode, "reduction": "none"}
    by_index = masked_logits_loss(anchors, candidates, positive_index=index, **common)
    by_mask = masked_logits_loss(anchors, candidates, positive_mask=mask, **common)
    by_labels = masked_logits_loss(
        anchors,
        candidates,
        anchor_labels=torch.arange(6),
        candidate_labels=index.argsort(),
        **common,
    )
    torch.testing.assert_close(by_index, by_mask)
    torch.testing.assert_close(by_index, by_labels)


def test_excluded_column_is_never_a_positive() -> None:
    anchors, candidates = torch.randn(3, 4), torch.randn(3, 4)
    labels = torch.tensor([0, 0, 1])
    with_self_excluded = masked_logits_loss(
        anchors,
        candidates,
        temperature=0.5,
        anchor_labels=labels,
        candidate_labels=labels,
        exclude_index=torch.tensor([0, 1, -1]),
        reduction="none",
    )
    explicit = masked_logits_loss(
        anchors[:2],
        candidates,
        temperature=0.5,
        positive_index=torch.tensor([1, 0]),
        exclude_index=torch.tensor([0, 1]),
        reduction="none",
    )
    torch.testing.assert_close(with_self_excluded[:2], explicit)


def test_minus_inf_log_weight_drops_the_term() -> None:
    generator = torch.Generator().manual_seed(4)
    anchors, candidates = (
        torch.randn(4, 3, generator=generator),
        torch.randn(5, 3, generator=generator),
    )
    index = torch.tensor([0, 1, 2, 3])
    log_weights = torch.zeros(4, 5)
    log_weights[:, 4] = float("-inf")
    negative_mask = torch.ones(4, 5, dtype=torch.bool)
    negative_mask[:, 4] = False
    weighted = masked_logits_loss(
        anchors, candidates, temperature=0.5, positive_index=index, log_weights=log_weights
    )
    masked = masked_logits_loss(
        anchors, candidates, temperature=0.5, positive_index=index, negative_mask=negative_mask
    )
    dropped = masked_logits_loss(anchors, candidates[:4], temperature=0.5, positive_index=index)
    torch.testing.assert_close(weighted, masked)
    torch.testing.assert_close(weighted, dropped)


def test_log_weights_do_not_touch_positives() -> None:
    anchors, candidates = torch.randn(3, 4), torch.randn(3, 4)
    index = torch.arange(3)
    eye_weights = torch.diag(torch.full((3,), 5.0))
    plain = masked_logits_loss(anchors, candidates, temperature=0.5, positive_index=index)
    weighted = masked_logits_loss(
        anchors, candidates, temperature=0.5, positive_index=index, log_weights=eye_weights
    )
    torch.testing.assert_close(plain, weighted)


def test_positive_is_in_denominator_only_for_all_and_self() -> None:
    anchors = torch.tensor([[1.0, 0.0]])
    candidates = torch.tensor([[1.0, 0.0], [0.0, 1.0], [0.0, -1.0]])
    index = torch.tensor([0])
    losses = {
        mode: masked_logits_loss(
            anchors,
            candidates,
            temperature=1.0,
            positive_index=index,
            positives_in_denominator=mode,
        )
        for mode in ("all", "self", "none")
    }
    assert losses["all"].item() == pytest.approx(math.log(math.e + 2.0) - 1.0)
    assert losses["self"].item() == pytest.approx(losses["all"].item())
    assert losses["none"].item() == pytest.approx(math.log(2.0) - 1.0)


@pytest.mark.parametrize("reduction", ["mean", "sum"])
def test_reductions_aggregate_the_per_row_losses(labelled_batch, reduction) -> None:
    anchors, candidates, anchor_labels, candidate_labels, _ = labelled_batch
    common = {
        "temperature": 0.5,
        "anchor_labels": anchor_labels,
        "candidate_labels": candidate_labels,
    }
    per_row = masked_logits_loss(anchors, candidates, reduction="none", **common)
    reduced = masked_logits_loss(anchors, candidates, reduction=reduction, **common)
    expected = per_row.mean() if reduction == "mean" else per_row.sum()
    torch.testing.assert_close(reduced, expected)
    assert per_row.shape == (6,)


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16])
def test_half_precision_inputs_return_float32(dtype) -> None:
    generator = torch.Generator().manual_seed(5)
    anchors, candidates = (
        torch.randn(4, 8, generator=generator),
        torch.randn(6, 8, generator=generator),
    )
    index = torch.tensor([0, 1, 2, 3])
    half = masked_logits_loss(
        anchors.to(dtype), candidates.to(dtype), temperature=0.1, positive_index=index
    )
    full = masked_logits_loss(
        anchors.to(dtype).float(),
        candidates.to(dtype).float(),
        temperature=0.1,
        positive_index=index,
    )
    assert half.dtype == torch.float32
    torch.testing.assert_close(half, full)


@pytest.mark.parametrize("mode", ["all", "self", "none"])
def test_gradients_match_finite_differences_on_dense_path(mode) -> None:
    generator = torch.Generator().manual_seed(6)
    anchors = torch.randn(4, 3, generator=generator, dtype=torch.float64, requires_grad=True)
    candidates = torch.randn(5, 3, generator=generator, dtype=torch.float64, requires_grad=True)
    temperature = torch.tensor(0.7, dtype=torch.float64, requires_grad=True)
    log_weights = torch.randn(4, 5, generator=generator, dtype=torch.float64, requires_grad=True)

    def loss(a, c, t, w):
        return masked_logits_loss(
            a,
            c,
            temperature=t,
            anchor_labels=torch.tensor([0, 1, 0, 2]),
            candidate_labels=torch.tensor([0, 1, 0, 2, 3]),
            exclude_index=torch.tensor([0, -1, -1, 1]),
            log_weights=w,
            positives_in_denominator=mode,
        )

    assert torch.autograd.gradcheck(loss, (anchors, candidates, temperature, log_weights))


@pytest.mark.parametrize("mode", ["all", "none"])
def test_gradients_match_finite_differences_on_single_positive_path(mode) -> None:
    generator = torch.Generator().manual_seed(7)
    anchors = torch.randn(4, 3, generator=generator, dtype=torch.float64, requires_grad=True)
    candidates = torch.randn(6, 3, generator=generator, dtype=torch.float64, requires_grad=True)

    def loss(a, c):
        return masked_logits_loss(
            a,
            c,
            temperature=0.3,
            positive_index=torch.tensor([1, 2, 3, 0]),
            exclude_index=torch.tensor([0, -1, 5, 1]),
            positives_in_denominator=mode,
        )

    assert torch.autograd.gradcheck(loss, (anchors, candidates))


def test_gradient_is_finite_when_a_self_row_has_no_negative() -> None:
    anchors = torch.randn(2, 3, requires_grad=True)
    candidates = torch.randn(2, 3, requires_grad=True)
    labels = torch.tensor([0, 0])
    loss = masked_logits_loss(
        anchors,
        candidates,
        temperature=0.5,
        anchor_labels=labels,
        candidate_labels=labels,
        positives_in_denominator="self",
    )
    loss.backward()
    assert loss.item() == pytest.approx(0.0)
    assert torch.isfinite(anchors.grad).all()
    assert torch.isfinite(candidates.grad).all()


@settings(max_examples=25, deadline=None)
@given(
    num_anchors=st.integers(1, 6),
    num_candidates=st.integers(2, 7),
    dim=st.integers(1, 5),
    temperature=st.floats(0.01, 10.0),
    mode=st.sampled_from(["all", "self", "none"]),
    seed=st.integers(0, 2**16),
)
def test_loss_and_gradients_are_finite(
    num_anchors, num_candidates, dim, temperature, mode, seed
) -> None:
    generator = torch.Generator().manual_seed(seed)
    anchors = torch.randn(num_anchors, dim, generator=generator, requires_grad=True)
    candidates = torch.randn(num_candidates, dim, generator=generator, requires_grad=True)
    index = torch.randint(num_candidates, (num_anchors,), generator=generator)
    loss = masked_logits_loss(
        anchors,
        candidates,
        temperature=temperature,
        positive_index=index,
        positives_in_denominator=mode,
    )
    loss.backward()
    assert torch.isfinite(loss)
    assert torch.isfinite(anchors.grad).all()
    assert torch.isfinite(candidates.grad).all()


class RecordingTiledModule(types.ModuleType):
    """Stands in for ``cl_core.losses.tiled`` and records how the core called it."""

    def __init__(self) -> None:
        super().__init__("cl_core.losses.tiled")
        self.calls: list[dict] = []

    def tiled_loss_unchecked(self, anchors, candidates, **kwargs):
        self.calls.append(kwargs)
        return torch.zeros(())


@pytest.fixture
def recording_tiled(monkeypatch):
    module = RecordingTiledModule()
    monkeypatch.setitem(sys.modules, "cl_core.losses.tiled", module)
    return module


def test_small_inputs_without_chunk_size_stay_dense(recording_tiled) -> None:
    masked_logits_loss(
        torch.randn(3, 2), torch.randn(3, 2), temperature=0.5, positive_index=torch.arange(3)
    )
    assert recording_tiled.calls == []


def test_chunk_size_dispatches_to_tiled_engine_with_the_same_keywords(recording_tiled) -> None:
    index = torch.arange(3)
    masked_logits_loss(
        torch.randn(3, 2),
        torch.randn(3, 2),
        temperature=0.5,
        positive_index=index,
        positives_in_denominator="none",
        reduction="sum",
        chunk_size=2,
    )
    (call,) = recording_tiled.calls
    assert call["chunk_size"] == 2
    assert call["positives_in_denominator"] == "none"
    assert call["reduction"] == "sum"
    assert call["positive_index"] is index
    assert not {"positive_mask", "negative_mask", "log_weights"} & call.keys()


def test_large_inputs_dispatch_automatically(recording_tiled, monkeypatch) -> None:
    monkeypatch.setattr(masked_logits, "AUTO_TILE_ELEMENTS", 8)
    masked_logits_loss(
        torch.randn(3, 2), torch.randn(3, 2), temperature=0.5, positive_index=torch.arange(3)
    )
    assert len(recording_tiled.calls) == 1
    assert recording_tiled.calls[0]["chunk_size"] is None


def test_dense_arguments_keep_the_dense_path(recording_tiled) -> None:
    loss = masked_logits_loss(
        torch.randn(3, 2),
        torch.randn(3, 2),
        temperature=0.5,
        positive_index=torch.arange(3),
        log_weights=torch.zeros(3, 3),
        chunk_size=2,
    )
    assert recording_tiled.calls == []
    assert loss.item() > 0


def _call(**overrides):
    arguments = {
        "anchors": torch.randn(3, 2),
        "candidates": torch.randn(4, 2),
        "temperature": 0.5,
        "positive_index": torch.tensor([0, 1, 2]),
    }
    arguments.update(overrides)
    anchors, candidates = arguments.pop("anchors"), arguments.pop("candidates")
    return masked_logits_loss(anchors, candidates, **arguments)


@pytest.mark.parametrize(
    ("overrides", "error", "pattern"),
    [
        ({"anchors": torch.randn(3)}, ValueError, "anchors must be a 2-D"),
        ({"candidates": torch.randn(4, 3)}, ValueError, "candidates must have the same"),
        ({"anchors": torch.randn(0, 2), "positive_index": torch.zeros(0)}, ValueError, "anchors"),
        ({"anchors": torch.ones(3, 2, dtype=torch.long)}, TypeError, "anchors must be a float"),
        ({"anchors": torch.tensor([[0.0, float("nan")]] * 3)}, ValueError, "anchors must be fini"),
        ({"candidates": torch.full((4, 2), float("inf"))}, ValueError, "candidates must be fini"),
        ({"temperature": 0.0}, ValueError, "temperature must be a finite number > 0"),
        ({"temperature": torch.tensor(-1.0)}, ValueError, "temperature"),
        ({"temperature": torch.ones(2)}, ValueError, "temperature must be a scalar"),
        ({"temperature": "hot"}, TypeError, "temperature"),
        ({"positive_index": torch.tensor([0, 1])}, ValueError, "positive_index must have length 3"),
        ({"positive_index": torch.tensor([0.0, 1.0, 2.0])}, TypeError, "positive_index must be an"),
        ({"positive_index": torch.tensor([0, 1, 4])}, ValueError, r"positive_index entries"),
        ({"positive_index": None}, ValueError, "exactly one source of positives"),
        ({"positive_mask": torch.ones(3, 4, dtype=torch.bool)}, ValueError, "exactly one source"),
        ({"exclude_index": torch.tensor([0, -1, 1])}, ValueError, "positive_index and exclude"),
        ({"exclude_index": torch.tensor([-2, 0, 0])}, ValueError, "exclude_index entries"),
        ({"negative_mask": torch.ones(3, 3, dtype=torch.bool)}, ValueError, "negative_mask must"),
        ({"negative_mask": torch.ones(3, 4)}, TypeError, "negative_mask must be a bool"),
        ({"log_weights": torch.zeros(3, 5)}, ValueError, "log_weights must have shape"),
        ({"log_weights": torch.full((3, 4), float("inf"))}, ValueError, "log_weights must be <"),
        ({"log_weights": torch.full((3, 4), float("nan"))}, ValueError, "log_weights must be <"),
        ({"reduction": "max"}, ValueError, "reduction must be one of"),
        ({"positives_in_denominator": "some"}, ValueError, "positives_in_denominator must be"),
        ({"chunk_size": 0}, ValueError, "chunk_size must be >= 1"),
        ({"chunk_size": 2.5}, TypeError, "chunk_size must be an int"),
        ({"anchors": [[1.0, 2.0]]}, TypeError, "anchors must be a torch.Tensor"),
    ],
)
def test_bad_inputs_raise_naming_the_argument(overrides, error, pattern) -> None:
    with pytest.raises(error, match=pattern):
        _call(**overrides)


def test_labels_given_alone_are_rejected() -> None:
    with pytest.raises(ValueError, match="given together"):
        _call(positive_index=None, anchor_labels=torch.tensor([0, 1, 2]))


def test_labels_of_wrong_length_or_dtype_are_rejected() -> None:
    with pytest.raises(ValueError, match="candidate_labels must have length 4"):
        _call(
            positive_index=None,
            anchor_labels=torch.tensor([0, 1, 2]),
            candidate_labels=torch.tensor([0, 1]),
        )
    with pytest.raises(TypeError, match="anchor_labels must be an integer"):
        _call(
            positive_index=None,
            anchor_labels=torch.tensor([0.0, 1.0, 2.0]),
            candidate_labels=torch.tensor([0, 1, 2, 3]),
        )


def test_row_without_positive_is_an_error_naming_the_count() -> None:
    with pytest.raises(ValueError, match="2 of 3 rows have none"):
        _call(
            positive_index=None,
            anchor_labels=torch.tensor([0, 5, 6]),
            candidate_labels=torch.tensor([0, 1, 2, 3]),
        )


def test_none_mode_without_negatives_is_an_error() -> None:
    with pytest.raises(ValueError, match="at least one negative"):
        masked_logits_loss(
            torch.randn(2, 2),
            torch.randn(2, 2),
            temperature=0.5,
            positive_index=torch.tensor([0, 1]),
            exclude_index=torch.tensor([1, 0]),
            positives_in_denominator="none",
        )
