"""Every wrapper gives the same value and gradients through the tiled path (chunk_size) as dense."""

from __future__ import annotations

import pytest
import torch

from cl_core.losses import (
    clip_loss,
    dcl,
    info_nce,
    input_label_contrast,
    masked_logits_loss,
    nt_xent,
    supcon,
)


def _inputs(seed, *shapes):
    generator = torch.Generator().manual_seed(seed)
    return [torch.randn(*s, generator=generator, dtype=torch.float64) for s in shapes]


CASES = {
    "nt_xent": (((7, 5), (7, 5)), lambda a, b, chunk: nt_xent(a, b, 0.3, chunk_size=chunk)),
    "info_nce": (
        ((6, 4), (6, 4), (6, 2, 4)),
        lambda a, b, n, chunk: info_nce(a, b, n, 0.2, chunk_size=chunk),
    ),
    "clip": (
        ((6, 4), (6, 4)),
        lambda a, b, chunk: clip_loss(a, b, 12.0, label_smoothing=0.1, chunk_size=chunk),
    ),
    "supcon": (
        ((5, 3, 4),),
        lambda f, chunk: supcon(f, torch.tensor([0, 1, 0, 2, 1]), 0.4, chunk_size=chunk),
    ),
    "dcl": (((6, 4), (6, 4)), lambda a, b, chunk: dcl(a, b, 0.3, weighted=True, chunk_size=chunk)),
    "input_label": (
        ((6, 4), (4, 4)),
        lambda x, e, chunk: input_label_contrast(
            x, e, torch.tensor([0, 1, 2, 3, 0, 1]), 0.2, chunk_size=chunk
        ),
    ),
}


@pytest.mark.parametrize("name", sorted(CASES))
@pytest.mark.parametrize("chunk_size", [1, 3])
def test_chunked_matches_dense_in_value_and_gradient(name, chunk_size) -> None:
    shapes, loss = CASES[name]
    dense_inputs = [t.requires_grad_() for t in _inputs(0, *shapes)]
    chunked_inputs = [t.detach().clone().requires_grad_() for t in dense_inputs]
    dense = loss(*dense_inputs, None)
    chunked = loss(*chunked_inputs, chunk_size)
    torch.testing.assert_close(chunked, dense)
    dense.backward()
    chunked.backward()
    for fast, slow in zip(chunked_inputs, dense_inputs, strict=True):
        torch.testing.assert_close(fast.grad, slow.grad)


@pytest.mark.parametrize("mode", ["all", "self", "none"])
def test_core_labels_with_exclusion_match_dense(mode) -> None:
    anchors, candidates = _inputs(1, (6, 3), (8, 3))
    labels = torch.tensor([0, 1, 2, 0, 1, 2, 3, 0])
    common = {
        "temperature": 0.5,
        "anchor_labels": labels[:6],
        "candidate_labels": labels,
        "exclude_index": torch.tensor([0, 1, 2, 3, 4, 5]),
        "positives_in_denominator": mode,
        "reduction": "none",
    }
    torch.testing.assert_close(
        masked_logits_loss(anchors, candidates, chunk_size=3, **common),
        masked_logits_loss(anchors, candidates, **common),
    )
