"""Hypothesis: every loss gives a finite value and finite gradients over shapes and temperatures."""

from __future__ import annotations

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from cl_core.losses import (
    clip_loss,
    contrastive_margin,
    dcl,
    hard_negative_info_nce,
    info_nce,
    input_label_contrast,
    nt_xent,
    supcon,
    triplet_margin,
)


def _embeddings(generator, *shape):
    return (3 * torch.randn(*shape, generator=generator)).requires_grad_()


def _call(name, generator, batch, dim, temperature):
    """Build inputs for loss ``name`` and return (loss, leaf tensors)."""
    a, b = _embeddings(generator, batch, dim), _embeddings(generator, batch, dim)
    if name == "nt_xent":
        return nt_xent(a, b, temperature), (a, b)
    if name == "info_nce":
        hard = _embeddings(generator, batch, 2, dim)
        return info_nce(a, b, hard, temperature, hard_negative_weight=0.5), (a, b, hard)
    if name == "clip":
        return clip_loss(a, b, 1.0 / temperature, label_smoothing=0.1), (a, b)
    if name == "supcon":
        features = _embeddings(generator, batch, 3, dim)
        labels = torch.randint(3, (batch,), generator=generator)
        return supcon(features, labels, temperature), (features,)
    if name == "dcl":
        return dcl(a, b, temperature, weighted=True), (a, b)
    if name == "input_label":
        labels = torch.randint(batch, (batch,), generator=generator)
        return input_label_contrast(a, b, labels, temperature), (a, b)
    if name == "hard_negative":
        return hard_negative_info_nce(a, b, temperature, top_fraction=0.5), (a, b)
    if name == "triplet":
        return triplet_margin(a, b, 0.2), (a, b)
    same = torch.randint(2, (batch,), generator=generator)
    return contrastive_margin(a, b, same, 1.0), (a, b)


LOSSES = [
    "nt_xent",
    "info_nce",
    "clip",
    "supcon",
    "dcl",
    "input_label",
    "hard_negative",
    "triplet",
    "contrastive",
]


@pytest.mark.parametrize("name", LOSSES)
@settings(max_examples=15, deadline=None)
@given(
    batch=st.integers(2, 9),
    dim=st.integers(1, 6),
    temperature=st.floats(0.01, 5.0),
    seed=st.integers(0, 2**16),
)
def test_loss_and_gradients_are_finite(name, batch, dim, temperature, seed) -> None:
    generator = torch.Generator().manual_seed(seed)
    loss, leaves = _call(name, generator, batch, dim, temperature)
    loss.backward()
    assert loss.shape == ()
    assert torch.isfinite(loss)
    for leaf in leaves:
        assert torch.isfinite(leaf.grad).all()


@pytest.mark.parametrize("name", LOSSES)
@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16])
def test_half_precision_inputs_give_float32(name, dtype) -> None:
    generator = torch.Generator().manual_seed(0)
    batch, dim = 4, 8
    a = torch.randn(batch, dim, generator=generator).to(dtype)
    b = torch.randn(batch, dim, generator=generator).to(dtype)
    calls = {
        "nt_xent": lambda: nt_xent(a, b),
        "info_nce": lambda: info_nce(a, b, b.unsqueeze(1)),
        "clip": lambda: clip_loss(a, b, 10.0),
        "supcon": lambda: supcon(torch.stack((a, b), dim=1)),
        "dcl": lambda: dcl(a, b),
        "input_label": lambda: input_label_contrast(a, b, torch.tensor([0, 1, 2, 3])),
        "hard_negative": lambda: hard_negative_info_nce(a, b, top_k=2),
        "triplet": lambda: triplet_margin(a, b),
        "contrastive": lambda: contrastive_margin(a, b, torch.tensor([1, 0, 1, 0])),
    }
    assert calls[name]().dtype == torch.float32
